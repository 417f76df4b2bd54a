/* check_buf.c - the bound is exact and a failed append changes nothing; JSON string
 * escaping (quotes, backslash, controls, UTF-8 untouched); printf growth; arena mode. */
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "base/buf.h"

START_TEST(test_limit_exact)
{
	struct buf b;

	buf_init(&b, NULL, 10);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_puts(&b, "12345"), ERR_OK);
	ck_assert_int_eq(buf_append(&b, "67890", 5), ERR_OK); /* exactly the limit */
	ck_assert_uint_eq(b.len, 10);
	ck_assert_int_eq(buf_putc(&b, 'x'), ERR_TOO_LARGE);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), ERR_TOO_LARGE);
	ck_assert_int_eq(buf_json_string(&b, ""), ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(buf_str(&b), "1234567890");
	buf_reset(&b);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_append(&b, "12345678901", 11), ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_unchanged_on_failure)
{
	struct buf b;

	buf_init(&b, NULL, 12);
	ck_assert_int_eq(buf_puts(&b, "ab"), ERR_OK);
	/* "a\"b" escapes to 6 bytes with quotes: 2 + 6 = 8 fits; a long one does not. */
	ck_assert_int_eq(buf_json_string(&b, "a\"b"), ERR_OK);
	ck_assert_str_eq(buf_str(&b), "ab\"a\\\"b\"");
	ck_assert_int_eq(buf_json_string(&b, "\x01\x02"), ERR_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "ab\"a\\\"b\"");
	ck_assert_int_eq(buf_printf(&b, "%s", "12345"), ERR_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "ab\"a\\\"b\"");
	buf_free(&b);
}
END_TEST

START_TEST(test_json_escaping)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", "\"\""},
	    {"plain", "\"plain\""},
	    {"say \"hi\"", "\"say \\\"hi\\\"\""},
	    {"back\\slash", "\"back\\\\slash\""},
	    {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
	    {"\b\f", "\"\\b\\f\""},
	    {"\x01\x1f", "\"\\u0001\\u001f\""},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
	    {"</script>", "\"</script>\""},
	    {"\x7f", "\"\x7f\""},
	};
	struct buf b;

	buf_init(&b, NULL, 1024);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		ck_assert_int_eq(buf_json_string(&b, cases[i].in), ERR_OK);
		ck_assert_str_eq(buf_str(&b), cases[i].out);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_growth)
{
	struct buf b;
	char big[3001];

	memset(big, 'q', 3000);
	big[3000] = '\0';
	buf_init(&b, NULL, 1 << 20);
	ck_assert_int_eq(buf_printf(&b, "<%s>", "x"), ERR_OK);
	ck_assert_int_eq(buf_printf(&b, "[%s|%d]", big, 42),
	                 ERR_OK); /* past the 256-byte fast path */
	ck_assert_uint_eq(b.len, 3 + 1 + 3000 + 4);
	ck_assert_int_eq(strncmp(buf_str(&b), "<x>[qqq", 7), 0);
	ck_assert_str_eq(buf_str(&b) + b.len - 4, "|42]");
	ck_assert_uint_eq(strlen(buf_str(&b)), b.len);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_putc(&b, 'z'), ERR_OK);
	ck_assert_uint_eq(b.len, 4008);
	ck_assert_uint_ge(b.cap, b.len + 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_arena_backed)
{
	struct arena *a = arena_new(0);
	struct buf b;

	buf_init(&b, a, 5000);
	for (int i = 0; i < 400; i++)
		ck_assert_int_eq(buf_puts(&b, "0123456789"), ERR_OK);
	ck_assert_uint_eq(b.len, 4000);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), ERR_OK);
	ck_assert_int_eq(strncmp(buf_str(&b) + 3990, "01234567890123456789", 20), 0);
	buf_free(&b); /* no-op for arena memory; the arena releases it */
	arena_free(a);
}
END_TEST

Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_limit_exact);
	tcase_add_test(tc, test_unchanged_on_failure);
	tcase_add_test(tc, test_json_escaping);
	tcase_add_test(tc, test_printf_growth);
	tcase_add_test(tc, test_arena_backed);
	suite_add_tcase(s, tc);
	return s;
}
