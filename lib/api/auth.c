/* auth.c - the Accounts endpoints (under /api/v1/auth) and api_authenticate.
 *
 * api.md "Authentication and OTP", "Passwords"; the flow and the Redis layout are in
 * docs/internals/auth.md. Handlers validate, call the domain (users, sessions, otp,
 * mailer, audit) and render. Rules that shape the order of calls:
 *   - no account enumeration: register, resend-otp and forget-password answer the same
 *     for a known and an unknown address, and spend the same OTP request either way;
 *   - nothing half-made: every check that can fail on Redis or PostgreSQL runs before
 *     the first write, and the mail is queued before the 202;
 *   - no secret (password, code, token) is ever logged or put in an audit row.
 */
#include "api/api.h"

#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/mailer.h"
#include "domain/sessions.h"
#include "domain/tasks.h"
#include "domain/users.h"
#include "http/problem.h"
#include "security/otp.h"
#include "security/password.h"
#include "security/token.h"
#include "store/db.h"
#include "store/rds.h"

#define NAME_MAX_BYTES 100
#define TOKEN_MAX_BYTES 4096
#define LOGIN_PASSWORD_MAX 1024

/* ------------------------------------------------------------------ module setup */

int auth_module_init(struct app *app)
{
	int rc;

	users_register(app->db);
	tasks_register(app->db);
	audit_register(app->db);
	otp_init(app->rds);
	sessions_init(app->rds);
	rc = token_keys_load(app->cfg, &app->keys);
	if (rc != ERR_OK) {
		log_error("auth: cannot load the token keys");
		goto out;
	}
	app->hash_slots_fd = password_limiter_open(app->cfg);
out:
	return rc;
}

void auth_module_close(struct app *app)
{
	if (app->keys != NULL)
		token_keys_free(app->keys);
	app->keys = NULL;
	if (app->hash_slots_fd >= 0)
		password_limiter_close(app->hash_slots_fd);
	app->hash_slots_fd = -1;
}

/* ------------------------------------------------------------------ small helpers */

static const char *user_agent(const struct api_req *r)
{
	return http_header(r->http, "User-Agent");
}

static void audit(struct api_req *r, const char *event, const char *user_id,
                  const char *email, json_object *detail)
{
	audit_record(r->app->db, r->arena, event, user_id, email, r->http->remote_addr,
	             user_agent(r), detail);
}

static json_object *detail_str(struct api_req *r, const char *key, const char *value)
{
	json_object *o = json_new_object(r->arena);

	json_object_object_add(o, key, json_object_new_string(value));
	return o;
}

static void retry_after(struct api_req *r, int64_t seconds)
{
	api_header(r, "Retry-After", arena_printf(r->arena, "%lld",
	                                          (long long)(seconds > 0 ? seconds : 1)));
}

/* A problem with the extension member attempts_remaining (when attempts >= 0). */
static int problem_attempts(struct api_req *r, int status, const char *code,
                            const char *detail, int attempts)
{
	json_object *ext = NULL;

	if (attempts >= 0) {
		ext = json_new_object(r->arena);
		json_object_object_add(ext, "attempts_remaining", json_object_new_int(attempts));
	}
	return problem_render_ext(r->resp, r->arena, status, code, detail, NULL, 0, ext);
}

/* 503 server_busy: no hashing slot freed in time (login storm). */
static int hash_busy(struct api_req *r)
{
	retry_after(r, 1);
	return api_problem(r, 503, "server_busy", "The server is busy, try again shortly");
}

/* Maps an OTP failure (otp_issue, otp_verify) to its response. */
static int otp_failure(struct api_req *r, int err, const struct otp_result *res,
                       enum otp_module m, const char *email)
{
	switch (err) {
	case ERR_INVALID:
		return problem_attempts(r, 400, "otp_invalid", "The code is wrong or has expired",
		                        res->attempts_remaining > 0 ? res->attempts_remaining : 0);
	case ERR_LIMITED:
		audit(r, "otp_blocked", NULL, email, detail_str(r, "module", otp_module_name(m)));
		retry_after(r, res->retry_after);
		return problem_attempts(r, 429, "otp_blocked",
		                        "Too many attempts for this address; try again later", 0);
	default:
		return api_error(r, err);
	}
}

/* 202 {"message":…,"attempts_remaining":N} */
static int accepted(struct api_req *r, const char *message, int attempts)
{
	json_object *o = json_new_object(r->arena);

	json_object_object_add(o, "message", json_object_new_string(message));
	if (attempts >= 0)
		json_object_object_add(o, "attempts_remaining", json_object_new_int(attempts));
	return api_json(r, 202, o);
}

static int message(struct api_req *r, int status, const char *text)
{
	json_object *o = json_new_object(r->arena);

	json_object_object_add(o, "message", json_object_new_string(text));
	return api_json(r, status, o);
}

/* The token response: {"access_token","refresh_token","token_type","expires_in","user"} */
static int reply_tokens(struct api_req *r, int status, const struct user *u,
                        const struct session_tokens *t)
{
	json_object *o = json_new_object(r->arena);

	json_object_object_add(o, "access_token", json_object_new_string(t->access));
	json_object_object_add(o, "refresh_token", json_object_new_string(t->refresh));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(t->expires_in));
	json_object_object_add(o, "user", users_to_json_member(u));
	return api_json(r, status, o);
}

static int new_session(struct api_req *r, const struct user *u, struct session_tokens *t)
{
	return sessions_create(r->app->rds, r->app->cfg, r->app->keys, r->arena, u->id, u->role,
	                       user_agent(r), r->http->remote_addr, t);
}

/* A 6-digit code field: adds a validation error when it is anything else. */
static void check_code(struct api_req *r, const char *code, struct json_errors *errs)
{
	if (code == NULL)
		return;
	for (size_t i = 0; i < 6; i++) {
		if (code[i] < '0' || code[i] > '9') {
			json_errors_add(errs, r->arena, "", "code", "must be 6 digits");
			return;
		}
	}
	if (code[6] != '\0')
		json_errors_add(errs, r->arena, "", "code", "must be 6 digits");
}

static void check_password(struct api_req *r, const char *field, const char *pw,
                           struct json_errors *errs)
{
	const char *why;

	if (pw == NULL)
		return;
	why = password_policy(pw);
	if (why != NULL)
		json_errors_add(errs, r->arena, "", field, why);
}

static int login_otp_needed(const struct config *cfg, const struct user *u)
{
	if (cfg->login_otp == NULL)
		return 0;
	if (strcmp(cfg->login_otp, "required") == 0)
		return 1;
	return strcmp(cfg->login_otp, "optional") == 0 && u->login_otp;
}

/* Issues a code for (m, email) and queues its mail. Used by every first send and resend
 * whose address deserves a code. */
static int send_code(struct api_req *r, enum otp_module m, const char *email,
                     struct otp_result *res)
{
	char *code = NULL;
	int rc = otp_issue(r->app->rds, r->app->cfg, r->arena, m, email, &code, res);

	if (rc != ERR_OK)
		goto out;
	rc = mailer_queue_otp(r->app->db, r->app->cfg, r->arena, email, otp_module_name(m), code,
	                      r->app->cfg->otp_expiry_seconds);
out:
	return rc;
}

/* Counts one request for (m, email) without sending anything: keeps the answer for an
 * address that gets no code identical to one that does. */
static int count_request(struct api_req *r, enum otp_module m, const char *email,
                         struct otp_result *res)
{
	char *code = NULL;

	return otp_issue(r->app->rds, r->app->cfg, r->arena, m, email, &code, res);
}

/* ------------------------------------------------------------------ register */

static const char *const account_types[] = { "jobseeker", "employer", "none", NULL };
static const char *const otp_modules[] = { "register", "login", "forgetpassword", NULL };

static const char *pending_str(json_object *o, const char *key, const char *def)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return def;
	return json_object_get_string(v);
}

/* pending_register_hash: the password hash of the registration waiting for email, or
 * NULL when none waits (or its entry is unreadable: then it is simply replaced). */
static int pending_register_hash(struct api_req *r, const char *email, const char **hash)
{
	char *text = NULL;
	json_object *pending = NULL;
	const char *why;
	int rc = users_pending_get(r->app->rds, r->arena, "register", email, &text);

	*hash = NULL;
	if (rc == ERR_NOT_FOUND)
		return ERR_OK;
	if (rc != ERR_OK)
		return rc;
	if (json_parse(r->arena, text, strlen(text), &pending, &why) == ERR_OK)
		*hash = pending_str(pending, "password_hash", NULL);
	return ERR_OK;
}

int api_auth_register(struct api_req *r)
{
	const char *email = NULL, *password = NULL, *account_type = NULL, *role = NULL;
	const char *first = NULL, *last = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
		{ "password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &password, NULL, NULL },
		{ "account_type", JT_ENUM, JF_NULLABLE, 0, 0, &account_type, NULL, account_types },
		{ "role", JT_STRING, JF_NULLABLE, 0, 32, &role, NULL, NULL },
		{ "first_name", JT_STRING, JF_NULLABLE, 0, NAME_MAX_BYTES, &first, NULL, NULL },
		{ "last_name", JT_STRING, JF_NULLABLE, 0, NAME_MAX_BYTES, &last, NULL, NULL },
	};
	struct json_errors errs;
	struct otp_result res;
	const char *pending_hash = NULL, *hash = NULL;
	char *new_hash = NULL;
	int exists = 0, conflict = 0;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&res, 0, sizeof res);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_password(r, "password", password, &errs);
	if (role != NULL) {
		/* Older clients put the account type in "role"; privileges are never chosen. */
		if (strcmp(role, "staff") == 0 || strcmp(role, "admin") == 0)
			return api_problem(r, 403, "role_not_self_assignable",
			                   "staff and admin roles are granted by an administrator");
		if (strcmp(role, "jobseeker") == 0 || strcmp(role, "employer") == 0) {
			if (account_type != NULL && strcmp(account_type, role) != 0)
				json_errors_add(&errs, r->arena, "", "role",
				                "contradicts account_type");
			else
				account_type = role;
		} else if (strcmp(role, "user") != 0) {
			json_errors_add(&errs, r->arena, "", "role",
			                "must be one of user, jobseeker, employer");
		}
	}
	if (errs.n > 0)
		return api_invalid(r, &errs);

	/* Every read that can fail comes before the first write. */
	rc = otp_check_allowed(r->app->rds, r->arena, OTP_MODULE_REGISTER, email, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
	rc = users_exists_email(r->app->db, r->arena, email, &exists);
	if (rc != ERR_OK)
		return api_error(r, rc);
	if (!exists) {
		rc = pending_register_hash(r, email, &pending_hash);
		if (rc != ERR_OK)
			return api_error(r, rc);
	}
	/* One argon2id operation on every path, so a known address, a new one and one
	 * already waiting all cost the same: hash the password, or check it against the
	 * waiting registration's hash. */
	if (pending_hash != NULL) {
		rc = password_verify(r->app->hash_slots_fd, pending_hash, password);
		if (rc == ERR_OK)
			hash = pending_hash;
		else if (rc == ERR_UNAUTHORIZED)
			conflict = 1;
	} else {
		rc = password_hash(r->app->hash_slots_fd, r->arena, password, &new_hash);
		hash = new_hash;
	}
	if (rc == ERR_LIMITED)
		return hash_busy(r);
	if (rc != ERR_OK && !conflict)
		return api_error(r, rc);

	if (exists) {
		rc = count_request(r, OTP_MODULE_REGISTER, email, &res);
		if (rc != ERR_OK)
			return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
		rc = mailer_queue_register_notice(r->app->db, r->app->cfg, r->arena, email);
		if (rc != ERR_OK)
			return api_error(r, rc);
		return accepted(r, "OTP sent successfully", res.attempts_remaining);
	}
	if (conflict) {
		/* A registration with another password is already waiting for this address. The
		 * code proves only that someone reads the mailbox, not whose password the
		 * account should get: keeping either would let a stranger who signs up just
		 * before or after the owner choose the password of the owner's account. So
		 * neither is kept: the request counts (mail bombing stays limited), the waiting
		 * registration and its code are dropped, and the owner is told. The answer is
		 * the usual 202, which reveals nothing. */
		rc = count_request(r, OTP_MODULE_REGISTER, email, &res);
		if (rc != ERR_OK)
			return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
		rc = otp_discard(r->app->rds, r->arena, OTP_MODULE_REGISTER, email);
		if (rc == ERR_OK)
			rc = users_pending_del(r->app->rds, r->arena, "register", email);
		if (rc == ERR_OK)
			rc = mailer_queue_register_conflict(r->app->db, r->app->cfg, r->arena, email);
		if (rc != ERR_OK)
			return api_error(r, rc);
		return accepted(r, "OTP sent successfully", res.attempts_remaining);
	}

	json_object *pending = json_new_object(r->arena);
	char *code = NULL;

	json_object_object_add(pending, "password_hash", json_object_new_string(hash));
	json_object_object_add(pending, "first_name", json_object_new_string(first ? first : ""));
	json_object_object_add(pending, "last_name", json_object_new_string(last ? last : ""));
	json_object_object_add(pending, "account_type",
	                       json_object_new_string(account_type ? account_type : "none"));
	rc = otp_issue(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_REGISTER, email, &code, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
	rc = users_pending_put(r->app->rds, r->arena, "register", email,
	                       json_object_to_json_string_ext(pending, JSON_C_TO_STRING_PLAIN),
	                       r->app->cfg->otp_expiry_seconds);
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = mailer_queue_otp(r->app->db, r->app->cfg, r->arena, email, "register", code,
	                      r->app->cfg->otp_expiry_seconds);
	if (rc != ERR_OK)
		return api_error(r, rc);
	return accepted(r, "OTP sent successfully", res.attempts_remaining);
}

/* ------------------------------------------------------------------ verify-otp */

static int verify_register(struct api_req *r, const char *email, const char *code)
{
	struct otp_result res;
	struct users_new nu;
	struct user u;
	struct session_tokens t;
	json_object *pending = NULL;
	const char *why = NULL;
	char *text = NULL;
	int rc;

	/* Check the code without spending it: it is spent only inside the transaction that
	 * creates the user, so a PostgreSQL failure does not cost the code. */
	memset(&res, 0, sizeof res);
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_REGISTER, email, code, 0,
	                &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
	rc = users_pending_get(r->app->rds, r->arena, "register", email, &text);
	if (rc == ERR_NOT_FOUND)
		return problem_attempts(r, 400, "otp_invalid",
		                        "No registration is waiting for this address", 0);
	if (rc != ERR_OK)
		return api_error(r, rc);
	if (json_parse(r->arena, text, strlen(text), &pending, &why) != ERR_OK ||
	    pending_str(pending, "password_hash", NULL) == NULL) {
		log_error("auth: unreadable pending registration");
		return api_error(r, ERR_INTERNAL);
	}
	memset(&nu, 0, sizeof nu);
	nu.email = email;
	nu.password_hash = pending_str(pending, "password_hash", NULL);
	nu.first_name = pending_str(pending, "first_name", "");
	nu.last_name = pending_str(pending, "last_name", "");
	nu.account_type = pending_str(pending, "account_type", "none");
	rc = db_begin(r->app->db);
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = users_insert(r->app->db, r->arena, &nu, &u);
	if (rc == ERR_CONFLICT) {
		db_rollback(r->app->db);
		if (users_pending_del(r->app->rds, r->arena, "register", email) != ERR_OK)
			log_warn("auth: pending registration not removed");
		return api_problem(r, 409, "email_taken", "This address is already registered");
	}
	if (rc != ERR_OK) {
		db_rollback(r->app->db);
		return api_error(r, rc);
	}
	/* Spend the code (single use, resets the counters); the user exists only if it was. */
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_REGISTER, email, code, 1,
	                &res);
	if (rc != ERR_OK) {
		db_rollback(r->app->db);
		return otp_failure(r, rc, &res, OTP_MODULE_REGISTER, email);
	}
	rc = db_commit(r->app->db);
	if (rc != ERR_OK) {
		log_error("auth: registration code spent but the user was not committed");
		return api_error(r, rc);
	}
	if (users_pending_del(r->app->rds, r->arena, "register", email) != ERR_OK)
		log_warn("auth: pending registration not removed (it expires on its own)");
	audit(r, "registered", u.id, u.email, NULL);
	rc = new_session(r, &u, &t);
	if (rc != ERR_OK)
		return api_error(r, rc);
	api_header(r, "Location", arena_printf(r->arena, "/api/v1/users/%s", u.id));
	return reply_tokens(r, 201, &u, &t);
}

static int verify_login(struct api_req *r, const char *email, const char *code)
{
	struct otp_result res;
	struct user u;
	struct session_tokens t;
	char *pending = NULL;
	int rc;

	/* Every read that can fail runs before the code is spent. */
	memset(&res, 0, sizeof res);
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_LOGIN, email, code, 0, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_LOGIN, email);
	rc = users_pending_get(r->app->rds, r->arena, "login", email, &pending);
	if (rc == ERR_OK)
		rc = users_by_email(r->app->db, r->arena, email, &u);
	if (rc == ERR_NOT_FOUND)
		return problem_attempts(r, 400, "otp_invalid", "No sign-in is waiting for this address",
		                        0);
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_LOGIN, email, code, 1, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_LOGIN, email);
	if (users_pending_del(r->app->rds, r->arena, "login", email) != ERR_OK)
		log_warn("auth: pending login not removed (it expires on its own)");
	rc = new_session(r, &u, &t);
	if (rc != ERR_OK)
		return api_error(r, rc);
	audit(r, "login_ok", u.id, u.email, detail_str(r, "method", "otp"));
	return reply_tokens(r, 200, &u, &t);
}

int api_auth_verify_otp(struct api_req *r)
{
	const char *email = NULL, *code = NULL, *module = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
		{ "code", JT_STRING, JF_REQUIRED, 0, 16, &code, NULL, NULL },
		{ "module", JT_ENUM, JF_NULLABLE, 0, 0, &module, NULL, otp_modules },
	};
	struct json_errors errs;
	struct otp_result res;
	enum otp_module m = OTP_MODULE_REGISTER;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_code(r, code, &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (module != NULL && otp_module_parse(module, &m) != ERR_OK)
		return api_error(r, ERR_INTERNAL);

	switch (m) {
	case OTP_MODULE_REGISTER:
		return verify_register(r, email, code);
	case OTP_MODULE_LOGIN:
		return verify_login(r, email, code);
	case OTP_MODULE_FORGETPASSWORD:
		break;
	}
	/* Not spent: reset-password takes the same code and spends it. */
	memset(&res, 0, sizeof res);
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_FORGETPASSWORD, email, code,
	                0, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_FORGETPASSWORD, email);
	return message(r, 200, "OTP verified");
}

/* ------------------------------------------------------------------ resend-otp */

int api_auth_resend_otp(struct api_req *r)
{
	const char *email = NULL, *module = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
		{ "module", JT_ENUM, JF_REQUIRED, 0, 0, &module, NULL, otp_modules },
	};
	struct json_errors errs;
	struct otp_result res;
	enum otp_module m;
	const char *kind = NULL;
	char *pending = NULL, *code = NULL;
	int deserves = 0;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&res, 0, sizeof res);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (otp_module_parse(module, &m) != ERR_OK)
		return api_error(r, ERR_INTERNAL);

	/* Only an address with something waiting gets a code; every address is counted. */
	switch (m) {
	case OTP_MODULE_REGISTER:
	case OTP_MODULE_LOGIN:
		kind = m == OTP_MODULE_REGISTER ? "register" : "login";
		rc = users_pending_get(r->app->rds, r->arena, kind, email, &pending);
		if (rc != ERR_OK && rc != ERR_NOT_FOUND)
			return api_error(r, rc);
		deserves = rc == ERR_OK;
		break;
	case OTP_MODULE_FORGETPASSWORD:
		rc = users_exists_email(r->app->db, r->arena, email, &deserves);
		if (rc != ERR_OK)
			return api_error(r, rc);
		break;
	}
	if (!deserves) {
		rc = count_request(r, m, email, &res);
		if (rc != ERR_OK)
			return otp_failure(r, rc, &res, m, email);
		return accepted(r, "OTP sent successfully", res.attempts_remaining);
	}
	rc = otp_issue(r->app->rds, r->app->cfg, r->arena, m, email, &code, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, m, email);
	if (kind != NULL) {
		/* The pending entry lives as long as the new code. */
		int trc = users_pending_touch(r->app->rds, r->arena, kind, email,
		                              r->app->cfg->otp_expiry_seconds);

		if (trc != ERR_OK && trc != ERR_NOT_FOUND)
			return api_error(r, trc);
	}
	rc = mailer_queue_otp(r->app->db, r->app->cfg, r->arena, email, otp_module_name(m),
	                      code, r->app->cfg->otp_expiry_seconds);
	if (rc != ERR_OK)
		return api_error(r, rc);
	return accepted(r, "OTP sent successfully", res.attempts_remaining);
}

/* ------------------------------------------------------------------ login */

/* Decodes "Authorization: Basic base64(email:password)". 0 when present and well-formed. */
static int basic_credentials(struct api_req *r, const char **email, const char **password)
{
	const char *h = http_header(r->http, "Authorization");
	unsigned char *out;
	size_t len, pad = 0;
	int n;
	char *colon;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return ERR_NOT_FOUND;
	h += 6;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len == 0 || len % 4 != 0 || len > 4 * 1024)
		return ERR_INVALID;
	if (h[len - 1] == '=')
		pad++;
	if (len >= 2 && h[len - 2] == '=')
		pad++;
	out = arena_alloc_secret(r->arena, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)h, (int)len);
	if (n < 0 || (size_t)n < pad)
		return ERR_INVALID;
	n -= (int)pad;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) != NULL)
		return ERR_INVALID;
	colon = strchr((char *)out, ':');
	if (colon == NULL)
		return ERR_INVALID;
	*colon = '\0';
	*email = util_normalize_email(r->arena, (char *)out);
	*password = colon + 1;
	return ERR_OK;
}

static int bad_credentials(struct api_req *r)
{
	return api_problem(r, 401, "invalid_credentials", "Wrong email or password");
}

int api_auth_login(struct api_req *r)
{
	const char *email = NULL, *password = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
		{ "password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, LOGIN_PASSWORD_MAX, &password,
		  NULL, NULL },
	};
	struct json_errors errs;
	struct otp_result res;
	struct user u;
	struct session_tokens t;
	int found = 1;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&res, 0, sizeof res);
	/* Basic credentials count only when the body brings none. */
	rc = ERR_NOT_FOUND;
	if (r->body != NULL && json_object_object_length(r->body) == 0)
		rc = basic_credentials(r, &email, &password);
	if (rc != ERR_NOT_FOUND) {
		if (rc != ERR_OK || !util_email_valid(email) || *password == '\0' ||
		    strlen(password) > LOGIN_PASSWORD_MAX)
			return bad_credentials(r);
	} else {
		(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "",
		                    &errs);
		if (errs.n > 0)
			return api_invalid(r, &errs);
	}

	rc = users_by_email(r->app->db, r->arena, email, &u);
	if (rc == ERR_NOT_FOUND) {
		found = 0;
		/* Same cost as a wrong password: the answer does not tell which it was. */
		rc = password_verify(r->app->hash_slots_fd, NULL, password);
	} else if (rc == ERR_OK) {
		rc = password_verify(r->app->hash_slots_fd, u.password_hash, password);
	} else {
		return api_error(r, rc);
	}
	if (rc == ERR_LIMITED)
		return hash_busy(r);
	if (rc == ERR_UNAUTHORIZED || !found) {
		audit(r, "login_failed", found ? u.id : NULL, email, NULL);
		return bad_credentials(r);
	}
	if (rc != ERR_OK)
		return api_error(r, rc);

	if (password_needs_rehash(u.password_hash)) {
		char *hash = NULL;

		if (password_hash(r->app->hash_slots_fd, r->arena, password, &hash) != ERR_OK ||
		    users_set_password(r->app->db, r->app->rds, r->arena, u.id, hash) != ERR_OK)
			log_warn("auth: password rehash skipped");
	}

	if (login_otp_needed(r->app->cfg, &u)) {
		char *code = NULL;

		rc = otp_issue(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_LOGIN, email, &code,
		               &res);
		if (rc != ERR_OK)
			return otp_failure(r, rc, &res, OTP_MODULE_LOGIN, email);
		rc = users_pending_put(r->app->rds, r->arena, "login", email, "1",
		                       r->app->cfg->otp_expiry_seconds);
		if (rc != ERR_OK)
			return api_error(r, rc);
		rc = mailer_queue_otp(r->app->db, r->app->cfg, r->arena, email, "login", code,
		                      r->app->cfg->otp_expiry_seconds);
		if (rc != ERR_OK)
			return api_error(r, rc);
		return accepted(r, "Login OTP sent successfully", res.attempts_remaining);
	}
	rc = new_session(r, &u, &t);
	if (rc != ERR_OK)
		return api_error(r, rc);
	audit(r, "login_ok", u.id, u.email, detail_str(r, "method", "password"));
	return reply_tokens(r, 200, &u, &t);
}

/* ------------------------------------------------------------------ refresh */

static int bad_token(struct api_req *r, const char *detail)
{
	return api_problem(r, 401, "unauthorized", detail);
}

int api_auth_refresh(struct api_req *r)
{
	const char *token = NULL;
	struct json_field fields[] = {
		{ "refresh_token", JT_STRING, 0, 1, TOKEN_MAX_BYTES, &token, NULL, NULL },
	};
	struct json_errors errs;
	struct token_claims c;
	struct user u;
	struct session_tokens t;
	enum session_rotation outcome;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, 1, "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (token == NULL)
		token = http_header(r->http, "X-Refresh-Token");
	if (token == NULL || *token == '\0') {
		json_errors_add(&errs, r->arena, "", "refresh_token", "is required");
		return api_invalid(r, &errs);
	}
	if (strlen(token) > TOKEN_MAX_BYTES ||
	    token_verify(r->app->keys, r->arena, token, TOKEN_REFRESH, &c) != ERR_OK)
		return bad_token(r, "The refresh token is invalid or expired");

	/* The role in the new access token comes from the database, not the old token. */
	rc = users_by_id(r->app->db, r->arena, c.sub, &u);
	if (rc == ERR_NOT_FOUND) {
		if (sessions_revoke(r->app->rds, r->arena, c.sub, c.sid, NULL, 0) == ERR_UNAVAILABLE)
			return api_error(r, ERR_UNAVAILABLE);
		return bad_token(r, "The account no longer exists");
	}
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = sessions_rotate(r->app->rds, r->app->cfg, r->app->keys, r->arena, &c, u.role, &t,
	                     &outcome);
	if (rc != ERR_OK)
		return api_error(r, rc);
	switch (outcome) {
	case SESSION_ROTATED:
	case SESSION_GRACE:
		return reply_tokens(r, 200, &u, &t);
	case SESSION_REUSED:
		audit(r, "refresh_reused", u.id, u.email, NULL);
		return api_problem(r, 401, "refresh_reused",
		                   "This refresh token was already used; the session is revoked");
	case SESSION_GONE:
		break;
	}
	return bad_token(r, "The session has ended");
}

/* ------------------------------------------------------------------ logout, sessions */

int api_auth_logout(struct api_req *r)
{
	int64_t ttl = r->auth.exp - util_wall_sec();
	int rc = sessions_revoke(r->app->rds, r->arena, r->auth.user_id, r->auth.sid,
	                         r->auth.jti, ttl > 0 ? ttl : 1);

	if (rc != ERR_OK && rc != ERR_NOT_FOUND)
		return api_error(r, rc);
	audit(r, "logout", r->auth.user_id, NULL, NULL);
	return api_empty(r, 204);
}

int api_auth_logout_all(struct api_req *r)
{
	int n = 0;
	int rc = sessions_revoke_all(r->app->rds, r->arena, r->auth.user_id, &n);
	json_object *d;

	if (rc != ERR_OK)
		return api_error(r, rc);
	d = json_new_object(r->arena);
	json_object_object_add(d, "count", json_object_new_int(n));
	json_object_object_add(d, "reason", json_object_new_string("logout_all"));
	audit(r, "sessions_revoked", r->auth.user_id, NULL, d);
	return api_empty(r, 204);
}

int api_auth_sessions_list(struct api_req *r)
{
	struct session_info *v = NULL;
	size_t n = 0;
	json_object *o, *items;
	const char *lim = api_query(r, "limit"), *cursor = api_query(r, "cursor");
	const char *next = NULL;
	long limit = 20;
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	if (lim != NULL && util_parse_long(lim, 1, SESSIONS_LIST_MAX, &limit) != ERR_OK)
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = sessions_list(r->app->rds, r->arena, r->auth.user_id, cursor, (int)limit, &v, &n,
	                   &next);
	if (rc == ERR_INVALID) {
		json_errors_add(&errs, r->arena, "", "cursor", "is not a cursor this list returned");
		return api_invalid(r, &errs);
	}
	if (rc != ERR_OK)
		return api_error(r, rc);
	o = json_new_object(r->arena);
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "id", json_object_new_string(v[i].id));
		json_object_object_add(s, "created_at", json_object_new_string(
			util_rfc3339(r->arena, (time_t)v[i].created_at)));
		json_object_object_add(s, "last_used_at", json_object_new_string(
			util_rfc3339(r->arena, (time_t)v[i].last_used_at)));
		json_object_object_add(s, "user_agent", json_object_new_string(v[i].user_agent));
		json_object_object_add(s, "ip", json_object_new_string(v[i].ip));
		json_object_object_add(s, "current", json_object_new_boolean(
			r->auth.sid != NULL && strcmp(v[i].id, r->auth.sid) == 0));
		json_object_array_add(items, s);
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next_cursor",
	                       next != NULL ? json_object_new_string(next) : NULL);
	return api_json(r, 200, o);
}

int api_auth_sessions_delete(struct api_req *r)
{
	const char *id = api_param(r, "id");
	json_object *d;
	int rc;

	if (id == NULL || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
		return api_problem(r, 404, "not_found", "No such session");
	rc = sessions_revoke(r->app->rds, r->arena, r->auth.user_id, id, NULL, 0);
	if (rc == ERR_NOT_FOUND)
		return api_problem(r, 404, "not_found", "No such session");
	if (rc != ERR_OK)
		return api_error(r, rc);
	d = json_new_object(r->arena);
	json_object_object_add(d, "count", json_object_new_int(1));
	json_object_object_add(d, "reason", json_object_new_string("session_deleted"));
	audit(r, "sessions_revoked", r->auth.user_id, NULL, d);
	return api_empty(r, 204);
}

/* ------------------------------------------------------------------ passwords */

int api_auth_forget_password(struct api_req *r)
{
	const char *email = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
	};
	struct json_errors errs;
	struct otp_result res;
	int exists = 0;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&res, 0, sizeof res);
	(void)json_validate(r->arena, r->body, fields, 1, "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = users_exists_email(r->app->db, r->arena, email, &exists);
	if (rc != ERR_OK)
		return api_error(r, rc);
	/* Known or not, the request is counted, so a blocked address answers 429 either way. */
	rc = exists ? send_code(r, OTP_MODULE_FORGETPASSWORD, email, &res)
	            : count_request(r, OTP_MODULE_FORGETPASSWORD, email, &res);
	if (rc == ERR_LIMITED)
		return otp_failure(r, rc, &res, OTP_MODULE_FORGETPASSWORD, email);
	if (rc != ERR_OK)
		return api_error(r, rc);
	return message(r, 202, "If the account exists, an OTP has been sent");
}

int api_auth_reset_password(struct api_req *r)
{
	const char *email = NULL, *code = NULL, *pw = NULL;
	struct json_field fields[] = {
		{ "email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL },
		{ "code", JT_STRING, JF_REQUIRED, 0, 16, &code, NULL, NULL },
		{ "new_password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &pw, NULL, NULL },
	};
	struct json_errors errs;
	struct otp_result res;
	struct user u;
	char *hash = NULL;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&res, 0, sizeof res);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_code(r, code, &errs);
	check_password(r, "new_password", pw, &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);

	/* Check without spending, hash (may be refused when busy), then spend: a busy server
	 * does not cost the user the code. */
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_FORGETPASSWORD, email, code,
	                0, &res);
	if (rc != ERR_OK)
		return otp_failure(r, rc, &res, OTP_MODULE_FORGETPASSWORD, email);
	rc = users_by_email(r->app->db, r->arena, email, &u);
	if (rc == ERR_NOT_FOUND)
		return problem_attempts(r, 400, "otp_invalid", "The code is wrong or has expired", 0);
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = password_hash(r->app->hash_slots_fd, r->arena, pw, &hash);
	if (rc == ERR_LIMITED)
		return hash_busy(r);
	if (rc != ERR_OK)
		return api_error(r, rc);
	/* The new password commits only after every old session is revoked and the code is
	 * spent: a failure before COMMIT leaves the old password and (unless another request
	 * spent it first) a usable code. Only a failed COMMIT itself costs the code. */
	rc = db_begin(r->app->db);
	if (rc != ERR_OK)
		return api_error(r, rc);
	rc = users_set_password(r->app->db, r->app->rds, r->arena, u.id, hash);
	if (rc != ERR_OK)
		goto rollback;
	rc = sessions_revoke_all(r->app->rds, r->arena, u.id, NULL);
	if (rc != ERR_OK)
		goto rollback;
	rc = otp_verify(r->app->rds, r->app->cfg, r->arena, OTP_MODULE_FORGETPASSWORD, email, code,
	                1, &res);
	if (rc != ERR_OK) {
		db_rollback(r->app->db);
		return otp_failure(r, rc, &res, OTP_MODULE_FORGETPASSWORD, email);
	}
	rc = db_commit(r->app->db);
	if (rc != ERR_OK) {
		log_error("auth: password reset not committed after the code was spent: %s",
		          err_name(rc));
		return api_error(r, rc);
	}
	audit(r, "password_reset", u.id, u.email, NULL);
	if (mailer_queue_password_changed(r->app->db, r->app->cfg, r->arena, u.email) != ERR_OK)
		log_warn("auth: password-changed notice not queued");
	return message(r, 200, "Password has been reset");
rollback:
	db_rollback(r->app->db);
	return api_error(r, rc);
}

/* ------------------------------------------------------------------ me */

/* GET /auth/me: from the user cache the session check already read, else from PostgreSQL
 * (then cached for the next request; a failure to cache only costs that). */
int api_auth_me(struct api_req *r)
{
	struct user u;
	int rc, status;

	if (r->auth.user_json != NULL)
		return api_json_text(r, 200, r->auth.user_json);
	rc = users_by_id(r->app->db, r->arena, r->auth.user_id, &u);
	if (rc == ERR_NOT_FOUND)
		return bad_token(r, "The account no longer exists");
	if (rc != ERR_OK)
		return api_error(r, rc);
	status = api_json(r, 200, users_to_json(r->arena, &u));
	if (status == 200 &&
	    users_cache_put(r->app->rds, r->arena, u.id, buf_str(&r->resp->body)) != ERR_OK)
		log_debug("auth: user cache not filled");
	return status;
}

/* ------------------------------------------------------------------ authentication */

/* The access token from "Authorization: Bearer …" or, for older clients, x-access-token. */
static const char *access_token(const struct api_req *r)
{
	const char *h = http_header(r->http, "Authorization");

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	return http_header(r->http, "X-Access-Token");
}

int api_authenticate(struct api_req *r)
{
	const char *token = access_token(r);
	const char *role = NULL;
	struct token_claims c;
	int rc;

	memset(&r->auth, 0, sizeof r->auth);
	if (token == NULL || *token == '\0' || strlen(token) > TOKEN_MAX_BYTES)
		return ERR_UNAUTHORIZED;
	if (r->app == NULL || r->app->keys == NULL)
		return ERR_UNAVAILABLE;   /* auth_module_init did not run: refuse, never crash */
	if (token_verify(r->app->keys, r->arena, token, TOKEN_ACCESS, &c) != ERR_OK)
		return ERR_UNAUTHORIZED;
	rc = sessions_check(r->app->rds, r->arena, c.sub, c.sid, c.jti,
	                    users_cache_key(r->app->rds, r->arena, c.sub), &role,
	                    &r->auth.user_json);
	if (rc == ERR_UNAUTHORIZED)
		return ERR_UNAUTHORIZED;
	if (rc != ERR_OK)
		return ERR_UNAVAILABLE;   /* fail closed */
	r->auth.ok = 1;
	r->auth.user_id = c.sub;
	r->auth.sid = c.sid;
	r->auth.jti = c.jti;
	r->auth.role = role;   /* the session's stored role, never the token's claim */
	r->auth.exp = c.exp;
	return ERR_OK;
}
