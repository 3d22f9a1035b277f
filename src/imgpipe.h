/*
 * imgpipe.h: the public face of libimgpipe, shared by every module and
 * every handler.
 *
 * It owns the one status enum, the per-call error buffer convention and
 * the allocation hook. It must never include libvips, libcurl or jansson:
 * handlers see plain C types only.
 *
 * Conventions (taken from curl):
 *  - a function that can fail returns `enum imgp_status`; IMGP_OK is 0, so
 *    callers write `result = f(...); if(result) goto out;`
 *  - the human reason goes into a caller-owned `char *err` of IMGP_ERRSIZE
 *    bytes, lowercase, no full stop, never into stdout;
 *  - ownership: whatever a function returns through an OUT pointer belongs
 *    to the caller and is released with the matching _release or _free function.
 */
#ifndef IMGPIPE_H
#define IMGPIPE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMGP_VERSION "0.1.0"
#define IMGP_ERRSIZE 512

/*
 * Every outcome has a stable name (imgp_status_str) that becomes the Lambda
 * errorType, the log field and the CLI's reason prefix, and a class:
 * permanent outcomes are never worth a retry, temporary ones are.
 * Append only; never renumber or rename.
 */
enum imgp_status {
	IMGP_OK = 0,
	/* permanent: the input or the configuration is wrong */
	IMGP_E_USAGE,        /* bad command line */
	IMGP_E_CONFIG,       /* bad variant spec, config file or env */
	IMGP_E_NOT_IMAGE,    /* bytes are not an image we accept */
	IMGP_E_UNSUPPORTED,  /* an image, but a format or feature we refuse */
	IMGP_E_CORRUPT,      /* truncated or damaged image data */
	IMGP_E_TOO_LARGE,    /* over the pixel, byte or frame limit */
	IMGP_E_LOOP,         /* refused by the loop guard */
	IMGP_E_NOT_FOUND,    /* no such object, bucket or file */
	IMGP_E_ACCESS,       /* access denied, bad signature or credentials */
	IMGP_E_REQUEST,      /* any other request the server refuses (4xx) */
	IMGP_E_ENCODE,       /* a saver failed */
	IMGP_E_IO,           /* local file system error */
	/* temporary: worth a retry */
	IMGP_E_NOMEM,        /* allocation failed */
	IMGP_E_NETWORK,      /* connect, reset, DNS */
	IMGP_E_THROTTLED,    /* 503 SlowDown, 429 */
	IMGP_E_SERVER,       /* 5xx */
	IMGP_E_TIMEOUT,      /* a request took too long */
	IMGP_E_DEADLINE,     /* not started or stopped for the invocation deadline */
	IMGP_E_INTERNAL,     /* a bug: should never happen */
	IMGP_STATUS_COUNT
};

const char *imgp_status_str(enum imgp_status status);
bool imgp_status_temporary(enum imgp_status status);

/*
 * Write a formatted reason into err (IMGP_ERRSIZE bytes) and return status,
 * so that a failure reads `return imgp_fail(err, IMGP_E_CONFIG, "...", ...)`.
 * err may be NULL.
 */
enum imgp_status imgp_fail(char *err, enum imgp_status status,
                           const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Allocation: every allocation imgpipe makes itself goes through these, so
 * that a test can fail the Nth one (see imgp_alloc_fail_after). They return
 * NULL on failure like malloc; imgp_free(NULL) is a no-op.
 */
void *imgp_malloc(size_t size);
void *imgp_calloc(size_t n, size_t size);
void *imgp_realloc(void *ptr, size_t size);
/* Grow *arr (*cap elements of size bytes; doubling, 8 at first) so that one
 * more fits after its n; false, *arr left as it was, when out of memory. */
bool imgp_grow(void **arr, size_t *cap, size_t n, size_t size);
char *imgp_strdup(const char *s);
char *imgp_strndup(const char *s, size_t n);
char *imgp_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void imgp_free(void *ptr);

/* Fail every allocation after the next n (n < 0: never fail). For tests. */
void imgp_alloc_fail_after(long n);
/* How many allocations have been made since the counter was last reset. */
unsigned long imgp_alloc_count(void);

/* Monotonic milliseconds, for phase timings. */
double imgp_now_ms(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME), for deadlines. */
int64_t imgp_epoch_ms(void);
/* Sleep ms milliseconds, through signals. */
void imgp_sleep_ms(long ms);
/* The CPUs this process may run on (its affinity mask), at least 1. */
int imgp_cpu_count(void);
/* The value of one hex digit, or -1. */
int imgp_hexval(int c);

#endif
