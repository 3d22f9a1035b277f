/*
 * http.c: see http.h. One curl easy handle per imgp_http, reset (which
 * keeps its live connections) and set up afresh for every attempt.
 *
 * It must never set CURLOPT_SSL_VERIFYPEER or _VERIFYHOST to 0, never
 * follow a redirect, and never copy a request header into err.
 */
#include "http.h"
#include "settings.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#define ERROR_BODY_MAX (64 * 1024)   /* an error document is small */

struct imgp_http {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	struct imgp_http_policy policy;
	uint64_t rng;                    /* xorshift state for jitter */
};

/* What the callbacks of one attempt share. */
struct transfer {
	const struct imgp_http_request *req;
	struct imgp_http_response *resp;
	size_t sent;                     /* body bytes handed to curl */
	bool too_large;
	bool declared_too_large;         /* Content-Length said so: stop at the body */
	bool nomem;
};

void imgp_http_policy_default(struct imgp_http_policy *p)
{
	p->max_attempts = 5;
	p->budget_ms = 120000;
	p->base_delay_ms = 100;
	p->max_delay_ms = 5000;
	p->connect_timeout_ms = 5000;
	p->low_speed_time_s = 10;
	p->low_speed_limit = 1;
	p->fresh_connections = false;
	p->no_proxy = false;
	p->outlives_deadline = false;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;
static const char *ca_file;     /* NULL: libcurl's own default is there */

/*
 * The CA bundle. libcurl looks where the distribution that built it keeps
 * one (Debian: /etc/ssl/certs/ca-certificates.crt); imgpipe's relocatable
 * bundle runs elsewhere too (Lambda's Amazon Linux keeps it in
 * /etc/pki/tls/certs), so when that file is missing the usual places are
 * tried, after OpenSSL's own SSL_CERT_FILE.
 */
static void find_ca_file(void)
{
	static const char *const known[] = {
		"/etc/ssl/certs/ca-certificates.crt",       /* Debian, Ubuntu, Arch */
		"/etc/pki/tls/certs/ca-bundle.crt",         /* Amazon Linux, Fedora, RHEL */
		"/etc/ssl/ca-bundle.pem",                   /* SUSE */
		"/etc/ssl/cert.pem",                        /* Alpine, the BSDs */
	};
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *env = imgp_env("SSL_CERT_FILE");

	if(env && *env && !access(env, R_OK)) {
		ca_file = env;
		return;
	}
	if(v->cainfo && !access(v->cainfo, R_OK))
		return;
	for(size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if(!access(known[i], R_OK)) {
			ca_file = known[i];
			return;
		}
}

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
	find_ca_file();
}

enum imgp_status imgp_http_global_init(char *err)
{
	pthread_once(&global_once, global_init);
	if(global_result)
		return imgp_fail(err, IMGP_E_INTERNAL, "curl_global_init: %s",
		                 curl_easy_strerror(global_result));
	return IMGP_OK;
}

enum imgp_status imgp_http_open(const struct imgp_http_policy *policy,
                                struct imgp_http **out, char *err)
{
	struct imgp_http *h;
	enum imgp_status result;

	*out = NULL;
	result = imgp_http_global_init(err);
	if(result)
		return result;
	h = imgp_calloc(1, sizeof(*h));
	if(!h)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	h->curl = curl_easy_init();
	if(!h->curl) {
		imgp_free(h);
		return imgp_fail(err, IMGP_E_NOMEM, "curl_easy_init failed");
	}
	if(policy)
		h->policy = *policy;
	else
		imgp_http_policy_default(&h->policy);
	if(h->policy.max_attempts < 1)
		h->policy.max_attempts = 1;
	h->rng = (uint64_t)(imgp_now_ms() * 1000.0) ^ (uint64_t)(uintptr_t)h ^
	         0x9e3779b97f4a7c15ULL;
	*out = h;
	return IMGP_OK;
}

void imgp_http_close(struct imgp_http *h)
{
	if(!h)
		return;
	curl_easy_cleanup(h->curl);
	imgp_free(h);
}

static void headers_release(struct imgp_http_header *items, size_t n)
{
	for(size_t i = 0; i < n; i++) {
		imgp_free(items[i].name);
		if(items[i].value) {
			/* request headers carry signatures and tokens */
			explicit_bzero(items[i].value, strlen(items[i].value));
			imgp_free(items[i].value);
		}
	}
	imgp_free(items);
}

static enum imgp_status header_push(struct imgp_http_header **items,
                                    size_t *count, const char *name,
                                    size_t namelen, const char *value,
                                    size_t valuelen)
{
	struct imgp_http_header *grown;
	char *n, *v;

	grown = imgp_realloc(*items, (*count + 1) * sizeof(**items));
	if(!grown)
		return IMGP_E_NOMEM;
	*items = grown;
	n = imgp_strndup(name, namelen);
	v = imgp_strndup(value, valuelen);
	if(!n || !v) {
		imgp_free(n);
		imgp_free(v);
		return IMGP_E_NOMEM;
	}
	for(char *p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	grown[*count].name = n;
	grown[*count].value = v;
	(*count)++;
	return IMGP_OK;
}

enum imgp_status imgp_http_headers_add(struct imgp_http_headers *h,
                                       const char *name, const char *value)
{
	return header_push(&h->items, &h->count, name, strlen(name), value,
	                   strlen(value));
}

void imgp_http_response_init(struct imgp_http_response *r)
{
	r->status = 0;
	imgp_dbuf_init(&r->body, ERROR_BODY_MAX);
	r->headers = NULL;
	r->nheaders = 0;
	r->attempts = 0;
}

void imgp_http_response_release(struct imgp_http_response *r)
{
	imgp_dbuf_release(&r->body);
	headers_release(r->headers, r->nheaders);
	r->headers = NULL;
	r->nheaders = 0;
	r->status = 0;
}

const char *imgp_http_response_header(const struct imgp_http_response *r,
                                      const char *name)
{
	for(size_t i = 0; i < r->nheaders; i++)
		if(!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

bool imgp_http_status_retryable(long status)
{
	return status >= 500 || status == 429;
}

/* Response headers: a status line starts a new set (100-continue, etc). */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	struct imgp_http_response *r = t->resp;
	size_t len = size * n, namelen;
	const char *colon, *v, *end = data + len;

	if(len > 5 && !strncmp(data, "HTTP/", 5)) {
		const char *sp = memchr(data, ' ', len);

		headers_release(r->headers, r->nheaders);
		r->headers = NULL;
		r->nheaders = 0;
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		/* an error document is small; a good body has the caller's cap */
		r->body.toobig = r->status >= 200 && r->status < 300
			? (t->req->max_body < SIZE_MAX ? t->req->max_body + 1 : SIZE_MAX)
			: ERROR_BODY_MAX;
		return len;
	}
	colon = memchr(data, ':', len);
	if(!colon)
		return len;
	namelen = (size_t)(colon - data);
	v = colon + 1;
	while(v < end && (*v == ' ' || *v == '\t'))
		v++;
	while(end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	if(header_push(&r->headers, &r->nheaders, data, namelen, v,
	               (size_t)(end - v))) {
		t->nomem = true;
		return 0;
	}
	/* refuse an object over the cap before a byte of its body is read, but
	 * after every header (the Runtime API's request id may come later) */
	if(namelen == 14 && !strncasecmp(data, "content-length", 14) &&
	   r->status >= 200 && r->status < 300 &&
	   strcmp(t->req->method, "HEAD")) {
		unsigned long long cl = strtoull(v, NULL, 10);

		if(cl > t->req->max_body)
			t->declared_too_large = true;
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	enum imgp_status result;

	if(t->declared_too_large) {
		t->too_large = true;
		return 0;
	}
	result = imgp_dbuf_add(&t->resp->body, data, size * n);
	if(result == IMGP_E_TOO_LARGE) {
		if(t->resp->status >= 200 && t->resp->status < 300) {
			t->too_large = true;
			return 0;
		}
		return size * n;   /* an over-long error document: keep its head */
	}
	if(result) {
		t->nomem = true;
		return 0;
	}
	return size * n;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t left = t->req->body_len - t->sent, want = size * n;

	if(want > left)
		want = left;
	if(want)
		memcpy(buf, (const char *)t->req->body + t->sent, want);
	t->sent += want;
	return want;
}

/* Full jitter: a uniform wait in [0, min(max, base * 2^retry)]. */
static long backoff_ms(struct imgp_http *h, int retry)
{
	long ceiling = h->policy.base_delay_ms;

	for(int i = 0; i < retry && ceiling < h->policy.max_delay_ms; i++)
		ceiling *= 2;
	if(ceiling > h->policy.max_delay_ms)
		ceiling = h->policy.max_delay_ms;
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return ceiling > 0 ? (long)(h->rng % (uint64_t)(ceiling + 1)) : 0;
}

/* The status and reason of a failed curl transfer. */
static enum imgp_status curl_failure(struct imgp_http *h, CURLcode rc,
                                     const struct transfer *t, char *err)
{
	const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

	if(t->too_large)
		return imgp_fail(err, IMGP_E_TOO_LARGE,
		                 "response body is over the %zu byte limit",
		                 t->req->max_body);
	if(t->nomem)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory reading a response");
	switch(rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return imgp_fail(err, IMGP_E_TIMEOUT, "%s", why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return imgp_fail(err, IMGP_E_REQUEST, "%s", why);
	case CURLE_OUT_OF_MEMORY:
		return imgp_fail(err, IMGP_E_NOMEM, "%s", why);
	default:
		return imgp_fail(err, IMGP_E_NETWORK, "%s", why);
	}
}

static bool status_retryable(enum imgp_status s)
{
	return s == IMGP_E_NETWORK || s == IMGP_E_TIMEOUT;
}

static enum imgp_status attempt(struct imgp_http *h,
                                const struct imgp_http_request *req,
                                struct imgp_http_response *resp,
                                long remaining_ms, char *err)
{
	struct imgp_http_headers hdrs = { NULL, 0 };
	struct curl_slist *list = NULL, *grown;
	struct transfer t = { req, resp, 0, false, false, false };
	enum imgp_status result = IMGP_OK;
	CURL *c = h->curl;
	CURLcode rc;

	imgp_http_response_release(resp);
	if(!req->body && req->body_len)
		return imgp_fail(err, IMGP_E_INTERNAL, "a %s of %zu bytes without a body",
		                 req->method, req->body_len);
	if(req->prepare) {
		result = req->prepare(req->ud, req, &hdrs, err);
		if(result)
			goto out;
	}
	/* "Expect:" with no value: send PUT bodies without 100-continue */
	for(size_t i = 0; i <= hdrs.count; i++) {
		char *line = i < hdrs.count
			? imgp_asprintf("%s: %s", hdrs.items[i].name, hdrs.items[i].value)
			: imgp_strdup("Expect:");

		grown = line ? curl_slist_append(list, line) : NULL;
		if(line) {
			explicit_bzero(line, strlen(line));
			imgp_free(line);
		}
		if(!grown) {
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
		list = grown;
	}

	curl_easy_reset(c);   /* keeps live connections */
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);       /* keys hold "..", "//" */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if(ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "imgpipe/" IMGP_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->policy.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->policy.low_speed_time_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->policy.low_speed_limit);
	/* 0: no limit (a budget of 0); a spent budget still gets 1 ms */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, remaining_ms > 0 ? remaining_ms
	                                        : remaining_ms == 0 ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	if(h->policy.no_proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if(h->policy.fresh_connections) {
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	}
	if(!strcmp(req->method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if(!strcmp(req->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &t);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
	}
	else if(!strcmp(req->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	else if(strcmp(req->method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);

	rc = curl_easy_perform(c);
	if(rc)
		result = curl_failure(h, rc, &t, err);
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	/* the slist must outlive the transfer, and the handle keeps a pointer */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
out:
	curl_slist_free_all(list);
	headers_release(hdrs.items, hdrs.count);
	return result;
}

/* The calling thread's deadline (epoch ms, 0: none): see imgp_http_set_deadline. */
static _Thread_local int64_t thread_deadline_ms;

void imgp_http_set_deadline(int64_t epoch_ms)
{
	thread_deadline_ms = epoch_ms;
}

enum imgp_status imgp_http_send(struct imgp_http *h,
                                const struct imgp_http_request *req,
                                struct imgp_http_response *resp, char *err)
{
	double start = imgp_now_ms();
	long elapsed, wait, budget = req->budget_ms > 0 ? req->budget_ms
	                                                : h->policy.budget_ms;
	bool limited = budget > 0;
	curl_off_t retry_after;
	enum imgp_status result;

	if(thread_deadline_ms && !h->policy.outlives_deadline) {
		/* a call never outlives the invocation that made it */
		int64_t left = thread_deadline_ms - imgp_epoch_ms();

		if(left <= 0)
			return imgp_fail(err, IMGP_E_DEADLINE,
			                 "not sent: the invocation's deadline has passed");
		if(!limited || left < budget)
			budget = (long)left;
		limited = true;
	}
	for(int i = 0;; i++) {
		elapsed = (long)(imgp_now_ms() - start);
		resp->attempts = i + 1;
		/* a spent budget passes -1 (1 ms), no budget 0 (no limit) */
		result = attempt(h, req, resp, !limited ? 0
		                 : budget > elapsed ? budget - elapsed : -1, err);
		if(result ? !status_retryable(result)
		          : !imgp_http_status_retryable(resp->status))
			return result;
		if(i + 1 >= h->policy.max_attempts)
			return result;
		wait = backoff_ms(h, i);
		if(!result && curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER,
		                                &retry_after) == CURLE_OK &&
		   retry_after > 0 && retry_after * 1000 <= h->policy.max_delay_ms)
			wait = (long)retry_after * 1000;
		elapsed = (long)(imgp_now_ms() - start);
		/* no attempt starts that could not get a fair share of the budget */
		if(limited && elapsed + wait >= budget)
			return result;
		imgp_sleep_ms(wait);
	}
}
