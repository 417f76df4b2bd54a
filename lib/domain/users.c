/* users.c - user accounts and pending sign-ups; see users.h. */
#include "domain/users.h"

#include <stdio.h>
#include <string.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "store/db.h"
#include "store/rds.h"

/* Times are rendered by PostgreSQL as RFC 3339 UTC so no parsing is needed here. Email
 * lookups say lower(email) so they use the unique index on lower(email) (the table CHECKs
 * that email is stored lower-cased, and callers pass normalised addresses). */
#define USER_COLS                                                                     \
	"id::text, email, password_hash, first_name, last_name, role, account_type, " \
	"email_verified, login_otp, "                                                 \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "  \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct db_stmt users_stmts[] = {
    {"users_by_email", "SELECT " USER_COLS " FROM users WHERE lower(email) = $1::text", 1},
    {"users_by_id", "SELECT " USER_COLS " FROM users WHERE id = $1::uuid", 1},
    {"users_exists_email", "SELECT 1 FROM users WHERE lower(email) = $1::text", 1},
    {"users_insert",
     "INSERT INTO users (email, password_hash, first_name, last_name, account_type, "
     "email_verified) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, true) "
     "RETURNING " USER_COLS,
     5},
    {"users_set_password",
     "UPDATE users SET password_hash = $2::text, updated_at = now() WHERE id = $1::uuid", 2},
};

int users_register(struct db *db)
{
	return db_register(db, users_stmts, sizeof users_stmts / sizeof users_stmts[0]);
}

static int flag(const char *v)
{
	return v != NULL && v[0] == 't';
}

static const char *cell(struct arena *a, const PGresult *res, int col)
{
	const char *v = db_value(res, 0, col);

	return arena_strdup(a, v != NULL ? v : "");
}

static void fill_user(struct arena *a, const PGresult *res, struct user *out)
{
	memset(out, 0, sizeof *out);
	out->id = cell(a, res, 0);
	out->email = cell(a, res, 1);
	out->password_hash = cell(a, res, 2);
	out->first_name = cell(a, res, 3);
	out->last_name = cell(a, res, 4);
	out->role = cell(a, res, 5);
	out->account_type = cell(a, res, 6);
	out->email_verified = flag(db_value(res, 0, 7));
	out->login_otp = flag(db_value(res, 0, 8));
	out->created_at = cell(a, res, 9);
	out->updated_at = cell(a, res, 10);
}

static int one_user(struct db *db, struct arena *a, const char *stmt, const char *key,
                    struct user *out)
{
	PGresult *res = NULL;
	const char *params[1] = {key};
	int rc = db_exec(db, a, stmt, 1, params, &res);

	if (rc != ERR_OK)
		goto out;
	if (db_rows(res) != 1) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	fill_user(a, res, out);
out:
	return rc;
}

int users_by_email(struct db *db, struct arena *a, const char *email, struct user *out)
{
	return one_user(db, a, "users_by_email", email, out);
}

int users_by_id(struct db *db, struct arena *a, const char *id, struct user *out)
{
	if (id == NULL || !util_uuid_valid(id))
		return ERR_NOT_FOUND;
	return one_user(db, a, "users_by_id", id, out);
}

int users_exists_email(struct db *db, struct arena *a, const char *email, int *exists)
{
	PGresult *res = NULL;
	const char *params[1] = {email};
	int rc = db_exec(db, a, "users_exists_email", 1, params, &res);

	*exists = 0;
	if (rc != ERR_OK)
		goto out;
	*exists = db_rows(res) > 0;
out:
	return rc;
}

int users_insert(struct db *db, struct arena *a, const struct users_new *nu, struct user *out)
{
	PGresult *res = NULL;
	const char *params[5] = {
	    nu->email,
	    nu->password_hash,
	    nu->first_name != NULL ? nu->first_name : "",
	    nu->last_name != NULL ? nu->last_name : "",
	    nu->account_type != NULL ? nu->account_type : "none",
	};
	int rc = db_exec(db, a, "users_insert", 5, params, &res);

	if (rc != ERR_OK)
		goto out;
	if (db_rows(res) != 1) {
		rc = ERR_INTERNAL;
		goto out;
	}
	fill_user(a, res, out);
out:
	return rc;
}

char *users_cache_key(struct rds *r, struct arena *a, const char *user_id)
{
	return rds_key(r, a, "user:%s", user_id);
}

int users_cache_put(struct rds *r, struct arena *a, const struct user *u)
{
	struct record rec;
	char ttl[16];
	int rc = ERR_OK;

	memset(&rec, 0, sizeof rec);
	rc |= record_set(&rec, "id", u->id);
	rc |= record_set(&rec, "email", u->email);
	rc |= record_set(&rec, "first_name", u->first_name);
	rc |= record_set(&rec, "last_name", u->last_name);
	rc |= record_set(&rec, "role", u->role);
	rc |= record_set(&rec, "account_type", u->account_type);
	rc |= record_set(&rec, "email_verified", u->email_verified ? "1" : "0");
	rc |= record_set(&rec, "login_otp", u->login_otp ? "1" : "0");
	rc |= record_set(&rec, "created_at", u->created_at);
	rc |= record_set(&rec, "updated_at", u->updated_at);
	if (rc != ERR_OK)
		return ERR_INTERNAL;

	const char *argv[5] = {"SET", users_cache_key(r, a, u->id), record_encode(a, &rec), "EX",
	                       ttl};

	snprintf(ttl, sizeof ttl, "%d", USERS_CACHE_TTL);
	return rds_cmd(r, a, NULL, 5, argv, NULL);
}

int users_cache_decode(struct arena *a, const char *text, struct user *out)
{
	struct record rec;
	static const char *const need[] = {
	    "id",           "email",          "first_name", "last_name",  "role",
	    "account_type", "email_verified", "login_otp",  "created_at", "updated_at"};

	memset(out, 0, sizeof *out);
	if (text == NULL || record_decode(a, text, strlen(text), &rec) != ERR_OK)
		return ERR_INVALID;
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (record_get(&rec, need[i]) == NULL)
			return ERR_INVALID;
	out->id = record_get(&rec, "id");
	out->email = record_get(&rec, "email");
	out->first_name = record_get(&rec, "first_name");
	out->last_name = record_get(&rec, "last_name");
	out->role = record_get(&rec, "role");
	out->account_type = record_get(&rec, "account_type");
	out->email_verified = strcmp(record_get(&rec, "email_verified"), "1") == 0;
	out->login_otp = strcmp(record_get(&rec, "login_otp"), "1") == 0;
	out->created_at = record_get(&rec, "created_at");
	out->updated_at = record_get(&rec, "updated_at");
	return ERR_OK;
}

void users_cache_drop(struct rds *r, struct arena *a, const char *user_id)
{
	const char *argv[2] = {"DEL", users_cache_key(r, a, user_id)};

	if (rds_cmd(r, a, NULL, 2, argv, NULL) != ERR_OK)
		log_warn("users: cache entry of a changed user not dropped (expires in %d s)",
		         USERS_CACHE_TTL);
}

int users_set_password(struct db *db, struct arena *a, const char *user_id,
                       const char *password_hash)
{
	PGresult *res = NULL;
	const char *params[2] = {user_id, password_hash};
	int rc;

	if (user_id == NULL || !util_uuid_valid(user_id))
		return ERR_NOT_FOUND;
	rc = db_exec(db, a, "users_set_password", 2, params, &res);
	if (rc != ERR_OK)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		rc = ERR_NOT_FOUND;
out:
	return rc;
}

/* --- pending operations --- */

static char *pending_key(struct rds *r, struct arena *a, const char *kind, const char *email)
{
	return rds_key(r, a, "pending:%s:%s", kind, email);
}

int users_pending_put(struct rds *r, struct arena *a, const char *kind, const char *email,
                      const char *value, int ttl)
{
	const char *ttl_s = arena_printf(a, "%d", ttl > 0 ? ttl : 1);
	const char *argv[5] = {"SET", pending_key(r, a, kind, email), value, "EX", ttl_s};

	return rds_cmd(r, a, NULL, 5, argv, NULL);
}

int users_pending_get(struct rds *r, struct arena *a, const char *kind, const char *email,
                      char **value)
{
	redisReply *rep = NULL;
	const char *argv[2] = {"GET", pending_key(r, a, kind, email)};
	int rc = rds_cmd(r, a, &rep, 2, argv, NULL);

	*value = NULL;
	if (rc != ERR_OK)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	*value = arena_strndup(a, rep->str, rep->len);
out:
	return rc;
}

int users_pending_touch(struct rds *r, struct arena *a, const char *kind, const char *email,
                        int ttl)
{
	redisReply *rep = NULL;
	const char *argv[3] = {"EXPIRE", pending_key(r, a, kind, email),
	                       arena_printf(a, "%d", ttl > 0 ? ttl : 1)};
	int rc = rds_cmd(r, a, &rep, 3, argv, NULL);

	if (rc != ERR_OK)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer != 1)
		rc = ERR_NOT_FOUND;
out:
	return rc;
}

int users_pending_del(struct rds *r, struct arena *a, const char *kind, const char *email)
{
	const char *argv[2] = {"DEL", pending_key(r, a, kind, email)};

	return rds_cmd(r, a, NULL, 2, argv, NULL);
}
