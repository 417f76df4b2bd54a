/* check_jobs.c - the pure checks of the job tracker (domain/jobs.h): RFC 3339 with an
 * offset, http(s) URLs, one-line text, currencies, statuses, LIKE escaping. */
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "domain/jobs.h"

START_TEST(rfc3339)
{
	ck_assert(jobs_rfc3339_valid("2026-12-01T09:00:00Z"));
	ck_assert(jobs_rfc3339_valid("2026-12-01T09:00:00.123456Z"));
	ck_assert(jobs_rfc3339_valid("2026-12-01T09:00:00+02:00"));
	ck_assert(jobs_rfc3339_valid("2024-02-29T23:59:59-11:30"));
	ck_assert(!jobs_rfc3339_valid("2026-12-01T09:00:00"));      /* no offset */
	ck_assert(!jobs_rfc3339_valid("2026-12-01 09:00:00Z"));     /* no T */
	ck_assert(!jobs_rfc3339_valid("2025-02-29T09:00:00Z"));     /* not a leap year */
	ck_assert(!jobs_rfc3339_valid("2026-13-01T09:00:00Z"));     /* month */
	ck_assert(!jobs_rfc3339_valid("2026-12-01T24:00:00Z"));     /* hour */
	ck_assert(!jobs_rfc3339_valid("2026-12-01T09:00:00.Z"));    /* empty fraction */
	ck_assert(!jobs_rfc3339_valid("2026-12-01T09:00:00+0200")); /* offset without colon */
	ck_assert(!jobs_rfc3339_valid("2026-12-01T09:00:00Zjunk")); /* trailing */
	ck_assert(!jobs_rfc3339_valid("tomorrow"));
	ck_assert(!jobs_rfc3339_valid(NULL));
}
END_TEST

START_TEST(urls)
{
	ck_assert(jobs_url_valid("https://example.com/jobs/1?x=y"));
	ck_assert(jobs_url_valid("HTTP://example.com"));
	ck_assert(!jobs_url_valid("ftp://example.com"));
	ck_assert(!jobs_url_valid("javascript:alert(1)"));
	ck_assert(!jobs_url_valid("https://"));
	ck_assert(!jobs_url_valid("https:///path"));
	ck_assert(!jobs_url_valid("https://exa mple.com"));
	ck_assert(!jobs_url_valid("https://example.com/\n"));
	ck_assert(!jobs_url_valid("example.com"));
}
END_TEST

START_TEST(text_checks)
{
	struct arena *a = arena_new(0);

	ck_assert(jobs_single_line("Acme GmbH \xc3\xa9"));
	ck_assert(!jobs_single_line("Acme\r\nBcc: x"));
	ck_assert(!jobs_single_line("tab\there"));
	ck_assert(jobs_currency_valid("EUR"));
	ck_assert(!jobs_currency_valid("eur"));
	ck_assert(!jobs_currency_valid("EURO"));
	ck_assert_int_eq(jobs_status_index("wishlist"), 0);
	ck_assert_int_eq(jobs_status_index("withdrawn"), JOBS_NSTATUS - 1);
	ck_assert_int_eq(jobs_status_index("hired"), -1);
	ck_assert_str_eq(jobs_like_pattern(a, "50%_a\\b"), "%50\\%\\_a\\\\b%");
	arena_free(a);
}
END_TEST

Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("checks");

	tcase_add_test(tc, rfc3339);
	tcase_add_test(tc, urls);
	tcase_add_test(tc, text_checks);
	suite_add_tcase(s, tc);
	return s;
}
