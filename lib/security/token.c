/* token.c - JWT access and refresh tokens on libjwt 1.10; see token.h and
 * docs/internals/security.md.
 *
 * libjwt 1.10's jwt_decode trusts the token's own header to pick the algorithm, and checks
 * no claim at all. So before libjwt sees a token we split it ourselves, decode its header
 * with json-c and require the pinned alg (this is what defeats "alg":"none" and an HS256
 * token "signed" with an RS256 public key); after the signature is checked (and, for
 * RS256/ES256, libjwt's alg once more) every claim is checked, from the (now
 * authenticated) payload, with strict JSON types.
 *
 * HS256, the default, is verified without libjwt: its jwt_decode parses both parts again
 * (jansson), base64-decodes through BIO chains and sets an HMAC up from the key on every
 * call, a quarter of a worker's CPU per GET /auth/me (docs/internals/security.md). Here
 * the HMAC key context is made once, at load (k->mac_tpl), and each verify duplicates it,
 * MACs "header.payload" and compares the 32 bytes with CRYPTO_memcmp. RS256 and ES256
 * still go through libjwt.
 */
#include "security/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"

#define TOKEN_MAX_LEN 8192 /* a token longer than this is rejected unread */
#define TOKEN_LEEWAY 30    /* seconds of clock skew allowed for iat and nbf */
#define KEY_FILE_MAX 65536
#define HS256_MIN_KEY 32 /* RFC 7518 3.2: a key at least as long as the hash */

struct token_keys {
	jwt_alg_t alg;
	const char *alg_name;    /* "HS256", "RS256", "ES256" */
	unsigned char *sign_key; /* NULL: this host cannot issue tokens */
	size_t sign_len;
	unsigned char *verify_key;
	size_t verify_len;
	char *issuer;
	char *audience;
	int64_t access_seconds;
	int64_t refresh_seconds;
	EVP_MAC_CTX *mac_tpl; /* HS256: HMAC-SHA256 keyed with verify_key, never used itself */
};

/* ---- key loading ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0; /* an encrypted key is refused, never prompted for */
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t n;
	int rc = ERR_INVALID;

	if (f == NULL) {
		log_error("JWT key file %s: %s", path, strerror(errno));
		return ERR_INVALID;
	}
	data = malloc(KEY_FILE_MAX + 1);
	if (data == NULL)
		abort();
	n = fread(data, 1, KEY_FILE_MAX + 1, f);
	if (ferror(f) || n == 0 || n > KEY_FILE_MAX) {
		log_error("JWT key file %s: unreadable, empty or too large", path);
		goto out;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
	rc = ERR_OK;
out:
	if (data != NULL) {
		explicit_bzero(data, KEY_FILE_MAX + 1);
		free(data);
	}
	fclose(f);
	return rc;
}

/* check_key_type: the key must be RSA >= 2048 bits for RS256, EC P-256 for ES256. */
static int check_key_type(EVP_PKEY *pk, jwt_alg_t alg, const char *what)
{
	if (alg == JWT_ALG_RS256) {
		if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < 2048) {
			log_error("JWT %s key: RS256 needs an RSA key of at least 2048 bits", what);
			return ERR_INVALID;
		}
		return ERR_OK;
	}
	char group[64] = "";
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pk, "EC") ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		log_error("JWT %s key: ES256 needs an EC P-256 key", what);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* load_private reads and checks the private key; when want_pub, also returns its public
 * half as PEM (for hosts configured with the private key only). */
static int load_private(struct token_keys *k, const char *path, int want_pub)
{
	EVP_PKEY *pk = NULL;
	BIO *in = NULL, *pub = NULL;
	int rc = read_file(path, &k->sign_key, &k->sign_len);

	if (rc != ERR_OK)
		return rc;
	rc = ERR_INVALID;
	in = BIO_new_mem_buf(k->sign_key, (int)k->sign_len);
	if (in == NULL)
		abort();
	pk = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL);
	if (pk == NULL) {
		log_error("JWT private key %s: not an unencrypted PEM private key", path);
		goto out;
	}
	if (check_key_type(pk, k->alg, "private") != ERR_OK)
		goto out;
	if (want_pub) {
		char *data;
		long n;

		pub = BIO_new(BIO_s_mem());
		if (pub == NULL || PEM_write_bio_PUBKEY(pub, pk) != 1)
			goto out;
		n = BIO_get_mem_data(pub, &data);
		if (n <= 0)
			goto out;
		k->verify_key = malloc((size_t)n + 1);
		if (k->verify_key == NULL)
			abort();
		memcpy(k->verify_key, data, (size_t)n);
		k->verify_key[n] = '\0';
		k->verify_len = (size_t)n;
	}
	rc = ERR_OK;
out:
	EVP_PKEY_free(pk);
	BIO_free(in);
	BIO_free(pub);
	return rc;
}

static int load_public(struct token_keys *k, const char *path)
{
	EVP_PKEY *pk = NULL;
	BIO *in = NULL;
	int rc = read_file(path, &k->verify_key, &k->verify_len);

	if (rc != ERR_OK)
		return rc;
	rc = ERR_INVALID;
	in = BIO_new_mem_buf(k->verify_key, (int)k->verify_len);
	if (in == NULL)
		abort();
	pk = PEM_read_bio_PUBKEY(in, NULL, no_passphrase, NULL);
	if (pk == NULL) {
		log_error("JWT public key %s: not a PEM public key (SubjectPublicKeyInfo)", path);
		goto out;
	}
	rc = check_key_type(pk, k->alg, "public");
out:
	EVP_PKEY_free(pk);
	BIO_free(in);
	return rc;
}

/* hmac_template keys k->mac_tpl with the HS256 secret (see the top of this file). */
static int hmac_template(struct token_keys *k)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end()};

	k->mac_tpl = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (k->mac_tpl == NULL || !EVP_MAC_init(k->mac_tpl, k->verify_key, k->verify_len, params)) {
		log_error("JWT: cannot set up HMAC-SHA256 (OpenSSL)");
		return ERR_INTERNAL;
	}
	return ERR_OK;
}

/* hs256_ok: sig (n bytes, decoded) is the HMAC-SHA256 of the signed part. */
static int hs256_ok(const struct token_keys *k, const char *signed_part, size_t len,
                    const unsigned char *sig, size_t n)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mlen = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->mac_tpl);
	int ok = c != NULL && EVP_MAC_update(c, (const unsigned char *)signed_part, len) &&
	         EVP_MAC_final(c, mac, &mlen, sizeof(mac)) && mlen == 32 && n == mlen &&
	         CRYPTO_memcmp(mac, sig, mlen) == 0;

	EVP_MAC_CTX_free(c);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

int token_keys_load(const struct config *cfg, struct token_keys **out)
{
	struct token_keys *k = calloc(1, sizeof(*k));
	const char *alg = cfg->jwt_algorithm != NULL && *cfg->jwt_algorithm != '\0'
	                      ? cfg->jwt_algorithm
	                      : "HS256";
	const char *priv = cfg->jwt_private_key_file;
	const char *pubf = cfg->jwt_public_key_file;
	int rc = ERR_INVALID;

	*out = NULL;
	if (k == NULL)
		abort();
	if (strcmp(alg, "HS256") == 0) {
		k->alg = JWT_ALG_HS256;
		k->alg_name = "HS256";
	} else if (strcmp(alg, "RS256") == 0) {
		k->alg = JWT_ALG_RS256;
		k->alg_name = "RS256";
	} else if (strcmp(alg, "ES256") == 0) {
		k->alg = JWT_ALG_ES256;
		k->alg_name = "ES256";
	} else {
		log_error("JWT_ALGORITHM must be HS256, RS256 or ES256");
		goto out;
	}

	if (k->alg == JWT_ALG_HS256) {
		const char *s = cfg->jwt_secret_key;
		size_t n = s != NULL ? strlen(s) : 0;

		if (n == 0) {
			log_error("JWT_SECRET_KEY is required for HS256");
			goto out;
		}
		if (n < HS256_MIN_KEY) {
			if (!cfg->dev_mode) {
				log_error("JWT_SECRET_KEY must be at least %d bytes",
				          HS256_MIN_KEY);
				goto out;
			}
			log_warn(
			    "JWT_SECRET_KEY is shorter than %d bytes (allowed in development only)",
			    HS256_MIN_KEY);
		}
		k->sign_key = malloc(n + 1);
		k->verify_key = malloc(n + 1);
		if (k->sign_key == NULL || k->verify_key == NULL)
			abort();
		memcpy(k->sign_key, s, n + 1);
		memcpy(k->verify_key, s, n + 1);
		k->sign_len = k->verify_len = n;
		if (hmac_template(k) != ERR_OK)
			goto out;
	} else {
		int have_priv = priv != NULL && *priv != '\0';
		int have_pub = pubf != NULL && *pubf != '\0';

		if (!have_priv && !have_pub) {
			log_error("%s needs MEDRIN_JWT_PUBLIC_KEY_FILE (and the private key file "
			          "to issue tokens)",
			          k->alg_name);
			goto out;
		}
		if (have_priv && load_private(k, priv, !have_pub) != ERR_OK)
			goto out;
		if (have_pub && load_public(k, pubf) != ERR_OK)
			goto out;
		if (!have_priv)
			log_info("JWT: no private key configured; this host verifies tokens only");
	}

	k->issuer = xstrdup(cfg->jwt_issuer != NULL && *cfg->jwt_issuer != '\0' ? cfg->jwt_issuer
	                                                                        : "medrin");
	k->audience =
	    xstrdup(cfg->jwt_audience != NULL && *cfg->jwt_audience != '\0' ? cfg->jwt_audience
	                                                                    : "medrin-api");
	k->access_seconds =
	    (int64_t)(cfg->jwt_access_minutes > 0 ? cfg->jwt_access_minutes : 30) * 60;
	k->refresh_seconds =
	    (int64_t)(cfg->jwt_refresh_days > 0 ? cfg->jwt_refresh_days : 7) * 86400;
	*out = k;
	k = NULL;
	rc = ERR_OK;
out:
	token_keys_free(k);
	return rc;
}

static void free_secret(unsigned char *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

void token_keys_free(struct token_keys *k)
{
	if (k == NULL)
		return;
	free_secret(k->sign_key, k->sign_len);
	free_secret(k->verify_key, k->verify_len);
	EVP_MAC_CTX_free(k->mac_tpl);
	free(k->issuer);
	free(k->audience);
	free(k);
}

/* ---- issuing ---- */

int token_issue(const struct token_keys *k, struct arena *a, struct token_claims *claims,
                char **out)
{
	jwt_t *jwt = NULL;
	char *enc = NULL;
	int64_t now = util_wall_sec();
	int access = claims->typ == TOKEN_ACCESS;
	int rc = ERR_INTERNAL;

	*out = NULL;
	if (k->sign_key == NULL) {
		log_error("token_issue: no private key on this host (MEDRIN_JWT_PRIVATE_KEY_FILE)");
		return ERR_INTERNAL;
	}
	if (claims->sub == NULL || claims->jti == NULL || claims->sid == NULL ||
	    (access && claims->role == NULL))
		return ERR_INVALID;
	claims->iat = now;
	claims->exp = now + (access ? k->access_seconds : k->refresh_seconds);
	if (jwt_new(&jwt) != 0)
		goto out;
	if (jwt_add_grant(jwt, "sub", claims->sub) != 0 ||
	    jwt_add_grant(jwt, "jti", claims->jti) != 0 ||
	    jwt_add_grant(jwt, "sid", claims->sid) != 0 ||
	    jwt_add_grant(jwt, "iss", k->issuer) != 0 ||
	    jwt_add_grant(jwt, "aud", k->audience) != 0 ||
	    jwt_add_grant(jwt, "typ", access ? "access" : "refresh") != 0 ||
	    (access && jwt_add_grant(jwt, "role", claims->role) != 0) ||
	    jwt_add_grant_int(jwt, "iat", (long)claims->iat) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)claims->exp) != 0)
		goto out;
	if (jwt_set_alg(jwt, k->alg, k->sign_key, (int)k->sign_len) != 0) {
		log_error("token_issue: the signing key was refused by libjwt");
		goto out;
	}
	enc = jwt_encode_str(jwt);
	if (enc == NULL) {
		log_error("token_issue: jwt_encode_str failed");
		goto out;
	}
	*out = arena_strdup(a, enc);
	rc = ERR_OK;
out:
	free(enc);
	jwt_free(jwt);
	return rc;
}

/* ---- verification ---- */

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* b64url_decode decodes unpadded base64url strictly: only the 64 characters, no '=',
 * and unused trailing bits must be zero (one token has one spelling). The result is
 * NUL-terminated in the arena. */
static int b64url_decode(struct arena *a, const char *s, size_t n, char **out, size_t *outlen)
{
	char *dst;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return ERR_INVALID;
	dst = arena_alloc(a, n * 3 / 4 + 1);
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)s[i]);

		if (v < 0)
			return ERR_INVALID;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return ERR_INVALID;
	dst[o] = '\0';
	*out = dst;
	*outlen = o;
	return ERR_OK;
}

/* parse_object decodes one base64url segment holding a JSON object. The caller puts
 * the returned object. */
static json_object *parse_object(struct arena *a, const char *s, size_t n)
{
	char *txt;
	size_t len;
	json_tokener *tok;
	json_object *obj;

	if (b64url_decode(a, s, n, &txt, &len) != ERR_OK || strlen(txt) != len)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, txt, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                    json_tokener_get_parse_end(tok) != len ||
	                    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* get_int: 1 when key is present and an integer, 0 when absent, -1 for another type. */
static int get_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0 ? 1 : -1;
}

static int aud_matches(json_object *payload, const char *want)
{
	json_object *v;

	if (!json_object_object_get_ex(payload, "aud", &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), want) == 0;
	if (!json_object_is_type(v, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), want) == 0)
			return 1;
	}
	return 0;
}

static const char *nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* check_header: alg must be the pinned one, typ absent or "JWT", no crit extensions. */
static const char *check_header(const struct token_keys *k, json_object *h)
{
	json_object *v;
	const char *alg = get_str(h, "alg");

	if (alg == NULL || strcmp(alg, k->alg_name) != 0)
		return "header alg is not the pinned algorithm";
	if (json_object_object_get_ex(h, "typ", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), "JWT") != 0))
		return "header typ is not JWT";
	if (json_object_object_get_ex(h, "crit", &v))
		return "header has crit";
	return NULL;
}

static const char *check_claims(const struct token_keys *k, struct arena *a, json_object *p,
                                enum token_type want, struct token_claims *c)
{
	int64_t now = util_wall_sec();
	int64_t exp = 0, iat = 0, nbf = 0;
	const char *typ = get_str(p, "typ");
	const char *iss = get_str(p, "iss");
	const char *sub = nonempty(get_str(p, "sub"));
	const char *jti = nonempty(get_str(p, "jti"));
	const char *sid = nonempty(get_str(p, "sid"));
	const char *role = nonempty(get_str(p, "role"));
	int r;

	if (typ == NULL || strcmp(typ, want == TOKEN_ACCESS ? "access" : "refresh") != 0)
		return "wrong token type";
	if (get_int(p, "exp", &exp) != 1)
		return "exp missing or not an integer";
	if (exp <= now)
		return "expired";
	r = get_int(p, "nbf", &nbf);
	if (r < 0 || (r == 1 && nbf > now + TOKEN_LEEWAY))
		return "not yet valid (nbf)";
	if (get_int(p, "iat", &iat) != 1)
		return "iat missing or not an integer";
	if (iat > now + TOKEN_LEEWAY)
		return "issued in the future (iat)";
	if (iss == NULL || strcmp(iss, k->issuer) != 0)
		return "wrong issuer";
	if (!aud_matches(p, k->audience))
		return "wrong audience";
	if (sub == NULL || jti == NULL || sid == NULL)
		return "sub, jti or sid missing";
	if (want == TOKEN_ACCESS && role == NULL)
		return "role missing";
	c->typ = want;
	c->sub = arena_strdup(a, sub);
	c->jti = arena_strdup(a, jti);
	c->sid = arena_strdup(a, sid);
	c->role = want == TOKEN_ACCESS ? arena_strdup(a, role) : NULL;
	c->iat = iat;
	c->exp = exp;
	return NULL;
}

int token_verify(const struct token_keys *k, struct arena *a, const char *token,
                 enum token_type want, struct token_claims *claims)
{
	const char *why = NULL;
	const char *dot1, *dot2;
	size_t len;
	json_object *header = NULL, *payload = NULL;
	jwt_t *jwt = NULL;

	memset(claims, 0, sizeof(*claims));
	if (token == NULL) {
		why = "no token";
		goto out;
	}
	len = strnlen(token, TOKEN_MAX_LEN + 1);
	if (len == 0 || len > TOKEN_MAX_LEN) {
		why = "empty or oversize";
		goto out;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
		why = "not three parts";
		goto out;
	}
	size_t hlen = (size_t)(dot1 - token);
	size_t plen = (size_t)(dot2 - dot1 - 1);
	size_t slen = len - (size_t)(dot2 + 1 - token);
	char *scratch;
	size_t n;

	if (hlen == 0 || plen == 0 || slen == 0) {
		why = "empty part";
		goto out;
	}
	if (b64url_decode(a, dot2 + 1, slen, &scratch, &n) != ERR_OK) {
		why = "signature is not canonical base64url";
		goto out;
	}
	header = parse_object(a, token, hlen);
	if (header == NULL) {
		why = "header is not a base64url JSON object";
		goto out;
	}
	why = check_header(k, header);
	if (why != NULL)
		goto out;
	payload = parse_object(a, dot1 + 1, plen);
	if (payload == NULL) {
		why = "payload is not a base64url JSON object";
		goto out;
	}
	/* Only now, with the alg pinned, is the signature checked. */
	if (k->alg == JWT_ALG_HS256) {
		if (!hs256_ok(k, token, (size_t)(dot2 - token), (const unsigned char *)scratch,
		              n)) {
			why = "bad signature";
			goto out;
		}
	} else if (jwt_decode(&jwt, token, k->verify_key, (int)k->verify_len) != 0 || jwt == NULL) {
		why = "bad signature";
		goto out;
	}
	if (jwt != NULL && jwt_get_alg(jwt) != k->alg) {
		why = "libjwt used another alg";
		goto out;
	}
	why = check_claims(k, a, payload, want, claims);
out:
	jwt_free(jwt);
	json_object_put(header);
	json_object_put(payload);
	if (why != NULL) {
		log_debug("token rejected: %s", why);
		memset(claims, 0, sizeof(*claims));
		return ERR_UNAUTHORIZED;
	}
	return ERR_OK;
}
