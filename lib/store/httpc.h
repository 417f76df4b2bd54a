/* httpc.h - outbound HTTP(S) requests to other services (libcurl), bounded.
 *
 * For the OpenID Connect relying party (discovery, JWKS, token endpoint). Every request
 * has one overall deadline (timeout_ms, connect included) and a cap on the answer's size,
 * follows no redirects, speaks only http and https, verifies TLS certificates against
 * the system's CA store, and never blocks on signals (CURLOPT_NOSIGNAL). Nothing here
 * logs a URL's query, a form body or a credential.
 */
#ifndef MEDRIN_HTTPC_H
#define MEDRIN_HTTPC_H

#include <stddef.h>
#include "base/err.h"

struct arena;

struct httpc_resp {
	long status;
	char *body; /* arena, NUL-terminated */
	size_t len;
};

/* httpc_get: ERR_OK with any HTTP status in *out; ERR_UNAVAILABLE when the server can
 * not be reached or does not answer within timeout_ms; ERR_TOO_LARGE when the body
 * exceeds max_bytes. */
int httpc_get(struct arena *a, const char *url, int timeout_ms, size_t max_bytes,
              struct httpc_resp *out) MUSTCHECK;

/* httpc_post_form POSTs an application/x-www-form-urlencoded body; with user non-NULL
 * the request carries "Authorization: Basic base64(user:password)" (the caller has
 * form-encoded both, RFC 6749 2.3.1). Errors as httpc_get. */
int httpc_post_form(struct arena *a, const char *url, const char *form, const char *user,
                    const char *password, int timeout_ms, size_t max_bytes,
                    struct httpc_resp *out) MUSTCHECK;

#endif
