/* jobs.h - the job-application tracker: jobs, their notes, and note reminders
 * (tables jobs and notes, migration 0004; docs/internals/jobs.md).
 *
 * Every function works on the actor's own rows: another user's job or note, and an id
 * that is not a UUID, are ERR_NOT_FOUND ("not_found"), for every verb. Lists are keyset
 * pages on (sort key, id) — never OFFSET — so a page boundary does not move when rows are
 * inserted: every row that existed when the first page was read is returned exactly
 * once. Cursors are opaque (base64url of the sort, the last key and the last id); a
 * cursor of another sort, or garbage, is ERR_INVALID with field "cursor".
 *
 * A note's reminder is one task of kind "reminder" (payload {"note_id"}, run_at =
 * reminder_time) queued in the note's transaction; changing the time replaces it
 * (re-arm: reminded_at is cleared), deleting the note or its job deletes it. The worker
 * calls jobs_reminder_fire, which marks the note reminded and queues the mail in one
 * transaction, guarded so that only the note's current task can fire it, once.
 */
#ifndef MEDRIN_JOBS_H
#define MEDRIN_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

struct arena;
struct config;
struct ctx;
struct db;

#define JOBS_NSTATUS 7
/* wishlist, applied, interviewing, offer, accepted, rejected, withdrawn; NULL-ended. */
extern const char *const jobs_statuses[JOBS_NSTATUS + 1];
extern const char *const jobs_salary_periods[]; /* hour, day, week, month, year; NULL-ended */

#define JOBS_TEXT_MAX 200          /* company_name, position, location (bytes) */
#define JOBS_URL_MAX 2048          /* url (bytes) */
#define JOBS_DESCRIPTION_MAX 10000 /* description (bytes) */
#define JOBS_NOTE_MAX 10000        /* a note's content (bytes) */
#define JOBS_SALARY_MAX 1000000000000LL
#define JOBS_Q_MAX 200
#define JOBS_LIMIT_DEFAULT 20
#define JOBS_LIMIT_MAX 100
/* A reminder mailed more than this after its time says it is late. */
#define JOBS_REMINDER_LATE_SECONDS 60

/* A salary: currency (ISO 4217 letters) and period always, min and/or max. */
struct job_salary {
	int present;
	int has_min, has_max;
	int64_t min, max;
	const char *currency;
	const char *period;
};

/* One row of jobs. Strings are arena copies; NULL for an absent optional field. Times
 * are RFC 3339 UTC, dates YYYY-MM-DD (rendered by PostgreSQL). */
struct job {
	const char *id;
	const char *company_name;
	const char *position;
	const char *status;
	const char *applied_on;
	const char *url;
	const char *location;
	const char *description;
	struct job_salary salary;
	const char *created_at;
	const char *updated_at;
};

/* Input of create (all of it) and replace (PUT: absent optional fields become NULL). */
struct job_input {
	const char *company_name, *position, *status, *applied_on;
	const char *url, *location, *description; /* NULL: none */
	struct job_salary salary;                 /* present 0: none */
};

/* PATCH: set_X says the field was given; a given optional field may be NULL (cleared). */
struct job_patch {
	struct job_input v;
	int set_company_name, set_position, set_status, set_applied_on;
	int set_url, set_location, set_description, set_salary;
};

enum jobs_sort {
	JOBS_SORT_CREATED_DESC = 0,
	JOBS_SORT_CREATED,
	JOBS_SORT_APPLIED,
	JOBS_SORT_APPLIED_DESC
};

struct jobs_query {
	const char *status; /* NULL: all */
	const char *q;      /* NULL: all; else a case-insensitive substring of company/position */
	enum jobs_sort sort;
	const char *cursor; /* NULL: first page */
	int limit;          /* 1..JOBS_LIMIT_MAX */
};

struct jobs_page {
	struct job *items;
	size_t n;
	const char *next_cursor; /* NULL on the last page */
};

struct job_stats {
	int64_t counts[JOBS_NSTATUS]; /* in jobs_statuses order */
	int64_t total;
};

struct note {
	const char *id;
	const char *job_id;
	const char *content;
	const char *reminder_time; /* NULL: none */
	const char *reminded_at;   /* NULL: not (yet) mailed */
	const char *created_at;
	const char *updated_at;
};

struct note_input {
	const char *content;
	const char *reminder_time;          /* RFC 3339 with an offset, or NULL */
	int set_content, set_reminder_time; /* PATCH */
};

struct notes_page {
	struct note *items;
	size_t n;
	const char *next_cursor;
};

/* jobs_register adds the module's statements to db (services.c; medrin-worker too). */
int jobs_register(struct db *db) MUSTCHECK;

/* Pure checks shared by the API layer and the unit tests. */
int jobs_url_valid(const char *url);       /* http(s)://host..., no space or control */
int jobs_rfc3339_valid(const char *s);     /* YYYY-MM-DDTHH:MM:SS[.f](Z|+-HH:MM), real */
int jobs_single_line(const char *s);       /* no control characters */
int jobs_currency_valid(const char *s);    /* three upper-case ASCII letters */
int jobs_status_index(const char *status); /* index in jobs_statuses, or -1 */
/* jobs_like_pattern: "%q%" with \, % and _ escaped (arena). */
char *jobs_like_pattern(struct arena *a, const char *q);

int jobs_create(struct ctx *c, const struct job_input *in, struct job *out) MUSTCHECK;
int jobs_get(struct ctx *c, const char *id, struct job *out) MUSTCHECK;
int jobs_list(struct ctx *c, const struct jobs_query *q, struct jobs_page *out) MUSTCHECK;
/* jobs_replace (PUT) and jobs_update (PATCH): ERR_NOT_FOUND, ERR_INVALID (field named). */
int jobs_replace(struct ctx *c, const char *id, const struct job_input *in,
                 struct job *out) MUSTCHECK;
int jobs_update(struct ctx *c, const char *id, const struct job_patch *p,
                struct job *out) MUSTCHECK;
/* jobs_delete deletes the job and its notes and cancels their reminders (one statement). */
int jobs_delete(struct ctx *c, const char *id) MUSTCHECK;
int jobs_stats(struct ctx *c, struct job_stats *out) MUSTCHECK;

int jobs_notes_list(struct ctx *c, const char *job_id, const char *cursor, int limit,
                    struct notes_page *out) MUSTCHECK;
/* jobs_notes_batch: the first per_job (1..JOBS_LIMIT_MAX) notes of each of the caller's
 * jobs among job_ids[0..n) (n <= JOBS_LIMIT_MAX), oldest first, grouped by job (in
 * job id order), in one statement: GraphQL loads a page of jobs with their notes this
 * way. Ids that are not the caller's jobs (or not UUIDs) have no notes. *out is arena
 * memory. ERR_UNAVAILABLE / ERR_INTERNAL. */
int jobs_notes_batch(struct ctx *c, const char *const *job_ids, size_t n, int per_job,
                     struct note **out, size_t *nout) MUSTCHECK;
int jobs_note_create(struct ctx *c, const char *job_id, const struct note_input *in,
                     struct note *out) MUSTCHECK;
int jobs_note_update(struct ctx *c, const char *note_id, const struct note_input *in,
                     struct note *out) MUSTCHECK;
int jobs_note_delete(struct ctx *c, const char *note_id) MUSTCHECK;

/* What jobs_reminder_fire did. */
enum jobs_reminder_outcome {
	JOBS_REMINDER_SENT = 0, /* the mail is queued, reminded_at set */
	JOBS_REMINDER_STALE     /* nothing to do: note gone, re-armed, or already reminded */
};

/* jobs_reminder_fire (medrin-worker, kind "reminder"): in one transaction, sets the
 * note's reminded_at if task_id is still its reminder and it was not reminded yet, and
 * queues the mail (company, position, the note, a link to the job; "late" when more than
 * JOBS_REMINDER_LATE_SECONDS after its time). *late is set when it was late.
 * ERR_UNAVAILABLE / ERR_INTERNAL: retry (nothing was written). */
int jobs_reminder_fire(struct db *db, const struct config *cfg, struct arena *a,
                       const char *task_id, const char *note_id,
                       enum jobs_reminder_outcome *outcome, int *late) MUSTCHECK;

#endif
