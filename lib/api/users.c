/* users.c - the Users endpoints (api.md "Users") and /auth/confirm. Each handler parses
 * and validates, calls one function of domain/users_manage.h and renders. */
#include "api/api.h"

#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "api/render.h"
#include "domain/users_manage.h"
#include "security/password.h"

#define NAME_MAX_BYTES 100
#define Q_MAX_BYTES 100
#define LIST_LIMIT_DEFAULT 20
#define CONFIRM_TOKEN_MAX 200
#define PASSWORD_INPUT_MAX 1024

static const char *const roles[] = {"user", "staff", "admin", NULL};
static const char *const account_types[] = {"jobseeker", "employer", "none", NULL};

static int invalid1(struct api_req *r, const char *field, const char *message)
{
	struct json_errors errs;

	memset(&errs, 0, sizeof errs);
	json_errors_add(&errs, r->arena, "", field, message);
	return api_invalid(r, &errs);
}

static int in_list(const char *v, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

static int view(struct api_req *r, int status, const struct user_view *v)
{
	return api_json(r, status, render_user_view(r->arena, v));
}

/* update parses a users_patch from the body (and ?role= for older clients) and applies
 * it to account id. */
static int update(struct api_req *r, const char *id)
{
	struct users_patch p;
	int login_otp = 0, otp_present = 0;
	struct json_field fields[] = {
	    {"first_name", JT_STRING, 0, 0, NAME_MAX_BYTES, &p.first_name, NULL, NULL},
	    {"last_name", JT_STRING, 0, 0, NAME_MAX_BYTES, &p.last_name, NULL, NULL},
	    {"login_otp", JT_BOOL, 0, 0, 0, &login_otp, &otp_present, NULL},
	    {"email", JT_EMAIL, 0, 0, 254, &p.email, NULL, NULL},
	    {"role", JT_ENUM, 0, 0, 0, &p.role, NULL, roles},
	};
	struct json_errors errs;
	struct user_view v;
	const char *qrole = api_query(r, "role");
	int rc;

	memset(&p, 0, sizeof p);
	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (qrole != NULL && p.role == NULL) {
		if (in_list(qrole, roles))
			p.role = qrole;
		else
			json_errors_add(&errs, r->arena, "", "role",
			                "must be one of user, staff, admin");
	}
	if (errs.n > 0)
		return api_invalid(r, &errs);
	p.login_otp = otp_present ? login_otp : -1;
	rc = users_update(&r->ctx, id, &p, &v);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return view(r, 200, &v);
}

/* ------------------------------------------------------------------ /users/me */

int api_users_me_get(struct api_req *r)
{
	struct oidc_me me;
	int rc = oidc_users_me(&r->ctx, &me); /* the view plus the linked providers */

	return rc != ERR_OK ? api_outcome(r, rc) : api_json(r, 200, render_me_view(r->arena, &me));
}

int api_users_me_update(struct api_req *r)
{
	return update(r, r->ctx.actor.user_id);
}

int api_users_me_delete(struct api_req *r)
{
	int rc = users_delete(&r->ctx, r->ctx.actor.user_id);

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

int api_users_me_password(struct api_req *r)
{
	const char *cur = NULL, *pw = NULL, *why;
	struct json_field fields[] = {
	    {"current_password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 1, PASSWORD_INPUT_MAX, &cur,
	     NULL, NULL},
	    {"new_password", JT_STRING, JF_REQUIRED | JF_NOTRIM, 0, 0, &pw, NULL, NULL},
	};
	struct json_errors errs;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (pw != NULL && (why = password_policy(pw)) != NULL)
		json_errors_add(&errs, r->arena, "", "new_password", why);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = users_change_password(&r->ctx, cur, pw);
	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}

int api_users_me_verify_email(struct api_req *r)
{
	int rc = users_email_resend(&r->ctx);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 202, render_message(r->arena, "Confirmation link sent", -1));
}

int api_auth_confirm(struct api_req *r)
{
	const char *token = api_query(r, "token"), *email = NULL;
	json_object *o;
	int rc;

	if (token == NULL || *token == '\0')
		return invalid1(r, "token", "is required");
	if (strlen(token) > CONFIRM_TOKEN_MAX)
		return api_problem(r, 400, "confirm_invalid",
		                   "This confirmation link is not valid");
	rc = users_email_confirm(&r->ctx, token, &email);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	o = render_message(r->arena, "Email address confirmed", -1);
	json_object_object_add(o, "email", json_object_new_string(email));
	return api_json(r, 200, o);
}

/* ------------------------------------------------------------------ /users, /users/{id} */

int api_users_list(struct api_req *r)
{
	struct users_filter f;
	struct users_page page;
	struct json_errors errs;
	const char *limit_s = api_query(r, "limit");
	long limit = LIST_LIMIT_DEFAULT;
	int rc;

	memset(&f, 0, sizeof f);
	memset(&errs, 0, sizeof errs);
	f.role = api_query(r, "role");
	f.account_type = api_query(r, "account_type");
	f.q = api_query(r, "q");
	f.cursor = api_query(r, "cursor");
	if (limit_s != NULL && util_parse_long(limit_s, 1, USERS_LIST_MAX, &limit) != ERR_OK)
		json_errors_add(&errs, r->arena, "", "limit", "must be an integer from 1 to 100");
	if (f.role != NULL && !in_list(f.role, roles))
		json_errors_add(&errs, r->arena, "", "role", "must be one of user, staff, admin");
	if (f.account_type != NULL && !in_list(f.account_type, account_types))
		json_errors_add(&errs, r->arena, "", "account_type",
		                "must be one of jobseeker, employer, none");
	if (f.q != NULL && strlen(f.q) > Q_MAX_BYTES)
		json_errors_add(&errs, r->arena, "", "q", "must be at most 100 bytes");
	if (errs.n > 0)
		return api_invalid(r, &errs);
	if (f.q != NULL && *f.q == '\0')
		f.q = NULL;
	f.limit = (int)limit;
	rc = users_list(&r->ctx, &f, &page);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_users_page(r->arena, &page));
}

int api_users_get(struct api_req *r)
{
	struct user_view v;
	int rc = users_get(&r->ctx, api_param(r, "id"), &v);

	return rc != ERR_OK ? api_outcome(r, rc) : view(r, 200, &v);
}

int api_users_update(struct api_req *r)
{
	return update(r, api_param(r, "id"));
}

int api_users_delete(struct api_req *r)
{
	int rc = users_delete(&r->ctx, api_param(r, "id"));

	return rc != ERR_OK ? api_outcome(r, rc) : api_empty(r, 204);
}
