/*
 * utf8.h: strict UTF-8 checks (no overlongs, surrogates or code points
 * past U+10FFFF), shared by event.c and reply.c.
 */
#ifndef IMGP_UTF8_H
#define IMGP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if none. */
size_t imgp_utf8_seq(const unsigned char *s, size_t len);
/* Are all len bytes of s valid UTF-8? */
bool imgp_utf8_valid(const char *s, size_t len);

#endif
