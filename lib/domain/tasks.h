/* tasks.h - the durable task queue in PostgreSQL (table tasks, migration 0002).
 *
 * A request enqueues inside its own transaction (or alone: one INSERT is atomic) before it
 * answers, so accepted work is never lost. medrin-worker claims with FOR UPDATE SKIP
 * LOCKED, holds a lease (locked_until, per kind, renewed by the worker while the task runs)
 * so another worker takes over a task whose worker died, retries with exponential back-off (1 s, 2
 * s, 4 s … capped at 5 min) up to max_attempts, and stores the result or the last error. Enqueue
 * sends NOTIFY medrin_tasks so idle workers wake at once.
 */
#ifndef MEDRIN_TASKS_H
#define MEDRIN_TASKS_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

struct arena;
struct db;
struct record;

#define TASKS_CHANNEL "medrin_tasks"

struct task {
	const char *id;   /* uuid */
	const char *kind; /* "mail", later "reminder", "compile", "rating" */
	const char
	    *payload_json; /* the payload as JSON text (arena); the kind's runner parses it */
	int attempts;      /* including this one; with id, identifies this claim */
	int max_attempts;
	int lease_seconds; /* the lease this claim took (the kind's, or the default) */
	/* Set by the claimant after tasks_claim (0: max_attempts alone): > 0, a failed
	 * attempt is retried only while the task is younger than this (since queued), so a
	 * mail queue keeps trying for hours, not for a number of attempts. */
	int retry_window_seconds;
};

/* What the claimant knows about a kind (medrin-worker's kind table): how long a claim
 * holds it before another worker may take it over (renewed while it runs), and how many
 * attempts it gets. kind: [a-z0-9_-]+, lease_seconds and max_attempts > 0. */
struct task_policy {
	const char *kind;
	int lease_seconds;
	int max_attempts;
};

/* The lease of a claimed task whose kind is not in the claimant's table (it is failed at
 * once, so this only bounds how long a crash there keeps it). */
#define TASKS_DEFAULT_LEASE_SECONDS 60
#define TASKS_MAX_LEASE_SECONDS 86400

/* tasks_register adds the module's statements to db (worker and api start).
 * ERR_INVALID when db refuses the table. */
int tasks_register(struct db *db) MUSTCHECK;

/* tasks_enqueue inserts a queued task (and NOTIFY). The payload is a record of string
 * fields, stored as a jsonb object (jsonb_object): the domain builds no JSON. user_id may
 * be NULL. The id is returned in *id (arena) when id is not NULL. Runs in the caller's
 * transaction if one is open. */
int tasks_enqueue(struct db *db, struct arena *a, const char *kind, const char *user_id,
                  const struct record *payload, char **id) MUSTCHECK;
/* tasks_enqueue_at is tasks_enqueue for a task that becomes due at run_at (timestamptz
 * text, e.g. RFC 3339; NULL: now). The NOTIFY still goes at commit: idle workers then
 * sleep until it is due (tasks_next_due). ERR_INVALID also for a run_at PostgreSQL
 * refuses. */
int tasks_enqueue_at(struct db *db, struct arena *a, const char *kind, const char *user_id,
                     const struct record *payload, const char *run_at, char **id) MUSTCHECK;

/* tasks_claim takes one due task of any kind (status queued, run_at <= now, or running
 * with an expired lease) and marks it running: attempts + 1, locked_until = now + the
 * lease of its kind in kinds[0..nkinds) (TASKS_DEFAULT_LEASE_SECONDS for a kind not
 * there), and max_attempts = the kind's (the table is authoritative; a kind not there
 * keeps the stored value). ERR_NOT_FOUND when none is due; ERR_INVALID for a bad table. */
int tasks_claim(struct db *db, struct arena *a, const struct task_policy *kinds, size_t nkinds,
                struct task *out) MUSTCHECK;

/* tasks_renew extends the claim's lease: locked_until = now + lease_seconds, while the
 * task is still this claim's (status running, same attempts), even if the lease already
 * ran out but nobody took the task over yet. ERR_CONFLICT when the claim is lost (another
 * worker re-claimed it, or an operator changed it): the caller must not record an
 * outcome and should stop the work. Other errors (ERR_UNAVAILABLE) say nothing about
 * the claim; retry. */
int tasks_renew(struct db *db, struct arena *a, const struct task *t, int lease_seconds) MUSTCHECK;

/* tasks_succeed stores result_json (JSON text made by the kind's runner; may be NULL) and
 * redacts the payload's secret fields
 * (mail bodies carry codes; after delivery they are not kept). */
int tasks_succeed(struct db *db, struct arena *a, const struct task *t,
                  const char *result_json) MUSTCHECK;
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

/* One kind's live tasks, for the metrics. */
struct task_queue_stat {
	const char *kind;
	long live;                    /* queued + running */
	long queued;                  /* waiting (due or in back-off) */
	double oldest_queued_seconds; /* age (since enqueue) of the oldest queued one; 0: none */
};

/* tasks_queue_stats lists the kinds that have live tasks (at most 64), in the arena. */
int tasks_queue_stats(struct db *db, struct arena *a, struct task_queue_stat **out,
                      size_t *n) MUSTCHECK;

#endif
