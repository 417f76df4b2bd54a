/* introspection.c - the schema introspection types (section 4.5) and their resolvers,
 * written with the same two tables every schema uses. Besides the October 2021 fields,
 * the ones graphql-js and GraphiQL ask for are here too (__Schema.description,
 * __Directive.isRepeatable, deprecated arguments and input fields, __Type.isOneOf), so
 * their standard introspection queries validate. */
#include "graphql/internal.h"

#include <stddef.h>
#include <string.h>
#include "base/arena.h"

#define ARGS(a) a, GQL_N(a)
#define NOARGS NULL, 0

static const struct gql_arg_def include_deprecated[] = {
    {"includeDeprecated", "Boolean", "false", NULL, NULL},
};

static const struct gql_field_def schema_fields[] = {
    {"description", "String", NULL, NOARGS, NULL},
    {"types", "[__Type!]!", "A list of all types supported by this server.", NOARGS, NULL},
    {"queryType", "__Type!", "The type that query operations will be rooted at.", NOARGS, NULL},
    {"mutationType", "__Type",
     "If this server supports mutation, the type that mutation operations will be rooted at.",
     NOARGS, NULL},
    {"subscriptionType", "__Type",
     "If this server support subscription, the type that subscription operations will be "
     "rooted at.",
     NOARGS, NULL},
    {"directives", "[__Directive!]!", "A list of all directives supported by this server.", NOARGS,
     NULL},
};

static const struct gql_field_def type_fields[] = {
    {"kind", "__TypeKind!", NULL, NOARGS, NULL},
    {"name", "String", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"specifiedByURL", "String", NULL, NOARGS, NULL},
    {"fields", "[__Field!]", NULL, ARGS(include_deprecated), NULL},
    {"interfaces", "[__Type!]", NULL, NOARGS, NULL},
    {"possibleTypes", "[__Type!]", NULL, NOARGS, NULL},
    {"enumValues", "[__EnumValue!]", NULL, ARGS(include_deprecated), NULL},
    {"inputFields", "[__InputValue!]", NULL, ARGS(include_deprecated), NULL},
    {"ofType", "__Type", NULL, NOARGS, NULL},
    {"isOneOf", "Boolean", NULL, NOARGS, NULL},
};

static const struct gql_field_def field_fields[] = {
    {"name", "String!", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"args", "[__InputValue!]!", NULL, ARGS(include_deprecated), NULL},
    {"type", "__Type!", NULL, NOARGS, NULL},
    {"isDeprecated", "Boolean!", NULL, NOARGS, NULL},
    {"deprecationReason", "String", NULL, NOARGS, NULL},
};

static const struct gql_field_def input_value_fields[] = {
    {"name", "String!", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"type", "__Type!", NULL, NOARGS, NULL},
    {"defaultValue", "String",
     "A GraphQL-formatted string representing the default value for this input value.", NOARGS,
     NULL},
    {"isDeprecated", "Boolean!", NULL, NOARGS, NULL},
    {"deprecationReason", "String", NULL, NOARGS, NULL},
};

static const struct gql_field_def enum_value_fields[] = {
    {"name", "String!", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"isDeprecated", "Boolean!", NULL, NOARGS, NULL},
    {"deprecationReason", "String", NULL, NOARGS, NULL},
};

static const struct gql_field_def directive_fields[] = {
    {"name", "String!", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"isRepeatable", "Boolean!", NULL, NOARGS, NULL},
    {"locations", "[__DirectiveLocation!]!", NULL, NOARGS, NULL},
    {"args", "[__InputValue!]!", NULL, ARGS(include_deprecated), NULL},
};

static const struct gql_enum_def type_kinds[] = {
    {"SCALAR", NULL, "Indicates this type is a scalar.", NULL},
    {"OBJECT", NULL,
     "Indicates this type is an object. `fields` and `interfaces` are valid fields.", NULL},
    {"INTERFACE", NULL,
     "Indicates this type is an interface. `fields`, `interfaces`, and `possibleTypes` are "
     "valid fields.",
     NULL},
    {"UNION", NULL, "Indicates this type is a union. `possibleTypes` is a valid field.", NULL},
    {"ENUM", NULL, "Indicates this type is an enum. `enumValues` is a valid field.", NULL},
    {"INPUT_OBJECT", NULL,
     "Indicates this type is an input object. `inputFields` is a valid field.", NULL},
    {"LIST", NULL, "Indicates this type is a list. `ofType` is a valid field.", NULL},
    {"NON_NULL", NULL, "Indicates this type is a non-null. `ofType` is a valid field.", NULL},
};

/* In the order of enum gql_dir_loc's bits. */
static const struct gql_enum_def dir_locations[GQL_NLOCS] = {
    {"QUERY", NULL, "Location adjacent to a query operation.", NULL},
    {"MUTATION", NULL, "Location adjacent to a mutation operation.", NULL},
    {"SUBSCRIPTION", NULL, "Location adjacent to a subscription operation.", NULL},
    {"FIELD", NULL, "Location adjacent to a field.", NULL},
    {"FRAGMENT_DEFINITION", NULL, "Location adjacent to a fragment definition.", NULL},
    {"FRAGMENT_SPREAD", NULL, "Location adjacent to a fragment spread.", NULL},
    {"INLINE_FRAGMENT", NULL, "Location adjacent to an inline fragment.", NULL},
    {"VARIABLE_DEFINITION", NULL, "Location adjacent to a variable definition.", NULL},
    {"SCHEMA", NULL, "Location adjacent to a schema definition.", NULL},
    {"SCALAR", NULL, "Location adjacent to a scalar definition.", NULL},
    {"OBJECT", NULL, "Location adjacent to an object type definition.", NULL},
    {"FIELD_DEFINITION", NULL, "Location adjacent to a field definition.", NULL},
    {"ARGUMENT_DEFINITION", NULL, "Location adjacent to an argument definition.", NULL},
    {"INTERFACE", NULL, "Location adjacent to an interface definition.", NULL},
    {"UNION", NULL, "Location adjacent to a union definition.", NULL},
    {"ENUM", NULL, "Location adjacent to an enum definition.", NULL},
    {"ENUM_VALUE", NULL, "Location adjacent to an enum value definition.", NULL},
    {"INPUT_OBJECT", NULL, "Location adjacent to an input object type definition.", NULL},
    {"INPUT_FIELD_DEFINITION", NULL, "Location adjacent to an input object field definition.",
     NULL},
};

#define OBJ(name, desc, fields)                                                            \
	{                                                                                  \
		GQL_KIND_OBJECT, name, desc, fields, GQL_N(fields), NULL, 0, NULL, 0, NULL \
	}
#define ENUM(name, desc, values)                                                         \
	{                                                                                \
		GQL_KIND_ENUM, name, desc, NULL, 0, NULL, 0, values, GQL_N(values), NULL \
	}

const struct gql_type_def gql_introspection_types[] = {
    OBJ("__Schema",
        "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all "
        "available types and directives on the server, as well as the entry points for query, "
        "mutation, and subscription operations.",
        schema_fields),
    OBJ("__Type",
        "The fundamental unit of any GraphQL Schema is the type. There are many kinds of types "
        "in GraphQL as represented by the `__TypeKind` enum.",
        type_fields),
    ENUM("__TypeKind", "An enum describing what kind of type a given `__Type` is.", type_kinds),
    OBJ("__Field",
        "Object and Interface types are described by a list of Fields, each of which has a "
        "name, potentially a list of arguments, and a return type.",
        field_fields),
    OBJ("__InputValue",
        "Arguments provided to Fields or Directives and the input fields of an InputObject are "
        "represented as Input Values which describe their type and optionally a default value.",
        input_value_fields),
    OBJ("__EnumValue",
        "One possible value for a given Enum. Enum values are unique values, not a placeholder "
        "for a string or numeric value. However an Enum value is returned in a JSON response "
        "as a string.",
        enum_value_fields),
    OBJ("__Directive",
        "A Directive provides a way to describe alternate runtime execution and type validation "
        "behavior in a GraphQL document.",
        directive_fields),
    ENUM("__DirectiveLocation",
         "A Directive can be adjacent to many parts of the GraphQL language, a "
         "__DirectiveLocation describes one such possible adjacencies.",
         dir_locations),
};
const size_t gql_introspection_ntypes = GQL_N(gql_introspection_types);

/* ---- resolvers ---- */

static const struct gql_schema *schema_of(struct gql_call *c);

int gql_resolve_schema(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(schema_of(c));
	return ERR_OK;
}

int gql_resolve_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(gql_type_named(schema_of(c), gql_arg_str(c, "name", "")));
	return ERR_OK;
}

static struct gql_val list_of(struct gql_call *c, size_t n,
                              const void *(*item)(const void *, size_t), const void *base)
{
	struct gql_val v = {GQL_V_LIST, NULL, NULL, NULL, 0};
	struct gql_val *items = arena_alloc(c->arena, (n ? n : 1) * sizeof *items);

	for (size_t i = 0; i < n; i++)
		items[i] = gql_ptr(item(base, i));
	v.items = items;
	v.n = n;
	return v;
}

/* __Schema */

static const void *type_at(const void *base, size_t i)
{
	return ((struct gql_type *const *)base)[i];
}

static int schema_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, ((const struct gql_schema *)c->parent->ptr)->description);
	return ERR_OK;
}

static int schema_types(struct gql_call *c, struct gql_val *out)
{
	const struct gql_schema *s = c->parent->ptr;

	*out = list_of(c, s->ntypes, type_at, s->types);
	return ERR_OK;
}

static int schema_query_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(((const struct gql_schema *)c->parent->ptr)->query);
	return ERR_OK;
}

static int schema_mutation_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(((const struct gql_schema *)c->parent->ptr)->mutation);
	return ERR_OK;
}

static int schema_subscription_type(struct gql_call *c, struct gql_val *out)
{
	(void)c;
	*out = gql_ptr(NULL);
	return ERR_OK;
}

static const void *dir_at(const void *base, size_t i)
{
	return &((const struct gql_directive_def *)base)[i];
}

static int schema_directives(struct gql_call *c, struct gql_val *out)
{
	const struct gql_schema *s = c->parent->ptr;

	*out = list_of(c, s->ndirs, dir_at, s->dirs);
	return ERR_OK;
}

/* __Type */

static const char *kind_name(enum gql_kind k)
{
	return type_kinds[k].name;
}

#define PT ((const struct gql_type *)c->parent->ptr)

static int type_kind(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, kind_name(PT->kind));
	return ERR_OK;
}

static int type_name(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PT->name);
	return ERR_OK;
}

static int type_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PT->description);
	return ERR_OK;
}

static int type_specified_by(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PT->kind == GQL_KIND_SCALAR ? PT->specified_by : NULL);
	return ERR_OK;
}

static struct gql_val null_val(void)
{
	struct gql_val v = {GQL_V_NULL, NULL, NULL, NULL, 0};

	return v;
}

/* Items of base[0..n) (stride size) whose deprecation reason (at offset dep) is NULL,
 * or all of them when deprecated ones are wanted. */
static struct gql_val filtered(struct gql_call *c, const void *base, size_t n, size_t size,
                               size_t dep)
{
	int all = gql_arg_bool(c, "includeDeprecated", 0);
	struct gql_val v = {GQL_V_LIST, NULL, NULL, NULL, 0};
	struct gql_val *items = arena_alloc(c->arena, (n ? n : 1) * sizeof *items);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *item = (const char *)base + i * size;
		const char *reason = *(const char *const *)(const void *)(item + dep);

		if (all || reason == NULL)
			items[k++] = gql_ptr(item);
	}
	v.items = items;
	v.n = k;
	return v;
}

static int type_fields_r(struct gql_call *c, struct gql_val *out)
{
	if (PT->kind != GQL_KIND_OBJECT) {
		*out = null_val();
		return ERR_OK;
	}
	*out = filtered(c, PT->fields, PT->nfields, sizeof(struct gql_field),
	                offsetof(struct gql_field, deprecated));
	return ERR_OK;
}

static int type_interfaces(struct gql_call *c, struct gql_val *out)
{
	struct gql_val empty = {GQL_V_LIST, NULL, NULL, NULL, 0};

	*out = PT->kind == GQL_KIND_OBJECT ? empty : null_val();
	return ERR_OK;
}

static int type_possible_types(struct gql_call *c, struct gql_val *out)
{
	(void)c;
	*out = null_val();
	return ERR_OK;
}

static int type_enum_values(struct gql_call *c, struct gql_val *out)
{
	if (PT->kind != GQL_KIND_ENUM) {
		*out = null_val();
		return ERR_OK;
	}
	*out = filtered(c, PT->values, PT->nvalues, sizeof(struct gql_enum_def),
	                offsetof(struct gql_enum_def, deprecated));
	return ERR_OK;
}

static int type_input_fields(struct gql_call *c, struct gql_val *out)
{
	if (PT->kind != GQL_KIND_INPUT_OBJECT) {
		*out = null_val();
		return ERR_OK;
	}
	*out = filtered(c, PT->inputs, PT->ninputs, sizeof(struct gql_input),
	                offsetof(struct gql_input, deprecated));
	return ERR_OK;
}

static int type_of_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(PT->of);
	return ERR_OK;
}

static int type_is_one_of(struct gql_call *c, struct gql_val *out)
{
	*out = PT->kind == GQL_KIND_INPUT_OBJECT ? gql_bool(c, 0) : null_val();
	return ERR_OK;
}

/* __Field */

#define PF ((const struct gql_field *)c->parent->ptr)

static int field_name(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PF->name);
	return ERR_OK;
}

static int field_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PF->description);
	return ERR_OK;
}

static int field_args(struct gql_call *c, struct gql_val *out)
{
	*out = filtered(c, PF->args, PF->nargs, sizeof(struct gql_input),
	                offsetof(struct gql_input, deprecated));
	return ERR_OK;
}

static int field_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(PF->type);
	return ERR_OK;
}

static int field_is_deprecated(struct gql_call *c, struct gql_val *out)
{
	*out = gql_bool(c, PF->deprecated != NULL);
	return ERR_OK;
}

static int field_deprecation(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PF->deprecated);
	return ERR_OK;
}

/* __InputValue */

#define PI ((const struct gql_input *)c->parent->ptr)

static int input_name(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PI->name);
	return ERR_OK;
}

static int input_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PI->description);
	return ERR_OK;
}

static int input_type(struct gql_call *c, struct gql_val *out)
{
	*out = gql_ptr(PI->type);
	return ERR_OK;
}

static int input_default(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PI->def_text);
	return ERR_OK;
}

static int input_is_deprecated(struct gql_call *c, struct gql_val *out)
{
	*out = gql_bool(c, PI->deprecated != NULL);
	return ERR_OK;
}

static int input_deprecation(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PI->deprecated);
	return ERR_OK;
}

/* __EnumValue */

#define PE ((const struct gql_enum_def *)c->parent->ptr)

static int enum_name(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PE->name);
	return ERR_OK;
}

static int enum_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PE->description);
	return ERR_OK;
}

static int enum_is_deprecated(struct gql_call *c, struct gql_val *out)
{
	*out = gql_bool(c, PE->deprecated != NULL);
	return ERR_OK;
}

static int enum_deprecation(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PE->deprecated);
	return ERR_OK;
}

/* __Directive */

#define PD ((const struct gql_directive_def *)c->parent->ptr)

static int dir_name(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PD->name);
	return ERR_OK;
}

static int dir_description(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, PD->description);
	return ERR_OK;
}

static int dir_repeatable(struct gql_call *c, struct gql_val *out)
{
	*out = gql_bool(c, PD->repeatable);
	return ERR_OK;
}

static int dir_locations_r(struct gql_call *c, struct gql_val *out)
{
	struct gql_val v = {GQL_V_LIST, NULL, NULL, NULL, 0};
	struct gql_val *items = arena_alloc(c->arena, GQL_NLOCS * sizeof *items);

	for (size_t i = 0; i < GQL_NLOCS; i++)
		if (PD->locations & (1u << i))
			items[v.n++] = gql_string(c, dir_locations[i].name);
	v.items = items;
	*out = v;
	return ERR_OK;
}

static int dir_args(struct gql_call *c, struct gql_val *out)
{
	*out = filtered(c, PD->args, PD->nargs, sizeof(struct gql_input),
	                offsetof(struct gql_input, deprecated));
	return ERR_OK;
}

const struct gql_resolver_def gql_introspection_resolvers[] = {
    {"__Schema.description", schema_description, NULL, 0, NULL, 0},
    {"__Schema.types", schema_types, NULL, 0, NULL, 0},
    {"__Schema.queryType", schema_query_type, NULL, 0, NULL, 0},
    {"__Schema.mutationType", schema_mutation_type, NULL, 0, NULL, 0},
    {"__Schema.subscriptionType", schema_subscription_type, NULL, 0, NULL, 0},
    {"__Schema.directives", schema_directives, NULL, 0, NULL, 0},
    {"__Type.kind", type_kind, NULL, 0, NULL, 0},
    {"__Type.name", type_name, NULL, 0, NULL, 0},
    {"__Type.description", type_description, NULL, 0, NULL, 0},
    {"__Type.specifiedByURL", type_specified_by, NULL, 0, NULL, 0},
    {"__Type.fields", type_fields_r, NULL, 0, NULL, 0},
    {"__Type.interfaces", type_interfaces, NULL, 0, NULL, 0},
    {"__Type.possibleTypes", type_possible_types, NULL, 0, NULL, 0},
    {"__Type.enumValues", type_enum_values, NULL, 0, NULL, 0},
    {"__Type.inputFields", type_input_fields, NULL, 0, NULL, 0},
    {"__Type.ofType", type_of_type, NULL, 0, NULL, 0},
    {"__Type.isOneOf", type_is_one_of, NULL, 0, NULL, 0},
    {"__Field.name", field_name, NULL, 0, NULL, 0},
    {"__Field.description", field_description, NULL, 0, NULL, 0},
    {"__Field.args", field_args, NULL, 0, NULL, 0},
    {"__Field.type", field_type, NULL, 0, NULL, 0},
    {"__Field.isDeprecated", field_is_deprecated, NULL, 0, NULL, 0},
    {"__Field.deprecationReason", field_deprecation, NULL, 0, NULL, 0},
    {"__InputValue.name", input_name, NULL, 0, NULL, 0},
    {"__InputValue.description", input_description, NULL, 0, NULL, 0},
    {"__InputValue.type", input_type, NULL, 0, NULL, 0},
    {"__InputValue.defaultValue", input_default, NULL, 0, NULL, 0},
    {"__InputValue.isDeprecated", input_is_deprecated, NULL, 0, NULL, 0},
    {"__InputValue.deprecationReason", input_deprecation, NULL, 0, NULL, 0},
    {"__EnumValue.name", enum_name, NULL, 0, NULL, 0},
    {"__EnumValue.description", enum_description, NULL, 0, NULL, 0},
    {"__EnumValue.isDeprecated", enum_is_deprecated, NULL, 0, NULL, 0},
    {"__EnumValue.deprecationReason", enum_deprecation, NULL, 0, NULL, 0},
    {"__Directive.name", dir_name, NULL, 0, NULL, 0},
    {"__Directive.description", dir_description, NULL, 0, NULL, 0},
    {"__Directive.isRepeatable", dir_repeatable, NULL, 0, NULL, 0},
    {"__Directive.locations", dir_locations_r, NULL, 0, NULL, 0},
    {"__Directive.args", dir_args, NULL, 0, NULL, 0},
};
const size_t gql_introspection_nresolvers = GQL_N(gql_introspection_resolvers);

static const struct gql_schema *schema_of(struct gql_call *c)
{
	return gql_exec_schema(c->x);
}
