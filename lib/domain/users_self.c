/* users_self.c - a user's own account: reading it, the email change and its link, the
 * password change; see users_manage.h.
 *
 * The confirmation link carries "<nonce>.<mac>": nonce is 128 random bits (hex), mac is
 * HMAC-SHA256(SECRET_KEY, "medrin-email-confirm:" nonce) in hex. A forged or tampered
 * link fails the MAC before any lookup; an access or refresh token (a JWT) never has
 * this shape. PostgreSQL keeps only SHA-256(nonce) with the new address, the expiry and
 * used_at (single use); a newer request deletes the older rows, so only the latest link
 * works.
 */
#include "domain/users_manage.h"

#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/mailer.h"
#include "domain/sessions.h"
#include "security/password.h"
#include "security/random.h"
#include "security/throttle.h"
#include "store/db.h"
#include "store/rds.h"

#define VIEW_COLS USERS_VIEW_COLS

#define CONFIRM_MAC_LABEL "medrin-email-confirm:"
#define RESEND_LIMIT 5     /* links mailed per user per window */
#define RESEND_WINDOW 3600 /* seconds */

static const struct db_stmt users_self_stmts[] = {
    {"uself_by_id", "SELECT " VIEW_COLS " FROM users WHERE id = $1::uuid", 1},
    {"uself_by_id_lock", "SELECT " VIEW_COLS " FROM users WHERE id = $1::uuid FOR UPDATE", 1},
    {"uself_write",
     "UPDATE users SET first_name = $2::text, last_name = $3::text, login_otp = $4::boolean, "
     "pending_email = $5::text, role = $6::text, updated_at = now() WHERE id = $1::uuid "
     "RETURNING " VIEW_COLS,
     6},
    {"uself_ec_clear", "DELETE FROM email_changes WHERE user_id = $1::uuid", 1},
    {"uself_ec_insert",
     "INSERT INTO email_changes (user_id, new_email, token_hash, expires_at) "
     "VALUES ($1::uuid, $2::text, $3::text, now() + $4::integer * interval '1 second')",
     4},
    {"uself_ec_take",
     "SELECT ec.id::text, ec.user_id::text, ec.new_email, ec.used_at IS NOT NULL, "
     "ec.expires_at <= now(), u.email, u.pending_email "
     "FROM email_changes ec JOIN users u ON u.id = ec.user_id "
     "WHERE ec.token_hash = $1::text FOR UPDATE OF ec, u",
     1},
    {"uself_ec_used", "UPDATE email_changes SET used_at = now() WHERE id = $1::uuid", 1},
    {"uself_set_email",
     "UPDATE users SET email = $2::text, pending_email = NULL, email_verified = true, "
     "updated_at = now() WHERE id = $1::uuid",
     2},
};

int users_self_register(struct db *db)
{
	return db_register(db, users_self_stmts,
	                   sizeof users_self_stmts / sizeof users_self_stmts[0]);
}

/* ------------------------------------------------------------------ reading */

static const char *cell(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);

	return arena_strdup(a, v != NULL ? v : "");
}

void users_view_fill(struct arena *a, const PGresult *res, int row, struct user_view *out)
{
	const char *v;

	memset(out, 0, sizeof *out);
	out->u.id = cell(a, res, row, 0);
	out->u.email = cell(a, res, row, 1);
	out->u.password_hash = cell(a, res, row, 2);
	out->u.first_name = cell(a, res, row, 3);
	out->u.last_name = cell(a, res, row, 4);
	out->u.role = cell(a, res, row, 5);
	out->u.account_type = cell(a, res, row, 6);
	v = db_value(res, row, 7);
	out->u.email_verified = v != NULL && v[0] == 't';
	v = db_value(res, row, 8);
	out->u.login_otp = v != NULL && v[0] == 't';
	out->u.created_at = cell(a, res, row, 9);
	out->u.updated_at = cell(a, res, row, 10);
	v = db_value(res, row, 11);
	out->pending_email = v != NULL ? arena_strdup(a, v) : NULL;
	out->full = 1;
}

int users_view_load(struct ctx *c, const char *id, int lock, struct user_view *out)
{
	PGresult *res = NULL;
	const char *params[1] = {id};
	int rc;

	if (id == NULL || !util_uuid_valid(id))
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such user");
	rc = db_exec(c->db, c->arena, lock ? "uself_by_id_lock" : "uself_by_id", 1, params, &res);
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such user");
	users_view_fill(c->arena, res, 0, out);
	return ERR_OK;
}

static int is_role(const struct ctx *c, const char *role)
{
	return c->actor.role != NULL && strcmp(c->actor.role, role) == 0;
}

int users_get(struct ctx *c, const char *id, struct user_view *out)
{
	int rc = users_view_load(c, id, 0, out);

	if (rc != ERR_OK)
		return rc;
	out->full = (c->actor.user_id != NULL && strcmp(c->actor.user_id, out->u.id) == 0) ||
	            is_role(c, "staff") || is_role(c, "admin");
	return ERR_OK;
}

/* ------------------------------------------------------------------ the link */

static char *link_mac(struct ctx *c, const char *nonce)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const char *key = c->cfg->secret_key != NULL ? c->cfg->secret_key : "";
	char *msg = arena_printf(c->arena, CONFIRM_MAC_LABEL "%s", nonce);

	if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac,
	         &maclen) == NULL)
		return NULL;
	return random_hex(c->arena, mac, maclen);
}

static char *nonce_hash(struct ctx *c, const char *nonce)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)nonce, strlen(nonce), md);
	return random_hex(c->arena, md, sizeof md);
}

static int all_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

int users_email_request(struct ctx *c, const char *user_id, const char *new_email)
{
	char *nonce = random_id(c->arena);
	char *mac = link_mac(c, nonce);
	char ttl[16];
	int rc;

	if (mac == NULL)
		return ERR_INTERNAL;
	snprintf(ttl, sizeof ttl, "%d", EMAIL_CONFIRM_TTL);
	const char *clear[1] = {user_id};
	const char *ins[4] = {user_id, new_email, nonce_hash(c, nonce), ttl};

	rc = db_exec(c->db, c->arena, "uself_ec_clear", 1, clear, NULL);
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "uself_ec_insert", 4, ins, NULL);
	if (rc == ERR_OK)
		rc = mailer_queue_email_confirm(c->db, c->cfg, c->arena, new_email,
		                                arena_printf(c->arena, "%s.%s", nonce, mac));
	return rc;
}

/* resend_allowed counts one resend for the user in Redis (RESEND_LIMIT per window), so
 * the link cannot be used to flood an address with mail. */
static int resend_allowed(struct ctx *c, const char *user_id)
{
	redisReply *rep = NULL;
	char *key = rds_key(c->rds, c->arena, "email_confirm_limit:%s", user_id);
	const char *incr[2] = {"INCR", key};
	int rc = rds_cmd(c->rds, c->arena, &rep, 2, incr, NULL);

	if (rc != ERR_OK)
		return rc;
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
		return ERR_INTERNAL;
	if (rep->integer == 1) {
		const char *exp[3] = {"EXPIRE", key, arena_printf(c->arena, "%d", RESEND_WINDOW)};

		rc = rds_cmd(c->rds, c->arena, NULL, 3, exp, NULL);
		if (rc != ERR_OK)
			return rc;
	}
	if (rep->integer > RESEND_LIMIT) {
		const char *ttl[2] = {"TTL", key};
		redisReply *t = NULL;

		ctx_fail(c, ERR_LIMITED, "rate_limited",
		         "Too many confirmation links for this account; try again later");
		c->why.retry_after = RESEND_WINDOW;
		if (rds_cmd(c->rds, c->arena, &t, 2, ttl, NULL) == ERR_OK && t != NULL &&
		    t->type == REDIS_REPLY_INTEGER && t->integer > 0)
			c->why.retry_after = t->integer;
		return ERR_LIMITED;
	}
	return ERR_OK;
}

int users_email_resend(struct ctx *c)
{
	struct user_view v;
	int rc = users_view_load(c, c->actor.user_id, 0, &v);

	if (rc == ERR_NOT_FOUND)
		return ctx_fail(c, ERR_UNAUTHORIZED, "unauthorized",
		                "The account no longer exists");
	if (rc != ERR_OK)
		return rc;
	if (v.pending_email == NULL)
		return ctx_fail(c, ERR_CONFLICT, "no_pending_email",
		                "No email change is waiting for confirmation");
	rc = resend_allowed(c, v.u.id);
	if (rc != ERR_OK)
		return rc;
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	/* Locked, so the address mailed is the one pending at commit. */
	rc = users_view_load(c, c->actor.user_id, 1, &v);
	if (rc == ERR_OK && v.pending_email == NULL)
		rc = ctx_fail(c, ERR_CONFLICT, "no_pending_email",
		              "No email change is waiting for confirmation");
	if (rc == ERR_OK)
		rc = users_email_request(c, v.u.id, v.pending_email);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	rc = db_commit(c->db);
	if (rc == ERR_OK)
		audit_record1(c, "email_link_sent", v.u.id, v.u.email, "pending_email",
		              v.pending_email);
	return rc;
}

static int confirm_invalid(struct ctx *c, const char *detail)
{
	return ctx_fail(c, ERR_INVALID, "confirm_invalid", detail);
}

int users_email_confirm(struct ctx *c, const char *token, const char **email)
{
	PGresult *res = NULL;
	const char *dot = token != NULL ? strchr(token, '.') : NULL;
	char *nonce, *mac;
	int rc;

	*email = NULL;
	if (dot == NULL || strlen(token) > 200)
		return confirm_invalid(c, "This confirmation link is not valid");
	nonce = arena_strndup(c->arena, token, (size_t)(dot - token));
	if (!all_hex(nonce, 32) || !all_hex(dot + 1, 64))
		return confirm_invalid(c, "This confirmation link is not valid");
	mac = link_mac(c, nonce);
	if (mac == NULL)
		return ERR_INTERNAL;
	if (!util_ct_equal(mac, strlen(mac), dot + 1, strlen(dot + 1)))
		return confirm_invalid(c, "This confirmation link is not valid");

	const char *params[1] = {nonce_hash(c, nonce)};

	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = db_exec(c->db, c->arena, "uself_ec_take", 1, params, &res);
	if (rc != ERR_OK)
		goto fail;
	if (db_rows(res) != 1) {
		rc = confirm_invalid(c, "This confirmation link was replaced by a newer one or "
		                        "is no longer valid");
		goto fail;
	}
	const char *ec_id = cell(c->arena, res, 0, 0);
	const char *user_id = cell(c->arena, res, 0, 1);
	const char *new_email = cell(c->arena, res, 0, 2);
	const char *old_email = cell(c->arena, res, 0, 5);
	const char *pending = db_value(res, 0, 6);
	const char *used = db_value(res, 0, 3), *expired = db_value(res, 0, 4);

	if (used != NULL && used[0] == 't') {
		rc = confirm_invalid(c, "This confirmation link was already used");
		goto fail;
	}
	if (expired != NULL && expired[0] == 't') {
		rc = confirm_invalid(c, "This confirmation link has expired");
		goto fail;
	}
	if (pending == NULL || strcmp(pending, new_email) != 0) {
		rc = confirm_invalid(c, "This email change was cancelled");
		goto fail;
	}
	const char *id1[1] = {ec_id};
	const char *set[2] = {user_id, new_email};

	rc = db_exec(c->db, c->arena, "uself_ec_used", 1, id1, NULL);
	if (rc == ERR_OK)
		rc = db_exec(c->db, c->arena, "uself_set_email", 2, set, NULL);
	if (rc == ERR_CONFLICT) {
		rc = ctx_fail(c, ERR_CONFLICT, "email_taken",
		              "This address belongs to another account");
		goto fail;
	}
	if (rc == ERR_OK)
		rc = mailer_queue_email_changed(c->db, c->cfg, c->arena, old_email, new_email);
	if (rc != ERR_OK)
		goto fail;
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	users_cache_drop(c->rds, c->arena, user_id);
	audit_record1(c, "email_changed", user_id, new_email, "old_email", old_email);
	*email = new_email;
	return ERR_OK;
fail:
	db_rollback(c->db);
	return rc;
}

/* ------------------------------------------------------------------ password */

/* revoke_others revokes every session of the caller but the current one. */
static int revoke_others(struct ctx *c, int *count)
{
	const char *cursor = NULL;

	*count = 0;
	for (int guard = 0; guard < 1000; guard++) {
		struct session_info *items = NULL;
		size_t n = 0;
		const char *next = NULL;
		int rc = sessions_list(c->rds, c->arena, c->actor.user_id, cursor,
		                       SESSIONS_LIST_MAX, &items, &n, &next);

		if (rc != ERR_OK)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (c->actor.sid != NULL && strcmp(items[i].id, c->actor.sid) == 0)
				continue;
			rc = sessions_revoke(c->rds, c->arena, c->actor.user_id, items[i].id, NULL,
			                     0);
			if (rc == ERR_OK)
				(*count)++;
			else if (rc != ERR_NOT_FOUND)
				return rc;
		}
		if (next == NULL)
			return ERR_OK;
		cursor = next;
	}
	return ERR_OK;
}

int users_change_password(struct ctx *c, const char *current, const char *new_pw)
{
	struct user_view v;
	char *hash = NULL;
	int count = 0;
	int rc = users_view_load(c, c->actor.user_id, 0, &v);

	if (rc == ERR_NOT_FOUND)
		return ctx_fail(c, ERR_UNAUTHORIZED, "unauthorized",
		                "The account no longer exists");
	if (rc != ERR_OK)
		return rc;
	/* Guessing the current password here is a login by other means (a stolen access
	 * token, a shared machine): it counts against, and waits on, the same sign-in
	 * throttle as POST /auth/login, before any hashing. */
	int64_t retry = 0, read_at = 0;

	rc = throttle_login_gate(c->rds, c->arena, v.u.email, c->client.ip, &retry, &read_at);
	if (rc == ERR_LIMITED) {
		ctx_fail(c, ERR_LIMITED, "login_throttled",
		         "Too many wrong passwords for this account; try again later");
		c->why.retry_after = retry > 0 ? retry : 1;
		return ERR_LIMITED;
	}
	if (rc != ERR_OK)
		return rc;
	rc = password_verify(c->svc->hash_slots, v.u.password_hash, current);
	if (rc == ERR_UNAUTHORIZED) {
		if (throttle_login_failed(c->rds, c->arena, v.u.email, c->client.ip) != ERR_OK)
			log_warn("users: a wrong current password was not counted");
		audit_record1(c, "password_change_failed", v.u.id, v.u.email, "reason",
		              "wrong_current_password");
		rc = ctx_fail(c, ERR_INVALID, "validation_failed", "is not your current password");
		c->why.field = "current_password";
		return rc;
	}
	if (rc == ERR_OK)
		rc = password_hash(c->svc->hash_slots, c->arena, new_pw, &hash);
	if (rc == ERR_BUSY) {
		ctx_fail(c, ERR_BUSY, "server_busy", "The server is busy, try again shortly");
		c->why.retry_after = 1;
		return ERR_BUSY;
	}
	if (rc != ERR_OK)
		return rc;
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = users_set_password(c->db, c->arena, v.u.id, hash);
	if (rc == ERR_OK)
		rc = mailer_queue_password_changed(c->db, c->cfg, c->arena, v.u.email);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	users_cache_drop(c->rds, c->arena, v.u.id);
	if (throttle_login_ok(c->rds, c->arena, v.u.email, c->client.ip) != ERR_OK)
		log_warn("users: sign-in throttle not cleared after a password change");
	if (revoke_others(c, &count) != ERR_OK)
		log_error("users: other sessions not revoked after a password change");
	audit_record1(c, "password_changed", v.u.id, v.u.email, "sessions_revoked",
	              arena_printf(c->arena, "%d", count));
	return ERR_OK;
}
