/* resumes.c - resumes, the cache of the list, compile and rating requests; see
 * resumes.h and docs/internals/resumes.md.
 *
 * The cache is correct by construction, not by careful invalidation: every write bumps
 * the user's row in resume_cache_versions inside the write's transaction, and a cached
 * list carries the version it was read after. A read fetches the version (one primary
 * key lookup) and uses the Redis entry only when it carries that version; otherwise it
 * reads the tree (one statement, one snapshot, taken after the version was read, so at
 * least as new) and stores it under the version it read. A reader racing a writer can at
 * worst store newer data under an older version, which is never served again. A failed
 * Redis write or delete can therefore never make anyone see old data.
 */
#include "domain/resumes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* A bounded arena buffer only fails past its (generous) limit: output is then cut. */
#define IGN(x)                       \
	do {                         \
		if ((x) != ERR_OK) { \
		}                    \
	} while (0)
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/ctx.h"
#include "domain/tasks.h"
#include "security/random.h"
#include "store/db.h"
#include "store/rds.h"

const char *const resumes_section_types[] = {"education", "experience", "project",
                                             "skill",     "other",      NULL};
const char *const resumes_templates[] = {"classic", "compact", NULL};

static const char *const main_titles[] = {"Education", "Experience", "Projects", "Skills"};

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One row per item (or per empty section, or per empty resume), in document order. */
#define TREE_SELECT                                                                               \
	"SELECT r.id::text, r.title, r.template, r.contact_name, r.contact_email, "               \
	"r.contact_phone, r.contact_linkedin, r.contact_github, r.contact_website, " TS(          \
	    "r.created_at") ", " TS("r.updated_at") ", r.pdf_path IS NOT NULL, "                  \
	                                            "s.id::text, s.section_type, s.title, "       \
	                                            "s.position, "                                \
	                                            "i.id::text, i.title, i.organization, "       \
	                                            "i.location, i.start_date::text, "            \
	                                            "i.end_date::text, i.description, "           \
	                                            "cardinality(i.bullets), "                    \
	                                            "array_to_string(i.bullets, E'\\n'), "        \
	                                            "i.position "                                 \
	                                            "FROM resumes r LEFT JOIN resume_sections s " \
	                                            "ON s.resume_id = r.id "                      \
	                                            "LEFT JOIN resume_items i ON i.section_id = " \
	                                            "s.id "

#define TREE_ORDER " ORDER BY r.created_at, r.id, s.position, s.id, i.position, i.id"

static const struct db_stmt resumes_stmts[] = {
    {"resumes_version",
     "SELECT coalesce((SELECT version FROM resume_cache_versions "
     "WHERE user_id = $1::uuid), 0)",
     1},
    /* Inside every write's transaction; also serialises one user's writes. */
    {"resumes_bump",
     "INSERT INTO resume_cache_versions (user_id) VALUES ($1::uuid) "
     "ON CONFLICT (user_id) DO UPDATE SET version = resume_cache_versions.version + 1 "
     "RETURNING version",
     1},
    {"resumes_tree_all", TREE_SELECT "WHERE r.user_id = $1::uuid" TREE_ORDER, 1},
    {"resumes_tree_one", TREE_SELECT "WHERE r.user_id = $1::uuid AND r.id = $2::uuid" TREE_ORDER,
     2},
    {"resumes_count", "SELECT count(*) FROM resumes WHERE user_id = $1::uuid", 1},
    {"resumes_untitled",
     "SELECT CASE WHEN n = 1 THEN 'Untitled Resume' ELSE 'Untitled Resume (' || n || ')' END "
     "FROM generate_series(1, 1000) n WHERE NOT EXISTS (SELECT 1 FROM resumes "
     "WHERE user_id = $1::uuid AND title = CASE WHEN n = 1 THEN 'Untitled Resume' "
     "ELSE 'Untitled Resume (' || n || ')' END) ORDER BY n LIMIT 1",
     1},
    {"resumes_insert",
     "INSERT INTO resumes (id, user_id, title, template, contact_name, contact_email, "
     "contact_phone, contact_linkedin, contact_github, contact_website) VALUES ($1::uuid, "
     "$2::uuid, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, "
     "$10::text) RETURNING id",
     10},
    {"resumes_update",
     "UPDATE resumes SET title = $3::text, template = $4::text, contact_name = $5::text, "
     "contact_email = $6::text, contact_phone = $7::text, contact_linkedin = $8::text, "
     "contact_github = $9::text, contact_website = $10::text, revision = revision + 1, "
     "updated_at = now() WHERE id = $1::uuid AND user_id = $2::uuid RETURNING id",
     10},
    {"resumes_patch",
     "UPDATE resumes SET title = coalesce($3::text, title), "
     "template = coalesce($4::text, template), revision = revision + 1, updated_at = now() "
     "WHERE id = $1::uuid AND user_id = $2::uuid RETURNING id",
     4},
    {"resumes_lock",
     "SELECT revision::text FROM resumes WHERE id = $1::uuid AND user_id = $2::uuid "
     "FOR UPDATE",
     2},
    {"resumes_delete",
     "DELETE FROM resumes WHERE id = $1::uuid AND user_id = $2::uuid RETURNING pdf_path", 2},
    {"resumes_ids",
     "SELECT 's', id::text FROM resume_sections WHERE resume_id = $1::uuid UNION ALL "
     "SELECT 'i', i.id::text FROM resume_items i JOIN resume_sections s "
     "ON s.id = i.section_id WHERE s.resume_id = $1::uuid",
     1},
    {"resumes_sections_clear", "DELETE FROM resume_sections WHERE resume_id = $1::uuid", 1},
    /* The whole tree in two statements, whatever its size (arrays, unnest). */
    {"resumes_sections_insert",
     "INSERT INTO resume_sections (id, resume_id, user_id, section_type, title, position) "
     "SELECT u.id, $1::uuid, $2::uuid, u.t, u.title, u.pos FROM "
     "unnest($3::uuid[], $4::text[], $5::text[], $6::int[]) AS u(id, t, title, pos)",
     6},
    {"resumes_items_insert",
     "INSERT INTO resume_items (id, section_id, user_id, title, organization, location, "
     "start_date, end_date, description, bullets, position) "
     "SELECT u.id, u.sid, $1::uuid, u.title, u.org, u.loc, u.sd::date, u.ed::date, u.descr, "
     "CASE WHEN u.nb = 0 THEN '{}'::text[] ELSE string_to_array(u.b, E'\\n') END, u.pos "
     "FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], "
     "$8::text[], $9::text[], $10::int[], $11::text[], $12::int[]) "
     "AS u(id, sid, title, org, loc, sd, ed, descr, nb, b, pos)",
     12},
    {"resumes_compile_queued",
     "SELECT id::text FROM tasks WHERE user_id = $1::uuid AND kind = 'compile' "
     "AND status = 'queued' AND payload->>'resume_id' = $2::text "
     "AND payload->>'revision' = $3::text ORDER BY created_at LIMIT 1",
     3},
    {"resumes_pdf", "SELECT pdf_path FROM resumes WHERE id = $1::uuid AND user_id = $2::uuid", 2},
    {"resumes_set_pdf",
     "UPDATE resumes SET pdf_path = $3::text, pdf_at = now() "
     "WHERE id = $1::uuid AND user_id = $2::uuid RETURNING id",
     3},
    {"resumes_task",
     "SELECT id::text, kind, status, result::text, error, " TS("created_at") ", " TS(
         "updated_at") " FROM tasks WHERE id = $1::uuid AND user_id = $2::uuid",
     2},
};

int resumes_register(struct db *db)
{
	return db_register(db, resumes_stmts, sizeof resumes_stmts / sizeof resumes_stmts[0]);
}

/* ------------------------------------------------------------------ helpers */

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static const char *cell(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);

	return v != NULL ? arena_strdup(a, v) : NULL;
}

/* pg_array: a text[] literal of n strings (every element quoted; NULL elements NULL). */
static char *pg_array(struct arena *a, const char *const *v, size_t n)
{
	struct buf b;

	buf_init(&b, a, 64u * 1024u * 1024u);
	IGN(buf_putc(&b, '{'));
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			IGN(buf_putc(&b, ','));
		if (v[i] == NULL) {
			IGN(buf_puts(&b, "NULL"));
			continue;
		}
		IGN(buf_putc(&b, '"'));
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				IGN(buf_putc(&b, '\\'));
			IGN(buf_putc(&b, *p));
		}
		IGN(buf_putc(&b, '"'));
	}
	IGN(buf_putc(&b, '}'));
	return arena_strdup(a, buf_str(&b));
}

static const char *itoa_(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

/* ------------------------------------------------------------------ reading the tree */

/* tree_fill builds resumes from the rows of resumes_tree_* (ordered). */
static void tree_fill(struct arena *a, const PGresult *res, struct resume_list *out)
{
	int rows = db_rows(res);
	size_t nr = 0, ns = 0, ni = 0;
	struct resume *rs;
	struct resume_section *ss;
	struct resume_item *is;
	const char *last_r = NULL, *last_s = NULL;

	memset(out, 0, sizeof *out);
	for (int i = 0; i < rows; i++) {
		const char *rid = db_value(res, i, 0), *sid = db_value(res, i, 12);

		if (last_r == NULL || strcmp(last_r, rid) != 0)
			nr++, last_s = NULL;
		last_r = rid;
		if (sid != NULL && (last_s == NULL || strcmp(last_s, sid) != 0))
			ns++;
		last_s = sid;
		if (db_value(res, i, 16) != NULL)
			ni++;
	}
	rs = arena_zalloc(a, (nr ? nr : 1) * sizeof *rs);
	ss = arena_zalloc(a, (ns ? ns : 1) * sizeof *ss);
	is = arena_zalloc(a, (ni ? ni : 1) * sizeof *is);
	nr = ns = ni = 0;
	struct resume *r = NULL;
	struct resume_section *s = NULL;

	for (int i = 0; i < rows; i++) {
		const char *rid = db_value(res, i, 0), *sid = db_value(res, i, 12);

		if (r == NULL || strcmp(r->id, rid) != 0) {
			r = &rs[nr++];
			r->id = cell(a, res, i, 0);
			r->title = cell(a, res, i, 1);
			r->template = cell(a, res, i, 2);
			r->contact.name = cell(a, res, i, 3);
			r->contact.email = cell(a, res, i, 4);
			r->contact.phone = cell(a, res, i, 5);
			r->contact.linkedin = cell(a, res, i, 6);
			r->contact.github = cell(a, res, i, 7);
			r->contact.website = cell(a, res, i, 8);
			r->created_at = cell(a, res, i, 9);
			r->updated_at = cell(a, res, i, 10);
			r->has_pdf = nz(db_value(res, i, 11))[0] == 't';
			r->sections = &ss[ns];
			s = NULL;
		}
		if (sid == NULL)
			continue;
		if (s == NULL || strcmp(s->id, sid) != 0) {
			s = &ss[ns++];
			r->nsections++;
			s->id = cell(a, res, i, 12);
			s->section_type = cell(a, res, i, 13);
			s->title = cell(a, res, i, 14);
			s->position = atoi(nz(db_value(res, i, 15)));
			s->items = &is[ni];
		}
		if (db_value(res, i, 16) == NULL)
			continue;
		struct resume_item *it = &is[ni++];

		s->nitems++;
		it->id = cell(a, res, i, 16);
		it->title = cell(a, res, i, 17);
		it->organization = cell(a, res, i, 18);
		it->location = cell(a, res, i, 19);
		it->start_date = cell(a, res, i, 20);
		it->end_date = cell(a, res, i, 21);
		it->description = cell(a, res, i, 22);
		it->position = atoi(nz(db_value(res, i, 25)));
		it->nbullets = (size_t)atoi(nz(db_value(res, i, 23)));
		if (it->nbullets > 0) {
			char *all = arena_strdup(a, nz(db_value(res, i, 24)));

			it->bullets = arena_zalloc(a, it->nbullets * sizeof *it->bullets);
			for (size_t k = 0; k < it->nbullets; k++) {
				char *nl = strchr(all, '\n');

				it->bullets[k] = all;
				if (nl == NULL) {
					for (k++; k < it->nbullets; k++)
						it->bullets[k] = "";
					break;
				}
				*nl = '\0';
				all = nl + 1;
			}
		}
	}
	out->items = rs;
	out->n = nr;
}

static int load_tree(struct db *db, struct arena *a, const char *user_id, const char *id,
                     struct resume_list *out)
{
	PGresult *res = NULL;
	const char *params[2] = {user_id, id};
	int rc = db_exec(db, a, id != NULL ? "resumes_tree_one" : "resumes_tree_all",
	                 id != NULL ? 2 : 1, params, &res);

	if (rc != ERR_OK)
		return rc;
	tree_fill(a, res, out);
	return ERR_OK;
}

int resumes_load(struct db *db, struct arena *a, const char *user_id, const char *id,
                 struct resume *out)
{
	struct resume_list l;
	int rc;

	memset(out, 0, sizeof *out);
	if (user_id == NULL || id == NULL || !util_uuid_valid(user_id) || !util_uuid_valid(id))
		return ERR_NOT_FOUND;
	rc = load_tree(db, a, user_id, id, &l);
	if (rc != ERR_OK)
		return rc;
	if (l.n != 1)
		return ERR_NOT_FOUND;
	*out = l.items[0];
	return ERR_OK;
}

/* ------------------------------------------------------------------ the cache codec */

static char *cache_key(struct rds *r, struct arena *a, const char *user_id)
{
	return rds_key(r, a, "resumes:%s", user_id);
}

static void add(struct buf *b, struct arena *a, struct record *rec)
{
	IGN(buf_puts(b, record_encode(a, rec)));
	IGN(buf_putc(b, '\n')); /* the empty line between records */
}

#define SET(rec, k, v) IGN(record_set(rec, k, v))

char *resumes_cache_encode(struct arena *a, long long version, const struct resume_list *l)
{
	struct buf b;
	struct record rec;

	buf_init(&b, a, 64u * 1024u * 1024u);
	memset(&rec, 0, sizeof rec);
	SET(&rec, "t", "h");
	SET(&rec, "v", itoa_(a, version));
	SET(&rec, "n", itoa_(a, (long long)l->n));
	add(&b, a, &rec);
	for (size_t i = 0; i < l->n; i++) {
		const struct resume *r = &l->items[i];

		memset(&rec, 0, sizeof rec);
		SET(&rec, "t", "r");
		SET(&rec, "id", r->id);
		SET(&rec, "title", r->title);
		SET(&rec, "template", r->template);
		SET(&rec, "cn", r->contact.name);
		SET(&rec, "ce", r->contact.email);
		SET(&rec, "cp", r->contact.phone);
		SET(&rec, "cl", r->contact.linkedin);
		SET(&rec, "cg", r->contact.github);
		SET(&rec, "cw", r->contact.website);
		SET(&rec, "created_at", r->created_at);
		SET(&rec, "updated_at", r->updated_at);
		SET(&rec, "pdf", r->has_pdf ? "1" : "0");
		SET(&rec, "ns", itoa_(a, (long long)r->nsections));
		add(&b, a, &rec);
		for (size_t j = 0; j < r->nsections; j++) {
			const struct resume_section *s = &r->sections[j];

			memset(&rec, 0, sizeof rec);
			SET(&rec, "t", "s");
			SET(&rec, "id", s->id);
			SET(&rec, "type", s->section_type);
			SET(&rec, "title", s->title);
			SET(&rec, "pos", itoa_(a, s->position));
			SET(&rec, "ni", itoa_(a, (long long)s->nitems));
			add(&b, a, &rec);
			for (size_t k = 0; k < s->nitems; k++) {
				const struct resume_item *it = &s->items[k];

				memset(&rec, 0, sizeof rec);
				SET(&rec, "t", "i");
				SET(&rec, "id", it->id);
				SET(&rec, "title", it->title);
				SET(&rec, "org", it->organization);
				SET(&rec, "loc", it->location);
				SET(&rec, "sd", it->start_date);
				SET(&rec, "ed", it->end_date);
				SET(&rec, "desc", it->description);
				SET(&rec, "pos", itoa_(a, it->position));
				SET(&rec, "nb", itoa_(a, (long long)it->nbullets));
				for (size_t m = 0; m < it->nbullets && m < RESUMES_MAX_BULLETS; m++)
					SET(&rec, arena_printf(a, "b%zu", m), it->bullets[m]);
				add(&b, a, &rec);
			}
		}
	}
	return arena_strdup(a, buf_str(&b));
}

/* next_record decodes the record at *p (up to the empty line) and advances *p. */
static int next_record(struct arena *a, const char **p, const char *end, const char *type,
                       struct record *rec)
{
	const char *q = *p, *stop;
	const char *t;

	if (q >= end)
		return ERR_INVALID;
	stop = strstr(q, "\n\n");
	if (stop == NULL || stop >= end)
		return ERR_INVALID;
	if (record_decode(a, q, (size_t)(stop + 1 - q), rec) != ERR_OK)
		return ERR_INVALID;
	*p = stop + 2;
	t = record_get(rec, "t");
	return t != NULL && strcmp(t, type) == 0 ? ERR_OK : ERR_INVALID;
}

static int count(const struct record *rec, const char *name, long max, size_t *out)
{
	long v;

	if (util_parse_long(nz(record_get(rec, name)), 0, max, &v) != ERR_OK)
		return ERR_INVALID;
	*out = (size_t)v;
	return ERR_OK;
}

static const char *need(const struct record *rec, const char *name, int *bad)
{
	const char *v = record_get(rec, name);

	if (v == NULL)
		*bad = 1;
	return v != NULL ? v : "";
}

int resumes_cache_decode(struct arena *a, const char *text, long long *version,
                         struct resume_list *out)
{
	const char *p = text, *end;
	struct record rec;
	size_t n;
	long v;
	int bad = 0;

	memset(out, 0, sizeof *out);
	if (text == NULL)
		return ERR_INVALID;
	end = text + strlen(text);
	if (next_record(a, &p, end, "h", &rec) != ERR_OK ||
	    util_parse_long(nz(record_get(&rec, "v")), 0, 0x7fffffffffffffffL, &v) != ERR_OK ||
	    count(&rec, "n", RESUMES_MAX_PER_USER * 2, &n) != ERR_OK)
		return ERR_INVALID;
	*version = v;
	out->items = arena_zalloc(a, (n ? n : 1) * sizeof *out->items);
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		struct resume *r = &out->items[i];

		if (next_record(a, &p, end, "r", &rec) != ERR_OK ||
		    count(&rec, "ns", RESUMES_MAX_SECTIONS, &r->nsections) != ERR_OK)
			return ERR_INVALID;
		r->id = need(&rec, "id", &bad);
		r->title = need(&rec, "title", &bad);
		r->template = need(&rec, "template", &bad);
		r->contact.name = need(&rec, "cn", &bad);
		r->contact.email = need(&rec, "ce", &bad);
		r->contact.phone = need(&rec, "cp", &bad);
		r->contact.linkedin = need(&rec, "cl", &bad);
		r->contact.github = need(&rec, "cg", &bad);
		r->contact.website = need(&rec, "cw", &bad);
		r->created_at = need(&rec, "created_at", &bad);
		r->updated_at = need(&rec, "updated_at", &bad);
		r->has_pdf = strcmp(need(&rec, "pdf", &bad), "1") == 0;
		r->sections =
		    arena_zalloc(a, (r->nsections ? r->nsections : 1) * sizeof *r->sections);
		for (size_t j = 0; j < r->nsections; j++) {
			struct resume_section *s = &r->sections[j];

			if (next_record(a, &p, end, "s", &rec) != ERR_OK ||
			    count(&rec, "ni", RESUMES_MAX_ITEMS, &s->nitems) != ERR_OK)
				return ERR_INVALID;
			s->id = need(&rec, "id", &bad);
			s->section_type = need(&rec, "type", &bad);
			s->title = need(&rec, "title", &bad);
			s->position = atoi(need(&rec, "pos", &bad));
			s->items = arena_zalloc(a, (s->nitems ? s->nitems : 1) * sizeof *s->items);
			for (size_t k = 0; k < s->nitems; k++) {
				struct resume_item *it = &s->items[k];

				if (next_record(a, &p, end, "i", &rec) != ERR_OK ||
				    count(&rec, "nb", RESUMES_MAX_BULLETS, &it->nbullets) != ERR_OK)
					return ERR_INVALID;
				it->id = need(&rec, "id", &bad);
				it->title = need(&rec, "title", &bad);
				it->organization = need(&rec, "org", &bad);
				it->location = need(&rec, "loc", &bad);
				it->start_date = record_get(&rec, "sd");
				it->end_date = record_get(&rec, "ed");
				it->description = need(&rec, "desc", &bad);
				it->position = atoi(need(&rec, "pos", &bad));
				it->bullets = arena_zalloc(a, (it->nbullets ? it->nbullets : 1) *
				                                  sizeof *it->bullets);
				for (size_t m = 0; m < it->nbullets; m++)
					it->bullets[m] =
					    need(&rec, arena_printf(a, "b%zu", m), &bad);
			}
		}
	}
	return bad || p != end ? ERR_INVALID : ERR_OK;
}

void resumes_cache_drop(struct rds *r, struct arena *a, const char *user_id)
{
	const char *argv[2];

	if (r == NULL || user_id == NULL)
		return;
	argv[0] = "DEL";
	argv[1] = cache_key(r, a, user_id);
	if (rds_cmd(r, a, NULL, 2, argv, NULL) != ERR_OK)
		log_warn("resumes: cached list not dropped (harmless: it carries an old version)");
}

static int read_version(struct ctx *c, long long *v)
{
	PGresult *res = NULL;
	const char *params[1] = {c->actor.user_id};
	int rc = db_exec(c->db, c->arena, "resumes_version", 1, params, &res);

	if (rc != ERR_OK)
		return rc;
	*v = atoll(nz(db_value(res, 0, 0)));
	return ERR_OK;
}

/* The cache entry is at most this big; a larger list is served from PostgreSQL. */
#define CACHE_MAX_BYTES (2u * 1024u * 1024u)

int resumes_list(struct ctx *c, struct resume_list *out)
{
	long long version, cached_version = -1;
	redisReply *rep = NULL;
	const char *argv[5];
	int rc;

	memset(out, 0, sizeof *out);
	rc = read_version(c, &version);
	if (rc != ERR_OK)
		return rc;
	argv[0] = "GET";
	argv[1] = cache_key(c->rds, c->arena, c->actor.user_id);
	if (rds_cmd(c->rds, c->arena, &rep, 2, argv, NULL) == ERR_OK && rep != NULL &&
	    rep->type == REDIS_REPLY_STRING) {
		struct resume_list l;

		if (resumes_cache_decode(c->arena, arena_strndup(c->arena, rep->str, rep->len),
		                         &cached_version, &l) == ERR_OK &&
		    cached_version == version) {
			*out = l;
			out->from_cache = 1;
			return ERR_OK;
		}
	}
	rc = load_tree(c->db, c->arena, c->actor.user_id, NULL, out);
	if (rc != ERR_OK)
		return rc;
	char *text = resumes_cache_encode(c->arena, version, out);

	if (strlen(text) <= CACHE_MAX_BYTES) {
		argv[0] = "SET";
		argv[2] = text;
		argv[3] = "EX";
		argv[4] = itoa_(c->arena, RESUMES_CACHE_TTL);
		if (rds_cmd(c->rds, c->arena, NULL, 5, argv, NULL) != ERR_OK)
			log_warn("resumes: list not cached (Redis)");
	}
	return ERR_OK;
}

static int not_found(struct ctx *c)
{
	return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such resume.");
}

int resumes_get(struct ctx *c, const char *id, struct resume *out)
{
	int rc = resumes_load(c->db, c->arena, c->actor.user_id, id, out);

	return rc == ERR_NOT_FOUND ? not_found(c) : rc;
}

/* ------------------------------------------------------------------ writing */

/* begin_write opens the transaction of a resume write and runs resumes_bump first: it
 * locks this user's writes until the commit and moves the cache generation. On failure
 * no transaction is left open. */
static int begin_write(struct ctx *c)
{
	const char *params[1] = {c->actor.user_id};
	int rc = db_begin(c->db);

	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "resumes_bump", 1, params, NULL);
	if (rc != ERR_OK)
		db_rollback(c->db);
	return rc;
}

/* write_tree inserts in's sections and items under resume id (the old ones are gone). */
static int write_tree(struct ctx *c, const char *id, const struct resume *in)
{
	struct arena *a = c->arena;
	size_t ns = in->nsections, ni = 0;
	int rc;

	if (ns == 0)
		return ERR_OK;
	for (size_t i = 0; i < ns; i++)
		ni += in->sections[i].nitems;

	const char **s_id = arena_zalloc(a, ns * sizeof(char *));
	const char **s_type = arena_zalloc(a, ns * sizeof(char *));
	const char **s_title = arena_zalloc(a, ns * sizeof(char *));
	const char **s_pos = arena_zalloc(a, ns * sizeof(char *));
	size_t n = ni ? ni : 1;
	const char **i_id = arena_zalloc(a, n * sizeof(char *));
	const char **i_sid = arena_zalloc(a, n * sizeof(char *));
	const char **i_title = arena_zalloc(a, n * sizeof(char *));
	const char **i_org = arena_zalloc(a, n * sizeof(char *));
	const char **i_loc = arena_zalloc(a, n * sizeof(char *));
	const char **i_sd = arena_zalloc(a, n * sizeof(char *));
	const char **i_ed = arena_zalloc(a, n * sizeof(char *));
	const char **i_desc = arena_zalloc(a, n * sizeof(char *));
	const char **i_nb = arena_zalloc(a, n * sizeof(char *));
	const char **i_b = arena_zalloc(a, n * sizeof(char *));
	const char **i_pos = arena_zalloc(a, n * sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < ns; i++) {
		const struct resume_section *s = &in->sections[i];

		s_id[i] = s->id != NULL ? s->id : random_uuid(a);
		s_type[i] = s->section_type;
		s_title[i] = nz(s->title);
		s_pos[i] = itoa_(a, (long long)i);
		for (size_t j = 0; j < s->nitems; j++, k++) {
			const struct resume_item *it = &s->items[j];
			struct buf b;

			i_id[k] = it->id != NULL ? it->id : random_uuid(a);
			i_sid[k] = s_id[i];
			i_title[k] = nz(it->title);
			i_org[k] = nz(it->organization);
			i_loc[k] = nz(it->location);
			i_sd[k] = it->start_date;
			i_ed[k] = it->end_date;
			i_desc[k] = nz(it->description);
			i_nb[k] = itoa_(a, (long long)it->nbullets);
			buf_init(&b, a, 16u * 1024u * 1024u);
			for (size_t m = 0; m < it->nbullets; m++) {
				if (m > 0)
					IGN(buf_putc(&b, '\n'));
				IGN(buf_puts(&b, it->bullets[m]));
			}
			i_b[k] = arena_strdup(a, buf_str(&b));
			i_pos[k] = itoa_(a, (long long)j);
		}
	}
	const char *sp[6] = {id,
	                     c->actor.user_id,
	                     pg_array(a, s_id, ns),
	                     pg_array(a, s_type, ns),
	                     pg_array(a, s_title, ns),
	                     pg_array(a, s_pos, ns)};

	rc = db_exec(c->db, a, "resumes_sections_insert", 6, sp, NULL);
	if (rc != ERR_OK || ni == 0)
		return rc;
	const char *ip[12] = {
	    c->actor.user_id,         pg_array(a, i_id, ni),  pg_array(a, i_sid, ni),
	    pg_array(a, i_title, ni), pg_array(a, i_org, ni), pg_array(a, i_loc, ni),
	    pg_array(a, i_sd, ni),    pg_array(a, i_ed, ni),  pg_array(a, i_desc, ni),
	    pg_array(a, i_nb, ni),    pg_array(a, i_b, ni),   pg_array(a, i_pos, ni)};

	return db_exec(c->db, a, "resumes_items_insert", 12, ip, NULL);
}

static const char **resume_params(struct ctx *c, const char *id, const char *title,
                                  const struct resume *in)
{
	const char **p = arena_zalloc(c->arena, 10 * sizeof(char *));

	p[0] = id;
	p[1] = c->actor.user_id;
	p[2] = title;
	p[3] = in->template != NULL ? in->template : resumes_templates[0];
	p[4] = nz(in->contact.name);
	p[5] = nz(in->contact.email);
	p[6] = nz(in->contact.phone);
	p[7] = nz(in->contact.linkedin);
	p[8] = nz(in->contact.github);
	p[9] = nz(in->contact.website);
	return p;
}

/* after_write: the commit happened; the entry is stale by version already, dropping it
 * only saves Redis memory. */
static void after_write(struct ctx *c)
{
	resumes_cache_drop(c->rds, c->arena, c->actor.user_id);
}

int resumes_create(struct ctx *c, const struct resume *in, struct resume *out)
{
	PGresult *res = NULL;
	const char *params[1] = {c->actor.user_id};
	const char *title = in->title;
	const char *id = random_uuid(c->arena);
	struct resume tree = *in;
	int rc;

	if (!in->has_sections) {
		/* One empty section of each of the four main types, ready to fill in. */
		tree.nsections = 4;
		tree.sections = arena_zalloc(c->arena, 4 * sizeof *tree.sections);
		for (size_t i = 0; i < 4; i++) {
			tree.sections[i].section_type = resumes_section_types[i];
			tree.sections[i].title = main_titles[i];
		}
	}
	rc = begin_write(c);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "resumes_count", 1, params, &res);
	if (rc == ERR_OK && atoi(nz(db_value(res, 0, 0))) >= RESUMES_MAX_PER_USER) {
		db_rollback(c->db);
		return ctx_fail(
		    c, ERR_CONFLICT, "too_many_resumes",
		    arena_printf(c->arena, "A user has at most %d resumes.", RESUMES_MAX_PER_USER));
	}
	if (rc == ERR_OK && title == NULL) {
		rc = db_exec(c->db, c->arena, "resumes_untitled", 1, params, &res);
		if (rc == ERR_OK && db_rows(res) == 1)
			title = cell(c->arena, res, 0, 0);
		else if (rc == ERR_OK)
			rc = ERR_INTERNAL;
	}
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "resumes_insert", 10, resume_params(c, id, title, in),
		             NULL);
	if (rc == ERR_OK)
		rc = write_tree(c, id, &tree);
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	after_write(c);
	audit_record1(c, "resume_created", c->actor.user_id, NULL, "resume_id", id);
	return resumes_get(c, id, out);
}

/* lock_own locks the actor's resume id for the transaction (and returns its revision). */
static int lock_own(struct ctx *c, const char *id, char **revision)
{
	PGresult *res = NULL;
	const char *params[2] = {id, c->actor.user_id};
	int rc = db_exec(c->db, c->arena, "resumes_lock", 2, params, &res);

	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return ERR_NOT_FOUND;
	if (revision != NULL)
		*revision = arena_strdup(c->arena, db_value(res, 0, 0));
	return ERR_OK;
}

static int has_id(const PGresult *res, const char *type, const char *id)
{
	for (int i = 0; i < db_rows(res); i++)
		if (strcmp(db_value(res, i, 0), type) == 0 &&
		    strcasecmp(db_value(res, i, 1), id) == 0)
			return 1;
	return 0;
}

/* check_ids: every id in the input is one of this resume's sections (items), once. */
static int check_ids(struct ctx *c, const char *id, const struct resume *in)
{
	PGresult *res = NULL;
	const char *params[1] = {id};
	int rc = db_exec(c->db, c->arena, "resumes_ids", 1, params, &res);

	if (rc != ERR_OK)
		return rc;
	for (size_t i = 0; i < in->nsections; i++) {
		const struct resume_section *s = &in->sections[i];

		if (s->id != NULL && !has_id(res, "s", s->id)) {
			ctx_fail(c, ERR_INVALID, "validation_failed",
			         "A section id is not one of this resume's sections.");
			c->why.field = arena_printf(c->arena, "sections[%zu].id", i);
			return ERR_INVALID;
		}
		for (size_t j = 0; j < s->nitems; j++)
			if (s->items[j].id != NULL && !has_id(res, "i", s->items[j].id)) {
				ctx_fail(c, ERR_INVALID, "validation_failed",
				         "An item id is not one of this resume's items.");
				c->why.field =
				    arena_printf(c->arena, "sections[%zu].items[%zu].id", i, j);
				return ERR_INVALID;
			}
	}
	return ERR_OK;
}

int resumes_replace(struct ctx *c, const char *id, const struct resume *in, struct resume *out)
{
	const char *params[1] = {id};
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = begin_write(c);
	if (rc != ERR_OK)
		return rc;
	rc = lock_own(c, id, NULL);
	if (rc == ERR_OK)
		rc = check_ids(c, id, in);
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "resumes_update", 10,
		             resume_params(c, id, in->title, in), NULL);
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "resumes_sections_clear", 1, params, NULL);
	if (rc == ERR_OK)
		rc = write_tree(c, id, in);
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc == ERR_NOT_FOUND ? not_found(c) : rc;
	}
	after_write(c);
	audit_record1(c, "resume_replaced", c->actor.user_id, NULL, "resume_id", id);
	return resumes_get(c, id, out);
}

int resumes_patch(struct ctx *c, const char *id, const char *title, const char *template,
                  struct resume *out)
{
	PGresult *res = NULL;
	const char *params[4] = {id, c->actor.user_id, title, template};
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = begin_write(c);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "resumes_patch", 4, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_NOT_FOUND;
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc == ERR_NOT_FOUND ? not_found(c) : rc;
	}
	after_write(c);
	return resumes_get(c, id, out);
}

int resumes_delete(struct ctx *c, const char *id)
{
	PGresult *res = NULL;
	const char *params[2] = {id, c->actor.user_id};
	const char *pdf = NULL;
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = begin_write(c);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "resumes_delete", 2, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_NOT_FOUND;
	if (rc == ERR_OK) {
		pdf = cell(c->arena, res, 0, 0);
		rc = db_commit(c->db);
	}
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc == ERR_NOT_FOUND ? not_found(c) : rc;
	}
	after_write(c);
	/* The PDF goes too (best effort: nothing can reach it without the row anyway). */
	if (pdf != NULL && c->cfg->files_dir != NULL && strstr(pdf, "..") == NULL &&
	    unlink(arena_printf(c->arena, "%s/%s", c->cfg->files_dir, pdf)) != 0)
		log_debug("resumes: PDF of a deleted resume not removed");
	audit_record1(c, "resume_deleted", c->actor.user_id, NULL, "resume_id", id);
	return ERR_OK;
}

/* ------------------------------------------------------------------ tasks */

static int enqueue(struct ctx *c, const char *kind, const char *id, const char *revision,
                   char **task_id)
{
	struct record p;

	memset(&p, 0, sizeof p);
	if (record_set(&p, "resume_id", id) != ERR_OK ||
	    record_set(&p, "user_id", c->actor.user_id) != ERR_OK ||
	    record_set(&p, "revision", revision) != ERR_OK)
		return ERR_INTERNAL;
	return tasks_enqueue(c->db, c->arena, kind, c->actor.user_id, &p, task_id);
}

int resumes_compile(struct ctx *c, const char *id, char **task_id, int *existing)
{
	PGresult *res = NULL;
	char *revision = NULL;
	int rc;

	*existing = 0;
	*task_id = NULL;
	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = lock_own(c, id, &revision); /* two compiles at once: the second waits here */
	if (rc == ERR_OK) {
		const char *params[3] = {c->actor.user_id, id, revision};

		rc = db_exec(c->db, c->arena, "resumes_compile_queued", 3, params, &res);
	}
	if (rc == ERR_OK && db_rows(res) == 1) {
		*task_id = arena_strdup(c->arena, db_value(res, 0, 0));
		*existing = 1;
	} else if (rc == ERR_OK) {
		rc = enqueue(c, "compile", id, revision, task_id);
	}
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc == ERR_NOT_FOUND ? not_found(c) : rc;
	}
	return ERR_OK;
}

int resumes_rate(struct ctx *c, const char *id, char **task_id)
{
	char *revision = NULL;
	int rc;

	*task_id = NULL;
	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = lock_own(c, id, &revision);
	if (rc == ERR_OK && (c->cfg->gemini_api_key == NULL || *c->cfg->gemini_api_key == '\0'))
		rc = ERR_DENIED; /* after the owner check: another user's id stays a 404 */
	if (rc == ERR_OK)
		rc = enqueue(c, "rating", id, revision, task_id);
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		if (rc == ERR_NOT_FOUND)
			return not_found(c);
		if (rc == ERR_DENIED) {
			ctx_fail(c, ERR_UNAVAILABLE, "rating_unavailable",
			         "AI rating is not configured on this server (no GEMINI_API_KEY).");
			c->why.retry_after = 60;
			return ERR_UNAVAILABLE;
		}
		return rc;
	}
	return ERR_OK;
}

int resumes_pdf(struct ctx *c, const char *id, char **path)
{
	PGresult *res = NULL;
	const char *params[2] = {id, c->actor.user_id};
	int rc;

	*path = NULL;
	if (id == NULL || !util_uuid_valid(id))
		return not_found(c);
	rc = db_exec(c->db, c->arena, "resumes_pdf", 2, params, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return not_found(c);
	if (db_value(res, 0, 0) == NULL)
		return ctx_fail(c, ERR_NOT_FOUND, "pdf_not_found",
		                "This resume has not been compiled yet.");
	*path = arena_strdup(c->arena, db_value(res, 0, 0));
	return ERR_OK;
}

int resumes_set_pdf(struct db *db, struct arena *a, const char *user_id, const char *id,
                    const char *path)
{
	PGresult *res = NULL;
	const char *params[3] = {id, user_id, path};
	const char *uparams[1] = {user_id};
	int rc = db_begin(db);

	if (rc != ERR_OK)
		return rc;
	rc = db_exec(db, a, "resumes_bump", 1, uparams, NULL);
	if (rc == ERR_OK)
		rc = db_exec(db, a, "resumes_set_pdf", 3, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_NOT_FOUND;
	if (rc == ERR_OK)
		rc = db_commit(db);
	if (rc != ERR_OK)
		db_rollback(db);
	return rc;
}

int resumes_task_get(struct ctx *c, const char *id, struct task_view *out)
{
	PGresult *res = NULL;
	const char *params[2] = {id, c->actor.user_id};
	int rc;

	memset(out, 0, sizeof *out);
	if (id == NULL || !util_uuid_valid(id))
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such task.");
	rc = db_exec(c->db, c->arena, "resumes_task", 2, params, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such task.");
	out->id = cell(c->arena, res, 0, 0);
	out->kind = cell(c->arena, res, 0, 1);
	out->status = cell(c->arena, res, 0, 2);
	if (strcmp(out->status, "succeeded") == 0)
		out->result_json = cell(c->arena, res, 0, 3);
	if (strcmp(out->status, "failed") == 0)
		out->error = nz(cell(c->arena, res, 0, 4));
	out->created_at = cell(c->arena, res, 0, 5);
	out->updated_at = cell(c->arena, res, 0, 6);
	return ERR_OK;
}

/* ------------------------------------------------------------------ text for rating */

char *resumes_text(struct arena *a, const struct resume *r)
{
	struct buf b;

	buf_init(&b, a, 16u * 1024u * 1024u);
	IGN(buf_printf(&b, "Title: %s\n", nz(r->title)));
	if (*nz(r->contact.name))
		IGN(buf_printf(&b, "Name: %s\n", r->contact.name));
	for (size_t i = 0; i < r->nsections; i++) {
		const struct resume_section *s = &r->sections[i];

		IGN(buf_printf(&b, "\n## %s (%s)\n", nz(s->title), nz(s->section_type)));
		for (size_t j = 0; j < s->nitems; j++) {
			const struct resume_item *it = &s->items[j];

			IGN(buf_printf(&b, "- %s", nz(it->title)));
			if (*nz(it->organization))
				IGN(buf_printf(&b, ", %s", it->organization));
			if (*nz(it->location))
				IGN(buf_printf(&b, ", %s", it->location));
			if (it->start_date != NULL || it->end_date != NULL)
				IGN(buf_printf(&b, " (%s to %s)", nz(it->start_date),
				               it->end_date != NULL ? it->end_date : "present"));
			IGN(buf_puts(&b, "\n"));
			if (*nz(it->description))
				IGN(buf_printf(&b, "  %s\n", it->description));
			for (size_t m = 0; m < it->nbullets; m++)
				IGN(buf_printf(&b, "  * %s\n", it->bullets[m]));
		}
	}
	return arena_strdup(a, buf_str(&b));
}
