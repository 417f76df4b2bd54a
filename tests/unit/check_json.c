/* check_json.c - strict parsing (table-driven accept/reject vectors) and field
 * validation (required, types, ranges, lengths, unknown, nested paths, email, dates,
 * enums, null), and output without escaped slashes. */
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "base/buf.h"
#include "http/json.h"

static struct arena *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

static int parse(const char *text, size_t len, json_object **out, const char **why)
{
	return json_parse(a, text, len, out, why);
}

/* ---- parsing ---- */

START_TEST(test_parse_accepts)
{
	static const char *const good[] = {
	    "{}",
	    " {\"a\":1} \n",
	    "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}",
	    "[]",
	    "123",
	    "-0.5e+3",
	    "\"caf\xc3\xa9\"",
	    "\"\\ud83d\\ude00\"",
	    "true",
	    "{\"a\":\"\\/\\\"\\\\\\b\\f\\n\\r\\t\\u00e9\"}",
	    "9223372036854775807",
	    "-9223372036854775808",
	    "1E2",
	};
	json_object *o;
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(parse(good[i], strlen(good[i]), &o, &why) == ERR_OK,
		              "rejected %s: %s", good[i], why ? why : "");
		ck_assert_ptr_nonnull(o);
	}
	ck_assert_int_eq(parse("{\"k\":\"v\",\"n\":5}", 15, &o, &why), ERR_OK);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "k")), "v");
	ck_assert_int_eq(parse("null", 4, &o, &why), ERR_OK);
	ck_assert_ptr_null(o);
}
END_TEST

struct bad_case {
	const char *text;
	size_t len;
	const char *why;
};

START_TEST(test_parse_rejects)
{
	static const struct bad_case bad[] = {
	    {"", 0, "empty body"},
	    {"   ", 3, "unexpected end of input"},
	    {"{} x", 4, "unexpected data after the JSON value"},
	    {"{}{}", 4, "unexpected data after the JSON value"},
	    {"[1] [2]", 7, "unexpected data after the JSON value"},
	    {"{\"a\":1}\0", 8, "NUL character in the body"},
	    {"\"a\0b\"", 5, "NUL character in the body"},
	    {"\"\\u0000\"", 8, "\\u0000 is not allowed"},
	    {"\"\xc3\x28\"", 4, "invalid UTF-8"},
	    {"\"\xc0\xaf\"", 4, "invalid UTF-8"},
	    {"\"\xed\xa0\x80\"", 5, "invalid UTF-8"},
	    {"\"\xf4\x90\x80\x80\"", 6, "invalid UTF-8"},
	    {"\"\\ud800\"", 8, "unpaired UTF-16 surrogate escape"},
	    {"\"\\udc00\"", 8, "unpaired UTF-16 surrogate escape"},
	    {"NaN", 3, "unexpected character"},
	    {"Infinity", 8, "unexpected character"},
	    {"[-Infinity]", 11, "invalid number"},
	    {"{'a':1}", 7, "object keys must be strings in double quotes"},
	    {"{\"a\":'b'}", 9, "unexpected character"},
	    {"[1,]", 4, "unexpected character"},
	    {"{\"a\":1,}", 8, "object keys must be strings in double quotes"},
	    {"{\"a\" 1}", 7, "expected ':'"},
	    {"1.", 2, "invalid number"},
	    {".5", 2, "unexpected character"},
	    {"01", 2, "invalid number"},
	    {"+1", 2, "unexpected character"},
	    {"1e999", 5, "number out of range"},
	    {"99999999999999999999", 20, "number out of range"},
	    {"\"tab\there\"", 10, "control character in a string"},
	    {"\"\\x41\"", 6, "invalid escape in a string"},
	    {"\"open", 5, "unterminated string"},
	    {"/* c */ {}", 10, "unexpected character"},
	    {"TRUE", 4, "unexpected character"},
	    {"tru", 3, "unexpected character"},
	    {"{\"a\":1,\"a\":2}", 13, "duplicate object key"},
	    {"{\"x\":{\"a\":1,\"a\":2}}", 19, "duplicate object key"},
	};
	json_object *o;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = (json_object *)1;
		why = NULL;
		ck_assert_msg(parse(bad[i].text, bad[i].len, &o, &why) == ERR_INVALID,
		              "accepted case %zu", i);
		ck_assert_ptr_null(o);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strcmp(why, bad[i].why) == 0, "case %zu: got \"%s\", want \"%s\"", i,
		              why, bad[i].why);
	}
}
END_TEST

START_TEST(test_parse_depth)
{
	char text[2 * (JSON_MAX_DEPTH + 1) + 1];
	json_object *o;
	const char *why;

	memset(text, '[', JSON_MAX_DEPTH);
	memset(text + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	ck_assert_int_eq(parse(text, 2 * JSON_MAX_DEPTH, &o, &why), ERR_OK);

	memset(text, '[', JSON_MAX_DEPTH + 1);
	memset(text + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	ck_assert_int_eq(parse(text, 2 * (JSON_MAX_DEPTH + 1), &o, &why), ERR_INVALID);
	ck_assert_str_eq(why, "nesting too deep");
}
END_TEST

START_TEST(test_parse_not_nul_terminated)
{
	/* The parser honours len: bytes past it are never read or required. */
	const char text[] = "{\"a\":12}garbage";
	json_object *o;
	const char *why;

	ck_assert_int_eq(parse(text, 8, &o, &why), ERR_OK);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "a")), 12);
	ck_assert_int_eq(parse("12345", 3, &o, &why), ERR_OK);
	ck_assert_int_eq(json_object_get_int(o), 123);
}
END_TEST

/* ---- validation ---- */

static json_object *obj(const char *text)
{
	json_object *o = NULL;
	const char *why = NULL;

	ck_assert_msg(json_parse(a, text, strlen(text), &o, &why) == ERR_OK, "bad fixture %s",
	              text);
	return o;
}

/* find returns the message recorded for a field path, or NULL. */
static const char *find(const struct json_errors *e, const char *field)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->e[i].field, field) == 0)
			return e->e[i].message;
	return NULL;
}

START_TEST(test_validate_ok_and_outputs)
{
	const char *name = NULL, *email = NULL, *day = NULL, *kind = NULL, *id = NULL;
	int64_t n = -1;
	int flag = -1, has_flag = 0;
	json_object *tags = NULL, *meta = NULL;
	static const char *const kinds[] = {"education", "experience", NULL};
	const struct json_field f[] = {
	    {.name = "name",
	     .type = JT_STRING,
	     .flags = JF_REQUIRED,
	     .min = 1,
	     .max = 10,
	     .out = &name},
	    {.name = "n", .type = JT_INT, .min = -5, .max = 5, .out = &n},
	    {.name = "flag", .type = JT_BOOL, .out = &flag, .present = &has_flag},
	    {.name = "email", .type = JT_EMAIL, .out = &email},
	    {.name = "day", .type = JT_DATE, .out = &day},
	    {.name = "kind", .type = JT_ENUM, .choices = kinds, .out = &kind},
	    {.name = "id", .type = JT_UUID, .out = &id},
	    {.name = "tags", .type = JT_ARRAY, .out = &tags},
	    {.name = "meta", .type = JT_OBJECT, .out = &meta},
	};
	struct json_errors e = {0};
	json_object *o =
	    obj("{\"name\":\"  Ann \",\"n\":-5,\"flag\":false,\"email\":\" Ann@Example.COM \","
	        "\"day\":\"2024-02-29\",\"kind\":\"education\","
	        "\"id\":\"7D4E0C2A-1B2C-4D5E-8F90-A1B2C3D4E5F6\",\"tags\":[1],\"meta\":{}}");

	ck_assert_int_eq(json_validate(a, o, f, 9, "", &e), ERR_OK);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(name, "Ann");
	ck_assert_int_eq(n, -5);
	ck_assert_int_eq(flag, 0);
	ck_assert_int_eq(has_flag, 1);
	ck_assert_str_eq(email, "ann@example.com");
	ck_assert_str_eq(day, "2024-02-29");
	ck_assert_str_eq(kind, "education");
	ck_assert_str_eq(id, "7d4e0c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6");
	ck_assert_int_eq(json_object_array_length(tags), 1);
	ck_assert(json_object_is_type(meta, json_type_object));
}
END_TEST

START_TEST(test_validate_required_and_types)
{
	const struct json_field f[] = {
	    {.name = "s", .type = JT_STRING, .flags = JF_REQUIRED},
	    {.name = "i", .type = JT_INT, .flags = JF_REQUIRED},
	    {.name = "b", .type = JT_BOOL},
	    {.name = "o", .type = JT_OBJECT},
	    {.name = "arr", .type = JT_ARRAY},
	    {.name = "d", .type = JT_DATE},
	    {.name = "opt", .type = JT_STRING},
	};
	struct json_errors e = {0};
	json_object *o = obj("{\"i\":1.5,\"b\":\"true\",\"o\":[],\"arr\":{},\"d\":20240101}");

	ck_assert_int_eq(json_validate(a, o, f, 7, "", &e), ERR_INVALID);
	ck_assert_uint_eq(e.n, 6);
	ck_assert_int_eq(e.unknown, 0);
	ck_assert_str_eq(find(&e, "s"), "is required");
	ck_assert_str_eq(find(&e, "i"), "must be an integer");
	ck_assert_str_eq(find(&e, "b"), "must be true or false");
	ck_assert_str_eq(find(&e, "o"), "must be an object");
	ck_assert_str_eq(find(&e, "arr"), "must be an array");
	ck_assert_str_eq(find(&e, "d"), "must be a string");
	ck_assert_ptr_null(find(&e, "opt")); /* optional and absent: fine */
}
END_TEST

START_TEST(test_validate_ranges_and_lengths)
{
	const struct json_field f[] = {
	    {.name = "lo", .type = JT_INT, .min = 0, .max = 100},
	    {.name = "hi", .type = JT_INT, .min = 0, .max = 100},
	    {.name = "edge", .type = JT_INT, .min = 0, .max = 100},
	    {.name = "empty", .type = JT_STRING, .min = 1, .max = 50},
	    {.name = "blank", .type = JT_STRING, .min = 1, .max = 50},
	    {.name = "long", .type = JT_STRING, .min = 1, .max = 3},
	    {.name = "bytes", .type = JT_STRING, .min = 1, .max = 3},
	    {.name = "short", .type = JT_STRING, .min = 8, .flags = JF_NOTRIM},
	    {.name = "items", .type = JT_ARRAY, .min = 1, .max = 2},
	};
	struct json_errors e = {0};
	/* "é" is two bytes: "aéb" is 4 bytes, over a 3-byte limit. */
	json_object *o = obj("{\"lo\":-1,\"hi\":101,\"edge\":100,\"empty\":\"\",\"blank\":\"   \","
	                     "\"long\":\"abcd\",\"bytes\":\"a\xc3\xa9"
	                     "b\",\"short\":\" pass \","
	                     "\"items\":[1,2,3]}");

	ck_assert_int_eq(json_validate(a, o, f, 9, "", &e), ERR_INVALID);
	ck_assert_uint_eq(e.n, 8);
	ck_assert_str_eq(find(&e, "lo"), "must be between 0 and 100");
	ck_assert_str_eq(find(&e, "hi"), "must be between 0 and 100");
	ck_assert_ptr_null(find(&e, "edge"));
	ck_assert_str_eq(find(&e, "empty"), "must not be empty");
	ck_assert_str_eq(find(&e, "blank"), "must not be empty");
	ck_assert_str_eq(find(&e, "long"), "must be at most 3 bytes long");
	ck_assert_str_eq(find(&e, "bytes"), "must be at most 3 bytes long");
	ck_assert_str_eq(find(&e, "short"), "must be at least 8 bytes long");
	ck_assert_str_eq(find(&e, "items"), "must have between 1 and 2 items");
}
END_TEST

START_TEST(test_validate_notrim_keeps_spaces)
{
	const char *pw = NULL;
	const struct json_field f[] = {
	    {.name = "password", .type = JT_STRING, .flags = JF_NOTRIM, .min = 1, .out = &pw},
	};
	struct json_errors e = {0};

	ck_assert_int_eq(json_validate(a, obj("{\"password\":\" p w \"}"), f, 1, "", &e), ERR_OK);
	ck_assert_str_eq(pw, " p w ");
}
END_TEST

START_TEST(test_validate_unknown_fields)
{
	const struct json_field f[] = {{.name = "name", .type = JT_STRING}};
	struct json_errors e = {0};

	ck_assert_int_eq(
	    json_validate(a, obj("{\"name\":\"x\",\"nmae\":\"y\",\"extra\":1}"), f, 1, "", &e),
	    ERR_INVALID);
	ck_assert_int_eq(e.unknown, 1);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_str_eq(find(&e, "nmae"), "unknown field");
	ck_assert_str_eq(find(&e, "extra"), "unknown field");
}
END_TEST

START_TEST(test_validate_nested_prefix)
{
	const char *start = NULL;
	const struct json_field f[] = {
	    {.name = "title", .type = JT_STRING, .flags = JF_REQUIRED},
	    {.name = "start_date", .type = JT_DATE, .out = &start},
	};
	struct json_errors e = {0};
	json_object *o = obj("{\"start_date\":\"2025-02-29\",\"bogus\":true}");

	ck_assert_int_eq(json_validate(a, o, f, 2, "sections[1].items[0]", &e), ERR_INVALID);
	ck_assert_uint_eq(e.n, 3);
	ck_assert_str_eq(find(&e, "sections[1].items[0].title"), "is required");
	ck_assert_str_eq(find(&e, "sections[1].items[0].start_date"),
	                 "must be a valid date (YYYY-MM-DD)");
	ck_assert_str_eq(find(&e, "sections[1].items[0].bogus"), "unknown field");
	ck_assert_ptr_null(start);

	/* Not an object: one error at the prefix itself. */
	struct json_errors e2 = {0};

	ck_assert_int_eq(json_validate(a, obj("[1]"), f, 2, "sections[2]", &e2), ERR_INVALID);
	ck_assert_uint_eq(e2.n, 1);
	ck_assert_str_eq(find(&e2, "sections[2]"), "must be a JSON object");
	struct json_errors e3 = {0};

	ck_assert_int_eq(json_validate(a, obj("\"s\""), f, 2, "", &e3), ERR_INVALID);
	ck_assert_str_eq(find(&e3, ""), "must be a JSON object");
}
END_TEST

START_TEST(test_validate_email)
{
	static const char *const bad[] = {"nope",         "a@b",      "a b@example.com",
	                                  "@example.com", "a@@x.com", ""};
	const char *email = NULL;
	const struct json_field f[] = {{.name = "email", .type = JT_EMAIL, .out = &email}};
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_errors e = {0};

		snprintf(text, sizeof(text), "{\"email\":\"%s\"}", bad[i]);
		ck_assert_msg(json_validate(a, obj(text), f, 1, "", &e) == ERR_INVALID,
		              "accepted %s", bad[i]);
		ck_assert_str_eq(find(&e, "email"), "must be a valid email address");
	}
	struct json_errors e = {0};

	ck_assert_int_eq(
	    json_validate(a, obj("{\"email\":\"\\tMiXeD@Example.Org \"}"), f, 1, "", &e), ERR_OK);
	ck_assert_str_eq(email, "mixed@example.org");
}
END_TEST

START_TEST(test_validate_dates)
{
	static const char *const good[] = {"2024-02-29", "2000-02-29", "2025-12-31", "0001-01-01",
	                                   "2025-04-30"};
	static const char *const bad[] = {
	    "2025-02-29", "1900-02-29",           "2024-13-01", "2024-00-10",
	    "2024-04-31", "2024-01-00",           "2024-1-01",  "2024/01/01",
	    "0000-01-01", "2024-01-01T00:00:00Z", "20240101",   "2024-0a-01",
	};
	const char *d = NULL;
	const struct json_field f[] = {{.name = "d", .type = JT_DATE, .out = &d}};
	char text[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct json_errors e = {0};

		snprintf(text, sizeof(text), "{\"d\":\"%s\"}", good[i]);
		ck_assert_msg(json_validate(a, obj(text), f, 1, "", &e) == ERR_OK, "rejected %s",
		              good[i]);
		ck_assert_str_eq(d, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_errors e = {0};

		snprintf(text, sizeof(text), "{\"d\":\"%s\"}", bad[i]);
		ck_assert_msg(json_validate(a, obj(text), f, 1, "", &e) == ERR_INVALID,
		              "accepted %s", bad[i]);
	}
}
END_TEST

START_TEST(test_validate_enum_and_uuid)
{
	static const char *const types[] = {"jobseeker", "employer", NULL};
	const struct json_field f[] = {
	    {.name = "t", .type = JT_ENUM, .choices = types},
	    {.name = "id", .type = JT_UUID},
	};
	struct json_errors e = {0};

	ck_assert_int_eq(json_validate(a, obj("{\"t\":\"admin\",\"id\":\"7d4e\"}"), f, 2, "", &e),
	                 ERR_INVALID);
	ck_assert_str_eq(find(&e, "t"), "must be one of: jobseeker, employer");
	ck_assert_str_eq(find(&e, "id"), "must be a UUID");
	struct json_errors e2 = {0};

	ck_assert_int_eq(json_validate(a, obj("{\"t\":\"Employer\"}"), f, 2, "", &e2), ERR_INVALID);
	ck_assert_uint_eq(e2.n, 1);
}
END_TEST

START_TEST(test_validate_null)
{
	const char *v = "untouched";
	int present = 0;
	const struct json_field f[] = {
	    {.name = "maybe",
	     .type = JT_STRING,
	     .flags = JF_NULLABLE,
	     .out = &v,
	     .present = &present},
	    {.name = "never", .type = JT_STRING},
	    {.name = "must", .type = JT_STRING, .flags = JF_REQUIRED},
	};
	struct json_errors e = {0};

	ck_assert_int_eq(
	    json_validate(a, obj("{\"maybe\":null,\"never\":null,\"must\":null}"), f, 3, "", &e),
	    ERR_INVALID);
	ck_assert_str_eq(v, "untouched");
	ck_assert_int_eq(present, 1);
	ck_assert_ptr_null(find(&e, "maybe"));
	ck_assert_str_eq(find(&e, "never"), "must not be null");
	ck_assert_str_eq(find(&e, "must"), "is required");
}
END_TEST

START_TEST(test_validate_error_cap)
{
	struct json_errors e = {0};
	struct buf b;

	buf_init(&b, a, 1 << 16);
	ck_assert_int_eq(buf_putc(&b, '{'), ERR_OK);
	for (int i = 0; i < JSON_MAX_ERRORS + 10; i++)
		ck_assert_int_eq(buf_printf(&b, "%s\"k%d\":1", i ? "," : "", i), ERR_OK);
	ck_assert_int_eq(buf_putc(&b, '}'), ERR_OK);
	ck_assert_int_eq(json_validate(a, obj(buf_str(&b)), NULL, 0, "", &e), ERR_INVALID);
	ck_assert_uint_eq(e.n, JSON_MAX_ERRORS);
	/* Full already: still reports the failure. */
	ck_assert_int_eq(json_validate(a, obj("{\"x\":1}"), NULL, 0, "", &e), ERR_INVALID);
	ck_assert_uint_eq(e.n, JSON_MAX_ERRORS);
}
END_TEST

START_TEST(test_errors_add)
{
	struct json_errors e = {0};

	json_errors_add(&e, a, "contact", "email", "is taken");
	json_errors_add(&e, a, "", "end_date", "must not be before start_date");
	ck_assert_uint_eq(e.n, 2);
	ck_assert_str_eq(e.e[0].field, "contact.email");
	ck_assert_str_eq(e.e[1].field, "end_date");
	ck_assert_str_eq(e.e[1].message, "must not be before start_date");
}
END_TEST

START_TEST(test_to_buf)
{
	struct buf b;
	json_object *o = json_new_object(a);

	buf_init(&b, a, 1024);
	json_object_object_add(o, "url", json_object_new_string("https://x/y"));
	json_object_object_add(o, "n", json_object_new_int(3));
	ck_assert_int_eq(json_to_buf(o, &b), ERR_OK);
	ck_assert_str_eq(buf_str(&b), "{\"url\":\"https://x/y\",\"n\":3}");

	struct buf small;

	buf_init(&small, a, 5);
	ck_assert_int_eq(json_to_buf(o, &small), ERR_TOO_LARGE);
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tp = tcase_create("parse");
	TCase *tv = tcase_create("validate");

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_parse_accepts);
	tcase_add_test(tp, test_parse_rejects);
	tcase_add_test(tp, test_parse_depth);
	tcase_add_test(tp, test_parse_not_nul_terminated);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(tv, setup, teardown);
	tcase_add_test(tv, test_validate_ok_and_outputs);
	tcase_add_test(tv, test_validate_required_and_types);
	tcase_add_test(tv, test_validate_ranges_and_lengths);
	tcase_add_test(tv, test_validate_notrim_keeps_spaces);
	tcase_add_test(tv, test_validate_unknown_fields);
	tcase_add_test(tv, test_validate_nested_prefix);
	tcase_add_test(tv, test_validate_email);
	tcase_add_test(tv, test_validate_dates);
	tcase_add_test(tv, test_validate_enum_and_uuid);
	tcase_add_test(tv, test_validate_null);
	tcase_add_test(tv, test_validate_error_cap);
	tcase_add_test(tv, test_errors_add);
	tcase_add_test(tv, test_to_buf);
	suite_add_tcase(s, tv);
	return s;
}
