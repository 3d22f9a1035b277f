/*
 * dbuf.c: see dbuf.h. Nothing here knows what the bytes mean.
 */
#include "dbuf.h"

#include <stdio.h>
#include <string.h>

void imgp_dbuf_init(struct imgp_dbuf *b, size_t toobig)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->toobig = toobig;
}

enum imgp_status imgp_dbuf_add(struct imgp_dbuf *b, const void *data, size_t len)
{
	size_t need, cap;
	char *p;

	/* written out so that it cannot wrap: len + 1 for the NUL */
	if(len >= b->toobig || b->len >= b->toobig - len)
		return IMGP_E_TOO_LARGE;
	need = b->len + len + 1;
	if(need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while(cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if(cap > b->toobig)
			cap = b->toobig;
		p = imgp_realloc(b->ptr, cap);
		if(!p)
			return IMGP_E_NOMEM;
		b->ptr = p;
		b->cap = cap;
	}
	if(len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return IMGP_OK;
}

enum imgp_status imgp_dbuf_addf(struct imgp_dbuf *b, const char *fmt, ...)
{
	char small[256];
	char *big;
	va_list ap;
	int n;
	enum imgp_status result;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if(n < 0)
		return IMGP_E_INTERNAL;
	if((size_t)n < sizeof(small))
		return imgp_dbuf_add(b, small, (size_t)n);
	big = imgp_malloc((size_t)n + 1);
	if(!big)
		return IMGP_E_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	result = imgp_dbuf_add(b, big, (size_t)n);
	imgp_free(big);
	return result;
}

const char *imgp_dbuf_str(const struct imgp_dbuf *b)
{
	return b->ptr ? b->ptr : "";
}

char *imgp_dbuf_take(struct imgp_dbuf *b)
{
	char *p = b->ptr;

	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void imgp_dbuf_reset(struct imgp_dbuf *b)
{
	b->len = 0;
	if(b->ptr)
		b->ptr[0] = '\0';
}

void imgp_dbuf_release(struct imgp_dbuf *b)
{
	imgp_free(b->ptr);
	imgp_dbuf_init(b, b->toobig);
}
