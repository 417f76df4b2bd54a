/* tasks.c - the durable task queue; see tasks.h and docs/internals/tasks.md.
 *
 * Every state change is one statement. The ones a worker makes after claiming
 * (succeed/fail) are guarded by "status = 'running' AND attempts = <the claim's>": when
 * a lease ran out and another worker took the task over, the old worker's late update
 * matches no row and is reported as ERR_CONFLICT instead of clobbering the new claim.
 * The heartbeat (tasks_renew) is guarded the same way, so a worker learns it lost its
 * claim while the task still runs.
 */
#include "domain/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "base/record.h"
#include "store/db.h"

static const struct db_stmt tasks_stmts[] = {
    /* The NOTIFY rides in the same statement, so it is sent exactly when the INSERT
     * commits (inside a caller's transaction: at its COMMIT). */
    {"tasks_enqueue",
     "WITH t AS (INSERT INTO tasks (kind, user_id, payload) "
     "VALUES ($1::text, $2::uuid, jsonb_object($3::text[])) RETURNING id) "
     "SELECT t.id, pg_notify('" TASKS_CHANNEL "', $1::text) FROM t",
     3},
    /* The same for a task that becomes due at $4 (a note's reminder). */
    {"tasks_enqueue_at",
     "WITH t AS (INSERT INTO tasks (kind, user_id, payload, run_at) "
     "VALUES ($1::text, $2::uuid, jsonb_object($3::text[]), $4::timestamptz) RETURNING id) "
     "SELECT t.id, pg_notify('" TASKS_CHANNEL "', $1::text) FROM t",
     4},
    /* $1/$2/$3: the claimant's kind table as parallel arrays (kind, lease seconds,
     * max attempts); $4: the lease of a kind not in it. */
    {"tasks_claim",
     "WITH k AS (SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) "
     "AS k(kind, lease, max_attempts)), "
     "c AS (SELECT t.id, k.lease, k.max_attempts FROM tasks t LEFT JOIN k ON k.kind = t.kind "
     "WHERE t.id = (SELECT id FROM tasks "
     "WHERE (status = 'queued' AND run_at <= now()) "
     "OR (status = 'running' AND locked_until < now()) "
     "ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED)) "
     "UPDATE tasks SET status = 'running', attempts = tasks.attempts + 1, "
     "max_attempts = coalesce(c.max_attempts, tasks.max_attempts), "
     "locked_until = now() + make_interval(secs => coalesce(c.lease, $4::int)), "
     "updated_at = now() "
     "FROM c WHERE tasks.id = c.id "
     "RETURNING tasks.id, tasks.kind, tasks.payload::text, tasks.attempts, "
     "tasks.max_attempts, coalesce(c.lease, $4::int)",
     4},
    /* The heartbeat: only while the row is still this claim's. */
    {"tasks_renew",
     "UPDATE tasks SET locked_until = now() + make_interval(secs => $3::int), "
     "updated_at = now() "
     "WHERE id = $1::uuid AND status = 'running' AND attempts = $2::int "
     "RETURNING id",
     3},
    /* Mail bodies carry one-time codes (sealed in "enc", or in clear in "body" from
     * older code): once delivered they are not kept. */
    {"tasks_succeed",
     "UPDATE tasks SET status = 'succeeded', result = $3::jsonb, error = NULL, "
     "locked_until = NULL, updated_at = now(), "
     "payload = CASE WHEN kind = 'mail' AND payload ? 'enc' "
     "THEN jsonb_set(payload, '{enc}', '\"[delivered]\"') "
     "WHEN kind = 'mail' AND payload ? 'body' "
     "THEN jsonb_set(payload, '{body}', '\"[delivered]\"') ELSE payload END "
     "WHERE id = $1::uuid AND status = 'running' AND attempts = $2::int "
     "RETURNING id",
     3},
    /* $4: seconds until the retry; NULL: no retry (failed for good). A mail that
     * failed for good loses its body too: nobody will send it any more. */
    {"tasks_fail",
     "WITH d AS (SELECT ($4::int IS NULL OR t.attempts >= t.max_attempts "
     "OR ($5::int IS NOT NULL AND now() + make_interval(secs => $4::int) "
     "> t.created_at + make_interval(secs => $5::int))) AS final "
     "FROM tasks t WHERE t.id = $1::uuid) "
     "UPDATE tasks SET error = $3::text, locked_until = NULL, updated_at = now(), "
     "status = CASE WHEN d.final THEN 'failed' ELSE 'queued' END, "
     "run_at = CASE WHEN d.final THEN run_at ELSE now() + make_interval(secs => $4::int) END, "
     "payload = CASE WHEN d.final AND kind = 'mail' AND payload ? 'enc' "
     "THEN jsonb_set(payload, '{enc}', '\"[not delivered]\"') "
     "WHEN d.final AND kind = 'mail' AND payload ? 'body' "
     "THEN jsonb_set(payload, '{body}', '\"[not delivered]\"') ELSE payload END "
     "FROM d WHERE id = $1::uuid AND status = 'running' AND attempts = $2::int "
     "RETURNING status",
     5},
    /* The metrics: live tasks per kind and the age of the oldest one still waiting. */
    {"tasks_queue_stats",
     "SELECT kind, count(*), count(*) FILTER (WHERE status = 'queued'), "
     "coalesce(EXTRACT(EPOCH FROM (now() - min(created_at) FILTER "
     "(WHERE status = 'queued')))::float8, 0) "
     "FROM tasks WHERE status IN ('queued', 'running') GROUP BY kind ORDER BY kind LIMIT 64",
     0},
    {"tasks_next_due",
     "SELECT EXTRACT(EPOCH FROM (LEAST("
     "min(run_at) FILTER (WHERE status = 'queued'), "
     "min(locked_until) FILTER (WHERE status = 'running')) - now()))::float8 "
     "FROM tasks WHERE status IN ('queued', 'running')",
     0},
};

int tasks_register(struct db *db)
{
	return db_register(db, tasks_stmts, sizeof(tasks_stmts) / sizeof(tasks_stmts[0]));
}

int tasks_backoff_seconds(int attempt)
{
	if (attempt < 1)
		attempt = 1;
	/* 2^9 = 512 is already past the cap; avoids shifting into overflow. */
	if (attempt > 9)
		return TASKS_BACKOFF_MAX_SECONDS;
	int s = 1 << (attempt - 1);

	return s > TASKS_BACKOFF_MAX_SECONDS ? TASKS_BACKOFF_MAX_SECONDS : s;
}

int tasks_enqueue(struct db *db, struct arena *a, const char *kind, const char *user_id,
                  const struct record *payload, char **id)
{
	return tasks_enqueue_at(db, a, kind, user_id, payload, NULL, id);
}

int tasks_enqueue_at(struct db *db, struct arena *a, const char *kind, const char *user_id,
                     const struct record *payload, const char *run_at, char **id)
{
	PGresult *res = NULL;
	const char *params[4];
	int rc;

	if (kind == NULL || *kind == '\0' || payload == NULL) {
		rc = ERR_INVALID;
		goto out;
	}
	params[0] = kind;
	params[1] = user_id;
	params[2] = record_pg_array(a, payload);
	params[3] = run_at;
	if (run_at == NULL)
		rc = db_exec(db, a, "tasks_enqueue", 3, params, &res);
	else
		rc = db_exec(db, a, "tasks_enqueue_at", 4, params, &res);
	if (rc)
		goto out;
	if (db_rows(res) != 1) {
		rc = ERR_INTERNAL;
		goto out;
	}
	if (id != NULL)
		*id = arena_strdup(a, db_value(res, 0, 0));
	log_debug("task queued: kind %s", kind);
out:
	if (rc)
		log_warn("tasks_enqueue failed: %s", err_name(rc));
	return rc;
}

/* kind_ok: the kinds of a table go into a text[] literal; keep them to plain names. */
static int kind_ok(const char *k)
{
	if (k == NULL || *k == '\0')
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' ||
		      *k == '-'))
			return 0;
	return 1;
}

/* policy_arrays renders the table as three array literals: {"mail","x"}, {60,10}, ... */
static int policy_arrays(struct arena *a, const struct task_policy *kinds, size_t n,
                         const char **names, const char **leases, const char **maxes)
{
	size_t cap = 3;
	char *pn, *pl, *pm;
	size_t on = 0, ol = 0, om = 0;

	for (size_t i = 0; i < n; i++) {
		if (!kind_ok(kinds[i].kind) || kinds[i].lease_seconds <= 0 ||
		    kinds[i].lease_seconds > TASKS_MAX_LEASE_SECONDS || kinds[i].max_attempts <= 0)
			return ERR_INVALID;
		cap += strlen(kinds[i].kind) + 3;
	}
	/* Numbers: at most 10 digits and a comma each. */
	pn = arena_alloc(a, cap);
	pl = arena_alloc(a, 12 * n + 3);
	pm = arena_alloc(a, 12 * n + 3);
	pn[on++] = '{';
	pl[ol++] = '{';
	pm[om++] = '{';
	for (size_t i = 0; i < n; i++) {
		on += (size_t)sprintf(pn + on, "%s\"%s\"", i ? "," : "", kinds[i].kind);
		ol += (size_t)sprintf(pl + ol, "%s%d", i ? "," : "", kinds[i].lease_seconds);
		om += (size_t)sprintf(pm + om, "%s%d", i ? "," : "", kinds[i].max_attempts);
	}
	memcpy(pn + on, "}", 2);
	memcpy(pl + ol, "}", 2);
	memcpy(pm + om, "}", 2);
	*names = pn;
	*leases = pl;
	*maxes = pm;
	return ERR_OK;
}

int tasks_claim(struct db *db, struct arena *a, const struct task_policy *kinds, size_t nkinds,
                struct task *out)
{
	PGresult *res = NULL;
	char deflease[16];
	const char *params[4];
	const char *v;
	long n;
	int rc;

	rc =
	    policy_arrays(a, kinds, kinds != NULL ? nkinds : 0, &params[0], &params[1], &params[2]);
	if (rc) {
		log_error("tasks_claim: invalid kind table");
		goto out;
	}
	snprintf(deflease, sizeof(deflease), "%d", TASKS_DEFAULT_LEASE_SECONDS);
	params[3] = deflease;
	rc = db_exec(db, a, "tasks_claim", 4, params, &res);
	if (rc)
		goto out;
	if (db_rows(res) == 0) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->id = arena_strdup(a, db_value(res, 0, 0));
	out->kind = arena_strdup(a, db_value(res, 0, 1));
	v = db_value(res, 0, 2);
	out->payload_json = arena_strdup(a, v != NULL ? v : "null");
	n = strtol(db_value(res, 0, 3), NULL, 10);
	out->attempts = (int)n;
	n = strtol(db_value(res, 0, 4), NULL, 10);
	out->max_attempts = (int)n;
	n = strtol(db_value(res, 0, 5), NULL, 10);
	out->lease_seconds = (int)n;
out:
	return rc;
}

int tasks_renew(struct db *db, struct arena *a, const struct task *t, int lease_seconds)
{
	PGresult *res = NULL;
	char attempts[16], lease[16];
	const char *params[3];
	int rc;

	if (t == NULL || t->id == NULL || lease_seconds <= 0 ||
	    lease_seconds > TASKS_MAX_LEASE_SECONDS)
		return ERR_INVALID;
	snprintf(attempts, sizeof(attempts), "%d", t->attempts);
	snprintf(lease, sizeof(lease), "%d", lease_seconds);
	params[0] = t->id;
	params[1] = attempts;
	params[2] = lease;
	rc = db_exec(db, a, "tasks_renew", 3, params, &res);
	if (rc == ERR_OK && db_rows(res) == 0)
		rc = ERR_CONFLICT;
	return rc;
}

/* error_cut copies msg into the arena cut to TASKS_ERROR_MAX bytes, never in the middle
 * of a UTF-8 sequence, and with control characters (CR, LF, ...) turned into spaces. */
static char *error_cut(struct arena *a, const char *msg)
{
	const char *m = msg != NULL ? msg : "";
	char *s = arena_strndup(a, m, util_utf8_cut(m, TASKS_ERROR_MAX));

	/* Printable ASCII only: the text comes from libraries and servers, and one invalid
	 * UTF-8 byte would make PostgreSQL refuse the whole update (the task would then wait
	 * for its lease instead of its back-off). */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = (unsigned char)*p >= 0x80 ? '?' : ' ';
	return s;
}

static int finish(struct db *db, struct arena *a, const struct task *t, const char *error,
                  int retry)
{
	PGresult *res = NULL;
	char attempts[16], delay[16], window[16];
	const char *params[5];
	int rc;

	snprintf(attempts, sizeof(attempts), "%d", t->attempts);
	snprintf(delay, sizeof(delay), "%d", tasks_backoff_seconds(t->attempts));
	snprintf(window, sizeof(window), "%d", t->retry_window_seconds);
	params[0] = t->id;
	params[1] = attempts;
	params[2] = error_cut(a, error);
	params[3] = retry ? delay : NULL;
	params[4] = t->retry_window_seconds > 0 ? window : NULL;
	rc = db_exec(db, a, "tasks_fail", 5, params, &res);
	if (rc)
		goto out;
	if (db_rows(res) == 0) {
		rc = ERR_CONFLICT;
		goto out;
	}
	if (strcmp(db_value(res, 0, 0), "failed") == 0)
		log_warn("task %s (%s) failed for good after attempt %d", t->id, t->kind,
		         t->attempts);
	else
		log_info("task %s (%s) attempt %d failed, retry in %s s", t->id, t->kind,
		         t->attempts, delay);
out:
	return rc;
}

int tasks_fail(struct db *db, struct arena *a, const struct task *t, const char *error)
{
	return finish(db, a, t, error, 1);
}

int tasks_fail_permanently(struct db *db, struct arena *a, const struct task *t, const char *error)
{
	return finish(db, a, t, error, 0);
}

int tasks_succeed(struct db *db, struct arena *a, const struct task *t, const char *result_json)
{
	PGresult *res = NULL;
	char attempts[16];
	const char *params[3];
	int rc;

	snprintf(attempts, sizeof(attempts), "%d", t->attempts);
	params[0] = t->id;
	params[1] = attempts;
	params[2] = result_json;
	rc = db_exec(db, a, "tasks_succeed", 3, params, &res);
	if (rc)
		goto out;
	if (db_rows(res) == 0)
		rc = ERR_CONFLICT;
out:
	return rc;
}

int tasks_next_due(struct db *db, struct arena *a, double *seconds)
{
	PGresult *res = NULL;
	const char *v;
	int rc;

	rc = db_exec(db, a, "tasks_next_due", 0, NULL, &res);
	if (rc)
		goto out;
	v = db_rows(res) == 1 ? db_value(res, 0, 0) : NULL;
	if (v == NULL) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	*seconds = strtod(v, NULL);
out:
	return rc;
}

int tasks_queue_stats(struct db *db, struct arena *a, struct task_queue_stat **out, size_t *n)
{
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = db_exec(db, a, "tasks_queue_stats", 0, NULL, &res);
	if (rc)
		return rc;
	int rows = db_rows(res);

	if (rows <= 0)
		return ERR_OK;
	struct task_queue_stat *st = arena_alloc(a, (size_t)rows * sizeof(*st));

	for (int i = 0; i < rows; i++) {
		st[i].kind = arena_strdup(a, db_value(res, i, 0));
		st[i].live = strtol(db_value(res, i, 1), NULL, 10);
		st[i].queued = strtol(db_value(res, i, 2), NULL, 10);
		st[i].oldest_queued_seconds = strtod(db_value(res, i, 3), NULL);
	}
	*out = st;
	*n = (size_t)rows;
	return ERR_OK;
}
