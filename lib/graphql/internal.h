/* internal.h - the bound schema and what the validator and executor share. Not for use
 * outside lib/graphql/. */
#ifndef MEDRIN_GQL_INTERNAL_H
#define MEDRIN_GQL_INTERNAL_H

#include "graphql/ast.h"
#include "graphql/graphql.h"

struct gql_type;

/* An argument, an input object field, or a directive argument. */
struct gql_input {
	const char *name;
	const char *description;
	const char *deprecated;
	struct gql_type *type;
	const char *def_text;  /* default as written (introspection's defaultValue) */
	struct gql_value *def; /* parsed default, or NULL */
};

struct gql_field {
	const char *name;
	const char *description;
	const char *deprecated;
	struct gql_type *type;
	struct gql_input *args;
	size_t nargs;
	const struct gql_type *owner;
	gql_resolve_fn *fn;
	const char *prop;
	unsigned flags;
	const char *size_arg;
	int list_size;
};

enum gql_scalar {
	GQL_SCALAR_OTHER = 0, /* not a scalar, or a custom one (text on the wire) */
	GQL_SCALAR_INT,
	GQL_SCALAR_FLOAT,
	GQL_SCALAR_STRING,
	GQL_SCALAR_BOOLEAN,
	GQL_SCALAR_ID
};

struct gql_type {
	enum gql_kind kind;
	const char *name; /* NULL for LIST and NON_NULL */
	const char *description;
	const char *specified_by;
	struct gql_type *of;                   /* LIST, NON_NULL */
	struct gql_type *as_list, *as_nonnull; /* interned wrappers of this type */
	struct gql_field *fields;              /* OBJECT */
	size_t nfields;
	struct gql_input *inputs; /* INPUT_OBJECT */
	size_t ninputs;
	const struct gql_enum_def *values; /* ENUM */
	size_t nvalues;
	int builtin;            /* introspection types, standard scalars */
	enum gql_scalar scalar; /* which standard scalar, if one */
};

enum gql_dir_loc {
	GQL_LOC_QUERY = 1 << 0,
	GQL_LOC_MUTATION = 1 << 1,
	GQL_LOC_SUBSCRIPTION = 1 << 2,
	GQL_LOC_FIELD = 1 << 3,
	GQL_LOC_FRAGMENT_DEFINITION = 1 << 4,
	GQL_LOC_FRAGMENT_SPREAD = 1 << 5,
	GQL_LOC_INLINE_FRAGMENT = 1 << 6,
	GQL_LOC_VARIABLE_DEFINITION = 1 << 7,
	GQL_LOC_SCHEMA = 1 << 8,
	GQL_LOC_SCALAR = 1 << 9,
	GQL_LOC_OBJECT = 1 << 10,
	GQL_LOC_FIELD_DEFINITION = 1 << 11,
	GQL_LOC_ARGUMENT_DEFINITION = 1 << 12,
	GQL_LOC_INTERFACE = 1 << 13,
	GQL_LOC_UNION = 1 << 14,
	GQL_LOC_ENUM = 1 << 15,
	GQL_LOC_ENUM_VALUE = 1 << 16,
	GQL_LOC_INPUT_OBJECT = 1 << 17,
	GQL_LOC_INPUT_FIELD_DEFINITION = 1 << 18
};
#define GQL_NLOCS 19

struct gql_directive_def {
	const char *name;
	const char *description;
	unsigned locations;
	struct gql_input *args;
	size_t nargs;
	int repeatable;
};

struct gql_schema {
	struct arena *arena;
	const char *description;
	struct gql_type **types; /* every named type, in definition order */
	size_t ntypes;
	struct gql_type *query, *mutation;
	struct gql_directive_def *dirs;
	size_t ndirs;
	struct gql_field typename_field, schema_field, type_field; /* meta fields */
	int (*authorize)(struct gql_call *call);
};

/* Lookups (NULL when absent). */
struct gql_type *gql_type_named(const struct gql_schema *s, const char *name);
struct gql_field *gql_field_of(const struct gql_type *t, const char *name);
struct gql_input *gql_input_of(struct gql_input *in, size_t n, const char *name);
const struct gql_directive_def *gql_directive_named(const struct gql_schema *s, const char *name);
/* The named type under LIST/NON_NULL wrappers. */
const struct gql_type *gql_named(const struct gql_type *t);
int gql_is_leaf(const struct gql_type *t);      /* scalar or enum (named) */
int gql_is_input(const struct gql_type *t);     /* scalar, enum or input object */
int gql_is_composite(const struct gql_type *t); /* object, interface, union */
/* SDL text of a type: "[Job!]!" (arena). */
char *gql_type_str(struct arena *a, const struct gql_type *t);
/* The type for an AST type reference, or NULL when a name is unknown. Wrappers that the
 * schema does not have are made in the arena a. */
struct gql_type *gql_type_from_ref(struct arena *a, const struct gql_schema *s,
                                   const struct gql_tref *r);
/* Structural equality (named types are unique, wrappers may not be). */
int gql_type_equal(const struct gql_type *x, const struct gql_type *y);
/* The meta field __typename / __schema / __type if name is one for type t (the last
 * two on the query root only), else the type's own field. */
const struct gql_field *gql_lookup_field(const struct gql_schema *s, const struct gql_type *t,
                                         const char *name);

/* The introspection type definitions and resolvers (introspection.c). */
extern const struct gql_type_def gql_introspection_types[];
extern const size_t gql_introspection_ntypes;
extern const struct gql_resolver_def gql_introspection_resolvers[];
extern const size_t gql_introspection_nresolvers;
gql_resolve_fn gql_resolve_schema, gql_resolve_type;
/* The schema a call runs against (execute.c). */
const struct gql_schema *gql_exec_schema(const struct gql_exec *x);

/* Input values (coerce.c). A literal is checked against an input type without variables
 * (validation: variables are checked by their own rule); returns NULL when fine or a
 * message. */
const char *gql_literal_problem(struct arena *a, const struct gql_type *t,
                                const struct gql_value *v);
/* Coerces a literal (variables substituted from vars, an object or NULL) into JSON.
 * ERR_INVALID with *why; GQL_ABSENT when v is a variable that was not provided. *out
 * NULL means null; otherwise the caller owns the reference. */
#define GQL_ABSENT 1
int gql_coerce_literal(struct arena *a, const struct gql_type *t, const struct gql_value *v,
                       json_object *vars, json_object **out, const char **why);
/* Coerces a JSON variable value; path names the place for messages. */
int gql_coerce_json(struct arena *a, const struct gql_type *t, json_object *in, const char *path,
                    json_object **out, const char **why);
/* Whether a literal is equal to another (field merging's SameArguments). */
int gql_values_equal(const struct gql_value *x, const struct gql_value *y);

/* ---- validation (validate.c) ---- */

struct gql_verror {
	const char *message;
	struct gql_loc locs[2];
	int nlocs;
	const char *code; /* NULL: GRAPHQL_VALIDATION_FAILED */
};

struct gql_verrors {
	struct gql_verror *e;
	size_t n, cap;
};

/* gql_validate checks doc against s (every applicable rule of section 5, plus refused
 * introspection when introspection is 0). Appends to errs; ERR_OK when none. */
int gql_validate(struct arena *a, const struct gql_schema *s, const struct gql_document *doc,
                 int introspection, struct gql_verrors *errs);
void gql_verror_add(struct arena *a, struct gql_verrors *errs, const char *code, struct gql_loc l1,
                    const struct gql_loc *l2, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
