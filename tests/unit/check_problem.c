/* check_problem.c - RFC 9457 bodies (exact JSON, escaping, errors, extension members),
 * and the http.c model they sit on: reason phrases, header names, response headers. */
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "base/arena.h"
#include "http/http.h"
#include "http/problem.h"

static struct arena *a;
static struct http_resp resp;

static void setup(void)
{
	a = arena_new(0);
	http_resp_init(&resp, a);
}

static void teardown(void)
{
	arena_free(a);
}

START_TEST(test_exact_body)
{
	int st = problem_render(&resp, a, 404, "not_found", "No such job.", NULL, 0);

	ck_assert_int_eq(st, 404);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(resp.content_type, "application/problem+json");
	ck_assert_str_eq(buf_str(&resp.body),
	                 "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"
	                 "\"code\":\"not_found\",\"detail\":\"No such job.\"}");
}
END_TEST

START_TEST(test_errors_member)
{
	const struct problem_error e[] = {
	    {"email", "must be a valid email address"},
	    {"sections[1].title", "is required"},
	};

	problem_render(&resp, a, 422, "validation_failed", "Some fields are invalid.", e, 2);
	ck_assert_str_eq(
	    buf_str(&resp.body),
	    "{\"type\":\"about:blank\",\"title\":\"Unprocessable Content\",\"status\":422,"
	    "\"code\":\"validation_failed\",\"detail\":\"Some fields are invalid.\","
	    "\"errors\":[{\"field\":\"email\",\"message\":\"must be a valid email address\"},"
	    "{\"field\":\"sections[1].title\",\"message\":\"is required\"}]}");
}
END_TEST

START_TEST(test_escaping)
{
	const struct problem_error e[] = {{"we\"ird\\key", "line\nbreak\x01"}};

	problem_render(&resp, a, 400, "bad\"code", "say \"hi\"\t\\ </script>", e, 1);
	ck_assert_str_eq(
	    buf_str(&resp.body),
	    "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
	    "\"code\":\"bad\\\"code\",\"detail\":\"say \\\"hi\\\"\\t\\\\ </script>\","
	    "\"errors\":[{\"field\":\"we\\\"ird\\\\key\",\"message\":\"line\\nbreak\\u0001\"}]}");
}
END_TEST

START_TEST(test_no_detail_and_replaces_body)
{
	ck_assert_int_eq(buf_puts(&resp.body, "{\"old\":true}"), ERR_OK);
	resp.content_type = "application/json";
	problem_render(&resp, a, 413, "body_too_large", NULL, NULL, 0);
	ck_assert_str_eq(buf_str(&resp.body),
	                 "{\"type\":\"about:blank\",\"title\":\"Content Too Large\",\"status\":413,"
	                 "\"code\":\"body_too_large\"}");
	ck_assert_str_eq(resp.content_type, "application/problem+json");
}
END_TEST

START_TEST(test_extension_members)
{
	json_object *ext = json_object_new_object();
	json_object *checks = json_object_new_object();

	json_object_object_add(checks, "postgres", json_object_new_string("ok"));
	json_object_object_add(checks, "redis", json_object_new_string("down"));
	json_object_object_add(ext, "checks", checks);
	json_object_object_add(ext, "status", json_object_new_int(200)); /* standard: skipped */
	json_object_object_add(ext, "url", json_object_new_string("a/b"));
	problem_render_ext(&resp, a, 503, "not_ready", "redis is not answering", NULL, 0, ext);
	json_object_put(ext);
	ck_assert_str_eq(
	    buf_str(&resp.body),
	    "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
	    "\"code\":\"not_ready\",\"detail\":\"redis is not answering\","
	    "\"checks\":{\"postgres\":\"ok\",\"redis\":\"down\"},\"url\":\"a/b\"}");
}
END_TEST

START_TEST(test_reasons)
{
	ck_assert_str_eq(http_reason(200), "OK");
	ck_assert_str_eq(http_reason(422), "Unprocessable Content");
	ck_assert_str_eq(http_reason(413), "Content Too Large");
	ck_assert_str_eq(http_reason(429), "Too Many Requests");
	ck_assert_str_eq(http_reason(503), "Service Unavailable");
	ck_assert_str_eq(http_reason(299), "Unknown");
}
END_TEST

static const char *fake_getparam(void *ctx, const char *name)
{
	static const char *const kv[][2] = {
	    {"HTTP_AUTHORIZATION", "Bearer x"},
	    {"HTTP_X_REQUEST_ID", "req-1"},
	    {"CONTENT_LENGTH", "12"},
	    {"REQUEST_METHOD", "GET"},
	};

	(void)ctx;
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (strcmp(kv[i][0], name) == 0)
			return kv[i][1];
	return NULL;
}

START_TEST(test_header_names)
{
	struct http_req req = {.getparam = fake_getparam, .content_type = "application/json"};

	ck_assert_str_eq(http_header(&req, "Authorization"), "Bearer x");
	ck_assert_str_eq(http_header(&req, "authorization"), "Bearer x");
	ck_assert_str_eq(http_header(&req, "X-Request-Id"), "req-1");
	ck_assert_str_eq(http_header(&req, "Content-Length"), "12");
	ck_assert_str_eq(http_header(&req, "content-type"), "application/json");
	ck_assert_ptr_null(http_header(&req, "X-Missing"));
	ck_assert_ptr_null(http_header(&req, ""));
	ck_assert_str_eq(http_param(&req, "REQUEST_METHOD"), "GET");

	struct http_req bare = {0};

	ck_assert_ptr_null(http_param(&bare, "REQUEST_METHOD"));
	ck_assert_ptr_null(http_header(&bare, "Authorization"));
}
END_TEST

START_TEST(test_resp_headers)
{
	char name[16];

	http_resp_header(&resp, a, "Retry-After", "1");
	http_resp_header(&resp, a, "retry-after", "5");
	ck_assert_int_eq(resp.nheaders, 1);
	ck_assert_str_eq(resp.headers[0].value, "5");
	http_resp_header(&resp, a, "X-Bad", "a\r\nSet-Cookie: x=1");
	ck_assert_int_eq(resp.nheaders, 1);
	for (int i = 0; i < HTTP_MAX_HEADERS + 4; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		http_resp_header(&resp, a, name, "v");
	}
	ck_assert_int_eq(resp.nheaders, HTTP_MAX_HEADERS);
	ck_assert_str_eq(resp.headers[HTTP_MAX_HEADERS - 1].name, "X-H14");
}
END_TEST

START_TEST(test_method_names_and_utf8)
{
	ck_assert_str_eq(http_method_name("DELETE"), "DELETE");
	ck_assert_str_eq(http_method_name("delete"), "OTHER");
	ck_assert_str_eq(http_method_name("\"evil"), "OTHER");
	ck_assert_str_eq(http_method_name(NULL), "OTHER");
	ck_assert_int_eq(http_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10), 1);
	ck_assert_int_eq(http_utf8_valid("\xc3", 1), 0);
	ck_assert_int_eq(http_utf8_valid("\xc0\xaf", 2), 0);
	ck_assert_int_eq(http_utf8_valid("\xed\xa0\x80", 3), 0);
	ck_assert_int_eq(http_utf8_valid("\xf4\x90\x80\x80", 4), 0);
	ck_assert_int_eq(http_utf8_valid("\xe0\x80\xaf", 3), 0);
	ck_assert_int_eq(http_utf8_valid("\x80", 1), 0);
}
END_TEST

Suite *problem_suite(void)
{
	Suite *s = suite_create("problem");
	TCase *tc = tcase_create("problem");
	TCase *th = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exact_body);
	tcase_add_test(tc, test_errors_member);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_no_detail_and_replaces_body);
	tcase_add_test(tc, test_extension_members);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_reasons);
	tcase_add_test(th, test_header_names);
	tcase_add_test(th, test_resp_headers);
	tcase_add_test(th, test_method_names_and_utf8);
	suite_add_tcase(s, th);
	return s;
}
