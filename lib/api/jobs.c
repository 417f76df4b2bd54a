/* jobs.c - the job-application tracker under /api/v1/jobs and /api/v1/notes (api.md
 * "Job-application tracker"). Each handler validates its input (field tables, every
 * problem in one 422), calls one function of domain/jobs.h and renders the result
 * (api/render.h) or the outcome (api_outcome). Rules, transactions and reminders live in
 * lib/domain/jobs.c; docs/internals/jobs.md explains them. */
#include "api/api.h"

#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "api/render.h"
#include "domain/jobs.h"

#define CURSOR_MAX 200
#define TIME_MAX 64

static const char *const sorts[] = {"-created_at", "created_at", "applied_on", "-applied_on", NULL};

/* utf8_ok: s is well-formed UTF-8 (query strings arrive percent-decoded, unchecked). */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80             ? 0
		        : (*p & 0xe0) == 0xc0 ? 1
		        : (*p & 0xf0) == 0xe0 ? 2
		        : (*p & 0xf8) == 0xf0 ? 3
		                              : -1;

		if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4))
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void check_line(struct api_req *r, struct json_errors *errs, const char *prefix,
                       const char *field, const char *v)
{
	if (v != NULL && !jobs_single_line(v))
		json_errors_add(errs, r->arena, prefix, field, "must be one line of text");
}

/* salary: {"min"?, "max"?, "currency", "period"?} (period defaults to "year"). */
static void parse_salary(struct api_req *r, json_object *obj, struct job_salary *s,
                         struct json_errors *errs)
{
	const char *currency = NULL, *period = NULL;
	struct json_field fields[] = {
	    {"min", JT_INT, JF_NULLABLE, 0, JOBS_SALARY_MAX, &s->min, &s->has_min, NULL},
	    {"max", JT_INT, JF_NULLABLE, 0, JOBS_SALARY_MAX, &s->max, &s->has_max, NULL},
	    {"currency", JT_STRING, JF_REQUIRED, 3, 3, &currency, NULL, NULL},
	    {"period", JT_ENUM, JF_NULLABLE, 0, 0, &period, NULL, jobs_salary_periods},
	};
	size_t before = errs->n;

	memset(s, 0, sizeof *s);
	(void)json_validate(r->arena, obj, fields, sizeof fields / sizeof fields[0], "salary",
	                    errs);
	/* "min": null counts as absent (present is set for null too) */
	json_object *v = NULL;

	s->has_min = s->has_min && json_object_object_get_ex(obj, "min", &v) && v != NULL;
	v = NULL;
	s->has_max = s->has_max && json_object_object_get_ex(obj, "max", &v) && v != NULL;
	if (errs->n > before)
		return;
	if (!jobs_currency_valid(currency))
		json_errors_add(errs, r->arena, "salary", "currency",
		                "must be an ISO 4217 code (three capital letters)");
	if (!s->has_min && !s->has_max)
		json_errors_add(errs, r->arena, "salary", "min", "min or max is required");
	if (s->has_min && s->has_max && s->min > s->max)
		json_errors_add(errs, r->arena, "salary", "max", "must not be less than min");
	s->present = 1;
	s->currency = currency;
	s->period = period != NULL ? period : "year";
}

/* api_jobs_parse_job validates a job body (the REST body, or the same object built from
 * a GraphQL input); see api.h. */
int api_jobs_parse_job(struct api_req *r, json_object *body, int required, struct job_patch *p,
                       struct json_errors *errs)
{
	json_object *salary = NULL;
	unsigned req = required ? JF_REQUIRED : 0;
	struct json_field fields[] = {
	    {"company_name", JT_STRING, req, 1, JOBS_TEXT_MAX, &p->v.company_name,
	     &p->set_company_name, NULL},
	    {"position", JT_STRING, req, 1, JOBS_TEXT_MAX, &p->v.position, &p->set_position, NULL},
	    {"status", JT_ENUM, req, 0, 0, &p->v.status, &p->set_status, jobs_statuses},
	    {"applied_on", JT_DATE, req, 0, 0, &p->v.applied_on, &p->set_applied_on, NULL},
	    {"url", JT_STRING, JF_NULLABLE, 1, JOBS_URL_MAX, &p->v.url, &p->set_url, NULL},
	    {"location", JT_STRING, JF_NULLABLE, 0, JOBS_TEXT_MAX, &p->v.location, &p->set_location,
	     NULL},
	    {"salary", JT_OBJECT, JF_NULLABLE, 0, 0, &salary, &p->set_salary, NULL},
	    {"description", JT_STRING, JF_NULLABLE, 0, JOBS_DESCRIPTION_MAX, &p->v.description,
	     &p->set_description, NULL},
	};
	size_t before = errs->n;

	memset(p, 0, sizeof *p);
	(void)json_validate(r->arena, body, fields, sizeof fields / sizeof fields[0], "", errs);
	check_line(r, errs, "", "company_name", p->v.company_name);
	check_line(r, errs, "", "position", p->v.position);
	check_line(r, errs, "", "location", p->v.location);
	if (p->v.url != NULL && !jobs_url_valid(p->v.url))
		json_errors_add(errs, r->arena, "", "url", "must be an http:// or https:// URL");
	if (salary != NULL)
		parse_salary(r, salary, &p->v.salary, errs);
	return errs->n > before ? ERR_INVALID : ERR_OK;
}

/* parse_job: POST and PUT (required), else PATCH; 0 or the 422 it rendered. */
static int parse_job(struct api_req *r, int required, struct job_patch *p)
{
	struct json_errors errs;

	memset(&errs, 0, sizeof errs);
	if (api_jobs_parse_job(r, r->body, required, p, &errs) != ERR_OK)
		return api_invalid(r, &errs);
	return 0;
}

static int job_answer(struct api_req *r, int rc, int status, const struct job *j)
{
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	if (status == 201)
		api_header(r, "Location", arena_printf(r->arena, "/api/v1/jobs/%s", j->id));
	return api_json(r, status, render_job(r->arena, j));
}

/* ------------------------------------------------------------------ jobs */

void api_jobs_check_query(struct api_req *r, const struct jobs_query *q, struct json_errors *errs)
{
	if (q->q != NULL &&
	    (strlen(q->q) > JOBS_Q_MAX || !utf8_ok(q->q) || !jobs_single_line(q->q)))
		json_errors_add(errs, r->arena, "", "q", "must be one line of at most 200 bytes");
	if (q->cursor != NULL && strlen(q->cursor) > CURSOR_MAX)
		json_errors_add(errs, r->arena, "", "cursor", "is not valid here");
}

int api_jobs_list(struct api_req *r)
{
	struct jobs_query q = {.sort = JOBS_SORT_CREATED_DESC, .limit = JOBS_LIMIT_DEFAULT};
	const char *status = api_query(r, "status"), *sort = api_query(r, "sort");
	const char *limit_s = api_query(r, "limit");
	struct json_errors errs;
	struct jobs_page page;
	long limit = JOBS_LIMIT_DEFAULT;
	int rc;

	memset(&errs, 0, sizeof errs);
	q.q = api_query(r, "q");
	q.cursor = api_query(r, "cursor");
	if (status != NULL && jobs_status_index(status) < 0)
		json_errors_add(&errs, r->arena, "", "status",
		                "must be one of wishlist, applied, interviewing, offer, accepted, "
		                "rejected, withdrawn");
	q.status = status;
	if (sort != NULL) {
		int k = -1;

		for (int i = 0; sorts[i] != NULL; i++)
			if (strcmp(sort, sorts[i]) == 0)
				k = i;
		if (k < 0)
			json_errors_add(&errs, r->arena, "", "sort",
			                "must be one of applied_on, -applied_on, created_at, "
			                "-created_at");
		else
			q.sort = (enum jobs_sort)k;
	}
	api_jobs_check_query(r, &q, &errs);
	if (limit_s != NULL && util_parse_long(limit_s, 1, JOBS_LIMIT_MAX, &limit) != ERR_OK)
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
	if (errs.n > 0)
		return api_invalid(r, &errs);
	q.limit = (int)limit;
	rc = jobs_list(&r->ctx, &q, &page);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_jobs_page(r->arena, &page));
}

int api_jobs_create(struct api_req *r)
{
	struct job_patch p;
	struct job j;
	int st = parse_job(r, 1, &p);

	if (st != 0)
		return st;
	return job_answer(r, jobs_create(&r->ctx, &p.v, &j), 201, &j);
}

int api_jobs_get(struct api_req *r)
{
	struct job j;

	return job_answer(r, jobs_get(&r->ctx, api_param(r, "id"), &j), 200, &j);
}

int api_jobs_replace(struct api_req *r)
{
	struct job_patch p;
	struct job j;
	int st = parse_job(r, 1, &p);

	if (st != 0)
		return st;
	return job_answer(r, jobs_replace(&r->ctx, api_param(r, "id"), &p.v, &j), 200, &j);
}

int api_jobs_update(struct api_req *r)
{
	struct job_patch p;
	struct job j;
	int st = parse_job(r, 0, &p);

	if (st != 0)
		return st;
	return job_answer(r, jobs_update(&r->ctx, api_param(r, "id"), &p, &j), 200, &j);
}

int api_jobs_delete(struct api_req *r)
{
	int rc = jobs_delete(&r->ctx, api_param(r, "id"));

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

int api_jobs_stats(struct api_req *r)
{
	struct job_stats s;
	int rc = jobs_stats(&r->ctx, &s);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_job_stats(r->arena, &s));
}

/* ------------------------------------------------------------------ notes */

int api_jobs_parse_note(struct api_req *r, json_object *body, int create, struct note_input *in,
                        struct json_errors *errs)
{
	struct json_field fields[] = {
	    {"content", JT_STRING, create ? JF_REQUIRED : 0, 1, JOBS_NOTE_MAX, &in->content,
	     &in->set_content, NULL},
	    {"reminder_time", JT_STRING, JF_NULLABLE, 1, TIME_MAX, &in->reminder_time,
	     &in->set_reminder_time, NULL},
	};
	size_t before = errs->n;

	memset(in, 0, sizeof *in);
	(void)json_validate(r->arena, body, fields, sizeof fields / sizeof fields[0], "", errs);
	if (in->reminder_time != NULL && !jobs_rfc3339_valid(in->reminder_time))
		json_errors_add(errs, r->arena, "", "reminder_time",
		                "must be an RFC 3339 date-time with an offset "
		                "(2026-12-01T09:00:00Z)");
	return errs->n > before ? ERR_INVALID : ERR_OK;
}

/* parse_note: POST (content required) or PATCH (content not null; reminder_time null
 * cancels the reminder); 0 or the 422 it rendered. */
static int parse_note(struct api_req *r, int create, struct note_input *in)
{
	struct json_errors errs;

	memset(&errs, 0, sizeof errs);
	if (api_jobs_parse_note(r, r->body, create, in, &errs) != ERR_OK)
		return api_invalid(r, &errs);
	return 0;
}

static int note_answer(struct api_req *r, int rc, int status, const struct note *n)
{
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	if (status == 201)
		api_header(r, "Location", arena_printf(r->arena, "/api/v1/notes/%s", n->id));
	return api_json(r, status, render_note(r->arena, n));
}

int api_jobs_notes_list(struct api_req *r)
{
	const char *limit_s = api_query(r, "limit"), *cursor = api_query(r, "cursor");
	struct notes_page page;
	long limit = JOBS_LIMIT_DEFAULT;
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	if (limit_s != NULL && util_parse_long(limit_s, 1, JOBS_LIMIT_MAX, &limit) != ERR_OK)
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
	if (cursor != NULL && strlen(cursor) > CURSOR_MAX)
		json_errors_add(&errs, r->arena, "", "cursor", "is not valid here");
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = jobs_notes_list(&r->ctx, api_param(r, "id"), cursor, (int)limit, &page);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_notes_page(r->arena, &page));
}

int api_jobs_notes_create(struct api_req *r)
{
	struct note_input in;
	struct note n;
	int st = parse_note(r, 1, &in);

	if (st != 0)
		return st;
	return note_answer(r, jobs_note_create(&r->ctx, api_param(r, "id"), &in, &n), 201, &n);
}

int api_notes_update(struct api_req *r)
{
	struct note_input in;
	struct note n;
	int st = parse_note(r, 0, &in);

	if (st != 0)
		return st;
	return note_answer(r, jobs_note_update(&r->ctx, api_param(r, "id"), &in, &n), 200, &n);
}

int api_notes_delete(struct api_req *r)
{
	int rc = jobs_note_delete(&r->ctx, api_param(r, "id"));

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}
