/* resumes.c - the Resumes endpoints (api.md "Resumes"; docs/internals/resumes.md). Each
 * handler validates the whole nested body (every problem with its path, in one 422),
 * calls one function of domain/resumes.h and renders (api/render.h). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include "api/render.h"
#include "base/arena.h"
#include "base/util.h"
#include "domain/resumes.h"

/* ------------------------------------------------------------------ validation */

struct vstate {
	struct api_req *r;
	struct json_errors *errs;
	const char **ids; /* every section and item id seen, for duplicates */
	size_t nids, capids;
};

static void err(struct vstate *v, const char *prefix, const char *field, const char *msg)
{
	json_errors_add(v->errs, v->r->arena, prefix, field, msg);
}

static void seen_id(struct vstate *v, const char *prefix, const char *id)
{
	if (id == NULL)
		return;
	for (size_t i = 0; i < v->nids; i++)
		if (strcmp(v->ids[i], id) == 0) {
			err(v, prefix, "id", "appears twice in the document");
			return;
		}
	if (v->nids == v->capids) {
		size_t cap = v->capids ? v->capids * 2 : 64;
		const char **n = arena_alloc(v->r->arena, cap * sizeof *n);

		if (v->nids)
			memcpy(n, v->ids, v->nids * sizeof *n);
		v->ids = n;
		v->capids = cap;
	}
	v->ids[v->nids++] = id;
}

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* sort_positions orders n elements (of size sz, int position at offset off) by their
 * position, stably (equal positions keep the document's order). */
static void stable_sort(void *base, size_t n, size_t sz, size_t off, struct arena *a)
{
	char *b = base, *tmp = arena_alloc(a, sz);

	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		memcpy(tmp, b + i * sz, sz);
		while (j > 0 && *(int *)(b + (j - 1) * sz + off) > *(int *)(tmp + off)) {
			memcpy(b + j * sz, b + (j - 1) * sz, sz);
			j--;
		}
		memcpy(b + j * sz, tmp, sz);
	}
}

static void parse_item(struct vstate *v, json_object *o, const char *prefix, struct resume_item *it,
                       size_t index)
{
	struct arena *a = v->r->arena;
	json_object *bullets = NULL;
	int64_t pos = (int64_t)index;
	struct json_field f[] = {
	    {"id", JT_UUID, JF_NULLABLE, 0, 0, &it->id, NULL, NULL},
	    {"title", JT_STRING, JF_NULLABLE, 0, RESUMES_TITLE_MAX, &it->title, NULL, NULL},
	    {"organization", JT_STRING, JF_NULLABLE, 0, RESUMES_TITLE_MAX, &it->organization, NULL,
	     NULL},
	    {"location", JT_STRING, JF_NULLABLE, 0, RESUMES_TITLE_MAX, &it->location, NULL, NULL},
	    {"start_date", JT_DATE, JF_NULLABLE, 0, 0, &it->start_date, NULL, NULL},
	    {"end_date", JT_DATE, JF_NULLABLE, 0, 0, &it->end_date, NULL, NULL},
	    {"description", JT_STRING, JF_NULLABLE, 0, RESUMES_DESCRIPTION_MAX, &it->description,
	     NULL, NULL},
	    {"bullets", JT_ARRAY, JF_NULLABLE, 0, 0, &bullets, NULL, NULL},
	    {"position", JT_INT, JF_NULLABLE, 0, RESUMES_POSITION_MAX, &pos, NULL, NULL},
	};

	memset(it, 0, sizeof *it);
	(void)json_validate(a, o, f, sizeof f / sizeof f[0], prefix, v->errs);
	it->position = (int)pos;
	seen_id(v, prefix, it->id);
	if (it->start_date != NULL && it->end_date != NULL &&
	    strcmp(it->end_date, it->start_date) < 0)
		err(v, prefix, "end_date", "must not be before start_date");
	if (bullets == NULL)
		return;
	size_t n = json_object_array_length(bullets);

	if (n > RESUMES_MAX_BULLETS) {
		err(v, prefix, "bullets",
		    arena_printf(a, "at most %d bullets", RESUMES_MAX_BULLETS));
		n = RESUMES_MAX_BULLETS;
	}
	it->bullets = arena_zalloc(a, (n ? n : 1) * sizeof *it->bullets);
	for (size_t i = 0; i < n; i++) {
		json_object *b = json_object_array_get_idx(bullets, i);
		const char *field = arena_printf(a, "bullets[%zu]", i);
		const char *s;
		size_t len;

		if (!json_object_is_type(b, json_type_string)) {
			err(v, prefix, field, "must be a string");
			continue;
		}
		s = json_object_get_string(b);
		len = strlen(s);
		if (len == 0 || len > RESUMES_BULLET_MAX)
			err(v, prefix, field,
			    arena_printf(a, "must be 1 to %d bytes", RESUMES_BULLET_MAX));
		else if (has_control(s))
			err(v, prefix, field, "must be one line (no control characters)");
		it->bullets[it->nbullets++] = arena_strdup(a, s);
	}
}

static void parse_section(struct vstate *v, json_object *o, const char *prefix,
                          struct resume_section *s, size_t index)
{
	struct arena *a = v->r->arena;
	json_object *items = NULL;
	int64_t pos = (int64_t)index;
	struct json_field f[] = {
	    {"id", JT_UUID, JF_NULLABLE, 0, 0, &s->id, NULL, NULL},
	    {"section_type", JT_ENUM, JF_REQUIRED, 0, 0, &s->section_type, NULL,
	     resumes_section_types},
	    {"title", JT_STRING, JF_NULLABLE, 0, RESUMES_TITLE_MAX, &s->title, NULL, NULL},
	    {"position", JT_INT, JF_NULLABLE, 0, RESUMES_POSITION_MAX, &pos, NULL, NULL},
	    {"items", JT_ARRAY, JF_NULLABLE, 0, 0, &items, NULL, NULL},
	};

	memset(s, 0, sizeof *s);
	(void)json_validate(a, o, f, sizeof f / sizeof f[0], prefix, v->errs);
	s->position = (int)pos;
	seen_id(v, prefix, s->id);
	if (items == NULL)
		return;
	size_t n = json_object_array_length(items);

	if (n > RESUMES_MAX_ITEMS) {
		err(v, prefix, "items",
		    arena_printf(a, "at most %d items per section", RESUMES_MAX_ITEMS));
		n = RESUMES_MAX_ITEMS;
	}
	s->items = arena_zalloc(a, (n ? n : 1) * sizeof *s->items);
	s->nitems = n;
	for (size_t i = 0; i < n; i++)
		parse_item(v, json_object_array_get_idx(items, i),
		           arena_printf(a, "%s.items[%zu]", prefix, i), &s->items[i], i);
	stable_sort(s->items, n, sizeof *s->items, offsetof(struct resume_item, position), a);
}

/* parse_resume validates a whole resume body into *out. title_required: PUT. */
static int parse_resume(struct api_req *r, struct resume *out, int title_required,
                        struct json_errors *errs)
{
	struct arena *a = r->arena;
	struct vstate v = {r, errs, NULL, 0, 0};
	json_object *contact = NULL, *sections = NULL;
	const char *ignored_id = NULL, *ignored_ts = NULL;
	int ignored_bool = 0;
	struct json_field f[] = {
	    {"title", JT_STRING, title_required ? JF_REQUIRED : JF_NULLABLE, 1, RESUMES_TITLE_MAX,
	     &out->title, NULL, NULL},
	    {"template", JT_ENUM, JF_NULLABLE, 0, 0, &out->template, NULL, resumes_templates},
	    {"contact", JT_OBJECT, JF_NULLABLE, 0, 0, &contact, NULL, NULL},
	    {"sections", JT_ARRAY, JF_NULLABLE, 0, 0, &sections, &out->has_sections, NULL},
	    /* Read-only members of a resume a client GETs and PUTs back: accepted, ignored. */
	    {"id", JT_UUID, JF_NULLABLE, 0, 0, &ignored_id, NULL, NULL},
	    {"created_at", JT_STRING, JF_NULLABLE, 0, 64, &ignored_ts, NULL, NULL},
	    {"updated_at", JT_STRING, JF_NULLABLE, 0, 64, &ignored_ts, NULL, NULL},
	    {"has_pdf", JT_BOOL, JF_NULLABLE, 0, 0, &ignored_bool, NULL, NULL},
	};

	memset(out, 0, sizeof *out);
	(void)json_validate(a, r->body, f, sizeof f / sizeof f[0], "", errs);
	if (contact != NULL) {
		struct resume_contact *c = &out->contact;
		struct json_field cf[] = {
		    {"name", JT_STRING, JF_NULLABLE, 0, RESUMES_TITLE_MAX, &c->name, NULL, NULL},
		    {"email", JT_STRING, JF_NULLABLE, 0, RESUMES_CONTACT_MAX, &c->email, NULL,
		     NULL},
		    {"phone", JT_STRING, JF_NULLABLE, 0, 64, &c->phone, NULL, NULL},
		    {"linkedin", JT_STRING, JF_NULLABLE, 0, RESUMES_CONTACT_MAX, &c->linkedin, NULL,
		     NULL},
		    {"github", JT_STRING, JF_NULLABLE, 0, RESUMES_CONTACT_MAX, &c->github, NULL,
		     NULL},
		    {"website", JT_STRING, JF_NULLABLE, 0, RESUMES_CONTACT_MAX, &c->website, NULL,
		     NULL},
		};

		(void)json_validate(a, contact, cf, sizeof cf / sizeof cf[0], "contact", errs);
		if (c->email != NULL && *c->email != '\0' && !util_email_valid(c->email))
			json_errors_add(errs, a, "contact", "email",
			                "must be a valid email address");
	}
	if (sections != NULL) {
		size_t n = json_object_array_length(sections);

		out->has_sections = 1;
		if (n > RESUMES_MAX_SECTIONS) {
			json_errors_add(
			    errs, a, "", "sections",
			    arena_printf(a, "at most %d sections", RESUMES_MAX_SECTIONS));
			n = RESUMES_MAX_SECTIONS;
		}
		out->sections = arena_zalloc(a, (n ? n : 1) * sizeof *out->sections);
		out->nsections = n;
		for (size_t i = 0; i < n; i++)
			parse_section(&v, json_object_array_get_idx(sections, i),
			              arena_printf(a, "sections[%zu]", i), &out->sections[i], i);
		stable_sort(out->sections, n, sizeof *out->sections,
		            offsetof(struct resume_section, position), a);
	} else {
		out->has_sections = 0;
	}
	return errs->n > 0 ? ERR_INVALID : ERR_OK;
}

/* ------------------------------------------------------------------ handlers */

static int resume_out(struct api_req *r, int status, const struct resume *res)
{
	return api_json(r, status, render_resume(r->arena, res));
}

/* A refusal about one input field (an id that is not this resume's) is a 422 in the
 * same shape as the validator's. */
static int outcome(struct api_req *r, int rc)
{
	if (rc == ERR_INVALID && r->ctx.why.field != NULL) {
		struct json_errors errs;

		memset(&errs, 0, sizeof errs);
		json_errors_add(&errs, r->arena, "", r->ctx.why.field, r->ctx.why.detail);
		return api_invalid(r, &errs);
	}
	return api_outcome(r, rc);
}

int api_resumes_list(struct api_req *r)
{
	struct resume_list l;
	int rc = resumes_list(&r->ctx, &l);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	api_header(r, "X-Medrin-Cache", l.from_cache ? "hit" : "miss");
	return api_json(r, 200, render_resumes(r->arena, &l));
}

int api_resumes_create(struct api_req *r)
{
	struct resume in, out;
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	if (parse_resume(r, &in, 0, &errs) != ERR_OK)
		return api_invalid(r, &errs);
	rc = resumes_create(&r->ctx, &in, &out);
	if (rc != ERR_OK)
		return outcome(r, rc);
	api_header(r, "Location", arena_printf(r->arena, "/api/v1/resumes/%s", out.id));
	return resume_out(r, 201, &out);
}

int api_resumes_get(struct api_req *r)
{
	struct resume out;
	int rc = resumes_get(&r->ctx, api_param(r, "id"), &out);

	return rc != ERR_OK ? api_outcome(r, rc) : resume_out(r, 200, &out);
}

int api_resumes_replace(struct api_req *r)
{
	struct resume in, out;
	struct json_errors errs;
	const char *id = api_param(r, "id");
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return api_problem(r, 404, "not_found", "No such resume.");
	memset(&errs, 0, sizeof errs);
	if (parse_resume(r, &in, 1, &errs) != ERR_OK)
		return api_invalid(r, &errs);
	rc = resumes_replace(&r->ctx, id, &in, &out);
	return rc != ERR_OK ? outcome(r, rc) : resume_out(r, 200, &out);
}

int api_resumes_patch(struct api_req *r)
{
	const char *title = NULL, *template = NULL;
	struct json_field f[] = {
	    {"title", JT_STRING, JF_NULLABLE, 1, RESUMES_TITLE_MAX, &title, NULL, NULL},
	    {"template", JT_ENUM, JF_NULLABLE, 0, 0, &template, NULL, resumes_templates},
	};
	struct json_errors errs;
	const char *id = api_param(r, "id");
	struct resume out;
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return api_problem(r, 404, "not_found", "No such resume.");
	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, f, sizeof f / sizeof f[0], "", &errs);
	if (errs.n == 0 && title == NULL && template == NULL)
		json_errors_add(&errs, r->arena, "", "title", "give title and/or template");
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = resumes_patch(&r->ctx, id, title, template, &out);
	return rc != ERR_OK ? api_outcome(r, rc) : resume_out(r, 200, &out);
}

int api_resumes_delete(struct api_req *r)
{
	int rc = resumes_delete(&r->ctx, api_param(r, "id"));

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

static int queued(struct api_req *r, const char *task_id)
{
	const char *url = arena_printf(r->arena, "/api/v1/tasks/%s", task_id);

	api_header(r, "Location", url);
	return api_json(r, 202, render_task_accepted(r->arena, task_id, url));
}

int api_resumes_compile(struct api_req *r)
{
	char *task_id = NULL;
	int existing = 0;
	int rc = resumes_compile(&r->ctx, api_param(r, "id"), &task_id, &existing);

	return rc != ERR_OK ? api_outcome(r, rc) : queued(r, task_id);
}

int api_resumes_rating(struct api_req *r)
{
	char *task_id = NULL;
	int rc = resumes_rate(&r->ctx, api_param(r, "id"), &task_id);

	return rc != ERR_OK ? api_outcome(r, rc) : queued(r, task_id);
}

/* nginx serves the file from its internal /files/ location (X-Accel-Redirect) once the
 * owner check here passed; the file itself is never reachable directly. */
int api_resumes_pdf(struct api_req *r)
{
	char *path = NULL;
	int rc = resumes_pdf(&r->ctx, api_param(r, "id"), &path);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	api_empty(r, 200);
	r->resp->content_type = "application/pdf";
	api_header(r, "X-Accel-Redirect", arena_printf(r->arena, "/files/%s", path));
	api_header(r, "Content-Disposition", "inline; filename=\"resume.pdf\"");
	api_header(r, "Cache-Control", "private, no-store");
	return 200;
}
