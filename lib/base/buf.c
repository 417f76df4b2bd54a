/* buf.c - bounded growable buffer; see buf.h. */
#include "base/buf.h"
#include "base/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"

void buf_init(struct buf *b, struct arena *a, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
	b->arena = a;
}

/* grow makes room for `extra` more bytes plus the terminating NUL. */
static int grow(struct buf *b, size_t extra)
{
	if (extra > b->limit || b->len > b->limit - extra)
		return ERR_TOO_LARGE;
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return ERR_OK;
	size_t cap = b->cap ? b->cap : 256;

	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p;

	if (b->arena != NULL) {
		p = arena_alloc(b->arena, cap);
		if (b->len)
			memcpy(p, b->data, b->len);
	} else {
		p = util_xrealloc(b->data, cap);
	}
	b->data = p;
	b->cap = cap;
	return ERR_OK;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	int rc = grow(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return ERR_OK;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	int rc = grow(b, (size_t)n);

	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ERR_OK;
}

int buf_json_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t start_len = b->len;
	int rc = buf_putc(b, '"');

	while (rc == ERR_OK && *p) {
		const unsigned char *run = p;

		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			rc = buf_append(b, run, (size_t)(p - run));
		if (rc || *p == '\0')
			break;
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t n = 2;

		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
		}
		rc = buf_append(b, esc, n);
		p++;
	}
	if (rc == ERR_OK)
		rc = buf_putc(b, '"');
	if (rc) {
		/* Leave the buffer as it was: never a half-written string. */
		b->len = start_len;
		if (b->data)
			b->data[b->len] = '\0';
	}
	return rc;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	if (b->arena == NULL)
		free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}
