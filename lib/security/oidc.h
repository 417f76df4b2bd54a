/* oidc.h - the relying party's pure parts of OpenID Connect: the provider's documents
 * (discovery, JWKS, token response) read from JSON, and the ID token verified with
 * libcjose (OpenID Connect Core 1.0, 3.1.3.7). No I/O here: lib/domain/oidc.c fetches,
 * caches and decides; this file only reads and checks.
 *
 * Algorithms: only asymmetric signatures are ever accepted (RS256/384/512, PS256/384/512,
 * ES256/384/512), and only those the provider lists in
 * id_token_signing_alg_values_supported (RS256 when it lists none). "none" and every HMAC
 * (HS*) are refused before any key is touched, so an HS256 token "signed" with the
 * provider's public key can not pass. The key must fit the algorithm (RSA for RS/PS, EC
 * of the right curve for ES); symmetric keys in a JWKS are ignored.
 */
#ifndef MEDRIN_SEC_OIDC_H
#define MEDRIN_SEC_OIDC_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

struct arena;

#define OIDC_MAX_ALGS 9

/* The discovery document's parts the relying party uses (arena strings). */
struct oidc_discovery {
	const char *issuer;
	const char *authorization_endpoint;
	const char *token_endpoint;
	const char *jwks_uri;
	int auth_basic; /* token_endpoint_auth_methods_supported has client_secret_basic */
	int auth_post;  /* ... client_secret_post */
	const char *algs[OIDC_MAX_ALGS + 1]; /* accepted ID token algs, NULL-terminated */
};

/* oidc_discovery_parse: ERR_INVALID when it is not a JSON object, lacks issuer,
 * authorization_endpoint, token_endpoint or jwks_uri, or offers no algorithm and no
 * client authentication method Medrin accepts. When the document lists no
 * token_endpoint_auth_methods_supported, client_secret_basic is the default (Discovery
 * 1.0, 3). */
int oidc_discovery_parse(struct arena *a, const char *json, size_t len,
                         struct oidc_discovery *out) MUSTCHECK;

/* A JWKS, imported once (heap; per worker, cached by the domain). */
struct oidc_keyset;
/* oidc_keyset_parse: NULL when the text is not a JWKS with at least one usable
 * signature key (RSA or EC, "use" absent or "sig"). */
struct oidc_keyset *oidc_keyset_parse(const char *json, size_t len);
void oidc_keyset_free(struct oidc_keyset *ks);
size_t oidc_keyset_count(const struct oidc_keyset *ks);

/* What an ID token must say. */
struct oidc_expect {
	const char *issuer;      /* exact iss */
	const char *client_id;   /* in aud; azp, when present, equals it */
	const char *nonce;       /* exact nonce (constant-time) */
	const char *const *algs; /* allowed algs (NULL-terminated) */
	int64_t now;             /* unix seconds */
	int skew;                /* seconds of clock skew allowed on exp and iat */
	int max_age;             /* iat older than now - max_age is refused */
};

/* The claims Medrin uses (arena strings). */
struct oidc_claims {
	const char *sub;
	const char *email; /* NULL when absent */
	int email_verified;
	const char *given_name;
	const char *family_name;
};

/* oidc_idtoken_verify checks the signature and the claims. ERR_OK; ERR_NOT_FOUND when no
 * key in ks has the token's kid (the caller refreshes the JWKS once and tries again);
 * ERR_UNAUTHORIZED with *why a short static reason ("bad_signature", "alg_not_allowed",
 * "wrong_issuer", "wrong_audience", "wrong_azp", "expired", "bad_iat", "wrong_nonce",
 * "malformed") otherwise. */
int oidc_idtoken_verify(struct arena *a, const struct oidc_keyset *ks, const char *token,
                        const struct oidc_expect *e, struct oidc_claims *out,
                        const char **why) MUSTCHECK;

/* oidc_token_response_parse reads id_token from the token endpoint's JSON answer.
 * ERR_INVALID when absent (an error answer included). */
int oidc_token_response_parse(struct arena *a, const char *json, size_t len,
                              const char **id_token) MUSTCHECK;

/* oidc_pkce_challenge returns BASE64URL(SHA256(verifier)) in the arena (RFC 7636 S256). */
char *oidc_pkce_challenge(struct arena *a, const char *verifier);
/* oidc_random_token returns n random bytes as unpadded base64url, in the arena (state,
 * nonce, PKCE verifier, exchange codes). */
char *oidc_random_token(struct arena *a, size_t n);
/* oidc_sha256_hex returns the lower-case hex SHA-256 of s (arena): Redis keys of state
 * and exchange codes, so Redis never holds them in clear. */
char *oidc_sha256_hex(struct arena *a, const char *s);
/* oidc_derive returns BASE64URL(HMAC-SHA256(key, label ":" state)) in secret arena
 * memory: the nonce and the PKCE verifier of a flow, recomputed from its state at the
 * callback so Redis never holds them. */
char *oidc_derive(struct arena *a, const char *key, const char *label, const char *state);
/* oidc_form_escape percent-encodes s for a URL query or a form body (arena). */
char *oidc_form_escape(struct arena *a, const char *s);

#endif
