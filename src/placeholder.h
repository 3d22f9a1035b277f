/*
 * placeholder.h: the two image placeholders front ends draw while the real
 * image loads, ThumbHash and BlurHash, and the base64 that carries bytes in
 * JSON. Pure: pixels in, bytes out; no libvips, no I/O, no state.
 *
 * Both encoders follow their reference encoders operation for operation, in
 * doubles, so that the reference decoders (npm `thumbhash`, `blurhash`)
 * draw what the reference encoders would have made; tests/test_placeholder.c
 * compares the bytes with theirs. One deliberate difference, see
 * imgp_blurhash_encode.
 */
#ifndef IMGP_PLACEHOLDER_H
#define IMGP_PLACEHOLDER_H

#include <stddef.h>

/* ThumbHash (Evan Wallace's, https://evanw.github.io/thumbhash/): pixels are
 * RGBA, 8 bits, rows of w*4 bytes, w and h at most 100. Writes the hash
 * bytes (at most IMGP_THUMBHASH_MAX) to out, returns their count, 0 on bad
 * arguments or when memory runs out (it needs 32 * w * h bytes for a moment).
 * RGB is not premultiplied by A. Shrink the image first: 100x100 at most,
 * as the reference insists, for more pixels change nothing but the cost. */
#define IMGP_THUMBHASH_MAX 32
size_t imgp_thumbhash_encode(const unsigned char *rgba, int w, int h,
                             unsigned char out[IMGP_THUMBHASH_MAX]);

/* BlurHash (Wolt's, https://blurha.sh, the algorithm in the spec and the
 * reference TypeScript encoder): pixels are RGB or RGBA (bands 3 or 4), 8
 * bits, `stride` bytes a row; xc, yc components 1..9. Writes the string
 * (NUL-terminated, at most IMGP_BLURHASH_MAX bytes with the NUL) to out;
 * returns its length, 0 on bad arguments or when memory runs out.
 *
 * Alpha is ignored, as by the reference: composite a transparent image
 * first. The cost is w * h * xc * yc: encode a thumbnail.
 *
 * The AC maximum is the largest magnitude, as in the spec's own encoders
 * (Swift, C): the TypeScript encoder (npm blurhash 2.0.5) takes the largest
 * signed value, so that when the strongest component is negative (an image
 * brighter on its right or bottom) every component is clamped to a fraction
 * of its size and the placeholder comes out nearly flat. Wherever the
 * strongest component is positive the two agree byte for byte. */
#define IMGP_BLURHASH_MAX (4 + 2 + 4 + 2 * 81 + 1)
size_t imgp_blurhash_encode(const unsigned char *px, int w, int h, size_t stride, int bands,
                            int xc, int yc, char out[IMGP_BLURHASH_MAX]);

/* Base64 (RFC 4648, with padding) of len bytes into out, which has room for
 * 4 * ((len + 2) / 3) + 1 bytes; returns the length written. */
size_t imgp_base64(const unsigned char *in, size_t len, char *out);

#endif
