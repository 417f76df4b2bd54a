/* oidc.c - sign-in with OpenID Connect (api.md "Sign-in with OpenID Connect"): start and
 * callback answer 302 redirects, exchange answers the token pair, and the caller can
 * unlink a provider. The flow and its checks live in lib/domain/oidc.c. */
#include "api/api.h"

#include <string.h>
#include "api/render.h"
#include "domain/oidc.h"

#define RETURN_TO_MAX 2048
#define EXCHANGE_CODE_MAX 128

static int redirect(struct api_req *r, const char *location)
{
	api_header(r, "Location", location);
	api_header(r, "Referrer-Policy", "no-referrer");
	return api_empty(r, 302);
}

/* GET /auth/oidc/{provider}/start?return_to=… */
int api_oidc_start(struct api_req *r)
{
	const char *return_to = api_query(r, "return_to");
	const char *location = NULL;
	int rc;

	if (return_to == NULL || *return_to == '\0' || strlen(return_to) > RETURN_TO_MAX) {
		struct json_errors errs;

		memset(&errs, 0, sizeof errs);
		json_errors_add(&errs, r->arena, "", "return_to",
		                return_to == NULL || *return_to == '\0' ? "is required"
		                                                        : "is too long");
		return api_invalid(r, &errs);
	}
	rc = oidc_start(&r->ctx, api_param(r, "provider"), return_to, &location);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return redirect(r, location);
}

/* GET /auth/oidc/{provider}/callback?state=…&code=… (or &error=…) */
int api_oidc_callback(struct api_req *r)
{
	const char *location = NULL;
	int rc = oidc_callback(&r->ctx, api_param(r, "provider"), api_query(r, "state"),
	                       api_query(r, "code"), api_query(r, "error"), &location);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return redirect(r, location);
}

/* POST /auth/oidc/exchange {"code"} */
int api_oidc_exchange(struct api_req *r)
{
	const char *code = NULL;
	struct json_field fields[] = {
	    {"code", JT_STRING, JF_REQUIRED, 1, EXCHANGE_CODE_MAX, &code, NULL, NULL},
	};
	struct json_errors errs;
	struct accounts_signin s;
	int rc;

	memset(&errs, 0, sizeof errs);
	(void)json_validate(r->arena, r->body, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (errs.n > 0)
		return api_invalid(r, &errs);
	rc = oidc_exchange(&r->ctx, code, &s);
	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_signin(r->arena, &s));
}

/* DELETE /users/me/identities/{provider} */
int api_oidc_unlink(struct api_req *r)
{
	int rc = oidc_unlink(&r->ctx, api_param(r, "provider"));

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_empty(r, 204);
}
