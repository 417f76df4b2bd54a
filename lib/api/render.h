/* render.h - the one place each domain struct becomes JSON.
 *
 * REST handlers render with these, and the GraphQL executor will too, so an object looks
 * the same whichever API serves it. Objects returned by the functions that take an arena
 * are owned by it (put on reset); the *_member variants return a new, unowned object for
 * adding to another one (the parent then owns it).
 */
#ifndef MEDRIN_RENDER_H
#define MEDRIN_RENDER_H

#include <json-c/json.h>
#include "domain/accounts.h"
#include "domain/profiles.h"
#include "domain/users_manage.h"
#include "domain/oidc.h"
#include "domain/resumes.h"
#include "domain/jobs.h"

struct arena;

/* api.md's user object: id, email, first_name, last_name, role, account_type,
 * email_verified, login_otp, created_at, updated_at. Never the password hash. */
json_object *render_user(struct arena *a, const struct user *u);
json_object *render_user_member(const struct user *u);

/* The token response: access_token, refresh_token, token_type "Bearer", expires_in, user. */
json_object *render_signin(struct arena *a, const struct accounts_signin *s);

/* {"items":[{id, created_at, last_used_at, user_agent, ip, current}], "next_cursor"}:
 * current marks current_sid (may be NULL). */
json_object *render_sessions(struct arena *a, const struct accounts_sessions_page *p,
                             const char *current_sid);

/* {"message": text} plus "attempts_remaining" when attempts >= 0. */
json_object *render_message(struct arena *a, const char *text, int attempts);

/* A user as v->full allows: the full object plus "pending_email" (string or null), or
 * the public view {id, first_name, last_name, account_type, created_at}. */
json_object *render_user_view(struct arena *a, const struct user_view *v);
/* {"items":[user views], "next_cursor"}. */
json_object *render_users_page(struct arena *a, const struct users_page *p);
/* Profiles: every column; dob null when not given. */
json_object *render_jobseeker(struct arena *a, const struct jobseeker *j);
json_object *render_employer(struct arena *a, const struct employer *e);
json_object *render_employers_page(struct arena *a, const struct employers_page *p);

/* GET /users/me: the user view plus "identities": [{provider, email, linked_at}] (the
 * linked OpenID Connect providers, oldest first; [] when none). */
json_object *render_me_view(struct arena *a, const struct oidc_me *me);
/* api.md's resume: id, title, template, contact{name, email, phone, linkedin, github,
 * website}, sections[{id, section_type, title, position, items[{id, title, organization,
 * location, start_date, end_date (null when unset), description, bullets, position}]}],
 * has_pdf, created_at, updated_at. */
json_object *render_resume(struct arena *a, const struct resume *r);
/* {"items": [resume...], "next_cursor": null} (the whole list: at most
 * RESUMES_MAX_PER_USER). */
json_object *render_resumes(struct arena *a, const struct resume_list *l);
/* 202 body of a queued task: {"task_id", "status_url"}. */
json_object *render_task_accepted(struct arena *a, const char *task_id, const char *url);
/* GET /tasks/{id}: {"id", "kind", "status", "result" (succeeded), "error" (failed),
 * "created_at", "updated_at"}. */
json_object *render_task(struct arena *a, const struct task_view *t);
/* A job application: id, company_name, position, status, applied_on, url, location,
 * salary ({"min","max","currency","period"} or null), description, created_at,
 * updated_at; absent optional fields are null. */
json_object *render_job(struct arena *a, const struct job *j);
json_object *render_job_member(const struct job *j);
/* {"items":[job…], "next_cursor"} */
json_object *render_jobs_page(struct arena *a, const struct jobs_page *p);
/* A note: id, job_id, content, reminder_time, reminded_at (null until mailed),
 * created_at, updated_at. */
json_object *render_note(struct arena *a, const struct note *n);
json_object *render_note_member(const struct note *n);
json_object *render_notes_page(struct arena *a, const struct notes_page *p);
/* {"total": n, "by_status": {"wishlist": n, … every status, zeros included}} */
json_object *render_job_stats(struct arena *a, const struct job_stats *s);

#endif
