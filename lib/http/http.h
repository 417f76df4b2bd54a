/* http.h - lib's transport-free model of one HTTP request and its response.
 *
 * fcgi/ fills struct http_req from FastCGI params (CGI variable names) and writes struct
 * http_resp back; tests fill them by hand. Everything lives in the request arena.
 */
#ifndef MEDRIN_HTTP_H
#define MEDRIN_HTTP_H

#include <stddef.h>
#include "base/buf.h"

struct arena;

#define HTTP_MAX_HEADERS 16
#define HTTP_RESP_LIMIT (4u << 20) /* largest response body we build */

struct http_req {
	struct arena *arena;
	const char *method;       /* REQUEST_METHOD */
	const char *path;         /* path without query (from DOCUMENT_URI / REQUEST_URI) */
	const char *query;        /* QUERY_STRING, "" when none */
	const char *content_type; /* CONTENT_TYPE or NULL */
	const char *remote_addr;  /* REMOTE_ADDR */
	const char *request_id;   /* HTTP_X_REQUEST_ID from nginx ($request_id) or generated */
	long content_length;      /* CONTENT_LENGTH, -1 when absent */
	const char *body;         /* NUL-terminated copy, body_len bytes; NULL when none */
	size_t body_len;
	int body_truncated; /* the transport refused a body over its hard cap */
	/* header lookup by CGI name ("HTTP_AUTHORIZATION"); the transport supplies it */
	const char *(*getparam)(void *ctx, const char *name);
	void *getparam_ctx;
};

struct http_header {
	const char *name;
	const char *value;
};

struct http_resp {
	int status;
	const char *content_type; /* NULL: no body */
	struct buf body;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
};

/* http_param returns a request parameter by CGI name through r->getparam, or NULL (also
 * when the transport supplies no getparam). The string is owned by the transport and
 * lives as long as the request. */
const char *http_param(const struct http_req *r, const char *name);
/* http_header returns an HTTP header by its wire name, case-insensitive: "Authorization" ->
 * HTTP_AUTHORIZATION, "X-Request-Id" -> HTTP_X_REQUEST_ID; Content-Type and Content-Length
 * map to CONTENT_TYPE / CONTENT_LENGTH (Content-Type falls back to r->content_type).
 * NULL when absent or when the name is longer than 120 bytes. Owned by the transport. */
const char *http_header(const struct http_req *r, const char *name);

/* http_resp_init: status 200, no content type, an empty body bounded by HTTP_RESP_LIMIT
 * (arena memory), no headers. */
void http_resp_init(struct http_resp *resp, struct arena *a);
/* Adds a response header (copied into the arena); one already set with the same name
 * (case-insensitive) is replaced, so Retry-After or Allow never appear twice. Past HTTP_MAX_HEADERS
 * it is dropped and logged, never overflows; a name or value containing CR, LF (header injection)
 * is dropped and logged too. */
void http_resp_header(struct http_resp *resp, struct arena *a, const char *name, const char *value);
/* The reason phrase for a status ("Unprocessable Content"), "Unknown" otherwise. */
const char *http_reason(int status);

/* http_method_name returns the static spelling of a known method ("GET", "HEAD", "POST",
 * "PUT", "PATCH", "DELETE", "OPTIONS") equal to method, else "OTHER". For logs and
 * metrics: no client bytes ever reach them. */
const char *http_method_name(const char *method);

/* http_utf8_valid returns 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), else 0. NUL bytes are valid UTF-8. */
int http_utf8_valid(const char *s, size_t n);

#endif
