/* random.h - the CSPRNG (OpenSSL RAND_bytes) and what is made from it. */
#ifndef MEDRIN_RANDOM_H
#define MEDRIN_RANDOM_H

#include <stddef.h>
#include "base/err.h"

struct arena;

/* random_bytes fills buf; aborts the process if the CSPRNG fails (never weak bytes). */
void random_bytes(void *buf, size_t n);
/* A uniformly distributed integer in [0, bound) without modulo bias. bound > 0. */
unsigned random_uniform(unsigned bound);
/* 32 lower-case hex chars (128 bits) in the arena: token ids (jti, sid). */
char *random_id(struct arena *a);
/* A random (version 4) UUID in its text form, in the arena. */
char *random_uuid(struct arena *a);
/* A 6-digit decimal OTP code ("042917"), in secret arena memory. */
char *random_otp_code(struct arena *a);
/* Lower-case hex of n bytes, in the arena. */
char *random_hex(struct arena *a, const unsigned char *bytes, size_t n);

#endif
