/* credentials.c - reading credentials off the transport: the Bearer / x-access-token
 * access token and HTTP Basic. Only the api layer knows where credentials travel; the
 * domain checks them (accounts_authenticate, accounts_login). */
#include "api/api.h"

#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include "base/arena.h"
#include "base/util.h"
#include "domain/accounts.h"

#define TOKEN_MAX_BYTES 4096

/* The access token from "Authorization: Bearer …" or, for older clients, x-access-token. */
static const char *access_token(const struct api_req *r)
{
	const char *h = http_header(r->http, "Authorization");

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	return http_header(r->http, "X-Access-Token");
}

int api_authenticate(struct api_req *r)
{
	const char *token = access_token(r);

	memset(&r->ctx.actor, 0, sizeof r->ctx.actor);
	if (token == NULL || *token == '\0' || strlen(token) > TOKEN_MAX_BYTES)
		return ERR_UNAUTHORIZED;
	return accounts_authenticate(&r->ctx, token);
}

int api_basic_decode(struct arena *a, const char *h, const char **email, const char **password)
{
	unsigned char *out;
	size_t len, pad = 0;
	int n;
	char *colon;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return ERR_NOT_FOUND;
	h += 6;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len == 0 || len % 4 != 0 || len > 4 * 1024)
		return ERR_INVALID;
	if (h[len - 1] == '=')
		pad++;
	if (len >= 2 && h[len - 2] == '=')
		pad++;
	out = arena_alloc_secret(a, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)h, (int)len);
	if (n < 0 || (size_t)n < pad)
		return ERR_INVALID;
	n -= (int)pad;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) != NULL)
		return ERR_INVALID;
	colon = strchr((char *)out, ':');
	if (colon == NULL)
		return ERR_INVALID;
	*colon = '\0';
	*email = util_normalize_email(a, (char *)out);
	*password = colon + 1;
	return ERR_OK;
}

int api_basic_credentials(struct api_req *r, const char **email, const char **password)
{
	return api_basic_decode(r->arena, http_header(r->http, "Authorization"), email, password);
}
