/*
 * store.h: object storage behind one small interface (get, put, head, list,
 * delete) with two backends:
 *
 *   "s3"        AWS S3 or any S3-compatible server (libcurl, SigV4). AWS by
 *               default (virtual-hosted style, AWS_REGION or
 *               AWS_DEFAULT_REGION, else the profile's region, else
 *               us-east-1); AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for
 *               another server (path style there, or everywhere when
 *               IMGPIPE_S3_ADDRESSING=path). Credentials: see creds.h.
 *   "dir:PATH"  each bucket is a folder under PATH (made by the first put
 *               into it), a key a relative path in it: keys with "..", ".",
 *               "//", a leading '/' or a segment over 255 bytes are refused.
 *               A NUL cannot pass through a C string: whoever decodes keys
 *               from URL form must refuse %00. Content-Type, Cache-Control
 *               and metadata live in an extended attribute (user.imgpipe)
 *               set before the atomic rename, or in a sidecar tree
 *               PATH/.imgpipe-meta/ where the file system has no user xattrs.
 *   folders     (imgp_store_open_folders) the local files themselves: every
 *               folder is a bucket, named by its path (relative or
 *               absolute), and a key a file below it: "photos/2024/cat.jpg"
 *               is bucket ".", key "photos/2024/cat.jpg". Hidden files are
 *               not listed. A file's version is its modification time and
 *               size (as rsync's quick check), so a changed file is a new
 *               version without its bytes being read; metadata lives in the
 *               same extended attribute (sidecars under BUCKET/.imgpipe-meta/).
 *
 * Errors: every call fills a struct imgp_store_error: the status (whose
 * class, imgp_status_temporary(), says permanent or temporary), the S3
 * error code and request id when the server gave them, and a reason.
 *
 * Threads: a store handle is thread-safe. Worker threads share one
 * handle; each call borrows a connection (a curl handle) from the store's
 * pool and gives it back, so a thread that makes call after call reuses
 * its warm connection, and N threads hold at most N connections.
 * imgp_store_close must come after every call has returned.
 *
 * Ownership: what comes back through an OUT pointer belongs to the caller
 * and is released with the matching _release.
 */
#ifndef IMGP_STORE_H
#define IMGP_STORE_H

#include "imgpipe.h"

struct imgp_store;

/* S3's own error code and request id, where there is one, and the reason. */
struct imgp_store_error {
	enum imgp_status status;
	long http_status;            /* 0: no HTTP response */
	int attempts;                /* requests made, retries included */
	char code[64];               /* NoSuchKey, SlowDown, ...; "" if none */
	char request_id[128];        /* x-amz-request-id; "" if none */
	char msg[IMGP_ERRSIZE];      /* lowercase, no full stop */
};

/* Reset e to IMGP_OK with empty strings. */
void imgp_store_error_clear(struct imgp_store_error *e);
/*
 * One line for a log or the CLI into out (IMGP_ERRSIZE bytes): the reason,
 * then the S3 code and request id when known, e.g.
 * "get s3://b/k: the specified key does not exist (NoSuchKey, request id 4B2F...)".
 * Returns out.
 */
const char *imgp_store_error_str(const struct imgp_store_error *e, char *out);

/* User metadata: x-amz-meta-NAME: VALUE (names lower case, printable ASCII). */
struct imgp_meta {
	char *name;
	char *value;
};

/* An object's bytes and attributes. */
struct imgp_object {
	unsigned char *data;         /* get: the body; head: NULL */
	size_t len;                  /* get: bytes in data; head: Content-Length */
	char *content_type;
	char *cache_control;
	char *etag;                  /* as the store gives it, quotes included */
	char *version_id;            /* NULL when the bucket is not versioned */
	char *last_modified;         /* HTTP date; NULL if unknown */
	struct imgp_meta *meta;
	size_t nmeta;
};

void imgp_object_init(struct imgp_object *o);
void imgp_object_release(struct imgp_object *o);
/* The value of a metadata name (any case), or NULL. */
const char *imgp_object_meta(const struct imgp_object *o, const char *name);

/* What put sends with the bytes; every field may be NULL / 0. */
struct imgp_put_opts {
	const char *content_type;    /* default application/octet-stream */
	const char *cache_control;
	const struct imgp_meta *meta;     /* borrowed: never freed by put */
	size_t nmeta;
};

/* One entry of a listing. */
struct imgp_list_entry {
	const char *key;
	uint64_t size;
	const char *etag;            /* NULL where the store cannot say cheaply */
	const char *version_id;      /* NULL but for the folders store */
	const char *last_modified;   /* ISO 8601 as the store gives it */
};

/* Called for each key in order; return false to stop early. */
typedef bool (*imgp_store_list_cb)(void *ud, const struct imgp_list_entry *entry);

/* Knobs for tests and measurement; zero means the default. */
struct imgp_store_opts {
	int max_attempts;            /* default 5 */
	long retry_budget_ms;        /* all attempts of one call; default 120000 */
	long retry_base_ms;          /* default 100 */
	long retry_max_ms;           /* default 5000 */
	long connect_timeout_ms;     /* default 5000 */
	long stall_timeout_s;        /* below 1 byte/s this long; default 10 */
	int list_page_size;          /* max-keys; default 1000 */
	bool fresh_connections;      /* a new connection per request */
};

/*
 * Open a store from spec: "dir:PATH", or "s3" (also NULL or "": the
 * environment's IMGPIPE_STORE is config's, in jc->store). Nothing is
 * contacted yet: credentials are resolved on the first S3 request.
 */
enum imgp_status imgp_store_open(const char *spec,
                                 struct imgp_store **out /* OUT */, char *err);
/* The same with knobs (opts may be NULL). */
enum imgp_status imgp_store_open_opts(const char *spec,
                                      const struct imgp_store_opts *opts,
                                      struct imgp_store **out /* OUT */,
                                      char *err);
void imgp_store_close(struct imgp_store *st);

/* The folders store (above): local files, any folder a bucket. */
enum imgp_status imgp_store_open_folders(struct imgp_store **out /* OUT */, char *err);

/*
 * Resolve now what the first request would otherwise resolve (S3: the
 * credentials), so a Lambda sandbox pays for it during INIT rather than in
 * its first invocation, and a missing credential is said at start. The dir
 * store has nothing to do.
 */
enum imgp_status imgp_store_warm(struct imgp_store *st, char *err);

/*
 * Calls this thread makes from now on give up, retries included, at this
 * time (Unix epoch ms; 0: no deadline), with IMGP_E_DEADLINE or the last
 * attempt's temporary status: a Lambda invocation's deadline bounds its
 * S3 calls. The dir store never waits and ignores it.
 */
void imgp_store_set_deadline(int64_t epoch_ms);

/*
 * The trace id the S3 store sends as X-Amzn-Trace-Id (what lets Lambda's
 * recursion detection see imgpipe's writes), for the whole process from
 * now on (NULL or "": none). A value handed over by the front end that
 * has it (the runtime's invocation), not read from the environment.
 * imgp_store_trace copies it into out ("" when none).
 */
#define IMGP_TRACE_MAX 512
void imgp_store_set_trace(const char *trace_id);
void imgp_store_trace(char out[IMGP_TRACE_MAX]);

/* "s3", "dir" or "folders". */
const char *imgp_store_kind(const struct imgp_store *st);

/*
 * The URL schemes the CLI takes for buckets ("s3://BUCKET/KEY"), one table
 * in store.c beside the backends: a backend that adds a scheme there is
 * one the CLI reads and writes, with no front end touched.
 */
struct imgp_store_scheme {
	const char *scheme;          /* "s3" */
	const char *store;           /* the spec imgp_store_open takes: "s3" */
	const char *noun;            /* "S3": for messages */
};

/* The scheme url starts with ("s3://..."), or NULL when none of the table's. */
const struct imgp_store_scheme *imgp_store_scheme_of(const char *url);

/*
 * Split "SCHEME://BUCKET/KEY" at its first "/" after the bucket: the
 * bucket and the rest (a key, a prefix ending in "/", or ""), both
 * imgp_malloc'd. IMGP_E_USAGE when url has no scheme of the table or no
 * bucket (the reason does not repeat url). (There is no percent-decoding: keys are written as they are.)
 */
enum imgp_status imgp_store_url_split(const char *url, char **bucket /* OUT */,
                                      char **rest /* OUT */, char *err);

/*
 * The object's bytes and attributes into out (released by the caller). An
 * object over max_bytes is refused with IMGP_E_TOO_LARGE before its body
 * is read.
 */
enum imgp_status imgp_store_get(struct imgp_store *st, const char *bucket,
                                const char *key, size_t max_bytes,
                                struct imgp_object *out /* OUT */,
                                struct imgp_store_error *e);

/* Write len bytes as bucket/key, atomically: readers see old or new. */
enum imgp_status imgp_store_put(struct imgp_store *st, const char *bucket,
                                const char *key, const void *data, size_t len,
                                const struct imgp_put_opts *opts,
                                struct imgp_store_error *e);

/* Attributes only (out->data is NULL, out->len the size). */
enum imgp_status imgp_store_head(struct imgp_store *st, const char *bucket,
                                 const char *key,
                                 struct imgp_object *out /* OUT */,
                                 struct imgp_store_error *e);

/* Every key under prefix (NULL or "": all), in key order, page after page. */
enum imgp_status imgp_store_list(struct imgp_store *st, const char *bucket,
                                 const char *prefix, imgp_store_list_cb cb,
                                 void *ud, struct imgp_store_error *e);

/*
 * The first bytes of an object, at most n, into buf (*len: how many), for
 * a look at its magic numbers without reading the rest (S3: a Range GET).
 */
enum imgp_status imgp_store_peek(struct imgp_store *st, const char *bucket,
                                 const char *key, void *buf, size_t n,
                                 size_t *len /* OUT */, struct imgp_store_error *e);

/*
 * Say now whether a bucket is there to be used: S3 asks for it (HEAD
 * bucket; the credentials are resolved on the way, so their absence is
 * said here too; a 403 means it exists but may not be listed, which is
 * fine); dir:PATH looks for its folder; the folders store makes the
 * folder (mkdir -p) when it is to be written and checks that it can.
 */
enum imgp_status imgp_store_check_bucket(struct imgp_store *st, const char *bucket,
                                         bool write, struct imgp_store_error *e);

/* Remove the object; removing a missing key is not an error (as in S3). */
enum imgp_status imgp_store_delete(struct imgp_store *st, const char *bucket,
                                   const char *key, struct imgp_store_error *e);

#endif
