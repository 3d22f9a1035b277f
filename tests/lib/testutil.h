/*
 * testutil.h: small helpers the test files share: where the generated test
 * images are, scratch folders, running the real binary, reading pixels.
 * Nothing here decides a test's outcome; the tests assert.
 */
#ifndef IMGP_TESTUTIL_H
#define IMGP_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <vips/vips.h>

/* Path of a generated test image (IMGPIPE_TESTDATA/rel); caller frees. */
char *tu_data(const char *rel);
/* The imgpipe binary under test (IMGPIPE_BIN). */
const char *tu_bin(void);
/* The repository root (IMGPIPE_SRCDIR). */
const char *tu_srcdir(void);

/* Whole file into memory (NULL if it cannot be read); caller frees. */
void *tu_read(const char *path, size_t *len);
/* Write a whole file; true on success. */
bool tu_write(const char *path, const void *data, size_t len);
bool tu_exists(const char *path);
/* A new empty folder under TMPDIR; caller frees; tu_rmtree removes it. */
char *tu_tempdir(void);
void tu_rmtree(const char *path);
/* Copy a file (mkdir -p the destination's folder). */
bool tu_copy(const char *from, const char *to);

/* A loopback TCP port nobody listens on now (the kernel's pick), or 0. */
int tu_free_port(void);

/* The last n bytes of text or less, from a line's start, for a failure
 * message (text itself when short; "" for NULL). */
const char *tu_tail(const char *text, size_t n);

/* Run argv (argv[0] a path), wait; stdout and stderr captured (NUL ended,
 * caller frees, either may be NULL). Returns the exit status, or -1. */
int tu_run(const char *const argv[], char **out, char **err);

/* tu_run of the imgpipe under test with these arguments (NULL-ended, at
 * most 21). */
int tu_imgpipe(char **out, char **err, ...);

/* libvips started for the tests of this process (idempotent). */
void tu_vips_start(void);
/* Decode bytes fully; NULL on failure. */
VipsImage *tu_decode(const void *data, size_t len);
/* Pixel (x, y), band b of an 8-bit image, decoded. */
double tu_pixel(VipsImage *image, int x, int y, int band);
/* Count files under a folder whose name contains needle (NULL: all). */
int tu_count_files(const char *dir, const char *needle);

#endif
