/* dispatch.c - the request pipeline and the helpers handlers render with; see
 * dispatch.h and api.h.
 *
 * Order matters: the body limit is checked before anything looks at the body, the
 * content type before parsing, and parsing before authentication (so a token check is
 * never wasted on a body we refuse anyway). Every refusal is a problem+json response.
 */
#include "api/dispatch.h"
#include "security/password.h"

#include <string.h>
#include <strings.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "http/problem.h"
#include "base/config.h"

/* ---- helpers for handlers ---- */

int api_problem(struct api_req *r, int status, const char *code, const char *detail)
{
	/* RFC 9110: every 401 names its scheme. Bearer, never Basic: a Basic challenge would
	 * make browsers pop up a password dialog for an API. */
	if (status == 401)
		api_header(r, "WWW-Authenticate", "Bearer realm=\"medrin\"");
	return problem_render(r->resp, r->arena, status, code, detail, NULL, 0);
}

int api_invalid(struct api_req *r, const struct json_errors *errs)
{
	size_t n = errs->n < JSON_MAX_ERRORS ? errs->n : JSON_MAX_ERRORS;
	struct problem_error pe[JSON_MAX_ERRORS];

	for (size_t i = 0; i < n; i++) {
		pe[i].field = errs->e[i].field;
		pe[i].message = errs->e[i].message;
	}
	if (errs->unknown)
		return problem_render(r->resp, r->arena, 422, "unknown_field",
		                      "The request body has fields this endpoint does not accept.",
		                      pe, n);
	/* A new password on the common-password list (password_policy) has its own code. */
	for (size_t i = 0; i < n; i++)
		if (pe[i].message == password_too_common_message)
			return problem_render(r->resp, r->arena, 422, "password_too_common",
			                      "The password is on a list of common passwords.", pe,
			                      n);
	return problem_render(r->resp, r->arena, 422, "validation_failed",
	                      "Some fields are missing or invalid.", pe, n);
}

static const char *route_name(const struct api_req *r)
{
	return r->route != NULL && r->route->name != NULL ? r->route->name : "unmatched";
}

/* Codes whose status is not the one their error maps to. */
static const struct {
	const char *code;
	int status;
} code_status[] = {
    {"otp_invalid", 400}, /* api.md: a wrong or expired code is 400, not 422 */
    /* a forged, tampered, expired, used or superseded email confirmation link */
    {"confirm_invalid", 400},
    /* sign-in with OpenID Connect: a callback or code that can not be used is a bad
     * request, like a wrong OTP */
    {"oidc_state_invalid", 400},
    {"oidc_denied", 400},
    {"oidc_code_rejected", 400},
    {"exchange_code_invalid", 400},
};

static void retry_after(struct api_req *r, int64_t seconds)
{
	api_header(r, "Retry-After",
	           arena_printf(r->arena, "%lld", (long long)(seconds > 0 ? seconds : 1)));
}

int api_outcome(struct api_req *r, int err)
{
	const struct outcome *why = &r->ctx.why;
	const char *code, *detail;
	int status;

	switch (err) {
	case ERR_INVALID:
		status = 422, code = "validation_failed", detail = "The request is not valid.";
		break;
	case ERR_NOT_FOUND: status = 404, code = "not_found", detail = "No such object."; break;
	case ERR_CONFLICT:
		status = 409, code = "conflict",
		detail = "The request conflicts with the current state.";
		break;
	case ERR_DENIED:
		status = 403, code = "forbidden", detail = "You are not allowed to do this.";
		break;
	case ERR_UNAUTHORIZED:
		status = 401, code = "unauthorized", detail = "A valid access token is required.";
		break;
	case ERR_LIMITED:
		status = 429, code = "rate_limited", detail = "Too many requests; try again later.";
		break;
	case ERR_UNAVAILABLE:
		status = 503, code = "dependency_unavailable",
		detail = "A backing service is not answering; try again shortly.";
		break;
	case ERR_BUSY:
		status = 503, code = "server_busy",
		detail = "The server is busy, try again shortly.";
		break;
	case ERR_TOO_LARGE:
		status = 413, code = "body_too_large", detail = "The request is too large.";
		break;
	default:
		log_error("route %s failed: %s", route_name(r), err_name(err));
		return api_problem(r, 500, "internal", "Something went wrong on our side.");
	}
	if (why->code != NULL) {
		code = why->code;
		for (size_t i = 0; i < sizeof code_status / sizeof code_status[0]; i++)
			if (strcmp(code_status[i].code, code) == 0)
				status = code_status[i].status;
	}
	if (why->detail != NULL)
		detail = why->detail;
	if (status == 429 || status == 503)
		retry_after(r, why->retry_after);
	if (status == 401)
		api_header(r, "WWW-Authenticate", "Bearer realm=\"medrin\"");

	json_object *ext = NULL;
	struct problem_error fe = {why->field, detail};

	if (why->attempts_remaining >= 0) {
		ext = json_new_object(r->arena);
		json_object_object_add(ext, "attempts_remaining",
		                       json_object_new_int(why->attempts_remaining));
	}
	return problem_render_ext(r->resp, r->arena, status, code, detail,
	                          why->field != NULL ? &fe : NULL, why->field != NULL ? 1 : 0, ext);
}

int api_error(struct api_req *r, int err)
{
	ctx_fail(&r->ctx, err, NULL, NULL);
	return api_outcome(r, err);
}

/* json_done finishes a JSON body that was just written into the response (rc: how the
 * write went). */
static int json_done(struct api_req *r, int status, int rc)
{
	if (rc != ERR_OK) {
		log_error("route %s: response body does not fit", route_name(r));
		return api_problem(r, 500, "internal", "Something went wrong on our side.");
	}
	r->resp->status = status;
	r->resp->content_type = "application/json";
	return status;
}

int api_json(struct api_req *r, int status, json_object *obj)
{
	buf_reset(&r->resp->body);
	return json_done(r, status, json_to_buf(obj, &r->resp->body));
}

int api_json_text(struct api_req *r, int status, const char *json)
{
	buf_reset(&r->resp->body);
	return json_done(r, status, buf_puts(&r->resp->body, json));
}

int api_empty(struct api_req *r, int status)
{
	buf_reset(&r->resp->body);
	r->resp->content_type = NULL;
	r->resp->status = status;
	return status;
}

void api_header(struct api_req *r, const char *name, const char *value)
{
	http_resp_header(r->resp, r->arena, name, value);
}

const char *api_param(const struct api_req *r, const char *name)
{
	return router_param(&r->match, name);
}

const char *api_query(struct api_req *r, const char *name)
{
	const char *q = r->http->query;

	if (q == NULL || *q == '\0')
		return NULL;
	return util_query_param(r->arena, q, name);
}

/* ---- the pipeline ---- */

/* The code a generic problem gets when a handler returns an error status unrendered. */
static const char *generic_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "body_too_large";
	case 415: return "unsupported_media_type";
	case 422: return "validation_failed";
	case 429: return "rate_limited";
	case 503: return "dependency_unavailable";
	}
	return status >= 500 ? "internal" : "error";
}

/* Content-Type must be application/json; parameters (charset) allowed, any case. */
static int is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static int skip_test_route(const void *entry, void *ctx)
{
	const struct route *rt = entry;

	(void)ctx;
	return (rt->flags & ROUTE_TEST) != 0;
}

static int role_allows(const struct route *rt, const char *role)
{
	if (role == NULL)
		return 0;
	if (rt->flags & ROUTE_ADMIN)
		return strcmp(role, "admin") == 0;
	if (rt->flags & ROUTE_STAFF)
		return strcmp(role, "staff") == 0 || strcmp(role, "admin") == 0;
	return 1;
}

/* ---- CORS (MEDRIN_CORS_ORIGINS; docs/api.md "Browsers and CORS") ----
 *
 * Done here, not in nginx, so the allow-list is configuration like every other setting
 * (reloaded on SIGHUP) and one place decides. An origin is allowed only when it equals an
 * item of the list exactly (scheme, host and port; config.c refuses "*" and paths). An
 * allowed origin gets itself back in Access-Control-Allow-Origin, never "*"; no
 * Access-Control-Allow-Credentials is sent (the API authenticates with the Authorization
 * header, not cookies). Preflights (OPTIONS + Access-Control-Request-Method) of a known
 * path answer 204 with the path's methods, Authorization and Content-Type, and a Max-Age;
 * from any other origin 403 cors_origin_not_allowed with no CORS header, so the browser
 * blocks the call. An empty list: no CORS header at all, OPTIONS is a 405 as before. */

#define CORS_MAX_AGE "600"

static int cors_on(const struct api_req *r)
{
	const struct config *cfg = r->ctx.cfg;

	return cfg != NULL && cfg->cors_origins != NULL &&
	       cfg->cors_origins[strspn(cfg->cors_origins, ", \t")] != '\0';
}

static int cors_allowed(const struct api_req *r, const char *origin)
{
	const char *p = r->ctx.cfg->cors_origins;
	size_t olen;

	if (origin == NULL || *origin == '\0')
		return 0;
	olen = strlen(origin);
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (len == olen && strncasecmp(p, origin, len) == 0)
			return 1;
		p += len;
	}
	return 0;
}

static int is_preflight(const struct http_req *req)
{
	return req->method != NULL && strcmp(req->method, "OPTIONS") == 0 &&
	       http_header(req, "Origin") != NULL &&
	       http_header(req, "Access-Control-Request-Method") != NULL;
}

static int preflight(struct api_req *r)
{
	if (!cors_allowed(r, http_header(r->http, "Origin")))
		return api_problem(
		    r, 403, "cors_origin_not_allowed",
		    "This origin is not allowed to call the API (MEDRIN_CORS_ORIGINS).");
	api_header(r, "Access-Control-Allow-Methods", r->match.allow);
	api_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
	api_header(r, "Access-Control-Max-Age", CORS_MAX_AGE);
	return api_empty(r, 204);
}

/* run: everything between the transport and the access log; returns the status. */
static int run(struct api_req *r, const struct route *table, size_t n)
{
	const struct http_req *req = r->http;
	int test_routes = r->ctx.cfg != NULL && r->ctx.cfg->test_routes;
	enum router_result m =
	    router_match_filter(table, n, sizeof(table[0]), req->method, req->path, r->arena,
	                        &r->match, test_routes ? NULL : skip_test_route, NULL);

	if (m == ROUTER_NOT_FOUND)
		return api_problem(r, 404, "not_found", "No endpoint has this path.");
	if (m == ROUTER_METHOD_NOT_ALLOWED && cors_on(r) && is_preflight(req))
		return preflight(r);
	if (m == ROUTER_METHOD_NOT_ALLOWED) {
		api_header(r, "Allow", r->match.allow);
		return api_problem(r, 405, "method_not_allowed",
		                   "This endpoint does not support this method; see Allow.");
	}
	r->route = &table[r->match.index];

	const struct route *rt = r->route;
	size_t max_body = rt->max_body ? rt->max_body : ROUTE_DEFAULT_MAX_BODY;

	if (req->body_truncated || req->body_len > max_body ||
	    (req->content_length > 0 && (unsigned long)req->content_length > max_body))
		return api_problem(
		    r, 413, "body_too_large",
		    arena_printf(r->arena, "The body may be at most %zu bytes.", max_body));
	if (rt->flags & ROUTE_JSON) {
		if (req->body != NULL && req->body_len > 0) {
			const char *why = NULL;
			json_object *body = NULL;

			if (!is_json_type(req->content_type))
				return api_problem(
				    r, 415, "unsupported_media_type",
				    "The body must be JSON (Content-Type: application/json).");
			if (json_parse(r->arena, req->body, req->body_len, &body, &why) != ERR_OK)
				return api_problem(
				    r, 400, "malformed_json",
				    arena_printf(r->arena, "The body is not valid JSON: %s.",
				                 why != NULL ? why : "invalid JSON"));
			if (!json_object_is_type(body, json_type_object)) {
				struct problem_error e = {"", "must be a JSON object"};

				return problem_render(r->resp, r->arena, 422, "validation_failed",
				                      "The body must be a JSON object.", &e, 1);
			}
			r->body = body;
		} else {
			r->body = json_new_object(r->arena);
		}
	}
	if (rt->flags & (ROUTE_AUTH | ROUTE_STAFF | ROUTE_ADMIN)) {
		int rc = api_authenticate(r);

		if (rc == ERR_UNAVAILABLE)
			return api_error(r, ERR_UNAVAILABLE);
		if (rc != ERR_OK || r->ctx.actor.user_id == NULL)
			return api_error(r, ERR_UNAUTHORIZED);
		if (!role_allows(rt, r->ctx.actor.role))
			return api_problem(r, 403, "forbidden", "Your role does not allow this.");
	}

	int status = rt->handler(r);

	if (status < 100 || status > 599) {
		log_error("route %s returned an invalid status %d", route_name(r), status);
		return api_problem(r, 500, "internal", "Something went wrong on our side.");
	}
	r->resp->status = status;
	if (status >= 400 && r->resp->content_type == NULL && r->resp->body.len == 0)
		problem_render(r->resp, r->arena, status, generic_code(status), NULL, NULL, 0);
	return status;
}

void dispatch(struct app *app, const struct route *table, size_t n, struct arena *a,
              const struct http_req *req, struct http_resp *resp)
{
	int64_t t0 = util_now_usec();
	struct api_req r;

	memset(&r, 0, sizeof(r));
	/* The request context, built once: the domain gets it from every handler. */
	ctx_init(&r.ctx, app != NULL ? &app->svc : NULL, a, req->remote_addr,
	         http_header(req, "User-Agent"));
	if (app != NULL)
		r.ctx.cfg = app->cfg;
	r.arena = a;
	r.http = req;
	r.resp = resp;
	http_resp_init(resp, a);
	http_resp_header(resp, a, "Cache-Control", "no-store");
	if (cors_on(&r)) {
		const char *origin = http_header(req, "Origin");

		http_resp_header(resp, a, "Vary", "Origin");
		if (cors_allowed(&r, origin)) {
			http_resp_header(resp, a, "Access-Control-Allow-Origin", origin);
			http_resp_header(resp, a, "Access-Control-Expose-Headers",
			                 "Retry-After, WWW-Authenticate, Location, X-Request-Id");
		}
	}

	int status = run(&r, table, n);

	/* HEAD keeps the GET body: the transport sends only the headers, with the
	 * Content-Length the GET would have had. */
	resp->status = status;

	long usec = (long)(util_now_usec() - t0);
	const char *method = r.route != NULL ? r.route->e.method : http_method_name(req->method);

	if (r.route != NULL && req->method != NULL && strcmp(req->method, "HEAD") == 0)
		method = "HEAD";
	metrics_request(r.route != NULL ? r.match.index : n, status, usec);
	log_access(method, route_name(&r), status, usec);
}
