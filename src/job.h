/*
 * job.h: the use case. For one object ref: guards, get, render, put every
 * variant; or, for a deleted source, delete its variants.
 *
 * Every trigger (Lambda, imgpipe invoke) turns into refs and comes here;
 * the job never parses events or argv, and never calls libvips or libcurl
 * but through render and store.
 */
#ifndef IMGP_JOB_H
#define IMGP_JOB_H

#include "config.h"
#include "event.h"
#include "render.h"
#include "store.h"

#define IMGP_DEFAULT_CACHE_CONTROL "public, max-age=31536000, immutable"

/* Metadata names imgpipe writes on every variant (x-amz-meta-...). The
 * first is also the loop guard's marker. */
#define IMGP_META_SOURCE "imgpipe-source"
#define IMGP_META_SOURCE_ETAG "imgpipe-source-etag"
#define IMGP_META_SOURCE_VERSION "imgpipe-source-version"
#define IMGP_META_VARIANT "imgpipe-variant"
#define IMGP_META_WIDTH "imgpipe-width"
#define IMGP_META_HEIGHT "imgpipe-height"

struct imgp_job_config {
	struct imgp_config render;
	char *dest_bucket;          /* NULL: the source's own bucket */
	char *dest_prefix;          /* "" */
	char *output_key;           /* template, see naming.h */
	char *cache_control;
	char *source_bucket;        /* the trigger's bucket, when known */
	char *source_prefix;        /* the trigger's key space: "" for all */
	bool delete_on_remove;      /* IMGPIPE_ON_DELETE=delete */
	long deadline_reserve_ms;   /* don't start a source with less left */
};

/*
 * From the environment: IMGPIPE_VARIANTS / IMGPIPE_CONFIG and limits (see
 * config.h), IMGPIPE_DEST_BUCKET, IMGPIPE_DEST_PREFIX, IMGPIPE_OUTPUT_KEY,
 * IMGPIPE_CACHE_CONTROL, IMGPIPE_SOURCE_BUCKET, IMGPIPE_SOURCE_PREFIX,
 * IMGPIPE_ON_DELETE, IMGPIPE_DEADLINE_RESERVE_MS. A destination inside the
 * trigger's key space is refused here, before any event is seen.
 */
enum imgp_status imgp_job_config_from_env(struct imgp_job_config *jc, char *err);
void imgp_job_config_release(struct imgp_job_config *jc);

/* What one ref came to. */
struct imgp_job_result {
	enum imgp_status status;
	char message[IMGP_ERRSIZE];
	char *detail_json;          /* what was written, for replies; imgp_free */
	bool skipped;               /* already done, or nothing to do */
	size_t bytes_in, bytes_out, variants;
	double get_ms, decode_ms, resize_ms, encode_ms, put_ms, total_ms;
};

/*
 * Run one ref. deadline_ms is a CLOCK_REALTIME epoch in ms (0: none): a
 * source is not started with less than the reserve left, and a write is not
 * started past the deadline; both give IMGP_E_DEADLINE so it comes back.
 * Nothing is reported done unless every variant was written.
 */
void imgp_job_run(const struct imgp_job_config *jc, struct imgp_store *store,
                  const struct imgp_ref *ref, int64_t deadline_ms,
                  struct imgp_job_result *res /* OUT */);
void imgp_job_result_release(struct imgp_job_result *res);

/* The metadata every variant carries, whoever writes it (the Lambda job,
 * or a backfill by imgpipe resize): into meta (room for
 * IMGP_VARIANT_META), values borrowed from the arguments and from wh, a
 * scratch buffer of the caller's. safe_key is imgp_meta_encode'd; etag and
 * version may be NULL. Returns how many entries were filled. */
#define IMGP_VARIANT_META 6
size_t imgp_variant_meta(struct imgp_meta *meta, char wh[2][16], const char *safe_key,
                         const char *etag, const char *version,
                         const struct imgp_output *out);

/* s percent-encoded where an HTTP header (S3 metadata) cannot carry it:
 * controls, non-ASCII and '%'. malloc'd; NULL when out of memory. */
char *imgp_meta_encode(const char *s);

#endif
