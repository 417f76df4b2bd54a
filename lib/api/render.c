/* render.c - domain structs to JSON; see render.h. */
#include "api/render.h"

#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "http/json.h"

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

static void put_json(void *p)
{
	json_object_put(p);
}

json_object *render_user(struct arena *a, const struct user *u)
{
	json_object *o = render_user_member(u);

	arena_defer(a, put_json, o);
	return o;
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
	json_object *o = json_new_object(a);
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
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next_cursor",
	                       p->next_cursor != NULL ? json_object_new_string(p->next_cursor)
	                                              : NULL);
	return o;
}

json_object *render_message(struct arena *a, const char *text, int attempts)
{
	json_object *o = json_new_object(a);

	json_object_object_add(o, "message", json_object_new_string(text));
	if (attempts >= 0)
		json_object_object_add(o, "attempts_remaining", json_object_new_int(attempts));
	return o;
}

static json_object *str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
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
	json_object *o = resume_member(r);

	arena_defer(a, put_json, o);
	return o;
}

json_object *render_resumes(struct arena *a, const struct resume_list *l)
{
	json_object *o = json_new_object(a);
	json_object *items = json_object_new_array();

	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(items, resume_member(&l->items[i]));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next_cursor", NULL);
	return o;
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
