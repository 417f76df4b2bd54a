/* check_graphql.c - the GraphQL engine (lib/graphql/) without I/O: the lexer's tokens and
 * values, the parser's refusals and bounds, schema binding refusals, and execution
 * against a small schema (null propagation, paths, enums, coercion, limits). The HTTP
 * side and the spec's validation table are black-box tests (tests/api/test_graphql*.py). */
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "graphql/ast.h"
#include "graphql/graphql.h"

/* ---- a small schema ---- */

static int r_items(struct gql_call *c, struct gql_val *out)
{
	json_object *arr = json_object_new_array();
	int64_t n = gql_arg_int(c, "first", 2);

	for (int64_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(i + 1));
		json_object_object_add(o, "state", json_object_new_string(i ? "done" : "open"));
		/* item 2 has no name: Item.name is String!, so item 2 becomes null */
		if (i != 1)
			json_object_object_add(o, "name", json_object_new_string("n"));
		json_object_object_add(o, "count", json_object_new_string("not a number"));
		json_object_array_add(arr, o);
	}
	*out = gql_json(c, arr);
	return ERR_OK;
}

static int r_fail(struct gql_call *c, struct gql_val *out)
{
	(void)out;
	return gql_fail(c, "NOT_FOUND", "nothing here", NULL);
}

static int r_echo(struct gql_call *c, struct gql_val *out)
{
	json_object *in;

	json_object_object_get_ex(c->args, "in", &in);
	*out = gql_string(c, json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN));
	return ERR_OK;
}

static const struct gql_arg_def first_arg[] = {{"first", "Int", "2", NULL, NULL}};
static const struct gql_arg_def echo_args[] = {{"in", "[Filter!]", NULL, NULL, NULL}};
static const struct gql_arg_def filter_fields[] = {
    {"state", "State", "OPEN", NULL, NULL},
    {"q", "String!", NULL, NULL, NULL},
};
static const struct gql_field_def query_fields[] = {
    {"items", "[Item]", NULL, first_arg, 1, NULL},
    {"strict", "[Item!]", NULL, first_arg, 1, NULL},
    {"must", "Item!", NULL, NULL, 0, NULL},
    {"echo", "String", NULL, echo_args, 1, NULL},
};
static const struct gql_field_def item_fields[] = {
    {"id", "ID!", NULL, NULL, 0, NULL},
    {"name", "String!", NULL, NULL, 0, NULL},
    {"state", "State", NULL, NULL, 0, NULL},
    {"count", "Int", NULL, NULL, 0, "use id"},
};
static const struct gql_enum_def states[] = {
    {"OPEN", "open", NULL, NULL},
    {"DONE", "done", NULL, NULL},
};
static const struct gql_type_def types[] = {
    {GQL_KIND_OBJECT, "Query", NULL, query_fields, 4, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_OBJECT, "Item", NULL, item_fields, 4, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_ENUM, "State", NULL, NULL, 0, NULL, 0, states, 2, NULL},
    {GQL_KIND_INPUT_OBJECT, "Filter", NULL, NULL, 0, filter_fields, 2, NULL, 0, NULL},
};
static const struct gql_resolver_def resolvers[] = {
    {"Query.items", r_items, NULL, 0, "first", 0}, {"Query.strict", r_items, NULL, 0, "first", 0},
    {"Query.must", r_fail, NULL, 0, NULL, 0},      {"Query.echo", r_echo, NULL, 0, NULL, 0},
    {"Item.id", NULL, "id", 0, NULL, 0},           {"Item.name", NULL, "name", 0, NULL, 0},
    {"Item.state", NULL, "state", 0, NULL, 0},     {"Item.count", NULL, "count", 0, NULL, 0},
};
static const struct gql_schema_spec spec = {
    NULL, types, 4, resolvers, 8, "Query", NULL, NULL,
};

static struct gql_schema *test_schema(void)
{
	static struct gql_schema *s;
	const char *why = NULL;

	if (s == NULL)
		s = gql_schema_build(&spec, &why);
	ck_assert_msg(s != NULL, "schema: %s", why != NULL ? why : "");
	return s;
}

/* Runs query and returns the response as compact JSON text (arena). */
static const char *run(struct arena *a, const char *query, const char *variables)
{
	struct gql_limits lim = {4096, 10, 1000, 5, 1};
	struct gql_request req;
	struct gql_result res;

	memset(&req, 0, sizeof req);
	req.query = query;
	req.query_len = strlen(query);
	req.allow_mutation = 1;
	if (variables != NULL)
		req.variables = json_tokener_parse(variables);
	ck_assert_int_eq(gql_execute(a, test_schema(), &lim, &req, &res), ERR_OK);
	const char *out = arena_strdup(
	    a, json_object_to_json_string_ext(res.response, JSON_C_TO_STRING_PLAIN |
	                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(req.variables);
	return out;
}

/* ---- lexer and parser ---- */

START_TEST(parse_values_and_strings)
{
	struct arena *a = arena_new(0);
	struct gql_document doc;
	struct gql_syntax_error err;
	const char *src =
	    "\xef\xbb\xbf# comment\n,,query Q($a: [Int!]! = [1, -2], $b: Float = -0.5e3) {\n"
	    "  f(s: \"\\u00e9\\u{1F600}\\uD83D\\uDE00\\n\", b: \"\"\"\n    one\n      two\n"
	    "    \\\"\"\"\n  \"\"\", e: RED, o: {x: null, y: [true]})\n}";

	ck_assert_int_eq(gql_parse(a, src, strlen(src), &doc, &err), ERR_OK);
	ck_assert_uint_eq(doc.n, 1);
	const struct gql_definition *d = &doc.defs[0];

	ck_assert_str_eq(d->name, "Q");
	ck_assert_uint_eq(d->nvars, 2);
	ck_assert_int_eq(d->vars[0].type->kind, GQL_TNONNULL);
	ck_assert_int_eq(d->vars[0].type->of->kind, GQL_TLIST);
	ck_assert_int_eq(d->vars[1].def->kind, GQL_FLOAT);
	ck_assert_int_eq(d->loc.line, 2);
	ck_assert_int_eq(d->loc.col, 3);
	const struct gql_selection *f = &d->sel->items[0];

	ck_assert_uint_eq(f->nargs, 4);
	ck_assert_str_eq(f->args[0].value.s, "\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80\n");
	ck_assert_str_eq(f->args[1].value.s, "one\n  two\n\"\"\"");
	ck_assert_int_eq(f->args[2].value.kind, GQL_ENUM);
	ck_assert_int_eq(f->args[3].value.kind, GQL_OBJECT);
	ck_assert_int_eq(f->args[3].value.fields[1].value.items[0].b, 1);
	arena_free(a);
}
END_TEST

START_TEST(parse_refusals)
{
	static const struct {
		const char *src;
		int line, col;
	} bad[] = {
	    {"", 1, 1},
	    {"{ }", 1, 3},
	    {"{ f(a: 00) }", 1, 9},
	    {"{ f(a: 1.) }", 1, 10},
	    {"{ f(a: 1x) }", 1, 9},
	    {"{ f(a: \"\\q\") }", 1, 9},
	    {"{ f(a: \"\\uD800\") }", 1, 9},
	    {"{ f(a: \"\\u{110000}\") }", 1, 9},
	    {"{ f(a: \"open\n\") }", 1, 13},
	    {"{ f(a: \"\"\"open) }", 1, 8},
	    {"query ($a: Int = $b) { f }", 1, 18},
	    {"fragment on on X { f }", 1, 10},
	    {"{ f() }", 1, 5},
	    {"{ f }\n  type X { a: Int }", 2, 3},
	    {"{ f ..x }", 1, 5},
	    {"{ f 'x' }", 1, 5},
	    {"{ f \x01 }", 1, 5},
	};
	struct arena *a = arena_new(0);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct gql_document doc;
		struct gql_syntax_error err;

		memset(&err, 0, sizeof err);
		ck_assert_msg(gql_parse(a, bad[i].src, strlen(bad[i].src), &doc, &err) ==
		                  ERR_INVALID,
		              "parsed: %s", bad[i].src);
		ck_assert_ptr_nonnull(err.message);
		ck_assert_msg(strncmp(err.message, "Syntax Error: ", 14) == 0, "%s", err.message);
		ck_assert_msg(err.loc.line == bad[i].line && err.loc.col == bad[i].col,
		              "%s: %s at %d:%d", bad[i].src, err.message, err.loc.line,
		              err.loc.col);
	}
	arena_free(a);
}
END_TEST

START_TEST(parse_nesting_is_bounded)
{
	struct arena *a = arena_new(0);
	size_t n = 100000;
	char *src = arena_alloc(a, 2 * n + 8);
	struct gql_document doc;
	struct gql_syntax_error err;

	/* { f(a: [[[[...: a list 100000 deep must not exhaust the stack */
	memcpy(src, "{ f(a: ", 7);
	memset(src + 7, '[', n);
	src[7 + n] = '\0';
	ck_assert_int_eq(gql_parse(a, src, strlen(src), &doc, &err), ERR_INVALID);
	ck_assert_str_eq(err.message, "Syntax Error: The document is nested too deeply.");
	memset(src, '{', n);
	src[n] = '\0';
	ck_assert_int_eq(gql_parse(a, src, n, &doc, &err), ERR_INVALID);
	arena_free(a);
}
END_TEST

/* ---- schema binding ---- */

START_TEST(schema_refuses_drift)
{
	static const struct gql_field_def f[] = {{"a", "Int", NULL, NULL, 0, NULL},
	                                         {"b", "Nope", NULL, NULL, 0, NULL}};
	static const struct gql_type_def t1[] = {
	    {GQL_KIND_OBJECT, "Query", NULL, f, 1, NULL, 0, NULL, 0, NULL}};
	static const struct gql_type_def t2[] = {
	    {GQL_KIND_OBJECT, "Query", NULL, f, 2, NULL, 0, NULL, 0, NULL}};
	static const struct gql_resolver_def ok[] = {{"Query.a", NULL, "a", 0, NULL, 0}};
	static const struct gql_resolver_def extra[] = {{"Query.a", NULL, "a", 0, NULL, 0},
	                                                {"Query.z", NULL, "z", 0, NULL, 0}};
	const char *why = NULL;
	struct gql_schema_spec s = {NULL, t1, 1, NULL, 0, "Query", NULL, NULL};

	ck_assert_ptr_null(gql_schema_build(&s, &why));
	ck_assert_str_eq(why, "field Query.a has no resolver");
	s.resolvers = extra, s.nresolvers = 2;
	ck_assert_ptr_null(gql_schema_build(&s, &why));
	ck_assert_str_eq(why, "resolver Query.z: no such field");
	s.types = t2, s.resolvers = ok, s.nresolvers = 1;
	ck_assert_ptr_null(gql_schema_build(&s, &why));
	ck_assert_str_eq(why, "Query.b: unknown or malformed type Nope");
	s.types = t1;
	struct gql_schema *built = gql_schema_build(&s, &why);

	ck_assert_ptr_nonnull(built);
	gql_schema_free(built);
}
END_TEST

/* ---- execution ---- */

START_TEST(null_propagation_and_paths)
{
	struct arena *a = arena_new(0);

	/* Item 2 has no name (String!): the item becomes null in a list of nullable items... */
	ck_assert_str_eq(
	    run(a, "{ items { id name } }", NULL),
	    "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Item.name.\","
	    "\"locations\":[{\"line\":1,\"column\":14}],\"path\":[\"items\",1,\"name\"],"
	    "\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}}],"
	    "\"data\":{\"items\":[{\"id\":\"1\",\"name\":\"n\"},null]}}");
	/* ...and the whole list in a list of non-null items; a failing non-null root field
	 * nulls data. */
	ck_assert_str_eq(
	    run(a, "{ strict { name } }", NULL),
	    "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
	    "Item.name.\",\"locations\":[{\"line\":1,\"column\":12}],\"path\":"
	    "[\"strict\",1,\"name\"],\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}}],"
	    "\"data\":{\"strict\":null}}");
	ck_assert_str_eq(
	    run(a, "{ a: __typename must { id } }", NULL),
	    "{\"errors\":[{\"message\":\"nothing here\",\"locations\":[{\"line\":1,"
	    "\"column\":17}],\"path\":[\"must\"],\"extensions\":{\"code\":\"NOT_FOUND\"}}],"
	    "\"data\":null}");
	arena_free(a);
}
END_TEST

START_TEST(leaves_are_checked_enums_mapped)
{
	struct arena *a = arena_new(0);
	const char *out = run(a, "{ items(first: 1) { state count } }", NULL);

	ck_assert_msg(strstr(out, "\"state\":\"OPEN\"") != NULL, "%.300s", out);
	ck_assert_msg(strstr(out, "Int cannot represent value: \\\"not a number\\\"") != NULL, "%s",
	              out);
	ck_assert_msg(strstr(out, "\"count\":null") != NULL, "%.300s", out);
	arena_free(a);
}
END_TEST

START_TEST(input_coercion)
{
	struct arena *a = arena_new(0);

	/* a single value where a list is expected becomes a list; input defaults apply */
	ck_assert_str_eq(
	    run(a, "{ echo(in: {q: \"x\"}) }", NULL),
	    "{\"data\":{\"echo\":\"[{\\\"state\\\":\\\"open\\\",\\\"q\\\":\\\"x\\\"}]\"}}");
	ck_assert_str_eq(
	    run(a, "query ($f: [Filter!]) { echo(in: $f) }",
	        "{\"f\": {\"q\": \"y\", \"state\": \"DONE\"}}"),
	    "{\"data\":{\"echo\":\"[{\\\"state\\\":\\\"done\\\",\\\"q\\\":\\\"y\\\"}]\"}}");
	const char *out = run(a, "query ($f: [Filter!]) { echo(in: $f) }", "{\"f\": [{\"q\": 1}]}");

	ck_assert_msg(strstr(out, "BAD_USER_INPUT") != NULL && strstr(out, "\"data\"") == NULL,
	              "%.300s", out);
	out =
	    run(a, "query ($f: [Filter!]) { echo(in: $f) }", "{\"f\": [{\"q\": \"a\", \"z\": 1}]}");
	ck_assert_msg(strstr(out, "Field \\\"z\\\" is not defined by type \\\"Filter\\\"") != NULL,
	              "%.300s", out);
	arena_free(a);
}
END_TEST

START_TEST(limits)
{
	struct arena *a = arena_new(0);
	const char *out;

	/* cost: items(first: 500) { id name } = 1 + 200 * 2 */
	out = run(a, "{ items(first: 500) { id name } }", NULL);
	ck_assert_msg(strstr(out, "COST_LIMIT_EXCEEDED") != NULL, "%.300s", out);
	out = run(a, "query ($n: Int) { items(first: $n) { id } }", "{\"n\": 1000}");
	ck_assert_msg(strstr(out, "The query costs 1001") != NULL, "%.300s", out);
	out = run(a,
	          "{ a: __typename b: __typename c: __typename d: __typename e: __typename "
	          "f: __typename }",
	          NULL);
	ck_assert_msg(strstr(out, "ALIAS_LIMIT_EXCEEDED") != NULL, "%.300s", out);
	arena_free(a);
}
END_TEST

Suite *graphql_suite(void)
{
	Suite *s = suite_create("graphql");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_values_and_strings);
	tcase_add_test(tc, parse_refusals);
	tcase_add_test(tc, parse_nesting_is_bounded);
	tcase_add_test(tc, schema_refuses_drift);
	tcase_add_test(tc, null_propagation_and_paths);
	tcase_add_test(tc, leaves_are_checked_enums_mapped);
	tcase_add_test(tc, input_coercion);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return s;
}
