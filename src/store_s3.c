/*
 * store_s3.c: the S3 backend: URLs and addressing style, SigV4 headers on
 * every attempt, S3's XML (errors, ListObjectsV2) read by s3xml.c, and a
 * pool of connections (store.c's imgp_store_pool) shared by threads.
 *
 * It owns the mapping of S3 answers to imgpipe statuses. It must never
 * log, never put credentials, signatures or request headers into an
 * error, and never turn TLS verification off.
 */
#include "s3xml.h"
#include "store_impl.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "http.h"
#include "parsers.h"
#include "settings.h"
#include "sigv4.h"

#define LIST_BODY_MAX (16 * 1024 * 1024)   /* one ListObjectsV2 page */
#define SMALL_BODY_MAX (64 * 1024)         /* what PUT and DELETE answer */

struct s3_store {
	struct imgp_store base;
	char *scheme;                /* "https" */
	char *hostport;              /* "s3.us-east-1.amazonaws.com", "127.0.0.1:4568" */
	char *base_path;             /* "" or "/prefix" of a custom endpoint */
	char *region;
	bool aws;                    /* AWS's own endpoint (not a custom one) */
	bool path_style;             /* always path style */
	struct imgp_creds_provider *creds;
	struct imgp_store_pool pool;     /* its connections */
};

/* --- addressing ---------------------------------------------------------- */

/* Can the bucket be a DNS label under TLS (no dots, lower case)? */
static bool virtual_ok(const char *bucket)
{
	size_t n = strlen(bucket);

	if(n < 3 || n > 63 || bucket[0] == '-' || bucket[n - 1] == '-')
		return false;
	for(const char *p = bucket; *p; p++)
		if(!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

struct target {
	char *host;                  /* Host header */
	char *path;                  /* encoded, as sent and signed */
	char *url;
};

static void target_release(struct target *t)
{
	imgp_free(t->host);
	imgp_free(t->path);
	imgp_free(t->url);
}

/* The host, path and URL of bucket/key (key NULL: the bucket itself). */
static enum imgp_status target_make(const struct s3_store *s, const char *bucket,
                                    const char *key, const char *query,
                                    struct target *t, struct imgp_store_error *e)
{
	bool virt = !s->path_style && virtual_ok(bucket);
	char *ekey = key ? imgp_sigv4_uri_encode(key, true) : imgp_strdup("");

	memset(t, 0, sizeof(*t));
	if(!ekey)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(virt) {
		t->host = imgp_asprintf("%s.%s", bucket, s->hostport);
		t->path = imgp_asprintf("%s/%s", s->base_path, ekey);
	}
	else {
		char *ebucket = imgp_sigv4_uri_encode(bucket, false);

		t->host = imgp_strdup(s->hostport);
		t->path = ebucket ? imgp_asprintf("%s/%s%s%s", s->base_path, ebucket,
		                                  key ? "/" : "", ekey) : NULL;
		imgp_free(ebucket);
	}
	imgp_free(ekey);
	if(t->host && t->path)
		t->url = imgp_asprintf("%s://%s%s%s%s", s->scheme, t->host, t->path,
		                       query && *query ? "?" : "", query ? query : "");
	if(!t->url) {
		target_release(t);
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	}
	return IMGP_OK;
}

/* --- signing, on every attempt -------------------------------------------- */

struct signing {
	struct s3_store *s;
	const struct target *t;
	const char *method;
	const char *query;
	const char *payload_hash;
	const struct imgp_sigv4_pair *extra;   /* content-type, x-amz-meta-*, ... */
	size_t nextra;
};

#define MAX_SIGNED 64

/*
 * An OAuth 2.0 token instead of a signature (Cloud Storage's XML API with
 * the metadata server's token, creds.h): "Authorization: Bearer", and the
 * metadata in Google's own headers, x-goog-meta-*, which is what the XML
 * API reads from a request that is not AWS-signed.
 */
static enum imgp_status bearer_request(const struct signing *sg, const struct imgp_creds *creds,
                                       struct imgp_http_headers *out, char *err)
{
	enum imgp_status result = IMGP_OK;
	char *auth = imgp_asprintf("Bearer %s", creds->bearer_token);

	for(size_t i = 0; auth && !result && i < sg->nextra; i++) {
		const char *name = sg->extra[i].name;
		char *goog = NULL;

		if(!strncmp(name, "x-amz-meta-", 11) && !(name = goog = imgp_asprintf(
			"x-goog-meta-%s", name + 11)))
			break;
		if(imgp_http_headers_add(out, name, sg->extra[i].value))
			result = IMGP_E_NOMEM;
		imgp_free(goog);
	}
	if(!auth || (!result && imgp_http_headers_add(out, "Authorization", auth)))
		result = IMGP_E_NOMEM;
	if(auth) {
		explicit_bzero(auth, strlen(auth));
		imgp_free(auth);
	}
	return result ? imgp_fail(err, result, "out of memory") : IMGP_OK;
}

static enum imgp_status sign_request(void *ud, const struct imgp_http_request *req,
                                     struct imgp_http_headers *out, char *err)
{
	struct signing *sg = ud;
	struct imgp_sigv4_pair h[MAX_SIGNED];
	struct imgp_sigv4_result sig = { 0 };
	struct imgp_creds creds;
	char date[IMGP_AMZ_DATE];
	char trace[IMGP_TRACE_MAX];
	size_t n = 0;
	enum imgp_status result;

	if(sg->nextra + 5 > MAX_SIGNED)
		return imgp_fail(err, IMGP_E_REQUEST, "too many headers");
	imgp_store_trace(trace);
	result = imgp_creds_get(sg->s->creds, &creds, err);
	if(result)
		return result;
	if(creds.bearer_token) {
		result = bearer_request(sg, &creds, out, err);
		imgp_creds_release(&creds);
		return result;
	}
	imgp_sigv4_amz_date(time(NULL), date);
	h[n++] = (struct imgp_sigv4_pair){ "host", sg->t->host };
	h[n++] = (struct imgp_sigv4_pair){ "x-amz-content-sha256", sg->payload_hash };
	h[n++] = (struct imgp_sigv4_pair){ "x-amz-date", date };
	if(creds.session_token)
		h[n++] = (struct imgp_sigv4_pair){ "x-amz-security-token", creds.session_token };
	for(size_t i = 0; i < sg->nextra; i++)
		h[n++] = sg->extra[i];
	{
		struct imgp_sigv4_request sr = {
			.method = sg->method, .canonical_uri = sg->t->path,
			.canonical_query = sg->query, .headers = h, .nheaders = n,
			.payload_hash = sg->payload_hash, .amz_date = date,
			.region = sg->s->region, .service = "s3",
		};
		result = imgp_sigv4_sign(&sr, creds.access_key, creds.secret_key, &sig, err);
	}
	for(size_t i = 0; !result && i < n; i++)
		if(imgp_http_headers_add(out, h[i].name, h[i].value))
			result = IMGP_E_NOMEM;
	if(!result && imgp_http_headers_add(out, "Authorization", sig.authorization))
		result = IMGP_E_NOMEM;
	/* unsigned: Lambda's recursive loop detection reads it */
	if(!result && *trace && !strpbrk(trace, "\r\n") &&
	   imgp_http_headers_add(out, "X-Amzn-Trace-Id", trace))
		result = IMGP_E_NOMEM;
	if(result == IMGP_E_NOMEM)
		imgp_fail(err, result, "out of memory");
	imgp_sigv4_result_release(&sig);
	imgp_creds_release(&creds);
	return result;
}

/* Run one request: transport failures and non-2xx answers become e. */
static enum imgp_status s3_send(struct s3_store *s, const char *what,
                                const char *method, const char *bucket,
                                const char *key, const char *query,
                                const void *body, size_t body_len,
                                size_t max_body, const struct imgp_sigv4_pair *extra,
                                size_t nextra, struct imgp_http_response *resp,
                                struct imgp_store_error *e)
{
	char hash[IMGP_SHA256_HEX], why[IMGP_ERRSIZE] = "";
	struct target t;
	struct imgp_http *h = NULL;
	struct signing sg;
	struct imgp_http_request req;
	enum imgp_status result;

	result = target_make(s, bucket, key, query, &t, e);
	if(result)
		return result;
	imgp_sigv4_sha256_hex(body ? body : "", body_len, hash);
	sg = (struct signing){ s, &t, method, query, hash, extra, nextra };
	req = (struct imgp_http_request){
		.method = method, .url = t.url, .body = body, .body_len = body_len,
		.max_body = max_body, .prepare = sign_request, .ud = &sg,
	};
	result = imgp_store_pool_take(&s->pool, &h, e);
	if(result)
		goto out;
	result = imgp_http_send(h, &req, resp, why);
	e->attempts = resp->attempts;
	if(result) {
		if(result == IMGP_E_TOO_LARGE)
			imgp_store_fail(e, result, "%s: object is over the %zu byte limit",
			                what, max_body);
		else
			imgp_store_fail(e, result, "%s: %s%s", what, why,
			                resp->attempts > 1 ? " (gave up after retries)" : "");
		goto out;
	}
	if(resp->status < 200 || resp->status >= 300) {
		result = imgp_s3xml_error(resp, what, e);
		if(resp->attempts > 1 && strlen(e->msg) < sizeof(e->msg) - 40)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
			         " (after %d attempts)", resp->attempts);
	}
out:
	imgp_store_pool_give(&s->pool, h);
	target_release(&t);
	return result;
}

/* --- object attributes from response headers ------------------------------------ */

static enum imgp_status take_header(const struct imgp_http_response *r,
                                    const char *name, char **slot)
{
	const char *v = imgp_http_response_header(r, name);

	if(!v)
		return IMGP_OK;
	*slot = imgp_strdup(v);
	return *slot ? IMGP_OK : IMGP_E_NOMEM;
}

static enum imgp_status fill_object(const struct imgp_http_response *r,
                                    struct imgp_object *o)
{
	size_t n = 0;

	if(take_header(r, "content-type", &o->content_type) ||
	   take_header(r, "cache-control", &o->cache_control) ||
	   take_header(r, "etag", &o->etag) ||
	   take_header(r, "x-amz-version-id", &o->version_id) ||
	   take_header(r, "last-modified", &o->last_modified))
		return IMGP_E_NOMEM;
	if(o->version_id && !strcmp(o->version_id, "null")) {
		imgp_free(o->version_id);
		o->version_id = NULL;
	}
	/* Cloud Storage answers a request made with a bearer token in its own
	 * x-goog-meta-*: the same metadata, read the same */
	for(size_t i = 0; i < r->nheaders; i++)
		if(!strncmp(r->headers[i].name, "x-amz-meta-", 11) ||
		   !strncmp(r->headers[i].name, "x-goog-meta-", 12))
			n++;
	if(!n)
		return IMGP_OK;
	o->meta = imgp_calloc(n, sizeof(*o->meta));
	if(!o->meta)
		return IMGP_E_NOMEM;
	for(size_t i = 0; i < r->nheaders; i++) {
		size_t skip = !strncmp(r->headers[i].name, "x-amz-meta-", 11) ? 11 :
		              !strncmp(r->headers[i].name, "x-goog-meta-", 12) ? 12 : 0;

		if(!skip)
			continue;
		o->meta[o->nmeta].name = imgp_strdup(r->headers[i].name + skip);
		o->meta[o->nmeta].value = imgp_strdup(r->headers[i].value);
		o->nmeta++;
		if(!o->meta[o->nmeta - 1].name || !o->meta[o->nmeta - 1].value)
			return IMGP_E_NOMEM;
	}
	return IMGP_OK;
}

static char *describe(const char *op, const char *bucket, const char *key)
{
	return imgp_asprintf("%s s3://%s/%.200s%s", op, bucket, key ? key : "",
	                     key && strlen(key) > 200 ? "..." : "");
}

/* --- operations ----------------------------------------------------------------- */

static enum imgp_status s3_get_or_head(struct imgp_store *st, const char *op,
                                       const char *bucket, const char *key,
                                       size_t max_bytes, struct imgp_object *out,
                                       struct imgp_store_error *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct imgp_http_response resp;
	char *what = describe(op, bucket, key);
	bool head = !strcmp(op, "head");
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = s3_send(s, what, head ? "HEAD" : "GET", bucket, key, NULL, NULL, 0,
	                 max_bytes, NULL, 0, &resp, e);
	if(result)
		goto out;
	if(fill_object(&resp, out)) {
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(head) {
		const char *cl = imgp_http_response_header(&resp, "content-length");
		out->len = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
	}
	else {
		out->len = resp.body.len;
		out->data = (unsigned char *)imgp_dbuf_take(&resp.body);
		if(!out->data && !(out->data = imgp_calloc(1, 1)))
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	}
out:
	if(result)
		imgp_object_release(out);
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status s3_get(struct imgp_store *st, const char *bucket,
                               const char *key, size_t max_bytes,
                               struct imgp_object *out, struct imgp_store_error *e)
{
	return s3_get_or_head(st, "get", bucket, key, max_bytes, out, e);
}

static enum imgp_status s3_head(struct imgp_store *st, const char *bucket,
                                const char *key, struct imgp_object *out,
                                struct imgp_store_error *e)
{
	return s3_get_or_head(st, "head", bucket, key, 0, out, e);
}

static enum imgp_status s3_peek(struct imgp_store *st, const char *bucket, const char *key,
                                void *buf, size_t n, size_t *len, struct imgp_store_error *e)
{
	struct imgp_http_response resp;
	char range[64], *what = describe("peek", bucket, key);
	struct imgp_sigv4_pair extra[1] = { { "range", range } };
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	snprintf(range, sizeof(range), "bytes=0-%zu", n - 1);
	result = s3_send((struct s3_store *)st, what, "GET", bucket, key, NULL, NULL, 0,
	                 n + 1, extra, 1, &resp, e);
	/* an empty object has no byte 0: S3 answers 416 */
	if(result && e->http_status == 416) {
		imgp_store_error_clear(e);
		result = IMGP_OK;
	}
	else if(!result) {
		*len = resp.body.len < n ? resp.body.len : n;
		memcpy(buf, imgp_dbuf_str(&resp.body), *len);
	}
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status s3_check_bucket(struct imgp_store *st, const char *bucket,
                                        bool write, struct imgp_store_error *e)
{
	struct imgp_http_response resp;
	char *what = imgp_asprintf("s3://%s", bucket);
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = s3_send((struct s3_store *)st, what, "HEAD", bucket, NULL, NULL, NULL, 0,
	                 SMALL_BODY_MAX, NULL, 0, &resp, e);
	if(result == IMGP_E_NOT_FOUND)
		imgp_store_fail(e, result, "%s: no such bucket", what);
	/* there, but this role may not list it: writing may still be allowed */
	else if(result == IMGP_E_ACCESS && e->http_status == 403) {
		imgp_store_error_clear(e);
		result = IMGP_OK;
	}
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status s3_put(struct imgp_store *st, const char *bucket,
                               const char *key, const void *data, size_t len,
                               const struct imgp_put_opts *opts,
                               struct imgp_store_error *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct imgp_sigv4_pair extra[MAX_SIGNED - 6];
	struct imgp_http_response resp;
	char *names[MAX_SIGNED], *what = describe("put", bucket, key);
	size_t n = 0, nnames = 0;
	enum imgp_status result = IMGP_OK;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(opts && opts->nmeta > MAX_SIGNED - 8) {
		result = imgp_store_fail(e, IMGP_E_REQUEST, "%s: too many metadata entries", what);
		goto out;
	}
	extra[n++] = (struct imgp_sigv4_pair){ "content-type",
		opts && opts->content_type ? opts->content_type : "application/octet-stream" };
	if(opts && opts->cache_control)
		extra[n++] = (struct imgp_sigv4_pair){ "cache-control", opts->cache_control };
	for(size_t i = 0; opts && i < opts->nmeta; i++) {
		names[nnames] = imgp_asprintf("x-amz-meta-%s", opts->meta[i].name);
		if(!names[nnames]) {
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
		extra[n++] = (struct imgp_sigv4_pair){ names[nnames++], opts->meta[i].value };
	}
	result = s3_send(s, what, "PUT", bucket, key, NULL, data, len, SMALL_BODY_MAX, extra, n,
	                 &resp, e);
out:
	for(size_t i = 0; i < nnames; i++)
		imgp_free(names[i]);
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status s3_delete(struct imgp_store *st, const char *bucket,
                                  const char *key, struct imgp_store_error *e)
{
	struct imgp_http_response resp;
	char *what = describe("delete", bucket, key);
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = s3_send((struct s3_store *)st, what, "DELETE", bucket, key, NULL,
	                 NULL, 0, SMALL_BODY_MAX, NULL, 0, &resp, e);
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status s3_list(struct imgp_store *st, const char *bucket,
                                const char *prefix, imgp_store_list_cb cb,
                                void *ud, struct imgp_store_error *e)
{
	struct s3_store *s = (struct s3_store *)st;
	char *what = describe("list", bucket, prefix), *token = NULL, *query = NULL;
	char maxkeys[16];
	bool stop = false;
	enum imgp_status result = IMGP_OK;

	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	snprintf(maxkeys, sizeof(maxkeys), "%d", st->opts.list_page_size);
	do {
		struct imgp_sigv4_pair q[5] = {
			{ "list-type", "2" }, { "encoding-type", "url" },
			{ "max-keys", maxkeys }, { "prefix", prefix },
			{ "continuation-token", token },
		};
		struct imgp_http_response resp;
		char *next = NULL;

		imgp_http_response_init(&resp);
		query = imgp_sigv4_query(q, token ? 5 : 4);
		if(!query) {
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
			break;
		}
		result = s3_send(s, what, "GET", bucket, NULL, query, NULL, 0,
		                 LIST_BODY_MAX, NULL, 0, &resp, e);
		if(!result)
			result = imgp_s3xml_list_page(&resp.body, cb, ud, &next, &stop, e, what);
		imgp_http_response_release(&resp);
		imgp_free(query);
		imgp_free(token);
		token = next;
	} while(!result && token);
	imgp_free(token);
	imgp_free(what);
	return result;
}

static void s3_close(struct imgp_store *st)
{
	struct s3_store *s = (struct s3_store *)st;

	imgp_store_pool_release(&s->pool);
	imgp_creds_provider_free(s->creds);
	imgp_free(s->scheme);
	imgp_free(s->hostport);
	imgp_free(s->base_path);
	imgp_free(s->region);
	imgp_free(s);
}

/* Fetch the credentials once now; they are cached for the requests. */
static enum imgp_status s3_warm(struct imgp_store *st, char *err)
{
	struct s3_store *s = (struct s3_store *)st;
	struct imgp_creds creds;
	enum imgp_status result;

	memset(&creds, 0, sizeof(creds));
	result = imgp_creds_get(s->creds, &creds, err);
	imgp_creds_release(&creds);
	return result;
}

static const struct imgp_store_ops s3_ops = {
	"s3", s3_get, s3_put, s3_head, s3_list, s3_delete, s3_peek, s3_check_bucket,
	s3_close, s3_warm,
};

/* --- opening ------------------------------------------------------------------- */

/* scheme://host[:port][/path] of a custom endpoint into s. */
static enum imgp_status parse_endpoint(struct s3_store *s, const char *url, char *err)
{
	const char *sep = strstr(url, "://"), *host, *slash;
	size_t plen;

	if(!sep || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)))
		return imgp_fail(err, IMGP_E_CONFIG,
		                 "S3 endpoint \"%.200s\" is not an http:// or https:// URL", url);
	host = sep + 3;
	slash = strchr(host, '/');
	if(slash == host || !*host || strpbrk(host, "?#@ "))
		return imgp_fail(err, IMGP_E_CONFIG, "S3 endpoint \"%.200s\" has no plain host", url);
	s->scheme = imgp_strndup(url, (size_t)(sep - url));
	s->hostport = slash ? imgp_strndup(host, (size_t)(slash - host)) : imgp_strdup(host);
	plen = slash ? strlen(slash) : 0;
	while(plen && slash[plen - 1] == '/')
		plen--;
	s->base_path = imgp_strndup(slash ? slash : "", plen);
	if(!s->scheme || !s->hostport || !s->base_path)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(char *p = s->scheme; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return IMGP_OK;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

enum imgp_status imgp_store_s3_open(const struct imgp_store_opts *opts,
                                    struct imgp_store **out, char *err)
{
	struct s3_store *s = imgp_calloc(1, sizeof(*s));
	const char *endpoint = imgp_env("AWS_ENDPOINT_URL_S3");
	const char *style = imgp_env("IMGPIPE_S3_ADDRESSING");
	const char *region = imgp_env("AWS_REGION");
	enum imgp_status result;

	*out = NULL;
	if(!s)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	imgp_store_pool_init(&s->pool, opts);
	s->base.ops = &s3_ops;
	s->base.opts = *opts;
	pthread_once(&xml_once, xml_init);
	result = imgp_http_global_init(err);
	if(result)
		goto fail;
	if(!endpoint)
		endpoint = imgp_env("AWS_ENDPOINT_URL");
	if(!region)
		region = imgp_env("AWS_DEFAULT_REGION");
	s->region = region ? imgp_strdup(region) : imgp_creds_profile_region();
	if(!s->region && !(s->region = imgp_strdup("us-east-1"))) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto fail;
	}
	for(const char *p = s->region; *p; p++)
		if(!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			result = imgp_fail(err, IMGP_E_CONFIG, "AWS region \"%.64s\" is not a "
			                   "region name", s->region);
			goto fail;
		}
	if(endpoint) {
		result = parse_endpoint(s, endpoint, err);
		/* Cloud Storage's XML API takes SigV4 with HMAC keys in region "auto" */
		if(!result && !region && !strcasecmp(s->hostport, "storage.googleapis.com")) {
			imgp_free(s->region);
			if(!(s->region = imgp_strdup("auto")))
				result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		}
	}
	else {
		s->aws = true;
		s->scheme = imgp_strdup("https");
		s->hostport = imgp_asprintf("s3.%s.amazonaws.com%s", s->region,
		                            strncmp(s->region, "cn-", 3) ? "" : ".cn");
		s->base_path = imgp_strdup("");
		if(!s->scheme || !s->hostport || !s->base_path)
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	if(result)
		goto fail;
	if(style && strcmp(style, "path") && strcmp(style, "virtual")) {
		result = imgp_fail(err, IMGP_E_CONFIG,
		                   "IMGPIPE_S3_ADDRESSING=%.32s is not one of path, virtual", style);
		goto fail;
	}
	s->path_style = style ? !strcmp(style, "path") : !s->aws;
	result = imgp_creds_provider_new(&s->creds, err);
	if(result)
		goto fail;
	*out = &s->base;
	return IMGP_OK;
fail:
	s3_close(&s->base);
	return result;
}
