/* api.h - what every handler sees: the worker's context, the request, the route table.
 *
 * Handlers have one signature, int handler(struct api_req *r), and return the HTTP
 * status they rendered. The dispatcher (dispatch.c) has already done 404/405, the body
 * limit, the content type, JSON parsing and authentication; a handler validates its
 * fields, calls the domain, and renders JSON or a problem with the helpers below.
 */
#ifndef MEDRIN_API_H
#define MEDRIN_API_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/config.h"
#include "http/http.h"
#include "http/router.h"
#include "http/json.h"

struct db;
struct rds;
struct token_keys;

/* Worker lifetime: made once by app_init, reused by every request. */
struct app {
	const struct config *cfg;
	struct db *db;
	struct rds *rds;
	struct token_keys *keys;   /* JWT signing/verification keys (security/token.h) */
	int hash_slots_fd;         /* per-host hashing limiter (security/password.h), -1: none */
};

/* The authenticated caller, filled by api_authenticate for ROUTE_AUTH routes. */
struct api_auth {
	int ok;
	const char *user_id;   /* uuid text */
	const char *sid;       /* session id */
	const char *jti;
	const char *role;      /* user | staff | admin */
	int64_t exp;           /* access token expiry, unix seconds */
	const char *user_json; /* the caller's cached user object (domain/users.h), or NULL */
};

struct route;

struct api_req {
	struct app *app;
	struct arena *arena;
	const struct http_req *http;
	struct http_resp *resp;
	const struct route *route;
	struct router_match match;
	json_object *body;     /* ROUTE_JSON: the parsed body, or an empty object if none */
	struct api_auth auth;
};

typedef int route_fn(struct api_req *r);

enum route_flags {
	ROUTE_JSON = 1 << 0,   /* a body, when present, must be application/json and parse */
	ROUTE_AUTH = 1 << 1,   /* a valid access token is required (401 otherwise) */
	ROUTE_STAFF = 1 << 2,  /* with ROUTE_AUTH: role staff or admin (403 otherwise) */
	ROUTE_ADMIN = 1 << 3,  /* with ROUTE_AUTH: role admin (403 otherwise) */
	ROUTE_TEST = 1 << 4    /* exists only when MEDRIN_TEST_ROUTES=1 (never in production) */
};

#define ROUTE_DEFAULT_MAX_BODY (64u * 1024u)

struct route {
	struct router_entry e;  /* method, pattern: first, so router_match walks the table */
	route_fn *handler;
	unsigned flags;
	size_t max_body;        /* 0: ROUTE_DEFAULT_MAX_BODY */
	const char *name;       /* for logs and metrics: "auth_register" */
};

/* The one route table (routes.c). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

/* --- helpers for handlers (dispatch.c) --- */

/* Every helper below renders into r->resp (arena memory) and never fails: an output
 * that cannot be built becomes a 500 problem. They return the status the handler
 * returns. */

/* Renders a problem and returns status. */
int api_problem(struct api_req *r, int status, const char *code, const char *detail);
/* 422 with every collected error (field path + message, in the "errors" member); code
 * unknown_field if any field was unknown, else validation_failed. */
int api_invalid(struct api_req *r, const struct json_errors *errs);
/* Maps an ERR_* code to its problem: ERR_UNAVAILABLE 503 dependency_unavailable
 * (+Retry-After: 1), ERR_NOT_FOUND 404 not_found, ERR_CONFLICT 409 conflict, ERR_DENIED
 * 403 forbidden, ERR_UNAUTHORIZED 401 unauthorized (+WWW-Authenticate: Bearer),
 * ERR_LIMITED 429 rate_limited (a Retry-After the handler set is kept), ERR_TOO_LARGE 413
 * body_too_large, ERR_INVALID 422 validation_failed, anything else 500 internal (logged
 * with the route name and the error's name, nothing else). */
int api_error(struct api_req *r, int err);
/* Serialises obj as the response body (application/json) and returns status (500 when
 * the body would exceed HTTP_RESP_LIMIT). obj stays the caller's. */
int api_json(struct api_req *r, int status, json_object *obj);
/* Like api_json with an already serialised JSON text (a cached object). */
int api_json_text(struct api_req *r, int status, const char *json);
/* 204/202-style response with no body. */
int api_empty(struct api_req *r, int status);
/* Adds (or replaces) a response header; name and value are copied. */
void api_header(struct api_req *r, const char *name, const char *value);
/* Path parameter of the matched route (percent-decoded, arena), or NULL. */
const char *api_param(const struct api_req *r, const char *name);
/* Decoded query parameter (first occurrence, '+' as space, arena), or NULL. */
const char *api_query(struct api_req *r, const char *name);

/* --- handlers (one per route; the route table names them) --- */

/* ops.c */
int ops_health(struct api_req *r);    /* 200 {"status":"ok"}, no I/O */
int ops_ready(struct api_req *r);     /* 200, or 503 not_ready naming the failed dependency */
int ops_metrics(struct api_req *r);   /* Prometheus text exposition */
/* testing.c (ROUTE_TEST: only with MEDRIN_TEST_ROUTES=1) */
int testing_sleep(struct api_req *r); /* GET /_test/sleep?ms=N */
int testing_echo(struct api_req *r);  /* POST /_test/echo */

/* auth.c: the Accounts endpoints under /api/v1/auth (docs/internals/auth.md).
 * auth_module_init (from app_init, after db and rds exist) registers the users, tasks and
 * audit statements and the OTP and session scripts, loads the token keys into app->keys
 * and opens the hashing limiter into app->hash_slots_fd; ERR_INVALID when the keys cannot
 * be loaded. auth_module_close releases both (from app_close). */
int auth_module_init(struct app *app) MUSTCHECK;
void auth_module_close(struct app *app);
int api_auth_register(struct api_req *r);
int api_auth_verify_otp(struct api_req *r);
int api_auth_resend_otp(struct api_req *r);
int api_auth_login(struct api_req *r);
int api_auth_refresh(struct api_req *r);
int api_auth_logout(struct api_req *r);
int api_auth_logout_all(struct api_req *r);
int api_auth_sessions_list(struct api_req *r);
int api_auth_sessions_delete(struct api_req *r);
int api_auth_forget_password(struct api_req *r);
int api_auth_reset_password(struct api_req *r);
int api_auth_me(struct api_req *r);

/* Authentication (auth.c): checks the Bearer / x-access-token access token and fills
 * r->auth (r->auth.ok = 1 on success: the dispatcher requires both ERR_OK and ok).
 * Returns ERR_OK, ERR_UNAUTHORIZED or ERR_UNAVAILABLE (Redis down: fail closed); the
 * dispatcher renders 401 (+WWW-Authenticate: Bearer) / 503 and checks ROUTE_STAFF /
 * ROUTE_ADMIN against r->auth.role itself. */
int api_authenticate(struct api_req *r) MUSTCHECK;

#endif
