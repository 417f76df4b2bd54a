/* fuzz_request.c - libFuzzer driver: the request builder (fcgi/request.c) that turns
 * FastCGI parameters and a body into lib's struct http_req. Input: NAME=VALUE lines (the
 * parameters, as nginx would send them), an empty line, then the body. The body is handed
 * over only when it is exactly as long as CONTENT_LENGTH says. Header lookups and the
 * router then run on the result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "base/arena.h"
#include "http/http.h"
#include "http/router.h"
#include "request.h"

#define MAX_PARAMS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct params {
	size_t n;
	const char *name[MAX_PARAMS], *value[MAX_PARAMS];
};

static const char *getparam(void *ctx, const char *name)
{
	const struct params *p = ctx;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0)
			return p->value[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct params p;
	struct http_req hr;
	struct router_match m;
	const char *s = (const char *)data, *end = s + size;
	enum fcgi_body body;

	if (a == NULL)
		a = arena_new(1 << 16);
	arena_reset(a);
	memset(&p, 0, sizeof p);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(s, '=', (size_t)(line_end - s));

		if (line_end == s) { /* the empty line: the body follows */
			s++;
			break;
		}
		if (eq != NULL && p.n < MAX_PARAMS) {
			p.name[p.n] = arena_strndup(a, s, (size_t)(eq - s));
			p.value[p.n] = arena_strndup(a, eq + 1, (size_t)(line_end - eq - 1));
			p.n++;
		}
		s = nl ? nl + 1 : end;
	}
	body = fcgi_request_head(&hr, a, getparam, &p, 4096, "fallback-id");
	if (hr.method == NULL || hr.path == NULL || hr.query == NULL || hr.remote_addr == NULL ||
	    hr.request_id == NULL || !fcgi_request_id_ok(hr.request_id))
		abort();
	switch (body) {
	case FCGI_BODY_READ: {
		size_t avail = (size_t)(end - s);
		size_t got = avail < (size_t)hr.content_length ? avail : (size_t)hr.content_length;
		char *buf = arena_alloc(a, got + 1);
		int rc;

		if (hr.content_length <= 0 || hr.content_length > 4096)
			abort();
		memcpy(buf, s, got);
		rc = fcgi_request_body(&hr, buf, got);
		if ((rc == 0) != (got == (size_t)hr.content_length) || hr.body[hr.body_len] != '\0')
			abort();
		break;
	}
	case FCGI_BODY_DRAIN:
		if (!hr.body_truncated || hr.content_length <= 4096)
			abort();
		break;
	case FCGI_BODY_BAD_LENGTH:
		if (hr.content_length != -1)
			abort();
		break;
	case FCGI_BODY_NONE:
		if (hr.content_length > 0)
			abort();
		break;
	}
	(void)http_header(&hr, "Authorization");
	(void)http_header(&hr, "Content-Type");
	(void)http_header(&hr, "X-Refresh-Token");
	(void)router_match(api_routes, api_nroutes, sizeof api_routes[0], hr.method, hr.path, a,
	                   &m);
	return 0;
}
