/* ops.c - operations endpoints: health, readiness, metrics. */
#include "api/api.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "http/problem.h"
#include "domain/services.h"
#include "domain/tasks.h"

/* A fixed body, written without building a tree: this endpoint is the routing-only
 * baseline of the benchmark. */
int ops_health(struct api_req *r)
{
	static const char body[] = "{\"status\":\"ok\"}";

	buf_reset(&r->resp->body);
	if (buf_append(&r->resp->body, body, sizeof(body) - 1) != ERR_OK)
		return api_error(r, ERR_INTERNAL);
	r->resp->content_type = "application/json";
	return 200;
}

int ops_ready(struct api_req *r)
{
	int pg_ok = 0, redis_ok = 0;

	services_ping(r->ctx.svc, &pg_ok, &redis_ok);
	json_object *checks = json_object_new_object();
	json_object *top = json_new_object(r->arena);

	json_object_object_add(checks, "postgres", json_object_new_string(pg_ok ? "ok" : "down"));
	json_object_object_add(checks, "redis", json_object_new_string(redis_ok ? "ok" : "down"));
	json_object_object_add(top, "checks", checks); /* top owns checks now */
	if (pg_ok && redis_ok) {
		json_object *body = json_new_object(r->arena);

		json_object_object_add(body, "status", json_object_new_string("ok"));
		json_object_object_add(body, "checks", json_object_get(checks));
		return api_json(r, 200, body);
	}
	const char *detail = !pg_ok && !redis_ok ? "postgres and redis are not answering"
	                     : !pg_ok            ? "postgres is not answering"
	                                         : "redis is not answering";

	log_warn("not ready: %s", detail);
	api_header(r, "Retry-After", "1");
	return problem_render_ext(r->resp, r->arena, 503, "not_ready", detail, NULL, 0, top);
}

int ops_metrics(struct api_req *r)
{
	buf_reset(&r->resp->body);
	if (metrics_render(&r->resp->body) != ERR_OK)
		return api_error(r, ERR_INTERNAL);
	/* The queue is shared by every host: each pool reports the same numbers (alert on
	 * max() across instances, not sum()). */
	struct task_queue_stat *st = NULL;
	size_t n = 0;
	int ok = r->ctx.svc != NULL && r->ctx.svc->db != NULL &&
	         tasks_queue_stats(r->ctx.svc->db, r->arena, &st, &n) == ERR_OK;
	struct metrics_queue *q = arena_alloc(r->arena, (n ? n : 1) * sizeof(*q));

	for (size_t i = 0; i < n; i++) {
		q[i].kind = st[i].kind;
		q[i].queued = st[i].queued;
		q[i].live = st[i].live;
		q[i].oldest = st[i].oldest_queued_seconds;
	}
	if (metrics_render_queue(&r->resp->body, q, ok ? n : 0, ok) != ERR_OK)
		return api_error(r, ERR_INTERNAL);
	r->resp->content_type = "text/plain; version=0.0.4";
	return 200;
}
