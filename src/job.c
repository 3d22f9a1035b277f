/*
 * job.c: one object ref, start to end: loop guard, deadline, idempotency,
 * get, render, put every variant (the last one as the commit), or delete
 * the variants of a removed source.
 *
 * It owns the order of writes and what "done" means: a source is done only
 * when every variant is written, and the last variant is written only after
 * all the others, so a redelivered event that finds the last variant
 * stamped with the source's ETag knows the whole set is there. It must
 * never parse events, argv or JSON config: those arrive as structs.
 */
#include "job.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "naming.h"

static char *env_dup(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	if(!v || !*v)
		v = fallback;
	return v ? imgp_strdup(v) : NULL;
}

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

/*
 * Refuse a destination the trigger would see: variants written there would
 * fire the trigger again, for ever (AWS's own tutorial has users find this
 * out on their bill).
 */
static enum imgp_status check_loop_config(const struct imgp_job_config *jc, char *err)
{
	bool same_bucket = !jc->dest_bucket ||
	                   (jc->source_bucket && !strcmp(jc->dest_bucket, jc->source_bucket));

	if(!same_bucket)
		return IMGP_OK;
	if(!*jc->dest_prefix)
		return imgp_fail(err, IMGP_E_CONFIG,
			"variants would be written into the trigger's own bucket and key space: "
			"set IMGPIPE_DEST_BUCKET to another bucket, or IMGPIPE_DEST_PREFIX to a "
			"prefix outside IMGPIPE_SOURCE_PREFIX");
	if(!*jc->source_prefix || starts_with(jc->dest_prefix, jc->source_prefix) ||
	   starts_with(jc->source_prefix, jc->dest_prefix))
		return imgp_fail(err, IMGP_E_CONFIG,
			"IMGPIPE_DEST_PREFIX=%s is inside the trigger's key space (IMGPIPE_SOURCE_PREFIX=%s%s): "
			"variants written there would trigger imgpipe again; use another prefix or "
			"IMGPIPE_DEST_BUCKET", jc->dest_prefix, jc->source_prefix,
			*jc->source_prefix ? "" : ", the whole bucket");
	return IMGP_OK;
}

enum imgp_status imgp_job_config_from_env(struct imgp_job_config *jc, char *err)
{
	enum imgp_status result;
	const char *v;

	memset(jc, 0, sizeof(*jc));
	imgp_config_init(&jc->render);
	result = imgp_config_from_env(&jc->render, err);
	if(result)
		return result;
	jc->dest_bucket = env_dup("IMGPIPE_DEST_BUCKET", NULL);
	jc->source_bucket = env_dup("IMGPIPE_SOURCE_BUCKET", NULL);
	jc->dest_prefix = env_dup("IMGPIPE_DEST_PREFIX", "");
	jc->source_prefix = env_dup("IMGPIPE_SOURCE_PREFIX", "");
	jc->output_key = env_dup("IMGPIPE_OUTPUT_KEY", IMGP_DEFAULT_OUTPUT_KEY);
	jc->cache_control = env_dup("IMGPIPE_CACHE_CONTROL", IMGP_DEFAULT_CACHE_CONTROL);
	jc->deadline_reserve_ms = 1000;
	if(!jc->dest_prefix || !jc->source_prefix || !jc->output_key || !jc->cache_control) {
		imgp_job_config_release(jc);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	if((v = getenv("IMGPIPE_ON_DELETE")) && *v) {
		if(!strcmp(v, "delete"))
			jc->delete_on_remove = true;
		else if(strcmp(v, "ignore")) {
			imgp_job_config_release(jc);
			return imgp_fail(err, IMGP_E_CONFIG,
				"IMGPIPE_ON_DELETE=%s is not one of delete, ignore", v);
		}
	}
	if((v = getenv("IMGPIPE_DEADLINE_RESERVE_MS")) && *v) {
		char *end;
		long n = strtol(v, &end, 10);

		if(*end || n < 0 || n > 900000) {
			imgp_job_config_release(jc);
			return imgp_fail(err, IMGP_E_CONFIG,
				"IMGPIPE_DEADLINE_RESERVE_MS=%s is not a number of milliseconds", v);
		}
		jc->deadline_reserve_ms = n;
	}
	if((result = imgp_naming_check(jc->output_key, jc->render.nvariants, err)) ||
	   (result = check_loop_config(jc, err))) {
		imgp_job_config_release(jc);
		return result;
	}
	return IMGP_OK;
}

void imgp_job_config_release(struct imgp_job_config *jc)
{
	imgp_free(jc->dest_bucket);
	imgp_free(jc->dest_prefix);
	imgp_free(jc->output_key);
	imgp_free(jc->cache_control);
	imgp_free(jc->source_bucket);
	imgp_free(jc->source_prefix);
	memset(jc, 0, sizeof(*jc));
}

void imgp_job_result_release(struct imgp_job_result *res)
{
	imgp_free(res->detail_json);
	res->detail_json = NULL;
}

/* ETags compare without their quotes: events give them bare, HEAD quoted. */
static bool same_etag(const char *a, const char *b)
{
	size_t la, lb;

	if(!a || !b)
		return false;
	if(*a == '"')
		a++;
	if(*b == '"')
		b++;
	la = strcspn(a, "\"");
	lb = strcspn(b, "\"");
	return la == lb && la && !memcmp(a, b, la);
}

char *imgp_meta_encode(const char *s)
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

static const char *dest_bucket(const struct imgp_job_config *jc, const struct imgp_ref *ref)
{
	return jc->dest_bucket ? jc->dest_bucket : ref->bucket;
}

/* The formats a variant may have been written in, before the source is seen. */
static size_t candidate_formats(const struct imgp_variant *v, enum imgp_format out[2])
{
	if(v->format != IMGP_FMT_AUTO) {
		out[0] = v->format;
		return 1;
	}
	out[0] = IMGP_FMT_JPEG;
	out[1] = IMGP_FMT_WEBP;
	return 2;
}

/*
 * Is this version of the source done already? The last variant is written
 * last; if it is there, stamped with this ETag (and version), so are the
 * others. A temporary failure of the store (network, 5xx, throttling) is
 * not "not done": it goes into res and the ref ends there, for the trigger
 * to retry, rather than meet the same outage again through the source's
 * GET (a second full retry cycle, which can carry a batch past its
 * deadline) or add GETs and PUTs to a throttled bucket.
 */
static bool already_done(const struct imgp_job_config *jc, struct imgp_store *store,
                         const struct imgp_ref *ref, const char *etag,
                         const char *version, struct imgp_job_result *res)
{
	const struct imgp_variant *last = &jc->render.variants[jc->render.nvariants - 1];
	enum imgp_format formats[2];
	size_t n = candidate_formats(last, formats);
	char err[IMGP_ERRSIZE];

	if(!etag)
		return false;
	for(size_t i = 0; i < n; i++) {
		struct imgp_store_error e;
		struct imgp_object head;
		enum imgp_status got;
		char *key;
		bool done;

		got = imgp_naming_make(jc->dest_prefix, jc->output_key, ref->key, last,
		                       formats[i], &key, err);
		if(got) {
			/* out of memory ends the ref for a retry; a refused key is
			 * said again, with its reason, when the variant is written */
			if(imgp_status_temporary(got))
				res->status = imgp_fail(res->message, got, "%s", err);
			return false;
		}
		imgp_object_init(&head);
		got = imgp_store_head(store, dest_bucket(jc, ref), key, &head, &e);
		if(got && imgp_status_temporary(got)) {
			char line[IMGP_ERRSIZE];

			res->status = imgp_fail(res->message, got, "%s",
			                        imgp_store_error_str(&e, line));
			imgp_object_release(&head);
			imgp_free(key);
			return false;
		}
		done = !got &&
		       same_etag(imgp_object_meta(&head, IMGP_META_SOURCE_ETAG), etag) &&
		       (!version || !imgp_object_meta(&head, IMGP_META_SOURCE_VERSION) ||
		        !strcmp(version, imgp_object_meta(&head, IMGP_META_SOURCE_VERSION)));
		imgp_object_release(&head);
		imgp_free(key);
		if(done)
			return true;
	}
	return false;
}

/* One variant's upload, run on a thread of its own when it can overlap. */
struct upload {
	const struct imgp_job_config *jc;
	struct imgp_store *store;
	const struct imgp_ref *ref;
	const struct imgp_output *out;
	const char *etag, *version, *safe_key;
	int64_t deadline_ms;
	char *key;
	struct imgp_store_error e;
	double ms;
};

size_t imgp_variant_meta(struct imgp_meta *meta, char wh[2][16], const char *safe_key,
                         const char *etag, const char *version,
                         const struct imgp_output *out)
{
	size_t n = 0;

	snprintf(wh[0], 16, "%d", out->width);
	snprintf(wh[1], 16, "%d", out->height);
	meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE, (char *)safe_key };
	if(etag)
		meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE_ETAG, (char *)etag };
	if(version)
		meta[n++] = (struct imgp_meta){ (char *)IMGP_META_SOURCE_VERSION, (char *)version };
	meta[n++] = (struct imgp_meta){ (char *)IMGP_META_VARIANT, (char *)out->variant->name };
	meta[n++] = (struct imgp_meta){ (char *)IMGP_META_WIDTH, wh[0] };
	meta[n++] = (struct imgp_meta){ (char *)IMGP_META_HEIGHT, wh[1] };
	return n;
}

static void *upload_run(void *arg)
{
	struct upload *u = arg;
	char wh[2][16];
	struct imgp_meta meta[IMGP_VARIANT_META];
	struct imgp_put_opts opts = {
		.content_type = imgp_format_mime(u->out->format),
		.cache_control = u->jc->cache_control,
	};
	double t0 = imgp_now_ms();

	imgp_store_error_clear(&u->e);
	imgp_store_set_deadline(store_deadline(u->deadline_ms));
	if(u->deadline_ms && imgp_epoch_ms() >= u->deadline_ms) {
		u->e.status = imgp_fail(u->e.msg, IMGP_E_DEADLINE,
			"not written: the invocation's deadline has passed");
		return NULL;
	}
	opts.meta = meta;
	opts.nmeta = imgp_variant_meta(meta, wh, u->safe_key, u->etag, u->version, u->out);
	imgp_store_put(u->store, dest_bucket(u->jc, u->ref), u->key, u->out->data, u->out->len,
	               &opts, &u->e);
	u->ms = imgp_now_ms() - t0;
	return NULL;
}

/* A short JSON list of what was written, for replies. */
static char *describe_outputs(const struct upload *ups, size_t n, const char *bucket)
{
	json_t *list = json_array();
	char *text, *copy;

	for(size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}",
			"variant", ups[i].out->variant->name, "bucket", bucket, "key", ups[i].key,
			"width", ups[i].out->width, "height", ups[i].out->height,
			"bytes", (json_int_t)ups[i].out->len));
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	copy = text ? imgp_strdup(text) : NULL;
	free(text);
	return copy;
}

/*
 * Write every variant: all but the last at once, then the last, so that
 * the last variant existing means the whole set does.
 */
static enum imgp_status put_all(const struct imgp_job_config *jc, struct imgp_store *store,
                                const struct imgp_ref *ref, struct imgp_render_result *rr,
                                const char *etag, const char *version, int64_t deadline_ms,
                                struct imgp_job_result *res)
{
	enum imgp_status result = IMGP_OK;
	struct upload ups[IMGP_MAX_VARIANTS];
	pthread_t threads[IMGP_MAX_VARIANTS];
	bool started[IMGP_MAX_VARIANTS] = { false };
	char *safe_key = imgp_meta_encode(ref->key);
	size_t n = rr->noutputs;
	double t0 = imgp_now_ms();

	memset(ups, 0, sizeof(ups));
	if(!safe_key)
		return imgp_fail(res->message, IMGP_E_NOMEM, "out of memory");
	for(size_t i = 0; i < n; i++) {
		ups[i] = (struct upload){ jc, store, ref, &rr->outputs[i], etag, version, safe_key,
		                          deadline_ms, NULL, { 0 }, 0 };
		result = imgp_naming_make(jc->dest_prefix, jc->output_key, ref->key,
		                          rr->outputs[i].variant, rr->outputs[i].format,
		                          &ups[i].key, res->message);
		if(result)
			goto out;
	}
	for(size_t i = 0; i + 1 < n; i++)
		started[i] = !pthread_create(&threads[i], NULL, upload_run, &ups[i]);
	for(size_t i = 0; i + 1 < n; i++) {
		if(started[i])
			pthread_join(threads[i], NULL);
		else
			upload_run(&ups[i]);    /* no thread to be had: write it here */
	}
	for(size_t i = 0; i + 1 < n && !result; i++)
		if(ups[i].e.status) {
			char line[IMGP_ERRSIZE];
			result = imgp_fail(res->message, ups[i].e.status, "variant %s: %s",
			                   ups[i].out->variant->name, imgp_store_error_str(&ups[i].e, line));
		}
	if(!result) {
		upload_run(&ups[n - 1]);
		if(ups[n - 1].e.status) {
			char line[IMGP_ERRSIZE];
			result = imgp_fail(res->message, ups[n - 1].e.status, "variant %s: %s",
			                   ups[n - 1].out->variant->name,
			                   imgp_store_error_str(&ups[n - 1].e, line));
		}
	}
	if(!result) {
		for(size_t i = 0; i < n; i++)
			res->bytes_out += ups[i].out->len;
		res->variants = n;
		res->detail_json = describe_outputs(ups, n, dest_bucket(jc, ref));
	}
out:
	res->put_ms = imgp_now_ms() - t0;
	for(size_t i = 0; i < n; i++)
		imgp_free(ups[i].key);
	imgp_free(safe_key);
	return result;
}

static void run_created(const struct imgp_job_config *jc, struct imgp_store *store,
                        const struct imgp_ref *ref, int64_t deadline_ms,
                        struct imgp_job_result *res)
{
	struct imgp_store_error e;
	struct imgp_object src;
	struct imgp_render_result rr;
	const char *etag, *version;
	char line[IMGP_ERRSIZE];
	double t0;

	imgp_object_init(&src);
	if(ref->etag && already_done(jc, store, ref, ref->etag, ref->version_id, res)) {
		res->skipped = true;
		snprintf(res->message, sizeof(res->message), "already done for this version");
		return;
	}
	if(res->status)
		return;
	t0 = imgp_now_ms();
	if(imgp_store_get(store, ref->bucket, ref->key, jc->render.limits.max_bytes, &src, &e)) {
		res->get_ms = imgp_now_ms() - t0;
		res->status = imgp_fail(res->message, e.status, "%s", imgp_store_error_str(&e, line));
		return;
	}
	res->get_ms = imgp_now_ms() - t0;
	res->bytes_in = src.len;
	if(imgp_object_meta(&src, IMGP_META_SOURCE)) {
		res->status = imgp_fail(res->message, IMGP_E_LOOP,
			"refused by the loop guard: this object is an imgpipe variant (of %s)",
			imgp_object_meta(&src, IMGP_META_SOURCE));
		goto out;
	}
	etag = src.etag ? src.etag : ref->etag;
	version = src.version_id ? src.version_id : ref->version_id;
	if(!ref->etag && already_done(jc, store, ref, etag, version, res)) {
		res->skipped = true;
		snprintf(res->message, sizeof(res->message), "already done for this version");
		goto out;
	}
	if(res->status)
		goto out;
	res->status = imgp_render(&jc->render, src.data, src.len, &rr, res->message);
	if(res->status)
		goto out;
	res->decode_ms = rr.probe_ms + rr.decode_ms;
	for(size_t i = 0; i < rr.noutputs; i++) {
		res->resize_ms += rr.outputs[i].resize_ms;
		res->encode_ms += rr.outputs[i].encode_ms;
	}
	/* the pixels are done; free the source before the uploads hold memory */
	imgp_free(src.data);
	src.data = NULL;
	res->status = put_all(jc, store, ref, &rr, etag, version, deadline_ms, res);
	if(!res->status)
		snprintf(res->message, sizeof(res->message), "%zu variants written", res->variants);
	imgp_render_result_release(&rr);
out:
	imgp_object_release(&src);
}

static void run_removed(const struct imgp_job_config *jc, struct imgp_store *store,
                        const struct imgp_ref *ref, struct imgp_job_result *res)
{
	size_t deleted = 0;

	res->skipped = !jc->delete_on_remove;
	if(!jc->delete_on_remove) {
		snprintf(res->message, sizeof(res->message),
		         "source removed; variants kept (IMGPIPE_ON_DELETE is not delete)");
		return;
	}
	for(size_t i = 0; i < jc->render.nvariants && !res->status; i++) {
		enum imgp_format formats[2];
		size_t n = candidate_formats(&jc->render.variants[i], formats);

		for(size_t k = 0; k < n && !res->status; k++) {
			struct imgp_store_error e;
			char line[IMGP_ERRSIZE];
			char *key;

			res->status = imgp_naming_make(jc->dest_prefix, jc->output_key, ref->key,
			                               &jc->render.variants[i], formats[k], &key,
			                               res->message);
			if(res->status)
				break;
			if(imgp_store_delete(store, dest_bucket(jc, ref), key, &e))
				res->status = imgp_fail(res->message, e.status, "%s",
				                        imgp_store_error_str(&e, line));
			else
				deleted++;
			imgp_free(key);
		}
	}
	if(!res->status)
		snprintf(res->message, sizeof(res->message), "source removed; variants deleted");
}

void imgp_job_run(const struct imgp_job_config *jc, struct imgp_store *store,
                  const struct imgp_ref *ref, int64_t deadline_ms,
                  struct imgp_job_result *res)
{
	double t0 = imgp_now_ms();

	memset(res, 0, sizeof(*res));
	imgp_store_set_deadline(store_deadline(deadline_ms));
	if(ref->action == IMGP_ACTION_IGNORED) {
		res->skipped = true;
		snprintf(res->message, sizeof(res->message), "ignored: %s",
		         ref->event_name ? ref->event_name : "not an object event");
	}
	else if(!strcmp(dest_bucket(jc, ref), ref->bucket) &&
	        starts_with(ref->key, jc->dest_prefix))
		res->status = imgp_fail(res->message, IMGP_E_LOOP,
			"refused by the loop guard: s3://%s/%s is in the destination key space "
			"(s3://%s/%s)", ref->bucket, ref->key, dest_bucket(jc, ref), jc->dest_prefix);
	else if(ref->action == IMGP_ACTION_REMOVED)
		run_removed(jc, store, ref, res);
	else if(deadline_ms && deadline_ms - imgp_epoch_ms() < jc->deadline_reserve_ms)
		res->status = imgp_fail(res->message, IMGP_E_DEADLINE,
			"not started: %lld ms left before the deadline, under the %ld ms reserve",
			(long long)(deadline_ms - imgp_epoch_ms()), jc->deadline_reserve_ms);
	else
		run_created(jc, store, ref, deadline_ms, res);
	imgp_store_set_deadline(0);
	res->total_ms = imgp_now_ms() - t0;
}
