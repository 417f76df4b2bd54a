/* oidc.h - sign-in with OpenID Connect (Google or any provider): Medrin as a relying
 * party, authorization code flow with PKCE S256 (docs/internals/oidc.md).
 *
 * start   -> state, nonce and PKCE verifier kept single-use in Redis (oidc:state:H(state),
 *            OIDC_STATE_TTL s), the browser sent to the provider;
 * callback-> state taken (GETDEL), code exchanged at the token endpoint, the ID token
 *            verified (security/oidc.h), the user found by (provider, sub), linked by a
 *            verified email, or created; a single-use exchange code
 *            (oidc:exchange:H(code), OIDC_EXCHANGE_TTL s) handed to return_to;
 * exchange-> the code swapped for the same token pair a password login gives.
 * Redis keeps only SHA-256 hashes of state and codes as keys; values are records
 * (base/record.h). Discovery documents and JWKS are cached per worker (OIDC_CACHE_TTL),
 * the JWKS refreshed once on an unknown kid.
 */
#ifndef MEDRIN_DOMAIN_OIDC_H
#define MEDRIN_DOMAIN_OIDC_H

#include "base/err.h"
#include "domain/accounts.h"
#include "domain/ctx.h"
#include "domain/users_manage.h"

struct db;

#define OIDC_STATE_TTL 600
#define OIDC_EXCHANGE_TTL 60
#define OIDC_CACHE_TTL 3600
#define OIDC_KEYS_MIN_REFRESH 5 /* seconds between two unknown-kid refreshes of a JWKS */

/* One linked provider of an account. */
struct oidc_identity {
	const char *provider;
	const char *email; /* as the provider said at link time; may be "" */
	const char *linked_at;
};

/* The caller's own account with its linked providers (GET /users/me). */
struct oidc_me {
	struct user_view view;
	struct oidc_identity *identities;
	size_t n;
};

/* oidc_register adds this module's statements (services.c, once). */
int oidc_register(struct db *db) MUSTCHECK;

/* oidc_start returns in *location the provider's authorization URL. Errors:
 * ERR_NOT_FOUND "not_found" (no such provider), ERR_INVALID "return_to_not_allowed"
 * (field return_to), ERR_UNAVAILABLE "provider_unavailable" (discovery unreachable, too
 * slow or unusable; Retry-After), ERR_UNAVAILABLE (Redis down). */
int oidc_start(struct ctx *c, const char *provider, const char *return_to,
               const char **location) MUSTCHECK;

/* oidc_callback finishes the flow and returns in *location return_to with "code=" the
 * exchange code. error is the provider's error parameter (or NULL). Errors:
 * ERR_NOT_FOUND "not_found"; ERR_INVALID "oidc_state_invalid" (unknown, expired,
 * reused or another provider's state), "oidc_denied" (the provider said error=),
 * "oidc_code_rejected" (the token endpoint refused the code); ERR_UNAUTHORIZED
 * "oidc_id_token_invalid" (detail names the check that failed); ERR_CONFLICT
 * "oidc_email_unverified" (the email belongs to an account and the provider does not say
 * it is verified: nothing is linked); ERR_UNAVAILABLE "provider_unavailable". */
int oidc_callback(struct ctx *c, const char *provider, const char *state, const char *code,
                  const char *error, const char **location) MUSTCHECK;

/* oidc_exchange swaps an exchange code for a session. ERR_INVALID
 * "exchange_code_invalid" (unknown, expired or already used), ERR_UNAVAILABLE. */
int oidc_exchange(struct ctx *c, const char *code, struct accounts_signin *out) MUSTCHECK;

/* oidc_unlink removes the caller's identity at provider. ERR_NOT_FOUND "not_found" (not
 * linked), ERR_CONFLICT "last_sign_in_method" (no password and no other provider). */
int oidc_unlink(struct ctx *c, const char *provider) MUSTCHECK;

/* oidc_identities lists user_id's linked providers (oldest first, arena). */
int oidc_identities(struct ctx *c, const char *user_id, struct oidc_identity **items,
                    size_t *n) MUSTCHECK;

/* oidc_users_me: the caller's account (users_get) and its linked providers. Errors as
 * users_get. */
int oidc_users_me(struct ctx *c, struct oidc_me *out) MUSTCHECK;

#endif
