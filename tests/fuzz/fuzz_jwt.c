/* fuzz_jwt.c - libFuzzer driver: JWT parsing and checks (token_verify, HS256).
 * Even first byte: the rest is the token as a client would send it. Odd first byte: the
 * rest is "header\npayload" JSON, signed here with the configured secret, so the claim
 * checks (alg pinning, typ, exp/nbf/iat, iss, aud, sub/jti/sid) are reached past the
 * signature. Either way a token is accepted only with every claim it needs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "base/arena.h"
#include "base/config.h"
#include "security/token.h"

#define SECRET "fuzz-jwt-secret-0123456789abcdef0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct token_keys *keys;
static struct arena *a;

static char *b64url(struct arena *ar, const unsigned char *in, size_t n)
{
	char *out = arena_alloc(ar, 4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static void setup(void)
{
	static struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.jwt_algorithm = "HS256";
	cfg.jwt_secret_key = SECRET;
	cfg.jwt_access_minutes = 15;
	cfg.jwt_refresh_days = 30;
	cfg.jwt_issuer = "medrin";
	cfg.jwt_audience = "medrin-api";
	if (token_keys_load(&cfg, &keys) != ERR_OK)
		abort();
	a = arena_new(1 << 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims c;
	const char *tok;

	if (keys == NULL)
		setup();
	arena_reset(a);
	if (size < 1 || size > 8192)
		return 0;
	if ((data[0] & 1) == 0) {
		tok = arena_strndup(a, (const char *)data + 1, size - 1);
	} else {
		const char *rest = (const char *)data + 1;
		const char *nl = memchr(rest, '\n', size - 1);
		size_t hl = nl ? (size_t)(nl - rest) : size - 1;
		size_t pl = nl ? size - 1 - hl - 1 : 0;
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		char *signing =
		    arena_printf(a, "%s.%s", b64url(a, (const unsigned char *)rest, hl),
		                 b64url(a, (const unsigned char *)(nl ? nl + 1 : ""), pl));

		if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)signing,
		         strlen(signing), mac, &maclen) == NULL)
			abort();
		tok = arena_printf(a, "%s.%s", signing, b64url(a, mac, maclen));
	}
	for (int t = 0; t < 2; t++) {
		memset(&c, 0, sizeof c);
		if (token_verify(keys, a, tok, t ? TOKEN_REFRESH : TOKEN_ACCESS, &c) == ERR_OK) {
			if (c.sub == NULL || c.jti == NULL || c.sid == NULL ||
			    c.typ != (t ? TOKEN_REFRESH : TOKEN_ACCESS))
				abort();
		}
	}
	return 0;
}
