/* schema.c - binding the type and resolver tables into a schema; lookups. See graphql.h. */
#include "graphql/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base/arena.h"

/* The standard scalars (section 3.5), described as graphql-js describes them. */
static const struct gql_type_def standard_scalars[] = {
    {GQL_KIND_SCALAR, "Int",
     "The `Int` scalar type represents non-fractional signed whole numeric values. Int can "
     "represent values between -(2^31) and 2^31 - 1.",
     NULL, 0, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_SCALAR, "Float",
     "The `Float` scalar type represents signed double-precision fractional values as "
     "specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point).",
     NULL, 0, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_SCALAR, "String",
     "The `String` scalar type represents textual data, represented as UTF-8 character "
     "sequences. The String type is most often used by GraphQL to represent free-form "
     "human-readable text.",
     NULL, 0, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_SCALAR, "Boolean", "The `Boolean` scalar type represents `true` or `false`.", NULL, 0,
     NULL, 0, NULL, 0, NULL},
    {GQL_KIND_SCALAR, "ID",
     "The `ID` scalar type represents a unique identifier, often used to refetch an object or "
     "as key for a cache. The ID type appears in a JSON response as a String; however, it is "
     "not intended to be human-readable. When expected as an input type, any string (such as "
     "`\"4\"`) or integer (such as `4`) input value will be accepted as an ID.",
     NULL, 0, NULL, 0, NULL, 0, NULL},
};

struct gql_type *gql_type_named(const struct gql_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ntypes; i++)
		if (strcmp(s->types[i]->name, name) == 0)
			return s->types[i];
	return NULL;
}

struct gql_field *gql_field_of(const struct gql_type *t, const char *name)
{
	if (t == NULL || t->kind != GQL_KIND_OBJECT)
		return NULL;
	for (size_t i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0)
			return &t->fields[i];
	return NULL;
}

struct gql_input *gql_input_of(struct gql_input *in, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(in[i].name, name) == 0)
			return &in[i];
	return NULL;
}

const struct gql_directive_def *gql_directive_named(const struct gql_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ndirs; i++)
		if (strcmp(s->dirs[i].name, name) == 0)
			return &s->dirs[i];
	return NULL;
}

const struct gql_type *gql_named(const struct gql_type *t)
{
	while (t != NULL && (t->kind == GQL_KIND_LIST || t->kind == GQL_KIND_NON_NULL))
		t = t->of;
	return t;
}

int gql_is_leaf(const struct gql_type *t)
{
	return t != NULL && (t->kind == GQL_KIND_SCALAR || t->kind == GQL_KIND_ENUM);
}

int gql_is_input(const struct gql_type *t)
{
	t = gql_named(t);
	return t != NULL && (gql_is_leaf(t) || t->kind == GQL_KIND_INPUT_OBJECT);
}

int gql_is_composite(const struct gql_type *t)
{
	return t != NULL && (t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE ||
	                     t->kind == GQL_KIND_UNION);
}

int gql_type_equal(const struct gql_type *x, const struct gql_type *y)
{
	while (x != NULL && y != NULL) {
		if (x == y)
			return 1;
		if (x->kind != y->kind || x->name != NULL || y->name != NULL)
			return 0;
		x = x->of;
		y = y->of;
	}
	return x == y;
}

char *gql_type_str(struct arena *a, const struct gql_type *t)
{
	if (t->kind == GQL_KIND_LIST)
		return arena_printf(a, "[%s]", gql_type_str(a, t->of));
	if (t->kind == GQL_KIND_NON_NULL)
		return arena_printf(a, "%s!", gql_type_str(a, t->of));
	return arena_strdup(a, t->name);
}

static struct gql_type *wrap(struct arena *a, struct gql_type *of, enum gql_kind k, int intern)
{
	struct gql_type **slot = k == GQL_KIND_LIST ? &of->as_list : &of->as_nonnull;
	struct gql_type *w;

	if (*slot != NULL)
		return *slot;
	w = arena_zalloc(a, sizeof *w);
	w->kind = k;
	w->of = of;
	if (intern)
		*slot = w;
	return w;
}

struct gql_type *gql_type_from_ref(struct arena *a, const struct gql_schema *s,
                                   const struct gql_tref *r)
{
	struct gql_type *of;

	if (r->kind == GQL_TNAMED)
		return gql_type_named(s, r->name);
	of = gql_type_from_ref(a, s, r->of);
	if (of == NULL)
		return NULL;
	return wrap(a, of, r->kind == GQL_TLIST ? GQL_KIND_LIST : GQL_KIND_NON_NULL, 0);
}

const struct gql_field *gql_lookup_field(const struct gql_schema *s, const struct gql_type *t,
                                         const char *name)
{
	if (name[0] == '_' && name[1] == '_') {
		if (strcmp(name, "__typename") == 0 && gql_is_composite(t))
			return &s->typename_field;
		if (t == s->query && strcmp(name, "__schema") == 0)
			return &s->schema_field;
		if (t == s->query && strcmp(name, "__type") == 0)
			return &s->type_field;
	}
	return gql_field_of(t, name);
}

/* ---- building ---- */

struct builder {
	struct gql_schema *s;
	struct arena *a;
	const char *why;
};

static int fail(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	if (b->why == NULL) {
		va_start(ap, fmt);
		b->why = arena_vprintf(b->a, fmt, ap);
		va_end(ap);
	}
	return ERR_INVALID;
}

/* Parses SDL type text ("[Job!]!") into a type; *p advances past it. */
static struct gql_type *parse_type(struct builder *b, const char **p)
{
	struct gql_type *t;

	if (**p == '[') {
		(*p)++;
		t = parse_type(b, p);
		if (t == NULL || **p != ']')
			return NULL;
		(*p)++;
		t = wrap(b->a, t, GQL_KIND_LIST, 1);
	} else {
		size_t n = strcspn(*p, "[]!");
		char *name = arena_strndup(b->a, *p, n);

		*p += n;
		t = gql_type_named(b->s, name);
		if (t == NULL)
			return NULL;
	}
	if (**p == '!') {
		(*p)++;
		t = wrap(b->a, t, GQL_KIND_NON_NULL, 1);
	}
	return t;
}

static struct gql_type *type_of(struct builder *b, const char *text, const char *where)
{
	const char *p = text;
	struct gql_type *t = parse_type(b, &p);

	if (t == NULL || *p != '\0') {
		fail(b, "%s: unknown or malformed type %s", where, text);
		return NULL;
	}
	return t;
}

static int inputs_from(struct builder *b, const struct gql_arg_def *defs, size_t n,
                       struct gql_input **out, const char *where)
{
	struct gql_input *in = arena_zalloc(b->a, (n ? n : 1) * sizeof *in);

	for (size_t i = 0; i < n; i++) {
		const char *w = arena_printf(b->a, "%s(%s)", where, defs[i].name);
		struct gql_syntax_error se;

		in[i].name = defs[i].name;
		in[i].description = defs[i].description;
		in[i].deprecated = defs[i].deprecated;
		in[i].type = type_of(b, defs[i].type, w);
		if (in[i].type == NULL)
			return ERR_INVALID;
		if (!gql_is_input(in[i].type))
			return fail(b, "%s: %s is not an input type", w, defs[i].type);
		if (defs[i].def != NULL) {
			in[i].def_text = defs[i].def;
			in[i].def = arena_zalloc(b->a, sizeof *in[i].def);
			if (gql_parse_const(b->a, defs[i].def, in[i].def, &se) != ERR_OK ||
			    gql_literal_problem(b->a, in[i].type, in[i].def) != NULL)
				return fail(b, "%s: bad default %s", w, defs[i].def);
		}
	}
	*out = in;
	return ERR_OK;
}

static int add_types(struct builder *b, const struct gql_type_def *defs, size_t n, int builtin)
{
	struct gql_schema *s = b->s;

	for (size_t i = 0; i < n; i++) {
		struct gql_type *t;

		if (gql_type_named(s, defs[i].name) != NULL)
			return fail(b, "type %s is defined twice", defs[i].name);
		t = arena_zalloc(b->a, sizeof *t);
		t->kind = defs[i].kind;
		t->name = defs[i].name;
		t->description = defs[i].description;
		t->specified_by = defs[i].specified_by;
		t->values = defs[i].values;
		t->nvalues = defs[i].nvalues;
		t->builtin = builtin;
		if (builtin && t->kind == GQL_KIND_SCALAR) {
			static const char *const names[] = {"Int", "Float", "String", "Boolean",
			                                    "ID"};

			for (size_t k = 0; k < GQL_N(names); k++)
				if (strcmp(t->name, names[k]) == 0)
					t->scalar = (enum gql_scalar)(k + 1);
		}
		s->types[s->ntypes++] = t;
	}
	return ERR_OK;
}

static int fill_types(struct builder *b, const struct gql_type_def *defs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gql_type_def *d = &defs[i];
		struct gql_type *t = gql_type_named(b->s, d->name);

		if (d->kind == GQL_KIND_OBJECT) {
			if (d->nfields == 0)
				return fail(b, "type %s has no fields", d->name);
			t->fields = arena_zalloc(b->a, d->nfields * sizeof *t->fields);
			t->nfields = d->nfields;
			for (size_t k = 0; k < d->nfields; k++) {
				struct gql_field *f = &t->fields[k];
				const char *w =
				    arena_printf(b->a, "%s.%s", d->name, d->fields[k].name);

				f->name = d->fields[k].name;
				f->description = d->fields[k].description;
				f->deprecated = d->fields[k].deprecated;
				f->owner = t;
				f->type = type_of(b, d->fields[k].type, w);
				if (f->type == NULL)
					return ERR_INVALID;
				if (gql_named(f->type)->kind == GQL_KIND_INPUT_OBJECT)
					return fail(b, "%s: %s is an input type", w,
					            d->fields[k].type);
				f->nargs = d->fields[k].nargs;
				if (inputs_from(b, d->fields[k].args, f->nargs, &f->args, w) !=
				    ERR_OK)
					return ERR_INVALID;
			}
		} else if (d->kind == GQL_KIND_INPUT_OBJECT) {
			t->ninputs = d->ninputs;
			if (inputs_from(b, d->inputs, d->ninputs, &t->inputs, d->name) != ERR_OK)
				return ERR_INVALID;
		} else if (d->kind == GQL_KIND_ENUM) {
			if (d->nvalues == 0)
				return fail(b, "enum %s has no values", d->name);
		} else if (d->kind != GQL_KIND_SCALAR) {
			return fail(b, "type %s: only scalars, objects, enums and input objects",
			            d->name);
		}
	}
	return ERR_OK;
}

static int bind(struct builder *b, const struct gql_resolver_def *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(rs[i].coord, '.');
		char *tname;
		struct gql_field *f;

		if (dot == NULL)
			return fail(b, "resolver %s: not Type.field", rs[i].coord);
		tname = arena_strndup(b->a, rs[i].coord, (size_t)(dot - rs[i].coord));
		f = gql_field_of(gql_type_named(b->s, tname), dot + 1);
		if (f == NULL)
			return fail(b, "resolver %s: no such field", rs[i].coord);
		if (f->fn != NULL || f->prop != NULL)
			return fail(b, "resolver %s: bound twice", rs[i].coord);
		if ((rs[i].fn == NULL) == (rs[i].prop == NULL))
			return fail(b, "resolver %s: needs exactly one of fn and prop",
			            rs[i].coord);
		if (rs[i].size_arg != NULL &&
		    gql_input_of(f->args, f->nargs, rs[i].size_arg) == NULL)
			return fail(b, "resolver %s: no argument %s", rs[i].coord, rs[i].size_arg);
		f->fn = rs[i].fn;
		f->prop = rs[i].prop;
		f->flags = rs[i].flags;
		f->size_arg = rs[i].size_arg;
		f->list_size = rs[i].list_size;
	}
	return ERR_OK;
}

static const struct gql_arg_def if_arg[] = {
    {"if", "Boolean!", NULL, "Included when true.", NULL},
};
static const struct gql_arg_def skip_if_arg[] = {
    {"if", "Boolean!", NULL, "Skipped when true.", NULL},
};
static const struct gql_arg_def reason_arg[] = {
    {"reason", "String", "\"No longer supported\"",
     "Explains why this element was deprecated, usually also including a suggestion for how "
     "to access supported similar data. Formatted using the Markdown syntax, as specified by "
     "[CommonMark](https://commonmark.org/).",
     NULL},
};
static const struct gql_arg_def url_arg[] = {
    {"url", "String!", NULL, "The URL that specifies the behavior of this scalar.", NULL},
};

static int add_directives(struct builder *b)
{
	static const struct {
		const char *name, *description;
		unsigned locations;
		const struct gql_arg_def *args;
	} defs[] = {
	    {"include",
	     "Directs the executor to include this field or fragment only when the `if` argument "
	     "is true.",
	     GQL_LOC_FIELD | GQL_LOC_FRAGMENT_SPREAD | GQL_LOC_INLINE_FRAGMENT, if_arg},
	    {"skip",
	     "Directs the executor to skip this field or fragment when the `if` argument is true.",
	     GQL_LOC_FIELD | GQL_LOC_FRAGMENT_SPREAD | GQL_LOC_INLINE_FRAGMENT, skip_if_arg},
	    {"deprecated", "Marks an element of a GraphQL schema as no longer supported.",
	     GQL_LOC_FIELD_DEFINITION | GQL_LOC_ARGUMENT_DEFINITION |
	         GQL_LOC_INPUT_FIELD_DEFINITION | GQL_LOC_ENUM_VALUE,
	     reason_arg},
	    {"specifiedBy", "Exposes a URL that specifies the behavior of this scalar.",
	     GQL_LOC_SCALAR, url_arg},
	};
	struct gql_schema *s = b->s;

	s->ndirs = GQL_N(defs);
	s->dirs = arena_zalloc(b->a, s->ndirs * sizeof *s->dirs);
	for (size_t i = 0; i < s->ndirs; i++) {
		s->dirs[i].name = defs[i].name;
		s->dirs[i].description = defs[i].description;
		s->dirs[i].locations = defs[i].locations;
		s->dirs[i].nargs = 1;
		if (inputs_from(b, defs[i].args, 1, &s->dirs[i].args, defs[i].name) != ERR_OK)
			return ERR_INVALID;
	}
	return ERR_OK;
}

static const struct gql_arg_def type_name_arg[] = {
    {"name", "String!", NULL, NULL, NULL},
};

static int add_meta_fields(struct builder *b)
{
	struct gql_schema *s = b->s;

	s->typename_field.name = "__typename";
	s->typename_field.type = type_of(b, "String!", "__typename");
	s->typename_field.description = "The name of the current Object type at runtime.";
	s->schema_field.name = "__schema";
	s->schema_field.type = type_of(b, "__Schema!", "__schema");
	s->schema_field.description = "Access the current type schema of this server.";
	s->schema_field.fn = gql_resolve_schema;
	s->type_field.name = "__type";
	s->type_field.type = type_of(b, "__Type", "__type");
	s->type_field.description = "Request the type information of a single type.";
	s->type_field.fn = gql_resolve_type;
	s->type_field.nargs = 1;
	if (s->typename_field.type == NULL || s->schema_field.type == NULL ||
	    s->type_field.type == NULL)
		return ERR_INVALID;
	return inputs_from(b, type_name_arg, 1, &s->type_field.args, "__type");
}

struct gql_schema *gql_schema_build(const struct gql_schema_spec *spec, const char **why)
{
	struct arena *a = arena_new(0);
	struct builder b = {NULL, a, NULL};
	struct gql_schema *s = arena_zalloc(a, sizeof *s);
	size_t cap = GQL_N(standard_scalars) + gql_introspection_ntypes + spec->ntypes;

	b.s = s;
	s->arena = a;
	s->description = spec->description;
	s->authorize = spec->authorize;
	s->types = arena_zalloc(a, cap * sizeof *s->types);
	if (add_types(&b, spec->types, spec->ntypes, 0) != ERR_OK ||
	    add_types(&b, standard_scalars, GQL_N(standard_scalars), 1) != ERR_OK ||
	    add_types(&b, gql_introspection_types, gql_introspection_ntypes, 1) != ERR_OK ||
	    fill_types(&b, spec->types, spec->ntypes) != ERR_OK ||
	    fill_types(&b, gql_introspection_types, gql_introspection_ntypes) != ERR_OK ||
	    bind(&b, spec->resolvers, spec->nresolvers) != ERR_OK ||
	    bind(&b, gql_introspection_resolvers, gql_introspection_nresolvers) != ERR_OK ||
	    add_directives(&b) != ERR_OK || add_meta_fields(&b) != ERR_OK)
		goto out;
	for (size_t i = 0; i < s->ntypes; i++)
		for (size_t k = 0; k < s->types[i]->nfields; k++)
			if (s->types[i]->fields[k].fn == NULL &&
			    s->types[i]->fields[k].prop == NULL) {
				fail(&b, "field %s.%s has no resolver", s->types[i]->name,
				     s->types[i]->fields[k].name);
				goto out;
			}
	s->query = gql_type_named(s, spec->query);
	if (s->query == NULL || s->query->kind != GQL_KIND_OBJECT) {
		fail(&b, "no query type %s", spec->query);
		goto out;
	}
	if (spec->mutation != NULL) {
		s->mutation = gql_type_named(s, spec->mutation);
		if (s->mutation == NULL || s->mutation->kind != GQL_KIND_OBJECT) {
			fail(&b, "no mutation type %s", spec->mutation);
			goto out;
		}
	}
	return s;
out:
	/* The message outlives the arena: copy it to static storage first. */
	{
		static char msg[256];

		snprintf(msg, sizeof msg, "%s", b.why != NULL ? b.why : "invalid schema");
		*why = msg;
	}
	arena_free(a);
	return NULL;
}

void gql_schema_free(struct gql_schema *s)
{
	if (s != NULL)
		arena_free(s->arena);
}
