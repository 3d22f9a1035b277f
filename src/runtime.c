/*
 * runtime.c: see runtime.h. One http.c handle talks to the Runtime API for
 * the life of the sandbox; its connection is kept alive between calls.
 *
 * It must never log an event, a reply or an error message a handler wrote
 * (they may quote customer data), never set a total timeout on /next, and
 * never let a header value it did not check into a URL or a header.
 */
#include "runtime.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dbuf.h"
#include "http.h"
#include "log.h"
#include "parsers.h"

#define API_VERSION "/2018-06-01/runtime"
#define TRACE_ENV "_X_AMZN_TRACE_ID"
#define CONNECT_TIMEOUT_MS 1000L    /* the API is on the same host */
#define POST_TIMEOUT_MS 30000L      /* 6 MB over loopback takes milliseconds */
#define NEXT_ATTEMPTS 5             /* /next failures in a row before giving up */
#define NEXT_BASE_DELAY_MS 50L      /* then 100, 200, 400: 750 ms in all */
#define NEXT_MAX_DELAY_MS 1000L
#define OPAQUE_HEADER_MAX (16 * 1024) /* client context, cognito identity */
#define API_REPLY_MAX 160           /* what of an API error body is quoted */
#define POST_REPLY_MAX (64 * 1024)  /* Lambda answers a POST with a few bytes */

struct imgp_runtime {
	struct imgp_http *http;         /* one handle: one kept-alive connection */
	char *base;                     /* http://host:port/2018-06-01/runtime */
	char *next_url;
	/* the invocation /next returned */
	struct imgp_invocation inv;
	struct imgp_dbuf event;
	bool bad_request_id;            /* the header came but was unusable */
	char *client_context;
	char *cognito_identity;
};

/* The one place this file writes to the log; never given customer data. */
static void rt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rt_log(const char *fmt, ...)
{
	char line[IMGP_ERRSIZE + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	imgp_log_diag(IMGP_LOG_WARN, "runtime: %s", line);
}

int64_t imgp_invocation_remaining_ms(const struct imgp_invocation *inv)
{
	if(!inv->deadline_ms)
		return INT64_MAX;
	return inv->deadline_ms - imgp_epoch_ms();
}

/* Forget everything about the last invocation. */
static void invocation_reset(struct imgp_runtime *rt)
{
	memset(&rt->inv, 0, sizeof(rt->inv));
	imgp_dbuf_reset(&rt->event);
	rt->bad_request_id = false;
	imgp_free(rt->client_context);
	imgp_free(rt->cognito_identity);
	rt->client_context = rt->cognito_identity = NULL;
}

/* Header names compare without case (RFC 9110 5.1). */
static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && !strncasecmp(name, want, len);
}

/* Visible ASCII and spaces only: what may be copied into a C string that
 * later becomes an environment variable or a log field. */
static bool printable(const char *s, size_t len)
{
	for(size_t i = 0; i < len; i++)
		if((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* Copy a header value into a fixed field; false (and "") if it does not
 * fit or is not printable. */
static bool copy_value(char *dst, size_t size, const char *value, size_t len)
{
	dst[0] = '\0';
	if(len >= size || !printable(value, len))
		return false;
	memcpy(dst, value, len);
	dst[len] = '\0';
	return true;
}

/* A request id goes into the URL path of the POSTs: letters, digits and
 * "-._" only, which is what Lambda sends (a UUID). */
static bool copy_request_id(char *dst, size_t size, const char *value, size_t len)
{
	if(!len || !copy_value(dst, size, value, len))
		return false;
	if(strspn(dst, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	               "0123456789-._") != len) {
		dst[0] = '\0';
		return false;
	}
	return true;
}

/* Digits only, at most 18 of them (so the sum cannot overflow). */
static int64_t parse_deadline(const char *value, size_t len)
{
	int64_t ms = 0;

	if(!len || len > 18)
		return 0;
	for(size_t i = 0; i < len; i++) {
		if(value[i] < '0' || value[i] > '9')
			return 0;
		ms = ms * 10 + (value[i] - '0');
	}
	return ms;
}

/* An opaque header kept as a string: NULL when over the cap or not
 * printable (imgpipe has no use for either; they are passed through). */
static char *opaque_value(const char *value, size_t len)
{
	if(len > OPAQUE_HEADER_MAX || !printable(value, len))
		return NULL;
	return imgp_strndup(value, len);
}

/* One response header of /next into the invocation. */
static void invocation_header(struct imgp_runtime *rt, const char *name,
                              size_t nlen, const char *value, size_t vlen)
{
	if(name_is(name, nlen, "Lambda-Runtime-Aws-Request-Id"))
		rt->bad_request_id = !copy_request_id(rt->inv.request_id,
		                                      sizeof(rt->inv.request_id), value, vlen);
	else if(name_is(name, nlen, "Lambda-Runtime-Deadline-Ms"))
		rt->inv.deadline_ms = parse_deadline(value, vlen);
	else if(name_is(name, nlen, "Lambda-Runtime-Invoked-Function-Arn"))
		(void)copy_value(rt->inv.function_arn, sizeof(rt->inv.function_arn), value, vlen);
	else if(name_is(name, nlen, "Lambda-Runtime-Trace-Id"))
		(void)copy_value(rt->inv.trace_id, sizeof(rt->inv.trace_id), value, vlen);
	else if(name_is(name, nlen, "Lambda-Runtime-Client-Context")) {
		imgp_free(rt->client_context);
		rt->client_context = opaque_value(value, vlen);
	}
	else if(name_is(name, nlen, "Lambda-Runtime-Cognito-Identity")) {
		imgp_free(rt->cognito_identity);
		rt->cognito_identity = opaque_value(value, vlen);
	}
}

/* The invocation a /next response's headers describe (http.c has trimmed
 * and lower-cased them). */
static void read_invocation(struct imgp_runtime *rt,
                            const struct imgp_http_response *resp)
{
	for(size_t i = 0; i < resp->nheaders; i++)
		invocation_header(rt, resp->headers[i].name, strlen(resp->headers[i].name),
		                  resp->headers[i].value, strlen(resp->headers[i].value));
}

/* parsers.h: a header block, line by line as a server would send it, on a
 * runtime that was never opened. Lines without a colon (the status line,
 * the blank line, junk) are skipped; a status line starts a new response. */
enum imgp_status imgp_runtime_parse_head(const char *head, size_t len,
                                         struct imgp_invocation *inv,
                                         bool *has_opaque)
{
	struct imgp_runtime rt;
	enum imgp_status result;
	size_t at = 0;

	memset(&rt, 0, sizeof(rt));
	while(at < len) {
		const char *line = head + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) + 1 : len - at;
		const char *colon = memchr(line, ':', n), *value, *end = line + n;

		at += n;
		if(n >= 5 && !memcmp(line, "HTTP/", 5)) {
			invocation_reset(&rt);
			continue;
		}
		if(!colon)
			continue;
		value = colon + 1;
		while(value < end && (*value == ' ' || *value == '\t'))
			value++;
		while(end > value && (end[-1] == '\r' || end[-1] == '\n' ||
		                      end[-1] == ' ' || end[-1] == '\t'))
			end--;
		invocation_header(&rt, line, (size_t)(colon - line), value,
		                  (size_t)(end - value));
	}
	*inv = rt.inv;
	inv->client_context = inv->cognito_identity = NULL;
	*has_opaque = rt.client_context || rt.cognito_identity;
	result = rt.inv.request_id[0] && !rt.bad_request_id ? IMGP_OK : IMGP_E_REQUEST;
	imgp_free(rt.client_context);
	imgp_free(rt.cognito_identity);
	return result;
}

/* The API's error answer, printable characters only, at most
 * API_REPLY_MAX of them, for a log line. */
static const char *api_reply_excerpt(const struct imgp_http_response *resp,
                                     char out[API_REPLY_MAX + 1])
{
	size_t n = resp->body.len < API_REPLY_MAX ? resp->body.len : API_REPLY_MAX;
	const char *body = imgp_dbuf_str(&resp->body);

	for(size_t i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] < 0x20 || (unsigned char)body[i] > 0x7e
			? '?' : body[i];
	out[n] = '\0';
	return out;
}

/*
 * One GET /next: the invocation into rt->inv and rt->event. IMGP_E_TOO_LARGE
 * with a request id set means an invocation came whose event is too big.
 * No total timeout: Lambda freezes the sandbox inside this request. An
 * event over the cap stops at its body, after every header, because an
 * invocation handed out must be answered.
 */
static enum imgp_status next_once(struct imgp_runtime *rt, char *err)
{
	struct imgp_http_request req = {
		.method = "GET", .url = rt->next_url,
		.max_body = IMGP_RUNTIME_MAX_PAYLOAD,
	};
	struct imgp_http_response resp;
	enum imgp_status result;
	char why[IMGP_ERRSIZE];

	invocation_reset(rt);
	imgp_http_response_init(&resp);
	result = imgp_http_send(rt->http, &req, &resp, why);
	if(!result || result == IMGP_E_TOO_LARGE)
		read_invocation(rt, &resp);
	if(result == IMGP_E_TOO_LARGE)
		imgp_fail(err, result, "GET next: the event is over Lambda's %u byte "
		          "payload limit", IMGP_RUNTIME_MAX_PAYLOAD);
	else if(result)
		imgp_fail(err, result, "GET next: %s", why);
	else if(resp.status != 200)
		result = imgp_fail(err, resp.status >= 500 ? IMGP_E_SERVER : IMGP_E_REQUEST,
		                   "GET next: HTTP %ld", resp.status);
	else if(!rt->inv.request_id[0])
		result = imgp_fail(err, IMGP_E_SERVER, "GET next: %s Lambda-Runtime-Aws-Request-Id",
		                   rt->bad_request_id ? "an unusable" : "no");
	else {
		/* the event moves over; resp keeps nothing to free but headers */
		imgp_dbuf_release(&rt->event);
		rt->event = resp.body;
		imgp_dbuf_init(&resp.body, 1);
	}
	imgp_http_response_release(&resp);
	return result;
}

/* /next until it answers, or NEXT_ATTEMPTS failures in a row. */
static enum imgp_status next_invocation(struct imgp_runtime *rt, char *err)
{
	char last[IMGP_ERRSIZE];
	long delay = NEXT_BASE_DELAY_MS;
	enum imgp_status result;

	for(int attempt = 1;; attempt++) {
		result = next_once(rt, last);
		if(!result || (result == IMGP_E_TOO_LARGE && rt->inv.request_id[0]))
			return result;
		if(attempt == NEXT_ATTEMPTS)
			return imgp_fail(err, result, "%s; gave up after %d attempts",
			                 last, NEXT_ATTEMPTS);
		rt_log("%s; retrying in %ld ms", last, delay);
		imgp_sleep_ms(delay);
		delay = delay * 2 > NEXT_MAX_DELAY_MS ? NEXT_MAX_DELAY_MS : delay * 2;
	}
}

/* A copy of s with every byte above ASCII replaced, for text that is not
 * valid UTF-8 (JSON strings must be). */
static char *ascii_copy(const char *s)
{
	char *copy = imgp_strdup(s);

	for(char *p = copy; p && *p; p++)
		if((unsigned char)*p > 0x7e || (unsigned char)*p < 0x20)
			*p = '?';
	return copy;
}

char *imgp_runtime_error_document(enum imgp_status status, const char *message,
                                  size_t *len)
{
	const char *type = imgp_status_str(status);
	json_t *doc = json_pack("{s:s, s:s, s:[]}", "errorMessage", message,
	                        "errorType", type, "stackTrace");
	char *text = NULL, *clean = NULL;
	size_t size;

	if(!doc) {
		/* only when message is not UTF-8: type is a token already */
		clean = ascii_copy(message);
		if(clean)
			doc = json_pack("{s:s, s:s, s:[]}", "errorMessage", clean,
			                "errorType", type, "stackTrace");
		imgp_free(clean);
	}
	if(!doc)
		return NULL;
	size = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	if(size && (text = imgp_malloc(size + 1))) {
		json_dumpb(doc, text, size, JSON_COMPACT);
		text[size] = '\0';
		*len = size;
	}
	json_decref(doc);
	return text;
}

/* The headers of a POST: its content type and, for an error, its type. */
static enum imgp_status post_headers(void *ud, const struct imgp_http_request *req,
                                     struct imgp_http_headers *out, char *err)
{
	const char *error_type = ud;

	(void)req;
	if(imgp_http_headers_add(out, "Content-Type", "application/json") ||
	   (error_type && imgp_http_headers_add(out, "Lambda-Runtime-Function-Error-Type",
	                                        error_type)))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/*
 * POST body to base + path. error_type, when not NULL, goes into
 * Lambda-Runtime-Function-Error-Type. IMGP_OK on a 2xx (Lambda says 202).
 */
static enum imgp_status post(struct imgp_runtime *rt, const char *path,
                             const char *body, size_t len,
                             const char *error_type, char *err)
{
	struct imgp_http_request req = {
		.method = "POST", .body = body, .body_len = len,
		.max_body = POST_REPLY_MAX, .budget_ms = POST_TIMEOUT_MS,
		.prepare = post_headers, .ud = (void *)error_type,
	};
	struct imgp_http_response resp;
	char what[sizeof(rt->inv.request_id) + 40], why[IMGP_ERRSIZE];
	char excerpt[API_REPLY_MAX + 1];
	enum imgp_status result;
	char *url;

	snprintf(what, sizeof(what), "POST %s", path);
	url = imgp_asprintf("%s%s", rt->base, path);
	if(!url)
		return imgp_fail(err, IMGP_E_NOMEM, "%s: out of memory", what);
	req.url = url;
	imgp_http_response_init(&resp);
	result = imgp_http_send(rt->http, &req, &resp, why);
	if(result)
		imgp_fail(err, result, "%s: %s", what, why);
	else if(resp.status < 200 || resp.status > 299)
		result = imgp_fail(err, resp.status >= 500 ? IMGP_E_SERVER : IMGP_E_REQUEST,
		                   "%s: HTTP %ld %s", what, resp.status,
		                   api_reply_excerpt(&resp, excerpt));
	imgp_http_response_release(&resp);
	imgp_free(url);
	return result;
}

/* An error document to path (an invocation's /error or /init/error). */
static enum imgp_status post_error(struct imgp_runtime *rt, const char *path,
                                   enum imgp_status status, const char *message,
                                   char *err)
{
	enum imgp_status result;
	size_t len = 0;
	char *doc;

	doc = imgp_runtime_error_document(status, message ? message : "", &len);
	if(!doc)
		return imgp_fail(err, IMGP_E_NOMEM, "POST %s: out of memory", path);
	result = post(rt, path, doc, len, imgp_status_str(status), err);
	imgp_free(doc);
	return result;
}

enum imgp_status imgp_runtime_init_error(struct imgp_runtime *rt,
                                         enum imgp_status status,
                                         const char *message, char *err)
{
	return post_error(rt, "/init/error", status, message, err);
}

/* _X_AMZN_TRACE_ID is per invocation: set it, or take the last one away. */
static void export_trace(const struct imgp_invocation *inv)
{
	if(inv->trace_id[0])
		setenv(TRACE_ENV, inv->trace_id, 1);
	else
		unsetenv(TRACE_ENV);
}

/* Run the handler on the invocation /next returned and post its outcome.
 * A failure to post is the API's problem, logged and not returned. */
static void serve(struct imgp_runtime *rt, enum imgp_status next_result,
                  imgp_runtime_handler fn, void *ctx)
{
	char path[sizeof(rt->inv.request_id) + 32], err[IMGP_ERRSIZE];
	char message[IMGP_ERRSIZE] = "";
	enum imgp_status status = next_result, result;
	char *reply = NULL;
	size_t len = 0;

	rt->inv.client_context = rt->client_context;
	rt->inv.cognito_identity = rt->cognito_identity;
	export_trace(&rt->inv);
	if(status == IMGP_E_TOO_LARGE)
		snprintf(message, sizeof(message),
		         "the event is over Lambda's %u byte payload limit",
		         IMGP_RUNTIME_MAX_PAYLOAD);
	else {
		status = fn(ctx, &rt->inv, imgp_dbuf_str(&rt->event), rt->event.len,
		            &reply, message);
		if(status) {
			imgp_free(reply);
			reply = NULL;
		}
		else if(!reply)
			status = imgp_fail(message, IMGP_E_INTERNAL,
			                   "the handler returned neither a reply nor an error");
	}
	if(reply && (len = strlen(reply)) > IMGP_RUNTIME_MAX_PAYLOAD) {
		status = imgp_fail(message, IMGP_E_TOO_LARGE, "the reply of %zu bytes is "
		                   "over Lambda's %u byte payload limit",
		                   len, IMGP_RUNTIME_MAX_PAYLOAD);
		imgp_free(reply);
		reply = NULL;
	}
	if(reply) {
		snprintf(path, sizeof(path), "/invocation/%s/response", rt->inv.request_id);
		result = post(rt, path, reply, len, NULL, err);
		imgp_free(reply);
	}
	else {
		message[sizeof(message) - 1] = '\0';
		snprintf(path, sizeof(path), "/invocation/%s/error", rt->inv.request_id);
		result = post_error(rt, path, status, message, err);
	}
	if(result)
		rt_log("invocation %s: %s", rt->inv.request_id, err);
}

enum imgp_status imgp_runtime_loop(struct imgp_runtime *rt,
                                   imgp_runtime_handler fn, void *ctx,
                                   long max, char *err)
{
	enum imgp_status result;

	for(long served = 0; max <= 0 || served < max; served++) {
		result = next_invocation(rt, err);
		if(result && result != IMGP_E_TOO_LARGE)
			return result;
		serve(rt, result, fn, ctx);
		invocation_reset(rt);
	}
	return IMGP_OK;
}

/* "host:port", "1.2.3.4:9001", "[::1]:9001": nothing that could change the
 * meaning of the URL it is pasted into. */
static bool api_ok(const char *api)
{
	size_t len = strlen(api);

	return len && len < 256 &&
	       strspn(api, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                   "0123456789-.:[]") == len;
}

enum imgp_status imgp_runtime_open(const char *api, struct imgp_runtime **out,
                                   char *err)
{
	struct imgp_http_policy policy;
	struct imgp_runtime *rt = NULL;
	enum imgp_status result;

	*out = NULL;
	if(!api || !api_ok(api))
		return imgp_fail(err, IMGP_E_CONFIG, "runtime API address \"%s\" is not "
		                 "a host:port", api ? api : "");
	/* one attempt (next_invocation retries /next its own way), no total
	 * timeout and no stall timer (a /next waits as long as the sandbox is
	 * idle), no proxy, and past any invocation's deadline */
	imgp_http_policy_default(&policy);
	policy.max_attempts = 1;
	policy.budget_ms = 0;
	policy.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	policy.low_speed_time_s = 0;
	policy.no_proxy = true;
	policy.outlives_deadline = true;
	rt = imgp_calloc(1, sizeof(*rt));
	if(!rt)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	imgp_dbuf_init(&rt->event, 1);
	rt->base = imgp_asprintf("http://%s" API_VERSION, api);
	rt->next_url = imgp_asprintf("http://%s" API_VERSION "/invocation/next", api);
	if(!rt->base || !rt->next_url)
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	else
		result = imgp_http_open(&policy, &rt->http, err);
	if(result) {
		imgp_runtime_close(rt);
		return result;
	}
	*out = rt;
	return IMGP_OK;
}

void imgp_runtime_close(struct imgp_runtime *rt)
{
	if(!rt)
		return;
	imgp_http_close(rt->http);
	invocation_reset(rt);
	imgp_dbuf_release(&rt->event);
	imgp_free(rt->base);
	imgp_free(rt->next_url);
	imgp_free(rt);
}
