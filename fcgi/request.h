/* request.h - the pure part of turning FastCGI parameters and a body into lib's request.
 *
 * fcgi/worker.c reads the parameters and the body off libfcgi's streams; everything that
 * decides what the request *is* (method, raw path, query, content type and length, the
 * request id, the body as handed to lib) lives here, without libfcgi, so that the
 * libFuzzer driver tests/fuzz/fuzz_request.c can call it with arbitrary parameters.
 */
#ifndef MEDRIN_FCGI_REQUEST_H
#define MEDRIN_FCGI_REQUEST_H

#include <stddef.h>
#include "http/http.h"

struct arena;

#define FCGI_REQUEST_ID_MAX 64

/* What fcgi_request_head says about the body to read next. */
enum fcgi_body {
	FCGI_BODY_NONE,      /* no body (absent or zero Content-Length) */
	FCGI_BODY_READ,      /* read exactly hr->content_length bytes, then fcgi_request_body */
	FCGI_BODY_DRAIN,     /* over max_body: hr->body_truncated set, drain and discard */
	FCGI_BODY_BAD_LENGTH /* Content-Length is not a decimal number: answer 400 */
};

/* fcgi_request_content_length: strict CONTENT_LENGTH (decimal digits only, no sign, no
 * blanks, fits a long). 0 and *out, or ERR_INVALID. */
int fcgi_request_content_length(const char *s, long *out);

/* fcgi_request_id_ok: 1 when s may be used as the request id (1..64 bytes of
 * [0-9A-Za-z-_.:]). */
int fcgi_request_id_ok(const char *s);

/* fcgi_request_head fills hr (zeroed first) from the parameters getparam(ctx, NAME)
 * returns (empty values count as absent); fallback_id is the request id used when
 * HTTP_X_REQUEST_ID is absent or unusable. Strings are arena copies or the transport's. */
enum fcgi_body fcgi_request_head(struct http_req *hr, struct arena *a,
                                 const char *(*getparam)(void *ctx, const char *name), void *ctx,
                                 long max_body, const char *fallback_id);

/* fcgi_request_body hands the got bytes read into buf (which has room for got + 1: it is
 * NUL-terminated here and not copied) to hr as the body. Returns 0, or -1 when got is
 * less than hr->content_length (a short body is never handed to lib: the caller answers
 * 400). */
int fcgi_request_body(struct http_req *hr, char *buf, size_t got);

#endif
