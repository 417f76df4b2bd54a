/* arena.c - bump allocator with deferred releases; see arena.h. */
#include "base/arena.h"
#include "base/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK (16u * 1024u)

struct block {
	struct block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, aligned */
};

struct deferred {
	struct deferred *next;
	arena_release_fn *fn;
	void *ptr;
};

struct secret {
	struct secret *next;
	void *ptr;
	size_t n;
};

struct arena {
	struct block *head; /* current block; the first block is the tail of the list */
	struct block *first;
	size_t block_size;
	size_t used;
	struct deferred *deferred;
	struct secret *secrets;
};

#define BLOCK_HDR ((sizeof(struct block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static struct block *block_new(size_t size)
{
	struct block *b = util_xmalloc(BLOCK_HDR + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *arena_new(size_t block_size)
{
	struct arena *a = util_xmalloc(sizeof(*a));

	memset(a, 0, sizeof(*a));
	a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
	a->first = block_new(a->block_size);
	a->head = a->first;
	return a;
}

static void run_deferred(struct arena *a)
{
	/* Entries were pushed on the front, so walking the list releases newest first. */
	while (a->deferred != NULL) {
		struct deferred *d = a->deferred;

		a->deferred = d->next;
		d->fn(d->ptr);
	}
	for (struct secret *s = a->secrets; s != NULL; s = s->next)
		explicit_bzero(s->ptr, s->n);
	a->secrets = NULL;
}

void arena_reset(struct arena *a)
{
	run_deferred(a);
	struct block *b = a->head;

	while (b != a->first) {
		struct block *next = b->next;

		free(b);
		b = next;
	}
	a->head = a->first;
	a->first->used = 0;
	a->used = 0;
}

void arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->first);
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (need < n) {
		fputs("medrin: arena allocation overflow\n", stderr);
		abort();
	}
	if (need == 0)
		need = ARENA_ALIGN;
	if (a->head->size - a->head->used < need) {
		size_t size = need > a->block_size ? need : a->block_size;
		struct block *b = block_new(size);

		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)a->head + BLOCK_HDR + a->head->used;

	a->head->used += need;
	a->used += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

void *arena_alloc_secret(struct arena *a, size_t n)
{
	void *p = arena_zalloc(a, n);
	struct secret *s = arena_alloc(a, sizeof(*s));

	s->ptr = p;
	s->n = n;
	s->next = a->secrets;
	a->secrets = s;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		fputs("medrin: arena_vprintf: bad format\n", stderr);
		abort();
	}
	char *p = arena_alloc(a, (size_t)n + 1);

	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void arena_defer(struct arena *a, arena_release_fn *fn, void *ptr)
{
	if (ptr == NULL)
		return;
	struct deferred *d = arena_alloc(a, sizeof(*d));

	d->fn = fn;
	d->ptr = ptr;
	d->next = a->deferred;
	a->deferred = d;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}
