/*
 * http.h: the one libcurl wrapper. A handle is one curl easy handle (so one
 * connection cache) with its error buffer; a request is retried with
 * exponential backoff and full jitter on connection failures, timeouts, 5xx
 * and 429, bounded in attempts and total time, never on other 4xx.
 *
 * It owns: timeouts (connect, low speed, the remaining budget), the cap on
 * every response body, TLS verification (always on), retries. It must
 * never log, never follow redirects, never speak anything but HTTP(S), and
 * never put a request header (they carry signatures) into an error.
 *
 * A handle is not thread-safe: one thread uses it at a time.
 */
#ifndef IMGP_HTTP_H
#define IMGP_HTTP_H

#include "dbuf.h"
#include "imgpipe.h"

struct imgp_http_policy {
	int max_attempts;          /* 1: never retry */
	long budget_ms;            /* all attempts and waits together; 0: no limit */
	long base_delay_ms;        /* backoff: ceiling before the first retry */
	long max_delay_ms;         /* backoff: ceiling of any one wait */
	long connect_timeout_ms;
	long low_speed_time_s;     /* abort an attempt this long below ...; 0: never */
	long low_speed_limit;      /* ... this many bytes per second */
	bool fresh_connections;    /* new connection per request (measurement) */
	bool no_proxy;             /* ignore *_proxy variables (metadata services) */
	bool outlives_deadline;    /* imgp_http_set_deadline does not apply (the
	                            * Runtime API client answers after it) */
};

/* Defaults for S3: 5 attempts in 120 s, 100 ms to 5 s waits, 5 s connect,
 * 10 s below 1 byte/s is a stall. */
void imgp_http_policy_default(struct imgp_http_policy *p);

struct imgp_http_header {
	char *name;                /* lower case */
	char *value;               /* trimmed */
};

/* Request headers: built afresh before every attempt. */
struct imgp_http_headers {
	struct imgp_http_header *items;
	size_t count;
};
enum imgp_status imgp_http_headers_add(struct imgp_http_headers *h,
                                       const char *name, const char *value);

struct imgp_http_request {
	const char *method;        /* GET, HEAD, PUT, POST, DELETE */
	const char *url;           /* path already encoded; sent as is */
	const void *body;          /* PUT body (may be NULL with body_len 0) */
	size_t body_len;
	size_t max_body;           /* ceiling of a 2xx body; over it: IMGP_E_TOO_LARGE,
	                            * with every header of the response kept */
	long budget_ms;            /* this request's budget; 0: the policy's */
	/*
	 * Called before each attempt to add the request's headers (a signer
	 * needs a fresh date per attempt). May be NULL.
	 */
	enum imgp_status (*prepare)(void *ud, const struct imgp_http_request *req,
	                            struct imgp_http_headers *out, char *err);
	void *ud;
};

struct imgp_http_response {
	long status;               /* HTTP status of the last attempt */
	struct imgp_dbuf body;
	struct imgp_http_header *headers;
	size_t nheaders;
	int attempts;              /* how many were made */
};

void imgp_http_response_init(struct imgp_http_response *r);
void imgp_http_response_release(struct imgp_http_response *r);
/* A response header's value (name any case), or NULL. */
const char *imgp_http_response_header(const struct imgp_http_response *r,
                                      const char *name);

struct imgp_http;

/* curl_global_init, once per process; imgp_http_open calls it. */
enum imgp_status imgp_http_global_init(char *err);

enum imgp_status imgp_http_open(const struct imgp_http_policy *policy,
                                struct imgp_http **out /* OUT */, char *err);
void imgp_http_close(struct imgp_http *h);

/*
 * Send req, retrying as the policy says. IMGP_OK whenever an HTTP response
 * came back, whatever its status (resp->status says which; the caller
 * reads its meaning); otherwise IMGP_E_NETWORK, IMGP_E_TIMEOUT,
 * IMGP_E_TOO_LARGE, IMGP_E_NOMEM or what prepare returned, with the reason
 * in err. resp is released and refilled on every attempt.
 */
enum imgp_status imgp_http_send(struct imgp_http *h,
                                const struct imgp_http_request *req,
                                struct imgp_http_response *resp /* OUT */,
                                char *err);

/* True for a status worth another attempt: 5xx and 429. */
bool imgp_http_status_retryable(long status);

/*
 * Requests this thread sends from now on end, retries and all, by this
 * time (Unix epoch ms; 0: no deadline); one sent after it fails at once
 * with IMGP_E_DEADLINE. Per thread, so one store serves many invocations.
 */
void imgp_http_set_deadline(int64_t epoch_ms);

#endif
