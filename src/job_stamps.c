/*
 * job_stamps.c: which of a source's outputs are current. Every output's
 * key (the template, {stem} keeping its extension where another source
 * owns the name, format=best's winner), a HEAD of each through a small
 * cache, and its stamps judged against the source's identity and the
 * variant's fingerprint. It must never write: job.c writes.
 */
#include "job_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"

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

/*
 * HEAD key in the destination, through the cache: *out the object, or
 * NULL when there is none. Any other failure goes into res.
 */
enum imgp_status imgp_job_head(struct plan *p, const char *key, const struct imgp_object **out)
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
		return imgp_job_store_fail(p->res, &e, NULL);
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


enum marker imgp_job_judge(const struct plan *p, const struct imgp_object *obj)
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

/* The key of variant i in format f (size as planned), into *out. */
enum imgp_status imgp_job_make_key(struct plan *p, size_t i, enum imgp_format f, char **out)
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
enum imgp_status imgp_job_make_keys(struct plan *p)
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
		if(imgp_job_make_key(p, i, p->formats[i], &p->keys[i]))
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
enum imgp_status imgp_job_current_before_get(struct plan *p, bool *current)
{
	const struct imgp_variant *v = &p->cfg->variants[p->last];
	enum imgp_format formats[IMGP_MAX_CANDIDATES];
	size_t n = imgp_render_candidates(v, NULL, formats);

	*current = false;
	/* the manifest is written last of all: it alone says the whole set is */
	if(p->manifest_key) {
		const struct imgp_object *obj;
		enum marker m;

		if(imgp_job_head(p, p->manifest_key, &obj))
			return p->res->status;
		/* another source's manifest: this one's {stem} keeps its extension */
		if((m = imgp_job_judge(p, obj)) == MARKER_FOREIGN) {
			p->keep_ext = true;
			if(imgp_job_make_manifest_key(p) || imgp_job_head(p, p->manifest_key, &obj))
				return p->res->status;
			m = imgp_job_judge(p, obj);
			p->keep_ext = false;
			if(imgp_job_make_manifest_key(p))
				return p->res->status;
		}
		*current = m == MARKER_CURRENT;
		return IMGP_OK;
	}
	for(size_t i = 0; i < n && !*current; i++) {
		const struct imgp_object *obj;
		char *key;

		if(imgp_job_make_key(p, p->last, formats[i], &key))
			return imgp_status_temporary(p->res->status) ? p->res->status
			       : (p->res->status = IMGP_OK);   /* said again when written */
		if(!imgp_job_head(p, key, &obj))
			*current = imgp_job_judge(p, obj) == MARKER_CURRENT;
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

			if(imgp_job_make_key(p, i, cand[c], &key))
				return p->res->status;
			if(imgp_job_head(p, key, &obj)) {
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
enum imgp_status imgp_job_make_manifest_key(struct plan *p)
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

	if(imgp_job_head(p, p->keys[i], &obj))
		return p->res->status;
	fp = obj ? imgp_object_meta(obj, IMGP_META_FINGERPRINT) : NULL;
	mk = imgp_job_judge(p, obj);
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
enum imgp_status imgp_job_find_stale(struct plan *p, bool *none)
{
	const struct imgp_object *obj;
	enum marker m;

	*none = false;
	for(size_t i = 0; i < p->cfg->nvariants; i++)
		p->stale[i] = true;
	if(resolve_best(p) || imgp_job_head(p, p->keys[p->last], &obj))
		return p->res->status;
	if((m = imgp_job_judge(p, obj)) == MARKER_FOREIGN) {
		p->keep_ext = true;
		if(imgp_job_make_keys(p) || imgp_job_make_manifest_key(p) || resolve_best(p) ||
		   imgp_job_head(p, p->keys[p->last], &obj))
			return p->res->status;
		if((m = imgp_job_judge(p, obj)) == MARKER_FOREIGN)
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
		bool any = false, committed;

		/* judged now: the HEADs below may evict it from the small cache */
		if(imgp_job_head(p, p->manifest_key, &man))
			return p->res->status;
		committed = imgp_job_judge(p, man) == MARKER_CURRENT;
		for(size_t i = 0; i < p->cfg->nvariants; i++) {
			if(p->alias[i] != i)
				continue;
			if(held_current(p, i))
				return p->res->status;
			any |= p->stale[i];
		}
		*none = !any && committed;
	}
	return IMGP_OK;
}

/*
 * A file imgpipe did not write (no imgpipe-source stamp) where an output
 * or the manifest is to go is never replaced, but with force: the source
 * fails, naming it.
 */
enum imgp_status imgp_job_refuse_stranger(struct plan *p, const char *key)
{
	const struct imgp_object *obj;

	if(p->jc->force || !key)
		return IMGP_OK;
	if(imgp_job_head(p, key, &obj))
		return p->res->status;
	if(obj && !imgp_object_meta(obj, IMGP_META_SOURCE))
		return p->res->status = imgp_fail(p->res->message, IMGP_E_REQUEST,
			"%s/%s is already there and was not written by imgpipe (it has no %s "
			"stamp): left alone; move it away, or force to replace it", p->bucket,
			key, IMGP_META_SOURCE);
	return IMGP_OK;
}

enum imgp_status imgp_job_refuse_strangers(struct plan *p)
{
	for(size_t i = 0; i < p->cfg->nvariants; i++)
		if(imgp_job_writes(p, i) && imgp_job_refuse_stranger(p, p->keys[i]))
			return p->res->status;
	return imgp_job_refuse_stranger(p, p->manifest_key);
}
