/* render.c - domain structs to JSON; see render.h. */
#include "api/render.h"

#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "http/json.h"

static void put_json(void *p)
{
	json_object_put(p);
}

/* owned: o (a tree built without the arena) freed with the arena. */
static json_object *owned(struct arena *a, json_object *o)
{
	arena_defer(a, put_json, o);
	return o;
}

static json_object *str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, str_or_null(v));
}

/* page_object: a page of a list, {"items": items, "next_cursor": next or null}, owned by
 * the arena (items becomes its member). */
static json_object *page_object(struct arena *a, json_object *items, const char *next)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "items", items);
	add_str(o, "next_cursor", next);
	return o;
}

json_object *render_user_member(const struct user *u)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "first_name", json_object_new_string(u->first_name));
	json_object_object_add(o, "last_name", json_object_new_string(u->last_name));
	json_object_object_add(o, "role", json_object_new_string(u->role));
	json_object_object_add(o, "account_type", json_object_new_string(u->account_type));
	json_object_object_add(o, "email_verified", json_object_new_boolean(u->email_verified));
	json_object_object_add(o, "login_otp", json_object_new_boolean(u->login_otp));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(u->updated_at));
	return o;
}

json_object *render_user(struct arena *a, const struct user *u)
{
	return owned(a, render_user_member(u));
}

json_object *render_signin(struct arena *a, const struct accounts_signin *s)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "access_token", json_object_new_string(s->tokens.access));
	json_object_object_add(o, "refresh_token", json_object_new_string(s->tokens.refresh));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(s->tokens.expires_in));
	json_object_object_add(o, "user", render_user_member(&s->user));
	return o;
}

json_object *render_sessions(struct arena *a, const struct accounts_sessions_page *p,
                             const char *current_sid)
{
	json_object *items = json_object_new_array();

	for (size_t i = 0; i < p->n; i++) {
		const struct session_info *v = &p->items[i];
		json_object *s = json_object_new_object();

		json_object_object_add(s, "id", json_object_new_string(v->id));
		json_object_object_add(
		    s, "created_at",
		    json_object_new_string(util_rfc3339(a, (time_t)v->created_at)));
		json_object_object_add(
		    s, "last_used_at",
		    json_object_new_string(util_rfc3339(a, (time_t)v->last_used_at)));
		json_object_object_add(s, "user_agent", json_object_new_string(v->user_agent));
		json_object_object_add(s, "ip", json_object_new_string(v->ip));
		json_object_object_add(s, "current",
		                       json_object_new_boolean(current_sid != NULL &&
		                                               strcmp(v->id, current_sid) == 0));
		json_object_array_add(items, s);
	}
	return page_object(a, items, p->next_cursor);
}

json_object *render_message(struct arena *a, const char *text, int attempts)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "message", json_object_new_string(text));
	if (attempts >= 0)
		json_object_object_add(o, "attempts_remaining", json_object_new_int(attempts));
	return o;
}

static json_object *user_view_member(const struct user_view *v)
{
	json_object *o;

	if (v->full) {
		o = render_user_member(&v->u);
		json_object_object_add(
		    o, "pending_email",
		    v->pending_email != NULL ? json_object_new_string(v->pending_email) : NULL);
		return o;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(v->u.id));
	json_object_object_add(o, "first_name", json_object_new_string(v->u.first_name));
	json_object_object_add(o, "last_name", json_object_new_string(v->u.last_name));
	json_object_object_add(o, "account_type", json_object_new_string(v->u.account_type));
	json_object_object_add(o, "created_at", json_object_new_string(v->u.created_at));
	return o;
}

json_object *render_user_view(struct arena *a, const struct user_view *v)
{
	return owned(a, user_view_member(v));
}

json_object *render_users_page(struct arena *a, const struct users_page *p)
{
	json_object *items = json_object_new_array();

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, user_view_member(&p->items[i]));
	return page_object(a, items, p->next_cursor);
}

json_object *render_jobseeker(struct arena *a, const struct jobseeker *j)
{
	json_object *o = json_new_object(a);

	add_str(o, "id", j->id);
	add_str(o, "user_id", j->user_id);
	add_str(o, "first_name", j->first_name);
	add_str(o, "last_name", j->last_name);
	add_str(o, "location", j->location);
	add_str(o, "phone", j->phone);
	add_str(o, "dob", j->dob);
	add_str(o, "created_at", j->created_at);
	add_str(o, "updated_at", j->updated_at);
	return o;
}

static json_object *employer_member(const struct employer *e)
{
	json_object *o = json_object_new_object();

	add_str(o, "id", e->id);
	add_str(o, "user_id", e->user_id);
	add_str(o, "name", e->name);
	add_str(o, "location", e->location);
	add_str(o, "description", e->description);
	add_str(o, "mission", e->mission);
	add_str(o, "vision", e->vision);
	add_str(o, "created_at", e->created_at);
	add_str(o, "updated_at", e->updated_at);
	return o;
}

json_object *render_employer(struct arena *a, const struct employer *e)
{
	return owned(a, employer_member(e));
}

json_object *render_employers_page(struct arena *a, const struct employers_page *p)
{
	json_object *items = json_object_new_array();

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, employer_member(&p->items[i]));
	return page_object(a, items, p->next_cursor);
}

json_object *render_me_view(struct arena *a, const struct oidc_me *me)
{
	json_object *o = render_user_view(a, &me->view);
	json_object *ids = json_object_new_array();

	for (size_t i = 0; i < me->n; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "provider",
		                       json_object_new_string(me->identities[i].provider));
		json_object_object_add(x, "email", json_object_new_string(me->identities[i].email));
		json_object_object_add(x, "linked_at",
		                       json_object_new_string(me->identities[i].linked_at));
		json_object_array_add(ids, x);
	}
	json_object_object_add(o, "identities", ids);
	return o;
}

static json_object *resume_member(const struct resume *r)
{
	json_object *o = json_object_new_object();
	json_object *contact = json_object_new_object();
	json_object *sections = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "title", json_object_new_string(r->title));
	json_object_object_add(o, "template", json_object_new_string(r->template));
	json_object_object_add(contact, "name", json_object_new_string(r->contact.name));
	json_object_object_add(contact, "email", json_object_new_string(r->contact.email));
	json_object_object_add(contact, "phone", json_object_new_string(r->contact.phone));
	json_object_object_add(contact, "linkedin", json_object_new_string(r->contact.linkedin));
	json_object_object_add(contact, "github", json_object_new_string(r->contact.github));
	json_object_object_add(contact, "website", json_object_new_string(r->contact.website));
	json_object_object_add(o, "contact", contact);
	for (size_t i = 0; i < r->nsections; i++) {
		const struct resume_section *s = &r->sections[i];
		json_object *so = json_object_new_object();
		json_object *items = json_object_new_array();

		json_object_object_add(so, "id", json_object_new_string(s->id));
		json_object_object_add(so, "section_type", json_object_new_string(s->section_type));
		json_object_object_add(so, "title", json_object_new_string(s->title));
		json_object_object_add(so, "position", json_object_new_int(s->position));
		for (size_t j = 0; j < s->nitems; j++) {
			const struct resume_item *it = &s->items[j];
			json_object *io = json_object_new_object();
			json_object *bullets = json_object_new_array();

			json_object_object_add(io, "id", json_object_new_string(it->id));
			json_object_object_add(io, "title", json_object_new_string(it->title));
			json_object_object_add(io, "organization",
			                       json_object_new_string(it->organization));
			json_object_object_add(io, "location",
			                       json_object_new_string(it->location));
			json_object_object_add(io, "start_date", str_or_null(it->start_date));
			json_object_object_add(io, "end_date", str_or_null(it->end_date));
			json_object_object_add(io, "description",
			                       json_object_new_string(it->description));
			for (size_t m = 0; m < it->nbullets; m++)
				json_object_array_add(bullets,
				                      json_object_new_string(it->bullets[m]));
			json_object_object_add(io, "bullets", bullets);
			json_object_object_add(io, "position", json_object_new_int(it->position));
			json_object_array_add(items, io);
		}
		json_object_object_add(so, "items", items);
		json_object_array_add(sections, so);
	}
	json_object_object_add(o, "sections", sections);
	json_object_object_add(o, "has_pdf", json_object_new_boolean(r->has_pdf));
	json_object_object_add(o, "created_at", json_object_new_string(r->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(r->updated_at));
	return o;
}

json_object *render_resume(struct arena *a, const struct resume *r)
{
	return owned(a, resume_member(r));
}

json_object *render_resumes(struct arena *a, const struct resume_list *l)
{
	json_object *items = json_object_new_array();

	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(items, resume_member(&l->items[i]));
	return page_object(a, items, NULL);
}

json_object *render_task_accepted(struct arena *a, const char *task_id, const char *url)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "task_id", json_object_new_string(task_id));
	json_object_object_add(o, "status_url", json_object_new_string(url));
	return o;
}

json_object *render_task(struct arena *a, const struct task_view *t)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "id", json_object_new_string(t->id));
	json_object_object_add(o, "kind", json_object_new_string(t->kind));
	json_object_object_add(o, "status", json_object_new_string(t->status));
	if (t->result_json != NULL) {
		/* jsonb text from PostgreSQL, written by medrin-worker: always valid. */
		json_object *res = json_tokener_parse(t->result_json);

		json_object_object_add(o, "result", res);
	}
	if (t->error != NULL)
		json_object_object_add(o, "error", json_object_new_string(t->error));
	json_object_object_add(o, "created_at", json_object_new_string(t->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(t->updated_at));
	return o;
}

json_object *render_job_member(const struct job *j)
{
	json_object *o = json_object_new_object();
	json_object *sal = NULL;

	json_object_object_add(o, "id", json_object_new_string(j->id));
	json_object_object_add(o, "company_name", json_object_new_string(j->company_name));
	json_object_object_add(o, "position", json_object_new_string(j->position));
	json_object_object_add(o, "status", json_object_new_string(j->status));
	json_object_object_add(o, "applied_on", json_object_new_string(j->applied_on));
	json_object_object_add(o, "url", str_or_null(j->url));
	json_object_object_add(o, "location", str_or_null(j->location));
	if (j->salary.present) {
		sal = json_object_new_object();
		json_object_object_add(
		    sal, "min", j->salary.has_min ? json_object_new_int64(j->salary.min) : NULL);
		json_object_object_add(
		    sal, "max", j->salary.has_max ? json_object_new_int64(j->salary.max) : NULL);
		json_object_object_add(sal, "currency", str_or_null(j->salary.currency));
		json_object_object_add(sal, "period", str_or_null(j->salary.period));
	}
	json_object_object_add(o, "salary", sal);
	json_object_object_add(o, "description", str_or_null(j->description));
	json_object_object_add(o, "created_at", json_object_new_string(j->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(j->updated_at));
	return o;
}

json_object *render_job(struct arena *a, const struct job *j)
{
	return owned(a, render_job_member(j));
}

json_object *render_jobs_page(struct arena *a, const struct jobs_page *p)
{
	json_object *items = json_object_new_array_ext((int)p->n);

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, render_job_member(&p->items[i]));
	return page_object(a, items, p->next_cursor);
}

json_object *render_note_member(const struct note *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(n->id));
	json_object_object_add(o, "job_id", json_object_new_string(n->job_id));
	json_object_object_add(o, "content", json_object_new_string(n->content));
	json_object_object_add(o, "reminder_time", str_or_null(n->reminder_time));
	json_object_object_add(o, "reminded_at", str_or_null(n->reminded_at));
	json_object_object_add(o, "created_at", json_object_new_string(n->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(n->updated_at));
	return o;
}

json_object *render_note(struct arena *a, const struct note *n)
{
	return owned(a, render_note_member(n));
}

json_object *render_notes_page(struct arena *a, const struct notes_page *p)
{
	json_object *items = json_object_new_array_ext((int)p->n);

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, render_note_member(&p->items[i]));
	return page_object(a, items, p->next_cursor);
}

json_object *render_job_stats(struct arena *a, const struct job_stats *s)
{
	json_object *o = json_new_object(a);
	json_object *by = json_object_new_object();

	for (int i = 0; i < JOBS_NSTATUS; i++)
		json_object_object_add(by, jobs_statuses[i], json_object_new_int64(s->counts[i]));
	json_object_object_add(o, "total", json_object_new_int64(s->total));
	json_object_object_add(o, "by_status", by);
	return o;
}
