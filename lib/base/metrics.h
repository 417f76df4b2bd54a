/* metrics.h - counters shared by every process of one pool.
 *
 * The master maps one anonymous shared page (metrics_map) before forking; workers update
 * it with relaxed atomics; GET /api/v1/metrics renders it in Prometheus text format.
 * Without a mapped page (unit tests, the CLI) every update is a no-op.
 */
#ifndef MEDRIN_METRICS_H
#define MEDRIN_METRICS_H

#include <stddef.h>
#include "base/err.h"

struct buf;

#define METRICS_MAX_ROUTES 128
#define METRICS_LAT_BUCKETS 12 /* 1,2.5,5,10,25,50,100,250,500,1000,2500 ms, +Inf */

/* Status classes kept per route: the exact codes api.md uses, others fold into "other". */
enum metrics_status {
	MS_200,
	MS_201,
	MS_202,
	MS_204,
	MS_400,
	MS_401,
	MS_403,
	MS_404,
	MS_405,
	MS_409,
	MS_413,
	MS_415,
	MS_422,
	MS_429,
	MS_500,
	MS_503,
	MS_OTHER,
	MS_COUNT
};

/* metrics_map creates the shared page (master, before fork). Returns 0 or ERR_INTERNAL. */
int metrics_map(void) MUSTCHECK;
/* Route names, indexed like the route table (routes.c registers them at start). */
void metrics_set_routes(const char *const *names, size_t n);

void metrics_request(size_t route_index, int status, long usec);
void metrics_worker_started(void); /* master, on each (re)spawn after the first */
void metrics_set_pool(int configured, int alive);

/* Failed calls to PostgreSQL (lib/store/db.c) and Redis (lib/store/rds.c). */
void metrics_pg_error(void);
void metrics_redis_error(void);
/* A Sentinel's +switch-master made this process reconnect (lib/store/rds.c). */
void metrics_redis_switch(void);

/* Prometheus text exposition format 0.0.4. */
int metrics_render(struct buf *out) MUSTCHECK;

/* The task queue as read from PostgreSQL when the metrics are asked for (kinds are plain
 * names, [a-z0-9_-]+). ok = 0: the queue could not be read (medrin_queue_up 0). */
struct metrics_queue {
	const char *kind;
	long queued, live;
	double oldest;
};
int metrics_render_queue(struct buf *out, const struct metrics_queue *q, size_t n,
                         int ok) MUSTCHECK;

#endif
