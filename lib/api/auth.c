/* auth.c - the Accounts endpoints under /api/v1/auth (api.md "Authentication and OTP",
 * "Passwords"). Each handler parses and validates its input, calls one function of
 * domain/accounts.h, and renders the result (api/render.h) or the outcome
 * (api_outcome). The flows and their rules live in lib/domain/accounts.c. */
#include "api/api.h"

#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "api/render.h"
#include "domain/accounts.h"
#include "security/password.h"

#define NAME_MAX_BYTES 100
#define TOKEN_MAX_BYTES 4096
#define ID_MAX_BYTES 64 /* registration_id, challenge_id: 32 hex digits when we made them */
#define LOGIN_PASSWORD_MAX 1024
#define SESSIONS_LIMIT_DEFAULT 20
#define SESSIONS_LIMIT_MAX 100

static const char *const account_types[] = {"jobseeker", "employer", "none", NULL};
static const char *const otp_modules[] = {"register", "login", "forgetpassword", NULL};

/* A 6-digit code field: adds a validation error when it is anything else. */
static void check_code(struct api_req *r, const char *code, struct json_errors *errs)
{
	if (code != NULL && !otp_code_valid(code))
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

static int accepted(struct api_req *r, const char *text, int attempts)
{
	return api_json(r, 202, render_message(r->arena, text, attempts));
}

/* A 202 that also names what the client must echo: registration_id (register) or
 * challenge_id (a login challenge). */
static int accepted_with(struct api_req *r, const char *text, int attempts, const char *name,
                         const char *id)
{
	json_object *o = render_message(r->arena, text, attempts);

	if (id != NULL)
		json_object_object_add(o, name, json_object_new_string(id));
	return api_json(r, 202, o);
}

static int signed_in(struct api_req *r, int status, const struct accounts_signin *s)
{
	return api_json(r, status, render_signin(r->arena, s));
}

/* ------------------------------------------------------------------ register */

int api_auth_register(struct api_req *r)
{
	struct accounts_registration in;
	const char *role = NULL;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &in.email, NULL, NULL},
	    {"password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &in.password, NULL, NULL},
	    {"account_type", JT_ENUM, JF_NULLABLE, 0, 0, &in.account_type, NULL, account_types},
	    {"role", JT_STRING, JF_NULLABLE, 0, 32, &role, NULL, NULL},
	    {"first_name", JT_STRING, JF_NULLABLE, 0, NAME_MAX_BYTES, &in.first_name, NULL, NULL},
	    {"last_name", JT_STRING, JF_NULLABLE, 0, NAME_MAX_BYTES, &in.last_name, NULL, NULL},
	};
	struct json_errors errs;
	const char *registration_id = NULL;
	int attempts = 0;
	int rc;

	memset(&in, 0, sizeof in);
	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_password(r, "password", in.password, &errs);
	if (role != NULL) {
		/* Older clients put the account type in "role"; privileges are never chosen. */
		if (strcmp(role, "staff") == 0 || strcmp(role, "admin") == 0)
			return api_problem(r, 403, "role_not_self_assignable",
			                   "staff and admin roles are granted by an administrator");
		if (strcmp(role, "jobseeker") == 0 || strcmp(role, "employer") == 0) {
			if (in.account_type != NULL && strcmp(in.account_type, role) != 0)
				json_errors_add(&errs, r->arena, "", "role",
				                "contradicts account_type");
			else
				in.account_type = role;
		} else if (strcmp(role, "user") != 0) {
			json_errors_add(&errs, r->arena, "", "role",
			                "must be one of user, jobseeker, employer");
		}
	}
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = accounts_register(&r->ctx, &in, &attempts, &registration_id);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return accepted_with(r, "OTP sent successfully", attempts, "registration_id",
	                     registration_id);
}

/* ------------------------------------------------------------------ verify-otp, resend-otp */

int api_auth_verify_otp(struct api_req *r)
{
	const char *email = NULL, *code = NULL, *module = NULL;
	struct accounts_proof proof;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	    {"code", JT_STRING, JF_REQUIRED, 0, 16, &code, NULL, NULL},
	    {"module", JT_ENUM, JF_NULLABLE, 0, 0, &module, NULL, otp_modules},
	    {"registration_id", JT_STRING, JF_NULLABLE, 1, ID_MAX_BYTES, &proof.registration_id,
	     NULL, NULL},
	    {"challenge_id", JT_STRING, JF_NULLABLE, 1, ID_MAX_BYTES, &proof.challenge_id, NULL,
	     NULL},
	    {"password", JT_STRING, JF_NULLABLE | JF_NOTRIM, 1, LOGIN_PASSWORD_MAX, &proof.password,
	     NULL, NULL},
	};
	struct json_errors errs;
	struct accounts_signin s;
	enum otp_module m = OTP_MODULE_REGISTER;
	int created = 0;
	int rc;

	memset(&errs, 0, sizeof errs);
	memset(&proof, 0, sizeof proof);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_code(r, code, &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (module != NULL && otp_module_parse(module, &m) != ERR_OK)
		return api_error(r, ERR_INTERNAL);
	rc = accounts_verify(&r->ctx, m, email, code, &proof, &s, &created);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	if (m == OTP_MODULE_FORGETPASSWORD)
		return api_json(r, 200, render_message(r->arena, "OTP verified", -1));
	if (created)
		api_header(r, "Location", arena_printf(r->arena, "/api/v1/users/%s", s.user.id));
	return signed_in(r, created ? 201 : 200, &s);
}

int api_auth_resend_otp(struct api_req *r)
{
	const char *email = NULL, *module = NULL;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	    {"module", JT_ENUM, JF_REQUIRED, 0, 0, &module, NULL, otp_modules},
	};
	struct json_errors errs;
	enum otp_module m;
	int attempts = 0;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (otp_module_parse(module, &m) != ERR_OK)
		return api_error(r, ERR_INTERNAL);
	rc = accounts_resend(&r->ctx, m, email, &attempts);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return accepted(r, "OTP sent successfully", attempts);
}

/* ------------------------------------------------------------------ login */

int api_auth_login(struct api_req *r)
{
	const char *email = NULL, *password = NULL;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	    {"password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, LOGIN_PASSWORD_MAX, &password, NULL,
	     NULL},
	};
	struct json_errors errs;
	struct accounts_signin s;
	enum accounts_login_step step;
	const char *challenge_id = NULL;
	int attempts = 0;
	int rc = ERR_NOT_FOUND;

	memset(&errs, 0, sizeof errs);
	/* Basic credentials count only when the body brings none. */
	if (r->body != NULL && json_object_object_length(r->body) == 0)
		rc = api_basic_credentials(r, &email, &password);
	if (rc != ERR_NOT_FOUND) {
		if (rc != ERR_OK || !util_email_valid(email) || *password == '\0' ||
		    strlen(password) > LOGIN_PASSWORD_MAX)
			return api_problem(r, 401, "invalid_credentials",
			                   "Wrong email or password");
	} else {
		(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "",
		                    &errs);
		if (errs.n > 0)
			return api_invalid(r, &errs);
	}
	rc = accounts_login(&r->ctx, email, password, &step, &attempts, &challenge_id, &s);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	if (step == ACCOUNTS_CODE_SENT)
		return accepted_with(r, "Login OTP sent successfully", attempts, "challenge_id",
		                     challenge_id);
	return signed_in(r, 200, &s);
}

/* ------------------------------------------------------------------ refresh */

int api_auth_refresh(struct api_req *r)
{
	const char *token = NULL;
	struct json_field fields[] = {
	    {"refresh_token", JT_STRING, 0, 1, TOKEN_MAX_BYTES, &token, NULL, NULL},
	};
	struct json_errors errs;
	struct accounts_signin s;
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
	if (strlen(token) > TOKEN_MAX_BYTES)
		return api_problem(r, 401, "unauthorized",
		                   "The refresh token is invalid or expired");
	rc = accounts_refresh(&r->ctx, token, &s);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return signed_in(r, 200, &s);
}

/* ------------------------------------------------------------------ logout, sessions */

int api_auth_logout(struct api_req *r)
{
	int rc = accounts_logout(&r->ctx);

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

int api_auth_logout_all(struct api_req *r)
{
	int rc = accounts_logout_all(&r->ctx);

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

int api_auth_sessions_list(struct api_req *r)
{
	struct accounts_sessions_page page;
	const char *limit_s = api_query(r, "limit");
	long limit = SESSIONS_LIMIT_DEFAULT;
	int rc;

	if (limit_s != NULL && util_parse_long(limit_s, 1, SESSIONS_LIMIT_MAX, &limit) != ERR_OK) {
		struct json_errors errs;

		memset(&errs, 0, sizeof errs);
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
		return api_invalid(r, &errs);
	}
	rc = accounts_sessions(&r->ctx, api_query(r, "cursor"), (int)limit, &page);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_sessions(r->arena, &page, r->ctx.actor.sid));
}

int api_auth_sessions_delete(struct api_req *r)
{
	int rc = accounts_session_revoke(&r->ctx, api_param(r, "id"));

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

/* ------------------------------------------------------------------ passwords */

int api_auth_forget_password(struct api_req *r)
{
	const char *email = NULL;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	};
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, 1, "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = accounts_forget_password(&r->ctx, email);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return accepted(r, "If the account exists, an OTP has been sent", -1);
}

int api_auth_reset_password(struct api_req *r)
{
	const char *email = NULL, *code = NULL, *pw = NULL;
	struct json_field fields[] = {
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	    {"code", JT_STRING, JF_REQUIRED, 0, 16, &code, NULL, NULL},
	    {"new_password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &pw, NULL, NULL},
	};
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	check_code(r, code, &errs);
	check_password(r, "new_password", pw, &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = accounts_reset_password(&r->ctx, email, code, pw);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_message(r->arena, "Password has been reset", -1));
}

/* ------------------------------------------------------------------ me */

int api_auth_me(struct api_req *r)
{
	struct user u;
	int rc = accounts_me(&r->ctx, &u);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_user(r->arena, &u));
}
