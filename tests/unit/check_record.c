/* check_record.c - the Redis record codec (base/record.h): round trips and strict
 * refusal of malformed text. */
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "base/record.h"

START_TEST(round_trip)
{
	struct arena *a = arena_new(0);
	struct record r, back;
	const char *odd = "back\\slash\nnew line = equals\xc3\xa9";
	char *text;

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(record_set(&r, "password_hash", "$argon2id$v=19$m=19456"), 0);
	ck_assert_int_eq(record_set(&r, "first_name", odd), 0);
	ck_assert_int_eq(record_set(&r, "empty", ""), 0);
	ck_assert_int_eq(record_set(&r, "skipped", NULL), 0);
	ck_assert_int_eq(record_set(&r, "empty", "replaced"), 0);
	text = record_encode(a, &r);
	ck_assert_str_eq(text, "password_hash=$argon2id$v=19$m=19456\n"
	                       "first_name=back\\\\slash\\nnew line = equals\xc3\xa9\n"
	                       "empty=replaced\n");
	ck_assert_int_eq(record_decode(a, text, strlen(text), &back), 0);
	ck_assert_uint_eq(back.n, 3);
	ck_assert_str_eq(record_get(&back, "password_hash"), "$argon2id$v=19$m=19456");
	ck_assert_str_eq(record_get(&back, "first_name"), odd);
	ck_assert_str_eq(record_get(&back, "empty"), "replaced");
	ck_assert_ptr_null(record_get(&back, "skipped"));
	arena_free(a);
}
END_TEST

START_TEST(empty_record)
{
	struct arena *a = arena_new(0);
	struct record r, back;

	memset(&r, 0, sizeof r);
	ck_assert_str_eq(record_encode(a, &r), "");
	ck_assert_int_eq(record_decode(a, "", 0, &back), 0);
	ck_assert_uint_eq(back.n, 0);
	arena_free(a);
}
END_TEST

static const char *const bad[] = {
    "a=1",   /* no final newline */
    "=1\n",  /* empty name */
    "A=1\n", /* name not [a-z0-9_] */
    "a b=1\n",
    "no equals\n",
    "a=\\x\n",        /* unknown escape */
    "a=trailing\\\n", /* escape cut by the line end */
    "a=1\na=2\n",     /* duplicate */
    "{\"json\":1}\n",
};

START_TEST(malformed_refused)
{
	struct arena *a = arena_new(0);
	struct record back;
	const char *t = bad[_i];

	ck_assert_int_eq(record_decode(a, t, strlen(t), &back), ERR_INVALID);
	arena_free(a);
}
END_TEST

START_TEST(embedded_nul_refused)
{
	struct arena *a = arena_new(0);
	struct record back;
	static const char t[] = "a=x\0y\n";

	ck_assert_int_eq(record_decode(a, t, sizeof t - 1, &back), ERR_INVALID);
	arena_free(a);
}
END_TEST

START_TEST(too_many_fields)
{
	struct arena *a = arena_new(0);
	struct record r, back;
	char text[RECORD_MAX_FIELDS * 8 + 16] = "";
	size_t used = 0;

	memset(&r, 0, sizeof r);
	for (int i = 0; i < RECORD_MAX_FIELDS; i++)
		ck_assert_int_eq(record_set(&r, arena_printf(a, "f%d", i), "v"), 0);
	ck_assert_int_eq(record_set(&r, "one_more", "v"), ERR_TOO_LARGE);
	for (int i = 0; i <= RECORD_MAX_FIELDS; i++)
		used += (size_t)snprintf(text + used, sizeof text - used, "f%d=v\n", i);
	ck_assert_int_eq(record_decode(a, text, strlen(text), &back), ERR_INVALID);
	arena_free(a);
}
END_TEST

Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, empty_record);
	tcase_add_loop_test(tc, malformed_refused, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, embedded_nul_refused);
	tcase_add_test(tc, too_many_fields);
	suite_add_tcase(s, tc);
	return s;
}
