/* arena.h - request-lifetime memory.
 *
 * Every request gets one arena; the worker resets it after the response is written, so
 * nothing a handler allocates can outlive the request. Handlers never call free().
 * Allocation never fails: out of memory aborts the process (the master starts a new
 * worker), so callers do not check for NULL.
 *
 * Foreign objects that need their own release (PGresult, json_object, redisReply, jwt_t)
 * are registered with arena_defer(); their release functions run on reset in reverse order
 * of registration. Memory from arena_alloc_secret() is wiped (explicit_bzero) on reset.
 */
#ifndef MEDRIN_ARENA_H
#define MEDRIN_ARENA_H

#include <stddef.h>
#include <stdarg.h>

struct arena;

typedef void arena_release_fn(void *ptr);

/* arena_new makes an arena whose first block holds block_size bytes (0: 16 KiB).
 * Larger requests get their own block. Free with arena_free. */
struct arena *arena_new(size_t block_size);
void arena_free(struct arena *a);

/* arena_reset runs deferred releases (newest first), wipes secret allocations, and
 * makes all memory reusable. The first block is kept; others are returned to malloc. */
void arena_reset(struct arena *a);

/* Memory valid until the next arena_reset. Aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
/* Like arena_zalloc, and explicitly wiped on reset (for passwords, codes, keys). */
void *arena_alloc_secret(struct arena *a, size_t n);

char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

/* arena_defer registers fn(ptr) to run on the next reset (or free). ptr may be NULL, in
 * which case nothing is registered. Use a typed adapter, never a cast function pointer. */
void arena_defer(struct arena *a, arena_release_fn *fn, void *ptr);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t arena_used(const struct arena *a);

#endif
