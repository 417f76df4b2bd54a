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
	json_object *o = render_job_member(j);

	arena_defer(a, put_json, o);
	return o;
}

json_object *render_jobs_page(struct arena *a, const struct jobs_page *p)
{
	json_object *o = json_new_object(a);
	json_object *items = json_object_new_array_ext((int)p->n);

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, render_job_member(&p->items[i]));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next_cursor", str_or_null(p->next_cursor));
	return o;
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
	json_object *o = render_note_member(n);

	arena_defer(a, put_json, o);
	return o;
}

json_object *render_notes_page(struct arena *a, const struct notes_page *p)
{
	json_object *o = json_new_object(a);
	json_object *items = json_object_new_array_ext((int)p->n);

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(items, render_note_member(&p->items[i]));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next_cursor", str_or_null(p->next_cursor));
	return o;
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
