/* fuzz_basic.c - libFuzzer driver: HTTP Basic decoding (api_basic_decode in
 * lib/api/credentials.c). The input is the Authorization header's text; "Basic " is
 * prefixed for odd first bytes so most runs reach the base64 decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "base/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	const char *email = NULL, *password = NULL;
	char *h;
	int rc;

	if (a == NULL)
		a = arena_new(1 << 16);
	arena_reset(a);
	if (size > 0 && (data[0] & 1))
		h = arena_printf(a, "Basic %.*s", (int)(size - 1), (const char *)data + 1);
	else
		h = arena_strndup(a, (const char *)data, size);
	rc = api_basic_decode(a, h, &email, &password);
	if (rc == ERR_OK) {
		if (email == NULL || password == NULL || strchr(password, '\0') == NULL)
			abort();
		(void)strlen(email);
	} else if (rc != ERR_NOT_FOUND && rc != ERR_INVALID) {
		abort();
	}
	return 0;
}
