/* random.c - the CSPRNG and what is made from it; see random.h.
 *
 * Every random byte comes from OpenSSL's RAND_bytes (seeded from getrandom()). If it
 * ever fails we abort: a worker that cannot get good randomness must not hand out
 * tokens or codes made from bad bytes; the master starts a new one.
 */
#include "security/random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "base/arena.h"
#include "base/log.h"

void random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	/* RAND_bytes takes an int length: feed large requests in chunks. */
	while (n > 0) {
		int chunk = n > (1u << 20) ? (1 << 20) : (int)n;

		if (RAND_bytes(p, chunk) != 1) {
			log_error("RAND_bytes failed; aborting");
			abort();
		}
		p += chunk;
		n -= (size_t)chunk;
	}
}

unsigned random_uniform(unsigned bound)
{
	unsigned r;
	/* Values below `min` would make some residues more likely than others: 2^32 mod
	 * bound of them are thrown away, so the rest is a whole number of cycles. */
	unsigned min = (0u - bound) % bound;

	if (bound < 2)
		return 0;
	do
		random_bytes(&r, sizeof(r));
	while (r < min);
	return r % bound;
}

char *random_hex(struct arena *a, const unsigned char *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *out = arena_alloc(a, 2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return out;
}

char *random_id(struct arena *a)
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	return random_hex(a, b, sizeof(b));
}

char *random_uuid(struct arena *a)
{
	unsigned char b[16];
	char *out = arena_alloc(a, 37);

	random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant RFC 4122 */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return out;
}

char *random_otp_code(struct arena *a)
{
	char *out = arena_alloc_secret(a, 7);
	unsigned v = random_uniform(1000000);

	snprintf(out, 7, "%06u", v);
	return out;
}
