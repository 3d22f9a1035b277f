/*
 * store.c: the front of the object store: picks the backend from the spec
 * or IMGPIPE_STORE, checks arguments every backend would check, and owns
 * the object and error helpers.
 *
 * It must never know how a backend stores anything.
 */
#include "http.h"
#include "store_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void imgp_store_error_clear(struct imgp_store_error *e)
{
	if(!e)
		return;
	e->status = IMGP_OK;
	e->http_status = 0;
	e->attempts = 0;
	e->code[0] = e->request_id[0] = e->msg[0] = '\0';
}

enum imgp_status imgp_store_fail(struct imgp_store_error *e,
                                 enum imgp_status status, const char *fmt, ...)
{
	va_list ap;

	if(e) {
		e->status = status;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return status;
}

const char *imgp_store_error_str(const struct imgp_store_error *e, char *out)
{
	if(e->code[0] && e->request_id[0])
		snprintf(out, IMGP_ERRSIZE, "%.300s (%.63s, request id %.127s)", e->msg, e->code,
		         e->request_id);
	else if(e->code[0])
		snprintf(out, IMGP_ERRSIZE, "%.400s (%.63s)", e->msg, e->code);
	else
		snprintf(out, IMGP_ERRSIZE, "%s", e->msg);
	return out;
}

void imgp_object_init(struct imgp_object *o)
{
	memset(o, 0, sizeof(*o));
}

void imgp_object_release(struct imgp_object *o)
{
	if(!o)
		return;
	imgp_free(o->data);
	imgp_free(o->content_type);
	imgp_free(o->cache_control);
	imgp_free(o->etag);
	imgp_free(o->version_id);
	imgp_free(o->last_modified);
	for(size_t i = 0; i < o->nmeta; i++) {
		imgp_free(o->meta[i].name);
		imgp_free(o->meta[i].value);
	}
	imgp_free(o->meta);
	imgp_object_init(o);
}

const char *imgp_object_meta(const struct imgp_object *o, const char *name)
{
	for(size_t i = 0; i < o->nmeta; i++)
		if(!strcasecmp(o->meta[i].name, name))
			return o->meta[i].value;
	return NULL;
}

/*
 * Metadata travels as HTTP headers: names are tokens ([A-Za-z0-9_-]), values
 * printable ASCII (S3 would RFC 2047-encode anything else, and a line
 * break would be header injection).
 */
static enum imgp_status check_meta(const struct imgp_put_opts *opts,
                                   struct imgp_store_error *e)
{
	for(size_t i = 0; opts && i < opts->nmeta; i++) {
		const char *n = opts->meta[i].name, *v = opts->meta[i].value;

		if(!n || !*n || !v)
			return imgp_store_fail(e, IMGP_E_REQUEST, "metadata name or value is empty");
		for(const char *p = n; *p; p++)
			if(!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
				return imgp_store_fail(e, IMGP_E_REQUEST,
				                       "metadata name \"%.64s\" has a character other than "
				                       "letters, digits, - and _", n);
		for(const char *p = v; *p; p++)
			if(*p < 0x20 || *p > 0x7e)
				return imgp_store_fail(e, IMGP_E_REQUEST,
				                       "metadata \"%.64s\" has a value with a character "
				                       "that is not printable ASCII", n);
	}
	for(const char *s = opts ? opts->content_type : NULL; s && *s; s++)
		if(*s < 0x20 || *s > 0x7e)
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "content type is not printable ASCII");
	for(const char *s = opts ? opts->cache_control : NULL; s && *s; s++)
		if(*s < 0x20 || *s > 0x7e)
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "cache control is not printable ASCII");
	return IMGP_OK;
}

static void opts_defaults(struct imgp_store_opts *o)
{
	if(o->max_attempts <= 0)
		o->max_attempts = 5;
	if(o->retry_budget_ms <= 0)
		o->retry_budget_ms = 120000;
	if(o->retry_base_ms <= 0)
		o->retry_base_ms = 100;
	if(o->retry_max_ms <= 0)
		o->retry_max_ms = 5000;
	if(o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = 5000;
	if(o->stall_timeout_s <= 0)
		o->stall_timeout_s = 10;
	if(o->list_page_size <= 0 || o->list_page_size > 1000)
		o->list_page_size = 1000;
}

enum imgp_status imgp_store_open_opts(const char *spec,
                                      const struct imgp_store_opts *opts,
                                      struct imgp_store **out, char *err)
{
	struct imgp_store_opts o = { 0 };

	*out = NULL;
	if(opts)
		o = *opts;
	opts_defaults(&o);
	if(!spec || !*spec || !strcmp(spec, "s3"))
		return imgp_store_s3_open(&o, out, err);
	if(!strcmp(spec, "azure"))
		return imgp_store_azure_open(&o, out, err);
	if(!strncmp(spec, "dir:", 4)) {
		if(!spec[4])
			return imgp_fail(err, IMGP_E_CONFIG, "store \"dir:\" needs a folder: dir:PATH");
		return imgp_store_dir_open(spec + 4, &o, out, err);
	}
	return imgp_fail(err, IMGP_E_CONFIG,
	                 "store \"%.200s\" is not one of s3, azure, dir:PATH", spec);
}

/* Every URL scheme the CLI knows: one line per backend that has one. */
static const struct imgp_store_scheme schemes[] = {
	{ "s3", "s3", "S3" },
	{ "az", "azure", "Azure Blob" },
};

const struct imgp_store_scheme *imgp_store_scheme_of(const char *url)
{
	for(size_t i = 0; url && i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);

		if(!strncmp(url, schemes[i].scheme, n) && !strncmp(url + n, "://", 3))
			return &schemes[i];
	}
	return NULL;
}

enum imgp_status imgp_store_url_split(const char *url, char **bucket, char **rest,
                                      char *err)
{
	const struct imgp_store_scheme *s = imgp_store_scheme_of(url);
	const char *b, *slash;

	*bucket = *rest = NULL;
	if(!s)
		return imgp_fail(err, IMGP_E_USAGE, "%.200s is not a URL of a store "
		                 "(s3://BUCKET/KEY)", url ? url : "");
	b = url + strlen(s->scheme) + 3;
	slash = strchr(b, '/');
	if(slash == b || !*b)
		return imgp_fail(err, IMGP_E_USAGE, "no bucket in this %s URL", s->noun);
	*bucket = imgp_strndup(b, slash ? (size_t)(slash - b) : strlen(b));
	*rest = imgp_strdup(slash ? slash + 1 : "");
	if(!*bucket || !*rest) {
		imgp_free(*bucket);
		imgp_free(*rest);
		*bucket = *rest = NULL;
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	return IMGP_OK;
}

enum imgp_status imgp_store_open(const char *spec, struct imgp_store **out,
                                 char *err)
{
	return imgp_store_open_opts(spec, NULL, out, err);
}

enum imgp_status imgp_store_open_folders(struct imgp_store **out, char *err)
{
	struct imgp_store_opts o = { 0 };

	opts_defaults(&o);
	return imgp_store_dir_open(NULL, &o, out, err);
}

void imgp_store_pool_init(struct imgp_store_pool *p, const struct imgp_store_opts *opts)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	imgp_http_policy_default(&p->policy);
	p->policy.max_attempts = opts->max_attempts;
	p->policy.budget_ms = opts->retry_budget_ms;
	p->policy.base_delay_ms = opts->retry_base_ms;
	p->policy.max_delay_ms = opts->retry_max_ms;
	p->policy.connect_timeout_ms = opts->connect_timeout_ms;
	p->policy.low_speed_time_s = opts->stall_timeout_s;
	p->policy.fresh_connections = opts->fresh_connections;
}

enum imgp_status imgp_store_pool_take(struct imgp_store_pool *p, struct imgp_http **out,
                                      struct imgp_store_error *e)
{
	enum imgp_status result = IMGP_OK;

	pthread_mutex_lock(&p->lock);
	*out = p->n ? p->idle[--p->n] : NULL;
	pthread_mutex_unlock(&p->lock);
	if(!*out)
		result = imgp_http_open(&p->policy, out, e->msg);
	if(result)
		e->status = result;
	return result;
}

void imgp_store_pool_give(struct imgp_store_pool *p, struct imgp_http *h)
{
	if(!h)
		return;
	pthread_mutex_lock(&p->lock);
	if(!imgp_grow((void **)&p->idle, &p->cap, p->n, sizeof(*p->idle))) {
		pthread_mutex_unlock(&p->lock);
		imgp_http_close(h);
		return;
	}
	p->idle[p->n++] = h;
	pthread_mutex_unlock(&p->lock);
}

void imgp_store_pool_release(struct imgp_store_pool *p)
{
	for(size_t i = 0; i < p->n; i++)
		imgp_http_close(p->idle[i]);
	imgp_free(p->idle);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

void imgp_store_close(struct imgp_store *st)
{
	if(st)
		st->ops->close(st);
}

void imgp_store_set_deadline(int64_t epoch_ms)
{
	imgp_http_set_deadline(epoch_ms);
}

/* One invocation's trace id: process-wide, as Lambda's _X_AMZN_TRACE_ID
 * is, and read by every thread that writes for it. */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace[IMGP_TRACE_MAX];

void imgp_store_set_trace(const char *trace_id)
{
	pthread_mutex_lock(&trace_lock);
	snprintf(trace, sizeof(trace), "%s", trace_id ? trace_id : "");
	pthread_mutex_unlock(&trace_lock);
}

void imgp_store_trace(char out[IMGP_TRACE_MAX])
{
	pthread_mutex_lock(&trace_lock);
	memcpy(out, trace, IMGP_TRACE_MAX);
	pthread_mutex_unlock(&trace_lock);
}

enum imgp_status imgp_store_warm(struct imgp_store *st, char *err)
{
	return st->ops->warm ? st->ops->warm(st, err) : IMGP_OK;
}

const char *imgp_store_kind(const struct imgp_store *st)
{
	return st->ops->kind;
}

/* Checks every backend shares: a bucket and a key are there. */
static enum imgp_status check_args(const char *op, const char *bucket,
                                   const char *key, struct imgp_store_error *e)
{
	imgp_store_error_clear(e);
	if(!bucket || !*bucket)
		return imgp_store_fail(e, IMGP_E_REQUEST, "%s: bucket name is empty", op);
	if(key && !*key)
		return imgp_store_fail(e, IMGP_E_REQUEST, "%s: key is empty", op);
	if(key && strlen(key) > 1024)
		return imgp_store_fail(e, IMGP_E_REQUEST,
		                       "%s: key is longer than 1024 bytes", op);
	return IMGP_OK;
}

enum imgp_status imgp_store_get(struct imgp_store *st, const char *bucket,
                                const char *key, size_t max_bytes,
                                struct imgp_object *out,
                                struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	imgp_object_init(out);
	result = check_args("get", bucket, key ? key : "", e);
	if(result)
		return result;
	return st->ops->get(st, bucket, key, max_bytes, out, e);
}

enum imgp_status imgp_store_put(struct imgp_store *st, const char *bucket,
                                const char *key, const void *data, size_t len,
                                const struct imgp_put_opts *opts,
                                struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	result = check_args("put", bucket, key ? key : "", e);
	if(!result && !data && len)
		result = imgp_store_fail(e, IMGP_E_INTERNAL, "put: no data");
	if(!result)
		result = check_meta(opts, e);
	if(result)
		return result;
	return st->ops->put(st, bucket, key, data, len, opts, e);
}

enum imgp_status imgp_store_head(struct imgp_store *st, const char *bucket,
                                 const char *key, struct imgp_object *out,
                                 struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	imgp_object_init(out);
	result = check_args("head", bucket, key ? key : "", e);
	if(result)
		return result;
	return st->ops->head(st, bucket, key, out, e);
}

enum imgp_status imgp_store_list(struct imgp_store *st, const char *bucket,
                                 const char *prefix, imgp_store_list_cb cb,
                                 void *ud, struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	result = check_args("list", bucket, NULL, e);
	if(result)
		return result;
	return st->ops->list(st, bucket, prefix ? prefix : "", cb, ud, e);
}

enum imgp_status imgp_store_peek(struct imgp_store *st, const char *bucket,
                                 const char *key, void *buf, size_t n, size_t *len,
                                 struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	*len = 0;
	result = check_args("peek", bucket, key ? key : "", e);
	if(result || !n)
		return result;
	return st->ops->peek(st, bucket, key, buf, n, len, e);
}

enum imgp_status imgp_store_check_bucket(struct imgp_store *st, const char *bucket,
                                         bool write, struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	result = check_args("check", bucket, NULL, e);
	if(result)
		return result;
	return st->ops->check_bucket(st, bucket, write, e);
}

enum imgp_status imgp_store_delete(struct imgp_store *st, const char *bucket,
                                   const char *key, struct imgp_store_error *e)
{
	struct imgp_store_error scratch;
	enum imgp_status result;

	if(!e)
		e = &scratch;
	result = check_args("delete", bucket, key ? key : "", e);
	if(result)
		return result;
	return st->ops->del(st, bucket, key, e);
}
