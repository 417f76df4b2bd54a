/* buf.h - one bounded, growable byte buffer for building output.
 *
 * Modelled on curl's dynbuf: appending past the buffer's limit fails cleanly with
 * ERR_TOO_LARGE (and leaves the buffer unchanged), it never truncates silently. The
 * contents are always NUL-terminated. Memory comes from an arena when one is given
 * (request lifetime), else from malloc (call buf_free).
 */
#ifndef MEDRIN_BUF_H
#define MEDRIN_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include "base/err.h"

struct arena;

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	size_t limit;        /* maximum len */
	struct arena *arena; /* NULL: heap */
};

void buf_init(struct buf *b, struct arena *a, size_t limit);
int buf_append(struct buf *b, const void *data, size_t n) MUSTCHECK;
int buf_puts(struct buf *b, const char *s) MUSTCHECK;
int buf_putc(struct buf *b, char c) MUSTCHECK;
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) MUSTCHECK;
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
int buf_json_string(struct buf *b, const char *s) MUSTCHECK;
void buf_reset(struct buf *b); /* len = 0, keeps memory */
void buf_free(struct buf *b);  /* heap buffers only; no-op for arena buffers */
/* Returns the contents ("" when empty); valid until the next append/reset. */
const char *buf_str(const struct buf *b);

#endif
