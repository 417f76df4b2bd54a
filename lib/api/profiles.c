/* profiles.c - the Profiles endpoints (api.md "Profiles"): /jobseekers and /employers.
 * Each handler validates (lengths, dob a real past date, phone E.164), calls one function
 * of domain/profiles.h and renders. */
#include "api/api.h"

#include <string.h>
#include <time.h>
#include "base/arena.h"
#include "base/util.h"
#include "api/render.h"
#include "domain/profiles.h"

#define LIST_LIMIT_DEFAULT 20

static void check_phone(struct api_req *r, const char *phone, struct json_errors *errs)
{
	size_t n;

	if (phone == NULL || *phone == '\0')
		return;
	n = strlen(phone);
	if (phone[0] != '+' || n < 3 || n > 16 || phone[1] < '1' || phone[1] > '9' ||
	    strspn(phone + 1, "0123456789") != n - 1)
		json_errors_add(errs, r->arena, "", "phone",
		                "must be an E.164 number: + and 2 to 15 digits, e.g. +14155550123");
}

static void check_dob(struct api_req *r, const char *dob, struct json_errors *errs)
{
	char today[11];
	time_t now = time(NULL);
	struct tm tm;

	if (dob == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	/* JT_DATE checked the shape and the calendar: YYYY-MM-DD compares as text. */
	if (strcmp(dob, today) >= 0)
		json_errors_add(errs, r->arena, "", "dob", "must be a date in the past");
	else if (strcmp(dob, "1900-01-01") < 0)
		json_errors_add(errs, r->arena, "", "dob", "must be on or after 1900-01-01");
}

/* ------------------------------------------------------------------ jobseekers */

/* parse_jobseeker: create requires the names; update takes any subset. */
static int parse_jobseeker(struct api_req *r, int create, struct jobseeker_in *in)
{
	int loc_p = 0, phone_p = 0;
	unsigned req = create ? JF_REQUIRED : 0;
	struct json_field fields[] = {
	    {"first_name", JT_STRING, req, 1, 100, &in->first_name, NULL, NULL},
	    {"last_name", JT_STRING, req, 1, 100, &in->last_name, NULL, NULL},
	    {"location", JT_STRING, JF_NULLABLE, 0, 200, &in->location, &loc_p, NULL},
	    {"phone", JT_STRING, JF_NULLABLE, 0, 16, &in->phone, &phone_p, NULL},
	    {"dob", JT_DATE, JF_NULLABLE, 0, 0, &in->dob, &in->dob_set, NULL},
	};
	struct json_errors errs;

	memset(in, 0, sizeof *in);
	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_phone(r, in->phone, &errs);
	check_dob(r, in->dob, &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (loc_p && in->location == NULL)
		in->location = ""; /* null clears */
	if (phone_p && in->phone == NULL)
		in->phone = "";
	return 0;
}

static int jobseeker(struct api_req *r, int status, const struct jobseeker *j)
{
	if (status == 201)
		api_header(r, "Location", arena_printf(r->arena, "/api/v1/jobseekers/%s", j->id));
	return api_json(r, status, render_jobseeker(r->arena, j));
}

int api_jobseekers_create(struct api_req *r)
{
	struct jobseeker_in in;
	struct jobseeker j;
	int st = parse_jobseeker(r, 1, &in), rc;

	if (st != 0)
		return st;
	rc = jobseekers_create(&r->ctx, &in, &j);
	return rc != ERR_OK ? api_outcome(r, rc) : jobseeker(r, 201, &j);
}

int api_jobseekers_me_get(struct api_req *r)
{
	struct jobseeker j;
	int rc = jobseekers_me(&r->ctx, &j);

	return rc != ERR_OK ? api_outcome(r, rc) : jobseeker(r, 200, &j);
}

int api_jobseekers_me_update(struct api_req *r)
{
	struct jobseeker_in in;
	struct jobseeker j;
	int st = parse_jobseeker(r, 0, &in), rc;

	if (st != 0)
		return st;
	rc = jobseekers_update_me(&r->ctx, &in, &j);
	return rc != ERR_OK ? api_outcome(r, rc) : jobseeker(r, 200, &j);
}

int api_jobseekers_get(struct api_req *r)
{
	struct jobseeker j;
	int rc = jobseekers_get(&r->ctx, api_param(r, "id"), &j);

	return rc != ERR_OK ? api_outcome(r, rc) : jobseeker(r, 200, &j);
}

/* ------------------------------------------------------------------ employers */

static int parse_employer(struct api_req *r, int create, struct employer_in *in)
{
	int p[4] = {0, 0, 0, 0};
	struct json_field fields[] = {
	    {"name", JT_STRING, create ? JF_REQUIRED : 0, 1, 200, &in->name, NULL, NULL},
	    {"location", JT_STRING, JF_NULLABLE, 0, 200, &in->location, &p[0], NULL},
	    {"description", JT_STRING, JF_NULLABLE, 0, 5000, &in->description, &p[1], NULL},
	    {"mission", JT_STRING, JF_NULLABLE, 0, 2000, &in->mission, &p[2], NULL},
	    {"vision", JT_STRING, JF_NULLABLE, 0, 2000, &in->vision, &p[3], NULL},
	};
	const char **v[4] = {&in->location, &in->description, &in->mission, &in->vision};
	struct json_errors errs;

	memset(in, 0, sizeof *in);
	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	for (int i = 0; i < 4; i++)
		if (p[i] && *v[i] == NULL)
			*v[i] = ""; /* null clears */
	return 0;
}

static int employer(struct api_req *r, int status, const struct employer *e)
{
	if (status == 201)
		api_header(r, "Location", arena_printf(r->arena, "/api/v1/employers/%s", e->id));
	return api_json(r, status, render_employer(r->arena, e));
}

int api_employers_create(struct api_req *r)
{
	struct employer_in in;
	struct employer e;
	int st = parse_employer(r, 1, &in), rc;

	if (st != 0)
		return st;
	rc = employers_create(&r->ctx, &in, &e);
	return rc != ERR_OK ? api_outcome(r, rc) : employer(r, 201, &e);
}

int api_employers_me_get(struct api_req *r)
{
	struct employer e;
	int rc = employers_me(&r->ctx, &e);

	return rc != ERR_OK ? api_outcome(r, rc) : employer(r, 200, &e);
}

int api_employers_me_update(struct api_req *r)
{
	struct employer_in in;
	struct employer e;
	int st = parse_employer(r, 0, &in), rc;

	if (st != 0)
		return st;
	rc = employers_update_me(&r->ctx, &in, &e);
	return rc != ERR_OK ? api_outcome(r, rc) : employer(r, 200, &e);
}

int api_employers_get(struct api_req *r)
{
	struct employer e;
	int rc = employers_get(&r->ctx, api_param(r, "id"), &e);

	return rc != ERR_OK ? api_outcome(r, rc) : employer(r, 200, &e);
}

int api_employers_list(struct api_req *r)
{
	struct employers_page page;
	const char *limit_s = api_query(r, "limit");
	long limit = LIST_LIMIT_DEFAULT;
	int rc;

	if (limit_s != NULL && util_parse_long(limit_s, 1, PROFILES_LIST_MAX, &limit) != ERR_OK) {
		struct json_errors errs;

		memset(&errs, 0, sizeof errs);
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
		return api_invalid(r, &errs);
	}
	rc = employers_list(&r->ctx, api_query(r, "cursor"), (int)limit, &page);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_employers_page(r->arena, &page));
}
