/* graphql_schema.c - Medrin's GraphQL schema: the type table (reads like
 * docs/schema.graphql, which tests/api/test_graphql_schema.py checks against our
 * introspection), then the one table of Type.field -> resolver, like the route table.
 *
 * Field names are the GraphQL convention (camelCase); a field that only reads a member
 * of the rendered REST object names it (prop), so `User.firstName` is `first_name` of
 * render_user's object. Enum values are upper case and map to the REST/domain spelling.
 */
#include "api/graphql.h"

#include <math.h>
#include <string.h>
#include "base/arena.h"
#include "api/render.h"
#include "domain/accounts.h"
#include "domain/jobs.h"
#include "domain/resumes.h"
#include "domain/users_manage.h"

#define ARGS(a) a, GQL_N(a)
#define NOARGS NULL, 0
#define OBJECT(name, desc, fields)                                                         \
	{                                                                                  \
		GQL_KIND_OBJECT, name, desc, fields, GQL_N(fields), NULL, 0, NULL, 0, NULL \
	}
#define ENUM(name, desc, values)                                                         \
	{                                                                                \
		GQL_KIND_ENUM, name, desc, NULL, 0, NULL, 0, values, GQL_N(values), NULL \
	}
#define SCALAR(name, desc, url)                                             \
	{                                                                   \
		GQL_KIND_SCALAR, name, desc, NULL, 0, NULL, 0, NULL, 0, url \
	}

/* ---- types ---- */

static const struct gql_enum_def role_values[] = {
    {"USER", "user", "An ordinary account.", NULL},
    {"STAFF", "staff", "Staff: may list and read every user.", NULL},
    {"ADMIN", "admin", "Administrator: may also change roles.", NULL},
};

static const struct gql_enum_def account_type_values[] = {
    {"JOBSEEKER", "jobseeker", "Looks for jobs.", NULL},
    {"EMPLOYER", "employer", "Offers jobs.", NULL},
    {"NONE", "none", "Neither (the default).", NULL},
};

/* Fields another user's public view (user(id) for a caller who is not staff) leaves out. */
#define PRIVATE "Null in another user's public view."

static const struct gql_field_def user_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"email", "String", "The sign-in address. " PRIVATE, NOARGS, NULL},
    {"firstName", "String!", NULL, NOARGS, NULL},
    {"lastName", "String!", NULL, NOARGS, NULL},
    {"role", "Role", "The privilege: what the account may do. " PRIVATE, NOARGS, NULL},
    {"accountType", "AccountType!", "What the account is for.", NOARGS, NULL},
    {"emailVerified", "Boolean", PRIVATE, NOARGS, NULL},
    {"loginOtp", "Boolean", "Whether signing in also asks for a code sent by mail. " PRIVATE,
     NOARGS, NULL},
    {"pendingEmail", "String",
     "A new address waiting for its confirmation link (user(id) only; null otherwise).", NOARGS,
     NULL},
    {"createdAt", "DateTime!", NULL, NOARGS, NULL},
    {"updatedAt", "DateTime", PRIVATE, NOARGS, NULL},
};

static const struct gql_enum_def section_type_values[] = {
    {"EDUCATION", "education", NULL, NULL}, {"EXPERIENCE", "experience", NULL, NULL},
    {"PROJECT", "project", NULL, NULL},     {"SKILL", "skill", NULL, NULL},
    {"OTHER", "other", NULL, NULL},
};

static const struct gql_field_def resume_contact_fields[] = {
    {"name", "String!", NULL, NOARGS, NULL},   {"email", "String!", NULL, NOARGS, NULL},
    {"phone", "String!", NULL, NOARGS, NULL},  {"linkedin", "String!", NULL, NOARGS, NULL},
    {"github", "String!", NULL, NOARGS, NULL}, {"website", "String!", NULL, NOARGS, NULL},
};

static const struct gql_field_def resume_item_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"title", "String!", NULL, NOARGS, NULL},
    {"organization", "String!", NULL, NOARGS, NULL},
    {"location", "String!", NULL, NOARGS, NULL},
    {"startDate", "Date", NULL, NOARGS, NULL},
    {"endDate", "Date", NULL, NOARGS, NULL},
    {"description", "String!", NULL, NOARGS, NULL},
    {"bullets", "[String!]!", NULL, NOARGS, NULL},
    {"position", "Int!", NULL, NOARGS, NULL},
};

static const struct gql_field_def resume_section_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"sectionType", "SectionType!", NULL, NOARGS, NULL},
    {"title", "String!", NULL, NOARGS, NULL},
    {"position", "Int!", NULL, NOARGS, NULL},
    {"items", "[ResumeItem!]!", "In order.", NOARGS, NULL},
};

static const struct gql_field_def resume_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"title", "String!", NULL, NOARGS, NULL},
    {"template", "String!", NULL, NOARGS, NULL},
    {"contact", "ResumeContact!", NULL, NOARGS, NULL},
    {"sections", "[ResumeSection!]!", "In order.", NOARGS, NULL},
    {"hasPdf", "Boolean!", "Whether a compiled PDF can be downloaded.", NOARGS, NULL},
    {"createdAt", "DateTime!", NULL, NOARGS, NULL},
    {"updatedAt", "DateTime!", NULL, NOARGS, NULL},
};

static const struct gql_enum_def job_status_values[] = {
    {"WISHLIST", "wishlist", "Not applied yet.", NULL},
    {"APPLIED", "applied", NULL, NULL},
    {"INTERVIEWING", "interviewing", NULL, NULL},
    {"OFFER", "offer", NULL, NULL},
    {"ACCEPTED", "accepted", NULL, NULL},
    {"REJECTED", "rejected", NULL, NULL},
    {"WITHDRAWN", "withdrawn", NULL, NULL},
};

/* In enum jobs_sort order (the resolver maps the value back by index). */
static const struct gql_enum_def job_sort_values[] = {
    {"CREATED_AT_DESC", "-created_at", "Newest first (the default).", NULL},
    {"CREATED_AT", "created_at", "Oldest first.", NULL},
    {"APPLIED_ON", "applied_on", "By application date, earliest first.", NULL},
    {"APPLIED_ON_DESC", "-applied_on", "By application date, latest first.", NULL},
};

static const struct gql_enum_def salary_period_values[] = {
    {"HOUR", "hour", NULL, NULL},   {"DAY", "day", NULL, NULL},   {"WEEK", "week", NULL, NULL},
    {"MONTH", "month", NULL, NULL}, {"YEAR", "year", NULL, NULL},
};

static const struct gql_field_def salary_fields[] = {
    {"min", "Float", "Whole units of the currency.", NOARGS, NULL},
    {"max", "Float", "Whole units of the currency.", NOARGS, NULL},
    {"currency", "String!", "ISO 4217 code (EUR).", NOARGS, NULL},
    {"period", "SalaryPeriod!", NULL, NOARGS, NULL},
};

static const struct gql_arg_def first_20[] = {
    {"first", "Int", "20", "How many, 1 to 100.", NULL},
};

static const struct gql_field_def job_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"companyName", "String!", NULL, NOARGS, NULL},
    {"position", "String!", NULL, NOARGS, NULL},
    {"status", "JobStatus!", NULL, NOARGS, NULL},
    {"appliedOn", "Date!", NULL, NOARGS, NULL},
    {"url", "String", NULL, NOARGS, NULL},
    {"location", "String", NULL, NOARGS, NULL},
    {"salary", "Salary", NULL, NOARGS, NULL},
    {"description", "String", NULL, NOARGS, NULL},
    {"createdAt", "DateTime!", NULL, NOARGS, NULL},
    {"updatedAt", "DateTime!", NULL, NOARGS, NULL},
    {"notes", "[Note!]!",
     "The job's first notes, oldest first (GET /api/v1/jobs/{id}/notes). For a page of jobs "
     "they are loaded together, in one query.",
     ARGS(first_20), NULL},
};

static const struct gql_field_def note_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"jobId", "ID!", NULL, NOARGS, NULL},
    {"content", "String!", NULL, NOARGS, NULL},
    {"reminderTime", "DateTime", "When the owner is mailed a reminder.", NOARGS, NULL},
    {"remindedAt", "DateTime", "When the reminder was mailed; null until then.", NOARGS, NULL},
    {"createdAt", "DateTime!", NULL, NOARGS, NULL},
    {"updatedAt", "DateTime!", NULL, NOARGS, NULL},
};

static const struct gql_field_def page_info_fields[] = {
    {"hasNextPage", "Boolean!", NULL, NOARGS, NULL},
    {"endCursor", "String",
     "Pass it as `after` for the next page; null on the last page (REST's next_cursor).", NOARGS,
     NULL},
};

static const struct gql_field_def job_connection_fields[] = {
    {"nodes", "[Job!]!", NULL, NOARGS, NULL},
    {"pageInfo", "PageInfo!", NULL, NOARGS, NULL},
};

static const struct gql_field_def note_connection_fields[] = {
    {"nodes", "[Note!]!", NULL, NOARGS, NULL},
    {"pageInfo", "PageInfo!", NULL, NOARGS, NULL},
};

static const struct gql_field_def status_count_fields[] = {
    {"wishlist", "Int!", NULL, NOARGS, NULL},     {"applied", "Int!", NULL, NOARGS, NULL},
    {"interviewing", "Int!", NULL, NOARGS, NULL}, {"offer", "Int!", NULL, NOARGS, NULL},
    {"accepted", "Int!", NULL, NOARGS, NULL},     {"rejected", "Int!", NULL, NOARGS, NULL},
    {"withdrawn", "Int!", NULL, NOARGS, NULL},
};

static const struct gql_field_def job_stats_fields[] = {
    {"total", "Int!", NULL, NOARGS, NULL},
    {"byStatus", "JobStatusCounts!", NULL, NOARGS, NULL},
};

static const struct gql_arg_def salary_inputs[] = {
    {"min", "Float", NULL, "Whole units; at least min or max.", NULL},
    {"max", "Float", NULL, NULL, NULL},
    {"currency", "String!", NULL, "ISO 4217 code (three capital letters).", NULL},
    {"period", "SalaryPeriod", NULL, "Default YEAR.", NULL},
};

static const struct gql_arg_def job_inputs[] = {
    {"companyName", "String!", NULL, "1 to 200 bytes, one line.", NULL},
    {"position", "String!", NULL, "1 to 200 bytes, one line.", NULL},
    {"status", "JobStatus!", NULL, NULL, NULL},
    {"appliedOn", "Date!", NULL, NULL, NULL},
    {"url", "String", NULL, "An http:// or https:// URL.", NULL},
    {"location", "String", NULL, NULL, NULL},
    {"salary", "SalaryInput", NULL, NULL, NULL},
    {"description", "String", NULL, "At most 10000 bytes.", NULL},
};

static const struct gql_arg_def job_patch_inputs[] = {
    {"companyName", "String", NULL, NULL, NULL},
    {"position", "String", NULL, NULL, NULL},
    {"status", "JobStatus", NULL, NULL, NULL},
    {"appliedOn", "Date", NULL, NULL, NULL},
    {"url", "String", NULL, "null clears it.", NULL},
    {"location", "String", NULL, "null clears it.", NULL},
    {"salary", "SalaryInput", NULL, "null clears it.", NULL},
    {"description", "String", NULL, "null clears it.", NULL},
};

static const struct gql_arg_def note_inputs[] = {
    {"content", "String!", NULL, "1 to 10000 bytes.", NULL},
    {"reminderTime", "DateTime", NULL, "RFC 3339 with an offset; mailed once when it comes.", NULL},
};

static const struct gql_arg_def note_patch_inputs[] = {
    {"content", "String", NULL, NULL, NULL},
    {"reminderTime", "DateTime", NULL, "A new time re-arms the reminder; null cancels it.", NULL},
};

static const struct gql_arg_def jobs_args[] = {
    {"status", "JobStatus", NULL, NULL, NULL},
    {"q", "String", NULL, "A case-insensitive part of the company or the position.", NULL},
    {"sort", "JobSort", "CREATED_AT_DESC", NULL, NULL},
    {"first", "Int", "20", "Page size, 1 to 100.", NULL},
    {"after", "String", NULL, "The endCursor of the previous page.", NULL},
};

static const struct gql_arg_def id_arg[] = {
    {"id", "ID!", NULL, NULL, NULL},
};

static const struct gql_arg_def job_notes_args[] = {
    {"jobId", "ID!", NULL, NULL, NULL},
    {"first", "Int", "20", "Page size, 1 to 100.", NULL},
    {"after", "String", NULL, "The endCursor of the previous page.", NULL},
};

static const struct gql_field_def query_fields[] = {
    {"me", "User",
     "The signed-in user (the same object as GET /api/v1/users/me). Needs an access token: "
     "without one, null with an UNAUTHENTICATED error.",
     NOARGS, NULL},
    {"jobs", "JobConnection", "The caller's job applications, a page at a time (GET /api/v1/jobs).",
     ARGS(jobs_args), NULL},
    {"job", "Job", "One of the caller's jobs; another user's is NOT_FOUND (GET /api/v1/jobs/{id}).",
     ARGS(id_arg), NULL},
    {"jobNotes", "NoteConnection",
     "The notes of one of the caller's jobs, oldest first (GET /api/v1/jobs/{id}/notes).",
     ARGS(job_notes_args), NULL},
    {"jobStats", "JobStats", "The caller's jobs counted by status (GET /api/v1/jobs/stats).",
     NOARGS, NULL},
    {"user", "User",
     "An account as the caller may see it (GET /api/v1/users/{id}): everything for oneself "
     "and for staff, the public fields otherwise.",
     ARGS(id_arg), NULL},
    {"resumes", "[Resume!]", "The caller's resumes, nested (GET /api/v1/resumes).", NOARGS, NULL},
    {"resume", "Resume", "One of the caller's resumes (GET /api/v1/resumes/{id}).", ARGS(id_arg),
     NULL},
};

static const struct gql_arg_def create_job_args[] = {
    {"input", "JobInput!", NULL, NULL, NULL},
};
static const struct gql_arg_def update_job_args[] = {
    {"id", "ID!", NULL, NULL, NULL},
    {"input", "JobPatch!", NULL, "Only the fields given change.", NULL},
};
static const struct gql_arg_def create_note_args[] = {
    {"jobId", "ID!", NULL, NULL, NULL},
    {"input", "NoteInput!", NULL, NULL, NULL},
};
static const struct gql_arg_def update_note_args[] = {
    {"id", "ID!", NULL, NULL, NULL},
    {"input", "NotePatch!", NULL, "Only the fields given change.", NULL},
};

static const struct gql_field_def mutation_fields[] = {
    {"createJob", "Job!", "POST /api/v1/jobs.", ARGS(create_job_args), NULL},
    {"updateJob", "Job!", "PATCH /api/v1/jobs/{id}.", ARGS(update_job_args), NULL},
    {"deleteJob", "Boolean!", "DELETE /api/v1/jobs/{id}: the job and its notes.", ARGS(id_arg),
     NULL},
    {"createNote", "Note!", "POST /api/v1/jobs/{id}/notes.", ARGS(create_note_args), NULL},
    {"updateNote", "Note!", "PATCH /api/v1/notes/{id}.", ARGS(update_note_args), NULL},
    {"deleteNote", "Boolean!", "DELETE /api/v1/notes/{id}.", ARGS(id_arg), NULL},
};

#define INPUT(name, desc, inputs)                                                                \
	{                                                                                        \
		GQL_KIND_INPUT_OBJECT, name, desc, NULL, 0, inputs, GQL_N(inputs), NULL, 0, NULL \
	}

static const struct gql_type_def types[] = {
    OBJECT("Query", "Everything that can be read.", query_fields),
    OBJECT("Mutation", "Everything that can be changed; every field needs an access token.",
           mutation_fields),
    OBJECT("User", "A user account, as GET /api/v1/users/me shows it to its owner.", user_fields),
    ENUM("Role", "A user's privilege.", role_values),
    ENUM("AccountType", "What an account is for.", account_type_values),
    OBJECT("Job", "A job application the caller tracks.", job_fields),
    OBJECT("Note", "A note on a job application, with an optional reminder.", note_fields),
    OBJECT("Salary", NULL, salary_fields),
    OBJECT("JobConnection", "A page of jobs.", job_connection_fields),
    OBJECT("NoteConnection", "A page of notes.", note_connection_fields),
    OBJECT("PageInfo", NULL, page_info_fields),
    OBJECT("JobStats", NULL, job_stats_fields),
    OBJECT("JobStatusCounts", "How many jobs have each status.", status_count_fields),
    ENUM("JobStatus", "Where an application stands.", job_status_values),
    ENUM("JobSort", "The order of a job list.", job_sort_values),
    ENUM("SalaryPeriod", NULL, salary_period_values),
    INPUT("JobInput", "A new job (the body of POST /api/v1/jobs).", job_inputs),
    INPUT("JobPatch", "Changes to a job (the body of PATCH /api/v1/jobs/{id}).", job_patch_inputs),
    INPUT("SalaryInput", NULL, salary_inputs),
    INPUT("NoteInput", "A new note (the body of POST /api/v1/jobs/{id}/notes).", note_inputs),
    INPUT("NotePatch", "Changes to a note (the body of PATCH /api/v1/notes/{id}).",
          note_patch_inputs),
    OBJECT("Resume", "A resume: ordered sections of ordered items.", resume_fields),
    OBJECT("ResumeContact", NULL, resume_contact_fields),
    OBJECT("ResumeSection", NULL, resume_section_fields),
    OBJECT("ResumeItem", NULL, resume_item_fields),
    ENUM("SectionType", NULL, section_type_values),
    SCALAR("DateTime", "A point in time: RFC 3339 text in UTC, e.g. 2026-11-21T10:00:00Z.",
           "https://www.rfc-editor.org/rfc/rfc3339"),
    SCALAR("Date", "A calendar date: YYYY-MM-DD.", "https://www.rfc-editor.org/rfc/rfc3339"),
};

/* ---- resolvers ---- */

static struct api_gql *gql_of(struct gql_call *call)
{
	return call->app;
}

static struct gql_val json_val(struct gql_call *call, json_object *owned)
{
	return gql_json(call, owned);
}

/* A borrowed value (owned by something the arena releases). */
static struct gql_val borrowed(json_object *j)
{
	struct gql_val v = {j != NULL ? GQL_V_JSON : GQL_V_NULL, j, NULL, NULL, 0};

	return v;
}

static int bad_input(struct gql_call *call, const char *field, const char *message)
{
	json_object *ext = json_object_new_object();

	json_object_object_add(ext, "field", json_object_new_string(field));
	return gql_fail(call, "BAD_USER_INPUT", arena_printf(call->arena, "%s %s", field, message),
	                ext);
}

/* REST's snake_case field path ("salary.currency") as GraphQL spells it, under prefix. */
static const char *graphql_path(struct arena *a, const char *prefix, const char *rest)
{
	char *out = arena_alloc(a, strlen(prefix) + strlen(rest) + 1), *o = out;
	int up = 0;

	for (const char *p = prefix; *p != '\0'; p++)
		*o++ = *p;
	for (const char *p = rest; *p != '\0'; p++) {
		if (*p == '_') {
			up = 1;
			continue;
		}
		*o++ = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		up = 0;
	}
	*o = '\0';
	return out;
}

/* The same problems REST would list in its 422, as one BAD_USER_INPUT error:
 * message = the first, extensions.errors = all of them ({field, message}). */
static int input_errors(struct gql_call *call, const struct json_errors *errs, const char *prefix)
{
	json_object *ext = json_object_new_object(), *list = json_object_new_array();
	const char *first = NULL;
	size_t n = errs->n < JSON_MAX_ERRORS ? errs->n : JSON_MAX_ERRORS;

	for (size_t i = 0; i < n; i++) {
		const char *f = graphql_path(call->arena, prefix,
		                             errs->e[i].field != NULL ? errs->e[i].field : "");
		json_object *e = json_object_new_object();

		if (strcmp(prefix, "") == 0 && strcmp(f, "cursor") == 0)
			f = "after";
		json_object_object_add(e, "field", json_object_new_string(f));
		json_object_object_add(e, "message", json_object_new_string(errs->e[i].message));
		json_object_array_add(list, e);
		if (first == NULL)
			first = arena_printf(call->arena, "%s %s", f, errs->e[i].message);
	}
	json_object_object_add(
	    ext, "problem",
	    json_object_new_string(errs->unknown ? "unknown_field" : "validation_failed"));
	json_object_object_add(ext, "errors", list);
	return gql_fail(call, "BAD_USER_INPUT", first != NULL ? first : "The input is not valid.",
	                ext);
}

/* The REST body for a GraphQL input object: keys in snake_case, integral floats as
 * integers (salary amounts are Float in GraphQL, integers in REST). New object. */
static json_object *rest_body(struct arena *a, json_object *in)
{
	json_object *out;

	switch (json_object_get_type(in)) {
	case json_type_object:
		out = json_object_new_object();
		json_object_object_foreach(in, key, val)
		{
			char *k = arena_alloc(a, 2 * strlen(key) + 1), *o = k;

			for (const char *p = key; *p != '\0'; p++) {
				if (*p >= 'A' && *p <= 'Z') {
					*o++ = '_';
					*o++ = (char)(*p - 'A' + 'a');
				} else {
					*o++ = *p;
				}
			}
			*o = '\0';
			json_object_object_add(out, k, rest_body(a, val));
		}
		return out;
	case json_type_double: {
		double d = json_object_get_double(in);

		if (d == floor(d) && fabs(d) < 9e15)
			return json_object_new_int64((int64_t)d);
		return json_object_new_double(d);
	}
	case json_type_null: return NULL;
	default: return json_object_get(in);
	}
}

static json_object *input_body(struct gql_call *call)
{
	json_object *in = NULL, *body;

	json_object_object_get_ex(call->args, "input", &in);
	body = rest_body(call->arena, in);
	if (body == NULL)
		body = json_object_new_object();
	(void)json_val(call, body); /* released with the request */
	return body;
}

static int page_size(struct gql_call *call, int *out)
{
	int64_t first = gql_arg_int(call, "first", JOBS_LIMIT_DEFAULT);

	if (first < 1 || first > JOBS_LIMIT_MAX)
		return bad_input(call, "first", "must be an integer from 1 to 100");
	*out = (int)first;
	return ERR_OK;
}

static json_object *page_info(const char *next_cursor)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "hasNextPage", json_object_new_boolean(next_cursor != NULL));
	json_object_object_add(o, "endCursor",
	                       next_cursor != NULL ? json_object_new_string(next_cursor) : NULL);
	return o;
}

static int query_me(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct user u;
	int rc = accounts_me(&r->ctx, &u);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_user(r->arena, &u));
	return ERR_OK;
}

static int query_jobs(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct api_gql *g = gql_of(call);
	struct jobs_query q = {.sort = JOBS_SORT_CREATED_DESC, .limit = JOBS_LIMIT_DEFAULT};
	const char *sort = gql_arg_str(call, "sort", "-created_at");
	struct json_errors errs;
	struct jobs_page page;
	json_object *conn, *nodes;
	int rc;

	if (page_size(call, &q.limit) != ERR_OK)
		return ERR_INVALID;
	for (size_t i = 0; i < GQL_N(job_sort_values); i++)
		if (strcmp(sort, job_sort_values[i].value) == 0)
			q.sort = (enum jobs_sort)i;
	q.status = gql_arg_str(call, "status", NULL);
	q.q = gql_arg_str(call, "q", NULL);
	q.cursor = gql_arg_str(call, "after", NULL);
	memset(&errs, 0, sizeof errs);
	api_jobs_check_query(r, &q, &errs);
	if (errs.n > 0)
		return input_errors(call, &errs, "");
	rc = jobs_list(&r->ctx, &q, &page);
	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	conn = json_object_new_object();
	nodes = json_object_new_array_ext((int)page.n);
	g->notes.ids = arena_alloc(r->arena, (page.n ? page.n : 1) * sizeof *g->notes.ids);
	g->notes.n = page.n;
	g->notes.per_job = 0;
	for (size_t i = 0; i < page.n; i++) {
		json_object_array_add(nodes, render_job_member(&page.items[i]));
		g->notes.ids[i] = page.items[i].id;
	}
	json_object_object_add(conn, "nodes", nodes);
	json_object_object_add(conn, "pageInfo", page_info(page.next_cursor));
	*out = json_val(call, conn);
	return ERR_OK;
}

static int query_job(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct job j;
	int rc = jobs_get(&r->ctx, gql_arg_str(call, "id", ""), &j);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_job(r->arena, &j));
	return ERR_OK;
}

/* Groups notes[0..n) by job id: job id -> array of rendered notes (new object). */
static json_object *notes_by_job(const struct note *notes, size_t n)
{
	json_object *map = json_object_new_object(), *arr;

	for (size_t i = 0; i < n; i++) {
		if (!json_object_object_get_ex(map, notes[i].job_id, &arr)) {
			arr = json_object_new_array();
			json_object_object_add(map, notes[i].job_id, arr);
		}
		json_object_array_add(arr, render_note_member(&notes[i]));
	}
	return map;
}

static int job_notes(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct api_gql *g = gql_of(call);
	json_object *idv = NULL, *map, *arr;
	const char *id;
	struct note *notes;
	size_t n, in_page = 0;
	int per_job, rc;

	if (page_size(call, &per_job) != ERR_OK)
		return ERR_INVALID;
	json_object_object_get_ex(call->parent->json, "id", &idv);
	id = json_object_get_string(idv);
	for (size_t i = 0; i < g->notes.n && !in_page; i++)
		in_page = strcmp(g->notes.ids[i], id) == 0;
	if (in_page && g->notes.per_job == per_job) {
		map = g->notes.by_job;
	} else {
		/* The whole page at once (or just this job when it is not on the page). */
		const char *const *ids = in_page ? g->notes.ids : &id;

		rc = jobs_notes_batch(&r->ctx, ids, in_page ? g->notes.n : 1, per_job, &notes, &n);
		if (rc != ERR_OK)
			return api_gql_outcome(call, rc);
		map = notes_by_job(notes, n);
		(void)json_val(call, map);
		if (in_page) {
			g->notes.by_job = map;
			g->notes.per_job = per_job;
		}
	}
	if (!json_object_object_get_ex(map, id, &arr)) {
		*out = json_val(call, json_object_new_array());
		return ERR_OK;
	}
	*out = borrowed(arr);
	return ERR_OK;
}

static int query_job_notes(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct jobs_query q = {.cursor = gql_arg_str(call, "after", NULL)};
	struct json_errors errs;
	struct notes_page page;
	json_object *conn, *nodes;
	int limit, rc;

	if (page_size(call, &limit) != ERR_OK)
		return ERR_INVALID;
	memset(&errs, 0, sizeof errs);
	api_jobs_check_query(r, &q, &errs);
	if (errs.n > 0)
		return input_errors(call, &errs, "");
	rc = jobs_notes_list(&r->ctx, gql_arg_str(call, "jobId", ""), q.cursor, limit, &page);
	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	conn = json_object_new_object();
	nodes = json_object_new_array_ext((int)page.n);
	for (size_t i = 0; i < page.n; i++)
		json_object_array_add(nodes, render_note_member(&page.items[i]));
	json_object_object_add(conn, "nodes", nodes);
	json_object_object_add(conn, "pageInfo", page_info(page.next_cursor));
	*out = json_val(call, conn);
	return ERR_OK;
}

static int query_job_stats(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct job_stats st;
	int rc = jobs_stats(&r->ctx, &st);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_job_stats(r->arena, &st));
	return ERR_OK;
}

static int query_user(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct user_view v;
	int rc = users_get(&r->ctx, gql_arg_str(call, "id", ""), &v);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_user_view(r->arena, &v));
	return ERR_OK;
}

static int query_resumes(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct resume_list l;
	json_object *items = NULL;
	int rc = resumes_list(&r->ctx, &l);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	json_object_object_get_ex(render_resumes(r->arena, &l), "items", &items);
	*out = borrowed(items);
	return ERR_OK;
}

static int query_resume(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct resume res;
	int rc = resumes_get(&r->ctx, gql_arg_str(call, "id", ""), &res);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_resume(r->arena, &res));
	return ERR_OK;
}

/* ---- mutations: the REST body from the input, the REST rules, the same domain call ---- */

/* write_job: createJob (no id: every required field) and updateJob (id: a patch). */
static int write_job(struct gql_call *call, struct gql_val *out, const char *id)
{
	struct api_req *r = api_gql_req(call);
	struct json_errors errs;
	struct job_patch p;
	struct job j;
	int rc;

	memset(&errs, 0, sizeof errs);
	if (api_jobs_parse_job(r, input_body(call), id == NULL, &p, &errs) != ERR_OK)
		return input_errors(call, &errs, "input.");
	rc = id == NULL ? jobs_create(&r->ctx, &p.v, &j) : jobs_update(&r->ctx, id, &p, &j);
	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_job(r->arena, &j));
	return ERR_OK;
}

static int create_job(struct gql_call *call, struct gql_val *out)
{
	return write_job(call, out, NULL);
}

static int update_job(struct gql_call *call, struct gql_val *out)
{
	return write_job(call, out, gql_arg_str(call, "id", ""));
}

/* write_note: createNote (job_id: every required field) and updateNote (id: a patch). */
static int write_note(struct gql_call *call, struct gql_val *out, const char *job_id,
                      const char *id)
{
	struct api_req *r = api_gql_req(call);
	struct json_errors errs;
	struct note_input in;
	struct note n;
	int rc;

	memset(&errs, 0, sizeof errs);
	if (api_jobs_parse_note(r, input_body(call), id == NULL, &in, &errs) != ERR_OK)
		return input_errors(call, &errs, "input.");
	rc = id == NULL ? jobs_note_create(&r->ctx, job_id, &in, &n)
	                : jobs_note_update(&r->ctx, id, &in, &n);
	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = borrowed(render_note(r->arena, &n));
	return ERR_OK;
}

static int create_note(struct gql_call *call, struct gql_val *out)
{
	return write_note(call, out, gql_arg_str(call, "jobId", ""), NULL);
}

static int update_note(struct gql_call *call, struct gql_val *out)
{
	return write_note(call, out, NULL, gql_arg_str(call, "id", ""));
}

/* deleted: a delete mutation's answer, true, or the refusal. */
static int deleted(struct gql_call *call, struct gql_val *out, int rc)
{
	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	*out = gql_bool(call, 1);
	return ERR_OK;
}

static int delete_job(struct gql_call *call, struct gql_val *out)
{
	return deleted(call, out,
	               jobs_delete(&api_gql_req(call)->ctx, gql_arg_str(call, "id", "")));
}

static int delete_note(struct gql_call *call, struct gql_val *out)
{
	return deleted(call, out,
	               jobs_note_delete(&api_gql_req(call)->ctx, gql_arg_str(call, "id", "")));
}

/* One row per Type.field: the function that resolves it, or the member of the parent's
 * rendered object it reads. GQL_AUTH: needs an access token. size_arg / list_size: how
 * many items a list field may return, for the cost limit. */
/* clang-format off */
static const struct gql_resolver_def resolvers[] = {
	{ "Query.me",                 query_me,        NULL,             GQL_AUTH, NULL,    0 },
	{ "Query.jobs",               query_jobs,      NULL,             GQL_AUTH, "first", 0 },
	{ "Query.job",                query_job,       NULL,             GQL_AUTH, NULL,    0 },
	{ "Query.jobNotes",           query_job_notes, NULL,             GQL_AUTH, "first", 0 },
	{ "Query.jobStats",           query_job_stats, NULL,             GQL_AUTH, NULL,    0 },
	{ "Query.user",               query_user,      NULL,             GQL_AUTH, NULL,    0 },
	{ "Query.resumes",            query_resumes,   NULL,             GQL_AUTH, NULL,   10 },
	{ "Query.resume",             query_resume,    NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.createJob",       create_job,      NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.updateJob",       update_job,      NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.deleteJob",       delete_job,      NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.createNote",      create_note,     NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.updateNote",      update_note,     NULL,             GQL_AUTH, NULL,    0 },
	{ "Mutation.deleteNote",      delete_note,     NULL,             GQL_AUTH, NULL,    0 },
	{ "User.id",                  NULL,            "id",             0,        NULL,    0 },
	{ "User.email",               NULL,            "email",          0,        NULL,    0 },
	{ "User.firstName",           NULL,            "first_name",     0,        NULL,    0 },
	{ "User.lastName",            NULL,            "last_name",      0,        NULL,    0 },
	{ "User.role",                NULL,            "role",           0,        NULL,    0 },
	{ "User.accountType",         NULL,            "account_type",   0,        NULL,    0 },
	{ "User.emailVerified",       NULL,            "email_verified", 0,        NULL,    0 },
	{ "User.loginOtp",            NULL,            "login_otp",      0,        NULL,    0 },
	{ "User.pendingEmail",        NULL,            "pending_email",  0,        NULL,    0 },
	{ "User.createdAt",           NULL,            "created_at",     0,        NULL,    0 },
	{ "User.updatedAt",           NULL,            "updated_at",     0,        NULL,    0 },
	{ "Job.id",                   NULL,            "id",             0,        NULL,    0 },
	{ "Job.companyName",          NULL,            "company_name",   0,        NULL,    0 },
	{ "Job.position",             NULL,            "position",       0,        NULL,    0 },
	{ "Job.status",               NULL,            "status",         0,        NULL,    0 },
	{ "Job.appliedOn",            NULL,            "applied_on",     0,        NULL,    0 },
	{ "Job.url",                  NULL,            "url",            0,        NULL,    0 },
	{ "Job.location",             NULL,            "location",       0,        NULL,    0 },
	{ "Job.salary",               NULL,            "salary",         0,        NULL,    0 },
	{ "Job.description",          NULL,            "description",    0,        NULL,    0 },
	{ "Job.createdAt",            NULL,            "created_at",     0,        NULL,    0 },
	{ "Job.updatedAt",            NULL,            "updated_at",     0,        NULL,    0 },
	{ "Job.notes",                job_notes,       NULL,             0,        "first", 0 },
	{ "Salary.min",               NULL,            "min",            0,        NULL,    0 },
	{ "Salary.max",               NULL,            "max",            0,        NULL,    0 },
	{ "Salary.currency",          NULL,            "currency",       0,        NULL,    0 },
	{ "Salary.period",            NULL,            "period",         0,        NULL,    0 },
	{ "Note.id",                  NULL,            "id",             0,        NULL,    0 },
	{ "Note.jobId",               NULL,            "job_id",         0,        NULL,    0 },
	{ "Note.content",             NULL,            "content",        0,        NULL,    0 },
	{ "Note.reminderTime",        NULL,            "reminder_time",  0,        NULL,    0 },
	{ "Note.remindedAt",          NULL,            "reminded_at",    0,        NULL,    0 },
	{ "Note.createdAt",           NULL,            "created_at",     0,        NULL,    0 },
	{ "Note.updatedAt",           NULL,            "updated_at",     0,        NULL,    0 },
	{ "Resume.id",                NULL,            "id",             0,        NULL,    0 },
	{ "Resume.title",             NULL,            "title",          0,        NULL,    0 },
	{ "Resume.template",          NULL,            "template",       0,        NULL,    0 },
	{ "Resume.contact",           NULL,            "contact",        0,        NULL,    0 },
	{ "Resume.sections",          NULL,            "sections",       0,        NULL,    5 },
	{ "Resume.hasPdf",            NULL,            "has_pdf",        0,        NULL,    0 },
	{ "Resume.createdAt",         NULL,            "created_at",     0,        NULL,    0 },
	{ "Resume.updatedAt",         NULL,            "updated_at",     0,        NULL,    0 },
	{ "ResumeContact.name",       NULL,            "name",           0,        NULL,    0 },
	{ "ResumeContact.email",      NULL,            "email",          0,        NULL,    0 },
	{ "ResumeContact.phone",      NULL,            "phone",          0,        NULL,    0 },
	{ "ResumeContact.linkedin",   NULL,            "linkedin",       0,        NULL,    0 },
	{ "ResumeContact.github",     NULL,            "github",         0,        NULL,    0 },
	{ "ResumeContact.website",    NULL,            "website",        0,        NULL,    0 },
	{ "ResumeSection.id",         NULL,            "id",             0,        NULL,    0 },
	{ "ResumeSection.sectionType", NULL,           "section_type",   0,        NULL,    0 },
	{ "ResumeSection.title",      NULL,            "title",          0,        NULL,    0 },
	{ "ResumeSection.position",   NULL,            "position",       0,        NULL,    0 },
	{ "ResumeSection.items",      NULL,            "items",          0,        NULL,    5 },
	{ "ResumeItem.id",            NULL,            "id",             0,        NULL,    0 },
	{ "ResumeItem.title",         NULL,            "title",          0,        NULL,    0 },
	{ "ResumeItem.organization",  NULL,            "organization",   0,        NULL,    0 },
	{ "ResumeItem.location",      NULL,            "location",       0,        NULL,    0 },
	{ "ResumeItem.startDate",     NULL,            "start_date",     0,        NULL,    0 },
	{ "ResumeItem.endDate",       NULL,            "end_date",       0,        NULL,    0 },
	{ "ResumeItem.description",   NULL,            "description",    0,        NULL,    0 },
	{ "ResumeItem.bullets",       NULL,            "bullets",        0,        NULL,    0 },
	{ "ResumeItem.position",      NULL,            "position",       0,        NULL,    0 },
	{ "JobConnection.nodes",      NULL,            "nodes",          0,        NULL,    0 },
	{ "JobConnection.pageInfo",   NULL,            "pageInfo",       0,        NULL,    0 },
	{ "NoteConnection.nodes",     NULL,            "nodes",          0,        NULL,    0 },
	{ "NoteConnection.pageInfo",  NULL,            "pageInfo",       0,        NULL,    0 },
	{ "PageInfo.hasNextPage",     NULL,            "hasNextPage",    0,        NULL,    0 },
	{ "PageInfo.endCursor",       NULL,            "endCursor",      0,        NULL,    0 },
	{ "JobStats.total",           NULL,            "total",          0,        NULL,    0 },
	{ "JobStats.byStatus",        NULL,            "by_status",      0,        NULL,    0 },
	{ "JobStatusCounts.wishlist",     NULL,        "wishlist",       0,        NULL,    0 },
	{ "JobStatusCounts.applied",      NULL,        "applied",        0,        NULL,    0 },
	{ "JobStatusCounts.interviewing", NULL,        "interviewing",   0,        NULL,    0 },
	{ "JobStatusCounts.offer",        NULL,        "offer",          0,        NULL,    0 },
	{ "JobStatusCounts.accepted",     NULL,        "accepted",       0,        NULL,    0 },
	{ "JobStatusCounts.rejected",     NULL,        "rejected",       0,        NULL,    0 },
	{ "JobStatusCounts.withdrawn",    NULL,        "withdrawn",      0,        NULL,    0 },
};
/* clang-format on */

const struct gql_schema_spec api_graphql_spec = {
    "Medrin's GraphQL API: the data and rules of the REST API under /api/v1, one request "
    "at a time.",
    types,
    GQL_N(types),
    resolvers,
    GQL_N(resolvers),
    "Query",
    "Mutation",
    api_gql_authorize,
};
