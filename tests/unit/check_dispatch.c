/* check_dispatch.c - the pipeline through dispatch() with a small table of fake
 * handlers and no app_init (no PostgreSQL, no Redis): 404, 405 + Allow, 413 before
 * anything else, 415, 400, 422 for a non-object, empty body -> {}, the test-route gate,
 * authentication (the stand-in api_authenticate refuses everyone), generic problems,
 * HEAD, Cache-Control. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "suites.h"
#include "base/arena.h"
#include "base/log.h"
#include "api/dispatch.h"

static int calls;

static int h_ok(struct api_req *r)
{
	json_object *o = json_new_object(r->arena);

	calls++;
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return api_json(r, 200, o);
}

static int h_echo(struct api_req *r)
{
	calls++;
	return api_json(r, 200, r->body);
}

static int h_param(struct api_req *r)
{
	json_object *o = json_new_object(r->arena);
	const char *q = api_query(r, "q");

	calls++;
	json_object_object_add(o, "id", json_object_new_string(api_param(r, "id")));
	json_object_object_add(o, "q", q ? json_object_new_string(q) : NULL);
	return api_json(r, 201, o);
}

static int h_bare_conflict(struct api_req *r)
{
	(void)r;
	calls++;
	return 409;
}

static int h_unavailable(struct api_req *r)
{
	calls++;
	return api_error(r, ERR_UNAVAILABLE);
}

static int h_broken(struct api_req *r)
{
	calls++;
	return api_error(r, ERR_INTERNAL);
}

static int h_limited(struct api_req *r)
{
	calls++;
	return api_error(r, ERR_LIMITED);
}

static int h_limited_precise(struct api_req *r)
{
	calls++;
	r->ctx.why.retry_after = 42; /* what a domain call leaves for api_outcome */
	return api_outcome(r, ERR_LIMITED);
}

/* Domain outcomes: a wrong code (400, not 422, with attempts_remaining) and a saturated
 * server (503 server_busy), told apart from a blocked caller (429). */
static int h_otp_invalid(struct api_req *r)
{
	calls++;
	ctx_fail(&r->ctx, ERR_INVALID, "otp_invalid", "The code is wrong");
	r->ctx.why.attempts_remaining = 3;
	return api_outcome(r, ERR_INVALID);
}

static int h_busy(struct api_req *r)
{
	calls++;
	ctx_fail(&r->ctx, ERR_BUSY, "server_busy", "busy");
	r->ctx.why.retry_after = 2;
	return api_outcome(r, ERR_BUSY);
}

static int h_field_conflict(struct api_req *r)
{
	calls++;
	ctx_fail(&r->ctx, ERR_CONFLICT, "email_taken", "taken");
	r->ctx.why.field = "email";
	return api_outcome(r, ERR_CONFLICT);
}

static int h_no_content(struct api_req *r)
{
	calls++;
	return api_empty(r, 204);
}

static const struct route table[] = {
    {{"GET", "/t/ok"}, h_ok, 0, 0, "t_ok"},
    {{"DELETE", "/t/ok"}, h_ok, 0, 0, "t_ok_delete"},
    {{"POST", "/t/json"}, h_echo, ROUTE_JSON, 32, "t_json"},
    {{"GET", "/t/items/{id}"}, h_param, 0, 0, "t_item"},
    {{"GET", "/t/test"}, h_ok, ROUTE_TEST, 0, "t_test"},
    {{"GET", "/t/auth"}, h_ok, ROUTE_AUTH, 0, "t_auth"},
    {{"POST", "/t/admin"}, h_ok, ROUTE_AUTH | ROUTE_ADMIN | ROUTE_JSON, 0, "t_admin"},
    {{"GET", "/t/bare"}, h_bare_conflict, 0, 0, "t_bare"},
    {{"GET", "/t/down"}, h_unavailable, 0, 0, "t_down"},
    {{"GET", "/t/broken"}, h_broken, 0, 0, "t_broken"},
    {{"DELETE", "/t/gone"}, h_no_content, 0, 0, "t_gone"},
    {{"GET", "/t/limited"}, h_limited, 0, 0, "t_limited"},
    {{"GET", "/t/limited42"}, h_limited_precise, 0, 0, "t_limited42"},
    {{"GET", "/t/otp"}, h_otp_invalid, 0, 0, "t_otp"},
    {{"GET", "/t/busy"}, h_busy, 0, 0, "t_busy"},
    {{"GET", "/t/taken"}, h_field_conflict, 0, 0, "t_taken"},
};
#define N (sizeof(table) / sizeof(table[0]))

static struct arena *a;
static struct http_resp resp;
static json_object *parsed;

static void setup(void)
{
	a = arena_new(0);
	calls = 0;
	parsed = NULL;
	log_init("check_medrin", "error"); /* keep access lines out of the test output */
}

static void teardown(void)
{
	json_object_put(parsed);
	arena_free(a);
}

static void run_app(struct app *app, const char *method, const char *path, const char *ctype,
                    const char *body)
{
	struct http_req *req = arena_zalloc(a, sizeof(*req));

	req->arena = a;
	req->method = method;
	req->path = path;
	req->query = "";
	req->content_type = ctype;
	req->content_length = body ? (long)strlen(body) : -1;
	req->body = body;
	req->body_len = body ? strlen(body) : 0;
	dispatch(app, table, N, a, req, &resp);
}

static void run(const char *method, const char *path, const char *ctype, const char *body)
{
	run_app(NULL, method, path, ctype, body);
}

static const char *header(const char *name)
{
	for (int i = 0; i < resp.nheaders; i++)
		if (strcasecmp(resp.headers[i].name, name) == 0)
			return resp.headers[i].value;
	return NULL;
}

/* member returns a string member of the response body (parsed once per test). */
static const char *member(const char *name)
{
	json_object *v;

	if (parsed == NULL)
		parsed = json_tokener_parse(buf_str(&resp.body));
	ck_assert_ptr_nonnull(parsed);
	if (!json_object_object_get_ex(parsed, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static void assert_problem(int status, const char *code)
{
	ck_assert_int_eq(resp.status, status);
	ck_assert_str_eq(resp.content_type, "application/problem+json");
	ck_assert_str_eq(member("code"), code);
	ck_assert_int_eq(atoi(member("status")), status);
	ck_assert_str_eq(header("Cache-Control"), "no-store");
}

START_TEST(test_ok)
{
	run("GET", "/t/ok", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(buf_str(&resp.body), "{\"ok\":true}");
	ck_assert_str_eq(header("Cache-Control"), "no-store");
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_params_and_query)
{
	struct http_req req = {.arena = a,
	                       .method = "GET",
	                       .path = "/t/items/a%20b",
	                       .query = "x=1&q=hello+world%21",
	                       .content_length = -1};

	dispatch(NULL, table, N, a, &req, &resp);
	ck_assert_int_eq(resp.status, 201);
	ck_assert_str_eq(member("id"), "a b");
	ck_assert_str_eq(member("q"), "hello world!");
}
END_TEST

START_TEST(test_not_found)
{
	run("GET", "/t/nothing", NULL, NULL);
	assert_problem(404, "not_found");
	ck_assert_int_eq(calls, 0);
	run("GET", "/t/items/%2F", NULL, NULL);
	ck_assert_int_eq(resp.status, 404);
}
END_TEST

START_TEST(test_method_not_allowed)
{
	run("PUT", "/t/ok", "application/json", "{}");
	assert_problem(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow"), "GET, HEAD, DELETE");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_too_large_first)
{
	/* 33 bytes against a 32-byte limit: 413 even though the type and the JSON are bad. */
	run("POST", "/t/json", "text/plain", "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
	assert_problem(413, "body_too_large");
	ck_assert_int_eq(calls, 0);

	/* Each signal on its own: the transport's truncation flag, the body length, the
	 * declared Content-Length. */
	struct http_req req = {.arena = a,
	                       .method = "POST",
	                       .path = "/t/json",
	                       .query = "",
	                       .content_type = "application/json",
	                       .content_length = -1,
	                       .body = "{}",
	                       .body_len = 2,
	                       .body_truncated = 1};

	dispatch(NULL, table, N, a, &req, &resp);
	ck_assert_int_eq(resp.status, 413);
	req.body_truncated = 0;
	req.body = "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
	req.body_len = strlen(req.body);
	dispatch(NULL, table, N, a, &req, &resp);
	ck_assert_int_eq(resp.status, 413);
	req.body = "{}";
	req.body_len = 2;
	req.content_length = 33;
	dispatch(NULL, table, N, a, &req, &resp);
	ck_assert_int_eq(resp.status, 413);
	req.content_length = 32; /* at the limit is fine */
	dispatch(NULL, table, N, a, &req, &resp);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_unsupported_media_type)
{
	static const char *const bad[] = {"text/plain", "application/jsonx",
	                                  "application/x-www-form-urlencoded", "json", ""};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object_put(parsed);
		parsed = NULL;
		run("POST", "/t/json", bad[i], "{}");
		assert_problem(415, "unsupported_media_type");
	}
	json_object_put(parsed);
	parsed = NULL;
	run("POST", "/t/json", NULL, "{}");
	assert_problem(415, "unsupported_media_type");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_json_content_types_accepted)
{
	static const char *const good[] = {"application/json", "application/json; charset=utf-8",
	                                   "Application/JSON;charset=UTF-8",
	                                   "application/json ; x=y"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		run("POST", "/t/json", good[i], "{\"a\":1}");
		ck_assert_int_eq(resp.status, 200);
		ck_assert_str_eq(buf_str(&resp.body), "{\"a\":1}");
	}
	ck_assert_int_eq(calls, 4);
}
END_TEST

START_TEST(test_malformed_json)
{
	run("POST", "/t/json", "application/json", "{\"a\":1,}");
	assert_problem(400, "malformed_json");
	ck_assert_ptr_nonnull(strstr(member("detail"), "object keys must be strings"));
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_non_object_body)
{
	run("POST", "/t/json", "application/json", "[1,2]");
	assert_problem(422, "validation_failed");
	json_object *errs = json_object_object_get(parsed, "errors");

	ck_assert_int_eq(json_object_array_length(errs), 1);
	json_object *e0 = json_object_array_get_idx(errs, 0);

	ck_assert_str_eq(json_object_get_string(json_object_object_get(e0, "field")), "");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e0, "message")),
	                 "must be a JSON object");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_empty_body_is_empty_object)
{
	run("POST", "/t/json", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(buf_str(&resp.body), "{}");
	run("POST", "/t/json", NULL, "");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(buf_str(&resp.body), "{}");
}
END_TEST

START_TEST(test_test_route_gate)
{
	struct config cfg;
	struct app app;

	memset(&cfg, 0, sizeof(cfg));
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	app.svc.hash_slots = -1;

	run("GET", "/t/test", NULL, NULL);
	assert_problem(404, "not_found");
	json_object_put(parsed);
	parsed = NULL;
	run_app(&app, "POST", "/t/test", NULL, NULL); /* absent: 404, not 405 */
	assert_problem(404, "not_found");
	ck_assert_ptr_null(header("Allow"));
	ck_assert_int_eq(calls, 0);

	cfg.test_routes = 1;
	run_app(&app, "GET", "/t/test", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	run_app(&app, "POST", "/t/test", NULL, NULL);
	ck_assert_int_eq(resp.status, 405);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_auth_required)
{
	run("GET", "/t/auth", NULL, NULL);
	assert_problem(401, "unauthorized");
	ck_assert_str_eq(header("WWW-Authenticate"), "Bearer realm=\"medrin\"");
	json_object_put(parsed);
	parsed = NULL;
	run("POST", "/t/admin", "application/json", "{}");
	assert_problem(401, "unauthorized");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_generic_problem_for_bare_status)
{
	run("GET", "/t/bare", NULL, NULL);
	assert_problem(409, "conflict");
	ck_assert_str_eq(member("title"), "Conflict");
}
END_TEST

START_TEST(test_api_error_mapping)
{
	run("GET", "/t/down", NULL, NULL);
	assert_problem(503, "dependency_unavailable");
	ck_assert_str_eq(header("Retry-After"), "1");
	json_object_put(parsed);
	parsed = NULL;
	run("GET", "/t/broken", NULL, NULL);
	assert_problem(500, "internal");
}
END_TEST

/* api.md: 429 always comes with Retry-After; one the handler set is kept. */
START_TEST(test_limited_has_retry_after)
{
	run("GET", "/t/limited", NULL, NULL);
	assert_problem(429, "rate_limited");
	ck_assert_ptr_nonnull(header("Retry-After"));
	ck_assert_str_eq(header("Retry-After"), "1");
	json_object_put(parsed);
	parsed = NULL;
	run("GET", "/t/limited42", NULL, NULL);
	assert_problem(429, "rate_limited");
	ck_assert_str_eq(header("Retry-After"), "42");
}
END_TEST

/* api_outcome: the domain's outcome decides code, status, Retry-After and extensions. */
START_TEST(test_outcome_mapping)
{
	json_object *v = NULL;

	run("GET", "/t/otp", NULL, NULL);
	assert_problem(400, "otp_invalid");
	ck_assert_str_eq(member("detail"), "The code is wrong");
	ck_assert(json_object_object_get_ex(parsed, "attempts_remaining", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	ck_assert_ptr_null(header("Retry-After"));
	json_object_put(parsed);
	parsed = NULL;

	run("GET", "/t/busy", NULL, NULL);
	assert_problem(503, "server_busy");
	ck_assert_str_eq(header("Retry-After"), "2");
	ck_assert(!json_object_object_get_ex(parsed, "attempts_remaining", &v));
	json_object_put(parsed);
	parsed = NULL;

	run("GET", "/t/taken", NULL, NULL);
	assert_problem(409, "email_taken");
	ck_assert(json_object_object_get_ex(parsed, "errors", &v));
	ck_assert_str_eq(json_object_get_string(
	                     json_object_object_get(json_object_array_get_idx(v, 0), "field")),
	                 "email");
}
END_TEST

START_TEST(test_head_and_no_content)
{
	/* HEAD runs the GET handler; the body stays for the transport's Content-Length
	 * (fcgi/ sends the headers only). */
	run("HEAD", "/t/ok", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(buf_str(&resp.body), "{\"ok\":true}");
	ck_assert_int_eq(calls, 1);
	run("DELETE", "/t/gone", NULL, NULL);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_ptr_null(resp.content_type);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(header("Cache-Control"), "no-store");
}
END_TEST

START_TEST(test_api_invalid_codes)
{
	struct api_req r;
	struct json_errors e = {0};

	memset(&r, 0, sizeof(r));
	r.arena = a;
	r.resp = &resp;
	http_resp_init(&resp, a);
	json_errors_add(&e, a, "", "name", "is required");
	ck_assert_int_eq(api_invalid(&r, &e), 422);
	ck_assert_str_eq(member("code"), "validation_failed");
	json_object_put(parsed);
	parsed = NULL;
	json_errors_add(&e, a, "", "nmae", "unknown field");
	e.unknown = 1;
	ck_assert_int_eq(api_invalid(&r, &e), 422);
	ck_assert_str_eq(member("code"), "unknown_field");
	ck_assert_int_eq(json_object_array_length(json_object_object_get(parsed, "errors")), 2);
}
END_TEST

Suite *dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("pipeline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_params_and_query);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_too_large_first);
	tcase_add_test(tc, test_unsupported_media_type);
	tcase_add_test(tc, test_json_content_types_accepted);
	tcase_add_test(tc, test_malformed_json);
	tcase_add_test(tc, test_non_object_body);
	tcase_add_test(tc, test_empty_body_is_empty_object);
	tcase_add_test(tc, test_test_route_gate);
	tcase_add_test(tc, test_auth_required);
	tcase_add_test(tc, test_generic_problem_for_bare_status);
	tcase_add_test(tc, test_api_error_mapping);
	tcase_add_test(tc, test_limited_has_retry_after);
	tcase_add_test(tc, test_outcome_mapping);
	tcase_add_test(tc, test_head_and_no_content);
	tcase_add_test(tc, test_api_invalid_codes);
	suite_add_tcase(s, tc);
	return s;
}
