/* password.c - argon2id hashes, the password policy and the per-host hashing limit;
 * see password.h and docs/internals/security.md.
 *
 * Parameters are OWASP's first argon2id recommendation (m=19 MiB, t=2, p=1) with a 16-byte
 * salt and a 32-byte tag. The limiter is a set of slot files; holding a slot is holding an
 * flock() on one of them, so a worker that dies releases its slot with its last fd.
 */
#include "security/password.h"
#include "security/common_passwords.h"

#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "security/random.h"

#define PW_T_COST 2u
#define PW_M_COST 19456u /* KiB */
#define PW_PARALLELISM 1u
#define PW_SALT_LEN 16u
#define PW_HASH_LEN 32u

/* Refuse to run a stored hash whose parameters would make one verification cost more
 * than this (a corrupted or hostile row must not exhaust the worker). */
#define PW_M_COST_MAX (1u << 20) /* 1 GiB */
#define PW_T_COST_MAX 16u
#define PW_P_MAX 16u

#define LIMITER_MAX 8
#define LIMITER_SLOTS_MAX 256
#define LIMITER_POLL_NS (1000 * 1000L)
#define LIMITER_POLLS 1000 /* ~1 s */

/* n hashing slots (hash-slot-K) and n waiting tickets (hash-wait-K): fds[0..n) are the
 * slots, fds[n..2n) the tickets. */
struct limiter {
	int used;
	pid_t pid; /* process that opened the fds (flock is per open file) */
	int n;
	int fds[2 * LIMITER_SLOTS_MAX];
	char dir[PATH_MAX];
};

static struct limiter limiters[LIMITER_MAX];

static char dummy_hash[160];
static int dummy_ready;

/* ---- policy ---- */

/* Unicode White_Space (PropList.txt): a password made only of these is refused, whether
 * they are ASCII blanks or, say, no-break or ideographic spaces. */
static int is_white_space(unsigned long cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Characters that render as nothing (or as blank): a password made only of these and
 * white space is refused like an all-blank one. */
static int is_invisible(unsigned long cp)
{
	return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f || cp == 0x1160 ||
	       cp == 0x17b4 || cp == 0x17b5 || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0x2800 ||
	       cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
	       (cp >= 0xfff0 && cp <= 0xfff8) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
	       (cp >= 0xe0000 && cp <= 0xe0fff) || cp < 0x20 || cp == 0x7f ||
	       (cp >= 0x80 && cp < 0xa0);
}

const char password_too_common_message[] =
    "is too common (it is on a list of common passwords): choose another one";

static int cmp_common(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

int password_is_common(const char *pw)
{
	size_t n = pw != NULL ? strlen(pw) : 0;
	char low[PASSWORD_MAX_BYTES + 1];

	if (n == 0 || n > PASSWORD_MAX_BYTES)
		return 0;
	for (size_t i = 0; i <= n; i++)
		low[i] = (pw[i] >= 'A' && pw[i] <= 'Z') ? (char)(pw[i] - 'A' + 'a') : pw[i];
	int hit = bsearch(low, common_passwords, common_passwords_n, sizeof common_passwords[0],
	                  cmp_common) != NULL;

	explicit_bzero(low, sizeof low);
	return hit;
}

const char *password_check_new(const char *pw, const char **code)
{
	const char *why = password_policy(pw);

	*code = why == NULL                          ? NULL
	        : why == password_too_common_message ? "password_too_common"
	                                             : "validation_failed";
	return why;
}

const char *password_policy(const char *pw)
{
	size_t bytes, chars = 0;
	int all_space = 1;

	if (pw == NULL)
		return "is required";
	bytes = strlen(pw);
	if (bytes > PASSWORD_MAX_BYTES)
		return "must be at most 128 bytes";
	for (const unsigned char *p = (const unsigned char *)pw; *p != '\0';) {
		/* one UTF-8 code point (counted as one character, not by its bytes) */
		unsigned long cp = *p;
		int more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;

		if (more > 0)
			cp &= 0x3fu >> more;
		p++;
		for (; more > 0 && (*p & 0xc0) == 0x80; more--, p++)
			cp = (cp << 6) | (*p & 0x3fu);
		chars++;
		if (!is_white_space(cp) && !is_invisible(cp))
			all_space = 0;
	}
	if (chars < PASSWORD_MIN_LEN)
		return "must be at least 8 characters";
	if (all_space)
		return "must not be only whitespace or invisible characters";
	if (password_is_common(pw))
		return password_too_common_message;
	return NULL;
}

/* ---- limiter ---- */

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -1;
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];

		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -1;
		path[i] = saved;
	}
	return 0;
}

static void limiter_close_fds(struct limiter *l)
{
	for (int i = 0; i < 2 * l->n; i++) {
		if (l->fds[i] >= 0)
			close(l->fds[i]);
		l->fds[i] = -1;
	}
}

static int limiter_open_fds(struct limiter *l)
{
	for (int i = 0; i < 2 * l->n; i++)
		l->fds[i] = -1;
	for (int i = 0; i < 2 * l->n; i++) {
		char path[PATH_MAX + 32];

		if (i < l->n)
			snprintf(path, sizeof(path), "%s/hash-slot-%d", l->dir, i);
		else
			snprintf(path, sizeof(path), "%s/hash-wait-%d", l->dir, i - l->n);
		l->fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (l->fds[i] < 0) {
			log_warn("hashing limiter: cannot open slot file %s: %s", path,
			         strerror(errno));
			limiter_close_fds(l);
			return -1;
		}
	}
	l->pid = getpid();
	return 0;
}

int password_limiter_open(const struct config *cfg)
{
	const char *dir = cfg != NULL ? cfg->hash_lock_dir : NULL;
	long n = cfg != NULL ? cfg->hash_concurrency : 0;
	struct limiter *l = NULL;
	int handle = -1;

	if (dir == NULL || *dir == '\0' || strlen(dir) >= PATH_MAX) {
		log_warn("hashing limiter: MEDRIN_RUN_DIR unset; password hashing is unlimited");
		return -1;
	}
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > LIMITER_SLOTS_MAX)
		n = LIMITER_SLOTS_MAX;
	for (int i = 0; i < LIMITER_MAX; i++) {
		if (!limiters[i].used) {
			l = &limiters[i];
			handle = i;
			break;
		}
	}
	if (l == NULL) {
		log_warn("hashing limiter: too many limiters open; hashing is unlimited");
		return -1;
	}
	if (mkdir_p(dir) != 0) {
		log_warn("hashing limiter: cannot create %s: %s; hashing is unlimited", dir,
		         strerror(errno));
		return -1;
	}
	memcpy(l->dir, dir, strlen(dir) + 1);
	l->n = (int)n;
	if (limiter_open_fds(l) != 0) {
		log_warn("hashing limiter: %s unusable; hashing is unlimited", dir);
		return -1;
	}
	l->used = 1;
	return handle;
}

void password_limiter_close(int handle)
{
	if (handle < 0 || handle >= LIMITER_MAX || !limiters[handle].used)
		return;
	limiter_close_fds(&limiters[handle]);
	limiters[handle].used = 0;
}

/* try_lock takes the first free lock of fds[0..n), starting at start; 1 and its fd in
 * *fd when one was free, else 0. */
static int try_lock(const int *fds, int n, int start, int *fd)
{
	for (int i = 0; i < n; i++) {
		int k = (start + i) % n;

		if (flock(fds[k], LOCK_EX | LOCK_NB) == 0) {
			*fd = fds[k];
			return 1;
		}
	}
	return 0;
}

/* limiter_own makes the fds this process's own. Opened before a fork, they share the
 * parent's open files, so their locks would be the parent's: open our own. 0, or -1
 * (the limiter is then unusable here; services_open refuses to start on it). */
static int limiter_own(struct limiter *l)
{
	if (l->pid == getpid())
		return 0;
	limiter_close_fds(l);
	return limiter_open_fds(l);
}

int password_limiter_check(int handle)
{
	if (handle < 0)
		return ERR_OK;
	if (handle >= LIMITER_MAX || !limiters[handle].used)
		return ERR_INTERNAL;
	return limiter_own(&limiters[handle]) == 0 ? ERR_OK : ERR_INTERNAL;
}

/* limiter_acquire takes a slot; *fd is the locked slot's fd (-1: no limiter). */
static int limiter_acquire(int handle, int *fd)
{
	struct limiter *l;

	*fd = -1;
	if (handle < 0)
		return ERR_OK;
	if (handle >= LIMITER_MAX || !limiters[handle].used)
		return ERR_INTERNAL;
	l = &limiters[handle];
	if (limiter_own(l) != 0)
		return ERR_INTERNAL;
	int start = (int)(getpid() % l->n);

	if (try_lock(l->fds, l->n, start, fd))
		return ERR_OK;
	/* Every slot is busy. Waiting occupies this worker, so only as many workers as there
	 * are slots may wait (one ticket each); the rest are refused at once. At most 2n
	 * workers per host are ever in here, and the others keep serving every endpoint
	 * that does not hash, even during a login storm. */
	int ticket;

	if (!try_lock(l->fds + l->n, l->n, start, &ticket))
		return ERR_BUSY;
	for (int poll = 0; poll < LIMITER_POLLS; poll++) {
		struct timespec ts = {0, LIMITER_POLL_NS};

		nanosleep(&ts, NULL);
		if (try_lock(l->fds, l->n, start, fd))
			break;
	}
	flock(ticket, LOCK_UN);
	return *fd >= 0 ? ERR_OK : ERR_BUSY;
}

static void limiter_release(int fd)
{
	if (fd >= 0)
		flock(fd, LOCK_UN);
}

/* ---- hashing ---- */

int password_hash(int limiter, struct arena *a, const char *pw, char **out)
{
	unsigned char salt[PW_SALT_LEN];
	size_t len = argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLELISM, PW_SALT_LEN,
	                               PW_HASH_LEN, Argon2_id) +
	             1;
	char *enc = arena_alloc(a, len);
	int slot = -1;
	int rc;

	*out = NULL;
	rc = limiter_acquire(limiter, &slot);
	if (rc != ERR_OK)
		goto out;
	random_bytes(salt, sizeof(salt));
	int ar = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLELISM, pw, strlen(pw), salt,
	                               sizeof(salt), PW_HASH_LEN, enc, len);

	if (ar != ARGON2_OK) {
		log_error("argon2id_hash_encoded: %s", argon2_error_message(ar));
		rc = ERR_INTERNAL;
		goto out;
	}
	*out = enc;
out:
	limiter_release(slot);
	return rc;
}

/* parse_params reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash"; 0 when it has that shape,
 * with *salt_len / *hash_len the lengths of the two base64 fields. */
static int parse_params(const char *enc, unsigned *v, unsigned *m, unsigned *t, unsigned *p,
                        size_t *salt_len, size_t *hash_len)
{
	int used = -1;

	if (enc == NULL || strncmp(enc, "$argon2id$v=", 12) != 0)
		return -1;
	if (sscanf(enc, "$argon2id$v=%u$m=%u,t=%u,p=%u$%n", v, m, t, p, &used) != 4 || used < 0)
		return -1;
	const char *salt = enc + used;
	const char *sep = strchr(salt, '$');

	if (sep == NULL || strchr(sep + 1, '$') != NULL)
		return -1;
	*salt_len = (size_t)(sep - salt);
	*hash_len = strlen(sep + 1);
	return 0;
}

/* The dummy is a real hash of a random password with the current parameters, made on
 * first use (with a slot held), so verifying against it costs exactly a real verify. */
static int ensure_dummy(void);

int password_prepare(void)
{
	return ensure_dummy();
}

static int ensure_dummy(void)
{
	unsigned char pw[16], salt[PW_SALT_LEN];
	int ar;

	if (dummy_ready)
		return ERR_OK;
	random_bytes(pw, sizeof(pw));
	random_bytes(salt, sizeof(salt));
	ar = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLELISM, pw, sizeof(pw), salt,
	                           sizeof(salt), PW_HASH_LEN, dummy_hash, sizeof(dummy_hash));
	explicit_bzero(pw, sizeof(pw));
	if (ar != ARGON2_OK) {
		log_error("argon2id_hash_encoded (dummy): %s", argon2_error_message(ar));
		return ERR_INTERNAL;
	}
	dummy_ready = 1;
	return ERR_OK;
}

int password_verify(int limiter, const char *encoded, const char *pw)
{
	unsigned v, m, t, p;
	size_t sl, hl;
	int slot = -1;
	int rc;

	if (pw == NULL)
		pw = "";
	if (encoded != NULL && (parse_params(encoded, &v, &m, &t, &p, &sl, &hl) != 0 ||
	                        m > PW_M_COST_MAX || t > PW_T_COST_MAX || p == 0 || p > PW_P_MAX)) {
		log_warn("password_verify: stored hash has an unsupported format or parameters");
		return ERR_UNAUTHORIZED;
	}
	rc = limiter_acquire(limiter, &slot);
	if (rc != ERR_OK)
		goto out;
	if (encoded == NULL) {
		rc = ensure_dummy();
		if (rc != ERR_OK)
			goto out;
		(void)argon2id_verify(dummy_hash, pw, strlen(pw));
		rc = ERR_UNAUTHORIZED;
		goto out;
	}
	int ar = argon2id_verify(encoded, pw, strlen(pw));

	if (ar == ARGON2_OK) {
		rc = ERR_OK;
	} else if (ar == ARGON2_VERIFY_MISMATCH) {
		rc = ERR_UNAUTHORIZED;
	} else if (ar == ARGON2_MEMORY_ALLOCATION_ERROR) {
		log_error("argon2id_verify: %s", argon2_error_message(ar));
		rc = ERR_INTERNAL;
	} else {
		log_warn("argon2id_verify: %s", argon2_error_message(ar));
		rc = ERR_UNAUTHORIZED;
	}
out:
	limiter_release(slot);
	return rc;
}

int password_needs_rehash(const char *encoded)
{
	unsigned v, m, t, p;
	size_t sl, hl;

	if (parse_params(encoded, &v, &m, &t, &p, &sl, &hl) != 0)
		return 1;
	/* unpadded base64 lengths of the current salt (16 B) and tag (32 B) */
	return v != ARGON2_VERSION_13 || m < PW_M_COST || t < PW_T_COST || p < PW_PARALLELISM ||
	       sl < 22 || hl < 43;
}
