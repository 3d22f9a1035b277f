/*
 * job.c: one object ref, start to end: loop guard, deadline, idempotency,
 * get, render, put the variants that are not current (the last one as the
 * commit), or delete the variants of a removed source.
 *
 * It owns the order of writes and what "done" means: a source is done only
 * when every variant is there, stamped with the source's identity and its
 * own settings' fingerprint, and the last variant is written only after
 * all the others, stamped with the whole set's fingerprint, so finding it
 * current means the whole set is. It must never parse events, argv or
 * JSON config: those arrive as structs.
 */
#include "job.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "sigv4.h"

/*
 * S3 calls end this long before the invocation's deadline, so that the
 * reply saying what came back for retry is still posted in time.
 */
#define REPLY_MARGIN_MS 250

/* HEAD answers kept during one ref, so no key is asked about twice. */
#define HEAD_CACHE 4

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
	imgp_free(res->detail_json);
	res->detail_json = NULL;
	for(size_t i = 0; i < res->noutputs; i++) {
		imgp_free(res->outputs[i].key);
		res->outputs[i].key = NULL;
	}
	res->noutputs = 0;
}

/* s percent-encoded where an HTTP header (S3 metadata) cannot carry it:
 * controls, non-ASCII and '%'. malloc'd; NULL when out of memory. */
static char *meta_encode(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for(const unsigned char *c = (const unsigned char *)s; *c; c++)
		n += (*c < 0x20 || *c > 0x7E || *c == '%') ? 3 : 1;
	if(!(out = imgp_malloc(n + 1)))
		return NULL;
	p = out;
	for(const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if(*c < 0x20 || *c > 0x7E || *c == '%')
			p += sprintf(p, "%%%02X", *c);
		else
			*p++ = (char)*c;
	}
	*p = '\0';
	return out;
}

/* ETags compare without their quotes: events give them bare, HEAD quoted. */
static bool same_etag(const char *a, const char *b)
{
	size_t la, lb;

	if(*a == '"')
		a++;
	if(*b == '"')
		b++;
	la = strcspn(a, "\"");
	lb = strcspn(b, "\"");
	return la == lb && la && !memcmp(a, b, la);
}

/* --- one ref's working state -------------------------------------------- */

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
static bool writes(const struct plan *p, size_t i)
{
	return p->stale[i] && p->alias[i] == i;
}

/* A store error into res (temporary or not, the status says). */
static enum imgp_status store_fail(struct imgp_job_result *res,
                                   const struct imgp_store_error *e, const char *variant)
{
	char line[IMGP_ERRSIZE];

	imgp_store_error_str(e, line);
	if(variant)
		return res->status = imgp_fail(res->message, e->status, "variant %s: %s",
		                               variant, line);
	return res->status = imgp_fail(res->message, e->status, "%s", line);
}

/*
 * HEAD key in the destination, through the cache: *out the object, or
 * NULL when there is none. Any other failure goes into res.
 */
static enum imgp_status head(struct plan *p, const char *key, const struct imgp_object **out)
{
	struct imgp_store_error e;
	struct head *h;

	*out = NULL;
	for(size_t i = 0; i < p->nheads; i++)
		if(!strcmp(p->heads[i].key, key)) {
			*out = p->heads[i].status ? NULL : &p->heads[i].obj;
			return IMGP_OK;
		}
	if(p->nheads == HEAD_CACHE) {
		imgp_free(p->heads[0].key);
		imgp_object_release(&p->heads[0].obj);
		memmove(&p->heads[0], &p->heads[1], (HEAD_CACHE - 1) * sizeof(p->heads[0]));
		p->nheads--;
	}
	h = &p->heads[p->nheads];
	memset(h, 0, sizeof(*h));
	if(!(h->key = imgp_strdup(key)))
		return p->res->status = imgp_fail(p->res->message, IMGP_E_NOMEM, "out of memory");
	h->status = imgp_store_head(p->dst, p->bucket, key, &h->obj, &e);
	if(h->status && h->status != IMGP_E_NOT_FOUND) {
		imgp_free(h->key);
		imgp_object_release(&h->obj);
		return store_fail(p->res, &e, NULL);
	}
	p->nheads++;
	*out = h->status ? NULL : &h->obj;
	return IMGP_OK;
}

/* Is obj stamped with this source's identity? Every part both sides know
 * must agree, and at least one must be known to both. */
static bool same_source(const struct plan *p, const struct imgp_object *obj)
{
	const char *etag = imgp_object_meta(obj, IMGP_META_SOURCE_ETAG);
	const char *version = imgp_object_meta(obj, IMGP_META_SOURCE_VERSION);
	bool compared = false;

	if(p->etag && etag) {
		if(!same_etag(p->etag, etag))
			return false;
		compared = true;
	}
	if(p->version && version) {
		if(strcmp(p->version, version))
			return false;
		compared = true;
	}
	return compared;
}

enum marker {
	MARKER_MISSING,             /* nothing there (or not an imgpipe output) */
	MARKER_CURRENT,             /* this source, this version, this set */
	MARKER_OTHER_SET,           /* this source and version, another spec */
	MARKER_OTHER_VERSION,       /* this source, another version */
	MARKER_FOREIGN,             /* another source's variant */
};

static enum marker judge(const struct plan *p, const struct imgp_object *obj)
{
	const char *owner = obj ? imgp_object_meta(obj, IMGP_META_SOURCE) : NULL;
	const char *set;

	if(!owner)
		return MARKER_MISSING;
	if(strcmp(owner, p->owner))
		return MARKER_FOREIGN;
	if(!same_source(p, obj))
		return MARKER_OTHER_VERSION;
	set = imgp_object_meta(obj, IMGP_META_SET);
	return set && !strcmp(set, p->set_fp) ? MARKER_CURRENT : MARKER_OTHER_SET;
}

static enum imgp_status make_manifest_key(struct plan *p);

/* The key of variant i in format f (size as planned), into *out. */
static enum imgp_status make_key(struct plan *p, size_t i, enum imgp_format f, char **out)
{
	struct imgp_name nm = {
		.prefix = p->jc->dest_prefix, .tmpl = p->jc->output_key, .key = p->ref->key,
		.variant = &p->cfg->variants[i], .format = f, .width = p->widths[i],
		.height = p->heights[i], .keep_ext = p->keep_ext,
	};

	return p->res->status = imgp_naming_make(&nm, out, p->res->message);
}

/*
 * Would variants i and k (one key, {w} naming a small source) be one
 * object: the same size and format, and the same settings but for the box?
 */
static bool same_output(const struct plan *p, size_t i, size_t k)
{
	struct imgp_variant a = p->cfg->variants[i], b = p->cfg->variants[k];
	char fa[IMGP_FP_SIZE], fb[IMGP_FP_SIZE];

	if(p->widths[i] != p->widths[k] || p->heights[i] != p->heights[k] ||
	   p->formats[i] != p->formats[k])
		return false;
	a.width = b.width = a.height = b.height = 0;
	imgp_variant_fingerprint(&a, fa);
	imgp_variant_fingerprint(&b, fb);
	return !strcmp(fa, fb);
}

/*
 * Every variant's format, size and key, now that the source's header is
 * known. A format=best variant's format is known only once encoded: its
 * key is planned in its first candidate format until resolve_best finds
 * the one this source already has.
 */
static enum imgp_status make_keys(struct plan *p)
{
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		const struct imgp_variant *v = &p->cfg->variants[i];
		enum imgp_format cand[IMGP_MAX_CANDIDATES];

		p->formats[i] = imgp_render_format(v, &p->probe);
		if(p->formats[i] == IMGP_FMT_BEST) {
			imgp_render_candidates(v, &p->probe, cand);
			p->formats[i] = cand[0];
		}
		imgp_render_size(v, &p->probe, &p->widths[i], &p->heights[i]);
		imgp_free(p->keys[i]);
		p->keys[i] = NULL;
		if(make_key(p, i, p->formats[i], &p->keys[i]))
			return p->res->status;
	}
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		p->alias[i] = i;
		for(size_t k = 0; k < i && p->alias[i] == i; k++) {
			if(strcmp(p->keys[i], p->keys[k]))
				continue;
			if(!same_output(p, i, k))
				return p->res->status = imgp_fail(p->res->message, IMGP_E_REQUEST,
					"variants %s and %s would both be written as %s (%dx%d) with other "
					"settings: for a source this small, give the output key template "
					"{variant}", p->cfg->variants[k].name, p->cfg->variants[i].name,
					p->keys[i], p->widths[i], p->heights[i]);
			p->alias[i] = p->alias[k];
		}
	}
	/* without a manifest the last variant written is the set's commit */
	p->last = p->alias[p->cfg->nvariants - 1];
	return IMGP_OK;
}

/*
 * Before the source is read, from the identity the event gave: is the
 * last variant current? The formats auto may have chosen are both tried.
 */
static enum imgp_status current_before_get(struct plan *p, bool *current)
{
	const struct imgp_variant *v = &p->cfg->variants[p->last];
	enum imgp_format formats[IMGP_MAX_CANDIDATES];
	size_t n = imgp_render_candidates(v, NULL, formats);

	*current = false;
	/* the manifest is written last of all: it alone says the whole set is */
	if(p->manifest_key) {
		const struct imgp_object *obj;
		enum marker m;

		if(head(p, p->manifest_key, &obj))
			return p->res->status;
		/* another source's manifest: this one's {stem} keeps its extension */
		if((m = judge(p, obj)) == MARKER_FOREIGN) {
			p->keep_ext = true;
			if(make_manifest_key(p) || head(p, p->manifest_key, &obj))
				return p->res->status;
			m = judge(p, obj);
			p->keep_ext = false;
			if(make_manifest_key(p))
				return p->res->status;
		}
		*current = m == MARKER_CURRENT;
		return IMGP_OK;
	}
	for(size_t i = 0; i < n && !*current; i++) {
		const struct imgp_object *obj;
		char *key;

		if(make_key(p, p->last, formats[i], &key))
			return imgp_status_temporary(p->res->status) ? p->res->status
			       : (p->res->status = IMGP_OK);   /* said again when written */
		if(!head(p, key, &obj))
			*current = judge(p, obj) == MARKER_CURRENT;
		imgp_free(key);
		if(p->res->status)
			return p->res->status;
	}
	return IMGP_OK;
}

/*
 * format=best: a variant's key follows the format that won, known only
 * once encoded. Which of its candidate keys holds this source's variant
 * now (a HEAD per candidate)? That key is planned, so the marks judge it;
 * if another format wins next time, the write replaces it and the old key
 * is deleted (drop_replaced).
 */
static enum imgp_status resolve_best(struct plan *p)
{
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		const struct imgp_variant *v = &p->cfg->variants[i];
		enum imgp_format cand[IMGP_MAX_CANDIDATES];
		size_t n;

		if(imgp_render_format(v, &p->probe) != IMGP_FMT_BEST)
			continue;
		n = imgp_render_candidates(v, &p->probe, cand);
		for(size_t c = 0; c < n; c++) {
			const struct imgp_object *obj;
			const char *owner;
			char *key;

			if(make_key(p, i, cand[c], &key))
				return p->res->status;
			if(head(p, key, &obj)) {
				imgp_free(key);
				return p->res->status;
			}
			owner = obj ? imgp_object_meta(obj, IMGP_META_SOURCE) : NULL;
			if(owner && !strcmp(owner, p->owner)) {
				imgp_free(p->keys[i]);
				imgp_free(p->held_keys[i]);
				p->keys[i] = key;
				p->formats[i] = cand[c];
				if(!(p->held_keys[i] = imgp_strdup(key)))
					return p->res->status = imgp_fail(p->res->message, IMGP_E_NOMEM,
					                                  "out of memory");
				break;
			}
			imgp_free(key);
		}
	}
	return IMGP_OK;
}

/* The manifest's key, with {stem} as the variants' (keep_ext). */
static enum imgp_status make_manifest_key(struct plan *p)
{
	imgp_free(p->manifest_key);
	p->manifest_key = NULL;
	if(!*p->jc->manifest_key)
		return IMGP_OK;
	return p->res->status = imgp_naming_manifest(p->jc->dest_prefix, p->jc->manifest_key,
	                                             p->ref->key, p->keep_ext, &p->manifest_key,
	                                             p->res->message);
}

/*
 * Is variant i, as the store holds it, this source's, of this version,
 * made with these settings from this plan? Then it is not stale, and what
 * the store has is kept for the manifest.
 */
static enum imgp_status held_current(struct plan *p, size_t i)
{
	const struct imgp_object *obj;
	const char *fp, *sha;
	enum marker mk;

	if(head(p, p->keys[i], &obj))
		return p->res->status;
	fp = obj ? imgp_object_meta(obj, IMGP_META_FINGERPRINT) : NULL;
	mk = judge(p, obj);
	p->stale[i] = (mk != MARKER_CURRENT && mk != MARKER_OTHER_SET) || !fp ||
	              strcmp(fp, p->fps[i]);
	if(!p->stale[i]) {
		p->held_bytes[i] = obj->len;
		sha = imgp_object_meta(obj, IMGP_META_SHA256);
		snprintf(p->held_sha[i], IMGP_SHA256_HEX, "%s", sha && strlen(sha) == 64 ? sha : "");
	}
	return IMGP_OK;
}

/*
 * With every key known: which variants need writing? With a manifest,
 * each variant whose own stamp (source, version, fingerprint) differs,
 * and none when the manifest is current too. Without one the last variant
 * is the commit and decides: missing or another version, all of them;
 * current, none; another spec, those whose own fingerprint changed, and
 * the last. Another source's outputs are never overwritten: this source's
 * {stem} keeps its extension instead.
 */
static enum imgp_status find_stale(struct plan *p, bool *none)
{
	const struct imgp_object *obj;
	enum marker m;

	*none = false;
	for(size_t i = 0; i < p->cfg->nvariants; i++)
		p->stale[i] = true;
	if(resolve_best(p) || head(p, p->keys[p->last], &obj))
		return p->res->status;
	if((m = judge(p, obj)) == MARKER_FOREIGN) {
		p->keep_ext = true;
		if(make_keys(p) || make_manifest_key(p) || resolve_best(p) ||
		   head(p, p->keys[p->last], &obj))
			return p->res->status;
		if((m = judge(p, obj)) == MARKER_FOREIGN)
			return p->res->status = imgp_fail(p->res->message, IMGP_E_REQUEST,
				"%s is a variant of %s, and so is the name with the extension kept: "
				"use {name} in the output key template", p->keys[p->last],
				imgp_object_meta(obj, IMGP_META_SOURCE));
	}
	if(p->jc->force)
		return IMGP_OK;
	if(!p->manifest_key) {
		/* the last variant is the set's commit: current, all is */
		if(m == MARKER_CURRENT) {
			*none = true;
			return IMGP_OK;
		}
		if(m != MARKER_OTHER_SET)
			return IMGP_OK;
		for(size_t i = 0; i < p->cfg->nvariants; i++)
			if(i != p->last && p->alias[i] == i && held_current(p, i))
				return p->res->status;
		return IMGP_OK;
	}
	/* the manifest is the set's commit; each variant is judged by its own
	 * stamp, the last as any other: a changed thumbnail re-encodes the
	 * thumbnail and rewrites the manifest, nothing else */
	{
		const struct imgp_object *man;
		bool any = false;

		if(head(p, p->manifest_key, &man))
			return p->res->status;
		for(size_t i = 0; i < p->cfg->nvariants; i++) {
			if(p->alias[i] != i)
				continue;
			if(held_current(p, i))
				return p->res->status;
			any |= p->stale[i];
		}
		*none = !any && judge(p, man) == MARKER_CURRENT;
	}
	return IMGP_OK;
}

/*
 * A file imgpipe did not write (no imgpipe-source stamp) where an output
 * or the manifest is to go is never replaced, but with force: the source
 * fails, naming it.
 */
static enum imgp_status refuse_strangers(struct plan *p)
{
	for(size_t i = 0; i <= p->cfg->nvariants && !p->jc->force; i++) {
		const char *key = i < p->cfg->nvariants ? (writes(p, i) ? p->keys[i] : NULL)
		                                        : p->manifest_key;
		const struct imgp_object *obj;

		if(!key)
			continue;
		if(head(p, key, &obj))
			return p->res->status;
		if(obj && !imgp_object_meta(obj, IMGP_META_SOURCE))
			return p->res->status = imgp_fail(p->res->message, IMGP_E_REQUEST,
				"%s/%s is already there and was not written by imgpipe (it has no %s "
				"stamp): left alone; move it away, or force to replace it", p->bucket,
				key, IMGP_META_SOURCE);
	}
	return IMGP_OK;
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
 * What a ref came to, for replies, into res->detail_json: {"outputs":
 * [every variant], "manifestKey", "manifest"} (the manifest when written
 * now; its key when one is kept). Takes manifest.
 */
static enum imgp_status describe(struct plan *p, json_t *manifest)
{
	struct imgp_job_result *res = p->res;
	json_t *list = json_array(), *doc = json_object();
	char *text;

	for(size_t i = 0; i < res->noutputs; i++) {
		const struct imgp_job_output *o = &res->outputs[i];

		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:b}",
			"variant", o->name, "format", imgp_format_name(o->format), "bucket", p->bucket,
			"key", o->key, "width", o->width, "height", o->height,
			"bytes", (json_int_t)o->bytes, "written", o->written));
	}
	json_object_set_new(doc, "outputs", list);
	if(p->manifest_key)
		json_object_set_new(doc, "manifestKey", json_string(p->manifest_key));
	if(manifest)
		json_object_set_new(doc, "manifest", manifest);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	res->detail_json = text ? imgp_strdup(text) : NULL;
	free(text);
	if(!res->detail_json)
		return res->status = imgp_fail(res->message, IMGP_E_NOMEM, "out of memory");
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
	commit = !p->manifest_key && writes(p, p->last);
	for(size_t i = 0; i < n; i++)
		if(writes(p, i) && !(commit && i == p->last))
			started[i] = !pthread_create(&threads[i], NULL, upload_run, &ups[i]);
	for(size_t i = 0; i < n; i++) {
		if(started[i])
			pthread_join(threads[i], NULL);
		else if(writes(p, i) && !(commit && i == p->last))
			upload_run(&ups[i]);        /* no thread to be had: write it here */
	}
	for(size_t i = 0; i < n && !res->status; i++)
		if(ups[i].e.status)
			store_fail(res, &ups[i].e, p->cfg->variants[i].name);
	if(!res->status && commit) {
		upload_run(&ups[p->last]);
		if(ups[p->last].e.status)
			store_fail(res, &ups[p->last].e, p->cfg->variants[p->last].name);
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


/* --- the manifest ----------------------------------------------------------- */

static int by_width(const void *a, const void *b)
{
	const struct imgp_job_output *x = *(const struct imgp_job_output *const *)a;
	const struct imgp_job_output *y = *(const struct imgp_job_output *const *)b;

	/* ties in the set's order: the first variant of a width is its candidate */
	return x->width != y->width ? (x->width > y->width) - (x->width < y->width)
	                            : (x > y) - (x < y);
}

/* Is a variant the whole picture (not a crop or a letterbox): its aspect
 * within 2 % of the source's? Only those are one image at several sizes. */
static bool whole_picture(const struct imgp_job_output *o, const struct imgp_probe *src)
{
	double a = (double)o->width / o->height, b = (double)src->width / src->height;

	return o->width > 0 && o->height > 0 && src->height > 0 && fabs(a / b - 1) <= 0.02;
}

/*
 * A key as a relative URL: every byte but the unreserved ones and "/"
 * percent-encoded (RFC 3986), so a name with spaces, commas or non-ASCII
 * is one srcset candidate a browser takes. malloc'd; NULL when out of
 * memory.
 */
static char *key_url(const char *key)
{
	char *out = imgp_malloc(3 * strlen(key) + 1), *o = out;

	if(!out)
		return NULL;
	for(const unsigned char *c = (const unsigned char *)key; *c; c++)
		if((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		   strchr("-._~/", *c))
			*o++ = (char)*c;
		else
			o += sprintf(o, "%%%02X", *c);
	*o = '\0';
	return out;
}

/* "URL 320w, URL 800w" of every whole-picture variant in format f,
 * narrowest first, one candidate per width (the HTML spec allows no two). */
static json_t *srcset_of(const struct imgp_job_result *res, const struct imgp_probe *src,
                         enum imgp_format f)
{
	const struct imgp_job_output *list[IMGP_MAX_VARIANTS];
	size_t n = 0, len = 0, at = 0;
	char *text;
	json_t *out;

	for(size_t i = 0; i < res->noutputs; i++)
		if(res->outputs[i].format == f && whole_picture(&res->outputs[i], src))
			list[n++] = &res->outputs[i];
	if(!n)
		return NULL;
	qsort(list, n, sizeof(list[0]), by_width);
	for(size_t i = 0; i < n; i++)
		len += 3 * strlen(list[i]->key) + 16;
	if(!(text = imgp_malloc(len + 1)))
		return NULL;
	text[0] = '\0';
	for(size_t i = 0; i < n; i++) {
		char *url;

		if(i && list[i]->width == list[i - 1]->width)
			continue;
		if(!(url = key_url(list[i]->key))) {
			imgp_free(text);
			return NULL;
		}
		at += (size_t)snprintf(text + at, len + 1 - at, "%s%s %dw", at ? ", " : "", url,
		                       list[i]->width);
		imgp_free(url);
	}
	out = json_string(text);
	imgp_free(text);
	return out;
}

/* How widely browsers show a format: <img> takes the most. */
static int img_rank(enum imgp_format f)
{
	return f == IMGP_FMT_JPEG || f == IMGP_FMT_PNG ? 3 : f == IMGP_FMT_WEBP ? 2 : 1;
}

/*
 * The manifest of one source: what was written (every variant as the
 * store holds it: key, format, size as written, bytes, SHA-256), srcset
 * strings per format for <img srcset> and <picture>, and the placeholder.
 */
static json_t *build_manifest(const struct plan *p, const struct imgp_render_result *rr,
                              const struct imgp_object *src)
{
	static const enum imgp_format order[] = { IMGP_FMT_AVIF, IMGP_FMT_WEBP, IMGP_FMT_JPEG,
	                                          IMGP_FMT_PNG };
	const struct imgp_job_result *res = p->res;
	json_t *doc, *source, *variants, *srcset, *sources, *ph;
	const struct imgp_job_output *img = NULL;
	char etag[128] = "", *img_src;

	/* the ETag as events carry it, without the quotes HTTP puts around it */
	if(p->etag)
		snprintf(etag, sizeof(etag), "%.*s", (int)strcspn(p->etag + (*p->etag == '"'), "\""),
		         p->etag + (*p->etag == '"'));
	source = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:i, s:i, s:I}",
		"bucket", p->ref->bucket, "key", p->ref->key, "etag", p->etag ? etag : NULL,
		"version", p->version, "format", p->probe.format, "width", p->probe.width,
		"height", p->probe.height, "bytes", (json_int_t)src->len);
	variants = json_array();
	for(size_t i = 0; i < res->noutputs; i++) {
		const struct imgp_job_output *o = &res->outputs[i];
		char *url = key_url(o->key);

		/* cropped: not the whole picture at its own aspect (cover's crop,
		 * contain's letterbox, fill's stretch): never a srcset candidate */
		json_array_append_new(variants, json_pack("{s:s, s:s, s:s?, s:s, s:s, s:i, s:i, s:b, "
			"s:I, s:s?}", "name", o->name, "key", o->key, "url", url,
			"format", imgp_format_name(o->format), "contentType", imgp_format_mime(o->format),
			"width", o->width, "height", o->height, "cropped", !whole_picture(o, &p->probe),
			"bytes", (json_int_t)o->bytes, "sha256", *o->sha256 ? o->sha256 : NULL));
		imgp_free(url);
		/* <img>: the widest whole picture in the most widely shown format
		 * there is (JPEG or PNG, else WebP, else AVIF) */
		if(whole_picture(o, &p->probe) &&
		   (!img || img_rank(o->format) > img_rank(img->format) ||
		    (img_rank(o->format) == img_rank(img->format) && o->width > img->width)))
			img = o;
	}
	srcset = json_object();
	sources = json_array();
	for(size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		json_t *set = srcset_of(res, &p->probe, order[k]);

		if(!set)
			continue;
		json_object_set_new(srcset, imgp_format_name(order[k]), set);
		/* <picture>: the newer formats first; the <img> format last */
		if(!img || order[k] != img->format)
			json_array_append_new(sources, json_pack("{s:s, s:O}", "type",
				imgp_format_mime(order[k]), "srcset", set));
	}
	img_src = img ? key_url(img->key) : NULL;
	ph = rr && rr->has_placeholder ? json_pack("{s:s, s:s, s:s, s:s}",
		"thumbhash", rr->placeholder.thumbhash, "blurhash", rr->placeholder.blurhash,
		"color", rr->placeholder.color, "dataUri", rr->placeholder.data_uri) : json_null();
	doc = json_pack("{s:i, s:o, s:o, s:o, s:{s:o, s:o}, s:o}",
		"version", 1, "source", source, "variants", variants, "srcset", srcset,
		"picture", "sources", sources, "img", img && img_src ? json_pack("{s:s, s:O, s:i, s:i}",
			"src", img_src, "srcset", json_object_get(srcset, imgp_format_name(img->format)),
			"width", img->width, "height", img->height) : json_null(),
		"placeholder", ph);
	imgp_free(img_src);
	return doc;
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
	return e.status ? store_fail(p->res, &e, "manifest") : IMGP_OK;
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
			return store_fail(p->res, &e, p->cfg->variants[i].name);
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
		want[i] = writes(p, i);
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
		make_key(p, i, p->formats[i], &p->keys[i]);
	}
	if(!res->status && !put_all(p, &rr, deadline_ms) && !drop_replaced(p) &&
	   !record_outputs(p, &rr)) {
		json_t *manifest = p->manifest_key ? build_manifest(p, &rr, src) : NULL;

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
		if(current_before_get(p, &current))
			return res->status;
		if(current)
			return mark_current(p);
	}
	t0 = imgp_now_ms();
	if(imgp_store_get(p->src, ref->bucket, ref->key, p->cfg->limits.max_bytes, &src, &e)) {
		res->get_ms = imgp_now_ms() - t0;
		store_fail(res, &e, NULL);
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
	if(make_keys(p) || find_stale(p, &none) || (!none && refuse_strangers(p)))
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

	if(head(p, key, &obj))
		return p->res->status;
	owner = obj ? imgp_object_meta(obj, IMGP_META_SOURCE) : NULL;
	if(!owner || strcmp(owner, p->owner))
		return IMGP_OK;
	if(!removable(p, gone, obj)) {
		(*kept)++;
		return IMGP_OK;
	}
	if(imgp_store_delete(p->dst, p->bucket, key, &e) && e.status != IMGP_E_NOT_FOUND)
		return store_fail(p->res, &e, what);
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
		return store_fail(res, &e, NULL);
	for(size_t i = 0; i < p->cfg->nvariants; i++) {
		const struct imgp_variant *v = &p->cfg->variants[i];
		enum imgp_format formats[IMGP_MAX_CANDIDATES];
		size_t nf = imgp_render_candidates(v, NULL, formats);

		for(size_t k = 0; k < 2 * nf; k++) {
			char *key = NULL;

			p->keep_ext = k & 1;
			if(!make_key(p, i, formats[k / 2], &key))
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
		if(make_manifest_key(p) || drop_output(p, gone, p->manifest_key, "manifest",
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
		if(make_manifest_key(&p))
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
