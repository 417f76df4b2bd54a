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

#include "domain/ctx.h"

/* Worker lifetime: made once by app_init (services_open), reused by every request. */
struct app {
	const struct config *cfg;
	struct services svc;
};

struct route;

/* One request. The dispatcher builds ctx once (services, arena, client address and user
 * agent; the actor after authentication) and every handler passes it to the domain. */
struct api_req {
	struct arena *arena;
	const struct http_req *http;
	struct http_resp *resp;
	const struct route *route;
	struct router_match match;
	json_object *body; /* ROUTE_JSON: the parsed body, or an empty object if none */
	struct ctx ctx;
};

typedef int route_fn(struct api_req *r);

enum route_flags {
	ROUTE_JSON = 1 << 0,  /* a body, when present, must be application/json and parse */
	ROUTE_AUTH = 1 << 1,  /* a valid access token is required (401 otherwise) */
	ROUTE_STAFF = 1 << 2, /* with ROUTE_AUTH: role staff or admin (403 otherwise) */
	ROUTE_ADMIN = 1 << 3, /* with ROUTE_AUTH: role admin (403 otherwise) */
	ROUTE_TEST = 1 << 4   /* exists only when MEDRIN_TEST_ROUTES=1 (never in production) */
};

#define ROUTE_DEFAULT_MAX_BODY (64u * 1024u)

struct route {
	struct router_entry e; /* method, pattern: first, so router_match walks the table */
	route_fn *handler;
	unsigned flags;
	size_t max_body;  /* 0: ROUTE_DEFAULT_MAX_BODY */
	const char *name; /* for logs and metrics: "auth_register" */
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
/* api_outcome is the one map from a domain outcome to its problem: the error code err
 * plus r->ctx.why (code, detail, field, retry_after, attempts_remaining; see
 * domain/ctx.h). The status comes from err (ERR_INVALID 422, ERR_NOT_FOUND 404,
 * ERR_CONFLICT 409, ERR_DENIED 403, ERR_UNAUTHORIZED 401 + WWW-Authenticate: Bearer,
 * ERR_LIMITED 429, ERR_UNAVAILABLE 503 dependency_unavailable, ERR_BUSY 503 server_busy,
 * ERR_TOO_LARGE 413, anything else 500 internal, logged with the route and the error's
 * name) except for the few codes whose status differs (otp_invalid: 400). Every 429 and
 * 503 carries Retry-After (why.retry_after, else 1). */
int api_outcome(struct api_req *r, int err);
/* api_error is api_outcome for an error with no outcome of its own (why is cleared). */
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
int ops_health(struct api_req *r);  /* 200 {"status":"ok"}, no I/O */
int ops_ready(struct api_req *r);   /* 200, or 503 not_ready naming the failed dependency */
int ops_metrics(struct api_req *r); /* Prometheus text exposition */
/* testing.c (ROUTE_TEST: only with MEDRIN_TEST_ROUTES=1) */
int testing_sleep(struct api_req *r); /* GET /_test/sleep?ms=N */
int testing_echo(struct api_req *r);  /* POST /_test/echo */
int testing_staff(struct api_req *r); /* GET /_test/staff (staff and admin only) */

/* auth.c: the Accounts endpoints under /api/v1/auth (docs/internals/auth.md); each
 * calls one function of domain/accounts.h. */
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

/* users.c: api.md "Users" (domain/users_manage.h). */
int api_users_me_get(struct api_req *r);
int api_users_me_update(struct api_req *r); /* PUT and PATCH */
int api_users_me_delete(struct api_req *r);
int api_users_me_password(struct api_req *r);
int api_users_me_verify_email(struct api_req *r);
int api_auth_confirm(struct api_req *r);
int api_users_list(struct api_req *r);
int api_users_get(struct api_req *r);
int api_users_update(struct api_req *r);
int api_users_delete(struct api_req *r);

/* profiles.c: api.md "Profiles" (domain/profiles.h). */
int api_jobseekers_create(struct api_req *r);
int api_jobseekers_me_get(struct api_req *r);
int api_jobseekers_me_update(struct api_req *r);
int api_jobseekers_get(struct api_req *r);
int api_employers_create(struct api_req *r);
int api_employers_list(struct api_req *r);
int api_employers_me_get(struct api_req *r);
int api_employers_me_update(struct api_req *r);
int api_employers_get(struct api_req *r);

/* oidc.c: sign-in with OpenID Connect; each calls one function of domain/oidc.h. */
int api_oidc_start(struct api_req *r);    /* GET /auth/oidc/{provider}/start: 302 */
int api_oidc_callback(struct api_req *r); /* GET /auth/oidc/{provider}/callback: 302 */
int api_oidc_exchange(struct api_req *r); /* POST /auth/oidc/exchange: token pair */
int api_oidc_unlink(struct api_req *r);   /* DELETE /users/me/identities/{provider} */
/* resumes.c: the Resumes endpoints (domain/resumes.h). */
int api_resumes_list(struct api_req *r);
int api_resumes_create(struct api_req *r);
int api_resumes_get(struct api_req *r);
int api_resumes_replace(struct api_req *r);
int api_resumes_patch(struct api_req *r);
int api_resumes_delete(struct api_req *r);
int api_resumes_compile(struct api_req *r);
int api_resumes_rating(struct api_req *r);
int api_resumes_pdf(struct api_req *r);
/* tasks.c: GET /tasks/{id} (owner only). */
int api_tasks_get(struct api_req *r);
/* jobs.c: the job-application tracker (/jobs, /jobs/{id}/notes, /notes/{id}); each
 * calls one function of domain/jobs.h. */
int api_jobs_list(struct api_req *r);
int api_jobs_create(struct api_req *r);
int api_jobs_stats(struct api_req *r);
int api_jobs_get(struct api_req *r);
int api_jobs_replace(struct api_req *r);
int api_jobs_update(struct api_req *r);
int api_jobs_delete(struct api_req *r);
int api_jobs_notes_list(struct api_req *r);
int api_jobs_notes_create(struct api_req *r);
int api_notes_update(struct api_req *r);
int api_notes_delete(struct api_req *r);
struct job_patch;
struct note_input;
struct jobs_query;
/* The job and note input rules, shared with GraphQL's mutations (lib/api/graphql_schema.c
 * builds the REST body from its input objects): body is validated as POST/PUT
 * (required) or PATCH would validate it, problems appended to errs (field names as in
 * REST: "company_name", "salary.currency"). ERR_OK or ERR_INVALID. */
int api_jobs_parse_job(struct api_req *r, json_object *body, int required, struct job_patch *p,
                       struct json_errors *errs) MUSTCHECK;
int api_jobs_parse_note(struct api_req *r, json_object *body, int create, struct note_input *in,
                        struct json_errors *errs) MUSTCHECK;
/* The list's q and cursor rules (limit is the caller's: ?limit= or first). */
void api_jobs_check_query(struct api_req *r, const struct jobs_query *q, struct json_errors *errs);
/* graphql.c: GraphQL over HTTP (GET queries, POST everything); docs/internals/graphql.md.
 * Anonymous requests are taken: fields that need a token say so per field. */
int api_graphql(struct api_req *r);

/* credentials.c: what the transport carries. api_authenticate reads the access token
 * ("Authorization: Bearer …", or x-access-token for older clients) and has the domain
 * check it (accounts_authenticate fills r->ctx.actor). ERR_OK, ERR_UNAUTHORIZED or
 * ERR_UNAVAILABLE (Redis down: fail closed); the dispatcher renders 401 / 503 and checks
 * ROUTE_STAFF / ROUTE_ADMIN against r->ctx.actor.role (the session's role). */
int api_authenticate(struct api_req *r) MUSTCHECK;
/* api_basic_credentials decodes "Authorization: Basic base64(email:password)" into arena
 * strings (the email normalised). ERR_NOT_FOUND when there is none, ERR_INVALID when it
 * is malformed. */
int api_basic_credentials(struct api_req *r, const char **email, const char **password) MUSTCHECK;
/* api_basic_decode is the pure part of api_basic_credentials: the Authorization header's
 * text (NULL: none) in, the same outcomes (tests/fuzz/fuzz_basic.c drives it). */
int api_basic_decode(struct arena *a, const char *header, const char **email,
                     const char **password) MUSTCHECK;

#endif
