/* users_admin.c - changing, deleting and listing accounts (the owner, staff, admins) and
 * the medrinctl bootstrap; see users_manage.h.
 *
 * Lock order, so concurrent changes cannot deadlock: the admins' rows first (ordered by
 * id, only when a role may change or an account is deleted), then the target row. */
#include "domain/users_manage.h"

#include <stdio.h>
#include <string.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "security/password.h"
#include "store/db.h"

static const struct db_stmt users_admin_stmts[] = {
    {"uadm_admins_lock", "SELECT id::text FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE",
     0},
    {"uadm_by_email_lock",
     "SELECT " USERS_VIEW_COLS " FROM users WHERE lower(email) = $1::text FOR UPDATE", 1},
    {"uadm_set_role", "UPDATE users SET role = $2::text, updated_at = now() WHERE id = $1::uuid",
     2},
    {"uadm_delete", "DELETE FROM users WHERE id = $1::uuid", 1},
    {"uadm_delete_mail",
     "DELETE FROM tasks WHERE kind = 'mail' AND user_id IS NULL "
     "AND payload ->> 'to' IN ($1::text, $2::text)",
     2},
    {"uadm_insert_admin",
     "INSERT INTO users (email, password_hash, role, email_verified) "
     "VALUES ($1::text, $2::text, 'admin', true) RETURNING " USERS_VIEW_COLS,
     2},
    {"uadm_list",
     "SELECT " USERS_VIEW_COLS ", (extract(epoch FROM created_at) * 1000000)::bigint::text "
     "FROM users "
     "WHERE ($1::text IS NULL OR role = $1::text) "
     "AND ($2::text IS NULL OR account_type = $2::text) "
     "AND ($3::text IS NULL OR (lower(email) || ' ' || lower(first_name) || ' ' || "
     "lower(last_name)) LIKE '%' || replace(replace(replace(lower($3::text), '\\', '\\\\'), "
     "'%', '\\%'), '_', '\\_') || '%') "
     "AND ($4::bigint IS NULL OR (created_at, id) < "
     "(timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)) "
     "ORDER BY created_at DESC, id DESC LIMIT $6::integer",
     6},
};

int users_admin_register(struct db *db)
{
	return db_register(db, users_admin_stmts,
	                   sizeof users_admin_stmts / sizeof users_admin_stmts[0]);
}

static int actor_is(const struct ctx *c, const char *role)
{
	return c->actor.role != NULL && strcmp(c->actor.role, role) == 0;
}

static int is_self(const struct ctx *c, const char *id)
{
	return c->actor.user_id != NULL && id != NULL && strcmp(c->actor.user_id, id) == 0;
}

/* may_change: the owner or an admin; anyone else gets 403 for an account that exists
 * (its public view is readable anyway) and 404 for one that does not. */
static int may_change(struct ctx *c, const char *id)
{
	struct user_view v;
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such user");
	if (is_self(c, id) || actor_is(c, "admin"))
		return ERR_OK;
	rc = users_view_load(c, id, 0, &v);
	if (rc != ERR_OK)
		return rc;
	return ctx_fail(c, ERR_DENIED, "forbidden", "Only the owner or an admin may do this");
}

/* lock_admins locks every admin row (inside the caller's transaction) and counts them;
 * *actor_admin says whether the caller is one of them now (the session's role may be a
 * moment old: another admin may have just demoted the caller). */
static int lock_admins(struct ctx *c, int *n, int *actor_admin)
{
	PGresult *res = NULL;
	int rc = db_exec(c->db, c->arena, "uadm_admins_lock", 0, NULL, &res);

	*n = rc == ERR_OK ? db_rows(res) : 0;
	*actor_admin = 0;
	for (int i = 0; i < *n; i++)
		if (c->actor.user_id != NULL && strcmp(db_value(res, i, 0), c->actor.user_id) == 0)
			*actor_admin = 1;
	return rc;
}

static int last_admin(struct ctx *c)
{
	return ctx_fail(c, ERR_CONFLICT, "last_admin",
	                "This is the last admin: promote another admin first");
}

/* after_role_change: the role is committed; make it count on the next request. */
static void after_role_change(struct ctx *c, const struct user *u, const char *from, const char *to)
{
	struct record d;

	users_cache_drop(c->rds, c->arena, u->id);
	if (sessions_set_role(c->rds, c->arena, u->id, to) != ERR_OK)
		log_error("users: a role change was not copied to the user's sessions");
	memset(&d, 0, sizeof d);
	if (record_set(&d, "from", from) != ERR_OK || record_set(&d, "to", to) != ERR_OK ||
	    record_set(&d, "by", c->actor.user_id != NULL ? c->actor.user_id : "medrinctl") !=
	        ERR_OK)
		log_error("users: audit detail dropped");
	audit_record(c, "role_changed", u->id, u->email, &d);
}

int users_update(struct ctx *c, const char *id, const struct users_patch *p, struct user_view *out)
{
	struct user_view v;
	PGresult *res = NULL;
	int admins = 0, actor_admin = 0, role_changed = 0, email_requested = 0;
	const char *old_role;
	int rc = may_change(c, id);

	if (rc != ERR_OK)
		return rc;
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	if (p->role != NULL)
		rc = lock_admins(c, &admins, &actor_admin);
	if (rc == ERR_OK)
		rc = users_view_load(c, id, 1, &v);
	if (rc != ERR_OK)
		goto fail;
	old_role = v.u.role;
	role_changed = p->role != NULL && strcmp(p->role, v.u.role) != 0;
	if (role_changed && (!actor_is(c, "admin") || !actor_admin)) {
		rc = ctx_fail(c, ERR_DENIED, "role_change_forbidden", "Only admins change roles");
		goto fail;
	}
	if (role_changed && strcmp(v.u.role, "admin") == 0 && admins <= 1) {
		rc = last_admin(c);
		goto fail;
	}

	const char *pending = v.pending_email;

	if (p->email != NULL && strcmp(p->email, v.u.email) == 0)
		pending = NULL; /* back to the current address: cancels a pending change */
	else if (p->email != NULL)
		pending = p->email, email_requested = 1;

	const char *params[6] = {
	    v.u.id,
	    p->first_name != NULL ? p->first_name : v.u.first_name,
	    p->last_name != NULL ? p->last_name : v.u.last_name,
	    (p->login_otp >= 0 ? p->login_otp : v.u.login_otp) ? "true" : "false",
	    pending,
	    role_changed ? p->role : v.u.role,
	};

	rc = db_exec(c->db, c->arena, "uself_write", 6, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ERR_INTERNAL;
	if (rc != ERR_OK)
		goto fail;
	users_view_fill(c->arena, res, 0, out);
	if (email_requested)
		rc = users_email_request(c, v.u.id, p->email);
	else if (p->email != NULL) {
		const char *clear[1] = {v.u.id};

		rc = db_exec(c->db, c->arena, "uself_ec_clear", 1, clear, NULL);
	}
	if (rc != ERR_OK)
		goto fail;
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	users_cache_drop(c->rds, c->arena, v.u.id);
	if (role_changed)
		after_role_change(c, &out->u, old_role, out->u.role);
	if (email_requested)
		audit_record1(c, "email_change_requested", v.u.id, v.u.email, "pending_email",
		              p->email);
	out->full = 1;
	return ERR_OK;
fail:
	db_rollback(c->db);
	return rc;
}

int users_delete(struct ctx *c, const char *id)
{
	struct user_view v;
	int admins = 0, actor_admin = 0, count = 0;
	int rc = may_change(c, id);

	if (rc != ERR_OK)
		return rc;
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = lock_admins(c, &admins, &actor_admin);
	if (rc == ERR_OK)
		rc = users_view_load(c, id, 1, &v);
	if (rc != ERR_OK)
		goto fail;
	if (!is_self(c, id) && !actor_admin) {
		rc = ctx_fail(c, ERR_DENIED, "forbidden", "Only the owner or an admin may do this");
		goto fail;
	}
	if (strcmp(v.u.role, "admin") == 0 && admins <= 1) {
		rc = last_admin(c);
		goto fail;
	}
	const char *by_id[1] = {v.u.id};
	const char *by_email[2] = {v.u.email, v.pending_email};

	/* The account's own rows go by ON DELETE CASCADE (profiles, email changes, its
	 * tasks); mail tasks name the address, not the account. audit_log keeps its rows. */
	rc = db_exec(c->db, c->arena, "uadm_delete", 1, by_id, NULL);
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "uadm_delete_mail", 2, by_email, NULL);
	if (rc != ERR_OK)
		goto fail;
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	if (sessions_revoke_all(c->rds, c->arena, v.u.id, &count) != ERR_OK)
		log_error("users: sessions of a deleted account not revoked (they fail on the "
		          "missing account)");
	users_cache_drop(c->rds, c->arena, v.u.id);
	audit_record1(c, "user_deleted", v.u.id, v.u.email, "by",
	              c->actor.user_id != NULL ? c->actor.user_id : "medrinctl");
	return ERR_OK;
fail:
	db_rollback(c->db);
	return rc;
}

/* A cursor is "<created_at in µs since the epoch>_<id>", both from the last row. */
static int parse_cursor(struct arena *a, const char *cursor, const char **usec, const char **id)
{
	const char *sep = strchr(cursor, '_');
	size_t n;

	if (sep == NULL)
		return ERR_INVALID;
	n = (size_t)(sep - cursor);
	if (n == 0 || n > 19 || strspn(cursor, "0123456789") != n || !util_uuid_valid(sep + 1))
		return ERR_INVALID;
	*usec = arena_strndup(a, cursor, n);
	*id = sep + 1;
	return ERR_OK;
}

int users_list(struct ctx *c, const struct users_filter *f, struct users_page *out)
{
	PGresult *res = NULL;
	const char *usec = NULL, *cid = NULL;
	int rc, rows;

	memset(out, 0, sizeof *out);
	if (f->cursor != NULL && parse_cursor(c->arena, f->cursor, &usec, &cid) != ERR_OK) {
		rc = ctx_fail(c, ERR_INVALID, "validation_failed",
		              "The cursor is not one this list gave.");
		c->why.field = "cursor";
		return rc;
	}
	const char *params[6] = {
	    f->role, f->account_type, f->q, usec, cid, arena_printf(c->arena, "%d", f->limit + 1)};

	rc = db_exec(c->db, c->arena, "uadm_list", 6, params, &res);
	if (rc != ERR_OK)
		return rc;
	rows = db_rows(res);
	out->n = rows > f->limit ? (size_t)f->limit : (size_t)rows;
	out->items = arena_zalloc(c->arena, (out->n ? out->n : 1) * sizeof *out->items);
	for (size_t i = 0; i < out->n; i++)
		users_view_fill(c->arena, res, (int)i, &out->items[i]);
	if (rows > f->limit)
		out->next_cursor = arena_printf(c->arena, "%s_%s", db_value(res, f->limit - 1, 12),
		                                out->items[out->n - 1].u.id);
	return ERR_OK;
}

/* ------------------------------------------------------------------ medrinctl */

int users_create_admin(struct ctx *c, const char *email, const char *password, struct user *out)
{
	struct user_view v;
	PGresult *res = NULL;
	char *hash = NULL;
	int rc = password_hash(c->svc->hash_slots, c->arena, password, &hash);

	if (rc != ERR_OK)
		return rc;
	const char *params[2] = {email, hash};

	rc = db_exec(c->db, c->arena, "uadm_insert_admin", 2, params, &res);
	if (rc == ERR_CONFLICT)
		return ctx_fail(c, ERR_CONFLICT, "email_taken",
		                "An account with this address exists (use medrinctl promote)");
	if (rc != ERR_OK)
		return rc;
	users_view_fill(c->arena, res, 0, &v);
	*out = v.u;
	audit_record1(c, "admin_created", v.u.id, v.u.email, "by", "medrinctl");
	return ERR_OK;
}

int users_promote(struct ctx *c, const char *email, const char *role, struct user *out)
{
	struct user_view v;
	PGresult *res = NULL;
	int admins = 0, actor_admin = 0;
	const char *from;
	int rc = db_begin(c->db);

	if (rc != ERR_OK)
		return rc;
	rc = lock_admins(c, &admins, &actor_admin);
	if (rc != ERR_OK)
		goto fail;
	const char *by_email[1] = {email};

	rc = db_exec(c->db, c->arena, "uadm_by_email_lock", 1, by_email, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		rc = ctx_fail(c, ERR_NOT_FOUND, "not_found", "No account has this address");
		goto fail;
	}
	users_view_fill(c->arena, res, 0, &v);
	from = v.u.role;
	*out = v.u;
	if (strcmp(from, role) == 0) {
		db_rollback(c->db);
		return ERR_OK;
	}
	if (strcmp(from, "admin") == 0 && admins <= 1) {
		rc = last_admin(c);
		goto fail;
	}
	const char *set[2] = {v.u.id, role};

	rc = db_exec(c->db, c->arena, "uadm_set_role", 2, set, NULL);
	if (rc != ERR_OK)
		goto fail;
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	out->role = role;
	after_role_change(c, out, from, role);
	return ERR_OK;
fail:
	db_rollback(c->db);
	return rc;
}
