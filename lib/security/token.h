/* token.h - JWT access and refresh tokens (libjwt 1.10, which checks neither exp nor nbf).
 *
 * The algorithm is pinned by configuration (HS256 with JWT_SECRET_KEY, or RS256/ES256 with
 * key files); a token whose header names any other alg, "none" included, is rejected
 * before its signature is looked at. This code checks exp, nbf, iat, iss, aud and typ.
 * Access tokens (typ "access") carry sub, jti, sid, role, iat, exp, iss, aud; refresh
 * tokens (typ "refresh") carry sub, jti, sid, iat, exp, iss, aud. Neither is accepted as
 * the other.
 */
#ifndef MEDRIN_TOKEN_H
#define MEDRIN_TOKEN_H

#include <stdint.h>
#include "base/err.h"

struct arena;
struct config;
struct token_keys;

enum token_type { TOKEN_ACCESS, TOKEN_REFRESH };

struct token_claims {
	enum token_type typ;
	const char *sub; /* user id */
	const char *jti;
	const char *sid;
	const char *role; /* access tokens only */
	int64_t iat, exp;
};

/* token_keys_load reads the keys the configured algorithm needs (worker start).
 * ERR_INVALID with a message on stderr-log when a key file is missing or unusable. */
int token_keys_load(const struct config *cfg, struct token_keys **out) MUSTCHECK;
void token_keys_free(struct token_keys *k);

/* token_issue signs a token of claims->typ; jti and sid must be set by the caller,
 * iat/exp are filled here from now and the configured lifetimes. The token string is in
 * the arena. */
int token_issue(const struct token_keys *k, struct arena *a, struct token_claims *claims,
                char **out) MUSTCHECK;

/* token_verify checks signature (pinned alg), exp/nbf/iat (30 s leeway for nbf/iat),
 * iss, aud and that typ equals `want`. On ERR_OK claims point into the arena.
 * ERR_UNAUTHORIZED for every kind of bad token (the reason goes to the debug log only). */
int token_verify(const struct token_keys *k, struct arena *a, const char *token,
                 enum token_type want, struct token_claims *claims) MUSTCHECK;

#endif
