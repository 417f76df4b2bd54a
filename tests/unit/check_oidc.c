/* check_oidc.c - the relying party's pure parts (security/oidc.h): discovery, JWKS and
 * token response parsing, PKCE, and ID token verification against keys made here with
 * libcjose (every claim check and every algorithm refusal). */
#include <stdio.h>
#include <string.h>
#include <cjose/cjose.h>
#include "suites.h"
#include "base/arena.h"
#include "security/oidc.h"

#define ISS "https://id.example.test"
#define AUD "medrin-client"
#define NONCE "n-0S6_WzA2Mj"
#define NOW 1800000000

static const char *const rs256_only[] = {"RS256", NULL};

static cjose_jwk_t *rsa_key(const char *kid)
{
	static const uint8_t e[] = {1, 0, 1};
	cjose_err err;
	cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);

	ck_assert_ptr_nonnull(k);
	ck_assert(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
	return k;
}

/* jwks_of returns {"keys":[public JWK]} in the arena. */
static char *jwks_of(struct arena *a, cjose_jwk_t *k)
{
	cjose_err err;
	char *pub = cjose_jwk_to_json(k, false, &err);
	char *out;

	ck_assert_ptr_nonnull(pub);
	out = arena_printf(a, "{\"keys\":[%s]}", pub);
	cjose_get_dealloc()(pub);
	return out;
}

/* sign makes a compact JWS of claims with key k, header alg and kid. */
static char *sign(struct arena *a, cjose_jwk_t *k, const char *alg, const char *kid,
                  const char *claims)
{
	cjose_err err;
	cjose_header_t *h = cjose_header_new(&err);
	cjose_jws_t *jws;
	const char *ser = NULL;
	char *out;

	ck_assert(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
	if (kid != NULL)
		ck_assert(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
	jws = cjose_jws_sign(k, h, (const uint8_t *)claims, strlen(claims), &err);
	ck_assert_ptr_nonnull(jws);
	ck_assert(cjose_jws_export(jws, &ser, &err));
	out = arena_strdup(a, ser);
	cjose_jws_release(jws);
	cjose_header_release(h);
	return out;
}

static char *b64u(struct arena *a, const char *s)
{
	char *out = NULL;
	size_t n = 0;
	cjose_err err;

	ck_assert(cjose_base64url_encode((const uint8_t *)s, strlen(s), &out, &n, &err));
	char *r = arena_strndup(a, out, n);

	cjose_get_dealloc()(out);
	return r;
}

static char *claims(struct arena *a, const char *iss, const char *aud, long exp, long iat,
                    const char *nonce, const char *extra)
{
	return arena_printf(a,
	                    "{\"iss\":\"%s\",\"sub\":\"248289761001\",\"aud\":%s,\"exp\":%ld,"
	                    "\"iat\":%ld,\"nonce\":\"%s\",\"email\":\"Jane@Example.com\","
	                    "\"email_verified\":true%s}",
	                    iss, aud, exp, iat, nonce, extra);
}

static struct oidc_expect expect(void)
{
	struct oidc_expect e;

	memset(&e, 0, sizeof e);
	e.issuer = ISS;
	e.client_id = AUD;
	e.nonce = NONCE;
	e.algs = rs256_only;
	e.now = NOW;
	e.skew = 60;
	e.max_age = 600;
	return e;
}

static int verify(struct arena *a, struct oidc_keyset *ks, const char *tok, const char **why)
{
	struct oidc_expect e = expect();
	struct oidc_claims c;

	return oidc_idtoken_verify(a, ks, tok, &e, &c, why);
}

static const char *ok_claims(struct arena *a)
{
	return claims(a, ISS, "\"" AUD "\"", NOW + 300, NOW - 5, NONCE, "");
}

START_TEST(verifies_a_good_token)
{
	struct arena *a = arena_new(0);
	cjose_jwk_t *k = rsa_key("k1");
	char *jwks = jwks_of(a, k);
	struct oidc_keyset *ks = oidc_keyset_parse(jwks, strlen(jwks));
	struct oidc_expect e = expect();
	struct oidc_claims c;
	const char *why = NULL;

	ck_assert_ptr_nonnull(ks);
	ck_assert_uint_eq(oidc_keyset_count(ks), 1);
	ck_assert_int_eq(
	    oidc_idtoken_verify(a, ks, sign(a, k, "RS256", "k1", ok_claims(a)), &e, &c, &why), 0);
	ck_assert_str_eq(c.sub, "248289761001");
	ck_assert_str_eq(c.email, "Jane@Example.com");
	ck_assert_int_eq(c.email_verified, 1);
	/* aud as an array with only us, and azp = us */
	ck_assert_int_eq(verify(a, ks,
	                        sign(a, k, "RS256", "k1",
	                             claims(a, ISS, "[\"" AUD "\"]", NOW + 300, NOW, NONCE,
	                                    ",\"azp\":\"" AUD "\"")),
	                        &why),
	                 0);
	oidc_keyset_free(ks);
	cjose_jwk_release(k);
	arena_free(a);
}
END_TEST

START_TEST(refuses_bad_claims)
{
	struct arena *a = arena_new(0);
	cjose_jwk_t *k = rsa_key("k1");
	char *jwks = jwks_of(a, k);
	struct oidc_keyset *ks = oidc_keyset_parse(jwks, strlen(jwks));
	const char *why = NULL;
	const struct {
		const char *claims;
		const char *why;
	} cases[] = {
	    {claims(a, ISS "/", "\"" AUD "\"", NOW + 300, NOW, NONCE, ""), "wrong_issuer"},
	    {claims(a, ISS, "\"other\"", NOW + 300, NOW, NONCE, ""), "wrong_audience"},
	    {claims(a, ISS, "[\"other\",\"more\"]", NOW + 300, NOW, NONCE, ""), "wrong_audience"},
	    {claims(a, ISS, "[\"" AUD "\",\"other\"]", NOW + 300, NOW, NONCE, ""), "wrong_azp"},
	    {claims(a, ISS, "\"" AUD "\"", NOW + 300, NOW, NONCE, ",\"azp\":\"other\""),
	     "wrong_azp"},
	    {claims(a, ISS, "\"" AUD "\"", NOW - 61, NOW - 100, NONCE, ""), "expired"},
	    {claims(a, ISS, "\"" AUD "\"", NOW + 3000, NOW + 120, NONCE, ""), "bad_iat"},
	    {claims(a, ISS, "\"" AUD "\"", NOW + 3000, NOW - 3600, NONCE, ""), "bad_iat"},
	    {claims(a, ISS, "\"" AUD "\"", NOW + 300, NOW, "other-nonce", ""), "wrong_nonce"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1800000300,\"iat\":1800000000,"
	     "\"nonce\":\"" NONCE "\"}",
	     "malformed"}, /* no sub */
	};

	ck_assert_ptr_nonnull(ks);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(verify(a, ks, sign(a, k, "RS256", "k1", cases[i].claims), &why),
		                 ERR_UNAUTHORIZED);
		ck_assert_str_eq(why, cases[i].why);
	}
	oidc_keyset_free(ks);
	cjose_jwk_release(k);
	arena_free(a);
}
END_TEST

START_TEST(refuses_bad_signatures_and_algorithms)
{
	struct arena *a = arena_new(0);
	cjose_jwk_t *k = rsa_key("k1"), *other = rsa_key("k1");
	char *jwks = jwks_of(a, k);
	struct oidc_keyset *ks = oidc_keyset_parse(jwks, strlen(jwks));
	const char *why = NULL;
	const char *body = b64u(a, ok_claims(a));
	const char *good = sign(a, k, "RS256", "k1", ok_claims(a));
	cjose_err err;

	/* another key under the same kid */
	ck_assert_int_eq(verify(a, ks, sign(a, other, "RS256", "k1", ok_claims(a)), &why),
	                 ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "bad_signature");
	/* an unknown kid: the caller refreshes the keys */
	ck_assert_int_eq(verify(a, ks, sign(a, other, "RS256", "k9", ok_claims(a)), &why),
	                 ERR_NOT_FOUND);
	/* alg none, with and without a signature part */
	const char *none =
	    arena_printf(a, "%s.%s.", b64u(a, "{\"alg\":\"none\",\"kid\":\"k1\"}"), body);

	ck_assert_int_eq(verify(a, ks, none, &why), ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "alg_not_allowed");
	/* HS256 keyed with the public key (the JWK text and the modulus both tried by
	 * attackers): refused before any key is used */
	char *pub = cjose_jwk_to_json(k, false, &err);
	cjose_jwk_t *hmac = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &err);

	ck_assert_ptr_nonnull(hmac);
	ck_assert_int_eq(verify(a, ks, sign(a, hmac, "HS256", "k1", ok_claims(a)), &why),
	                 ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "alg_not_allowed");
	cjose_jwk_release(hmac);
	cjose_get_dealloc()(pub);
	/* an asymmetric alg the provider does not list */
	ck_assert_int_eq(verify(a, ks, sign(a, k, "RS512", "k1", ok_claims(a)), &why),
	                 ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "alg_not_allowed");
	/* ES256 claimed over an RSA key */
	const char *es = arena_printf(a, "%s.%s.%s", b64u(a, "{\"alg\":\"ES256\",\"kid\":\"k1\"}"),
	                              body, strrchr(good, '.') + 1);
	const char *const es_ok[] = {"RS256", "ES256", NULL};
	struct oidc_expect e = expect();
	struct oidc_claims c;

	e.algs = es_ok;
	ck_assert_int_eq(oidc_idtoken_verify(a, ks, es, &e, &c, &why), ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "bad_signature");
	/* a changed payload under a good signature */
	const char *dot = strchr(good, '.');
	const char *tampered =
	    arena_printf(a, "%.*s.%s%s", (int)(dot - good), good,
	                 b64u(a, claims(a, ISS, "\"" AUD "\"", NOW + 300, NOW, NONCE, ",\"x\":1")),
	                 strrchr(good, '.'));

	ck_assert_int_eq(verify(a, ks, tampered, &why), ERR_UNAUTHORIZED);
	ck_assert_str_eq(why, "bad_signature");
	/* not a JWS */
	ck_assert_int_eq(verify(a, ks, "a.b", &why), ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(a, ks, "a.b.c.d.e", &why), ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(a, ks, "", &why), ERR_UNAUTHORIZED);
	oidc_keyset_free(ks);
	cjose_jwk_release(k);
	cjose_jwk_release(other);
	arena_free(a);
}
END_TEST

START_TEST(keysets)
{
	const char *sym = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0\"}]}";
	const char *enc_only = "{\"keys\":[]}";

	ck_assert_ptr_null(oidc_keyset_parse(sym, strlen(sym))); /* symmetric keys ignored */
	ck_assert_ptr_null(oidc_keyset_parse(enc_only, strlen(enc_only)));
	ck_assert_ptr_null(oidc_keyset_parse("[]", 2));
	ck_assert_ptr_null(oidc_keyset_parse("{", 1));
}
END_TEST

START_TEST(discovery)
{
	struct arena *a = arena_new(0);
	struct oidc_discovery d;
	const char *full =
	    "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
	    "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
	    "\"id_token_signing_alg_values_supported\":[\"none\",\"HS256\",\"ES256\",\"RS256\"],"
	    "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\",\"client_secret_post\"]"
	    "}";
	const char *minimal = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"x\","
	                      "\"token_endpoint\":\"y\",\"jwks_uri\":\"z\"}";
	const char *hmac_only =
	    "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"x\",\"token_endpoint\":\"y\","
	    "\"jwks_uri\":\"z\",\"id_token_signing_alg_values_supported\":[\"HS256\",\"none\"]}";

	ck_assert_int_eq(oidc_discovery_parse(a, full, strlen(full), &d), 0);
	ck_assert_str_eq(d.token_endpoint, ISS "/token");
	ck_assert_int_eq(d.auth_basic, 0);
	ck_assert_int_eq(d.auth_post, 1);
	ck_assert_str_eq(d.algs[0], "ES256"); /* none and HS256 dropped */
	ck_assert_str_eq(d.algs[1], "RS256");
	ck_assert_ptr_null(d.algs[2]);
	ck_assert_int_eq(oidc_discovery_parse(a, minimal, strlen(minimal), &d), 0);
	ck_assert_int_eq(d.auth_basic, 1); /* the defaults */
	ck_assert_str_eq(d.algs[0], "RS256");
	ck_assert_int_eq(oidc_discovery_parse(a, hmac_only, strlen(hmac_only), &d), ERR_INVALID);
	ck_assert_int_eq(oidc_discovery_parse(a, "{\"issuer\":\"x\"}", 14, &d), ERR_INVALID);
	ck_assert_int_eq(oidc_discovery_parse(a, "[1]", 3, &d), ERR_INVALID);
	arena_free(a);
}
END_TEST

START_TEST(helpers)
{
	struct arena *a = arena_new(0);
	const char *id = NULL;

	/* RFC 7636, appendix B */
	ck_assert_str_eq(oidc_pkce_challenge(a, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
	                 "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	ck_assert_str_eq(oidc_form_escape(a, "a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
	ck_assert_uint_eq(strlen(oidc_random_token(a, 32)), 43);
	ck_assert_str_ne(oidc_random_token(a, 32), oidc_random_token(a, 32));
	ck_assert_uint_eq(strlen(oidc_sha256_hex(a, "x")), 64);
	ck_assert_str_eq(oidc_derive(a, "k", "nonce", "s"), oidc_derive(a, "k", "nonce", "s"));
	ck_assert_str_ne(oidc_derive(a, "k", "nonce", "s"), oidc_derive(a, "k", "pkce", "s"));
	ck_assert_str_ne(oidc_derive(a, "k", "nonce", "s"), oidc_derive(a, "k2", "nonce", "s"));
	ck_assert_uint_eq(strlen(oidc_derive(a, "k", "pkce", "s")), 43); /* a valid verifier */
	ck_assert_int_eq(oidc_token_response_parse(a, "{\"id_token\":\"a.b.c\"}", 20, &id), 0);
	ck_assert_str_eq(id, "a.b.c");
	ck_assert_int_eq(oidc_token_response_parse(a, "{\"error\":\"invalid_grant\"}", 25, &id),
	                 ERR_INVALID);
	arena_free(a);
}
END_TEST

Suite *oidc_suite(void)
{
	Suite *s = suite_create("oidc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, verifies_a_good_token);
	tcase_add_test(tc, refuses_bad_claims);
	tcase_add_test(tc, refuses_bad_signatures_and_algorithms);
	tcase_add_test(tc, keysets);
	tcase_add_test(tc, discovery);
	tcase_add_test(tc, helpers);
	suite_add_tcase(s, tc);
	return s;
}
