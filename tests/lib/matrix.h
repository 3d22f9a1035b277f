/*
 * matrix.h: the format matrix. Every input format imgpipe reads (the files
 * mkimages writes under matrix/: JPEG baseline, progressive, CMYK and
 * EXIF-rotated, PNG 8-bit, 16-bit and palette, WebP lossy, lossless and
 * animated, GIF still and animated, TIFF, HEIC, AVIF) through one
 * `imgpipe resize` into every output it writes (JPEG, PNG, WebP, AVIF,
 * animated WebP), each output decoded back here and checked: its format
 * from its bytes, its size, its orientation and its colours (the quadrants
 * of orient/ref.png, or the frames' solid colours).
 *
 * What the build cannot do, it must say: the formats `imgpipe --version`
 * does not list are expected to fail (an input: a failure naming it; an
 * output: exit 2 at start), so a codec that is missing is a row of the
 * report, never a silent pass. Run on the host by test_formats.c, and in
 * the container image by imagetest.c. Nothing here asserts.
 */
#ifndef IMGP_MATRIX_H
#define IMGP_MATRIX_H

struct matrix_run {
	const char *const *prefix;  /* argv of imgpipe, NULL-ended: { bin } or a container run */
	const char *in_arg;         /* the matrix/ folder as imgpipe sees it */
	const char *in_host;        /* the same folder as this process sees it */
	const char *out_arg;        /* an empty output folder as imgpipe sees it */
	const char *out_host;       /* the same output folder as this process sees it */
};

/*
 * Run the matrix. Returns the number of cells that failed (0: all as they
 * must be), or -1 when it could not run at all; *report (malloc'd) has one
 * line per cell and a last line with the counts and the build's
 * capabilities.
 */
int matrix_check(const struct matrix_run *m, char **report);

#endif
