/* oidc.c - OpenID Connect documents and ID token verification; see oidc.h. */
#include "security/oidc.h"

#include <string.h>
#include <cjose/cjose.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "security/random.h"

#define OIDC_MAX_KEYS 32

/* The algorithms Medrin can ever accept, with the key type and EC size they need. */
struct alg_rule {
	const char *alg;
	cjose_jwk_kty_t kty;
	size_t ec_bits; /* 0: any RSA size */
};

static const struct alg_rule alg_rules[] = {
    {"RS256", CJOSE_JWK_KTY_RSA, 0},  {"RS384", CJOSE_JWK_KTY_RSA, 0},
    {"RS512", CJOSE_JWK_KTY_RSA, 0},  {"PS256", CJOSE_JWK_KTY_RSA, 0},
    {"PS384", CJOSE_JWK_KTY_RSA, 0},  {"PS512", CJOSE_JWK_KTY_RSA, 0},
    {"ES256", CJOSE_JWK_KTY_EC, 256}, {"ES384", CJOSE_JWK_KTY_EC, 384},
    {"ES512", CJOSE_JWK_KTY_EC, 521},
};

static const struct alg_rule *alg_rule(const char *alg)
{
	for (size_t i = 0; alg != NULL && i < sizeof alg_rules / sizeof alg_rules[0]; i++)
		if (strcmp(alg_rules[i].alg, alg) == 0)
			return &alg_rules[i];
	return NULL;
}

static json_object *parse_object(const char *json, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (json == NULL || len == 0 || len > 1024 * 1024)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (tok == NULL)
		util_oom();
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *get_str(struct arena *a, json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return arena_strdup(a, json_object_get_string(v));
}

static void put_json(void *p)
{
	json_object_put(p);
}

/* ------------------------------------------------------------------ discovery */

int oidc_discovery_parse(struct arena *a, const char *json, size_t len, struct oidc_discovery *out)
{
	json_object *o = parse_object(json, len), *v = NULL;
	size_t n = 0;

	memset(out, 0, sizeof *out);
	if (o == NULL)
		return ERR_INVALID;
	arena_defer(a, put_json, o);
	out->issuer = get_str(a, o, "issuer");
	out->authorization_endpoint = get_str(a, o, "authorization_endpoint");
	out->token_endpoint = get_str(a, o, "token_endpoint");
	out->jwks_uri = get_str(a, o, "jwks_uri");
	if (out->issuer == NULL || out->authorization_endpoint == NULL ||
	    out->token_endpoint == NULL || out->jwks_uri == NULL)
		return ERR_INVALID;
	if (json_object_object_get_ex(o, "token_endpoint_auth_methods_supported", &v) &&
	    json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *m = json_object_get_string(json_object_array_get_idx(v, i));

			if (m != NULL && strcmp(m, "client_secret_basic") == 0)
				out->auth_basic = 1;
			if (m != NULL && strcmp(m, "client_secret_post") == 0)
				out->auth_post = 1;
		}
	} else {
		out->auth_basic = 1;
	}
	if (json_object_object_get_ex(o, "id_token_signing_alg_values_supported", &v) &&
	    json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v) && n < OIDC_MAX_ALGS; i++) {
			const struct alg_rule *r =
			    alg_rule(json_object_get_string(json_object_array_get_idx(v, i)));

			if (r != NULL)
				out->algs[n++] = r->alg;
		}
	} else {
		out->algs[n++] = "RS256";
	}
	out->algs[n] = NULL;
	if (n == 0 || (!out->auth_basic && !out->auth_post))
		return ERR_INVALID;
	return ERR_OK;
}

/* ------------------------------------------------------------------ keys */

struct oidc_key {
	cjose_jwk_t *jwk;
	char *kid; /* NULL: none */
	char *alg; /* NULL: none declared */
	cjose_jwk_kty_t kty;
	size_t bits;
};

struct oidc_keyset {
	struct oidc_key k[OIDC_MAX_KEYS];
	size_t n;
};

struct oidc_keyset *oidc_keyset_parse(const char *json, size_t len)
{
	json_object *o = parse_object(json, len), *keys = NULL;
	struct oidc_keyset *ks;

	if (o == NULL)
		return NULL;
	if (!json_object_object_get_ex(o, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(o);
		return NULL;
	}
	ks = util_xmalloc(sizeof *ks);
	memset(ks, 0, sizeof *ks);
	for (size_t i = 0; i < json_object_array_length(keys) && ks->n < OIDC_MAX_KEYS; i++) {
		json_object *k = json_object_array_get_idx(keys, i), *v = NULL;
		const char *text, *use = NULL, *kid = NULL, *alg = NULL;
		cjose_err err;
		cjose_jwk_t *jwk;

		if (!json_object_is_type(k, json_type_object))
			continue;
		if (json_object_object_get_ex(k, "use", &v))
			use = json_object_get_string(v);
		if (use != NULL && strcmp(use, "sig") != 0)
			continue;
		if (json_object_object_get_ex(k, "kid", &v) &&
		    json_object_is_type(v, json_type_string))
			kid = json_object_get_string(v);
		if (json_object_object_get_ex(k, "alg", &v) &&
		    json_object_is_type(v, json_type_string))
			alg = json_object_get_string(v);
		text = json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN);
		jwk = cjose_jwk_import(text, strlen(text), &err);
		if (jwk == NULL)
			continue;
		cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &err);

		if (kty != CJOSE_JWK_KTY_RSA && kty != CJOSE_JWK_KTY_EC) {
			cjose_jwk_release(jwk); /* never a symmetric key from a JWKS */
			continue;
		}
		struct oidc_key *dst = &ks->k[ks->n++];

		dst->jwk = jwk;
		dst->kty = kty;
		dst->bits = cjose_jwk_get_keysize(jwk, &err);
		dst->kid = kid != NULL ? util_xstrdup(kid) : NULL;
		dst->alg = alg != NULL ? util_xstrdup(alg) : NULL;
	}
	json_object_put(o);
	if (ks->n == 0) {
		free(ks);
		return NULL;
	}
	return ks;
}

void oidc_keyset_free(struct oidc_keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		cjose_jwk_release(ks->k[i].jwk);
		free(ks->k[i].kid);
		free(ks->k[i].alg);
	}
	free(ks);
}

size_t oidc_keyset_count(const struct oidc_keyset *ks)
{
	return ks != NULL ? ks->n : 0;
}

/* ------------------------------------------------------------------ ID token */

static void cjose_free(void *p)
{
	if (p != NULL)
		cjose_get_dealloc()(p);
}

static void jws_release(void *p)
{
	cjose_jws_release(p);
}

/* b64_json decodes one base64url JWT part into a JSON object (arena-owned). */
static json_object *b64_json(struct arena *a, const char *s, size_t n)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	cjose_err err;
	json_object *o;

	if (n == 0 || !cjose_base64url_decode(s, n, &raw, &rawlen, &err))
		return NULL;
	o = parse_object((const char *)raw, rawlen);
	cjose_free(raw);
	if (o != NULL)
		arena_defer(a, put_json, o);
	return o;
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return ERR_UNAUTHORIZED;
}

static int get_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

static int check_audience(json_object *claims, const char *client_id, const char **why)
{
	json_object *aud = NULL, *azp = NULL;
	int found = 0;
	size_t naud = 1;

	if (!json_object_object_get_ex(claims, "aud", &aud))
		return refuse(why, "wrong_audience");
	if (json_object_is_type(aud, json_type_string)) {
		found = strcmp(json_object_get_string(aud), client_id) == 0;
	} else if (json_object_is_type(aud, json_type_array)) {
		naud = json_object_array_length(aud);
		for (size_t i = 0; i < naud; i++) {
			json_object *x = json_object_array_get_idx(aud, i);

			if (json_object_is_type(x, json_type_string) &&
			    strcmp(json_object_get_string(x), client_id) == 0)
				found = 1;
		}
	}
	if (!found)
		return refuse(why, "wrong_audience");
	/* Core 3.1.3.7 (4, 5): several audiences need azp; azp, when there, is us. */
	if (json_object_object_get_ex(claims, "azp", &azp)) {
		if (!json_object_is_type(azp, json_type_string) ||
		    strcmp(json_object_get_string(azp), client_id) != 0)
			return refuse(why, "wrong_azp");
	} else if (naud > 1) {
		return refuse(why, "wrong_azp");
	}
	return ERR_OK;
}

int oidc_idtoken_verify(struct arena *a, const struct oidc_keyset *ks, const char *token,
                        const struct oidc_expect *e, struct oidc_claims *out, const char **why)
{
	const char *dot1, *dot2, *alg, *kid = NULL;
	json_object *header, *claims, *v = NULL;
	const struct alg_rule *rule;
	int allowed = 0, kid_known = 0, verified = 0;
	size_t tlen;
	cjose_err err;

	memset(out, 0, sizeof *out);
	*why = "malformed";
	if (token == NULL || (tlen = strlen(token)) == 0 || tlen > 16384)
		return ERR_UNAUTHORIZED;
	dot1 = strchr(token, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		return ERR_UNAUTHORIZED; /* a JWS in compact form, never a JWE */
	header = b64_json(a, token, (size_t)(dot1 - token));
	if (header == NULL)
		return ERR_UNAUTHORIZED;
	alg = get_str(a, header, "alg");
	if (alg == NULL)
		return ERR_UNAUTHORIZED;
	/* The algorithm first, before any key: no "none", no HMAC, only the provider's. */
	rule = alg_rule(alg);
	for (size_t i = 0; rule != NULL && e->algs != NULL && e->algs[i] != NULL; i++)
		allowed |= strcmp(e->algs[i], rule->alg) == 0;
	if (!allowed)
		return refuse(why, "alg_not_allowed");
	if (json_object_object_get_ex(header, "kid", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return ERR_UNAUTHORIZED;
		kid = json_object_get_string(v);
	}
	if (json_object_object_get_ex(header, "crit", &v))
		return ERR_UNAUTHORIZED; /* no extension is understood */

	cjose_jws_t *jws = cjose_jws_import(token, tlen, &err);

	if (jws == NULL)
		return ERR_UNAUTHORIZED;
	arena_defer(a, jws_release, jws);
	for (size_t i = 0; ks != NULL && i < ks->n && !verified; i++) {
		const struct oidc_key *k = &ks->k[i];

		if (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0))
			continue;
		kid_known = 1;
		if (k->kty != rule->kty || (rule->ec_bits != 0 && k->bits != rule->ec_bits))
			continue;
		if (k->alg != NULL && strcmp(k->alg, rule->alg) != 0)
			continue;
		verified = cjose_jws_verify(jws, k->jwk, &err);
	}
	if (!verified)
		return kid != NULL && !kid_known ? ERR_NOT_FOUND : refuse(why, "bad_signature");

	uint8_t *plain = NULL;
	size_t plen = 0;

	if (!cjose_jws_get_plaintext(jws, &plain, &plen, &err))
		return ERR_UNAUTHORIZED;
	claims = parse_object((const char *)plain, plen);
	if (claims == NULL)
		return ERR_UNAUTHORIZED;
	arena_defer(a, put_json, claims);

	const char *iss = get_str(a, claims, "iss");
	const char *nonce = get_str(a, claims, "nonce");
	int64_t exp = 0, iat = 0;
	int rc;

	if (iss == NULL || strcmp(iss, e->issuer) != 0)
		return refuse(why, "wrong_issuer");
	rc = check_audience(claims, e->client_id, why);
	if (rc != ERR_OK)
		return rc;
	if (!get_int(claims, "exp", &exp) || exp + e->skew <= e->now)
		return refuse(why, "expired");
	if (!get_int(claims, "iat", &iat) || iat > e->now + e->skew ||
	    iat < e->now - e->max_age - e->skew)
		return refuse(why, "bad_iat");
	if (nonce == NULL || e->nonce == NULL ||
	    !util_ct_equal(nonce, strlen(nonce), e->nonce, strlen(e->nonce)))
		return refuse(why, "wrong_nonce");
	out->sub = get_str(a, claims, "sub");
	if (out->sub == NULL || *out->sub == '\0' || strlen(out->sub) > 255)
		return refuse(why, "malformed");
	out->email = get_str(a, claims, "email");
	if (json_object_object_get_ex(claims, "email_verified", &v)) {
		/* a boolean; some providers send the string "true" */
		if (json_object_is_type(v, json_type_boolean))
			out->email_verified = json_object_get_boolean(v);
		else if (json_object_is_type(v, json_type_string))
			out->email_verified = strcmp(json_object_get_string(v), "true") == 0;
	}
	out->given_name = get_str(a, claims, "given_name");
	out->family_name = get_str(a, claims, "family_name");
	*why = NULL;
	return ERR_OK;
}

/* ------------------------------------------------------------------ token response */

int oidc_token_response_parse(struct arena *a, const char *json, size_t len, const char **id_token)
{
	json_object *o = parse_object(json, len);

	*id_token = NULL;
	if (o == NULL)
		return ERR_INVALID;
	arena_defer(a, put_json, o);
	*id_token = get_str(a, o, "id_token");
	return *id_token != NULL && **id_token != '\0' ? ERR_OK : ERR_INVALID;
}

/* ------------------------------------------------------------------ small helpers */

static char *b64url(struct arena *a, const unsigned char *raw, size_t n)
{
	char *out = NULL;
	size_t olen = 0;
	cjose_err err;

	if (!cjose_base64url_encode(raw, n, &out, &olen, &err))
		util_oom();
	char *s = arena_strndup(a, out, olen);

	cjose_free(out);
	return s;
}

char *oidc_pkce_challenge(struct arena *a, const char *verifier)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)verifier, strlen(verifier), md);
	return b64url(a, md, sizeof md);
}

char *oidc_sha256_hex(struct arena *a, const char *s)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	return random_hex(a, md, sizeof md);
}

char *oidc_derive(struct arena *a, const char *key, const char *label, const char *state)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *msg = arena_printf(a, "%s:%s", label, state);
	char *out, *s;
	size_t olen = 0;
	cjose_err err;

	if (key == NULL)
		key = ""; /* development without SECRET_KEY; production requires it */
	if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md,
	         &mdlen) == NULL)
		util_oom();
	if (!cjose_base64url_encode(md, mdlen, &out, &olen, &err))
		util_oom();
	s = arena_alloc_secret(a, olen + 1);
	memcpy(s, out, olen);
	explicit_bzero(out, olen);
	explicit_bzero(md, sizeof md);
	cjose_free(out);
	return s;
}

char *oidc_random_token(struct arena *a, size_t n)
{
	unsigned char raw[64];

	if (n > sizeof raw)
		n = sizeof raw;
	random_bytes(raw, n);
	char *s = b64url(a, raw, n);

	explicit_bzero(raw, sizeof raw);
	return s;
}

char *oidc_form_escape(struct arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = arena_alloc(a, 3 * n + 1), *p = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}
