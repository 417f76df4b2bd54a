/* seal.c - see seal.h. */
#include "security/seal.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include "base/arena.h"
#include "base/log.h"
#include "security/random.h"

#define SEAL_KEY 32
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_PREFIX "v1."
#define SEAL_MAX (1u << 20) /* the largest body we seal (mails are small) */

static int derive(const char *secret, const char *purpose, unsigned char key[SEAL_KEY])
{
	static const unsigned char salt[] = "medrin-seal-v1";
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = SEAL_KEY;
	int ok;

	if (k == NULL)
		return ERR_INTERNAL;
	ok =
	    EVP_PKEY_derive_init(k) > 0 && EVP_PKEY_CTX_set_hkdf_md(k, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(k, salt, (int)sizeof salt - 1) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(k, (const unsigned char *)secret, (int)strlen(secret)) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(k, (const unsigned char *)purpose, (int)strlen(purpose)) >
	        0 &&
	    EVP_PKEY_derive(k, key, &len) > 0 && len == SEAL_KEY;
	EVP_PKEY_CTX_free(k);
	return ok ? ERR_OK : ERR_INTERNAL;
}

/* gcm runs AES-256-GCM one way (enc 1: encrypt and write tag; 0: decrypt and check it). */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	if (x == NULL)
		return 0;
	ok = EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) > 0 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) > 0 &&
	     EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc) > 0 &&
	     EVP_CipherUpdate(x, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) > 0 &&
	     (n == 0 || EVP_CipherUpdate(x, out, &len, in, (int)n) > 0);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) > 0;
	if (ok)
		ok = EVP_CipherFinal_ex(x, out + (n == 0 ? 0 : len), &len) > 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) > 0;
	EVP_CIPHER_CTX_free(x);
	return ok;
}

int seal_text(struct arena *a, const char *secret, const char *purpose, const char *aad,
              const char *plain, char **out)
{
	unsigned char key[SEAL_KEY];
	size_t n = strlen(plain), raw_len;
	unsigned char *raw;
	char *text;
	int rc;

	*out = NULL;
	if (secret == NULL || *secret == '\0' || n > SEAL_MAX)
		return ERR_INVALID;
	rc = derive(secret, purpose, key);
	if (rc != ERR_OK)
		return rc;
	raw_len = SEAL_NONCE + n + SEAL_TAG;
	raw = arena_alloc(a, raw_len);
	random_bytes(raw, SEAL_NONCE);
	if (!gcm(1, key, raw, aad, (const unsigned char *)plain, n, raw + SEAL_NONCE,
	         raw + SEAL_NONCE + n)) {
		explicit_bzero(key, sizeof key);
		log_error("seal: encryption failed");
		return ERR_INTERNAL;
	}
	explicit_bzero(key, sizeof key);
	text = arena_alloc(a, sizeof SEAL_PREFIX - 1 + 4 * ((raw_len + 2) / 3) + 1);
	memcpy(text, SEAL_PREFIX, sizeof SEAL_PREFIX - 1);
	EVP_EncodeBlock((unsigned char *)text + sizeof SEAL_PREFIX - 1, raw, (int)raw_len);
	*out = text;
	return ERR_OK;
}

int seal_open(struct arena *a, const char *secret, const char *purpose, const char *aad,
              const char *sealed, char **plain)
{
	unsigned char key[SEAL_KEY];
	size_t len, pad = 0, raw_len, n;
	unsigned char *raw;
	char *out;
	int dec, rc;

	*plain = NULL;
	if (secret == NULL || *secret == '\0' || sealed == NULL ||
	    strncmp(sealed, SEAL_PREFIX, sizeof SEAL_PREFIX - 1) != 0)
		return ERR_INVALID;
	sealed += sizeof SEAL_PREFIX - 1;
	len = strlen(sealed);
	if (len == 0 || len % 4 != 0 || len > 4 * (SEAL_MAX / 3 + 16))
		return ERR_INVALID;
	if (sealed[len - 1] == '=')
		pad++;
	if (sealed[len - 2] == '=')
		pad++;
	raw = arena_alloc(a, len / 4 * 3 + 1);
	dec = EVP_DecodeBlock(raw, (const unsigned char *)sealed, (int)len);
	if (dec < 0 || (size_t)dec < pad)
		return ERR_INVALID;
	raw_len = (size_t)dec - pad;
	if (raw_len < SEAL_NONCE + SEAL_TAG)
		return ERR_INVALID;
	n = raw_len - SEAL_NONCE - SEAL_TAG;
	rc = derive(secret, purpose, key);
	if (rc != ERR_OK)
		return rc;
	out = arena_alloc_secret(a, n + 1);
	if (!gcm(0, key, raw, aad, raw + SEAL_NONCE, n, (unsigned char *)out,
	         raw + SEAL_NONCE + n)) {
		explicit_bzero(key, sizeof key);
		return ERR_INVALID;
	}
	explicit_bzero(key, sizeof key);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		return ERR_INVALID;
	*plain = out;
	return ERR_OK;
}
