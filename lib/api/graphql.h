/* graphql.h (api) - Medrin's GraphQL schema over the domain (graphql_schema.c) and what
 * its resolvers share with the HTTP handler (graphql.c). The engine is lib/graphql/;
 * docs/internals/graphql.md describes both.
 *
 * Resolvers are handlers without HTTP: they take the request (struct api_req, through
 * call->app), call the same one domain function a REST handler calls with the same
 * struct ctx, and render with the same renderer (render.h), so one object has one shape
 * and one set of rules whichever API serves it.
 */
#ifndef MEDRIN_API_GRAPHQL_H
#define MEDRIN_API_GRAPHQL_H

#include "api/api.h"
#include "graphql/graphql.h"

/* Job.notes, loaded for a whole page of jobs at once: the jobs resolver records the page's
 * job ids, the first Job.notes call loads the notes of all of them in one statement
 * (jobs_notes_batch) and the others read the result. */
struct api_gql_notes {
	const char **ids; /* the page's job ids */
	size_t n;
	int per_job;         /* the `first` the notes were loaded with; 0: not loaded */
	json_object *by_job; /* job id -> array of rendered notes (arena-owned) */
};

/* Per request: the caller, authenticated on the first field that needs it. */
struct api_gql {
	struct api_req *r;
	int auth_done;
	int auth_rc; /* api_authenticate's result */
	struct api_gql_notes notes;
};

/* The schema's tables (graphql_schema.c); gql_schema_build binds them once per worker. */
extern const struct gql_schema_spec api_graphql_spec;

/* The request of a resolver call. */
struct api_req *api_gql_req(struct gql_call *call);
/* api_gql_authorize is the schema's authorize hook: 0 when the request carries a valid
 * access token (checked once per request), else a field error UNAUTHENTICATED (or
 * SERVICE_UNAVAILABLE when Redis is down: fail closed). */
int api_gql_authorize(struct gql_call *call);
/* api_gql_outcome turns a domain error (rc and r->ctx.why) into a field error:
 * ERR_NOT_FOUND NOT_FOUND, ERR_INVALID BAD_USER_INPUT (extensions.field), ERR_DENIED
 * FORBIDDEN, ERR_UNAUTHORIZED UNAUTHENTICATED, ERR_CONFLICT CONFLICT, ERR_LIMITED
 * RATE_LIMITED, ERR_UNAVAILABLE / ERR_BUSY SERVICE_UNAVAILABLE (extensions.retryAfter),
 * anything else INTERNAL_SERVER_ERROR (logged). extensions.problem carries the REST
 * problem code (why.code) when there is one. Returns what gql_fail returns. */
int api_gql_outcome(struct gql_call *call, int rc);

#endif
