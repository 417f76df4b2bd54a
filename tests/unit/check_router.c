/* check_router.c - router: parameters, literal priority, 405 Allow, HEAD, trailing
 * slash, percent-decoding, bad segments, no allocation on the non-matching walk. */
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "http/router.h"

/* A wider element than router_entry, like the api layer's struct route. */
struct row {
	struct router_entry e;
	int tag;
};

static const struct row table[] = {
    {{"GET", "/api/v1/jobs"}, 0},
    {{"POST", "/api/v1/jobs"}, 1},
    {{"GET", "/api/v1/jobs/{id}"}, 2},
    {{"PUT", "/api/v1/jobs/{id}"}, 3},
    {{"DELETE", "/api/v1/jobs/{id}"}, 4},
    {{"GET", "/api/v1/jobs/stats"}, 5}, /* after {id} on purpose */
    {{"GET", "/api/v1/jobs/{id}/notes/{note_id}"}, 6},
    {{"POST", "/api/v1/items/{id}"}, 7},
    {{"HEAD", "/api/v1/ping"}, 8},
    {{"GET", "/api/v1/ping"}, 9},
    {{"GET", "/"}, 10},
};
#define N (sizeof(table) / sizeof(table[0]))

static struct arena *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

static enum router_result match(const char *method, const char *path, struct router_match *m)
{
	return router_match(table, N, sizeof(table[0]), method, path, a, m);
}

START_TEST(test_literal_route)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/jobs", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 0);
	ck_assert_uint_eq(m.nparams, 0);
	ck_assert_int_eq(match("POST", "/api/v1/jobs", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_int_eq(match("GET", "/", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 10);
}
END_TEST

START_TEST(test_params)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/jobs/abc-123", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_str_eq(m.names[0], "id");
	ck_assert_str_eq(router_param(&m, "id"), "abc-123");
	ck_assert_ptr_null(router_param(&m, "note_id"));

	ck_assert_int_eq(match("GET", "/api/v1/jobs/7/notes/9", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 6);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert_str_eq(router_param(&m, "id"), "7");
	ck_assert_str_eq(router_param(&m, "note_id"), "9");
}
END_TEST

START_TEST(test_literal_beats_param)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/jobs/stats", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 5);
	ck_assert_uint_eq(m.nparams, 0);
	/* The literal resource has only GET: DELETE is 405, not DELETE /jobs/{id}. */
	ck_assert_int_eq(match("DELETE", "/api/v1/jobs/stats", &m), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD");
}
END_TEST

START_TEST(test_method_not_allowed)
{
	struct router_match m;

	ck_assert_int_eq(match("PATCH", "/api/v1/jobs/1", &m), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, PUT, DELETE");
	ck_assert_int_eq(match("DELETE", "/api/v1/jobs", &m), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
	/* No GET: no HEAD in Allow, and HEAD itself is not allowed. */
	ck_assert_int_eq(match("GET", "/api/v1/items/1", &m), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "POST");
	ck_assert_int_eq(match("HEAD", "/api/v1/items/1", &m), ROUTER_METHOD_NOT_ALLOWED);
	/* Methods are case-sensitive. */
	ck_assert_int_eq(match("get", "/api/v1/jobs", &m), ROUTER_METHOD_NOT_ALLOWED);
}
END_TEST

START_TEST(test_head)
{
	struct router_match m;

	ck_assert_int_eq(match("HEAD", "/api/v1/jobs/1", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_str_eq(router_param(&m, "id"), "1");
	/* An explicit HEAD entry wins over the GET one, whatever the order. */
	ck_assert_int_eq(match("HEAD", "/api/v1/ping", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 8);
}
END_TEST

START_TEST(test_trailing_slash)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/jobs/", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 0);
	ck_assert_int_eq(match("GET", "/api/v1/jobs/5/", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_str_eq(router_param(&m, "id"), "5");
	/* Only one trailing slash is insignificant; an empty segment is not a parameter. */
	ck_assert_int_eq(match("GET", "/api/v1/jobs//", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/v1/jobs//notes/1", &m), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(test_not_found)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/nope", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/v1/jobs/1/extra", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/v1", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "api/v1/jobs", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/v1/jobsx", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/API/v1/jobs", &m), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(test_percent_decoding)
{
	struct router_match m;

	ck_assert_int_eq(match("GET", "/api/v1/jobs/a%20b", &m), ROUTER_MATCH);
	ck_assert_str_eq(router_param(&m, "id"), "a b");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/%C3%a9t%C3%A9", &m), ROUTER_MATCH);
	ck_assert_str_eq(router_param(&m, "id"), "\xc3\xa9t\xc3\xa9");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/a+b", &m), ROUTER_MATCH);
	ck_assert_str_eq(router_param(&m, "id"), "a+b"); /* '+' is not a space in a path */
	ck_assert_int_eq(match("GET", "/api/v1/jobs/...", &m), ROUTER_MATCH);
	ck_assert_str_eq(router_param(&m, "id"), "...");
	/* An encoded literal is still a parameter value, not the literal route. */
	ck_assert_int_eq(match("GET", "/api/v1/jobs/st%61ts", &m), ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_str_eq(router_param(&m, "id"), "stats");
}
END_TEST

START_TEST(test_bad_segments)
{
	static const char *const bad[] = {
	    "/api/v1/jobs/a%2Fb",       "/api/v1/jobs/a%2fb",  "/api/v1/jobs/a%00b",
	    "/api/v1/jobs/%2e",         "/api/v1/jobs/%2E%2e", "/api/v1/jobs/..",
	    "/api/v1/jobs/.",           "/api/v1/jobs/%zz",    "/api/v1/jobs/ab%4",
	    "/api/v1/jobs/%",           "/api/v1/jobs/%FF",    "/api/v1/jobs/%C0%AF",
	    "/api/v1/jobs/1/notes/%2F",
	};
	struct router_match m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(match("GET", bad[i], &m) == ROUTER_NOT_FOUND, "%s should be 404",
		              bad[i]);
		ck_assert_uint_eq(m.nparams, 0);
	}
}
END_TEST

START_TEST(test_no_allocation_without_match)
{
	struct router_match m;
	size_t before = arena_used(a);

	ck_assert_int_eq(match("GET", "/api/v1/nothing/here", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("PATCH", "/api/v1/jobs/42", &m), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_int_eq(match("GET", "/api/v1/jobs", &m), ROUTER_MATCH);
	ck_assert_uint_eq(arena_used(a), before);
	ck_assert_int_eq(match("GET", "/api/v1/jobs/42", &m), ROUTER_MATCH);
	ck_assert_uint_gt(arena_used(a), before);
}
END_TEST

static int skip_stats(const void *entry, void *ctx)
{
	const struct row *r = entry;

	ck_assert_ptr_eq(ctx, &table);
	return r->tag == 5 || r->tag == 8;
}

START_TEST(test_filter)
{
	struct router_match m;

	/* With the literal route filtered out, the parameter route takes the path. */
	ck_assert_int_eq(router_match_filter(table, N, sizeof(table[0]), "GET",
	                                     "/api/v1/jobs/stats", a, &m, skip_stats,
	                                     (void *)&table),
	                 ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_str_eq(router_param(&m, "id"), "stats");
	/* A skipped HEAD entry leaves HEAD to the GET one. */
	ck_assert_int_eq(router_match_filter(table, N, sizeof(table[0]), "HEAD", "/api/v1/ping", a,
	                                     &m, skip_stats, (void *)&table),
	                 ROUTER_MATCH);
	ck_assert_uint_eq(m.index, 9);
}
END_TEST

START_TEST(test_too_many_params_never_match)
{
	static const struct router_entry wide[] = {
	    {"GET", "/{a}/{b}/{c}/{d}/{e}"},
	    {"GET", "/{a}/{b}/{c}/{d}"},
	};
	struct router_match m;

	ck_assert_int_eq(router_match(wide, 2, sizeof(wide[0]), "GET", "/1/2/3/4/5", a, &m),
	                 ROUTER_NOT_FOUND);
	ck_assert_int_eq(router_match(wide, 2, sizeof(wide[0]), "GET", "/1/2/3/4", a, &m),
	                 ROUTER_MATCH);
	ck_assert_uint_eq(m.nparams, 4);
	ck_assert_str_eq(router_param(&m, "d"), "4");
}
END_TEST

Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_literal_route);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_literal_beats_param);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_percent_decoding);
	tcase_add_test(tc, test_bad_segments);
	tcase_add_test(tc, test_no_allocation_without_match);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_too_many_params_never_match);
	suite_add_tcase(s, tc);
	return s;
}
