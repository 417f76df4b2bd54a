/* graphql_parse.c - libFuzzer driver for the GraphQL engine's parser (lib/graphql/).
 *
 * Every input is a document: it is parsed as raw bytes (the API checks UTF-8 before the
 * parser sees a query; the lexer must not depend on that for memory safety), and a
 * document that parses is also validated and executed against a small schema with no
 * I/O, so the validator, the limits and the executor see the parser's trees too. Built
 * and run by tests/fuzz/graphql_parse.sh (clang-14, ASan + UBSan + libFuzzer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "graphql/ast.h"
#include "graphql/graphql.h"

static int hello(struct gql_call *c, struct gql_val *out)
{
	*out = gql_string(c, gql_arg_str(c, "name", "world"));
	return ERR_OK;
}

static int items(struct gql_call *c, struct gql_val *out)
{
	int64_t n = gql_arg_int(c, "first", 3);
	json_object *arr;

	if (n < 0 || n > 50)
		return gql_fail(c, "BAD_USER_INPUT", "first must be 0..50", NULL);
	arr = json_object_new_array();
	for (int64_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(i));
		json_object_object_add(o, "kind", json_object_new_string(i % 2 ? "b" : "a"));
		json_object_array_add(arr, o);
	}
	*out = gql_json(c, arr);
	return ERR_OK;
}

static int broken(struct gql_call *c, struct gql_val *out)
{
	(void)out;
	return gql_fail(c, "NOT_FOUND", "no such thing", NULL);
}

static const struct gql_arg_def hello_args[] = {
    {"name", "String", "\"world\"", NULL, NULL},
    {"filter", "Filter", NULL, NULL, NULL},
};
static const struct gql_arg_def items_args[] = {
    {"first", "Int", "3", NULL, NULL},
    {"kinds", "[Kind!]", NULL, NULL, NULL},
};
static const struct gql_arg_def filter_fields[] = {
    {"q", "String!", NULL, NULL, NULL},
    {"n", "Int", "1", NULL, NULL},
    {"deep", "Filter", NULL, NULL, NULL},
};
static const struct gql_field_def query_fields[] = {
    {"hello", "String", NULL, hello_args, 2, NULL},
    {"items", "[Item!]!", NULL, items_args, 2, NULL},
    {"broken", "Item!", NULL, NULL, 0, NULL},
    {"maybe", "Item", NULL, NULL, 0, "gone"},
};
static const struct gql_field_def item_fields[] = {
    {"id", "ID!", NULL, NULL, 0, NULL},
    {"kind", "Kind", NULL, NULL, 0, NULL},
    {"children", "[Item!]", NULL, items_args, 2, NULL},
};
static const struct gql_enum_def kinds[] = {
    {"A", "a", NULL, NULL},
    {"B", "b", NULL, NULL},
};
static const struct gql_type_def types[] = {
    {GQL_KIND_OBJECT, "Query", NULL, query_fields, 4, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_OBJECT, "Item", NULL, item_fields, 3, NULL, 0, NULL, 0, NULL},
    {GQL_KIND_ENUM, "Kind", NULL, NULL, 0, NULL, 0, kinds, 2, NULL},
    {GQL_KIND_INPUT_OBJECT, "Filter", NULL, NULL, 0, filter_fields, 3, NULL, 0, NULL},
};
static const struct gql_resolver_def resolvers[] = {
    {"Query.hello", hello, NULL, 0, NULL, 0},      {"Query.items", items, NULL, 0, "first", 0},
    {"Query.broken", broken, NULL, 0, NULL, 0},    {"Query.maybe", broken, NULL, 0, NULL, 0},
    {"Item.id", NULL, "id", 0, NULL, 0},           {"Item.kind", NULL, "kind", 0, NULL, 0},
    {"Item.children", items, NULL, 0, "first", 0},
};
static const struct gql_schema_spec spec = {
    "fuzz", types, 4, resolvers, 7, "Query", NULL, NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	static struct gql_schema *s;
	const struct gql_limits lim = {4096, 8, 2000, 10, 1};
	struct gql_document doc;
	struct gql_syntax_error err;
	struct gql_request req;
	struct gql_result res;
	const char *why;
	char *text;

	if (a == NULL) {
		a = arena_new(0);
		s = gql_schema_build(&spec, &why);
		if (s == NULL)
			abort();
	}
	if (size > lim.max_document)
		return 0;
	text = arena_alloc(a, size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (gql_parse(a, text, size, &doc, &err) == ERR_OK) {
		memset(&req, 0, sizeof req);
		req.query = text;
		req.query_len = size;
		req.allow_mutation = 1;
		if (gql_execute(a, s, &lim, &req, &res) != ERR_OK)
			abort();
		(void)json_object_to_json_string(res.response);
	} else if (err.message == NULL || err.loc.line < 1 || err.loc.col < 1) {
		abort(); /* every syntax error says what and where */
	}
	arena_reset(a);
	return 0;
}
