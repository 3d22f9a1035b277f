/*
 * utf8.c: the one UTF-8 check events and replies share, as strict as
 * jansson: whatever passes here json_string() accepts.
 */
#include "utf8.h"

/*
 * Length of the valid UTF-8 sequence at s (at most len bytes), or 0 if
 * there is none. As strict as jansson: no overlongs, surrogates or code
 * points past U+10FFFF, so whatever passes here json_string() accepts.
 */
size_t imgp_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if(c < 0x80)
		return 1;
	if(c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if(c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if(c == 0xE0) lo = 0xA0;
		if(c == 0xED) hi = 0x9F;
	}
	else if(c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if(c == 0xF0) lo = 0x90;
		if(c == 0xF4) hi = 0x8F;
	}
	else
		return 0;
	if(len < n || s[1] < lo || s[1] > hi)
		return 0;
	for(size_t i = 2; i < n; i++)
		if((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

bool imgp_utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	while(i < len) {
		if(!(n = imgp_utf8_seq((const unsigned char *)s + i, len - i)))
			return false;
		i += n;
	}
	return true;
}
