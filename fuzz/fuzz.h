/*
 * fuzz.h: what every libFuzzer target here shares. Each target feeds the
 * bytes libFuzzer gives it to one of imgpipe's parsers through the same
 * function production code calls, then releases what came back, so that
 * AddressSanitizer sees every read and LeakSanitizer every leak.
 */
#ifndef IMGP_FUZZ_H
#define IMGP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgpipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a NUL-ended string (parsers that take C strings); a NUL
 * inside it simply ends the string early, as it would in production. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if(!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
