/*
 * servetest.h: what the tests of `imgpipe serve` share: starting the real
 * process (through the fixture, fixture.h) and reading the port it says it
 * listens on, a real HTTP client (libcurl) for its requests, and the
 * events as the platforms post them, made from objects that really are in
 * s3rver. Nothing here asserts: helpers return what happened and the tests
 * judge it.
 */
#ifndef IMGP_SERVETEST_H
#define IMGP_SERVETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fixture.h"

/* One HTTP exchange: the status (0: no answer, e.g. refused), the body,
 * Retry-After (-1 when absent), and curl's reason when it failed. */
struct st_reply {
	long status;
	char *body;                 /* malloc'd, "" when empty */
	char head[2048];            /* the answer's header lines, as they came (cut) */
	long retry_after;
	char error[256];
	double ms;
};

void st_reply_release(struct st_reply *r);

/*
 * Start `imgpipe serve` as the fixture's child with PORT=0 (the kernel
 * picks) on 127.0.0.1, then set (as fx_spawn), and wait up to 30 s for the
 * "listening on" line on its stdout. Returns the port, or -1 (f->error
 * says why, with the child's stderr).
 */
int st_start(struct fx *f, const char *argv0, const char *const *args,
             const char *const *set);

/*
 * One request to 127.0.0.1:port: method, path, extra headers
 * (NULL-ended "Name: value"), body (len bytes; NULL for none), with a
 * total timeout, on a fresh connection. Fills *r; returns r->status.
 */
long st_request(int port, const char *method, const char *path, const char *const *headers,
                const void *body, size_t len, long timeout_ms, struct st_reply *r);
long st_post(int port, const char *const *headers, const char *body, struct st_reply *r);

/* Events, as the platforms post them, for an object in bucket/key (its
 * ETag and size read from the fixture's store). Each malloc'd. */
char *st_gcs_object(struct fx *f, const char *bucket, const char *key, const char *generation);
char *st_cloudevent(struct fx *f, const char *bucket, const char *key, const char *generation,
                    const char *id);                     /* structured mode */
char *st_pubsub_push(struct fx *f, const char *bucket, const char *key,
                     const char *generation, const char *event_type, const char *id);
char *st_minio_event(struct fx *f, const char *bucket, const char *key);
char *st_ceph_event(struct fx *f, const char *bucket, const char *key);
char *st_s3_event(struct fx *f, const char *bucket, const char *key);

/* The binary-mode headers of a Cloud Storage CloudEvent (static storage,
 * one set per thread is not needed: they are constant but for the id). */
void st_binary_headers(const char *type, const char *id, const char *out[8], char idbuf[96]);

/* How many lines of the child's stdout are job lines (with TotalMs) for
 * key, and of those how many wrote variants (Variants > 0). */
void st_job_lines(const char *log_text, const char *key, int *lines, int *written);

#endif
