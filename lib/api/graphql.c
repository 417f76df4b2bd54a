/* graphql.c - GraphQL over HTTP at /api/v1/graphql; see api/graphql.h and
 * docs/internals/graphql.md.
 *
 * POST takes {"query", "operationName"?, "variables"?, "extensions"?} as application/json
 * (the dispatcher has parsed it); GET takes the same as query parameters and runs queries
 * only (a mutation is 405 with Allow: POST). The answer is application/graphql-response+json
 * when the Accept header asks for it, else application/json (also for a missing Accept,
 * or for a star type). With application/json every executed or refused GraphQL request is
 * 200, as the GraphQL-over-HTTP specification says; with graphql-response+json a request
 * error (syntax, validation, variables, limits: no "data") is 400. Requests that are not
 * GraphQL requests at all are problem+json like the rest of the API: 400 for a missing or
 * mistyped parameter, 422 unknown_field for an unknown member (the API's rule), 406 for an
 * Accept header we cannot satisfy.
 *
 * Authentication is per field: the route takes anonymous requests so that `{ __typename }`
 * and introspection need no token; a field that needs one (GQL_AUTH in the resolver table)
 * checks the token on first use, once per request, exactly as a REST route does.
 */
#include "api/graphql.h"

#include <string.h>
#include <strings.h>
#include "base/arena.h"
#include "base/log.h"
#include "http/problem.h"

#define MEDIA_JSON "application/json"
#define MEDIA_GRAPHQL "application/graphql-response+json"

static const struct gql_schema *schema(void)
{
	static const struct gql_schema *s;
	static int failed;
	const char *why = NULL;

	if (s == NULL && !failed) {
		s = gql_schema_build(&api_graphql_spec, &why);
		if (s == NULL) {
			failed = 1;
			log_error("graphql: the schema does not build: %s", why);
		}
	}
	return s;
}

struct api_req *api_gql_req(struct gql_call *call)
{
	return ((struct api_gql *)call->app)->r;
}

static int token_presented(const struct api_req *r)
{
	const char *h = http_header(r->http, "Authorization");

	return (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) ||
	       http_header(r->http, "X-Access-Token") != NULL;
}

int api_gql_authorize(struct gql_call *call)
{
	struct api_gql *g = call->app;

	if (!g->auth_done) {
		g->auth_done = 1;
		g->auth_rc = api_authenticate(g->r);
		if (g->auth_rc == ERR_OK && g->r->ctx.actor.user_id == NULL)
			g->auth_rc = ERR_UNAUTHORIZED;
	}
	if (g->auth_rc == ERR_OK)
		return 0;
	if (g->auth_rc == ERR_UNAVAILABLE) {
		json_object *ext = json_object_new_object();

		json_object_object_add(ext, "retryAfter", json_object_new_int(1));
		gql_fail(call, "SERVICE_UNAVAILABLE",
		         "A backing service is not answering; try again shortly.", ext);
	} else {
		gql_fail(call, "UNAUTHENTICATED",
		         token_presented(g->r)
		             ? "The access token is not valid (malformed, expired or revoked)."
		             : "A valid access token is required (Authorization: Bearer ...).",
		         NULL);
	}
	return -1;
}

/* A REST field name as the GraphQL API spells it: camelCase, and the cursor is `after`. */
static const char *graphql_name(struct api_req *r, const char *field)
{
	char *out = arena_strdup(r->arena, field), *o = out;

	if (strcmp(field, "cursor") == 0)
		return "after";
	for (const char *p = field; *p != '\0'; p++) {
		if (*p == '_' && p[1] >= 'a' && p[1] <= 'z') {
			*o++ = (char)(*++p - 'a' + 'A');
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

int api_gql_outcome(struct gql_call *call, int rc)
{
	struct api_req *r = api_gql_req(call);
	const struct outcome *why = &r->ctx.why;
	json_object *ext = json_object_new_object();
	const char *code, *message;

	switch (rc) {
	case ERR_NOT_FOUND: code = "NOT_FOUND", message = "No such object."; break;
	case ERR_INVALID: code = "BAD_USER_INPUT", message = "The input is not valid."; break;
	case ERR_DENIED: code = "FORBIDDEN", message = "You are not allowed to do this."; break;
	case ERR_UNAUTHORIZED:
		code = "UNAUTHENTICATED", message = "A valid access token is required.";
		break;
	case ERR_CONFLICT:
		code = "CONFLICT", message = "The request conflicts with the current state.";
		break;
	case ERR_LIMITED:
		code = "RATE_LIMITED", message = "Too many requests; try again later.";
		break;
	case ERR_UNAVAILABLE:
	case ERR_BUSY:
		code = "SERVICE_UNAVAILABLE",
		message = "A backing service is not answering; try again shortly.";
		json_object_object_add(
		    ext, "retryAfter",
		    json_object_new_int64(why->retry_after > 0 ? why->retry_after : 1));
		break;
	default:
		log_error("graphql field %s failed: %s", call->field, err_name(rc));
		json_object_put(ext);
		return gql_fail(call, "INTERNAL_SERVER_ERROR", "Something went wrong on our side.",
		                NULL);
	}
	if (why->detail != NULL)
		message = why->detail;
	if (why->code != NULL)
		json_object_object_add(ext, "problem", json_object_new_string(why->code));
	if (why->field != NULL)
		json_object_object_add(ext, "field",
		                       json_object_new_string(graphql_name(r, why->field)));
	if (rc == ERR_LIMITED && why->retry_after > 0)
		json_object_object_add(ext, "retryAfter", json_object_new_int64(why->retry_after));
	return gql_fail(call, code, arena_strdup(r->arena, message), ext);
}

/* ---- the HTTP side ---- */

/* One media range of an Accept header: does it cover type, and with which q (0..1000)? */
static int range_q(const char *range, size_t n, const char *type)
{
	size_t tlen = strcspn(range, ";");
	const char *params = range + tlen;
	int q = 1000;

	if (tlen > n)
		tlen = n;
	while (tlen > 0 && (range[tlen - 1] == ' ' || range[tlen - 1] == '\t'))
		tlen--;
	int match = (tlen == strlen(type) && strncasecmp(range, type, tlen) == 0) ||
	            (tlen == 3 && strncmp(range, "*/*", 3) == 0) ||
	            (tlen == 13 && strncasecmp(range, "application/*", 13) == 0);

	if (!match)
		return -1;
	while (params < range + n) {
		const char *qp = strstr(params, "q=");

		if (qp == NULL || qp >= range + n)
			break;
		q = 0;
		qp += 2;
		if (*qp == '1')
			q = 1000;
		else if (*qp == '0' && qp[1] == '.')
			for (int i = 0, scale = 100; i < 3 && qp[2 + i] >= '0' && qp[2 + i] <= '9';
			     i++)
				q += (qp[2 + i] - '0') * scale, scale /= 10;
		break;
	}
	return q;
}

/* The media type to answer with, or NULL when the Accept header allows neither. */
static const char *negotiate(const char *accept)
{
	int best_json = -1, best_gql = -1, exact_gql = 0;

	if (accept == NULL || *accept == '\0')
		return MEDIA_JSON;
	for (const char *p = accept; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *r = p;

		while (*r == ' ' || *r == '\t')
			r++, n--;
		int qj = range_q(r, n, MEDIA_JSON), qg = range_q(r, n, MEDIA_GRAPHQL);

		if (qj > best_json)
			best_json = qj;
		if (qg > best_gql) {
			best_gql = qg;
			exact_gql = strncasecmp(r, MEDIA_GRAPHQL, strlen(MEDIA_GRAPHQL)) == 0;
		}
		p += (r - p) + n;
		if (*p == ',')
			p++;
	}
	if (best_gql > 0 && exact_gql && best_gql >= best_json)
		return MEDIA_GRAPHQL;
	if (best_json > 0)
		return MEDIA_JSON;
	if (best_gql > 0)
		return MEDIA_GRAPHQL;
	return NULL;
}

/* 400 problem for request parameters that are there but wrong. */
static int bad_params(struct api_req *r, const struct json_errors *errs, const char *detail)
{
	struct problem_error pe[JSON_MAX_ERRORS];
	size_t n = errs != NULL ? (errs->n < JSON_MAX_ERRORS ? errs->n : JSON_MAX_ERRORS) : 0;

	for (size_t i = 0; i < n; i++) {
		pe[i].field = errs->e[i].field;
		pe[i].message = errs->e[i].message;
	}
	return problem_render(r->resp, r->arena, 400, "invalid_graphql_request", detail, pe, n);
}

/* The GET parameters: variables and extensions are JSON text (an object or null). */
static int get_params(struct api_req *r, struct gql_request *q)
{
	static const char *const json_params[] = {"variables", "extensions"};

	q->query = api_query(r, "query");
	q->operation_name = api_query(r, "operationName");
	if (q->operation_name != NULL && *q->operation_name == '\0')
		q->operation_name = NULL;
	for (size_t i = 0; i < 2; i++) {
		const char *text = api_query(r, json_params[i]);
		json_object *v = NULL;
		const char *why = NULL;

		if (text == NULL || *text == '\0')
			continue;
		if (json_parse(r->arena, text, strlen(text), &v, &why) != ERR_OK ||
		    (v != NULL && !json_object_is_type(v, json_type_object)))
			return bad_params(r, NULL,
			                  arena_printf(r->arena,
			                               "The %s parameter must be a JSON object.",
			                               json_params[i]));
		if (i == 0)
			q->variables = v;
	}
	if (q->query == NULL)
		return bad_params(r, NULL, "The query parameter is missing.");
	if (!http_utf8_valid(q->query, strlen(q->query)))
		return bad_params(r, NULL, "The query parameter is not valid UTF-8.");
	q->query_len = strlen(q->query);
	return 0;
}

static int post_params(struct api_req *r, struct gql_request *q)
{
	json_object *variables = NULL, *extensions = NULL;
	const char *query = NULL, *operation = NULL;
	int has_vars = 0;
	struct json_field fields[] = {
	    {"query", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &query, NULL, NULL},
	    {"operationName", JT_STRING, JF_NULLABLE, 0, 0, &operation, NULL, NULL},
	    {"variables", JT_OBJECT, JF_NULLABLE, 0, 0, &variables, &has_vars, NULL},
	    {"extensions", JT_OBJECT, JF_NULLABLE, 0, 0, &extensions, NULL, NULL},
	};
	struct json_errors errs;

	memset(&errs, 0, sizeof errs);
	if (json_validate(r->arena, r->body, fields, GQL_N(fields), "", &errs) != ERR_OK) {
		if (errs.unknown)
			return api_invalid(r, &errs);
		return bad_params(r, &errs, "This is not a GraphQL request: see the errors.");
	}
	json_object *qv = NULL;

	/* The query keeps every byte (a "\u0000" inside a string literal is legal). */
	json_object_object_get_ex(r->body, "query", &qv);
	q->query = json_object_get_string(qv);
	q->query_len = (size_t)json_object_get_string_len(qv);
	q->operation_name = operation != NULL && *operation != '\0' ? operation : NULL;
	q->variables = variables;
	return 0;
}

int api_graphql(struct api_req *r)
{
	const struct gql_schema *s = schema();
	const struct config *cfg = r->ctx.cfg;
	const char *media = negotiate(http_header(r->http, "Accept"));
	struct gql_request q;
	struct gql_result res;
	struct api_gql g;
	struct gql_limits lim;
	int status, rc;

	if (s == NULL)
		return api_problem(r, 500, "internal", "Something went wrong on our side.");
	if (media == NULL)
		return api_problem(r, 406, "not_acceptable",
		                   "Accept application/graphql-response+json or application/json.");
	memset(&q, 0, sizeof q);
	memset(&g, 0, sizeof g);
	g.r = r;
	rc = strcmp(r->http->method, "POST") == 0 ? post_params(r, &q) : get_params(r, &q);
	if (rc != 0)
		return rc;
	q.allow_mutation = strcmp(r->http->method, "POST") == 0;
	q.app = &g;
	lim.max_document = cfg != NULL ? (size_t)cfg->graphql_max_document : 32768;
	lim.max_depth = cfg != NULL ? cfg->graphql_max_depth : 15;
	lim.max_cost = cfg != NULL ? cfg->graphql_max_cost : 5000;
	lim.max_aliases = cfg != NULL ? cfg->graphql_max_aliases : 30;
	lim.introspection = cfg != NULL ? cfg->graphql_introspection : 1;
	if (gql_execute(r->arena, s, &lim, &q, &res) != ERR_OK)
		return api_problem(r, 500, "internal", "Something went wrong on our side.");
	status = 200;
	if (res.outcome == GQL_RES_NOT_ALLOWED) {
		status = 405;
		api_header(r, "Allow", "POST");
	} else if (res.outcome == GQL_RES_INVALID && strcmp(media, MEDIA_GRAPHQL) == 0) {
		status = 400;
	}
	status = api_json(r, status, res.response);
	if (r->resp->content_type != NULL && strcmp(r->resp->content_type, MEDIA_JSON) == 0)
		r->resp->content_type = strcmp(media, MEDIA_GRAPHQL) == 0
		                            ? MEDIA_GRAPHQL "; charset=utf-8"
		                            : MEDIA_JSON "; charset=utf-8";
	return status;
}
