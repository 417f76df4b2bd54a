/* graphql.h - a GraphQL engine (October 2021 specification): schemas from tables,
 * validation (section 5), execution (section 6) with introspection (section 4).
 *
 * A schema is written as two tables, the way the REST routes are one table:
 *   - type definitions (struct gql_type_def), which read like SDL: every field's type is
 *     SDL text ("[Job!]!"), arguments carry their default as a GraphQL literal;
 *   - resolvers (struct gql_resolver_def), one row per "Type.field": a function, or the
 *     JSON member to read from the parent object (prop), plus flags and cost hints.
 * gql_schema_build binds them once per worker and refuses a field with no row, a row for
 * no field, or a type it cannot resolve, so the two tables cannot drift apart.
 *
 * Values flow through the executor as struct gql_val: JSON (json-c objects, e.g. what a
 * renderer in lib/api/render.c returns), a pointer the schema's own resolvers understand
 * (introspection), or a list of either. Leaf values are checked against their scalar or
 * enum type when they are written out, so a resolver cannot put a wrong type on the wire.
 *
 * Lifetimes: a schema lives as long as the worker (its own arena); everything a request
 * makes lives in the arena given to gql_execute.
 */
#ifndef MEDRIN_GRAPHQL_H
#define MEDRIN_GRAPHQL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"

struct arena;

enum gql_kind {
	GQL_KIND_SCALAR,
	GQL_KIND_OBJECT,
	GQL_KIND_INTERFACE, /* named in introspection; schemas built here have none */
	GQL_KIND_UNION,     /* likewise */
	GQL_KIND_ENUM,
	GQL_KIND_INPUT_OBJECT,
	GQL_KIND_LIST,
	GQL_KIND_NON_NULL
};

/* ---- the type definition table ---- */

struct gql_arg_def {
	const char *name;
	const char *type;        /* SDL: "Int", "ID!", "[String!]" */
	const char *def;         /* default value as a GraphQL literal ("20", "false"), or NULL */
	const char *description; /* NULL: none */
	const char *deprecated;  /* deprecation reason, or NULL */
};

struct gql_field_def {
	const char *name;
	const char *type;
	const char *description;
	const struct gql_arg_def *args;
	size_t nargs;
	const char *deprecated;
};

struct gql_enum_def {
	const char *name;  /* the GraphQL name: APPLIED */
	const char *value; /* what resolvers and domain use: "applied"; NULL: same as name */
	const char *description;
	const char *deprecated;
};

struct gql_type_def {
	enum gql_kind kind; /* SCALAR, OBJECT, ENUM or INPUT_OBJECT */
	const char *name;
	const char *description;
	const struct gql_field_def *fields; /* OBJECT */
	size_t nfields;
	const struct gql_arg_def *inputs; /* INPUT_OBJECT fields */
	size_t ninputs;
	const struct gql_enum_def *values; /* ENUM */
	size_t nvalues;
	const char *specified_by; /* SCALAR: specifiedByURL, or NULL */
};

#define GQL_N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* ---- values and resolvers ---- */

enum gql_val_kind {
	GQL_V_NULL,
	GQL_V_JSON, /* json: a json-c value (NULL means null) */
	GQL_V_PTR,  /* ptr: something the field's own resolvers understand */
	GQL_V_LIST  /* items[0..n) */
};

struct gql_val {
	enum gql_val_kind kind;
	json_object *json;
	const void *ptr;
	const struct gql_val *items;
	size_t n;
};

struct gql_exec;

/* What a resolver is called with. */
struct gql_call {
	struct gql_exec *x;
	void *app;                    /* gql_request.app: the caller's context (struct api_req) */
	const struct gql_val *parent; /* the object this field is selected on */
	json_object *args;            /* coerced arguments (an object; absent ones left out) */
	const char *field;            /* the field's name */
	struct arena *arena;
};

/* A resolver fills *out and returns ERR_OK, or records why it failed with gql_fail and
 * returns what gql_fail returned (the field becomes null with that error). Returning an
 * error without gql_fail yields INTERNAL_SERVER_ERROR. */
typedef int gql_resolve_fn(struct gql_call *call, struct gql_val *out);

/* gql_fail records a field error: message for people, code for extensions.code
 * ("NOT_FOUND"), ext (may be NULL) extra members for extensions (taken over). Returns
 * ERR_INVALID. */
int gql_fail(struct gql_call *call, const char *code, const char *message, json_object *ext);

/* Helpers for resolvers: values owned by the request arena. */
struct gql_val gql_json(struct gql_call *call, json_object *owned); /* takes a reference */
struct gql_val gql_string(struct gql_call *call, const char *s);    /* NULL: null */
struct gql_val gql_bool(struct gql_call *call, int b);
struct gql_val gql_ptr(const void *p); /* NULL: null */
/* The argument name as a string / int / bool, or def when absent or null. */
const char *gql_arg_str(const struct gql_call *call, const char *name, const char *def);
int64_t gql_arg_int(const struct gql_call *call, const char *name, int64_t def);
int gql_arg_bool(const struct gql_call *call, const char *name, int def);

enum gql_resolver_flags {
	GQL_AUTH = 1 << 0 /* the schema's authorize hook must accept the request first */
};

struct gql_resolver_def {
	const char *coord;  /* "Type.field" */
	gql_resolve_fn *fn; /* NULL: read `prop` from the parent JSON object */
	const char *prop;
	unsigned flags;
	const char *size_arg; /* the argument that bounds how many items this field returns */
	int list_size;        /* otherwise, how many items it may return (cost), 0: 1 */
};

/* ---- schema ---- */

struct gql_schema;

struct gql_schema_spec {
	const char *description;
	const struct gql_type_def *types;
	size_t ntypes;
	const struct gql_resolver_def *resolvers;
	size_t nresolvers;
	const char *query;    /* root type names; mutation may be NULL */
	const char *mutation; /* NULL: no mutations */
	/* For GQL_AUTH fields: 0 to go on, else the call is refused with the error the hook
	 * recorded (gql_fail) or UNAUTHENTICATED. */
	int (*authorize)(struct gql_call *call);
};

/* gql_schema_build binds the tables (worker lifetime; never freed). NULL with *why set
 * (a static or leaked string naming the problem) when the tables disagree. */
struct gql_schema *gql_schema_build(const struct gql_schema_spec *spec, const char **why);
/* For tests: releases a schema (workers keep theirs until they exit). */
void gql_schema_free(struct gql_schema *s);

/* ---- requests ---- */

struct gql_limits {
	size_t max_document; /* bytes of the query text */
	int max_depth;       /* nested field selections, fragments included */
	int64_t max_cost;    /* fields to resolve, multiplied by the list sizes above them */
	int max_aliases;     /* aliased fields, fragments expanded */
	int introspection;   /* 0: __schema and __type are refused */
};

#define GQL_MAX_LIST_INPUT 100       /* items in one list value */
#define GQL_MAX_RESULT_VALUES 200000 /* values in one response */

struct gql_request {
	const char *query;
	size_t query_len;
	const char *operation_name; /* NULL: the only operation */
	json_object *variables;     /* an object, or NULL */
	int allow_mutation;         /* 0 (GET): a mutation is refused with GQL_RES_NOT_ALLOWED */
	void *app;
};

enum gql_outcome {
	GQL_RES_DATA,       /* executed: the response has data (maybe with field errors) */
	GQL_RES_INVALID,    /* request error: syntax, validation, limits, variables; no data */
	GQL_RES_NOT_ALLOWED /* a mutation over GET */
};

struct gql_result {
	enum gql_outcome outcome;
	json_object *response; /* {"errors":[…]?, "data":…?}; owned by the arena */
};

/* gql_execute runs one request. Returns ERR_OK (see res->outcome). */
int gql_execute(struct arena *a, const struct gql_schema *s, const struct gql_limits *lim,
                const struct gql_request *req, struct gql_result *res) MUSTCHECK;

#endif
