/* tasks.h - the durable task queue in PostgreSQL (table tasks, migration 0002).
 *
 * A request enqueues inside its own transaction (or alone: one INSERT is atomic) before it
 * answers, so accepted work is never lost. medrin-worker claims with FOR UPDATE SKIP
 * LOCKED, holds a lease (locked_until) so another worker takes over a task whose worker
 * died, retries with exponential back-off (1 s, 2 s, 4 s … capped at 5 min) up to
 * max_attempts, and stores the result or the last error. Enqueue sends NOTIFY medrin_tasks
 * so idle workers wake at once.
 */
#ifndef MEDRIN_TASKS_H
#define MEDRIN_TASKS_H

#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"

struct arena;
struct db;

#define TASKS_CHANNEL "medrin_tasks"

struct task {
	const char *id;        /* uuid */
	const char *kind;      /* "mail", later "reminder", "compile", "rating" */
	json_object *payload;  /* arena-owned */
	int attempts;          /* including this one */
	int max_attempts;
};

/* tasks_register adds the module's statements to db (worker and api start). */
int tasks_register(struct db *db);

/* tasks_enqueue inserts a queued task (and NOTIFY). user_id may be NULL. The id is
 * returned in *id (arena) when id is not NULL. Runs in the caller's transaction if one
 * is open. */
int tasks_enqueue(struct db *db, struct arena *a, const char *kind, const char *user_id,
                  json_object *payload, char **id) MUSTCHECK;

/* tasks_claim takes one due task (status queued, run_at <= now, or running with an expired
 * lease), marks it running with a lease of lease_seconds. ERR_NOT_FOUND when none. */
int tasks_claim(struct db *db, struct arena *a, int lease_seconds, struct task *out) MUSTCHECK;

/* tasks_succeed stores result (may be NULL) and redacts the payload's secret fields
 * (mail bodies carry codes; after delivery they are not kept). */
int tasks_succeed(struct db *db, struct arena *a, const struct task *t, json_object *result) MUSTCHECK;
/* tasks_fail records error (a short, safe message) and schedules a retry with back-off,
 * or marks the task failed after max_attempts (a failed mail's body is redacted too). */
int tasks_fail(struct db *db, struct arena *a, const struct task *t, const char *error) MUSTCHECK;
/* tasks_fail_permanently marks the task failed at once, whatever attempts are left
 * (unknown kind, malformed payload, a recipient the server rejects for good).
 * error is stored cut to TASKS_ERROR_MAX bytes (at a UTF-8 boundary) by both.
 * tasks_succeed / tasks_fail / tasks_fail_permanently return ERR_CONFLICT when the task
 * is no longer this claim's (its lease ran out and another worker took it over). */
int tasks_fail_permanently(struct db *db, struct arena *a, const struct task *t,
                           const char *error) MUSTCHECK;

#define TASKS_ERROR_MAX 500
#define TASKS_BACKOFF_MAX_SECONDS 300

/* tasks_backoff_seconds is the delay before retry after the given attempt failed:
 * 2^(attempt-1) seconds (1, 2, 4, ...) capped at TASKS_BACKOFF_MAX_SECONDS. */
int tasks_backoff_seconds(int attempt);

/* tasks_next_due stores in *seconds how long until the next task becomes claimable (a
 * queued task's run_at or a running task's lease end; <= 0: due now). ERR_NOT_FOUND when
 * no task is queued or running. The worker sleeps at most this long. */
int tasks_next_due(struct db *db, struct arena *a, double *seconds) MUSTCHECK;

#endif
