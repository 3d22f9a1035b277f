/*
 * runtime.c: see runtime.h. One curl easy handle talks to the Runtime API
 * for the life of the sandbox; its connection is kept alive between
 * calls, and every call sets only what differs from the last.
 *
 * It must never log an event, a reply or an error message a handler wrote
 * (they may quote customer data), never set a total timeout on /next, and
 * never let a header value it did not check into a URL or a header.
 */
#include "runtime.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dbuf.h"
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

struct imgp_runtime {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	char *base;                     /* http://host:port/2018-06-01/runtime */
	char *next_url;
	bool parsing_next;              /* the transfer under way is a /next */
	/* the invocation /next returned */
	struct imgp_invocation inv;
	struct imgp_dbuf event;
	enum imgp_status event_status;  /* why the event could not be stored */
	bool bad_request_id;            /* the header came but was unusable */
	char *client_context;
	char *cognito_identity;
	/* the start of the API's answer to a POST, for the log */
	char api_reply[API_REPLY_MAX + 1];
	size_t api_reply_len;
	/* the handler's error, zeroed before each call */
	char error_type[IMGP_RUNTIME_ERROR_TYPE_SIZE];
	char error_message[IMGP_ERRSIZE];
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
	rt->event_status = IMGP_OK;
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

/*
 * curl hands over one whole header line at a time, not NUL ended, with its
 * CR LF. Lines without a colon (the status line, the blank line, junk) are
 * skipped; a status line means a new response, so the last one's headers
 * are forgotten.
 */
static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	struct imgp_runtime *rt = ud;
	size_t len = size * nmemb, nlen, vlen;
	const char *colon, *value, *end;

	if(!rt->parsing_next)
		return len;
	if(len >= 5 && !memcmp(line, "HTTP/", 5)) {
		invocation_reset(rt);
		return len;
	}
	colon = memchr(line, ':', len);
	if(!colon)
		return len;
	nlen = (size_t)(colon - line);
	value = colon + 1;
	end = line + len;
	while(value < end && (*value == ' ' || *value == '\t'))
		value++;
	while(end > value && (end[-1] == '\r' || end[-1] == '\n' ||
	                      end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - value);

	if(name_is(line, nlen, "Lambda-Runtime-Aws-Request-Id"))
		rt->bad_request_id = !copy_request_id(rt->inv.request_id,
		                                      sizeof(rt->inv.request_id), value, vlen);
	else if(name_is(line, nlen, "Lambda-Runtime-Deadline-Ms"))
		rt->inv.deadline_ms = parse_deadline(value, vlen);
	else if(name_is(line, nlen, "Lambda-Runtime-Invoked-Function-Arn"))
		(void)copy_value(rt->inv.function_arn, sizeof(rt->inv.function_arn), value, vlen);
	else if(name_is(line, nlen, "Lambda-Runtime-Trace-Id"))
		(void)copy_value(rt->inv.trace_id, sizeof(rt->inv.trace_id), value, vlen);
	else if(name_is(line, nlen, "Lambda-Runtime-Client-Context")) {
		imgp_free(rt->client_context);
		rt->client_context = opaque_value(value, vlen);
	}
	else if(name_is(line, nlen, "Lambda-Runtime-Cognito-Identity")) {
		imgp_free(rt->cognito_identity);
		rt->cognito_identity = opaque_value(value, vlen);
	}
	return len;
}

/* parsers.h: a header block through on_header, line by line as curl
 * would hand it over, on a runtime that was never opened. */
enum imgp_status imgp_runtime_parse_head(const char *head, size_t len,
                                         struct imgp_invocation *inv,
                                         bool *has_opaque)
{
	struct imgp_runtime rt;
	enum imgp_status result;
	size_t at = 0;

	memset(&rt, 0, sizeof(rt));
	imgp_dbuf_init(&rt.event, 1);
	rt.parsing_next = true;
	while(at < len) {
		const char *nl = memchr(head + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (head + at)) + 1 : len - at;
		/* curl's lines are not NUL ended: give on_header an exact copy */
		char *line = imgp_malloc(n);

		if(line) {
			memcpy(line, head + at, n);
			(void)on_header(line, 1, n, &rt);
			imgp_free(line);
		}
		at += n;
	}
	*inv = rt.inv;
	inv->client_context = inv->cognito_identity = NULL;
	*has_opaque = rt.client_context || rt.cognito_identity;
	result = rt.inv.request_id[0] && !rt.bad_request_id ? IMGP_OK : IMGP_E_REQUEST;
	imgp_free(rt.client_context);
	imgp_free(rt.cognito_identity);
	imgp_dbuf_release(&rt.event);
	return result;
}

/* The event of a /next goes into rt->event, up to the payload limit; the
 * answer to a POST is only glanced at, for the log. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct imgp_runtime *rt = ud;
	size_t len = size * nmemb, room;
	enum imgp_status result;

	if(!rt->parsing_next) {
		room = API_REPLY_MAX - rt->api_reply_len;
		if(len < room)
			room = len;
		memcpy(rt->api_reply + rt->api_reply_len, data, room);
		rt->api_reply_len += room;
		rt->api_reply[rt->api_reply_len] = '\0';
		return len;
	}
	result = imgp_dbuf_add(&rt->event, data, len);
	if(result) {
		rt->event_status = result;
		return 0;       /* anything but len aborts the transfer */
	}
	return len;
}

/*
 * One request on the shared handle, set up by the caller; its HTTP status
 * into *status. Fails only when no HTTP answer came back whole.
 */
static enum imgp_status perform(struct imgp_runtime *rt, const char *what,
                                long *status, char *err)
{
	CURLcode code;

	*status = 0;
	rt->errbuf[0] = '\0';
	rt->api_reply_len = 0;
	rt->api_reply[0] = '\0';
	code = curl_easy_perform(rt->curl);
	if(code == CURLE_WRITE_ERROR && rt->event_status == IMGP_E_TOO_LARGE)
		return imgp_fail(err, IMGP_E_TOO_LARGE, "%s: the event is over Lambda's "
		                 "%u byte payload limit", what, IMGP_RUNTIME_MAX_PAYLOAD);
	if(code == CURLE_WRITE_ERROR && rt->event_status)
		return imgp_fail(err, rt->event_status, "%s: out of memory", what);
	if(code)
		return imgp_fail(err, code == CURLE_OPERATION_TIMEDOUT ? IMGP_E_TIMEOUT
		                                                       : IMGP_E_NETWORK,
		                 "%s: %s", what,
		                 rt->errbuf[0] ? rt->errbuf : curl_easy_strerror(code));
	curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, status);
	return IMGP_OK;
}

/* The API's error answer, printable characters only, for a log line. */
static const char *api_reply_excerpt(struct imgp_runtime *rt)
{
	for(size_t i = 0; i < rt->api_reply_len; i++)
		if((unsigned char)rt->api_reply[i] < 0x20 || (unsigned char)rt->api_reply[i] > 0x7e)
			rt->api_reply[i] = '?';
	return rt->api_reply;
}

/*
 * One GET /next: the invocation into rt->inv and rt->event. IMGP_E_TOO_LARGE
 * with a request id set means an invocation came whose event is too big.
 */
static enum imgp_status next_once(struct imgp_runtime *rt, char *err)
{
	enum imgp_status result;
	long status;

	invocation_reset(rt);
	curl_easy_setopt(rt->curl, CURLOPT_URL, rt->next_url);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, NULL);
	/*
	 * No total timeout: Lambda freezes the sandbox inside this request. No
	 * CURLOPT_MAXFILESIZE either: curl would stop at Content-Length, maybe
	 * before the request id, and an invocation handed out must be answered;
	 * on_body stops at the cap instead, after every header.
	 */
	curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT_MS, 0L);
	rt->parsing_next = true;
	result = perform(rt, "GET next", &status, err);
	rt->parsing_next = false;
	if(result)
		return result;
	if(status != 200)
		return imgp_fail(err, status >= 500 ? IMGP_E_SERVER : IMGP_E_REQUEST,
		                 "GET next: HTTP %ld", status);
	if(!rt->inv.request_id[0])
		return imgp_fail(err, IMGP_E_SERVER, "GET next: %s Lambda-Runtime-Aws-Request-Id",
		                 rt->bad_request_id ? "an unusable" : "no");
	return IMGP_OK;
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

/* An error type is sent as a header: keep it to a token. */
static void clean_error_type(const char *in, char out[IMGP_RUNTIME_ERROR_TYPE_SIZE])
{
	size_t i;

	for(i = 0; in && in[i] && i < IMGP_RUNTIME_ERROR_TYPE_SIZE - 1; i++)
		out[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                "0123456789-._", in[i]) ? in[i] : '_';
	out[i] = '\0';
	if(!i)
		snprintf(out, IMGP_RUNTIME_ERROR_TYPE_SIZE, "%s", imgp_status_str(IMGP_E_INTERNAL));
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

/*
 * The error document Lambda expects, {"errorMessage", "errorType",
 * "stackTrace": []}, imgp_malloc'd, its length in *len.
 */
static char *error_document(const char *type, const char *message, size_t *len)
{
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

/*
 * POST body to base + path. error_type, when not NULL, goes into
 * Lambda-Runtime-Function-Error-Type. IMGP_OK on a 2xx (Lambda says 202).
 */
static enum imgp_status post(struct imgp_runtime *rt, const char *path,
                             const char *body, size_t len,
                             const char *error_type, char *err)
{
	/* "Expect:" off: a 100-continue round trip buys nothing on loopback */
	static const char *const fixed[] = { "Content-Type: application/json", "Expect:" };
	struct curl_slist *headers = NULL, *more;
	char *url = NULL, *type_header = NULL, what[sizeof(rt->inv.request_id) + 40];
	enum imgp_status result = IMGP_OK;
	long status;

	snprintf(what, sizeof(what), "POST %s", path);
	url = imgp_asprintf("%s%s", rt->base, path);
	if(error_type)
		type_header = imgp_asprintf("Lambda-Runtime-Function-Error-Type: %s", error_type);
	if(!url || (error_type && !type_header)) {
		result = imgp_fail(err, IMGP_E_NOMEM, "%s: out of memory", what);
		goto out;
	}
	for(size_t i = 0; i < 3; i++) {
		const char *line = i < 2 ? fixed[i] : type_header;
		if(!line)
			continue;
		more = curl_slist_append(headers, line);
		if(!more) {
			result = imgp_fail(err, IMGP_E_NOMEM, "%s: out of memory", what);
			goto out;
		}
		headers = more;
	}
	curl_easy_setopt(rt->curl, CURLOPT_URL, url);
	curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
	result = perform(rt, what, &status, err);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, NULL);
	if(result)
		goto out;
	if(status < 200 || status > 299)
		result = imgp_fail(err, status >= 500 ? IMGP_E_SERVER : IMGP_E_REQUEST,
		                   "%s: HTTP %ld %s", what, status, api_reply_excerpt(rt));

out:
	curl_slist_free_all(headers);
	imgp_free(type_header);
	imgp_free(url);
	return result;
}

/* An error document to path (an invocation's /error or /init/error). */
static enum imgp_status post_error(struct imgp_runtime *rt, const char *path,
                                   const char *error_type, const char *message,
                                   char *err)
{
	char type[IMGP_RUNTIME_ERROR_TYPE_SIZE];
	enum imgp_status result;
	size_t len = 0;
	char *doc;

	clean_error_type(error_type, type);
	doc = error_document(type, message ? message : "", &len);
	if(!doc)
		return imgp_fail(err, IMGP_E_NOMEM, "POST %s: out of memory", path);
	result = post(rt, path, doc, len, type, err);
	imgp_free(doc);
	return result;
}

enum imgp_status imgp_runtime_init_error(struct imgp_runtime *rt,
                                         const char *error_type,
                                         const char *message, char *err)
{
	return post_error(rt, "/init/error", error_type, message, err);
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
	enum imgp_status result;
	char *reply = NULL;
	size_t len = 0;

	rt->inv.client_context = rt->client_context;
	rt->inv.cognito_identity = rt->cognito_identity;
	export_trace(&rt->inv);
	memset(rt->error_type, 0, sizeof(rt->error_type));
	memset(rt->error_message, 0, sizeof(rt->error_message));
	if(next_result == IMGP_E_TOO_LARGE) {
		snprintf(rt->error_type, sizeof(rt->error_type), "%s",
		         imgp_status_str(IMGP_E_TOO_LARGE));
		snprintf(rt->error_message, sizeof(rt->error_message),
		         "the event is over Lambda's %u byte payload limit",
		         IMGP_RUNTIME_MAX_PAYLOAD);
	}
	else
		reply = fn(ctx, &rt->inv, imgp_dbuf_str(&rt->event), rt->event.len,
		           rt->error_type, rt->error_message);

	if(reply && (len = strlen(reply)) > IMGP_RUNTIME_MAX_PAYLOAD) {
		snprintf(rt->error_type, sizeof(rt->error_type), "%s",
		         imgp_status_str(IMGP_E_TOO_LARGE));
		snprintf(rt->error_message, sizeof(rt->error_message),
		         "the reply of %zu bytes is over Lambda's %u byte payload limit",
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
		rt->error_type[sizeof(rt->error_type) - 1] = '\0';
		rt->error_message[sizeof(rt->error_message) - 1] = '\0';
		if(!rt->error_type[0] && !rt->error_message[0])
			snprintf(rt->error_message, sizeof(rt->error_message),
			         "the handler returned neither a reply nor an error");
		snprintf(path, sizeof(path), "/invocation/%s/error", rt->inv.request_id);
		result = post_error(rt, path, rt->error_type, rt->error_message, err);
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
	struct imgp_runtime *rt = NULL;
	enum imgp_status result = IMGP_OK;
	CURLcode code;

	*out = NULL;
	if(!api || !api_ok(api))
		return imgp_fail(err, IMGP_E_CONFIG, "runtime API address \"%s\" is not "
		                 "a host:port", api ? api : "");
	code = curl_global_init(CURL_GLOBAL_DEFAULT);
	if(code)
		return imgp_fail(err, IMGP_E_INTERNAL, "curl_global_init: %s",
		                 curl_easy_strerror(code));
	rt = imgp_calloc(1, sizeof(*rt));
	if(!rt) {
		curl_global_cleanup();
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	imgp_dbuf_init(&rt->event, (size_t)IMGP_RUNTIME_MAX_PAYLOAD + 1);
	rt->base = imgp_asprintf("http://%s" API_VERSION, api);
	rt->next_url = imgp_asprintf("http://%s" API_VERSION "/invocation/next", api);
	rt->curl = curl_easy_init();
	if(!rt->base || !rt->next_url || !rt->curl) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	code = curl_easy_setopt(rt->curl, CURLOPT_ERRORBUFFER, rt->errbuf);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_PROTOCOLS_STR, "http");
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_NOPROXY, "*");
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_PROXY, "");
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_NOSIGNAL, 1L);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_USERAGENT, "imgpipe/" IMGP_VERSION);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_header);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, rt);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_body);
	if(!code)
		code = curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, rt);
	if(code)
		result = imgp_fail(err, IMGP_E_INTERNAL, "curl_easy_setopt: %s",
		                   curl_easy_strerror(code));

out:
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
	if(rt->curl)
		curl_easy_cleanup(rt->curl);
	invocation_reset(rt);
	imgp_dbuf_release(&rt->event);
	imgp_free(rt->base);
	imgp_free(rt->next_url);
	imgp_free(rt);
	curl_global_cleanup();
}
