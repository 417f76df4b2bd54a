/* routes.c - the one route table. Sorted by path (then method) for readers; the router
 * does not depend on the order (literal segments win over parameters anyway).
 *
 * Each row: {{method, pattern}, handler, flags, max_body (0: default 64 KiB), name}.
 * Names are module_action and appear in logs and metrics. Adding an endpoint: see
 * docs/internals/http.md. */
#include "api/api.h"

/* One row per route, as a table reads best (clang-format would break rows apart). */
/* clang-format off */
const struct route api_routes[] = {
	{ { "GET", "/api/v1/auth/confirm" }, api_auth_confirm, 0, 0, "auth_confirm" },
	{ { "POST", "/api/v1/auth/forget-password" }, api_auth_forget_password, ROUTE_JSON, 0,
	  "auth_forget_password" },
	{ { "POST", "/api/v1/auth/login" }, api_auth_login, ROUTE_JSON, 0, "auth_login" },
	{ { "POST", "/api/v1/auth/logout" }, api_auth_logout, ROUTE_AUTH, 0, "auth_logout" },
	{ { "POST", "/api/v1/auth/logout-all" }, api_auth_logout_all, ROUTE_AUTH, 0,
	  "auth_logout_all" },
	{ { "GET", "/api/v1/auth/me" }, api_auth_me, ROUTE_AUTH, 0, "auth_me" },
	{ { "POST", "/api/v1/auth/oidc/exchange" }, api_oidc_exchange, ROUTE_JSON, 0, "oidc_exchange" },
	{ { "GET", "/api/v1/auth/oidc/{provider}/callback" }, api_oidc_callback, 0, 0, "oidc_callback" },
	{ { "GET", "/api/v1/auth/oidc/{provider}/start" }, api_oidc_start, 0, 0, "oidc_start" },
	{ { "POST", "/api/v1/auth/refresh" }, api_auth_refresh, ROUTE_JSON, 0, "auth_refresh" },
	{ { "POST", "/api/v1/auth/register" }, api_auth_register, ROUTE_JSON, 0, "auth_register" },
	{ { "POST", "/api/v1/auth/resend-otp" }, api_auth_resend_otp, ROUTE_JSON, 0,
	  "auth_resend_otp" },
	{ { "POST", "/api/v1/auth/reset-password" }, api_auth_reset_password, ROUTE_JSON, 0,
	  "auth_reset_password" },
	{ { "GET", "/api/v1/auth/sessions" }, api_auth_sessions_list, ROUTE_AUTH, 0,
	  "auth_sessions_list" },
	{ { "DELETE", "/api/v1/auth/sessions/{id}" }, api_auth_sessions_delete, ROUTE_AUTH, 0,
	  "auth_sessions_delete" },
	{ { "POST", "/api/v1/auth/verify-otp" }, api_auth_verify_otp, ROUTE_JSON, 0,
	  "auth_verify_otp" },
	{ { "POST", "/api/v1/_test/echo" }, testing_echo, ROUTE_TEST | ROUTE_JSON, 0, "testing_echo" },
	{ { "GET", "/api/v1/_test/sleep" }, testing_sleep, ROUTE_TEST, 0, "testing_sleep" },
	{ { "GET", "/api/v1/_test/staff" }, testing_staff, ROUTE_TEST | ROUTE_AUTH | ROUTE_STAFF, 0,
	  "testing_staff" },
	{ { "GET", "/api/v1/employers" }, api_employers_list, ROUTE_AUTH, 0, "employers_list" },
	{ { "POST", "/api/v1/employers" }, api_employers_create, ROUTE_JSON | ROUTE_AUTH, 0,
	  "employers_create" },
	{ { "GET", "/api/v1/employers/me" }, api_employers_me_get, ROUTE_AUTH, 0, "employers_me_get" },
	{ { "PUT", "/api/v1/employers/me" }, api_employers_me_update, ROUTE_JSON | ROUTE_AUTH, 0,
	  "employers_me_update" },
	{ { "GET", "/api/v1/employers/{id}" }, api_employers_get, ROUTE_AUTH, 0, "employers_get" },
	{ { "GET", "/api/v1/health" }, ops_health, 0, 0, "ops_health" },
	{ { "POST", "/api/v1/jobseekers" }, api_jobseekers_create, ROUTE_JSON | ROUTE_AUTH, 0,
	  "jobseekers_create" },
	{ { "GET", "/api/v1/jobseekers/me" }, api_jobseekers_me_get, ROUTE_AUTH, 0,
	  "jobseekers_me_get" },
	{ { "PUT", "/api/v1/jobseekers/me" }, api_jobseekers_me_update, ROUTE_JSON | ROUTE_AUTH, 0,
	  "jobseekers_me_update" },
	{ { "GET", "/api/v1/jobseekers/{id}" }, api_jobseekers_get, ROUTE_AUTH, 0, "jobseekers_get" },
	{ { "GET", "/api/v1/metrics" }, ops_metrics, 0, 0, "ops_metrics" },
	{ { "GET", "/api/v1/ready" }, ops_ready, 0, 0, "ops_ready" },
	{ { "GET", "/api/v1/users" }, api_users_list, ROUTE_AUTH | ROUTE_STAFF, 0, "users_list" },
	{ { "DELETE", "/api/v1/users/me" }, api_users_me_delete, ROUTE_AUTH, 0, "users_me_delete" },
	{ { "GET", "/api/v1/users/me" }, api_users_me_get, ROUTE_AUTH, 0, "users_me_get" },
	{ { "PATCH", "/api/v1/users/me" }, api_users_me_update, ROUTE_JSON | ROUTE_AUTH, 0,
	  "users_me_patch" },
	{ { "PUT", "/api/v1/users/me" }, api_users_me_update, ROUTE_JSON | ROUTE_AUTH, 0,
	  "users_me_update" },
	{ { "DELETE", "/api/v1/users/me/identities/{provider}" }, api_oidc_unlink, ROUTE_AUTH, 0,
	  "oidc_unlink" },
	{ { "PUT", "/api/v1/users/me/password" }, api_users_me_password, ROUTE_JSON | ROUTE_AUTH, 0,
	  "users_me_password" },
	{ { "POST", "/api/v1/users/me/verify-email" }, api_users_me_verify_email, ROUTE_AUTH, 0,
	  "users_me_verify_email" },
	{ { "DELETE", "/api/v1/users/{id}" }, api_users_delete, ROUTE_AUTH, 0, "users_delete" },
	{ { "GET", "/api/v1/users/{id}" }, api_users_get, ROUTE_AUTH, 0, "users_get" },
	{ { "PUT", "/api/v1/users/{id}" }, api_users_update, ROUTE_JSON | ROUTE_AUTH, 0,
	  "users_update" },
};
/* clang-format on */

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
