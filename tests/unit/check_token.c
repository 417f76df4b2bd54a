/* check_token.c - JWT issue/verify: round trips for HS256, RS256 and ES256, and a table
 * of forged, tampered, malformed and wrong-claim tokens that must all be refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include "suites.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/util.h"
#include "security/token.h"

#define HS_SECRET "unit-test-jwt-secret-0123456789abcdef"

static char keydir[] = "/tmp/medrin-token-XXXXXX";
static char rsa_priv[256], rsa_pub[256], rsa2_priv[256], ec_priv[256], ec_pub[256];
static char *rsa_pub_pem; /* contents, for the key-confusion attack */

/* ---- fixtures: key pairs made once, in the parent ---- */

static void write_key(EVP_PKEY *pk, const char *priv, const char *pub)
{
	FILE *f = fopen(priv, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	if (pub != NULL) {
		f = fopen(pub, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(PEM_write_PUBKEY(f, pk), 1);
		fclose(f);
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void keys_setup(void)
{
	EVP_PKEY *rsa, *rsa2, *ec;

	ck_assert_ptr_nonnull(mkdtemp(keydir));
	snprintf(rsa_priv, sizeof(rsa_priv), "%s/rsa.pem", keydir);
	snprintf(rsa_pub, sizeof(rsa_pub), "%s/rsa.pub", keydir);
	snprintf(rsa2_priv, sizeof(rsa2_priv), "%s/rsa2.pem", keydir);
	snprintf(ec_priv, sizeof(ec_priv), "%s/ec.pem", keydir);
	snprintf(ec_pub, sizeof(ec_pub), "%s/ec.pub", keydir);
	rsa = EVP_RSA_gen(2048);
	rsa2 = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(rsa);
	ck_assert_ptr_nonnull(rsa2);
	ck_assert_ptr_nonnull(ec);
	write_key(rsa, rsa_priv, rsa_pub);
	write_key(rsa2, rsa2_priv, NULL);
	write_key(ec, ec_priv, ec_pub);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(ec);
	rsa_pub_pem = slurp(rsa_pub);
}

static void keys_teardown(void)
{
	const char *files[] = {rsa_priv, rsa_pub, rsa2_priv, ec_priv, ec_pub};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(keydir);
	free(rsa_pub_pem);
}

static struct config base_cfg(const char *alg)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.jwt_algorithm = alg;
	c.jwt_secret_key = HS_SECRET;
	c.jwt_issuer = "medrin-test";
	c.jwt_audience = "medrin-test-api";
	c.jwt_access_minutes = 30;
	c.jwt_refresh_days = 7;
	return c;
}

static struct token_keys *load(struct config *c)
{
	struct token_keys *k = NULL;

	ck_assert_int_eq(token_keys_load(c, &k), ERR_OK);
	ck_assert_ptr_nonnull(k);
	return k;
}

static char *issue(struct token_keys *k, struct arena *a, enum token_type t)
{
	struct token_claims c = {.typ = t,
	                         .sub = "7d4e0000-0000-4000-8000-000000000001",
	                         .jti = "jti-1",
	                         .sid = "sid-1",
	                         .role = "user"};
	char *tok = NULL;

	ck_assert_int_eq(token_issue(k, a, &c, &tok), ERR_OK);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_gt(c.exp, c.iat);
	return tok;
}

/* ---- hand-made tokens ---- */

static char *b64url(struct arena *a, const void *data, size_t n)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = arena_alloc(a, n * 4 / 3 + 4);
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = tbl[p[i] >> 2];
		out[o++] = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = tbl[p[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = tbl[p[i] >> 2];
		out[o++] = tbl[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = tbl[p[i] >> 2];
		out[o++] = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = tbl[(p[i + 1] & 15) << 2];
	}
	out[o] = '\0';
	return out;
}

/* hs_token signs header.payload with HMAC-SHA256/384 under key (NULL: no signature). */
static char *hs_token(struct arena *a, const char *header, const char *payload, const void *key,
                      size_t keylen, const EVP_MD *md)
{
	char *si = arena_printf(a, "%s.%s", b64url(a, header, strlen(header)),
	                        b64url(a, payload, strlen(payload)));
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (key == NULL)
		return arena_printf(a, "%s.", si);
	ck_assert_ptr_nonnull(
	    HMAC(md, key, (int)keylen, (const unsigned char *)si, strlen(si), mac, &maclen));
	return arena_printf(a, "%s.%s", si, b64url(a, mac, maclen));
}

enum mod { NONE, DEL, REL, STR, RAW };

/* payload builds a valid access (or refresh) claim set, then applies one change:
 * DEL removes `key`, REL sets it to now + delta, STR to a string, RAW to parsed JSON. */
static char *payload(struct arena *a, const char *typ, enum mod m, const char *key, long delta,
                     const char *val)
{
	json_object *o = json_object_new_object();
	int64_t now = util_wall_sec();

	json_object_object_add(o, "sub", json_object_new_string("user-1"));
	json_object_object_add(o, "jti", json_object_new_string("jti-1"));
	json_object_object_add(o, "sid", json_object_new_string("sid-1"));
	json_object_object_add(o, "iss", json_object_new_string("medrin-test"));
	json_object_object_add(o, "aud", json_object_new_string("medrin-test-api"));
	json_object_object_add(o, "typ", json_object_new_string(typ));
	json_object_object_add(o, "iat", json_object_new_int64(now));
	json_object_object_add(o, "exp", json_object_new_int64(now + 600));
	if (strcmp(typ, "access") == 0)
		json_object_object_add(o, "role", json_object_new_string("user"));
	switch (m) {
	case NONE: break;
	case DEL: json_object_object_del(o, key); break;
	case REL: json_object_object_add(o, key, json_object_new_int64(now + delta)); break;
	case STR: json_object_object_add(o, key, json_object_new_string(val)); break;
	case RAW: json_object_object_add(o, key, json_tokener_parse(val)); break;
	}
	char *s = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

#define HDR_HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* noncanonical spells the same signature bytes differently: the last base64url char of
 * the signature carries 2 or 4 zero padding bits; setting one keeps the decoded bytes (a
 * lenient decoder accepts it) but the text is no longer the token that was issued. */
static char *noncanonical(struct arena *a, const char *tok)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *t = arena_strdup(a, tok);
	size_t n = strlen(t);
	size_t slen = n - (size_t)(strrchr(t, '.') - t) - 1;
	int pad = slen % 4 == 2 ? 15 : 3;
	int v = (int)(strchr(tbl, t[n - 1]) - tbl);

	ck_assert(slen % 4 == 2 || slen % 4 == 3);
	ck_assert_int_eq(v & pad, 0);
	t[n - 1] = tbl[v | 1];
	return t;
}

/* ---- round trips ---- */

static void round_trip(struct config *c)
{
	struct arena *a = arena_new(0);
	struct token_keys *k = load(c);
	struct token_claims cl;
	char *acc = issue(k, a, TOKEN_ACCESS);
	char *ref = issue(k, a, TOKEN_REFRESH);

	ck_assert_int_eq(token_verify(k, a, acc, TOKEN_ACCESS, &cl), ERR_OK);
	ck_assert_str_eq(cl.sub, "7d4e0000-0000-4000-8000-000000000001");
	ck_assert_str_eq(cl.jti, "jti-1");
	ck_assert_str_eq(cl.sid, "sid-1");
	ck_assert_str_eq(cl.role, "user");
	ck_assert_int_eq(cl.typ, TOKEN_ACCESS);
	ck_assert_int_eq(cl.exp - cl.iat, 30 * 60);
	ck_assert_int_eq(token_verify(k, a, ref, TOKEN_REFRESH, &cl), ERR_OK);
	ck_assert_ptr_null(cl.role);
	ck_assert_int_eq(cl.exp - cl.iat, 7 * 86400);
	/* neither is accepted as the other */
	ck_assert_int_eq(token_verify(k, a, acc, TOKEN_REFRESH, &cl), ERR_UNAUTHORIZED);
	ck_assert_int_eq(token_verify(k, a, ref, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	ck_assert_ptr_null(cl.sub);
	token_keys_free(k);
	arena_free(a);
}

START_TEST(test_round_trip_hs256)
{
	struct config c = base_cfg("HS256");

	round_trip(&c);
}
END_TEST

START_TEST(test_round_trip_rs256)
{
	struct config c = base_cfg("RS256");

	c.jwt_private_key_file = rsa_priv;
	c.jwt_public_key_file = rsa_pub;
	round_trip(&c);
	/* a host with only the private key derives the public half */
	c.jwt_public_key_file = NULL;
	round_trip(&c);
}
END_TEST

START_TEST(test_round_trip_es256)
{
	struct config c = base_cfg("ES256");
	struct arena *a = arena_new(0);

	c.jwt_private_key_file = ec_priv;
	c.jwt_public_key_file = ec_pub;
	round_trip(&c);

	/* JWS (RFC 7518 3.4) wants the raw 64-byte R||S signature, not DER */
	struct token_keys *k = load(&c);
	char *tok = issue(k, a, TOKEN_ACCESS);
	const char *sig = strrchr(tok, '.') + 1;

	ck_assert_uint_eq(strlen(sig), 86);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

START_TEST(test_verify_only_host)
{
	struct config full = base_cfg("RS256"), pubonly = base_cfg("RS256"),
	              other = base_cfg("RS256");
	struct arena *a = arena_new(0);
	struct token_claims cl;
	char *tok = NULL;

	full.jwt_private_key_file = rsa_priv;
	full.jwt_public_key_file = rsa_pub;
	pubonly.jwt_public_key_file = rsa_pub;
	other.jwt_private_key_file = rsa2_priv;
	struct token_keys *kf = load(&full), *kp = load(&pubonly), *ko = load(&other);
	struct token_claims c = {
	    .typ = TOKEN_ACCESS, .sub = "u", .jti = "j", .sid = "s", .role = "user"};

	ck_assert_int_eq(token_issue(kp, a, &c, &tok), ERR_INTERNAL);
	ck_assert_ptr_null(tok);
	tok = issue(kf, a, TOKEN_ACCESS);
	ck_assert_int_eq(token_verify(kp, a, tok, TOKEN_ACCESS, &cl), ERR_OK);
	ck_assert_int_eq(token_verify(kp, a, noncanonical(a, tok), TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	/* signed by another RSA key: refused */
	ck_assert_int_eq(token_verify(ko, a, tok, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	token_keys_free(kf);
	token_keys_free(kp);
	token_keys_free(ko);
	arena_free(a);
}
END_TEST

START_TEST(test_issue_requires_ids)
{
	struct config cfg = base_cfg("HS256");
	struct token_keys *k = load(&cfg);
	struct arena *a = arena_new(0);
	struct token_claims c = {.typ = TOKEN_ACCESS, .sub = "u", .jti = "j", .sid = "s"};
	char *tok = NULL;

	ck_assert_int_eq(token_issue(k, a, &c, &tok), ERR_INVALID); /* access without role */
	c.role = "user";
	c.jti = NULL;
	ck_assert_int_eq(token_issue(k, a, &c, &tok), ERR_INVALID);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

START_TEST(test_keys_load_errors)
{
	struct config c = base_cfg("HS512");
	struct token_keys *k = NULL;

	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	ck_assert_ptr_null(k);
	c = base_cfg("none");
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c = base_cfg("HS256");
	c.jwt_secret_key = "";
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c.jwt_secret_key = "short"; /* < 32 bytes: production refuses */
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c.dev_mode = 1; /* development allows it */
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_OK);
	token_keys_free(k);
	k = NULL;
	c = base_cfg("RS256"); /* no key files */
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c.jwt_public_key_file = "/nonexistent/key.pem";
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c.jwt_public_key_file = ec_pub; /* EC key for RS256 */
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	c = base_cfg("ES256");
	c.jwt_private_key_file = rsa_priv; /* RSA key for ES256 */
	ck_assert_int_eq(token_keys_load(&c, &k), ERR_INVALID);
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- the attack table (HS256 pinned) ---- */

struct attack {
	const char *name;
	const char *header; /* NULL: HDR_HS256 */
	const char *typ;    /* payload typ claim */
	enum mod mod;
	const char *key;
	long delta;
	const char *val;
	enum token_type want;
	int expect; /* ERR_OK for the controls */
};

/* clang-format off */
static const struct attack attacks[] = {
	{ "control: valid access", NULL, "access", NONE, NULL, 0, NULL, TOKEN_ACCESS, ERR_OK },
	{ "control: aud array", NULL, "access", RAW, "aud", 0, "[\"x\",\"medrin-test-api\"]",
	  TOKEN_ACCESS, ERR_OK },
	{ "control: iat 20 s ahead", NULL, "access", REL, "iat", 20, NULL, TOKEN_ACCESS, ERR_OK },
	{ "control: nbf 20 s ahead", NULL, "access", REL, "nbf", 20, NULL, TOKEN_ACCESS, ERR_OK },
	{ "control: no typ header", "{\"alg\":\"HS256\"}", "access", NONE, NULL, 0, NULL,
	  TOKEN_ACCESS, ERR_OK },
	{ "alg HS512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "access", NONE, NULL, 0, NULL,
	  TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "alg missing", "{\"typ\":\"JWT\"}", "access", NONE, NULL, 0, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "alg lower-case", "{\"alg\":\"hs256\"}", "access", NONE, NULL, 0, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "header typ at+jwt", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "access", NONE, NULL, 0,
	  NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "header crit", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "access", NONE, NULL, 0, NULL,
	  TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "header not an object", "[\"HS256\"]", "access", NONE, NULL, 0, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "expired", NULL, "access", REL, "exp", -10, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "exp now", NULL, "access", REL, "exp", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "exp as string", NULL, "access", STR, "exp", 0, "9999999999", TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "exp as float", NULL, "access", RAW, "exp", 0, "9999999999.5", TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "nbf in the future", NULL, "access", REL, "nbf", 120, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "iat in the future", NULL, "access", REL, "iat", 120, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "wrong iss", NULL, "access", STR, "iss", 0, "evil", TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "wrong aud", NULL, "access", STR, "aud", 0, "other-api", TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "aud array without ours", NULL, "access", RAW, "aud", 0, "[\"a\",\"b\"]", TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "refresh used as access", NULL, "refresh", NONE, NULL, 0, NULL, TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "access used as refresh", NULL, "access", NONE, NULL, 0, NULL, TOKEN_REFRESH,
	  ERR_UNAUTHORIZED },
	{ "typ missing", NULL, "access", DEL, "typ", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "missing exp", NULL, "access", DEL, "exp", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "missing iat", NULL, "access", DEL, "iat", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "missing sub", NULL, "access", DEL, "sub", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "empty sub", NULL, "access", STR, "sub", 0, "", TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "sub not a string", NULL, "access", RAW, "sub", 0, "42", TOKEN_ACCESS,
	  ERR_UNAUTHORIZED },
	{ "missing jti", NULL, "access", DEL, "jti", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "missing sid", NULL, "access", DEL, "sid", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
	{ "missing role", NULL, "access", DEL, "role", 0, NULL, TOKEN_ACCESS, ERR_UNAUTHORIZED },
};
/* clang-format on */

START_TEST(test_attack_table)
{
	const struct attack *t = &attacks[_i];
	struct config cfg = base_cfg("HS256");
	struct token_keys *k = load(&cfg);
	struct arena *a = arena_new(0);
	struct token_claims cl;
	const char *hdr = t->header != NULL ? t->header : HDR_HS256;
	const EVP_MD *md = strstr(hdr, "HS512") != NULL ? EVP_sha512() : EVP_sha256();
	char *tok = hs_token(a, hdr, payload(a, t->typ, t->mod, t->key, t->delta, t->val),
	                     HS_SECRET, strlen(HS_SECRET), md);
	int rc = token_verify(k, a, tok, t->want, &cl);

	ck_assert_msg(rc == t->expect, "%s: got %d, want %d", t->name, rc, t->expect);
	if (t->expect == ERR_OK)
		ck_assert_str_eq(cl.sub, "user-1");
	else
		ck_assert_ptr_null(cl.sub);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

START_TEST(test_alg_none)
{
	struct config cfg = base_cfg("HS256");
	struct token_keys *k = load(&cfg);
	struct arena *a = arena_new(0);
	struct token_claims cl;
	const char *p = payload(a, "access", NONE, NULL, 0, NULL);
	const char *hdrs[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}",
	                      "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}", "{\"alg\":null}"};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char *unsigned_tok = hs_token(a, hdrs[i], p, NULL, 0, NULL);
		char *signed_tok =
		    hs_token(a, hdrs[i], p, HS_SECRET, strlen(HS_SECRET), EVP_sha256());

		ck_assert_int_eq(token_verify(k, a, unsigned_tok, TOKEN_ACCESS, &cl),
		                 ERR_UNAUTHORIZED);
		ck_assert_int_eq(token_verify(k, a, signed_tok, TOKEN_ACCESS, &cl),
		                 ERR_UNAUTHORIZED);
	}
	token_keys_free(k);
	arena_free(a);
}
END_TEST

/* RS256 pinned; the attacker knows the public key and uses its PEM text as an HMAC
 * secret. libjwt alone would accept this (it trusts the header's alg): the control
 * below shows the attack is real, token_verify must refuse it. */
START_TEST(test_hs256_with_rsa_public_key)
{
	struct config cfg = base_cfg("RS256");
	struct arena *a = arena_new(0);
	struct token_claims cl;
	jwt_t *jwt = NULL;

	cfg.jwt_public_key_file = rsa_pub;
	struct token_keys *k = load(&cfg);
	const char *p = payload(a, "access", NONE, NULL, 0, NULL);
	char *forged = hs_token(a, HDR_HS256, p, rsa_pub_pem, strlen(rsa_pub_pem), EVP_sha256());
	char *forged_rs = hs_token(a, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, rsa_pub_pem,
	                           strlen(rsa_pub_pem), EVP_sha256());

	ck_assert_int_eq(
	    jwt_decode(&jwt, forged, (const unsigned char *)rsa_pub_pem, (int)strlen(rsa_pub_pem)),
	    0);
	jwt_free(jwt);
	ck_assert_int_eq(token_verify(k, a, forged, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	ck_assert_int_eq(token_verify(k, a, forged_rs, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

START_TEST(test_malformed)
{
	struct config cfg = base_cfg("HS256");
	struct token_keys *k = load(&cfg);
	struct arena *a = arena_new(0);
	struct token_claims cl;
	char *good = issue(k, a, TOKEN_ACCESS);
	size_t n = strlen(good);
	char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	size_t pmid = (size_t)(dot1 - good) + (size_t)(dot2 - dot1) / 2;
	size_t smid = (size_t)(dot2 - good) + (n - (size_t)(dot2 - good)) / 2;

	ck_assert_int_eq(token_verify(k, a, good, TOKEN_ACCESS, &cl), ERR_OK);

	/* tampered payload, tampered signature (middle, and the last char whose low bits
	 * are padding), each by flipping one character */
	size_t spots[] = {pmid, smid, n - 1, 3};

	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		char *t = arena_strdup(a, good);

		t[spots[i]] = t[spots[i]] == 'A' ? 'B' : 'A';
		ck_assert_msg(token_verify(k, a, t, TOKEN_ACCESS, &cl) == ERR_UNAUTHORIZED,
		              "flip at %zu accepted", spots[i]);
	}

	const char *bad[] = {
	    "",
	    "garbage",
	    "a.b",
	    "a.b.c.d",
	    "...",
	    "..",
	    ".x.y",
	    "x..y",
	    "x.y.",
	    "eyJhbGciOiJIUzI1NiJ9.e30", /* 2 parts */
	    "!!!.???.***",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(token_verify(k, a, bad[i], TOKEN_ACCESS, &cl) == ERR_UNAUTHORIZED,
		              "accepted %s", bad[i]);
	ck_assert_int_eq(token_verify(k, a, NULL, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	/* a valid token with a 4th part, or padding, or a standard-base64 char */
	ck_assert_int_eq(token_verify(k, a, arena_printf(a, "%s.x", good), TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	ck_assert_int_eq(token_verify(k, a, arena_printf(a, "%s=", good), TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	ck_assert_int_eq(token_verify(k, a, arena_printf(a, ".%s", good), TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);

	/* oversize: a validly signed token with a huge claim (> 8 KiB) */
	char *big = arena_alloc(a, 9001);

	memset(big, 'x', 9000);
	big[9000] = '\0';
	char *huge = hs_token(a, HDR_HS256, payload(a, "access", STR, "pad", 0, big), HS_SECRET,
	                      strlen(HS_SECRET), EVP_sha256());
	char *ok = hs_token(a, HDR_HS256, payload(a, "access", STR, "pad", 0, "x"), HS_SECRET,
	                    strlen(HS_SECRET), EVP_sha256());

	ck_assert_int_eq(token_verify(k, a, ok, TOKEN_ACCESS, &cl), ERR_OK);
	ck_assert_int_eq(token_verify(k, a, huge, TOKEN_ACCESS, &cl), ERR_UNAUTHORIZED);
	ck_assert_int_eq(token_verify(k, a, noncanonical(a, good), TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	/* signed with another secret */
	ck_assert_int_eq(
	    token_verify(k, a,
	                 hs_token(a, HDR_HS256, payload(a, "access", NONE, NULL, 0, NULL),
	                          "another-secret-0123456789abcdef0123", 35, EVP_sha256()),
	                 TOKEN_ACCESS, &cl),
	    ERR_UNAUTHORIZED);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

/* HS256 is verified by token.c itself (one HMAC key context, not libjwt): a token signed
 * with another secret, one with a signature cut to 31 bytes, one with a 33rd byte, and one
 * whose MAC is of another signed part are all refused; the right one is not. */
START_TEST(test_hs256_signature_checks)
{
	struct config cfg = base_cfg("HS256");
	struct token_keys *k = load(&cfg);
	struct arena *a = arena_new(0);
	struct token_claims cl;
	const char *p = payload(a, "access", NONE, NULL, 0, NULL);
	const char *other = "unit-test-jwt-secret-0123456789abcdeX";
	char *good = hs_token(a, HDR_HS256, p, HS_SECRET, strlen(HS_SECRET), EVP_sha256());
	char *dot2 = strrchr(good, '.');
	char *head = arena_strndup(a, good, (size_t)(dot2 - good));
	unsigned char mac[EVP_MAX_MD_SIZE + 1];
	unsigned int maclen = 0;

	ck_assert_int_eq(token_verify(k, a, good, TOKEN_ACCESS, &cl), ERR_OK);
	ck_assert_int_eq(token_verify(k, a,
	                              hs_token(a, HDR_HS256, p, other, strlen(other), EVP_sha256()),
	                              TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), HS_SECRET, (int)strlen(HS_SECRET),
	                           (const unsigned char *)head, strlen(head), mac, &maclen));
	ck_assert_uint_eq(maclen, 32);
	ck_assert_int_eq(token_verify(k, a, arena_printf(a, "%s.%s", head, b64url(a, mac, 31)),
	                              TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	mac[32] = 0;
	ck_assert_int_eq(token_verify(k, a, arena_printf(a, "%s.%s", head, b64url(a, mac, 33)),
	                              TOKEN_ACCESS, &cl),
	                 ERR_UNAUTHORIZED);
	/* the right MAC under another payload: the whole signed part counts */
	const char *p2 = payload(a, "access", STR, "sub", 0, "user-2");
	char *other_tok = hs_token(a, HDR_HS256, p2, HS_SECRET, strlen(HS_SECRET), EVP_sha256());

	ck_assert_int_eq(
	    token_verify(k, a,
	                 arena_printf(a, "%.*s.%s", (int)(strrchr(other_tok, '.') - other_tok),
	                              other_tok, dot2 + 1),
	                 TOKEN_ACCESS, &cl),
	    ERR_UNAUTHORIZED);
	token_keys_free(k);
	arena_free(a);
}
END_TEST

Suite *token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_trip_hs256);
	tcase_add_test(tc, test_round_trip_rs256);
	tcase_add_test(tc, test_round_trip_es256);
	tcase_add_test(tc, test_verify_only_host);
	tcase_add_test(tc, test_issue_requires_ids);
	tcase_add_test(tc, test_keys_load_errors);
	tcase_add_loop_test(tc, test_attack_table, 0, (int)(sizeof(attacks) / sizeof(attacks[0])));
	tcase_add_test(tc, test_alg_none);
	tcase_add_test(tc, test_hs256_with_rsa_public_key);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_hs256_signature_checks);
	suite_add_tcase(s, tc);
	return s;
}
