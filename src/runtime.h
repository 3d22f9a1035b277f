/*
 * runtime.h: a client of the AWS Lambda Runtime API (version 2018-06-01),
 * the HTTP API a custom runtime uses to fetch invocations and post their
 * outcomes:
 *
 *   GET  /2018-06-01/runtime/invocation/next         long poll for an event
 *   POST /2018-06-01/runtime/invocation/{id}/response
 *   POST /2018-06-01/runtime/invocation/{id}/error
 *   POST /2018-06-01/runtime/init/error
 *
 * It owns one http.c handle (so one kept-alive connection) for every call,
 * the 6 MB cap on an event, the parsing of the invocation headers, the
 * export of _X_AMZN_TRACE_ID, and the retries of /next. It must never log
 * an event or a reply (they carry customer data), never put a total
 * timeout on /next (the sandbox is frozen between invocations), and never
 * go through a proxy.
 *
 * It lives in src/ rather than handlers/ because it is HTTP client code (the
 * handlers never speak HTTP as clients) and so that tests can drive the loop in
 * process; nothing else in src/ may depend on it.
 */
#ifndef IMGP_RUNTIME_H
#define IMGP_RUNTIME_H

#include "imgpipe.h"

/* Lambda's synchronous payload limit, for events and replies alike. */
#define IMGP_RUNTIME_MAX_PAYLOAD (6u * 1024 * 1024)

/*
 * One invocation, as the headers of /next described it. Valid for the
 * duration of one handler call.
 */
struct imgp_invocation {
	char request_id[128];       /* Lambda-Runtime-Aws-Request-Id */
	int64_t deadline_ms;        /* Unix epoch ms, Lambda-Runtime-Deadline-Ms; 0 if absent */
	char function_arn[256];     /* Lambda-Runtime-Invoked-Function-Arn; "" if absent */
	char trace_id[512];         /* Lambda-Runtime-Trace-Id; "" if absent */
	const char *client_context; /* Lambda-Runtime-Client-Context, or NULL */
	const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity, or NULL */
};

/*
 * Called once per invocation with the event (NUL ended; len bytes).
 * Returns IMGP_OK with the reply in *reply, an imgp_malloc'd JSON document
 * that the runtime posts to /response and frees; or a status and its
 * reason in err (IMGP_ERRSIZE, arrives empty), which the runtime posts to
 * /error with imgp_status_str(status) as the error type.
 */
typedef enum imgp_status (*imgp_runtime_handler)(void *ctx,
                                                 const struct imgp_invocation *inv,
                                                 const char *event, size_t len,
                                                 char **reply /* OUT */, char *err);

struct imgp_runtime;

/*
 * A client of the Runtime API at api, the "host:port" of
 * AWS_LAMBDA_RUNTIME_API. Makes no request. IMGP_E_CONFIG when api is
 * empty or not a host:port.
 */
enum imgp_status imgp_runtime_open(const char *api,
                                   struct imgp_runtime **out /* OUT */,
                                   char *err);

/*
 * Report a failed initialisation to /init/error (Lambda then fails the
 * invocation that caused the cold start and says why). Call it before the
 * first /next; the process should exit afterwards. IMGP_OK when the API
 * accepted the report.
 */
enum imgp_status imgp_runtime_init_error(struct imgp_runtime *rt,
                                         enum imgp_status status,
                                         const char *message, char *err);

/*
 * The error document Lambda records, {"errorMessage", "errorType",
 * "stackTrace": []} with imgp_status_str(status) as the type (a message
 * that is not UTF-8 has its other bytes as "?"): imgp_malloc'd, its length
 * in *len; NULL when out of memory.
 */
char *imgp_runtime_error_document(enum imgp_status status, const char *message,
                                  size_t *len /* OUT */);

/*
 * Serve invocations until max have been served (0: forever) or /next
 * fails for good. /next is retried with backoff when the connection fails
 * or the API answers anything but 200 with a request id; after a few
 * attempts in a row the loop gives up and returns IMGP_E_NETWORK,
 * IMGP_E_SERVER or IMGP_E_REQUEST with the reason in err. A reply that
 * cannot be posted is logged and the loop goes on: the Runtime API, not
 * the function, is then at fault, and the next /next says whether it is
 * still there. Returns IMGP_OK after max invocations.
 */
enum imgp_status imgp_runtime_loop(struct imgp_runtime *rt,
                                   imgp_runtime_handler fn, void *ctx,
                                   long max, char *err);

void imgp_runtime_close(struct imgp_runtime *rt);

/* Milliseconds left before inv's deadline (CLOCK_REALTIME, may be
 * negative); INT64_MAX when the invocation has no deadline. */
int64_t imgp_invocation_remaining_ms(const struct imgp_invocation *inv);

#endif
