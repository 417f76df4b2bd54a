/* fuzz_router.c - libFuzzer driver: the router against the real route table
 * (lib/api/routes.c). Input: a method byte, then the path. A match must name a real
 * entry with only decoded, slash-free, NUL-free parameters; a 405 must list methods. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "base/arena.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
	                                      "PATCH", "DELETE", "OPTIONS", "BREW"};
	static struct arena *a;
	struct router_match m;
	enum router_result res;
	char *path;

	if (size < 1)
		return 0;
	if (a == NULL)
		a = arena_new(1 << 16);
	arena_reset(a);
	path = arena_strndup(a, (const char *)data + 1, size - 1);
	res = router_match(api_routes, api_nroutes, sizeof api_routes[0], methods[data[0] & 7],
	                   path, a, &m);
	switch (res) {
	case ROUTER_MATCH:
		if (m.index >= api_nroutes || m.nparams > ROUTER_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < m.nparams; i++) {
			const char *v = m.values[i];

			if (v == NULL || m.names[i] == NULL || *v == '\0' ||
			    strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
			    !http_utf8_valid(v, strlen(v)) || router_param(&m, m.names[i]) == NULL)
				abort();
		}
		break;
	case ROUTER_METHOD_NOT_ALLOWED:
		if (m.allow[0] == '\0' || memchr(m.allow, '\0', sizeof m.allow) == NULL)
			abort();
		break;
	case ROUTER_NOT_FOUND: break;
	default: abort();
	}
	return 0;
}
