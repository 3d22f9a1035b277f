/*
 * job.c: one object ref, start to end: loop guard, deadline, idempotency,
 * get, render, put the variants that are not current (the last one as the
 * commit), or delete the variants of a removed source.
 *
 * It owns the order of writes and what "done" means: a source is done only
 * when every variant is there, stamped with the source's identity and its
 * own fingerprint, and the manifest (without one, the last variant) is
 * written only after all the others, stamped with the whole set's
 * fingerprint, so finding it current means the whole set is. It must never parse events, argv or
 * JSON config: those arrive as structs.
 *
 * Which outputs are current is job_stamps.c's; the manifest document is
 * manifest.c's; the plan they share is job_impl.h's.
 */
#include "job_impl.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "utf8.h"
#include "sigv4.h"

/*
 * S3 calls end this long before the invocation's deadline, so that the
 * reply saying what came back for retry is still posted in time.
 */
#define REPLY_MARGIN_MS 250

static int64_t store_deadline(int64_t deadline_ms)
{
	return deadline_ms ? deadline_ms - REPLY_MARGIN_MS : 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

void imgp_job_result_release(struct imgp_job_result *res)
{
	json_decref(res->detail);
	res->detail = NULL;
	for(size_t i = 0; i < res->noutputs; i++) {
		imgp_free(res->outputs[i].key);
		res->outputs[i].key = NULL;
	}
	res->noutputs = 0;
}

/* Must c (of s) be encoded: controls, non-ASCII, '%', and a space that
 * starts or ends the value (HTTP trims a header value's ends, so the
 * store would keep another value than was sent). */
static bool meta_escaped(const unsigned char *s, const unsigned char *c)
{
	return *c < 0x20 || *c > 0x7E || *c == '%' || (*c == ' ' && (c == s || !c[1]));
}

/* s percent-encoded where an HTTP header (S3 and Azure metadata) cannot
 * carry it (meta_escaped). malloc'd; NULL when out of memory. */
static char *meta_encode(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;
	char *out, *p;

	for(const unsigned char *c = u; *c; c++)
		n += meta_escaped(u, c) ? 3 : 1;
	if(!(out = imgp_malloc(n + 1)))
		return NULL;
	p = out;
	for(const unsigned char *c = u; *c; c++) {
		if(meta_escaped(u, c))
			p += sprintf(p, "%%%02X", *c);
		else
			*p++ = (char)*c;
	}
	*p = '\0';
	return out;
}

static void plan_release(struct plan *p)
{
	for(size_t i = 0; i < IMGP_MAX_VARIANTS; i++) {
		imgp_free(p->keys[i]);
		imgp_free(p->held_keys[i]);
	}
	imgp_free(p->manifest_key);
	for(size_t i = 0; i < p->nheads; i++) {
		imgp_free(p->heads[i].key);
		imgp_object_release(&p->heads[i].obj);
	}
	imgp_free(p->owner);
}

/* Is variant i written now (stale, and not another variant's object)? */
bool imgp_job_writes(const struct plan *p, size_t i)
{
	return p->stale[i] && p->alias[i] == i;
}

/* A store error into res (temporary or not, the status says). */
enum imgp_status imgp_job_store_fail(struct imgp_job_result *res,
                                   const struct imgp_store_error *e, const char *variant)
{
	char line[IMGP_ERRSIZE];

	imgp_store_error_str(e, line);
	if(variant)
		return res->status = imgp_fail(res->message, e->status, "variant %s: %s",
		                               variant, line);
	return res->status = imgp_fail(res->message, e->status, "%s", line);
}

/* --- writing ------------------------------------------------------------ */

/* The source's identity, as every output carries it, into meta[0..3);
 * returns how many. */
static size_t source_stamps(const struct plan *p, struct imgp_meta *meta)
{
	size_t n = 0;

	meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE, p->owner };
	if(p->etag)
		meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE_ETAG, (char *)p->etag };
	if(p->version)
		meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE_VERSION, (char *)p->version };
	return n;
}

/* One variant's upload, run on a thread of its own when it can overlap. */
struct upload {
	struct plan *p;
	size_t i;                       /* the variant */
	const struct imgp_output *out;
	int64_t deadline_ms;
	struct imgp_store_error e;
	double ms;
};

static void *upload_run(void *arg)
{
	struct upload *u = arg;
	struct plan *p = u->p;
	char wh[2][16];
	struct imgp_meta meta[10];
	struct imgp_put_opts opts = {
		.content_type = imgp_format_mime(u->out->format),
		.cache_control = p->jc->cache_control, .meta = meta,
	};
	double t0 = imgp_now_ms();

	imgp_store_error_clear(&u->e);
	imgp_store_set_deadline(store_deadline(u->deadline_ms));
	if(u->deadline_ms && imgp_epoch_ms() >= u->deadline_ms) {
		u->e.status = imgp_fail(u->e.msg, IMGP_E_DEADLINE,
			"not written: the invocation's deadline has passed");
		return NULL;
	}
	snprintf(wh[0], 16, "%d", u->out->width);
	snprintf(wh[1], 16, "%d", u->out->height);
	opts.nmeta = source_stamps(p, meta);
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_VARIANT,
	                                         (char *)p->cfg->variants[u->i].name };
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_WIDTH, wh[0] };
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_HEIGHT, wh[1] };
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_FINGERPRINT, p->fps[u->i] };
	imgp_sigv4_sha256_hex(u->out->data, u->out->len, p->sha[u->i]);
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_SHA256, p->sha[u->i] };
	if(u->i == p->last && !p->manifest_key)
		meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_SET, p->set_fp };
	imgp_store_put(p->dst, p->bucket, p->keys[u->i], u->out->data, u->out->len, &opts, &u->e);
	u->ms = imgp_now_ms() - t0;
	return NULL;
}

/*
 * What a ref came to, for replies, into res->detail: {"outputs": [every
 * variant], "manifestKey", "manifest"} (the manifest when written now; its
 * key when one is kept). Takes manifest.
 */
static enum imgp_status describe(struct plan *p, json_t *manifest)
{
	struct imgp_job_result *res = p->res;
	json_t *list = json_array(), *doc = json_object();
	bool ok = list && doc;

	for(size_t i = 0; ok && i < res->noutputs; i++) {
		const struct imgp_job_output *o = &res->outputs[i];

		ok = !json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:b}",
			"variant", o->name, "format", imgp_format_name(o->format), "bucket", p->bucket,
			"key", o->key, "width", o->width, "height", o->height,
			"bytes", (json_int_t)o->bytes, "written", o->written));
	}
	ok = ok && !json_object_set(doc, "outputs", list) &&
	     (!p->manifest_key ||
	      !json_object_set_new(doc, "manifestKey", json_string(p->manifest_key))) &&
	     (!manifest || !json_object_set(doc, "manifest", manifest));
	json_decref(list);
	json_decref(manifest);
	if(!ok) {
		json_decref(doc);
		return res->status = imgp_fail(res->message, IMGP_E_NOMEM, "out of memory");
	}
	res->detail = doc;
	return IMGP_OK;
}

/*
 * Write what was rendered: all but the last variant at once, then the
 * last, so that the last variant existing means the whole set does.
 */
static enum imgp_status put_all(struct plan *p, const struct imgp_render_result *rr,
                                int64_t deadline_ms)
{
	struct imgp_job_result *res = p->res;
	struct upload ups[IMGP_MAX_VARIANTS];
	pthread_t threads[IMGP_MAX_VARIANTS];
	bool started[IMGP_MAX_VARIANTS] = { false }, commit;
	size_t n = p->cfg->nvariants;
	double t0 = imgp_now_ms();

	for(size_t i = 0; i < n; i++)
		ups[i] = (struct upload){ p, i, &rr->outputs[i], deadline_ms, { 0 }, 0 };
	/* without a manifest the last variant is the set's commit: after the others */
	commit = !p->manifest_key && imgp_job_writes(p, p->last);
	for(size_t i = 0; i < n; i++)
		if(imgp_job_writes(p, i) && !(commit && i == p->last))
			started[i] = !pthread_create(&threads[i], NULL, upload_run, &ups[i]);
	for(size_t i = 0; i < n; i++) {
		if(started[i])
			pthread_join(threads[i], NULL);
		else if(imgp_job_writes(p, i) && !(commit && i == p->last))
			upload_run(&ups[i]);        /* no thread to be had: write it here */
	}
	for(size_t i = 0; i < n && !res->status; i++)
		if(ups[i].e.status)
			imgp_job_store_fail(res, &ups[i].e, p->cfg->variants[i].name);
	if(!res->status && commit) {
		upload_run(&ups[p->last]);
		if(ups[p->last].e.status)
			imgp_job_store_fail(res, &ups[p->last].e, p->cfg->variants[p->last].name);
	}
	res->put_ms = imgp_now_ms() - t0;
	return res->status;
}

/* What every variant came to, into res. */
static enum imgp_status record_outputs(struct plan *p, const struct imgp_render_result *rr)
{
	struct imgp_job_result *res = p->res;

	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		struct imgp_job_output *o = &res->outputs[i];
		size_t a = p->alias[i];
		const struct imgp_output *r = p->stale[a] && rr ? &rr->outputs[a] : NULL;

		snprintf(o->name, sizeof(o->name), "%s", p->cfg->variants[i].name);
		o->key = imgp_strdup(p->keys[a]);
		o->format = p->formats[a];
		o->width = r ? r->width : p->widths[a];
		o->height = r ? r->height : p->heights[a];
		o->bytes = r ? r->len : p->held_bytes[a];
		snprintf(o->sha256, sizeof(o->sha256), "%s", r ? p->sha[a] : p->held_sha[a]);
		o->resize_ms = r && a == i ? r->resize_ms : 0;
		o->encode_ms = r && a == i ? r->encode_ms : 0;
		o->written = r != NULL && a == i;
		o->same_as = a == i ? -1 : (int)a;
		res->noutputs = i + 1;
		if(!o->key)
			return res->status = imgp_fail(res->message, IMGP_E_NOMEM, "out of memory");
		if(a != i)
			continue;               /* one object, counted under its first variant */
		if(r) {
			res->variants++;
			res->bytes_out += r->len;
			res->resize_ms += r->resize_ms;
			res->encode_ms += r->encode_ms;
		}
		else
			res->variants_current++;
	}
	return IMGP_OK;
}


/* Write the manifest, after every variant: its presence says all is done. */
static enum imgp_status put_manifest(struct plan *p, json_t *manifest, int64_t deadline_ms)
{
	struct imgp_store_error e;
	struct imgp_meta meta[5];
	struct imgp_put_opts opts = {
		.content_type = "application/json", .cache_control = p->jc->cache_control,
		.meta = meta,
	};
	char *text = json_dumps(manifest, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	double t0 = imgp_now_ms();

	if(!text)
		return p->res->status = imgp_fail(p->res->message, IMGP_E_NOMEM, "out of memory");
	opts.nmeta = source_stamps(p, meta);
	meta[opts.nmeta++] = (struct imgp_meta){ (char *)IMGP_META_SET, p->set_fp };
	if(deadline_ms && imgp_epoch_ms() >= deadline_ms)
		imgp_fail(e.msg, e.status = IMGP_E_DEADLINE,
		          "not written: the invocation's deadline has passed");
	else
		imgp_store_put(p->dst, p->bucket, p->manifest_key, text, strlen(text), &opts, &e);
	free(text);
	p->res->put_ms += imgp_now_ms() - t0;
	return e.status ? imgp_job_store_fail(p->res, &e, "manifest") : IMGP_OK;
}

/* format=best: a variant now in another format than before leaves its old
 * key behind; it is this source's (resolve_best checked), so it goes. */
static enum imgp_status drop_replaced(struct plan *p)
{
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		struct imgp_store_error e;

		if(!p->stale[i] || !p->held_keys[i] || !strcmp(p->held_keys[i], p->keys[i]))
			continue;
		if(imgp_store_delete(p->dst, p->bucket, p->held_keys[i], &e) &&
		   e.status != IMGP_E_NOT_FOUND)
			return imgp_job_store_fail(p->res, &e, p->cfg->variants[i].name);
	}
	return IMGP_OK;
}

/*
 * Render the stale variants (one decode, at the scale they need) and write
 * them. The source's bytes are freed as soon as the pixels are made, before
 * the uploads hold memory.
 */
static enum imgp_status render_and_put(struct plan *p, struct imgp_object *src,
                                       int64_t deadline_ms)
{
	struct imgp_job_result *res = p->res;
	struct imgp_render_result rr;
	bool want[IMGP_MAX_VARIANTS];

	for(size_t i = 0; i < p->cfg->nvariants; i++)
		want[i] = imgp_job_writes(p, i);
	res->status = imgp_render_some(p->cfg, want, src->data, src->len, &rr, res->message);
	imgp_free(src->data);
	src->data = NULL;
	if(res->status == IMGP_E_CORRUPT && p->cfg->limits.fail_on != IMGP_FAIL_NONE &&
	   (strcasestr(res->message, "premature end") || strstr(res->message, "truncated") ||
	    strstr(res->message, "unexpected end")))
		snprintf(res->message + strlen(res->message), sizeof(res->message) -
		         strlen(res->message), " (the file is cut short; fail_on=none renders what it "
		         "holds: %s)", imgp_limit_hint("fail_on"));
	if(res->status)
		return res->status;
	res->decode_ms = rr.probe_ms + rr.decode_ms;
	res->decoded_width = rr.decoded_width;
	res->decoded_height = rr.decoded_height;
	/* {w} and {h} name the size written: the plan said the same, but the
	 * render has the last word; and {ext} the format that won, for best */
	for(size_t i = 0; i < p->cfg->nvariants && !res->status; i++) {
		const struct imgp_output *o = &rr.outputs[i];

		if(!want[i] || (o->width == p->widths[i] && o->height == p->heights[i] &&
		                o->format == p->formats[i]))
			continue;
		p->widths[i] = o->width;
		p->heights[i] = o->height;
		p->formats[i] = o->format;
		imgp_free(p->keys[i]);
		p->keys[i] = NULL;
		/* a key the plan did not foresee (best's winner): its stranger too */
		if(!imgp_job_make_key(p, i, p->formats[i], &p->keys[i]))
			imgp_job_refuse_stranger(p, p->keys[i]);
	}
	if(!res->status && !put_all(p, &rr, deadline_ms) && !drop_replaced(p) &&
	   !record_outputs(p, &rr)) {
		json_t *manifest = p->manifest_key ? imgp_job_manifest(p, &rr, src) : NULL;

		if(p->manifest_key && (!manifest || put_manifest(p, manifest, deadline_ms))) {
			if(!manifest)
				imgp_fail(res->message, res->status = IMGP_E_NOMEM, "out of memory");
			json_decref(manifest);
		}
		else if(!describe(p, manifest))
			snprintf(res->message, sizeof(res->message), res->variants_current ?
			         "%zu variant%s written, %zu already current" : "%zu variant%s written",
			         res->variants, res->variants == 1 ? "" : "s", res->variants_current);
	}
	imgp_render_result_release(&rr);
	return res->status;
}

static enum imgp_status mark_current(struct plan *p)
{
	struct imgp_job_result *res = p->res;

	res->skip = IMGP_SKIP_CURRENT;
	res->skipped = true;
	snprintf(res->message, sizeof(res->message), "already done for this version");
	return IMGP_OK;
}

/*
 * Each variant's fingerprint, now that the source's size is known, also
 * says what it is made from (the set's one decode and the bases before
 * it): same stamp, same bytes, whichever variants are rendered with it.
 */
static void stamp_lineage(struct plan *p)
{
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		char text[IMGP_LINEAGE_SIZE + IMGP_FP_SIZE + 2];
		size_t n = (size_t)snprintf(text, sizeof(text), "%s;", p->fps[i]);

		imgp_render_lineage(p->cfg, &p->probe, i, text + n, sizeof(text) - n);
		imgp_fingerprint_text(text, p->fps[i]);
	}
}

static enum imgp_status run_created(struct plan *p, int64_t deadline_ms)
{
	struct imgp_job_result *res = p->res;
	const struct imgp_ref *ref = p->ref;
	struct imgp_store_error e;
	struct imgp_object src;
	bool current = false, none = false;
	double t0;

	imgp_object_init(&src);
	p->etag = ref->etag;
	p->version = ref->version_id;
	if(!p->jc->force && (p->etag || p->version) && !imgp_naming_needs_size(p->jc->output_key)) {
		if(imgp_job_current_before_get(p, &current))
			return res->status;
		if(current)
			return mark_current(p);
	}
	t0 = imgp_now_ms();
	if(imgp_store_get(p->src, ref->bucket, ref->key, p->cfg->limits.max_bytes, &src, &e)) {
		res->get_ms = imgp_now_ms() - t0;
		imgp_job_store_fail(res, &e, NULL);
		if(e.status == IMGP_E_TOO_LARGE)
			snprintf(res->message + strlen(res->message),
			         sizeof(res->message) - strlen(res->message), " (raise it with %s)",
			         imgp_limit_hint("max_bytes"));
		return res->status;
	}
	res->get_ms = imgp_now_ms() - t0;
	res->bytes_in = src.len;
	if(imgp_object_meta(&src, IMGP_META_SOURCE)) {
		res->status = imgp_fail(res->message, IMGP_E_LOOP,
			"refused by the loop guard: this object is an imgpipe variant (of %s)",
			imgp_object_meta(&src, IMGP_META_SOURCE));
		goto out;
	}
	if(src.etag)
		p->etag = src.etag;
	if(src.version_id)
		p->version = src.version_id;
	t0 = imgp_now_ms();
	res->status = imgp_render_probe(p->cfg, src.data, src.len, &p->probe, res->message);
	res->decode_ms = imgp_now_ms() - t0;
	if(res->status)
		goto out;
	res->source = p->probe;
	stamp_lineage(p);
	if(imgp_job_make_keys(p) || imgp_job_find_stale(p, &none) || (!none && imgp_job_refuse_strangers(p)))
		goto out;
	if(none) {
		if(!record_outputs(p, NULL) && !describe(p, NULL))
			mark_current(p);
		goto out;
	}
	render_and_put(p, &src, deadline_ms);
out:
	imgp_object_release(&src);
	return res->status;
}

/*
 * May this output of the removed source go? Only when the source is
 * really gone, or the output was made from the very version the event
 * removed: Cloud Storage sends "deleted" for every overwritten generation,
 * and a versioned bucket for the removal of an old version, while the
 * live object's variants stand.
 */
static bool removable(const struct plan *p, bool gone, const struct imgp_object *obj)
{
	const char *version = imgp_object_meta(obj, IMGP_META_SOURCE_VERSION);

	return gone || (p->ref->version_id && version && !strcmp(version, p->ref->version_id));
}

/* Delete key if it is this source's output and removable; counts it. */
static enum imgp_status drop_output(struct plan *p, bool gone, const char *key,
                                    const char *what, size_t *deleted, size_t *kept)
{
	const struct imgp_object *obj;
	struct imgp_store_error e;
	const char *owner;

	if(imgp_job_head(p, key, &obj))
		return p->res->status;
	owner = obj ? imgp_object_meta(obj, IMGP_META_SOURCE) : NULL;
	if(!owner || strcmp(owner, p->owner))
		return IMGP_OK;
	if(!removable(p, gone, obj)) {
		(*kept)++;
		return IMGP_OK;
	}
	if(imgp_store_delete(p->dst, p->bucket, key, &e) && e.status != IMGP_E_NOT_FOUND)
		return imgp_job_store_fail(p->res, &e, what);
	(*deleted)++;
	return IMGP_OK;
}

/*
 * Delete this source's variants and manifest (never another source's),
 * under either name, once a HEAD of the source says it is gone, or those
 * made from the version the event removed.
 */
static enum imgp_status run_removed(struct plan *p)
{
	struct imgp_job_result *res = p->res;
	struct imgp_store_error e;
	struct imgp_object src;
	size_t deleted = 0, kept = 0;
	bool gone;

	if(!p->jc->delete_on_remove) {
		res->skip = IMGP_SKIP_KEPT;
		res->skipped = true;
		snprintf(res->message, sizeof(res->message),
		         "source removed; variants kept (IMGPIPE_ON_DELETE is not delete)");
		return IMGP_OK;
	}
	imgp_object_init(&src);
	gone = imgp_store_head(p->src, p->ref->bucket, p->ref->key, &src, &e) != IMGP_OK;
	imgp_object_release(&src);
	if(gone && e.status != IMGP_E_NOT_FOUND)
		return imgp_job_store_fail(res, &e, NULL);
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		const struct imgp_variant *v = &p->cfg->variants[i];
		enum imgp_format formats[IMGP_MAX_CANDIDATES];
		size_t nf = imgp_render_candidates(v, NULL, formats);

		for(size_t k = 0; k < 2 * nf; k++) {
			char *key = NULL;

			p->keep_ext = k & 1;
			if(!imgp_job_make_key(p, i, formats[k / 2], &key))
				drop_output(p, gone, key, v->name, &deleted, &kept);
			imgp_free(key);
			if(res->status)
				return res->status;
		}
	}
	/* and its manifest, under either name */
	for(int k = 0; p->manifest_key && k < 2; k++) {
		size_t manifests = 0;

		p->keep_ext = k;
		if(imgp_job_make_manifest_key(p) || drop_output(p, gone, p->manifest_key, "manifest",
		                                       &manifests, &kept))
			return res->status;
	}
	if(!gone && !deleted) {
		res->skip = IMGP_SKIP_KEPT;
		res->skipped = true;
		snprintf(res->message, sizeof(res->message), "removal of %s%s skipped: the source "
		         "is still there%s; its variants are kept", p->ref->version_id ? "version " : "",
		         p->ref->version_id ? p->ref->version_id : "this object",
		         kept ? " and its variants are of another version" : "");
		return IMGP_OK;
	}
	snprintf(res->message, sizeof(res->message), "%s; %zu variant%s deleted%s",
	         gone ? "source removed" : "the version removed was the variants' own",
	         deleted, deleted == 1 ? "" : "s", kept ? ", others of another version kept" : "");
	return IMGP_OK;
}

enum imgp_status imgp_job_run(const struct imgp_job_config *jc, struct imgp_store *src,
                              struct imgp_store *dst, const struct imgp_ref *ref,
                              int64_t deadline_ms, struct imgp_job_result *res)
{
	struct plan p;
	double t0 = imgp_now_ms();

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p = (struct plan){ .jc = jc, .src = src, .dst = dst, .ref = ref, .res = res,
	                   .cfg = &jc->render, .last = jc->render.nvariants - 1,
	                   .bucket = jc->dest_bucket ? jc->dest_bucket : ref->bucket };
	imgp_store_set_deadline(store_deadline(deadline_ms));
	if(ref->action == IMGP_ACTION_IGNORED) {
		res->skip = IMGP_SKIP_IGNORED;
		res->skipped = true;
		snprintf(res->message, sizeof(res->message), "ignored: %s",
		         ref->event_name ? ref->event_name : "not an object event");
		goto out;
	}
	if(src == dst && !strcmp(p.bucket, ref->bucket) && starts_with(ref->key, jc->dest_prefix)) {
		res->status = imgp_fail(res->message, IMGP_E_LOOP,
			"refused by the loop guard: %s/%s is in the destination key space (%s/%s)",
			ref->bucket, ref->key, p.bucket, jc->dest_prefix);
		goto out;
	}
	/* keys, manifests and replies are UTF-8: a name that is not (an old
	 * Latin-1 folder) is said as such, not as a failure to write JSON */
	for(int k = 0; k < 3; k++) {
		const char *name = k == 0 ? ref->key : k == 1 ? ref->bucket : p.bucket;

		if(!imgp_utf8_valid(name, strlen(name))) {
			res->status = imgp_fail(res->message, IMGP_E_REQUEST, "the %s is not UTF-8 "
				"(an older file system's encoding?): object keys and manifests are UTF-8; "
				"rename it", k == 0 ? "name" : k == 1 ? "source folder or bucket"
				                                    : "destination folder or bucket");
			goto out;
		}
	}
	if(!(p.owner = meta_encode(ref->key))) {
		res->status = imgp_fail(res->message, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	imgp_config_fingerprint(p.cfg, p.set_fp);
	for(size_t i = 0; i < p.cfg->nvariants; i++)
		imgp_variant_fingerprint(&p.cfg->variants[i], p.fps[i]);
	if(*jc->manifest_key) {
		/* the manifest is part of the set: a new one (or none before) makes
		 * the last variant and the manifest again, nothing else */
		char text[IMGP_FP_SIZE + 1100];

		snprintf(text, sizeof(text), "%s;manifest:1:%s", p.set_fp, jc->manifest_key);
		imgp_fingerprint_text(text, p.set_fp);
		if(imgp_job_make_manifest_key(&p))
			goto out;
	}
	if(ref->action == IMGP_ACTION_REMOVED)
		run_removed(&p);
	else if(deadline_ms && deadline_ms - imgp_epoch_ms() < jc->deadline_reserve_ms)
		res->status = imgp_fail(res->message, IMGP_E_DEADLINE,
			"not started: %lld ms left before the deadline, under the %ld ms reserve",
			(long long)(deadline_ms - imgp_epoch_ms()), jc->deadline_reserve_ms);
	else
		run_created(&p, deadline_ms);
out:
	plan_release(&p);
	imgp_store_set_deadline(0);
	res->total_ms = imgp_now_ms() - t0;
	return res->status;
}
