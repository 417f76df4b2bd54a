/* check_util.c - strict integer parsing, email normalisation and validation (table),
 * UUID syntax, query parameter decoding, constant-time comparison, RFC 3339, err names. */
#include <limits.h>
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "base/util.h"

static struct arena *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

START_TEST(test_parse_long)
{
	static const struct {
		const char *s;
		long min, max;
		int ok;
		long want;
	} cases[] = {
	    {"0", 0, 10, 1, 0},
	    {"10", 0, 10, 1, 10},
	    {"11", 0, 10, 0, 0},
	    {"-1", 0, 10, 0, 0},
	    {"-5", -10, 10, 1, -5},
	    {"+7", 0, 10, 1, 7},
	    {"007", 0, 10, 1, 7},
	    {"", 0, 10, 0, 0},
	    {" 1", 0, 10, 0, 0},
	    {"1 ", 0, 10, 0, 0},
	    {"1a", 0, 10, 0, 0},
	    {"0x10", 0, 100, 0, 0},
	    {"1.5", 0, 10, 0, 0},
	    {"-", -10, 10, 0, 0},
	    {"9223372036854775807", 0, LONG_MAX, 1, LONG_MAX},
	    {"9223372036854775808", 0, LONG_MAX, 0, 0},
	    {"-9223372036854775809", LONG_MIN, 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long out = 12345;
		int rc = util_parse_long(cases[i].s, cases[i].min, cases[i].max, &out);

		if (cases[i].ok) {
			ck_assert_msg(rc == ERR_OK, "\"%s\" rejected", cases[i].s);
			ck_assert_int_eq(out, cases[i].want);
		} else {
			ck_assert_msg(rc == ERR_INVALID, "\"%s\" accepted", cases[i].s);
			ck_assert_int_eq(out, 12345); /* untouched on failure */
		}
	}
	long out;

	ck_assert_int_eq(util_parse_long(NULL, 0, 1, &out), ERR_INVALID);
}
END_TEST

START_TEST(test_normalize_email)
{
	ck_assert_str_eq(util_normalize_email(a, "  Foo.Bar@Example.COM \t\n"),
	                 "foo.bar@example.com");
	ck_assert_str_eq(util_normalize_email(a, "a@b.co"), "a@b.co");
	ck_assert_str_eq(util_normalize_email(a, "   "), "");
	ck_assert_str_eq(util_normalize_email(a, ""), "");
}
END_TEST

START_TEST(test_email_valid)
{
	static const char *const good[] = {
	    "a@b.co",
	    "first.last+tag@sub.example.org",
	    "x_y-z@ex-ample.io",
	    "1@2.de",
	};
	static const char *const bad[] = {
	    "",         "a",        "@b.co",     "a@",          "a@b",      "a@@b.co",
	    "a@b@c.co", "a b@c.co", "a@b..co",   "a@.b.co",     "a@-b.co",  "a@b.",
	    "<a>@b.co", "a@b.co\n", "a\"b@c.co", "a@[1.2.3.4]", "a,b@c.co",
	};
	char local[80], addr[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(util_email_valid(good[i]), "rejected %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!util_email_valid(bad[i]), "accepted %s", bad[i]);
	/* Local part: 64 characters at most. */
	memset(local, 'l', 64);
	memcpy(local + 64, "@b.co", 6);
	ck_assert(util_email_valid(local));
	memset(local, 'l', 65);
	memcpy(local + 65, "@b.co", 6);
	ck_assert(!util_email_valid(local));
	/* Whole address: 254 characters at most. */
	for (size_t len = 254; len <= 255; len++) {
		memset(addr, 'd', len);
		addr[0] = 'a';
		addr[1] = '@';
		memcpy(addr + len - 4, ".com", 5);
		ck_assert_uint_eq(strlen(addr), len);
		ck_assert_int_eq(util_email_valid(addr), len == 254);
	}
}
END_TEST

START_TEST(test_uuid_valid)
{
	ck_assert(util_uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
	ck_assert(util_uuid_valid("123E4567-E89B-12D3-A456-426614174000"));
	ck_assert(!util_uuid_valid("123e4567e89b12d3a456426614174000"));
	ck_assert(!util_uuid_valid("123e4567-e89b-12d3-a456-42661417400"));
	ck_assert(!util_uuid_valid("123e4567-e89b-12d3-a456-4266141740000"));
	ck_assert(!util_uuid_valid("123e4567-e89b-12d3-a456_426614174000"));
	ck_assert(!util_uuid_valid("g23e4567-e89b-12d3-a456-426614174000"));
	ck_assert(!util_uuid_valid("123e4567-e89b-12d3-a4564-26614174000"));
	ck_assert(!util_uuid_valid(""));
	ck_assert(!util_uuid_valid(NULL));
}
END_TEST

START_TEST(test_query_param)
{
	const char *q = "a=1&b=x%20y+z&c&d=%41%zz%4&a=2&ab=9&e=";

	ck_assert_str_eq(util_query_param(a, q, "a"), "1"); /* first occurrence */
	ck_assert_str_eq(util_query_param(a, q, "b"), "x y z");
	ck_assert_str_eq(util_query_param(a, q, "c"), "");       /* present, no value */
	ck_assert_str_eq(util_query_param(a, q, "d"), "A%zz%4"); /* bad escapes kept */
	ck_assert_str_eq(util_query_param(a, q, "ab"), "9");
	ck_assert_str_eq(util_query_param(a, q, "e"), "");
	ck_assert_ptr_null(util_query_param(a, q, "f"));
	/* %00 is kept as text: a decoded NUL would cut the value short unnoticed */
	ck_assert_str_eq(util_query_param(a, "ms=1%0050", "ms"), "1%0050");
	ck_assert_ptr_null(util_query_param(a, "ab=1", "a")); /* no prefix match */
	ck_assert_ptr_null(util_query_param(a, "", "a"));
	ck_assert_ptr_null(util_query_param(a, NULL, "a"));
	ck_assert_str_eq(util_query_param(a, "ms=250", "ms"), "250");
}
END_TEST

START_TEST(test_ct_equal)
{
	ck_assert_int_eq(util_ct_equal("abc", 3, "abc", 3), 1);
	ck_assert_int_eq(util_ct_equal("abc", 3, "abd", 3), 0);
	ck_assert_int_eq(util_ct_equal("abc", 3, "abcd", 4), 0);
	ck_assert_int_eq(util_ct_equal("", 0, "", 0), 1);
	ck_assert_int_eq(util_ct_equal("a\0b", 3, "a\0c", 3), 0);
}
END_TEST

START_TEST(test_time_and_names)
{
	ck_assert_str_eq(util_rfc3339(a, 0), "1970-01-01T00:00:00Z");
	ck_assert_str_eq(util_rfc3339(a, 1795255200), "2026-11-21T10:00:00Z");
	int64_t t1 = util_now_usec(), t2 = util_now_usec();

	ck_assert(t2 >= t1);
	ck_assert(util_wall_sec() > 1700000000);
	ck_assert_str_eq(err_name(ERR_OK), "ok");
	ck_assert_str_eq(err_name(ERR_CONFLICT), "conflict");
	ck_assert_str_eq(err_name(ERR_UNAVAILABLE), "unavailable");
	ck_assert_str_eq(err_name(-100), "unknown");
}
END_TEST

Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_long);
	tcase_add_test(tc, test_normalize_email);
	tcase_add_test(tc, test_email_valid);
	tcase_add_test(tc, test_uuid_valid);
	tcase_add_test(tc, test_query_param);
	tcase_add_test(tc, test_ct_equal);
	tcase_add_test(tc, test_time_and_names);
	suite_add_tcase(s, tc);
	return s;
}
