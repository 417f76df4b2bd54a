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
	{ { "POST", "/api/v1/auth/forget-password" }, api_auth_forget_password, ROUTE_JSON, 0,
	  "auth_forget_password" },
	{ { "POST", "/api/v1/auth/login" }, api_auth_login, ROUTE_JSON, 0, "auth_login" },
	{ { "POST", "/api/v1/auth/logout" }, api_auth_logout, ROUTE_AUTH, 0, "auth_logout" },
	{ { "POST", "/api/v1/auth/logout-all" }, api_auth_logout_all, ROUTE_AUTH, 0,
	  "auth_logout_all" },
	{ { "GET", "/api/v1/auth/me" }, api_auth_me, ROUTE_AUTH, 0, "auth_me" },
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
	{ { "GET", "/api/v1/graphql" }, api_graphql, 0, 0, "graphql_get" },
	{ { "POST", "/api/v1/graphql" }, api_graphql, ROUTE_JSON, 256 * 1024, "graphql_post" },
	{ { "GET", "/api/v1/health" }, ops_health, 0, 0, "ops_health" },
	{ { "GET", "/api/v1/metrics" }, ops_metrics, 0, 0, "ops_metrics" },
	{ { "GET", "/api/v1/ready" }, ops_ready, 0, 0, "ops_ready" },
};
/* clang-format on */

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
