/* fuzz_record.c - libFuzzer driver: the Redis-record codecs. record_decode on any bytes;
 * what decodes must encode and decode again to the same fields (a round trip); then the
 * two readers built on it: the user cache (users_cache_decode) and the pending
 * registration (accounts_pending_decode). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/record.h"
#include "domain/accounts.h"
#include "domain/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct record r, back;
	struct user u;
	struct accounts_pending p;
	char *text, *enc;

	if (a == NULL)
		a = arena_new(1 << 16);
	arena_reset(a);
	text = arena_strndup(a, (const char *)data, size);
	if (record_decode(a, (const char *)data, size, &r) == ERR_OK) {
		if (r.n > RECORD_MAX_FIELDS)
			abort();
		enc = record_encode(a, &r);
		if (record_decode(a, enc, strlen(enc), &back) != ERR_OK || back.n != r.n)
			abort();
		for (size_t i = 0; i < r.n; i++)
			if (strcmp(r.f[i].name, back.f[i].name) != 0 ||
			    strcmp(r.f[i].value, back.f[i].value) != 0)
				abort();
		(void)record_pg_array(a, &r);
	}
	if (users_cache_decode(a, text, &u) == ERR_OK && (u.id == NULL || u.email == NULL))
		abort();
	if (accounts_pending_decode(a, (const char *)data, size, &p) == ERR_OK &&
	    p.password_hash == NULL)
		abort();
	return 0;
}
