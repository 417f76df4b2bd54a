/* jobs.c - the job-application tracker; see jobs.h and docs/internals/jobs.md. */
#include "domain/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/ctx.h"
#include "domain/mailer.h"
#include "domain/tasks.h"
#include "store/db.h"

const char *const jobs_statuses[JOBS_NSTATUS + 1] = {
    "wishlist", "applied", "interviewing", "offer", "accepted", "rejected", "withdrawn", NULL};
const char *const jobs_salary_periods[] = {"hour", "day", "week", "month", "year", NULL};

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The exact key of a created_at cursor (microseconds, UTC). */
#define TS_US(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define JOB_COLS                                                                             \
	"id::text, company_name, position, status, to_char(applied_on, 'YYYY-MM-DD'), url, " \
	"location, description, salary_min::text, salary_max::text, salary_currency, "       \
	"salary_period, " TS("created_at") ", " TS("updated_at") ", " TS_US("created_at")
#define JOB_NCOLS 15

#define NOTE_COLS                                                                                  \
	"n.id::text, n.job_id::text, n.content, " TS("n.reminder_time") ", " TS(                   \
	    "n.reminded_at") ", " TS("n.created_at") ", " TS("n.updated_at") ", " TS_US("n."       \
	                                                                                "created_" \
	                                                                                "at") ", " \
	                                                                                      "n." \
	                                                                                      "re" \
	                                                                                      "mi" \
	                                                                                      "nd" \
	                                                                                      "er" \
	                                                                                      "_t" \
	                                                                                      "as" \
	                                                                                      "k:" \
	                                                                                      ":t" \
	                                                                                      "ex" \
	                                                                                      "t"

/* One list statement per (sort, status filter): $1 user, $2/$3 the keyset position
 * (the cursor's, or a sentinel before the first row), $4 the LIKE pattern or NULL,
 * $5 the limit, $6 the status. The row comparison is an index condition on the
 * (user_id[, status], key, id) indexes; descending sorts scan them backward. */
#define LIST_SQL(filter, key, cast, cmp, dir)                                                     \
	"SELECT " JOB_COLS " FROM jobs WHERE user_id = $1::uuid" filter " AND (" key ", id) " cmp \
	" ($2::" cast ", $3::uuid) AND ($4::text IS NULL OR company_name ILIKE $4::text "         \
	"OR position ILIKE $4::text) ORDER BY jobs." key " " dir ", jobs.id " dir " LIMIT $5::int"
#define ST " AND status = $6::text"

/* The written columns: $2..$12 for an insert (after the owner), $3..$13 for an update
 * (after the id and the owner). */
#define JOB_INSERT_PARAMS                                                                    \
	"$2::text, $3::text, $4::text, $5::date, $6::text, $7::text, $8::text, $9::bigint, " \
	"$10::bigint, $11::text, $12::text"
#define JOB_WRITE_PARAMS                                                                      \
	"$3::text, $4::text, $5::text, $6::date, $7::text, $8::text, $9::text, $10::bigint, " \
	"$11::bigint, $12::text, $13::text"

static const struct db_stmt jobs_stmts[] = {
    {"jobs_list_created_desc", LIST_SQL("", "created_at", "timestamptz", "<", "DESC"), 5},
    {"jobs_list_created", LIST_SQL("", "created_at", "timestamptz", ">", "ASC"), 5},
    {"jobs_list_applied", LIST_SQL("", "applied_on", "date", ">", "ASC"), 5},
    {"jobs_list_applied_desc", LIST_SQL("", "applied_on", "date", "<", "DESC"), 5},
    {"jobs_list_created_desc_st", LIST_SQL(ST, "created_at", "timestamptz", "<", "DESC"), 6},
    {"jobs_list_created_st", LIST_SQL(ST, "created_at", "timestamptz", ">", "ASC"), 6},
    {"jobs_list_applied_st", LIST_SQL(ST, "applied_on", "date", ">", "ASC"), 6},
    {"jobs_list_applied_desc_st", LIST_SQL(ST, "applied_on", "date", "<", "DESC"), 6},
    {"jobs_insert",
     "INSERT INTO jobs (user_id, company_name, position, status, applied_on, url, location, "
     "description, salary_min, salary_max, salary_currency, salary_period) "
     "VALUES ($1::uuid, " JOB_INSERT_PARAMS ") RETURNING " JOB_COLS,
     12},
    {"jobs_get", "SELECT " JOB_COLS " FROM jobs WHERE id = $1::uuid AND user_id = $2::uuid", 2},
    {"jobs_get_for_update",
     "SELECT " JOB_COLS " FROM jobs WHERE id = $1::uuid AND user_id = $2::uuid FOR UPDATE", 2},
    {"jobs_update",
     "UPDATE jobs SET (company_name, position, status, applied_on, url, location, "
     "description, salary_min, salary_max, salary_currency, salary_period, updated_at) = "
     "(" JOB_WRITE_PARAMS ", clock_timestamp()) "
     "WHERE id = $1::uuid AND user_id = $2::uuid RETURNING " JOB_COLS,
     13},
    /* The job, its notes (ON DELETE CASCADE) and their queued reminders, at once. The
     * CTEs see the rows as they were before the statement, so the notes are still there
     * for the task lookup. */
    {"jobs_delete",
     "WITH j AS (DELETE FROM jobs WHERE id = $1::uuid AND user_id = $2::uuid RETURNING id), "
     "t AS (DELETE FROM tasks WHERE kind = 'reminder' AND status = 'queued' AND id IN "
     "(SELECT n.reminder_task FROM notes n JOIN j ON n.job_id = j.id)) "
     "SELECT count(*) FROM j",
     2},
    {"jobs_stats", "SELECT status, count(*) FROM jobs WHERE user_id = $1::uuid GROUP BY status", 1},
    {"jobs_owned", "SELECT 1 FROM jobs WHERE id = $1::uuid AND user_id = $2::uuid", 2},
    {"notes_list",
     "SELECT " NOTE_COLS " FROM notes n WHERE n.job_id = $1::uuid AND (n.created_at, n.id) > "
     "($2::timestamptz, $3::uuid) ORDER BY n.created_at, n.id LIMIT $4::int",
     4},
    /* GraphQL's Job.notes: the first $3 notes of each of the jobs $1 (the caller's, $2), in
     * one statement for a whole page of jobs; notes_job_created_idx serves each
     * partition in order. */
    {"notes_batch",
     "SELECT " NOTE_COLS " FROM (SELECT n.*, row_number() OVER (PARTITION BY n.job_id "
     "ORDER BY n.created_at, n.id) AS rn FROM notes n JOIN jobs j ON j.id = n.job_id "
     "WHERE n.job_id = ANY($1::uuid[]) AND j.user_id = $2::uuid) n WHERE n.rn <= $3::int "
     "ORDER BY n.job_id, n.created_at, n.id",
     3},
    {"notes_insert",
     "INSERT INTO notes AS n (job_id, content, reminder_time) SELECT j.id, $3::text, "
     "$4::timestamptz FROM jobs j WHERE j.id = $1::uuid AND j.user_id = $2::uuid "
     "RETURNING " NOTE_COLS,
     4},
    {"notes_set_task", "UPDATE notes SET reminder_task = $2::uuid WHERE id = $1::uuid", 2},
    {"notes_get_for_update",
     "SELECT " NOTE_COLS " FROM notes n JOIN jobs j ON j.id = n.job_id "
     "WHERE n.id = $1::uuid AND j.user_id = $2::uuid FOR UPDATE OF n",
     2},
    /* $4 true: the reminder is re-armed (reminded_at cleared, task $5). */
    {"notes_update",
     "UPDATE notes n SET content = $2::text, "
     "reminder_time = CASE WHEN $4::bool THEN $3::timestamptz ELSE n.reminder_time END, "
     "reminded_at = CASE WHEN $4::bool THEN NULL ELSE n.reminded_at END, "
     "reminder_task = CASE WHEN $4::bool THEN $5::uuid ELSE n.reminder_task END, "
     "updated_at = clock_timestamp() WHERE n.id = $1::uuid RETURNING " NOTE_COLS,
     5},
    {"notes_cancel_task",
     "DELETE FROM tasks WHERE id = $1::uuid AND kind = 'reminder' AND status = 'queued'", 1},
    {"notes_delete",
     "WITH d AS (DELETE FROM notes n USING jobs j WHERE n.id = $1::uuid AND j.id = n.job_id "
     "AND j.user_id = $2::uuid RETURNING n.reminder_task), "
     "t AS (DELETE FROM tasks WHERE kind = 'reminder' AND status = 'queued' AND id IN "
     "(SELECT reminder_task FROM d)) SELECT count(*) FROM d",
     2},
    /* The worker: fire once. The row lock taken by this UPDATE serialises it with a
     * concurrent re-arm or delete; the guard makes a second run (another worker, a
     * retried task) a no-op. */
    {"jobs_reminder_fire",
     "UPDATE notes n SET reminded_at = clock_timestamp() FROM jobs j JOIN users u ON "
     "u.id = j.user_id WHERE n.id = $1::uuid AND n.reminder_task = $2::uuid AND "
     "n.reminded_at IS NULL AND j.id = n.job_id RETURNING u.email, j.id::text, "
     "j.company_name, j.position, n.content, "
     "to_char(n.reminder_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), "
     "clock_timestamp() - n.reminder_time > make_interval(secs => $3::int)",
     3},
};

int jobs_register(struct db *db)
{
	return db_register(db, jobs_stmts, sizeof jobs_stmts / sizeof jobs_stmts[0]);
}

/* ------------------------------------------------------------------ pure checks */

static int digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* date_ok: YYYY-MM-DD at s (exactly 10 characters read), a real calendar date. */
static int date_ok(const char *s)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return 0;
	y = num(s, 4);
	m = num(s + 5, 2);
	d = num(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

int jobs_rfc3339_valid(const char *s)
{
	size_t i = 19;

	if (s == NULL || strlen(s) < 20 || !date_ok(s) || (s[10] != 'T' && s[10] != 't'))
		return 0;
	if (!digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return 0;
	if (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59)
		return 0; /* leap seconds are refused: PostgreSQL cannot store them either */
	if (s[i] == '.') {
		size_t f = ++i;

		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return 0;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return 1;
	if ((s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2) && s[i + 6] == '\0')
		return num(s + i + 1, 2) <= 23 && num(s + i + 4, 2) <= 59;
	return 0;
}

int jobs_single_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int jobs_url_valid(const char *url)
{
	const char *host;

	if (url == NULL)
		return 0;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#' || *host == ':' ||
	    *host == '@')
		return 0;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return 0;
	return 1;
}

int jobs_currency_valid(const char *s)
{
	return s != NULL && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	       s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

int jobs_status_index(const char *status)
{
	for (int i = 0; status != NULL && i < JOBS_NSTATUS; i++)
		if (strcmp(status, jobs_statuses[i]) == 0)
			return i;
	return -1;
}

char *jobs_like_pattern(struct arena *a, const char *q)
{
	size_t n = strlen(q);
	char *out = arena_alloc(a, 2 * n + 3), *o = out;

	*o++ = '%';
	for (const char *p = q; *p; p++) {
		if (*p == '\\' || *p == '%' || *p == '_')
			*o++ = '\\';
		*o++ = *p;
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

/* ------------------------------------------------------------------ rows */

static const char *opt(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);

	return v != NULL ? arena_strdup(a, v) : NULL;
}

static const char *req(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);

	return arena_strdup(a, v != NULL ? v : "");
}

static void fill_job(struct arena *a, const PGresult *res, int row, struct job *j)
{
	memset(j, 0, sizeof *j);
	j->id = req(a, res, row, 0);
	j->company_name = req(a, res, row, 1);
	j->position = req(a, res, row, 2);
	j->status = req(a, res, row, 3);
	j->applied_on = req(a, res, row, 4);
	j->url = opt(a, res, row, 5);
	j->location = opt(a, res, row, 6);
	j->description = opt(a, res, row, 7);
	if (db_value(res, row, 10) != NULL) {
		j->salary.present = 1;
		j->salary.has_min = db_value(res, row, 8) != NULL;
		j->salary.has_max = db_value(res, row, 9) != NULL;
		j->salary.min = j->salary.has_min ? strtoll(db_value(res, row, 8), NULL, 10) : 0;
		j->salary.max = j->salary.has_max ? strtoll(db_value(res, row, 9), NULL, 10) : 0;
		j->salary.currency = req(a, res, row, 10);
		j->salary.period = req(a, res, row, 11);
	}
	j->created_at = req(a, res, row, 12);
	j->updated_at = req(a, res, row, 13);
}

static void fill_note(struct arena *a, const PGresult *res, int row, struct note *n)
{
	memset(n, 0, sizeof *n);
	n->id = req(a, res, row, 0);
	n->job_id = req(a, res, row, 1);
	n->content = req(a, res, row, 2);
	n->reminder_time = opt(a, res, row, 3);
	n->reminded_at = opt(a, res, row, 4);
	n->created_at = req(a, res, row, 5);
	n->updated_at = req(a, res, row, 6);
}

static int not_found(struct ctx *c, const char *what)
{
	return ctx_fail(c, ERR_NOT_FOUND, "not_found", arena_printf(c->arena, "No such %s", what));
}

static int bad_cursor(struct ctx *c)
{
	int rc = ctx_fail(c, ERR_INVALID, "validation_failed", "The cursor is not valid here");

	c->why.field = "cursor";
	return rc;
}

/* db_fail: a data error from a CHECK (ERR_INVALID) should not happen after validation;
 * anything else passes through. */
static int db_fail(struct ctx *c, int rc)
{
	if (rc == ERR_INVALID)
		return ctx_fail(c, ERR_INVALID, "validation_failed", "A value is out of range");
	return rc;
}

static const char *i64(struct arena *a, int has, int64_t v)
{
	return has ? arena_printf(a, "%lld", (long long)v) : NULL;
}

/* write_params: the eleven written columns, from p[0]. */
static void write_params(struct arena *a, const struct job_input *in, const char **p)
{
	p[0] = in->company_name;
	p[1] = in->position;
	p[2] = in->status;
	p[3] = in->applied_on;
	p[4] = in->url;
	p[5] = in->location;
	p[6] = in->description;
	p[7] = in->salary.present ? i64(a, in->salary.has_min, in->salary.min) : NULL;
	p[8] = in->salary.present ? i64(a, in->salary.has_max, in->salary.max) : NULL;
	p[9] = in->salary.present ? in->salary.currency : NULL;
	p[10] = in->salary.present ? in->salary.period : NULL;
}

static int own(struct ctx *c, const char *id)
{
	return id != NULL && util_uuid_valid(id) && c->actor.user_id != NULL;
}

/* ------------------------------------------------------------------ jobs */

/* exec_one runs a statement inside the caller's transaction that must touch exactly the
 * one row it names (locked before): another count is a bug, ERR_INTERNAL. */
static int exec_one(struct ctx *c, const char *stmt, int n, const char **p, PGresult **res)
{
	int rc = db_exec(c->db, c->arena, stmt, n, p, res);

	if (rc == ERR_OK && db_rows(*res) != 1)
		rc = ERR_INTERNAL;
	return rc;
}

int jobs_create(struct ctx *c, const struct job_input *in, struct job *out)
{
	const char *p[12] = {c->actor.user_id};
	PGresult *res = NULL;
	int rc;

	if (c->actor.user_id == NULL)
		return ERR_UNAUTHORIZED;
	write_params(c->arena, in, p + 1);
	rc = db_exec(c->db, c->arena, "jobs_insert", 12, p, &res);
	if (rc != ERR_OK)
		return db_fail(c, rc);
	if (db_rows(res) != 1)
		return ERR_INTERNAL;
	fill_job(c->arena, res, 0, out);
	return ERR_OK;
}

int jobs_get(struct ctx *c, const char *id, struct job *out)
{
	const char *p[2] = {id, c->actor.user_id};
	PGresult *res = NULL;
	int rc;

	if (!own(c, id))
		return not_found(c, "job");
	rc = db_exec(c->db, c->arena, "jobs_get", 2, p, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return not_found(c, "job");
	fill_job(c->arena, res, 0, out);
	return ERR_OK;
}

int jobs_replace(struct ctx *c, const char *id, const struct job_input *in, struct job *out)
{
	const char *p[13] = {id, c->actor.user_id};
	PGresult *res = NULL;
	int rc;

	if (!own(c, id))
		return not_found(c, "job");
	write_params(c->arena, in, p + 2);
	rc = db_exec(c->db, c->arena, "jobs_update", 13, p, &res);
	if (rc != ERR_OK)
		return db_fail(c, rc);
	if (db_rows(res) != 1)
		return not_found(c, "job");
	fill_job(c->arena, res, 0, out);
	return ERR_OK;
}

int jobs_update(struct ctx *c, const char *id, const struct job_patch *pt, struct job *out)
{
	const char *p[13] = {id, c->actor.user_id};
	struct job_input in;
	struct job cur;
	PGresult *res = NULL;
	int rc;

	if (!own(c, id))
		return not_found(c, "job");
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "jobs_get_for_update", 2, p, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		db_rollback(c->db);
		return not_found(c, "job");
	}
	fill_job(c->arena, res, 0, &cur);
	in.company_name = pt->set_company_name ? pt->v.company_name : cur.company_name;
	in.position = pt->set_position ? pt->v.position : cur.position;
	in.status = pt->set_status ? pt->v.status : cur.status;
	in.applied_on = pt->set_applied_on ? pt->v.applied_on : cur.applied_on;
	in.url = pt->set_url ? pt->v.url : cur.url;
	in.location = pt->set_location ? pt->v.location : cur.location;
	in.description = pt->set_description ? pt->v.description : cur.description;
	in.salary = pt->set_salary ? pt->v.salary : cur.salary;
	write_params(c->arena, &in, p + 2);
	rc = exec_one(c, "jobs_update", 13, p, &res);
	if (rc != ERR_OK)
		goto fail;
	fill_job(c->arena, res, 0, out);
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		goto fail;
	return ERR_OK;
fail:
	db_rollback(c->db);
	return db_fail(c, rc);
}

/* delete_owned runs stmt (id, owner; it answers the count deleted): not found unless
 * the caller's row went. */
static int delete_owned(struct ctx *c, const char *stmt, const char *id, const char *what)
{
	const char *p[2] = {id, c->actor.user_id};
	PGresult *res = NULL;
	int rc;

	if (!own(c, id))
		return not_found(c, what);
	rc = db_exec(c->db, c->arena, stmt, 2, p, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1 || strcmp(db_value(res, 0, 0), "1") != 0)
		return not_found(c, what);
	return ERR_OK;
}

int jobs_delete(struct ctx *c, const char *id)
{
	return delete_owned(c, "jobs_delete", id, "job");
}

int jobs_stats(struct ctx *c, struct job_stats *out)
{
	const char *p[1] = {c->actor.user_id};
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (c->actor.user_id == NULL)
		return ERR_UNAUTHORIZED;
	rc = db_exec(c->db, c->arena, "jobs_stats", 1, p, &res);
	if (rc != ERR_OK)
		return rc;
	for (int i = 0; i < db_rows(res); i++) {
		int k = jobs_status_index(db_value(res, i, 0));
		int64_t n = strtoll(db_value(res, i, 1), NULL, 10);

		if (k >= 0)
			out->counts[k] = n;
		out->total += n;
	}
	return ERR_OK;
}

/* The cursor: "<sort letter><key>_<id>", the key being the last row's applied_on
 * (YYYY-MM-DD) or exact created_at (RFC 3339 UTC with microseconds). */
static const char sort_letters[] = {'C', 'c', 'a', 'A'};
static const char *const list_stmts[4][2] = {
    {"jobs_list_created_desc", "jobs_list_created_desc_st"},
    {"jobs_list_created", "jobs_list_created_st"},
    {"jobs_list_applied", "jobs_list_applied_st"},
    {"jobs_list_applied_desc", "jobs_list_applied_desc_st"},
};

static int cursor_parse(struct arena *a, const char *cur, char letter, int applied,
                        const char **key, const char **id)
{
	const char *sep;

	if (cur == NULL || cur[0] != letter || (sep = strrchr(cur, '_')) == NULL ||
	    !util_uuid_valid(sep + 1))
		return ERR_INVALID;
	*key = arena_strndup(a, cur + 1, (size_t)(sep - cur - 1));
	*id = sep + 1;
	if (applied ? (strlen(*key) != 10 || !date_ok(*key)) : !jobs_rfc3339_valid(*key))
		return ERR_INVALID;
	return ERR_OK;
}

int jobs_list(struct ctx *c, const struct jobs_query *q, struct jobs_page *out)
{
	int applied = q->sort == JOBS_SORT_APPLIED || q->sort == JOBS_SORT_APPLIED_DESC;
	int desc = q->sort == JOBS_SORT_CREATED_DESC || q->sort == JOBS_SORT_APPLIED_DESC;
	const char *p[6] = {c->actor.user_id};
	PGresult *res = NULL;
	int rc, rows;

	memset(out, 0, sizeof *out);
	if (c->actor.user_id == NULL)
		return ERR_UNAUTHORIZED;
	if ((unsigned)q->sort > JOBS_SORT_APPLIED_DESC || q->limit < 1 || q->limit > JOBS_LIMIT_MAX)
		return ERR_INTERNAL;
	if (q->cursor != NULL) {
		if (cursor_parse(c->arena, q->cursor, sort_letters[q->sort], applied, &p[1],
		                 &p[2]) != ERR_OK)
			return bad_cursor(c);
	} else {
		p[1] = desc ? "infinity" : "-infinity";
		p[2] = desc ? "ffffffff-ffff-ffff-ffff-ffffffffffff"
		            : "00000000-0000-0000-0000-000000000000";
	}
	p[3] = q->q != NULL && *q->q ? jobs_like_pattern(c->arena, q->q) : NULL;
	p[4] = arena_printf(c->arena, "%d", q->limit + 1);
	p[5] = q->status;
	rc = db_exec(c->db, c->arena, list_stmts[q->sort][q->status != NULL], q->status ? 6 : 5, p,
	             &res);
	if (rc == ERR_INVALID)
		return bad_cursor(c); /* a key PostgreSQL cannot take (a year out of its range) */
	if (rc != ERR_OK)
		return rc;
	rows = db_rows(res);
	out->n = (size_t)(rows > q->limit ? q->limit : rows);
	out->items = arena_zalloc(c->arena, (out->n ? out->n : 1) * sizeof *out->items);
	for (size_t i = 0; i < out->n; i++)
		fill_job(c->arena, res, (int)i, &out->items[i]);
	if (rows > q->limit) {
		int last = q->limit - 1;

		out->next_cursor =
		    arena_printf(c->arena, "%c%s_%s", sort_letters[q->sort],
		                 applied ? db_value(res, last, 4) : db_value(res, last, 14),
		                 db_value(res, last, 0));
	}
	return ERR_OK;
}

/* ------------------------------------------------------------------ notes */

int jobs_notes_list(struct ctx *c, const char *job_id, const char *cursor, int limit,
                    struct notes_page *out)
{
	const char *p[4] = {job_id, "-infinity", "00000000-0000-0000-0000-000000000000", NULL};
	const char *own_p[2] = {job_id, c->actor.user_id};
	PGresult *res = NULL;
	int rc, rows;

	memset(out, 0, sizeof *out);
	if (!own(c, job_id))
		return not_found(c, "job");
	if (limit < 1 || limit > JOBS_LIMIT_MAX)
		return ERR_INTERNAL;
	if (cursor != NULL && cursor_parse(c->arena, cursor, 'n', 0, &p[1], &p[2]) != ERR_OK)
		return bad_cursor(c);
	rc = db_exec(c->db, c->arena, "jobs_owned", 2, own_p, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return not_found(c, "job");
	p[3] = arena_printf(c->arena, "%d", limit + 1);
	rc = db_exec(c->db, c->arena, "notes_list", 4, p, &res);
	if (rc == ERR_INVALID)
		return bad_cursor(c);
	if (rc != ERR_OK)
		return rc;
	rows = db_rows(res);
	out->n = (size_t)(rows > limit ? limit : rows);
	out->items = arena_zalloc(c->arena, (out->n ? out->n : 1) * sizeof *out->items);
	for (size_t i = 0; i < out->n; i++)
		fill_note(c->arena, res, (int)i, &out->items[i]);
	if (rows > limit)
		out->next_cursor = arena_printf(c->arena, "n%s_%s", db_value(res, limit - 1, 7),
		                                db_value(res, limit - 1, 0));
	return ERR_OK;
}

/* arm queues the reminder task of note_id for reminder_time and records it on the note. */
static int arm(struct ctx *c, const char *note_id, const char *reminder_time, char **task_id)
{
	struct record payload;
	const char *p[2];
	int rc;

	memset(&payload, 0, sizeof payload);
	if (record_set(&payload, "note_id", note_id) != ERR_OK)
		return ERR_INTERNAL;
	rc = tasks_enqueue_at(c->db, c->arena, "reminder", c->actor.user_id, &payload,
	                      reminder_time, task_id);
	if (rc != ERR_OK)
		return rc;
	p[0] = note_id;
	p[1] = *task_id;
	return db_exec(c->db, c->arena, "notes_set_task", 2, p, NULL);
}

int jobs_notes_batch(struct ctx *c, const char *const *job_ids, size_t n, int per_job,
                     struct note **out, size_t *nout)
{
	const char *p[3] = {NULL, c->actor.user_id, NULL};
	PGresult *res = NULL;
	struct buf ids;
	int rc = ERR_OK, rows;

	*out = NULL;
	*nout = 0;
	if (c->actor.user_id == NULL || per_job < 1 || per_job > JOBS_LIMIT_MAX ||
	    n > JOBS_LIMIT_MAX)
		return ERR_INTERNAL;
	if (n == 0)
		return ERR_OK;
	/* A text array literal of UUIDs: anything else is left out (it owns no notes). */
	buf_init(&ids, c->arena, (JOBS_LIMIT_MAX + 1) * 40);
	rc = buf_putc(&ids, '{');
	for (size_t i = 0; i < n && rc == ERR_OK; i++) {
		if (job_ids[i] == NULL || !util_uuid_valid(job_ids[i]))
			continue;
		if (ids.len > 1)
			rc = buf_putc(&ids, ',');
		if (rc == ERR_OK)
			rc = buf_puts(&ids, job_ids[i]);
	}
	if (rc == ERR_OK)
		rc = buf_putc(&ids, '}');
	if (rc != ERR_OK)
		return ERR_INTERNAL;
	p[0] = buf_str(&ids);
	p[2] = arena_printf(c->arena, "%d", per_job);
	rc = db_exec(c->db, c->arena, "notes_batch", 3, p, &res);
	if (rc != ERR_OK)
		return rc;
	rows = db_rows(res);
	*out = arena_zalloc(c->arena, (size_t)(rows > 0 ? rows : 1) * sizeof **out);
	for (int i = 0; i < rows; i++)
		fill_note(c->arena, res, i, &(*out)[i]);
	*nout = (size_t)rows;
	return ERR_OK;
}

int jobs_note_create(struct ctx *c, const char *job_id, const struct note_input *in,
                     struct note *out)
{
	const char *p[4] = {job_id, c->actor.user_id, in->content, in->reminder_time};
	PGresult *res = NULL;
	char *task = NULL;
	int rc;

	if (!own(c, job_id))
		return not_found(c, "job");
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "notes_insert", 4, p, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		db_rollback(c->db);
		return not_found(c, "job");
	}
	fill_note(c->arena, res, 0, out);
	if (in->reminder_time != NULL) {
		rc = arm(c, out->id, in->reminder_time, &task);
		if (rc != ERR_OK)
			goto fail;
	}
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		goto fail;
	return ERR_OK;
fail:
	db_rollback(c->db);
	return db_fail(c, rc);
}

int jobs_note_update(struct ctx *c, const char *note_id, const struct note_input *in,
                     struct note *out)
{
	const char *p[5] = {note_id, c->actor.user_id};
	struct note cur;
	PGresult *res = NULL;
	const char *old_task;
	char *task = NULL;
	int rc;

	if (!own(c, note_id))
		return not_found(c, "note");
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "notes_get_for_update", 2, p, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		db_rollback(c->db);
		return not_found(c, "note");
	}
	fill_note(c->arena, res, 0, &cur);
	old_task = db_value(res, 0, 8);
	/* Giving reminder_time re-arms (or, with null, cancels) the reminder: the old task
	 * goes (if it has not started; a running one finds itself superseded) and a new one
	 * is queued for the new time. */
	if (in->set_reminder_time) {
		if (old_task != NULL) {
			const char *tp[1] = {old_task};

			rc = db_exec(c->db, c->arena, "notes_cancel_task", 1, tp, NULL);
			if (rc != ERR_OK)
				goto fail;
		}
		if (in->reminder_time != NULL) {
			rc = arm(c, note_id, in->reminder_time, &task);
			if (rc != ERR_OK)
				goto fail;
		}
	}
	p[1] = in->set_content ? in->content : cur.content;
	p[2] = in->set_reminder_time ? in->reminder_time : NULL;
	p[3] = in->set_reminder_time ? "true" : "false";
	p[4] = task;
	rc = exec_one(c, "notes_update", 5, p, &res);
	if (rc != ERR_OK)
		goto fail;
	fill_note(c->arena, res, 0, out);
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		goto fail;
	return ERR_OK;
fail:
	db_rollback(c->db);
	return db_fail(c, rc);
}

int jobs_note_delete(struct ctx *c, const char *note_id)
{
	return delete_owned(c, "notes_delete", note_id, "note");
}

/* ------------------------------------------------------------------ the worker's side */

int jobs_reminder_fire(struct db *db, const struct config *cfg, struct arena *a,
                       const char *task_id, const char *note_id,
                       enum jobs_reminder_outcome *outcome, int *late)
{
	char late_s[16];
	const char *p[3] = {note_id, task_id, late_s};
	struct mailer_reminder m;
	PGresult *res = NULL;
	int rc;

	*outcome = JOBS_REMINDER_STALE;
	*late = 0;
	if (note_id == NULL || !util_uuid_valid(note_id) || task_id == NULL ||
	    !util_uuid_valid(task_id))
		return ERR_INVALID;
	snprintf(late_s, sizeof late_s, "%d", JOBS_REMINDER_LATE_SECONDS);
	rc = db_begin(db);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(db, a, "jobs_reminder_fire", 3, p, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		db_rollback(db);
		return ERR_OK; /* deleted, re-armed, or already mailed */
	}
	memset(&m, 0, sizeof m);
	m.to = db_value(res, 0, 0);
	m.job_id = db_value(res, 0, 1);
	m.company = db_value(res, 0, 2);
	m.position = db_value(res, 0, 3);
	m.note = db_value(res, 0, 4);
	m.due = db_value(res, 0, 5);
	m.late = db_value(res, 0, 6) != NULL && db_value(res, 0, 6)[0] == 't';
	rc = mailer_queue_reminder(db, cfg, a, &m);
	if (rc != ERR_OK)
		goto fail;
	rc = db_commit(db);
	if (rc != ERR_OK)
		goto fail;
	*outcome = JOBS_REMINDER_SENT;
	*late = m.late;
	return ERR_OK;
fail:
	db_rollback(db);
	return rc;
}
