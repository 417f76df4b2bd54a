/* check_arena.c - alignment, large blocks, deferred releases (newest first, NULL
 * skipped, run by reset and by free), reuse after reset, wiping of secret allocations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "suites.h"
#include "base/arena.h"

static int order[8];
static int norder;

static void record(void *ptr)
{
	order[norder++] = *(int *)ptr;
}

START_TEST(test_alignment)
{
	struct arena *a = arena_new(0);

	for (size_t n = 1; n < 200; n += 7) {
		void *p = arena_alloc(a, n);

		ck_assert_msg(((uintptr_t)p % _Alignof(max_align_t)) == 0, "size %zu misaligned",
		              n);
		memset(p, 0xab, n);
	}
	ck_assert_ptr_nonnull(arena_alloc(a, 0));
	arena_free(a);
}
END_TEST

START_TEST(test_big_blocks)
{
	struct arena *a = arena_new(1024);
	char *small = arena_alloc(a, 16);
	size_t big = 256 * 1024;
	char *p = arena_alloc(a, big);

	/* Every byte of the big allocation is usable (ASan flags an overrun) and distinct
	 * from the small one. */
	memset(p, 'x', big);
	memset(small, 'y', 16);
	ck_assert_int_eq(p[0], 'x');
	ck_assert_int_eq(p[big - 1], 'x');
	ck_assert_int_eq(small[0], 'y');
	ck_assert_uint_ge(arena_used(a), big + 16);
	/* Small allocations keep working after an oversized one. */
	char *after = arena_alloc(a, 100);

	memset(after, 'z', 100);
	ck_assert_int_eq(p[big - 1], 'x');
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	arena_free(a);
}
END_TEST

START_TEST(test_zalloc_and_strings)
{
	struct arena *a = arena_new(64);
	unsigned char *z = arena_zalloc(a, 300);

	for (int i = 0; i < 300; i++)
		ck_assert_int_eq(z[i], 0);
	ck_assert_str_eq(arena_strdup(a, "hello"), "hello");
	ck_assert_str_eq(arena_strndup(a, "hello", 3), "hel");
	ck_assert_str_eq(arena_printf(a, "%s-%d", "n", 42), "n-42");
	char *longer = arena_printf(a, "%0500d", 7);

	ck_assert_uint_eq(strlen(longer), 500);
	ck_assert_int_eq(longer[499], '7');
	arena_free(a);
}
END_TEST

START_TEST(test_defer_newest_first)
{
	struct arena *a = arena_new(0);
	int one = 1, two = 2, three = 3;

	norder = 0;
	arena_defer(a, record, &one);
	arena_defer(a, record, NULL); /* not registered */
	arena_defer(a, record, &two);
	arena_defer(a, record, &three);
	ck_assert_int_eq(norder, 0);
	arena_reset(a);
	ck_assert_int_eq(norder, 3);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
	/* Released once: a second reset runs nothing. */
	arena_reset(a);
	ck_assert_int_eq(norder, 3);
	/* arena_free runs what is still registered. */
	arena_defer(a, record, &two);
	arena_free(a);
	ck_assert_int_eq(norder, 4);
	ck_assert_int_eq(order[3], 2);
}
END_TEST

START_TEST(test_reset_reuses)
{
	struct arena *a = arena_new(4096);
	void *p1 = arena_alloc(a, 100);

	ck_assert_uint_gt(arena_used(a), 0);
	for (int i = 0; i < 100; i++)
		(void)arena_alloc(a, 1000); /* spill into extra blocks */
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	void *p2 = arena_alloc(a, 100);

	ck_assert_ptr_eq(p1, p2);
	arena_free(a);
}
END_TEST

START_TEST(test_secret_wiped)
{
	struct arena *a = arena_new(0);
	/* Both live in the first block, which reset keeps: reading them afterwards reads
	 * memory the arena still owns. */
	unsigned char *plain = arena_alloc(a, 32);
	unsigned char *secret = arena_alloc_secret(a, 32);

	for (int i = 0; i < 32; i++)
		ck_assert_int_eq(secret[i], 0); /* zeroed when handed out */
	memset(plain, 'P', 32);
	memset(secret, 'S', 32);
	arena_reset(a);
	for (int i = 0; i < 32; i++)
		ck_assert_msg(secret[i] == 0, "secret byte %d not wiped", i);
	/* The wipe is targeted: ordinary memory is not cleared on reset. */
	ck_assert_int_eq(plain[0], 'P');
	arena_free(a);
}
END_TEST

Suite *arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("arena");

	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_big_blocks);
	tcase_add_test(tc, test_zalloc_and_strings);
	tcase_add_test(tc, test_defer_newest_first);
	tcase_add_test(tc, test_reset_reuses);
	tcase_add_test(tc, test_secret_wiped);
	suite_add_tcase(s, tc);
	return s;
}
