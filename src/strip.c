/*
 * strip.c: surgery on saved bytes. What libvips wrote is cleaned of the
 * metadata imgpipe promises not to keep, in place, the same way on every
 * libvips. Bytes in, bytes out: no libvips, no allocation, and a chunk or
 * segment it cannot read whole is left alone.
 */
#include "render_impl.h"

#include <string.h>

/*
 * Drop the APP1 (EXIF, XMP), APP13 (IPTC) and COM segments of a JPEG in
 * place, keeping JFIF, the ICC profile (APP2) and Adobe's APP14. libvips
 * 8.14 writes a fresh EXIF block unless told to strip, and stripping there
 * drops the profile too: saving unstripped and cleaning here keeps the
 * profile and nothing else, on every libvips.
 */
void imgp_strip_jpeg(unsigned char *buf, size_t *len)
{
	size_t in = 2, out = 2;

	if(*len < 4 || buf[0] != 0xFF || buf[1] != 0xD8)
		return;
	while(in + 4 <= *len && buf[in] == 0xFF) {
		unsigned char marker = buf[in + 1];
		size_t whole = 2 + ((size_t)buf[in + 2] << 8 | buf[in + 3]);

		if(marker == 0xDA || whole > *len - in)
			break;              /* start of scan: the rest is image data */
		if(marker == 0xE1 || marker == 0xED || marker == 0xFE) {
			in += whole;
			continue;
		}
		memmove(buf + out, buf + in, whole);
		in += whole;
		out += whole;
	}
	memmove(buf + out, buf + in, *len - in);
	*len = out + (*len - in);
}

/*
 * Drop the EXIF and XMP chunks of a WebP in place, and their VP8X flags.
 * libvips 8.14.1's webpsave ignores strip and writes a fresh EXIF block;
 * doing it here makes "no EXIF in any output" hold on every libvips.
 */
void imgp_strip_webp(unsigned char *buf, size_t *len)
{
	size_t in = 12, out = 12, vp8x = 0;

	if(*len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WEBP", 4))
		return;
	while(in + 8 <= *len) {
		size_t size = (size_t)buf[in + 4] | (size_t)buf[in + 5] << 8 |
		              (size_t)buf[in + 6] << 16 | (size_t)buf[in + 7] << 24;
		size_t whole = 8 + size + (size & 1);

		if(whole > *len - in)
			return;             /* not ours to repair: leave it alone */
		if(!memcmp(buf + in, "EXIF", 4) || !memcmp(buf + in, "XMP ", 4)) {
			in += whole;
			continue;
		}
		if(!memcmp(buf + in, "VP8X", 4))
			vp8x = out;
		memmove(buf + out, buf + in, whole);
		in += whole;
		out += whole;
	}
	if(vp8x)
		buf[vp8x + 8] &= (unsigned char)~0x0C;     /* EXIF 0x08, XMP 0x04 */
	*len = out;
	buf[4] = (unsigned char)(out - 8);
	buf[5] = (unsigned char)((out - 8) >> 8);
	buf[6] = (unsigned char)((out - 8) >> 16);
	buf[7] = (unsigned char)((out - 8) >> 24);
}
