/* accounts.c - the account flows; see accounts.h and docs/internals/auth.md. */
#include "domain/accounts.h"

#include <string.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/mailer.h"
#include "domain/resumes.h"
#include "security/password.h"
#include "security/random.h"
#include "security/throttle.h"
#include "security/token.h"
#include "store/db.h"

#define PENDING_REGISTER "register"
#define PENDING_LOGIN "login"

/* ------------------------------------------------------------------ outcomes */

static int otp_invalid(struct ctx *c, const char *detail, int attempts)
{
	int rc = ctx_fail(c, ERR_INVALID, "otp_invalid", detail);

	c->why.attempts_remaining = attempts > 0 ? attempts : 0;
	return rc;
}

/* otp_failure turns an otp_issue / otp_verify failure into the call's outcome. */
static int otp_failure(struct ctx *c, int err, const struct otp_result *res, enum otp_module m,
                       const char *email)
{
	switch (err) {
	case ERR_INVALID:
		return otp_invalid(c, "The code is wrong or has expired", res->attempts_remaining);
	case ERR_LIMITED:
		audit_record1(c, "otp_blocked", NULL, email, "module", otp_module_name(m));
		ctx_fail(c, ERR_LIMITED, "otp_blocked",
		         "Too many attempts for this address; try again later");
		c->why.retry_after = res->retry_after > 0 ? res->retry_after : 1;
		c->why.attempts_remaining = 0;
		return ERR_LIMITED;
	default: return err;
	}
}

/* busy: no hashing slot freed in time (a login storm). */
static int busy(struct ctx *c)
{
	ctx_fail(c, ERR_BUSY, "server_busy", "The server is busy, try again shortly");
	c->why.retry_after = 1;
	return ERR_BUSY;
}

static int hash_failure(struct ctx *c, int err)
{
	return err == ERR_BUSY ? busy(c) : err;
}

/* ------------------------------------------------------------------ codes and mail */

/* mail_budget counts one mail caused by the client address (MEDRIN_OTP_MAIL_PER_ADDRESS
 * an hour, throttle.h): one mailbox cannot be bombed through variants of its address,
 * nor many mailboxes from one client. Every path that mails, or pretends to, calls it
 * once, so a known and an unknown address count the same. */
static int mail_budget(struct ctx *c)
{
	int64_t retry = 0;
	int rc =
	    throttle_mail(c->rds, c->arena, c->client.ip, c->cfg->otp_mail_per_address, &retry);

	if (rc == ERR_LIMITED) {
		ctx_fail(c, ERR_LIMITED, "otp_rate_limited",
		         "Too many codes were requested from your address; try again later");
		c->why.retry_after = retry > 0 ? retry : 1;
		return ERR_LIMITED;
	}
	return rc;
}

/* send_code is the one "issue a code, keep what waits for it, queue its mail" step.
 * pending_value non-NULL stores pending:{pending_kind}:{email} with the code's lifetime;
 * NULL with a pending_kind extends the entry that already waits. The mail is queued last;
 * if it cannot be, the issue is refunded and a stored pending entry removed, so the
 * failure costs the user nothing (the caller answers 503 and the user tries again). */
static int send_code(struct ctx *c, enum otp_module m, const char *email, const char *pending_kind,
                     const char *pending_value, int *attempts)
{
	struct otp_result res;
	char *code = NULL;
	int ttl = c->cfg->otp_expiry_seconds;
	int rc;

	memset(&res, 0, sizeof res);
	rc = mail_budget(c);
	if (rc != ERR_OK)
		return rc;
	rc = otp_issue(c->rds, c->cfg, c->arena, m, email, &code, &res);
	if (rc != ERR_OK)
		return otp_failure(c, rc, &res, m, email);
	if (pending_kind != NULL && pending_value != NULL)
		rc = users_pending_put(c->rds, c->arena, pending_kind, email, pending_value, ttl);
	else if (pending_kind != NULL)
		rc = users_pending_touch(c->rds, c->arena, pending_kind, email, ttl);
	if (rc == ERR_NOT_FOUND)
		rc = ERR_OK; /* expired just now: the code alone is harmless, verify says so */
	if (rc == ERR_OK)
		rc =
		    mailer_queue_otp(c->db, c->cfg, c->arena, email, otp_module_name(m), code, ttl);
	if (rc != ERR_OK) {
		if (otp_refund(c->rds, c->cfg, c->arena, m, email, code) != ERR_OK)
			log_warn("accounts: an unsent code could not be refunded");
		if (pending_value != NULL &&
		    users_pending_del(c->rds, c->arena, pending_kind, email) != ERR_OK)
			log_warn("accounts: pending entry of an unsent code not removed");
		return rc;
	}
	*attempts = res.attempts_remaining;
	return ERR_OK;
}

/* count_request counts one request for (m, email) and mails nothing: keeps the answer
 * for an address that gets no code identical to one that does. The same work is done as
 * for a real code (issue, seal, queue): the queued stand-in is marked to be dropped by
 * the worker (mailer_queue_otp_standin), so the two paths cannot be told apart by their
 * time either (docs/auth.md "No enumeration"). */
static int count_request(struct ctx *c, enum otp_module m, const char *email, int *attempts)
{
	struct otp_result res;
	char *code = NULL;
	int rc;

	memset(&res, 0, sizeof res);
	rc = mail_budget(c);
	if (rc != ERR_OK)
		return rc;
	rc = otp_issue(c->rds, c->cfg, c->arena, m, email, &code, &res);
	if (rc != ERR_OK)
		return otp_failure(c, rc, &res, m, email);
	rc = mailer_queue_otp_standin(c->db, c->cfg, c->arena, email, otp_module_name(m), code,
	                              c->cfg->otp_expiry_seconds);
	if (rc != ERR_OK)
		return rc;
	*attempts = res.attempts_remaining;
	return ERR_OK;
}

/* no_challenge answers a login resend or verify that has no live login challenge (no
 * correct password came first): as the same request would be answered otherwise, but
 * nothing is counted and nothing sent, so strangers cannot spend or block the owner's
 * login budget. The stand-in mail keeps the work (and time) the same. verifying selects
 * the verify-otp answer (a wrong code) over the resend one (202). */
static int no_challenge(struct ctx *c, const char *email, int verifying, int *attempts)
{
	struct otp_result res;
	int wrong_left = 0;
	int rc;

	memset(&res, 0, sizeof res);
	rc = otp_peek(c->rds, c->arena, OTP_MODULE_LOGIN, email, &res, &wrong_left);
	if (rc == ERR_LIMITED)
		return otp_failure(c, rc, &res, OTP_MODULE_LOGIN, email);
	if (rc != ERR_OK)
		return rc;
	/* What a counted request would have left: one less (a block when none is left),
	 * so the answer does not tell whether a challenge is live. */
	if ((verifying ? wrong_left : res.attempts_remaining) <= (verifying ? 1 : 0)) {
		res.retry_after =
		    verifying ? OTP_WRONG_BLOCK_SECONDS : otp_block_seconds(OTP_MODULE_LOGIN);
		return otp_failure(c, ERR_LIMITED, &res, OTP_MODULE_LOGIN, email);
	}
	if (verifying)
		return otp_invalid(c, "The code is wrong or has expired", wrong_left - 1);
	rc = mail_budget(c);
	if (rc == ERR_OK)
		rc =
		    mailer_queue_otp_standin(c->db, c->cfg, c->arena, email, "login",
		                             random_otp_code(c->arena), c->cfg->otp_expiry_seconds);
	if (rc != ERR_OK)
		return rc;
	*attempts = res.attempts_remaining - 1;
	return ERR_OK;
}

/* counted_mail counts a request, then queues a mail that carries no code; if the mail
 * cannot be queued the count is refunded. The module's current code, if any, stays (a
 * notice must not cancel the code another client waits for). */
static int counted_mail(struct ctx *c, enum otp_module m, const char *email,
                        int (*queue)(struct db *, const struct config *, struct arena *,
                                     const char *),
                        int *attempts)
{
	struct otp_result res;
	int rc;

	memset(&res, 0, sizeof res);
	rc = mail_budget(c);
	if (rc != ERR_OK)
		return rc;
	rc = otp_count(c->rds, c->cfg, c->arena, m, email, &res);
	if (rc != ERR_OK)
		return otp_failure(c, rc, &res, m, email);
	rc = queue(c->db, c->cfg, c->arena, email);
	if (rc != ERR_OK) {
		/* the refund leaves the code alone: it deletes only the code it is given */
		if (otp_refund(c->rds, c->cfg, c->arena, m, email, "") != ERR_OK)
			log_warn("accounts: an unsent notice could not be refunded");
		return rc;
	}
	*attempts = res.attempts_remaining;
	return ERR_OK;
}

/* ------------------------------------------------------------------ the pending registration */

static char *pending_encode(struct arena *a, const struct accounts_pending *p)
{
	struct record rec;

	memset(&rec, 0, sizeof rec);
	if (record_set(&rec, "registration_id", p->registration_id) != ERR_OK ||
	    record_set(&rec, "password_hash", p->password_hash) != ERR_OK ||
	    record_set(&rec, "first_name", p->first_name) != ERR_OK ||
	    record_set(&rec, "last_name", p->last_name) != ERR_OK ||
	    record_set(&rec, "account_type", p->account_type) != ERR_OK)
		return NULL;
	return record_encode(a, &rec);
}

int accounts_pending_decode(struct arena *a, const char *text, size_t len,
                            struct accounts_pending *out)
{
	struct record rec;

	memset(out, 0, sizeof *out);
	if (text == NULL || record_decode(a, text, len, &rec) != ERR_OK ||
	    record_get(&rec, "password_hash") == NULL)
		return ERR_INVALID;
	out->registration_id = record_get(&rec, "registration_id");
	out->password_hash = record_get(&rec, "password_hash");
	out->first_name = record_get(&rec, "first_name");
	out->last_name = record_get(&rec, "last_name");
	out->account_type = record_get(&rec, "account_type");
	return ERR_OK;
}

/* pending_get reads the waiting registration. ERR_NOT_FOUND when none waits or its
 * entry is unreadable (it is then simply replaced, or verify says nothing waits). */
static int pending_get(struct ctx *c, const char *email, struct accounts_pending *out)
{
	char *text = NULL;
	int rc = users_pending_get(c->rds, c->arena, PENDING_REGISTER, email, &text);

	memset(out, 0, sizeof *out);
	if (rc != ERR_OK)
		return rc;
	if (accounts_pending_decode(c->arena, text, strlen(text), out) != ERR_OK) {
		log_warn("accounts: unreadable pending registration ignored");
		return ERR_NOT_FOUND;
	}
	return ERR_OK;
}

/* ------------------------------------------------------------------ sessions */

/* sign_in starts the session. read_at is the Redis time (us) taken before the password
 * hash the caller checked was read (NULL: a new account): a session is refused when the
 * password changed after that (sessions_create_since), so no session made with an old
 * password outlives a reset. */
static int sign_in(struct ctx *c, const struct user *u, const char *read_at,
                   struct accounts_signin *out)
{
	out->user = *u;
	return sessions_create_since(c->rds, c->cfg, c->svc->keys, c->arena, u->id, u->role,
	                             c->client.user_agent, c->client.ip, read_at, &out->tokens);
}

/* ------------------------------------------------------------------ authentication */

int accounts_authenticate(struct ctx *c, const char *access_token)
{
	struct token_claims claims;
	const char *cached = NULL, *role = NULL;
	int rc;

	memset(&c->actor, 0, sizeof c->actor);
	if (c->svc == NULL || c->svc->keys == NULL)
		return ERR_UNAVAILABLE; /* services_open did not run: refuse, never crash */
	if (token_verify(c->svc->keys, c->arena, access_token, TOKEN_ACCESS, &claims) != ERR_OK)
		return ERR_UNAUTHORIZED;
	rc = sessions_check(c->rds, c->arena, claims.sub, claims.sid, claims.jti,
	                    users_cache_key(c->rds, c->arena, claims.sub), &role, &cached);
	if (rc == ERR_UNAUTHORIZED)
		return ERR_UNAUTHORIZED;
	if (rc != ERR_OK)
		return ERR_UNAVAILABLE; /* fail closed */
	c->actor.user_id = claims.sub;
	c->actor.sid = claims.sid;
	c->actor.jti = claims.jti;
	/* The role stored with the session (updated by sessions_set_role the moment a role
	 * changes), never the token's claim. */
	c->actor.role = role != NULL ? role : "user";
	c->actor.exp = claims.exp;
	c->actor.cached_user = cached;
	return ERR_OK;
}

/* ------------------------------------------------------------------ register */

int accounts_register(struct ctx *c, const struct accounts_registration *in, int *attempts,
                      const char **registration_id)
{
	struct otp_result res;
	struct accounts_pending waiting, fresh;
	const char *hash = NULL;
	char *new_hash = NULL;
	const char *rid = random_id(c->arena);
	int exists = 0, conflict = 0, have_waiting = 0;
	int rc;

	*attempts = 0;
	/* Every answer carries an id of the same shape: a fresh random one for an address
	 * that is taken or has another registration waiting (stored nowhere), so the answer
	 * reveals nothing. */
	*registration_id = rid;
	memset(&res, 0, sizeof res);
	/* Every read that can fail comes before the first write. */
	rc = otp_check_allowed(c->rds, c->arena, OTP_MODULE_REGISTER, in->email, &res);
	if (rc != ERR_OK)
		return otp_failure(c, rc, &res, OTP_MODULE_REGISTER, in->email);
	rc = users_exists_email(c->db, c->arena, in->email, &exists);
	if (rc != ERR_OK)
		return rc;
	if (!exists) {
		rc = pending_get(c, in->email, &waiting);
		if (rc != ERR_OK && rc != ERR_NOT_FOUND)
			return rc;
		have_waiting = rc == ERR_OK;
	}
	/* One argon2id operation on every path, so a known address, a new one and one
	 * already waiting all cost the same: hash the password, or check it against the
	 * waiting registration's hash. */
	if (have_waiting) {
		rc = password_verify(c->svc->hash_slots, waiting.password_hash, in->password);
		if (rc == ERR_OK)
			hash = waiting.password_hash;
		else if (rc == ERR_UNAUTHORIZED)
			conflict = 1;
	} else {
		rc = password_hash(c->svc->hash_slots, c->arena, in->password, &new_hash);
		hash = new_hash;
	}
	if (rc != ERR_OK && !conflict)
		return hash_failure(c, rc);

	if (exists)
		return counted_mail(c, OTP_MODULE_REGISTER, in->email, mailer_queue_register_notice,
		                    attempts);
	if (conflict) {
		/* Another registration with another password waits for this address. The code
		 * proves only that someone reads the mailbox; the registration_id proves which
		 * client started the sign-up. The first one is kept (only its client can finish
		 * it), this one is refused with a throw-away id, and the owner is told. The
		 * address is not freed: cancelling both would let a stranger reset a sign-up
		 * at will and race the owner's retry. */
		return counted_mail(c, OTP_MODULE_REGISTER, in->email,
		                    mailer_queue_register_conflict, attempts);
	}
	/* The same password again (a retry of the same sign-up): the same registration, so
	 * its id is answered again; a record from before ids existed gets one now. */
	if (have_waiting && waiting.registration_id != NULL && *waiting.registration_id != '\0')
		rid = waiting.registration_id;
	*registration_id = rid;
	fresh.registration_id = rid;
	fresh.password_hash = hash;
	fresh.first_name = have_waiting             ? waiting.first_name
	                   : in->first_name != NULL ? in->first_name
	                                            : "";
	fresh.last_name = have_waiting            ? waiting.last_name
	                  : in->last_name != NULL ? in->last_name
	                                          : "";
	fresh.account_type = have_waiting               ? waiting.account_type
	                     : in->account_type != NULL ? in->account_type
	                                                : "none";
	const char *value = pending_encode(c->arena, &fresh);

	if (value == NULL)
		return ERR_INTERNAL;
	return send_code(c, OTP_MODULE_REGISTER, in->email, PENDING_REGISTER, value, attempts);
}

/* ------------------------------------------------------------------ verify */

/* code_ok checks (consume 0) or spends (consume 1: single use, the counters reset) a
 * code; a refusal is the call's outcome (otp_failure). */
static int code_ok(struct ctx *c, enum otp_module m, const char *email, const char *code,
                   int consume)
{
	struct otp_result res;
	int rc;

	memset(&res, 0, sizeof res);
	rc = otp_verify(c->rds, c->cfg, c->arena, m, email, code, consume, &res);
	return rc == ERR_OK ? ERR_OK : otp_failure(c, rc, &res, m, email);
}

/* commit_spending spends the code inside the open transaction and commits only if it
 * was spent, so what the transaction wrote exists only if the code did. Only a failed
 * COMMIT itself costs the code (logged; what names the write). */
static int commit_spending(struct ctx *c, enum otp_module m, const char *email, const char *code,
                           const char *what)
{
	int rc = code_ok(c, m, email, code, 1);

	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		log_error("accounts: %s not committed after the code was spent: %s", what,
		          err_name(rc));
	return rc;
}

/* wrong_proof counts the attempt as a wrong code (the counters of a wrong code, its
 * answer): a code that comes without the registration's proof is worth nothing. */
static int wrong_proof(struct ctx *c, enum otp_module m, const char *email)
{
	struct otp_result res;
	int rc;

	memset(&res, 0, sizeof res);
	rc = otp_verify(c->rds, c->cfg, c->arena, m, email, "", 0, &res);
	if (rc == ERR_OK)
		rc = ERR_INVALID; /* cannot happen: "" is never a code */
	return otp_failure(c, rc, &res, m, email);
}

static int verify_register(struct ctx *c, const char *email, const char *code,
                           const struct accounts_proof *proof, struct accounts_signin *out)
{
	struct accounts_pending p;
	struct users_new nu;
	struct user u;
	int proven = 0;
	int rc;

	rc = pending_get(c, email, &p);
	if (rc != ERR_OK && rc != ERR_NOT_FOUND)
		return rc;
	if (rc == ERR_OK) {
		/* Only the client that created the registration may finish it: it echoes the
		 * registration_id, or (older clients) sends the password it registered with. */
		const char *rid = proof != NULL ? proof->registration_id : NULL;
		const char *pw = proof != NULL ? proof->password : NULL;

		if (rid != NULL && p.registration_id != NULL &&
		    util_ct_equal(rid, strlen(rid), p.registration_id, strlen(p.registration_id)))
			proven = 1;
		else if (rid == NULL && pw != NULL) {
			rc = password_verify(c->svc->hash_slots, p.password_hash, pw);
			if (rc == ERR_BUSY)
				return busy(c);
			if (rc != ERR_OK && rc != ERR_UNAUTHORIZED)
				return rc;
			proven = rc == ERR_OK;
		}
		if (!proven)
			return wrong_proof(c, OTP_MODULE_REGISTER, email);
	}
	/* Check the code without spending it: it is spent only inside the transaction that
	 * creates the user, so a PostgreSQL failure does not cost the code. */
	rc = code_ok(c, OTP_MODULE_REGISTER, email, code, 0);
	if (rc != ERR_OK)
		return rc;
	if (!proven)
		return otp_invalid(c, "No registration is waiting for this address", 0);
	memset(&nu, 0, sizeof nu);
	nu.email = email;
	nu.password_hash = p.password_hash;
	nu.first_name = p.first_name != NULL ? p.first_name : "";
	nu.last_name = p.last_name != NULL ? p.last_name : "";
	nu.account_type = p.account_type != NULL ? p.account_type : "none";
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = users_insert(c->db, c->arena, &nu, &u);
	if (rc == ERR_CONFLICT) {
		db_rollback(c->db);
		if (users_pending_del(c->rds, c->arena, PENDING_REGISTER, email) != ERR_OK)
			log_warn("accounts: pending registration not removed");
		return ctx_fail(c, ERR_CONFLICT, "email_taken",
		                "This address is already registered");
	}
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	/* The user exists only if the code was spent. */
	rc = commit_spending(c, OTP_MODULE_REGISTER, email, code, "registration");
	if (rc != ERR_OK)
		return rc;
	if (users_pending_del(c->rds, c->arena, PENDING_REGISTER, email) != ERR_OK)
		log_warn("accounts: pending registration not removed (it expires on its own)");
	audit_record(c, "registered", u.id, u.email, NULL);
	return sign_in(c, &u, NULL, out);
}

/* The login challenge waiting for its code: pending:login:{email}, a record
 * {challenge (the id the login answered), read_at (Redis time in us before the
 * password was read)}. */
static int challenge_get(struct ctx *c, const char *email, const char **id, const char **read_at)
{
	struct record rec;
	char *text = NULL;
	int rc = users_pending_get(c->rds, c->arena, PENDING_LOGIN, email, &text);

	*id = NULL;
	*read_at = NULL;
	if (rc != ERR_OK)
		return rc;
	if (record_decode(c->arena, text, strlen(text), &rec) != ERR_OK ||
	    record_get(&rec, "challenge") == NULL)
		return ERR_NOT_FOUND; /* "1" from older code, or unreadable: no challenge */
	*id = record_get(&rec, "challenge");
	*read_at = record_get(&rec, "read_at");
	return ERR_OK;
}

static int verify_login(struct ctx *c, const char *email, const char *code,
                        const struct accounts_proof *proof, struct accounts_signin *out)
{
	struct user u;
	const char *challenge = NULL, *read_at = NULL;
	const char *given = proof != NULL ? proof->challenge_id : NULL;
	int dummy = 0;
	int rc;

	/* No code exists without a live challenge (a correct password first): without one,
	 * the answer is a wrong code's, and nothing is counted. */
	rc = challenge_get(c, email, &challenge, &read_at);
	if (rc == ERR_NOT_FOUND)
		return no_challenge(c, email, 1, &dummy);
	if (rc != ERR_OK)
		return rc;
	if (given != NULL && !util_ct_equal(given, strlen(given), challenge, strlen(challenge)))
		return wrong_proof(c, OTP_MODULE_LOGIN, email);
	/* Every read that can fail runs before the code is spent. */
	rc = code_ok(c, OTP_MODULE_LOGIN, email, code, 0);
	if (rc != ERR_OK)
		return rc;
	rc = users_by_email(c->db, c->arena, email, &u);
	if (rc == ERR_NOT_FOUND)
		return otp_invalid(c, "No sign-in is waiting for this address", 0);
	if (rc != ERR_OK)
		return rc;
	rc = code_ok(c, OTP_MODULE_LOGIN, email, code, 1);
	if (rc != ERR_OK)
		return rc;
	if (users_pending_del(c->rds, c->arena, PENDING_LOGIN, email) != ERR_OK)
		log_warn("accounts: pending login not removed (it expires on its own)");
	rc = sign_in(c, &u, read_at != NULL ? read_at : "0", out);
	if (rc == ERR_CONFLICT)
		return ctx_fail(c, ERR_UNAUTHORIZED, "invalid_credentials",
		                "The password changed; sign in again");
	if (rc != ERR_OK)
		return rc;
	if (throttle_login_ok(c->rds, c->arena, email, c->client.ip) != ERR_OK)
		log_warn("accounts: login throttle not cleared");
	audit_record1(c, "login_ok", u.id, u.email, "method", "otp");
	return ERR_OK;
}

int accounts_verify(struct ctx *c, enum otp_module m, const char *email, const char *code,
                    const struct accounts_proof *proof, struct accounts_signin *out, int *created)
{
	int rc;

	*created = 0;
	switch (m) {
	case OTP_MODULE_REGISTER:
		rc = verify_register(c, email, code, proof, out);
		*created = rc == ERR_OK;
		return rc;
	case OTP_MODULE_LOGIN: return verify_login(c, email, code, proof, out);
	case OTP_MODULE_FORGETPASSWORD: break;
	}
	/* Not spent: reset-password takes the same code and spends it. */
	rc = code_ok(c, OTP_MODULE_FORGETPASSWORD, email, code, 0);
	if (rc != ERR_OK)
		return rc;
	return ERR_OK;
}

/* ------------------------------------------------------------------ resend */

int accounts_resend(struct ctx *c, enum otp_module m, const char *email, int *attempts)
{
	const char *kind = NULL, *challenge = NULL, *read_at = NULL;
	char *pending = NULL;
	int deserves = 0;
	int rc;

	*attempts = 0;
	/* Only an address with something waiting gets a code. Every address is counted,
	 * except a login without a live challenge: that counts nothing (no_challenge). */
	switch (m) {
	case OTP_MODULE_REGISTER:
		kind = PENDING_REGISTER;
		rc = users_pending_get(c->rds, c->arena, kind, email, &pending);
		if (rc != ERR_OK && rc != ERR_NOT_FOUND)
			return rc;
		deserves = rc == ERR_OK;
		break;
	case OTP_MODULE_LOGIN:
		kind = PENDING_LOGIN;
		rc = challenge_get(c, email, &challenge, &read_at);
		if (rc == ERR_NOT_FOUND)
			return no_challenge(c, email, 0, attempts);
		if (rc != ERR_OK)
			return rc;
		deserves = 1;
		break;
	case OTP_MODULE_FORGETPASSWORD:
		rc = users_exists_email(c->db, c->arena, email, &deserves);
		if (rc != ERR_OK)
			return rc;
		break;
	}
	if (!deserves)
		return count_request(c, m, email, attempts);
	/* The pending entry lives as long as the new code. */
	return send_code(c, m, email, kind, NULL, attempts);
}

/* ------------------------------------------------------------------ login */

static int login_otp_needed(const struct config *cfg, const struct user *u)
{
	if (cfg->login_otp == NULL)
		return 0;
	if (strcmp(cfg->login_otp, "required") == 0)
		return 1;
	return strcmp(cfg->login_otp, "optional") == 0 && u->login_otp;
}

static int login_once(struct ctx *c, const char *email, const char *password,
                      enum accounts_login_step *step, int *attempts, const char **challenge_id,
                      struct accounts_signin *out)
{
	struct user u;
	int64_t retry = 0, read_at = 0;
	int found = 1;
	int rc;

	/* Throttled before the password is looked at (and before any hashing): the same for
	 * a known and an unknown address. read_at is Redis's clock before the row is read. */
	rc = throttle_login_gate(c->rds, c->arena, email, c->client.ip, &retry, &read_at);
	if (rc == ERR_LIMITED) {
		ctx_fail(c, ERR_LIMITED, "login_throttled",
		         "Too many failed sign-ins for this account; try again later");
		c->why.retry_after = retry > 0 ? retry : 1;
		return ERR_LIMITED;
	}
	if (rc != ERR_OK)
		return rc;
	rc = users_by_email(c->db, c->arena, email, &u);
	if (rc == ERR_NOT_FOUND) {
		found = 0;
		/* Same cost as a wrong password: the answer does not tell which it was. */
		rc = password_verify(c->svc->hash_slots, NULL, password);
	} else if (rc == ERR_OK) {
		rc = password_verify(c->svc->hash_slots, u.password_hash, password);
	} else {
		return rc;
	}
	if (rc == ERR_BUSY)
		return busy(c);
	if (rc == ERR_UNAUTHORIZED || !found) {
		if (throttle_login_failed(c->rds, c->arena, email, c->client.ip) != ERR_OK)
			log_warn("accounts: a failed login was not counted");
		audit_record(c, "login_failed", found ? u.id : NULL, email, NULL);
		return ctx_fail(c, ERR_UNAUTHORIZED, "invalid_credentials",
		                "Wrong email or password");
	}
	if (rc != ERR_OK)
		return rc;

	if (password_needs_rehash(u.password_hash)) {
		char *hash = NULL;

		/* One statement, committed on its own: the cache is dropped after it. */
		if (password_hash(c->svc->hash_slots, c->arena, password, &hash) == ERR_OK &&
		    users_set_password(c->db, c->arena, u.id, hash) == ERR_OK)
			users_cache_drop(c->rds, c->arena, u.id);
		else
			log_warn("accounts: password rehash skipped");
	}
	const char *read_at_s = arena_printf(c->arena, "%lld", (long long)read_at);

	if (login_otp_needed(c->cfg, &u)) {
		/* The login challenge: the only way a login code comes to exist. */
		struct record ch;
		const char *id = random_id(c->arena);

		memset(&ch, 0, sizeof ch);
		if (record_set(&ch, "challenge", id) != ERR_OK ||
		    record_set(&ch, "read_at", read_at_s) != ERR_OK)
			return ERR_INTERNAL;
		*step = ACCOUNTS_CODE_SENT;
		*challenge_id = id;
		rc = send_code(c, OTP_MODULE_LOGIN, email, PENDING_LOGIN,
		               record_encode(c->arena, &ch), attempts);
		if (rc == ERR_OK &&
		    throttle_login_ok(c->rds, c->arena, email, c->client.ip) != ERR_OK)
			log_warn("accounts: login throttle not cleared");
		return rc;
	}
	rc = sign_in(c, &u, read_at_s, out);
	if (rc != ERR_OK)
		return rc;
	if (throttle_login_ok(c->rds, c->arena, email, c->client.ip) != ERR_OK)
		log_warn("accounts: login throttle not cleared");
	audit_record1(c, "login_ok", u.id, u.email, "method", "password");
	return ERR_OK;
}

int accounts_login(struct ctx *c, const char *email, const char *password,
                   enum accounts_login_step *step, int *attempts, const char **challenge_id,
                   struct accounts_signin *out)
{
	int rc;

	*step = ACCOUNTS_SIGNED_IN;
	*attempts = 0;
	*challenge_id = NULL;
	rc = login_once(c, email, password, step, attempts, challenge_id, out);
	/* ERR_CONFLICT: the password changed between the read and the session (a reset
	 * committed meanwhile); read it again once: the old one no longer matches. */
	if (rc == ERR_CONFLICT)
		rc = login_once(c, email, password, step, attempts, challenge_id, out);
	if (rc == ERR_CONFLICT)
		rc = ctx_fail(c, ERR_UNAVAILABLE, "server_busy", "Try again shortly");
	return rc;
}

/* ------------------------------------------------------------------ refresh */

static int token_refused(struct ctx *c, const char *detail)
{
	return ctx_fail(c, ERR_UNAUTHORIZED, "unauthorized", detail);
}

int accounts_refresh(struct ctx *c, const char *refresh_token, struct accounts_signin *out)
{
	struct token_claims claims;
	enum session_rotation outcome;
	int rc;

	if (token_verify(c->svc->keys, c->arena, refresh_token, TOKEN_REFRESH, &claims) != ERR_OK)
		return token_refused(c, "The refresh token is invalid or expired");
	/* The role in the new access token comes from the database, not the old token. */
	rc = users_by_id(c->db, c->arena, claims.sub, &out->user);
	if (rc == ERR_NOT_FOUND) {
		if (sessions_revoke(c->rds, c->arena, claims.sub, claims.sid, NULL, 0) ==
		    ERR_UNAVAILABLE)
			return ERR_UNAVAILABLE;
		return token_refused(c, "The account no longer exists");
	}
	if (rc != ERR_OK)
		return rc;
	rc = sessions_rotate(c->rds, c->cfg, c->svc->keys, c->arena, &claims, out->user.role,
	                     &out->tokens, &outcome);
	if (rc != ERR_OK)
		return rc;
	switch (outcome) {
	case SESSION_ROTATED:
	case SESSION_GRACE: return ERR_OK;
	case SESSION_REUSED:
		audit_record(c, "refresh_reused", out->user.id, out->user.email, NULL);
		return ctx_fail(c, ERR_UNAUTHORIZED, "refresh_reused",
		                "This refresh token was already used; the session is revoked");
	case SESSION_GONE: break;
	}
	return token_refused(c, "The session has ended");
}

/* ------------------------------------------------------------------ logout, sessions */

int accounts_logout(struct ctx *c)
{
	int64_t ttl = c->actor.exp - util_wall_sec();
	int rc = sessions_revoke(c->rds, c->arena, c->actor.user_id, c->actor.sid, c->actor.jti,
	                         ttl > 0 ? ttl : 1);

	if (rc != ERR_OK && rc != ERR_NOT_FOUND)
		return rc;
	resumes_cache_drop(c->rds, c->arena, c->actor.user_id);
	audit_record(c, "logout", c->actor.user_id, NULL, NULL);
	return ERR_OK;
}

static void audit_revoked(struct ctx *c, const char *user_id, int count, const char *reason)
{
	struct record d;

	memset(&d, 0, sizeof d);
	if (record_set(&d, "count", arena_printf(c->arena, "%d", count)) != ERR_OK ||
	    record_set(&d, "reason", reason) != ERR_OK)
		log_error("accounts: audit detail dropped");
	audit_record(c, "sessions_revoked", user_id, NULL, &d);
}

int accounts_logout_all(struct ctx *c)
{
	int n = 0;
	int rc = sessions_revoke_all(c->rds, c->arena, c->actor.user_id, &n);

	if (rc != ERR_OK)
		return rc;
	resumes_cache_drop(c->rds, c->arena, c->actor.user_id);
	audit_revoked(c, c->actor.user_id, n, "logout_all");
	return ERR_OK;
}

int accounts_sessions(struct ctx *c, const char *cursor, int limit,
                      struct accounts_sessions_page *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	rc = sessions_list(c->rds, c->arena, c->actor.user_id, cursor, limit, &out->items, &out->n,
	                   &out->next_cursor);
	if (rc == ERR_INVALID) {
		ctx_fail(c, ERR_INVALID, "validation_failed",
		         "The cursor is not one this list gave.");
		c->why.field = "cursor";
	}
	return rc;
}

int accounts_session_revoke(struct ctx *c, const char *sid)
{
	int rc;

	if (sid == NULL || strlen(sid) != 32 || strspn(sid, "0123456789abcdef") != 32)
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such session");
	rc = sessions_revoke(c->rds, c->arena, c->actor.user_id, sid, NULL, 0);
	if (rc == ERR_NOT_FOUND)
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such session");
	if (rc != ERR_OK)
		return rc;
	audit_revoked(c, c->actor.user_id, 1, "session_deleted");
	return ERR_OK;
}

/* ------------------------------------------------------------------ passwords */

int accounts_forget_password(struct ctx *c, const char *email)
{
	int exists = 0, attempts = 0;
	int rc = users_exists_email(c->db, c->arena, email, &exists);

	if (rc != ERR_OK)
		return rc;
	/* Known or not, the request is counted and a mail is queued (a stand-in the worker
	 * drops for an unknown address), so both answer the same, in the same time, and a
	 * blocked address answers 429 either way. This budget is forgetpassword's own: it
	 * can delay resets, never logins. */
	if (exists)
		return send_code(c, OTP_MODULE_FORGETPASSWORD, email, NULL, NULL, &attempts);
	return count_request(c, OTP_MODULE_FORGETPASSWORD, email, &attempts);
}

int accounts_reset_password(struct ctx *c, const char *email, const char *code,
                            const char *new_password)
{
	struct user u;
	char *hash = NULL;
	int rc;

	/* Check without spending, hash (may be refused when busy), then spend: a busy server
	 * does not cost the user the code. */
	rc = code_ok(c, OTP_MODULE_FORGETPASSWORD, email, code, 0);
	if (rc != ERR_OK)
		return rc;
	rc = users_by_email(c->db, c->arena, email, &u);
	if (rc == ERR_NOT_FOUND)
		return otp_invalid(c, "The code is wrong or has expired", 0);
	if (rc != ERR_OK)
		return rc;
	rc = password_hash(c->svc->hash_slots, c->arena, new_password, &hash);
	if (rc != ERR_OK)
		return hash_failure(c, rc);
	/* The new password commits only after every old session is revoked and the code is
	 * spent: a failure before COMMIT leaves the old password and (unless another request
	 * spent it first) a usable code. Only a failed COMMIT itself costs the code. */
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = users_set_password(c->db, c->arena, u.id, hash);
	if (rc == ERR_OK)
		rc = sessions_revoke_all(c->rds, c->arena, u.id, NULL);
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	rc = commit_spending(c, OTP_MODULE_FORGETPASSWORD, email, code, "password reset");
	if (rc != ERR_OK)
		return rc;
	/* After the commit: drop the cached row (a read during the transaction may have
	 * cached the old one), then mark the password changed and revoke every session in
	 * one script (sessions_password_changed): a login that read the old hash before the
	 * commit and signs in later is refused by the mark, one that signed in earlier is
	 * revoked here. */
	users_cache_drop(c->rds, c->arena, u.id);
	if (sessions_password_changed(c->rds, c->arena, u.id, NULL) != ERR_OK)
		log_error("accounts: sessions of a reset password not revoked");
	audit_record(c, "password_reset", u.id, u.email, NULL);
	if (mailer_queue_password_changed(c->db, c->cfg, c->arena, u.email) != ERR_OK)
		log_warn("accounts: password-changed notice not queued");
	return ERR_OK;
}

/* ------------------------------------------------------------------ me */

int accounts_me(struct ctx *c, struct user *out)
{
	int rc;

	if (c->actor.cached_user != NULL &&
	    users_cache_decode(c->arena, c->actor.cached_user, out) == ERR_OK &&
	    strcmp(out->id, c->actor.user_id) == 0)
		return ERR_OK;
	rc = users_by_id(c->db, c->arena, c->actor.user_id, out);
	if (rc == ERR_NOT_FOUND)
		return token_refused(c, "The account no longer exists");
	if (rc != ERR_OK)
		return rc;
	if (users_cache_put(c->rds, c->arena, out) != ERR_OK)
		log_debug("accounts: user cache not filled");
	return ERR_OK;
}
