/*
 * store_azure.c: the Azure Blob Storage backend (IMGPIPE_STORE=azure): a
 * container is a bucket, a blob a key. Requests go through http.c like
 * S3's, signed per attempt with Shared Key (Microsoft's "Authorize with
 * Shared Key", string-to-sign of x-ms-version 2015-02-21 and later), or
 * carrying a SAS token, or a managed identity's bearer token; Azure's XML
 * is read by blobxml.c.
 *
 * The account and its credential are azcreds.c's.
 *
 * Metadata names must be C# identifiers on Azure, and come back lower
 * case: imgpipe's stamps ("imgpipe-source") are written with '_' for '-'
 * and read back as they were, here and nowhere else, so that idempotency
 * and the loop guard work as on S3.
 *
 * It owns the mapping of Azure's answers to imgpipe statuses. It must
 * never log, never put a key, a SAS or a token into an error, and never
 * turn TLS verification off.
 */
#include "azcreds.h"
#include "blobxml.h"
#include "store_impl.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "settings.h"
#include "sigv4.h"

#define API_VERSION "2021-08-06"
#define LIST_BODY_MAX (16 * 1024 * 1024)    /* one List Blobs page */
#define SMALL_BODY_MAX (64 * 1024)          /* what PUT and DELETE answer */
#define MAX_HEADERS 24
#define STAMP_PREFIX "imgpipe"

struct azure_store {
	struct imgp_store base;
	struct azcreds cr;           /* the account, its endpoint and credential */
	struct imgp_store_pool pool;     /* its connections */
};

/* --- metadata names: imgpipe's stamps as C# identifiers ------------------------ */

/* "imgpipe-source" → "imgpipe_source" (a new string); other names as they are. */
static char *meta_out(const char *name)
{
	char *n = imgp_strdup(name);

	for(char *p = n; n && *p; p++)
		if(*p == '-')
			*p = '_';
	return n;
}

/* "imgpipe_source" → "imgpipe-source", in place; other names untouched. */
static void meta_in(char *name)
{
	if(strncmp(name, STAMP_PREFIX "_", strlen(STAMP_PREFIX) + 1))
		return;
	for(char *p = name; *p; p++)
		if(*p == '_')
			*p = '-';
}

/* --- one request ------------------------------------------------------------ */

struct header {
	const char *name;            /* lower case */
	const char *value;
};

struct signing {
	struct azure_store *s;
	const char *method;
	const char *path;            /* the URL's path, encoded, as sent */
	const struct imgp_sigv4_pair *query;   /* decoded values; signed */
	size_t nquery;
	size_t body_len;
	const struct header *extra;
	size_t nextra;
	const char *token;           /* AZ_AUTH_IDENTITY: this request's */
};

/*
 * The service sorts x-ms-* names the way .NET compares text, where '-' is
 * ignored at first and '_' comes before digits: byte order is the same
 * for every name imgpipe sends (its stamps have no '_' beside a digit,
 * which az_put refuses), so strcmp does.
 */
static int header_cmp(const void *a, const void *b)
{
	return strcmp(((const struct header *)a)->name, ((const struct header *)b)->name);
}

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct imgp_sigv4_pair *)a)->name,
	              ((const struct imgp_sigv4_pair *)b)->name);
}

/* The value of a standard header among extra, or "". */
static const char *extra_value(const struct signing *sg, const char *name)
{
	for(size_t i = 0; i < sg->nextra; i++)
		if(!strcmp(sg->extra[i].name, name))
			return sg->extra[i].value;
	return "";
}

/*
 * Shared Key: HMAC-SHA256 with the account key of
 *   VERB \n Content-Encoding \n Content-Language \n Content-Length (empty
 *   for 0) \n Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n
 *   If-Match \n If-None-Match \n If-Unmodified-Since \n Range \n
 *   CanonicalizedHeaders (x-ms-*, sorted, "name:value\n")
 *   CanonicalizedResource ("/account/path", then "\nname:value" per query
 *   parameter, sorted, values decoded)
 * into *out ("SharedKey account:signature").
 */
static enum imgp_status shared_key(const struct signing *sg, const struct header *xms,
                                   size_t nxms, char **out)
{
	struct imgp_dbuf sts;
	struct imgp_sigv4_pair q[8];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char length[32] = "", sig[EVP_ENCODE_LENGTH(EVP_MAX_MD_SIZE) + 1];
	enum imgp_status result = IMGP_OK;

	if(sg->body_len)
		snprintf(length, sizeof(length), "%zu", sg->body_len);
	imgp_dbuf_init(&sts, 64 * 1024);
	result = imgp_dbuf_addf(&sts, "%s\n\n\n%s\n\n%s\n\n\n\n\n\n%s\n", sg->method, length,
	                        extra_value(sg, "content-type"), extra_value(sg, "range"));
	for(size_t i = 0; !result && i < nxms; i++)
		result = imgp_dbuf_addf(&sts, "%s:%s\n", xms[i].name, xms[i].value);
	if(!result)
		result = imgp_dbuf_addf(&sts, "/%s%s", sg->s->cr.account, sg->path);
	if(sg->nquery)
		memcpy(q, sg->query, sg->nquery * sizeof(*q));
	qsort(q, sg->nquery, sizeof(*q), pair_cmp);
	for(size_t i = 0; !result && i < sg->nquery; i++)
		result = imgp_dbuf_addf(&sts, "\n%s:%s", q[i].name, q[i].value ? q[i].value : "");
	if(!result && !HMAC(EVP_sha256(), sg->s->cr.key, sg->s->cr.key_len,
	                    (const unsigned char *)imgp_dbuf_str(&sts), sts.len, mac, &maclen))
		result = IMGP_E_INTERNAL;
	imgp_dbuf_release(&sts);
	if(result)
		return result;
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
	*out = imgp_asprintf("SharedKey %s:%s", sg->s->cr.account, sig);
	explicit_bzero(mac, sizeof(mac));
	return *out ? IMGP_OK : IMGP_E_NOMEM;
}

/* http.c's prepare: the request's headers, dated and signed afresh. */
static enum imgp_status sign_request(void *ud, const struct imgp_http_request *req,
                                     struct imgp_http_headers *out, char *err)
{
	const struct signing *sg = ud;
	struct header xms[MAX_HEADERS];
	size_t nxms = 0;
	char date[64], *auth = NULL;
	enum imgp_status result = IMGP_OK;
	time_t now = time(NULL);
	struct tm tm;

	(void)req;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	xms[nxms++] = (struct header){ "x-ms-date", date };
	xms[nxms++] = (struct header){ "x-ms-version", API_VERSION };
	for(size_t i = 0; i < sg->nextra && nxms < MAX_HEADERS; i++)
		if(!strncmp(sg->extra[i].name, "x-ms-", 5))
			xms[nxms++] = sg->extra[i];
	qsort(xms, nxms, sizeof(*xms), header_cmp);
	for(size_t i = 0; !result && i < nxms; i++)
		result = imgp_http_headers_add(out, xms[i].name, xms[i].value);
	for(size_t i = 0; !result && i < sg->nextra; i++)
		if(strncmp(sg->extra[i].name, "x-ms-", 5))
			result = imgp_http_headers_add(out, sg->extra[i].name, sg->extra[i].value);
	if(!result && sg->s->cr.auth == AZ_AUTH_KEY && !(result = shared_key(sg, xms, nxms, &auth)))
		result = imgp_http_headers_add(out, "authorization", auth);
	else if(!result && sg->s->cr.auth == AZ_AUTH_IDENTITY) {
		auth = imgp_asprintf("Bearer %s", sg->token);
		result = auth ? imgp_http_headers_add(out, "authorization", auth) : IMGP_E_NOMEM;
	}
	if(auth) {
		explicit_bzero(auth, strlen(auth));
		imgp_free(auth);
	}
	if(result)
		return imgp_fail(err, result, "cannot sign the request (%s)",
		                 imgp_status_str(result));
	return IMGP_OK;
}

/* "get az://container/key": what a call is, for its errors. */
static char *describe(const char *op, const char *bucket, const char *key)
{
	return imgp_asprintf("%s az://%s/%.200s%s", op, bucket, key ? key : "",
	                     key && strlen(key) > 200 ? "..." : "");
}

/* Run one request: transport failures and non-2xx answers become e. key
 * NULL: the container itself. */
static enum imgp_status az_send(struct azure_store *s, const char *what, const char *method,
                                const char *bucket, const char *key,
                                const struct imgp_sigv4_pair *query, size_t nquery,
                                const void *body, size_t body_len, size_t max_body,
                                const struct header *extra, size_t nextra,
                                struct imgp_http_response *resp, struct imgp_store_error *e)
{
	char *ebucket = imgp_sigv4_uri_encode(bucket, false);
	char *ekey = key ? imgp_sigv4_uri_encode(key, true) : NULL;
	char *path = NULL, *qs = NULL, *url = NULL, *token = NULL, why[IMGP_ERRSIZE] = "";
	struct imgp_http *h = NULL;
	struct signing sg;
	enum imgp_status result = IMGP_OK;

	imgp_store_error_clear(e);
	if(ebucket && (!key || ekey))
		path = imgp_asprintf("%s/%s%s%s", s->cr.endpoint_path, ebucket, key ? "/" : "",
		                     key ? ekey : "");
	if(path)
		qs = imgp_sigv4_query(query, nquery);
	if(qs)
		url = imgp_asprintf("%s/%s%s%s%s%s%s", s->cr.endpoint, ebucket, key ? "/" : "",
		                    key ? ekey : "", *qs || s->cr.sas ? "?" : "", qs,
		                    s->cr.sas ? (*qs ? "&" : "") : "");
	if(url && s->cr.sas) {
		char *full = imgp_asprintf("%s%s", url, s->cr.sas);

		imgp_free(url);
		url = full;
	}
	if(!url) {
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(s->cr.auth == AZ_AUTH_IDENTITY && (result = imgp_azcreds_bearer(&s->cr, &token, e)))
		goto out;
	sg = (struct signing){ s, method, path, query, nquery, body_len, extra, nextra, token };
	result = imgp_store_pool_take(&s->pool, &h, e);
	if(result)
		goto out;
	result = imgp_http_send(h, &(struct imgp_http_request){
		.method = method, .url = url, .body = body, .body_len = body_len,
		.max_body = max_body, .prepare = sign_request, .ud = &sg,
	}, resp, why);
	e->attempts = resp->attempts;
	if(result) {
		if(result == IMGP_E_TOO_LARGE)
			imgp_store_fail(e, result, "%s: object is over the %zu byte limit", what,
			                max_body);
		else
			imgp_store_fail(e, result, "%s: %s%s", what, why,
			                resp->attempts > 1 ? " (gave up after retries)" : "");
		goto out;
	}
	if(resp->status < 200 || resp->status >= 300) {
		result = imgp_blobxml_error(resp, what, e);
		/* a token the service no longer takes: the next request asks anew */
		if(s->cr.auth == AZ_AUTH_IDENTITY && (resp->status == 401 ||
		                                 !strcmp(e->code, "InvalidAuthenticationInfo"))) {
			imgp_azcreds_forget_token(&s->cr);
		}
		/* who was refused, and how; never the key, the SAS or the token */
		if(result == IMGP_E_ACCESS && strlen(e->msg) < sizeof(e->msg) - 120)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
			         " (account %.60s, %s)", s->cr.account, imgp_azcreds_method(&s->cr));
		if(resp->attempts > 1 && strlen(e->msg) < sizeof(e->msg) - 40)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
			         " (after %d attempts)", resp->attempts);
	}
out:
	imgp_store_pool_give(&s->pool, h);
	if(token) {
		explicit_bzero(token, strlen(token));
		imgp_free(token);
	}
	imgp_free(ebucket);
	imgp_free(ekey);
	imgp_free(path);
	imgp_free(qs);
	imgp_free(url);
	return result;
}

/* --- object attributes from response headers ------------------------------------ */

static enum imgp_status take_header(const struct imgp_http_response *r, const char *name,
                                    char **slot)
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
	   take_header(r, "x-ms-version-id", &o->version_id) ||
	   take_header(r, "last-modified", &o->last_modified))
		return IMGP_E_NOMEM;
	for(size_t i = 0; i < r->nheaders; i++)
		n += !strncmp(r->headers[i].name, "x-ms-meta-", 10);
	if(!n)
		return IMGP_OK;
	if(!(o->meta = imgp_calloc(n, sizeof(*o->meta))))
		return IMGP_E_NOMEM;
	for(size_t i = 0; i < r->nheaders; i++) {
		if(strncmp(r->headers[i].name, "x-ms-meta-", 10))
			continue;
		o->meta[o->nmeta].name = imgp_strdup(r->headers[i].name + 10);
		o->meta[o->nmeta].value = imgp_strdup(r->headers[i].value);
		o->nmeta++;
		if(!o->meta[o->nmeta - 1].name || !o->meta[o->nmeta - 1].value)
			return IMGP_E_NOMEM;
		meta_in(o->meta[o->nmeta - 1].name);
	}
	return IMGP_OK;
}

/* --- operations ----------------------------------------------------------------- */

static enum imgp_status az_get_or_head(struct imgp_store *st, const char *op,
                                       const char *bucket, const char *key,
                                       size_t max_bytes, struct imgp_object *out,
                                       struct imgp_store_error *e)
{
	struct azure_store *s = (struct azure_store *)st;
	struct imgp_http_response resp;
	char *what = describe(op, bucket, key);
	bool head = !strcmp(op, "head");
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = az_send(s, what, head ? "HEAD" : "GET", bucket, key, NULL, 0, NULL, 0,
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

static enum imgp_status az_get(struct imgp_store *st, const char *bucket, const char *key,
                               size_t max_bytes, struct imgp_object *out,
                               struct imgp_store_error *e)
{
	return az_get_or_head(st, "get", bucket, key, max_bytes, out, e);
}

static enum imgp_status az_head(struct imgp_store *st, const char *bucket, const char *key,
                                struct imgp_object *out, struct imgp_store_error *e)
{
	return az_get_or_head(st, "head", bucket, key, 0, out, e);
}

static enum imgp_status az_peek(struct imgp_store *st, const char *bucket, const char *key,
                                void *buf, size_t n, size_t *len, struct imgp_store_error *e)
{
	struct imgp_http_response resp;
	char range[64], *what = describe("peek", bucket, key);
	struct header extra[1] = { { "x-ms-range", range } };
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	snprintf(range, sizeof(range), "bytes=0-%zu", n - 1);
	result = az_send((struct azure_store *)st, what, "GET", bucket, key, NULL, 0, NULL, 0,
	                 n + 1, extra, 1, &resp, e);
	/* an empty blob has no byte 0: Azure answers 416 */
	if(result && e->http_status == 416) {
		imgp_store_error_clear(e);
		*len = 0;
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

static enum imgp_status az_check_bucket(struct imgp_store *st, const char *bucket,
                                        bool write, struct imgp_store_error *e)
{
	static const struct imgp_sigv4_pair query[] = { { "restype", "container" } };
	struct imgp_http_response resp;
	char *what = imgp_asprintf("az://%s", bucket);
	enum imgp_status result;

	(void)write;
	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = az_send((struct azure_store *)st, what, "HEAD", bucket, NULL, query, 1, NULL, 0,
	                 SMALL_BODY_MAX, NULL, 0, &resp, e);
	if(result == IMGP_E_NOT_FOUND)
		imgp_store_fail(e, result, "%s: no such container", what);
	/* there, but this identity may not read its properties: writing may
	 * still be allowed (a SAS for blobs only); a wrong key or signature
	 * (AuthenticationFailed, AuthorizationFailure on Azurite) is not that */
	else if(result == IMGP_E_ACCESS && e->http_status == 403 &&
	        (!strcmp(e->code, "AuthorizationPermissionMismatch") ||
	         !strcmp(e->code, "AuthorizationResourceTypeMismatch"))) {
		imgp_store_error_clear(e);
		result = IMGP_OK;
	}
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status az_put(struct imgp_store *st, const char *bucket, const char *key,
                               const void *data, size_t len, const struct imgp_put_opts *opts,
                               struct imgp_store_error *e)
{
	struct azure_store *s = (struct azure_store *)st;
	struct header extra[MAX_HEADERS - 4];
	struct imgp_http_response resp;
	char *names[MAX_HEADERS], *what = describe("put", bucket, key);
	size_t n = 0, nnames = 0;
	enum imgp_status result = IMGP_OK;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(opts && opts->nmeta > MAX_HEADERS - 8) {
		result = imgp_store_fail(e, IMGP_E_REQUEST, "%s: too many metadata entries", what);
		goto out;
	}
	extra[n++] = (struct header){ "x-ms-blob-type", "BlockBlob" };
	extra[n++] = (struct header){ "content-type",
		opts && opts->content_type ? opts->content_type : "application/octet-stream" };
	if(opts && opts->cache_control)
		extra[n++] = (struct header){ "x-ms-blob-cache-control", opts->cache_control };
	for(size_t i = 0; opts && i < opts->nmeta; i++) {
		char *name = meta_out(opts->meta[i].name);

		names[nnames] = name ? imgp_asprintf("x-ms-meta-%s", name) : NULL;
		imgp_free(name);
		if(!names[nnames]) {
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
		/* header names are compared lower case when signing, and '_'
		 * beside a digit would sort differently on the service's side */
		for(char *p = names[nnames]; *p; p++) {
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			if(*p == '_' && ((p[1] >= '0' && p[1] <= '9') ||
			                 (p[-1] >= '0' && p[-1] <= '9'))) {
				result = imgp_store_fail(e, IMGP_E_REQUEST, "%s: the metadata name "
				                         "\"%.64s\" has '_' beside a digit", what,
				                         opts->meta[i].name);
				imgp_free(names[nnames]);
				goto out;
			}
		}
		extra[n++] = (struct header){ names[nnames++], opts->meta[i].value };
	}
	result = az_send(s, what, "PUT", bucket, key, NULL, 0, data, len, SMALL_BODY_MAX, extra, n,
	                 &resp, e);
out:
	for(size_t i = 0; i < nnames; i++)
		imgp_free(names[i]);
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status az_delete(struct imgp_store *st, const char *bucket, const char *key,
                                  struct imgp_store_error *e)
{
	struct imgp_http_response resp;
	char *what = describe("delete", bucket, key);
	enum imgp_status result;

	imgp_http_response_init(&resp);
	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = az_send((struct azure_store *)st, what, "DELETE", bucket, key, NULL, 0, NULL, 0,
	                 SMALL_BODY_MAX, NULL, 0, &resp, e);
	/* removing a missing blob is not an error, as in S3 */
	if(result == IMGP_E_NOT_FOUND && strcmp(e->code, "ContainerNotFound")) {
		imgp_store_error_clear(e);
		result = IMGP_OK;
	}
	imgp_http_response_release(&resp);
	imgp_free(what);
	return result;
}

static enum imgp_status az_list(struct imgp_store *st, const char *bucket, const char *prefix,
                                imgp_store_list_cb cb, void *ud, struct imgp_store_error *e)
{
	struct azure_store *s = (struct azure_store *)st;
	char *what = describe("list", bucket, prefix), *marker = NULL, maxresults[16];
	bool stop = false;
	enum imgp_status result = IMGP_OK;

	if(!what)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	snprintf(maxresults, sizeof(maxresults), "%d", st->opts.list_page_size);
	do {
		struct imgp_sigv4_pair q[5] = {
			{ "comp", "list" }, { "maxresults", maxresults }, { "restype", "container" },
			{ "prefix", prefix && *prefix ? prefix : NULL }, { "marker", marker },
		};
		struct imgp_http_response resp;
		size_t nq = 3;
		char *next = NULL;

		if(q[3].value)
			q[nq++] = q[3];
		if(marker)
			q[nq++] = (struct imgp_sigv4_pair){ "marker", marker };
		imgp_http_response_init(&resp);
		result = az_send(s, what, "GET", bucket, NULL, q, nq, NULL, 0, LIST_BODY_MAX,
		                 NULL, 0, &resp, e);
		if(!result)
			result = imgp_blobxml_list_page(&resp.body, cb, ud, &next, &stop, e, what);
		imgp_http_response_release(&resp);
		imgp_free(marker);
		marker = next;
	} while(!result && marker);
	imgp_free(marker);
	imgp_free(what);
	return result;
}

static void az_close(struct imgp_store *st)
{
	struct azure_store *s = (struct azure_store *)st;

	imgp_store_pool_release(&s->pool);
	imgp_azcreds_release(&s->cr);
	imgp_free(s);
}

/* A managed identity's token now: INIT pays for it, and its absence is
 * said at start. Keys and SAS tokens need nothing. */
static enum imgp_status az_warm(struct imgp_store *st, char *err)
{
	struct azure_store *s = (struct azure_store *)st;
	struct imgp_store_error e;
	enum imgp_status result = IMGP_OK;
	char *token = NULL;

	if(s->cr.auth != AZ_AUTH_IDENTITY)
		return IMGP_OK;
	imgp_store_error_clear(&e);
	result = imgp_azcreds_bearer(&s->cr, &token, &e);
	if(token) {
		explicit_bzero(token, strlen(token));
		imgp_free(token);
	}
	if(result)
		return imgp_fail(err, result, "%s", e.msg);
	return IMGP_OK;
}

static const struct imgp_store_ops azure_ops = {
	"azure", az_get, az_put, az_head, az_list, az_delete, az_peek, az_check_bucket,
	az_close, az_warm,
};

/* --- opening ------------------------------------------------------------------- */

enum imgp_status imgp_store_azure_open(const struct imgp_store_opts *opts,
                                       struct imgp_store **out, char *err)
{
	struct azure_store *s = imgp_calloc(1, sizeof(*s));
	enum imgp_status result;

	*out = NULL;
	if(!s)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	imgp_store_pool_init(&s->pool, opts);
	s->base.ops = &azure_ops;
	s->base.opts = *opts;
	result = imgp_azcreds_load(&s->cr, err);
	if(!result)
		result = imgp_blobxml_init(err);
	if(!result)
		result = imgp_http_global_init(err);
	if(result) {
		az_close(&s->base);
		return result;
	}
	*out = &s->base;
	return IMGP_OK;
}
