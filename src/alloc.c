/*
 * alloc.c: the one door imgpipe's own allocations go through.
 *
 * A test can make the Nth allocation fail (curl's "torture" model) to
 * prove that every failure path releases what it holds. libvips, glib,
 * libcurl and jansson allocate on their own and are not counted.
 */
#include "imgpipe.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_after = -1;
static atomic_ulong alloc_count;

/* True when this allocation must fail. */
static bool alloc_should_fail(void)
{
	long left;

	atomic_fetch_add(&alloc_count, 1);
	left = atomic_load(&fail_after);
	if(left < 0)
		return false;
	if(left == 0)
		return true;
	/* another thread may race us here; for a torture test that is fine */
	atomic_fetch_sub(&fail_after, 1);
	return false;
}

void imgp_alloc_fail_after(long n)
{
	atomic_store(&alloc_count, 0);
	atomic_store(&fail_after, n);
}

unsigned long imgp_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

void *imgp_malloc(size_t size)
{
	if(alloc_should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *imgp_calloc(size_t n, size_t size)
{
	if(alloc_should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *imgp_realloc(void *ptr, size_t size)
{
	if(alloc_should_fail())
		return NULL;
	return realloc(ptr, size ? size : 1);
}

bool imgp_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if(n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 8;
	p = imgp_realloc(*arr, ncap * size);
	if(!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

char *imgp_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *copy = imgp_malloc(len + 1);

	if(!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *imgp_strdup(const char *s)
{
	return imgp_strndup(s, strlen(s));
}

char *imgp_asprintf(const char *fmt, ...)
{
	va_list ap;
	int len;
	char *out;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if(len < 0)
		return NULL;
	out = imgp_malloc((size_t)len + 1);
	if(!out)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return out;
}

void imgp_free(void *ptr)
{
	free(ptr);
}
