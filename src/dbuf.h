/*
 * dbuf.h: a growable byte buffer with a hard ceiling, curl's dynbuf.
 *
 * It owns its memory (through imgp_malloc) and keeps a NUL after the
 * bytes, so text can be used as a C string. It must never grow past the
 * ceiling given at init: an over-long response is an error, not a crash.
 */
#ifndef IMGP_DBUF_H
#define IMGP_DBUF_H

#include "imgpipe.h"

struct imgp_dbuf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t toobig;      /* len must stay below this */
};

void imgp_dbuf_init(struct imgp_dbuf *b, size_t toobig);
/* IMGP_E_NOMEM, or IMGP_E_TOO_LARGE when the ceiling would be passed. */
enum imgp_status imgp_dbuf_add(struct imgp_dbuf *b, const void *data, size_t len);
enum imgp_status imgp_dbuf_addf(struct imgp_dbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The bytes so far ("" when empty, never NULL). */
const char *imgp_dbuf_str(const struct imgp_dbuf *b);
/* Hand the memory to the caller (NULL when empty) and reset the buffer. */
char *imgp_dbuf_take(struct imgp_dbuf *b);
void imgp_dbuf_reset(struct imgp_dbuf *b);
void imgp_dbuf_release(struct imgp_dbuf *b);

#endif
