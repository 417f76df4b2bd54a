/* ast.h - the GraphQL language: tokens, the syntax tree of an executable document, and
 * the parser (GraphQL October 2021, sections 2 and "Appendix B").
 *
 * Only executable documents are parsed (operations and fragments): a type system
 * definition in a request is a syntax error, as the Executable Definitions rule (5.1.1)
 * makes it invalid anyway. Everything lives in the arena given to gql_parse; strings are
 * NUL-terminated arena copies (a String value also carries its length, since "\u0000"
 * is a legal character). Locations are 1-based line and column in Unicode code points,
 * as the spec's error locations are.
 *
 * Bounds: the caller bounds the document size (MEDRIN_GRAPHQL_MAX_DOCUMENT); the parser
 * bounds nesting (GQL_MAX_NESTING, so no input can exhaust the stack) and never reads
 * past len.
 */
#ifndef MEDRIN_GQL_AST_H
#define MEDRIN_GQL_AST_H

#include <stddef.h>
#include "base/err.h"

struct arena;

#define GQL_MAX_NESTING 64

struct gql_loc {
	int line, col;
};

/* ---- values ---- */

enum gql_value_kind {
	GQL_VAR,    /* s: the variable's name (without $) */
	GQL_INT,    /* s: the literal's text */
	GQL_FLOAT,  /* s: the literal's text */
	GQL_STRING, /* s, len: the decoded string */
	GQL_BOOL,   /* b */
	GQL_NULL,
	GQL_ENUM,  /* s: the name */
	GQL_LIST,  /* items, n */
	GQL_OBJECT /* fields, n */
};

struct gql_objfield;

struct gql_value {
	enum gql_value_kind kind;
	struct gql_loc loc;
	const char *s;
	size_t len;
	int b;
	struct gql_value *items;
	struct gql_objfield *fields;
	size_t n;
};

struct gql_objfield {
	const char *name;
	struct gql_loc loc;
	struct gql_value value;
};

/* ---- types in variable definitions ---- */

enum gql_tref_kind { GQL_TNAMED, GQL_TLIST, GQL_TNONNULL };

struct gql_tref {
	enum gql_tref_kind kind;
	const char *name; /* GQL_TNAMED */
	struct gql_tref *of;
	struct gql_loc loc;
};

/* ---- selections ---- */

struct gql_argument {
	const char *name;
	struct gql_loc loc;
	struct gql_value value;
};

struct gql_directive {
	const char *name;
	struct gql_loc loc;
	struct gql_argument *args;
	size_t nargs;
};

enum gql_sel_kind { GQL_FIELD, GQL_SPREAD, GQL_INLINE };

struct gql_selset;

struct gql_selection {
	enum gql_sel_kind kind;
	struct gql_loc loc;
	const char *alias;          /* GQL_FIELD: NULL when none */
	const char *name;           /* GQL_FIELD: field name; GQL_SPREAD: fragment name */
	const char *type_condition; /* GQL_INLINE: NULL when none */
	struct gql_argument *args;
	size_t nargs;
	struct gql_directive *dirs;
	size_t ndirs;
	struct gql_selset *sel; /* GQL_FIELD: NULL when none; GQL_INLINE: always */
};

struct gql_selset {
	struct gql_selection *items;
	size_t n;
	struct gql_loc loc;
};

/* ---- definitions ---- */

enum gql_op_kind { GQL_QUERY, GQL_MUTATION, GQL_SUBSCRIPTION };

struct gql_vardef {
	const char *name;
	struct gql_loc loc;
	struct gql_tref *type;
	struct gql_value *def; /* NULL when none */
	struct gql_directive *dirs;
	size_t ndirs;
};

struct gql_definition {
	int is_fragment;
	enum gql_op_kind op; /* operations */
	const char *name;    /* NULL: an anonymous operation */
	struct gql_loc loc;
	struct gql_vardef *vars;
	size_t nvars;
	const char *type_condition; /* fragments */
	struct gql_directive *dirs;
	size_t ndirs;
	struct gql_selset *sel;
};

struct gql_document {
	struct gql_definition *defs;
	size_t n;
};

/* A syntax error: a message for people ("Syntax Error: Expected Name, found <EOF>.") and
 * where it is. */
struct gql_syntax_error {
	const char *message;
	struct gql_loc loc;
};

/* gql_parse parses src[0..len) (valid UTF-8, which the caller has checked) into *doc.
 * ERR_INVALID with *err filled on a syntax error. */
int gql_parse(struct arena *a, const char *src, size_t len, struct gql_document *doc,
              struct gql_syntax_error *err) MUSTCHECK;

/* gql_parse_const parses one constant value (a default in a schema table). */
int gql_parse_const(struct arena *a, const char *src, struct gql_value *out,
                    struct gql_syntax_error *err) MUSTCHECK;

/* gql_op_name: "query", "mutation", "subscription". */
const char *gql_op_name(enum gql_op_kind k);

#endif
