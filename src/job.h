/*
 * job.h: the use case. For one object ref: guards, get, render, put every
 * variant; or, for a deleted source, delete its variants.
 *
 * Every front end (imgpipe lambda, invoke, resize, serve) turns its input
 * into refs and comes here; the job never parses events or argv, and never
 * calls libvips or libcurl but through render and store.
 *
 * One idempotency rule for all of them. Every variant carries its source's
 * identity (ETag and version; for local files, modification time and size)
 * and the fingerprint of its own settings and of what its pixels are made
 * from (config.h, render.h's lineage); the manifest (without one, the last
 * variant) is written after all the others and carries the set's
 * fingerprint. A source whose manifest has both unchanged is done: one
 * HEAD. A changed source renders every variant again; a changed spec
 * renders exactly the variants whose own fingerprint changed, and rewrites
 * the manifest. A removal deletes only when the source is really gone, or
 * what was made from the version removed. An output key already holding another source's
 * variant (a.jpg and a.png under {stem}) is never overwritten: the later
 * source's {stem} keeps its extension (a.png.jpg), so names do not change
 * when a file is added.
 */
#ifndef IMGP_JOB_H
#define IMGP_JOB_H

#include <jansson.h>

#include "config.h"
#include "event.h"
#include "render.h"
#include "store.h"

/* Metadata names imgpipe writes on every variant (x-amz-meta-...). The
 * first is also the loop guard's marker. */
#define IMGP_META_SOURCE "imgpipe-source"
#define IMGP_META_SOURCE_ETAG "imgpipe-source-etag"
#define IMGP_META_SOURCE_VERSION "imgpipe-source-version"
#define IMGP_META_VARIANT "imgpipe-variant"
#define IMGP_META_WIDTH "imgpipe-width"
#define IMGP_META_HEIGHT "imgpipe-height"
#define IMGP_META_FINGERPRINT "imgpipe-fingerprint"
#define IMGP_META_SET "imgpipe-set"           /* on the last variant and the manifest */
#define IMGP_META_SHA256 "imgpipe-sha256"     /* of the variant's own bytes */

/* Why a ref did nothing (and is not a failure). */
enum imgp_skip {
	IMGP_SKIP_NONE,
	IMGP_SKIP_CURRENT,          /* every variant is current for this version */
	IMGP_SKIP_IGNORED,          /* not an object event (s3:TestEvent, ...) */
	IMGP_SKIP_KEPT,             /* source removed (or still there), variants kept */
};

/* One variant of one source, whether written now or found current. */
struct imgp_job_output {
	char name[IMGP_NAME_MAX];
	char *key;
	enum imgp_format format;
	int width, height;          /* as written; 0 where not known */
	size_t bytes;               /* written now, or as the store has it */
	char sha256[65];            /* of its bytes; "" where not known */
	double resize_ms, encode_ms;
	bool written;
	int same_as;                /* -1, or the earlier variant whose object this
	                               is too (a {w} key, a source too small to
	                               tell them apart) */
};

/* What one ref came to. */
struct imgp_job_result {
	enum imgp_status status;
	char message[IMGP_ERRSIZE];
	json_t *detail;             /* what was written, for replies: {"outputs": [...],
	                               "manifestKey", "manifest"}; imgp_free */
	enum imgp_skip skip;
	bool skipped;               /* skip != IMGP_SKIP_NONE */
	struct imgp_probe source;   /* the source's header, once it was read */
	int decoded_width, decoded_height;
	size_t bytes_in, bytes_out;
	size_t variants;            /* written now */
	size_t variants_current;    /* found current and left alone */
	struct imgp_job_output outputs[IMGP_MAX_VARIANTS];
	size_t noutputs;
	double get_ms, decode_ms, resize_ms, encode_ms, put_ms, total_ms;
};

/*
 * Run one ref: read it from src, write its variants to dst (the same
 * store for the trigger), into jc->dest_bucket (NULL: the ref's own
 * bucket). deadline_ms is a CLOCK_REALTIME epoch in ms (0: none): a
 * source is not started with less than the reserve left, and a write is
 * not started past the deadline; both give IMGP_E_DEADLINE so it comes
 * back. Nothing is reported done unless every variant is there. Returns
 * res->status; release res with imgp_job_result_release.
 */
enum imgp_status imgp_job_run(const struct imgp_job_config *jc, struct imgp_store *src,
                              struct imgp_store *dst, const struct imgp_ref *ref,
                              int64_t deadline_ms, struct imgp_job_result *res /* OUT */);
void imgp_job_result_release(struct imgp_job_result *res);

#endif
