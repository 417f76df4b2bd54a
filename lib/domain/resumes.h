/* resumes.h - resumes: nested CRUD, the per-user cache of the list, compile and rating
 * requests, the PDF (api.md "Resumes"; docs/internals/resumes.md).
 *
 * A resume holds ordered sections, a section ordered items. Writes replace whole trees in
 * one transaction. GET /resumes is served from a Redis entry per user that is valid only
 * for the value of the user's row in resume_cache_versions it was built from; every
 * write bumps that row in its own transaction, so a read after a write is never stale,
 * whichever host serves it (and whatever Redis did). Logout drops the entry.
 */
#ifndef MEDRIN_RESUMES_H
#define MEDRIN_RESUMES_H

#include <stddef.h>
#include "base/err.h"

struct arena;
struct ctx;
struct db;
struct rds;

/* Bounds (documented in the README and docs/openapi.json). Byte lengths of UTF-8. */
#define RESUMES_MAX_PER_USER 50
#define RESUMES_MAX_SECTIONS 20
#define RESUMES_MAX_ITEMS 30   /* per section */
#define RESUMES_MAX_BULLETS 15 /* per item */
#define RESUMES_TITLE_MAX 200  /* resume, section and item titles, organization, location */
#define RESUMES_CONTACT_MAX 254
#define RESUMES_DESCRIPTION_MAX 5000
#define RESUMES_BULLET_MAX 500
#define RESUMES_POSITION_MAX 10000
#define RESUMES_BODY_MAX (512u * 1024u) /* the route's body limit */
#define RESUMES_CACHE_TTL 600           /* seconds */

/* The section types; the first four are "the four main types" a new resume gets. */
extern const char *const resumes_section_types[]; /* NULL-terminated */
extern const char *const resumes_templates[];     /* NULL-terminated; [0] is the default */

struct resume_item {
	const char *id; /* NULL on input: a new item */
	const char *title, *organization, *location;
	const char *start_date, *end_date; /* YYYY-MM-DD or NULL */
	const char *description;
	const char **bullets;
	size_t nbullets;
	int position;
};

struct resume_section {
	const char *id; /* NULL on input: a new section */
	const char *section_type;
	const char *title;
	int position;
	struct resume_item *items;
	size_t nitems;
};

struct resume_contact {
	const char *name, *email, *phone, *linkedin, *github, *website;
};

struct resume {
	const char *id;
	const char *title; /* input: NULL means "Untitled Resume (n)" (create only) */
	const char *template;
	struct resume_contact contact;
	struct resume_section *sections;
	size_t nsections;
	int has_sections; /* input (create): 0 = the four empty main sections */
	int has_pdf;
	const char *created_at, *updated_at;
};

struct resume_list {
	struct resume *items;
	size_t n;
	int from_cache; /* 1 when served from Redis */
};

/* Registers the statements (services.c, medrin-worker). */
int resumes_register(struct db *db) MUSTCHECK;

/* The actor's resumes, oldest first, each whole. */
int resumes_list(struct ctx *c, struct resume_list *out) MUSTCHECK;
/* One of the actor's resumes; ERR_NOT_FOUND for another user's or a bad id. */
int resumes_get(struct ctx *c, const char *id, struct resume *out) MUSTCHECK;
/* Creates in from the validated input (ids ignored) and returns the stored resume.
 * 409 too_many_resumes past RESUMES_MAX_PER_USER. */
int resumes_create(struct ctx *c, const struct resume *in, struct resume *out) MUSTCHECK;
/* Replaces title, template, contact and the whole tree of sections and items. A section
 * or item id in the input must be one of this resume's (it is kept); others are new;
 * those not named are deleted. 422 with the path when an id is not this resume's. */
int resumes_replace(struct ctx *c, const char *id, const struct resume *in,
                    struct resume *out) MUSTCHECK;
/* PATCH: title and/or template (NULL: unchanged). */
int resumes_patch(struct ctx *c, const char *id, const char *title, const char *template,
                  struct resume *out) MUSTCHECK;
int resumes_delete(struct ctx *c, const char *id) MUSTCHECK;

/* Queues a compile (kind "compile") of the actor's resume; an unchanged resume with a
 * compile still queued gets that task back (*existing = 1). */
int resumes_compile(struct ctx *c, const char *id, char **task_id, int *existing) MUSTCHECK;
/* Queues a rating (kind "rating"); 503 rating_unavailable when no GEMINI_API_KEY. */
int resumes_rate(struct ctx *c, const char *id, char **task_id) MUSTCHECK;
/* The internal path (under MEDRIN_FILES_DIR, e.g. "resumes/<user>/<id>.pdf") of the
 * resume's last PDF; ERR_NOT_FOUND when none (or not the actor's). */
int resumes_pdf(struct ctx *c, const char *id, char **path) MUSTCHECK;

/* Drops the actor's cached list (logout). Never fails: the version check makes a left-over
 * entry harmless; this only keeps the cache from outliving the session. */
void resumes_cache_drop(struct rds *r, struct arena *a, const char *user_id);

/* --- for medrin-worker --- */

/* Loads a user's resume by id without a request context. */
int resumes_load(struct db *db, struct arena *a, const char *user_id, const char *id,
                 struct resume *out) MUSTCHECK;
/* Records a compiled PDF (path relative to MEDRIN_FILES_DIR). Bumps the cache version. */
int resumes_set_pdf(struct db *db, struct arena *a, const char *user_id, const char *id,
                    const char *path) MUSTCHECK;
/* The plain-text rendering of a resume sent for rating (arena). */
char *resumes_text(struct arena *a, const struct resume *r);

/* Cache codec (exposed for the unit tests): the list as record.h records separated by
 * empty lines, headed by the version it was built from. */
char *resumes_cache_encode(struct arena *a, long long version, const struct resume_list *l);
int resumes_cache_decode(struct arena *a, const char *text, long long *version,
                         struct resume_list *out) MUSTCHECK;

/* GET /tasks/{id}: the actor's task. */
struct task_view {
	const char *id, *kind, *status;
	const char *result_json; /* NULL unless succeeded */
	const char *error;       /* NULL unless failed */
	const char *created_at, *updated_at;
};
int resumes_task_get(struct ctx *c, const char *id, struct task_view *out) MUSTCHECK;

#endif
