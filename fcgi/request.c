/* request.c - see request.h. */
#include "request.h"

#include <limits.h>
#include <string.h>
#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"

int fcgi_request_content_length(const char *s, long *out)
{
	long v = 0;

	if (!*s)
		return ERR_INVALID;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return ERR_INVALID;
		if (v > (LONG_MAX - (*s - '0')) / 10)
			return ERR_INVALID;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int fcgi_request_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= FCGI_REQUEST_ID_MAX &&
	       strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:") == n;
}

static const char *param(const char *(*getparam)(void *, const char *), void *ctx, const char *name)
{
	const char *v = getparam(ctx, name);

	return v && *v ? v : NULL;
}

enum fcgi_body fcgi_request_head(struct http_req *hr, struct arena *a,
                                 const char *(*getparam)(void *ctx, const char *name), void *ctx,
                                 long max_body, const char *fallback_id)
{
	const char *v;
	long len = -1;

	memset(hr, 0, sizeof(*hr));
	hr->arena = a;
	hr->getparam = getparam;
	hr->getparam_ctx = ctx;
	v = param(getparam, ctx, "REQUEST_METHOD");
	hr->method = v ? v : "GET";
	/* The raw REQUEST_URI, not nginx's decoded DOCUMENT_URI: the router percent-decodes
	 * path parameters exactly once, so "%2F" or "%25" in an id cannot change the route. */
	v = param(getparam, ctx, "REQUEST_URI");
	if (v)
		hr->path = arena_strndup(a, v, strcspn(v, "?#"));
	else
		hr->path = (v = param(getparam, ctx, "DOCUMENT_URI")) ? v : "/";
	v = param(getparam, ctx, "QUERY_STRING");
	hr->query = v ? v : "";
	hr->content_type = param(getparam, ctx, "CONTENT_TYPE");
	v = param(getparam, ctx, "REMOTE_ADDR");
	hr->remote_addr = v ? v : "";
	v = param(getparam, ctx, "HTTP_X_REQUEST_ID");
	hr->request_id = v && fcgi_request_id_ok(v) ? arena_strdup(a, v) : fallback_id;

	v = param(getparam, ctx, "CONTENT_LENGTH");
	if (v && fcgi_request_content_length(v, &len) < 0) {
		hr->content_length = -1;
		return FCGI_BODY_BAD_LENGTH;
	}
	hr->content_length = len;
	if (len > 0 && len > max_body) {
		hr->body_truncated = 1;
		return FCGI_BODY_DRAIN;
	}
	return len > 0 ? FCGI_BODY_READ : FCGI_BODY_NONE;
}

int fcgi_request_body(struct http_req *hr, char *buf, size_t got)
{
	buf[got] = '\0';
	hr->body = buf;
	hr->body_len = got;
	if (hr->content_length < 0 || got < (size_t)hr->content_length) {
		log_warn("request body short: %zu of %ld bytes", got, hr->content_length);
		return -1;
	}
	return 0;
}
