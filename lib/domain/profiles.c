/* profiles.c - jobseeker and employer profiles; see profiles.h. */
#include "domain/profiles.h"

#include <string.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "store/db.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define JS_COLS                                                             \
	"id::text, user_id::text, first_name, last_name, location, phone, " \
	"to_char(dob, 'YYYY-MM-DD'), " TS("created_at") ", " TS("updated_at")
#define EM_COLS                                                                       \
	"id::text, user_id::text, name, location, description, mission, vision, " TS( \
	    "created_at") ", " TS("updated_at")

static const struct db_stmt profiles_stmts[] = {
    {"prof_js_insert",
     "INSERT INTO jobseekers (user_id, first_name, last_name, location, phone, dob) "
     "SELECT u.id, $2::text, $3::text, $4::text, $5::text, $6::date FROM users u "
     "WHERE u.id = $1::uuid AND u.account_type = 'jobseeker' RETURNING " JS_COLS,
     6},
    {"prof_js_by_user", "SELECT " JS_COLS " FROM jobseekers WHERE user_id = $1::uuid", 1},
    {"prof_js_by_user_lock",
     "SELECT " JS_COLS " FROM jobseekers WHERE user_id = $1::uuid FOR UPDATE", 1},
    {"prof_js_by_id", "SELECT " JS_COLS " FROM jobseekers WHERE id = $1::uuid", 1},
    {"prof_js_update",
     "UPDATE jobseekers SET first_name = $2::text, last_name = $3::text, location = $4::text, "
     "phone = $5::text, dob = $6::date, updated_at = now() WHERE id = $1::uuid "
     "RETURNING " JS_COLS,
     6},
    {"prof_em_insert",
     "INSERT INTO employers (user_id, name, location, description, mission, vision) "
     "SELECT u.id, $2::text, $3::text, $4::text, $5::text, $6::text FROM users u "
     "WHERE u.id = $1::uuid AND u.account_type = 'employer' RETURNING " EM_COLS,
     6},
    {"prof_em_by_user", "SELECT " EM_COLS " FROM employers WHERE user_id = $1::uuid", 1},
    {"prof_em_by_user_lock",
     "SELECT " EM_COLS " FROM employers WHERE user_id = $1::uuid FOR UPDATE", 1},
    {"prof_em_by_id", "SELECT " EM_COLS " FROM employers WHERE id = $1::uuid", 1},
    {"prof_em_update",
     "UPDATE employers SET name = $2::text, location = $3::text, description = $4::text, "
     "mission = $5::text, vision = $6::text, updated_at = now() WHERE id = $1::uuid "
     "RETURNING " EM_COLS,
     6},
    {"prof_em_list",
     "SELECT " EM_COLS ", (extract(epoch FROM created_at) * 1000000)::bigint::text "
     "FROM employers WHERE ($1::bigint IS NULL OR (created_at, id) < "
     "(timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::uuid)) "
     "ORDER BY created_at DESC, id DESC LIMIT $3::integer",
     3},
};

int profiles_register(struct db *db)
{
	return db_register(db, profiles_stmts, sizeof profiles_stmts / sizeof profiles_stmts[0]);
}

static const char *cell(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);

	return arena_strdup(a, v != NULL ? v : "");
}

static void fill_js(struct arena *a, const PGresult *res, int row, struct jobseeker *o)
{
	const char *dob = db_value(res, row, 6);

	o->id = cell(a, res, row, 0);
	o->user_id = cell(a, res, row, 1);
	o->first_name = cell(a, res, row, 2);
	o->last_name = cell(a, res, row, 3);
	o->location = cell(a, res, row, 4);
	o->phone = cell(a, res, row, 5);
	o->dob = dob != NULL ? arena_strdup(a, dob) : NULL;
	o->created_at = cell(a, res, row, 7);
	o->updated_at = cell(a, res, row, 8);
}

static void fill_em(struct arena *a, const PGresult *res, int row, struct employer *o)
{
	o->id = cell(a, res, row, 0);
	o->user_id = cell(a, res, row, 1);
	o->name = cell(a, res, row, 2);
	o->location = cell(a, res, row, 3);
	o->description = cell(a, res, row, 4);
	o->mission = cell(a, res, row, 5);
	o->vision = cell(a, res, row, 6);
	o->created_at = cell(a, res, row, 7);
	o->updated_at = cell(a, res, row, 8);
}

static int not_found(struct ctx *c, const char *what)
{
	return ctx_fail(c, ERR_NOT_FOUND, "not_found", what);
}

/* one_row runs a one-key statement; ERR_NOT_FOUND when no row. */
static int one_row(struct ctx *c, const char *stmt, const char *key, PGresult **res)
{
	const char *params[1] = {key};
	int rc;

	if (key == NULL || !util_uuid_valid(key))
		return not_found(c, "No such profile");
	rc = db_exec(c->db, c->arena, stmt, 1, params, res);
	if (rc == ERR_OK && db_rows(*res) != 1)
		rc = not_found(c, "No such profile");
	return rc;
}

/* insert_failed explains an insert that made no row or conflicted. */
static int insert_failed(struct ctx *c, int rc, const char *want)
{
	struct user u;

	if (rc == ERR_CONFLICT)
		return ctx_fail(c, ERR_CONFLICT, "profile_exists", "You already have this profile");
	if (rc != ERR_OK)
		return rc;
	rc = accounts_me(c, &u);
	if (rc != ERR_OK)
		return rc;
	return ctx_fail(c, ERR_DENIED, "account_type_mismatch",
	                arena_printf(c->arena, "Only accounts of type %s have this profile", want));
}

static const char * or (const char *v, const char *dflt)
{
	return v != NULL ? v : dflt;
}

/* ------------------------------------------------------------------ jobseekers */

int jobseekers_create(struct ctx *c, const struct jobseeker_in *in, struct jobseeker *out)
{
	PGresult *res = NULL;
	const char *params[6] = {c->actor.user_id,      in->first_name,     in->last_name,
	                         or (in->location, ""), or (in->phone, ""), in->dob};
	int rc = db_exec(c->db, c->arena, "prof_js_insert", 6, params, &res);

	if (rc != ERR_OK || db_rows(res) != 1)
		return insert_failed(c, rc, "jobseeker");
	fill_js(c->arena, res, 0, out);
	audit_record1(c, "profile_created", c->actor.user_id, NULL, "kind", "jobseeker");
	return ERR_OK;
}

int jobseekers_me(struct ctx *c, struct jobseeker *out)
{
	PGresult *res = NULL;
	int rc = one_row(c, "prof_js_by_user", c->actor.user_id, &res);

	if (rc == ERR_NOT_FOUND)
		return not_found(c, "You have no jobseeker profile yet");
	if (rc == ERR_OK)
		fill_js(c->arena, res, 0, out);
	return rc;
}

int jobseekers_update_me(struct ctx *c, const struct jobseeker_in *in, struct jobseeker *out)
{
	struct jobseeker cur;
	PGresult *res = NULL;
	int rc = db_begin(c->db);

	if (rc != ERR_OK)
		return rc;
	rc = one_row(c, "prof_js_by_user_lock", c->actor.user_id, &res);
	if (rc == ERR_NOT_FOUND)
		rc = not_found(c, "You have no jobseeker profile yet");
	if (rc != ERR_OK)
		goto fail;
	fill_js(c->arena, res, 0, &cur);

	const char *params[6] = {cur.id,
	                         or (in->first_name, cur.first_name),
	                         or (in->last_name, cur.last_name),
	                         or (in->location, cur.location),
	                         or (in->phone, cur.phone),
	                         in->dob_set ? in->dob : cur.dob};

	rc = db_exec(c->db, c->arena, "prof_js_update", 6, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_INTERNAL;
	if (rc != ERR_OK)
		goto fail;
	fill_js(c->arena, res, 0, out);
	return db_commit(c->db);
fail:
	db_rollback(c->db);
	return rc;
}

int jobseekers_get(struct ctx *c, const char *id, struct jobseeker *out)
{
	PGresult *res = NULL;
	struct user me;
	int rc = one_row(c, "prof_js_by_id", id, &res);

	if (rc != ERR_OK)
		return rc;
	fill_js(c->arena, res, 0, out);
	if (strcmp(out->user_id, c->actor.user_id) == 0 || strcmp(c->actor.role, "staff") == 0 ||
	    strcmp(c->actor.role, "admin") == 0)
		return ERR_OK;
	rc = accounts_me(c, &me);
	if (rc != ERR_OK)
		return rc;
	if (strcmp(me.account_type, "employer") == 0)
		return ERR_OK;
	memset(out, 0, sizeof *out);
	return not_found(c, "No such profile");
}

/* ------------------------------------------------------------------ employers */

int employers_create(struct ctx *c, const struct employer_in *in, struct employer *out)
{
	PGresult *res = NULL;
	const char *params[6] = {c->actor.user_id,      in->name,
	                         or (in->location, ""), or (in->description, ""),
	                         or (in->mission, ""),  or (in->vision, "")};
	int rc = db_exec(c->db, c->arena, "prof_em_insert", 6, params, &res);

	if (rc != ERR_OK || db_rows(res) != 1)
		return insert_failed(c, rc, "employer");
	fill_em(c->arena, res, 0, out);
	audit_record1(c, "profile_created", c->actor.user_id, NULL, "kind", "employer");
	return ERR_OK;
}

int employers_me(struct ctx *c, struct employer *out)
{
	PGresult *res = NULL;
	int rc = one_row(c, "prof_em_by_user", c->actor.user_id, &res);

	if (rc == ERR_NOT_FOUND)
		return not_found(c, "You have no employer profile yet");
	if (rc == ERR_OK)
		fill_em(c->arena, res, 0, out);
	return rc;
}

int employers_update_me(struct ctx *c, const struct employer_in *in, struct employer *out)
{
	struct employer cur;
	PGresult *res = NULL;
	int rc = db_begin(c->db);

	if (rc != ERR_OK)
		return rc;
	rc = one_row(c, "prof_em_by_user_lock", c->actor.user_id, &res);
	if (rc == ERR_NOT_FOUND)
		rc = not_found(c, "You have no employer profile yet");
	if (rc != ERR_OK)
		goto fail;
	fill_em(c->arena, res, 0, &cur);

	const char *params[6] = {cur.id,
	                         or (in->name, cur.name),
	                         or (in->location, cur.location),
	                         or (in->description, cur.description),
	                         or (in->mission, cur.mission),
	                         or (in->vision, cur.vision)};

	rc = db_exec(c->db, c->arena, "prof_em_update", 6, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_INTERNAL;
	if (rc != ERR_OK)
		goto fail;
	fill_em(c->arena, res, 0, out);
	return db_commit(c->db);
fail:
	db_rollback(c->db);
	return rc;
}

int employers_get(struct ctx *c, const char *id, struct employer *out)
{
	PGresult *res = NULL;
	int rc = one_row(c, "prof_em_by_id", id, &res);

	if (rc == ERR_OK)
		fill_em(c->arena, res, 0, out);
	return rc;
}

int employers_list(struct ctx *c, const char *cursor, int limit, struct employers_page *out)
{
	PGresult *res = NULL;
	const char *usec = NULL, *cid = NULL;
	int rc, rows;

	memset(out, 0, sizeof *out);
	if (cursor != NULL) {
		const char *sep = strchr(cursor, '_');
		size_t n = sep != NULL ? (size_t)(sep - cursor) : 0;

		if (sep == NULL || n == 0 || n > 19 || strspn(cursor, "0123456789") != n ||
		    !util_uuid_valid(sep + 1)) {
			rc = ctx_fail(c, ERR_INVALID, "validation_failed",
			              "The cursor is not one this list gave.");
			c->why.field = "cursor";
			return rc;
		}
		usec = arena_strndup(c->arena, cursor, n);
		cid = sep + 1;
	}
	const char *params[3] = {usec, cid, arena_printf(c->arena, "%d", limit + 1)};

	rc = db_exec(c->db, c->arena, "prof_em_list", 3, params, &res);
	if (rc != ERR_OK)
		return rc;
	rows = db_rows(res);
	out->n = rows > limit ? (size_t)limit : (size_t)rows;
	out->items = arena_zalloc(c->arena, (out->n ? out->n : 1) * sizeof *out->items);
	for (size_t i = 0; i < out->n; i++)
		fill_em(c->arena, res, (int)i, &out->items[i]);
	if (rows > limit)
		out->next_cursor = arena_printf(c->arena, "%s_%s", db_value(res, limit - 1, 9),
		                                out->items[out->n - 1].id);
	return ERR_OK;
}
