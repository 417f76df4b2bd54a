/* seal.h - authenticated encryption of secrets kept at rest (the bodies of queued mails,
 * which carry OTP codes): AES-256-GCM with a key derived from SECRET_KEY by HKDF-SHA256
 * (salt "medrin-seal-v1", info = the purpose, e.g. "mail"), a fresh random 96-bit nonce
 * per message, and associated data the caller binds the ciphertext to (the recipient),
 * so a sealed body cannot be moved to another task's address. Text form:
 * "v1." + base64(nonce | ciphertext | 16-byte tag). Only the process holding SECRET_KEY
 * (the fcgi workers seal, medrin-worker opens) can read it. docs/auth.md "Mail at rest".
 */
#ifndef MEDRIN_SEAL_H
#define MEDRIN_SEAL_H

#include <stddef.h>
#include "base/err.h"

struct arena;

/* seal_text encrypts plain (NUL-terminated) for purpose, bound to aad; *out is the text
 * form in the arena. ERR_INVALID when secret is empty, ERR_INTERNAL when OpenSSL fails. */
int seal_text(struct arena *a, const char *secret, const char *purpose, const char *aad,
              const char *plain, char **out) MUSTCHECK;

/* seal_open decrypts what seal_text made with the same secret, purpose and aad; *plain
 * is NUL-terminated secret arena memory (wiped on reset). ERR_INVALID when the text is
 * malformed, was altered, or was sealed with another key, purpose or aad. */
int seal_open(struct arena *a, const char *secret, const char *purpose, const char *aad,
              const char *sealed, char **plain) MUSTCHECK;

#endif
