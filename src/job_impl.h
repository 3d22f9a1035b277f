/*
 * job_impl.h: what job.c shares with job_stamps.c (which outputs are
 * current: keys, stamps, HEADs) and manifest.c (the manifest document):
 * one ref's working state, the plan.
 */
#ifndef IMGP_JOB_IMPL_H
#define IMGP_JOB_IMPL_H

#include <jansson.h>

#include "job.h"
#include "sigv4.h"

/* HEAD answers kept during one ref, so no key is asked about twice. */
#define HEAD_CACHE 4

struct head {
	char *key;
	enum imgp_status status;        /* IMGP_OK or IMGP_E_NOT_FOUND */
	struct imgp_object obj;
};

struct plan {
	const struct imgp_job_config *jc;
	struct imgp_store *src, *dst;
	const struct imgp_ref *ref;
	const char *bucket;             /* the destination */
	const struct imgp_config *cfg;
	size_t last;                    /* the variant written last */
	char *owner;                    /* the ref's key as stamped (meta-encoded) */
	const char *etag, *version;     /* the source's identity, as far as known */
	char set_fp[IMGP_FP_SIZE];
	char fps[IMGP_MAX_VARIANTS][IMGP_FP_SIZE];
	bool probed, keep_ext;
	struct imgp_probe probe;
	char *keys[IMGP_MAX_VARIANTS];
	enum imgp_format formats[IMGP_MAX_VARIANTS];
	int widths[IMGP_MAX_VARIANTS], heights[IMGP_MAX_VARIANTS];
	bool stale[IMGP_MAX_VARIANTS];
	/* a variant whose key, for this source, is an earlier one's with the
	 * same output ({w} templates, a small source): that one, else itself */
	size_t alias[IMGP_MAX_VARIANTS];
	/* what the store holds for a variant found current: for the manifest */
	size_t held_bytes[IMGP_MAX_VARIANTS];
	char held_sha[IMGP_MAX_VARIANTS][IMGP_SHA256_HEX];
	/* format=best: the key this source's variant was found under, which a
	 * new winner in another format replaces (deleted after the write) */
	char *held_keys[IMGP_MAX_VARIANTS];
	char sha[IMGP_MAX_VARIANTS][IMGP_SHA256_HEX];  /* of what is written now */
	char *manifest_key;             /* NULL: no manifest */
	struct head heads[HEAD_CACHE];
	size_t nheads;
	struct imgp_job_result *res;
};

enum marker {
	MARKER_MISSING,             /* nothing there (or not an imgpipe output) */
	MARKER_CURRENT,             /* this source, this version, this set */
	MARKER_OTHER_SET,           /* this source and version, another spec */
	MARKER_OTHER_VERSION,       /* this source, another version */
	MARKER_FOREIGN,             /* another source's variant */
};

/* job.c */
/* Is variant i written now (stale, and not another variant's object)? */
bool imgp_job_writes(const struct plan *p, size_t i);
/* A store error into res (temporary or not, the status says). */
enum imgp_status imgp_job_store_fail(struct imgp_job_result *res,
                                     const struct imgp_store_error *e, const char *variant);

/* job_stamps.c */
/* HEAD key in the destination, through the cache: *out the object, or NULL. */
enum imgp_status imgp_job_head(struct plan *p, const char *key, const struct imgp_object **out);
enum marker imgp_job_judge(const struct plan *p, const struct imgp_object *obj);
/* The key of variant i in format f (size as planned), into *out. */
enum imgp_status imgp_job_make_key(struct plan *p, size_t i, enum imgp_format f, char **out);
/* Every variant's format, size and key, once the source's header is known. */
enum imgp_status imgp_job_make_keys(struct plan *p);
/* The manifest's key, with {stem} as the variants' (keep_ext). */
enum imgp_status imgp_job_make_manifest_key(struct plan *p);
/* Before the source is read: is the set current? */
enum imgp_status imgp_job_current_before_get(struct plan *p, bool *current);
/* Which variants need writing (p->stale); *none when nothing does. */
enum imgp_status imgp_job_find_stale(struct plan *p, bool *none);
/* A file imgpipe did not write where an output goes fails the source:
 * at key (NULL: none), or at any key to be written now. */
enum imgp_status imgp_job_refuse_stranger(struct plan *p, const char *key);
enum imgp_status imgp_job_refuse_strangers(struct plan *p);

/* manifest.c: the manifest of one source, as JSON. */
json_t *imgp_job_manifest(const struct plan *p, const struct imgp_render_result *rr,
                          const struct imgp_object *src);

#endif
