/* metrics.c - counters in one shared anonymous mapping; see metrics.h.
 *
 * The mapping is made by the master before it forks, so every worker (and every later
 * generation after a reload) updates the same page. Counters only grow; relaxed atomics
 * are enough because nothing is derived from two counters at once.
 */
#include "base/metrics.h"

#include <stdint.h>
#include <sys/mman.h>
#include "base/buf.h"

struct metrics_page {
	uint64_t requests[METRICS_MAX_ROUTES][MS_COUNT];
	uint64_t unmatched[MS_COUNT]; /* 404/405 and anything without a route */
	uint64_t lat_buckets[METRICS_LAT_BUCKETS];
	uint64_t lat_sum_usec;
	uint64_t lat_count;
	uint64_t worker_starts;
	int64_t pool_configured;
	int64_t pool_alive;
	uint64_t pg_errors;
	uint64_t redis_errors;
	uint64_t redis_switches;
};

static struct metrics_page *page;
static const char *const *route_names;
static size_t route_count;

/* Upper bounds of the latency buckets in microseconds; the last bucket is +Inf. */
static const long lat_bounds[METRICS_LAT_BUCKETS - 1] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};

static const int status_codes[MS_COUNT] = {200, 201, 202, 204, 400, 401, 403, 404, 405,
                                           409, 413, 415, 422, 429, 500, 503, 0};

int metrics_map(void)
{
	void *p = mmap(NULL, sizeof(struct metrics_page), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return ERR_INTERNAL;
	page = p;
	return ERR_OK;
}

void metrics_set_routes(const char *const *names, size_t n)
{
	route_names = names;
	route_count = n < METRICS_MAX_ROUTES ? n : METRICS_MAX_ROUTES;
}

static enum metrics_status status_index(int status)
{
	for (int i = 0; i < MS_OTHER; i++)
		if (status_codes[i] == status)
			return (enum metrics_status)i;
	return MS_OTHER;
}

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void metrics_request(size_t route_index, int status, long usec)
{
	if (page == NULL)
		return;
	enum metrics_status s = status_index(status);

	if (route_index < route_count)
		add(&page->requests[route_index][s], 1);
	else
		add(&page->unmatched[s], 1);
	int b = 0;

	while (b < METRICS_LAT_BUCKETS - 1 && usec > lat_bounds[b])
		b++;
	add(&page->lat_buckets[b], 1);
	add(&page->lat_sum_usec, usec > 0 ? (uint64_t)usec : 0);
	add(&page->lat_count, 1);
}

void metrics_worker_started(void)
{
	if (page != NULL)
		add(&page->worker_starts, 1);
}

void metrics_set_pool(int configured, int alive)
{
	if (page == NULL)
		return;
	__atomic_store_n(&page->pool_configured, configured, __ATOMIC_RELAXED);
	__atomic_store_n(&page->pool_alive, alive, __ATOMIC_RELAXED);
}

void metrics_pg_error(void)
{
	if (page != NULL)
		add(&page->pg_errors, 1);
}

void metrics_redis_error(void)
{
	if (page != NULL)
		add(&page->redis_errors, 1);
}

void metrics_redis_switch(void)
{
	if (page != NULL)
		add(&page->redis_switches, 1);
}

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static int render_status(struct buf *out, const char *route, enum metrics_status s, uint64_t n)
{
	if (s == MS_OTHER)
		return buf_printf(
		    out, "medrin_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route,
		    (unsigned long long)n);
	return buf_printf(out, "medrin_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
	                  route, status_codes[s], (unsigned long long)n);
}

int metrics_render(struct buf *out)
{
	int rc =
	    buf_puts(out, "# HELP medrin_http_requests_total HTTP requests by route and status.\n"
	                  "# TYPE medrin_http_requests_total counter\n");

	if (page == NULL)
		return rc;
	for (size_t r = 0; rc == ERR_OK && r < route_count; r++)
		for (int s = 0; rc == ERR_OK && s < MS_COUNT; s++) {
			uint64_t n = load(&page->requests[r][s]);

			if (n)
				rc = render_status(out, route_names[r], (enum metrics_status)s, n);
		}
	for (int s = 0; rc == ERR_OK && s < MS_COUNT; s++) {
		uint64_t n = load(&page->unmatched[s]);

		if (n)
			rc = render_status(out, "unmatched", (enum metrics_status)s, n);
	}
	if (rc == ERR_OK)
		rc = buf_puts(
		    out,
		    "# HELP medrin_http_request_duration_seconds Time from request to response.\n"
		    "# TYPE medrin_http_request_duration_seconds histogram\n");
	uint64_t cumulative = 0;

	for (int b = 0; rc == ERR_OK && b < METRICS_LAT_BUCKETS; b++) {
		cumulative += load(&page->lat_buckets[b]);
		if (b < METRICS_LAT_BUCKETS - 1)
			rc = buf_printf(
			    out, "medrin_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    lat_bounds[b] / 1e6, (unsigned long long)cumulative);
		else
			rc = buf_printf(
			    out, "medrin_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cumulative);
	}
	if (rc == ERR_OK)
		rc = buf_printf(
		    out,
		    "medrin_http_request_duration_seconds_sum %.6f\n"
		    "medrin_http_request_duration_seconds_count %llu\n"
		    "# HELP medrin_worker_restarts_total Workers started after the first "
		    "generation.\n"
		    "# TYPE medrin_worker_restarts_total counter\n"
		    "medrin_worker_restarts_total %llu\n"
		    "# HELP medrin_pool_workers Workers configured and alive in this pool.\n"
		    "# TYPE medrin_pool_workers gauge\n"
		    "medrin_pool_workers{state=\"configured\"} %lld\n"
		    "medrin_pool_workers{state=\"alive\"} %lld\n",
		    load(&page->lat_sum_usec) / 1e6, (unsigned long long)load(&page->lat_count),
		    (unsigned long long)load(&page->worker_starts),
		    (long long)__atomic_load_n(&page->pool_configured, __ATOMIC_RELAXED),
		    (long long)__atomic_load_n(&page->pool_alive, __ATOMIC_RELAXED));
	if (rc == ERR_OK)
		rc =
		    buf_printf(out,
		               "# HELP medrin_postgres_errors_total PostgreSQL calls that failed "
		               "(connection lost or refused, timeout, server error).\n"
		               "# TYPE medrin_postgres_errors_total counter\n"
		               "medrin_postgres_errors_total %llu\n"
		               "# HELP medrin_redis_errors_total Redis calls that failed "
		               "(connection lost or refused, timeout, error reply).\n"
		               "# TYPE medrin_redis_errors_total counter\n"
		               "medrin_redis_errors_total %llu\n"
		               "# HELP medrin_redis_primary_switches_total Redis connections moved "
		               "to a new primary because a Sentinel announced it (one per process "
		               "that acted on it).\n"
		               "# TYPE medrin_redis_primary_switches_total counter\n"
		               "medrin_redis_primary_switches_total %llu\n",
		               (unsigned long long)load(&page->pg_errors),
		               (unsigned long long)load(&page->redis_errors),
		               (unsigned long long)load(&page->redis_switches));
	return rc;
}

int metrics_render_queue(struct buf *out, const struct metrics_queue *q, size_t n, int ok)
{
	int rc = buf_printf(out,
	                    "# HELP medrin_queue_up 1 when the task queue could be read "
	                    "for these metrics.\n"
	                    "# TYPE medrin_queue_up gauge\n"
	                    "medrin_queue_up %d\n",
	                    ok ? 1 : 0);

	if (rc == ERR_OK)
		rc = buf_puts(out, "# HELP medrin_queue_tasks Live tasks (queued or running) by "
		                   "kind.\n"
		                   "# TYPE medrin_queue_tasks gauge\n");
	for (size_t i = 0; rc == ERR_OK && i < n; i++)
		rc = buf_printf(out,
		                "medrin_queue_tasks{kind=\"%s\",status=\"queued\"} %ld\n"
		                "medrin_queue_tasks{kind=\"%s\",status=\"running\"} %ld\n",
		                q[i].kind, q[i].queued, q[i].kind, q[i].live - q[i].queued);
	if (rc == ERR_OK)
		rc = buf_puts(out, "# HELP medrin_queue_oldest_seconds Age of the oldest queued "
		                   "task by kind (0: none queued).\n"
		                   "# TYPE medrin_queue_oldest_seconds gauge\n");
	for (size_t i = 0; rc == ERR_OK && i < n; i++)
		rc = buf_printf(out, "medrin_queue_oldest_seconds{kind=\"%s\"} %.3f\n", q[i].kind,
		                q[i].oldest);
	return rc;
}
