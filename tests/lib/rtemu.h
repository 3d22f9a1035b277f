/*
 * rtemu.h: an AWS Lambda Runtime API emulator for tests, on 127.0.0.1 and
 * an ephemeral port, one thread, HTTP/1.1 with keep-alive.
 *
 * It follows AWS's documented API (version 2018-06-01):
 *   GET  /2018-06-01/runtime/invocation/next       blocks until an event is
 *        pushed (long poll); 200 with the event and the Lambda-Runtime-*
 *        headers (request id, deadline = now + the event's budget, ARN,
 *        trace id when the test gave one)
 *   POST /2018-06-01/runtime/invocation/{id}/response    202
 *   POST /2018-06-01/runtime/invocation/{id}/error       202; the
 *        Lambda-Runtime-Function-Error-Type header is recorded
 *   POST /2018-06-01/runtime/init/error                  202, or 403 once
 *        /next has been called
 * with the API's refusals: 400 InvalidRequestID for an id that is unknown
 * or not yet handed out, 403 InvalidStateTransition for a second outcome
 * for the same id, 413 RequestEntityTooLarge past 6 MB, 404 for any other
 * path. Error bodies are {"errorMessage","errorType"} as AWS sends them.
 *
 * Everything it allocates is its own; results handed to a test are copies
 * the test releases with rtemu_result_release.
 */
#ifndef IMGP_RTEMU_H
#define IMGP_RTEMU_H

#include <stdbool.h>
#include <stddef.h>

#define RTEMU_ID_SIZE 64
#define RTEMU_ARN "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test"

struct rtemu;

enum rtemu_kind { RTEMU_NONE, RTEMU_RESPONSE, RTEMU_ERROR, RTEMU_INIT_ERROR };

struct rtemu_result {
	enum rtemu_kind kind;
	char *body;                 /* NUL ended */
	size_t len;
	char *error_type;           /* Lambda-Runtime-Function-Error-Type, or NULL */
	char *content_type;         /* Content-Type of the POST, or NULL */
};

/* One-shot faults, for proving that the client survives them. */
enum rtemu_fault {
	RTEMU_FAULT_NEXT_404,       /* the next /next: a 404 with a malformed
	                               body and a header line without a colon */
	RTEMU_FAULT_NEXT_DROP,      /* the next /next: the connection is closed */
	RTEMU_FAULT_POST_404,       /* the next POST of an outcome: a 404 with a
	                               malformed body; the outcome is not recorded */
};

struct rtemu_stats {
	long nexts;                 /* GET /next requests received */
	long accepted;              /* outcomes answered 202 */
	long refused;               /* requests answered 4xx (faults excluded) */
	long connections;           /* connections accepted */
};

/* Start listening; 0, or -1 with errno. */
int rtemu_start(struct rtemu **out);
int rtemu_port(const struct rtemu *emu);
/* "127.0.0.1:<port>", for AWS_LAMBDA_RUNTIME_API. */
const char *rtemu_api(const struct rtemu *emu);

/*
 * Queue an event: the next /next gets it with a deadline budget_ms from
 * then and trace_id (NULL: no trace header). Its request id into id.
 * 0, or -1 when out of memory.
 */
int rtemu_push(struct rtemu *emu, const char *event, size_t len, long budget_ms,
               const char *trace_id, char id[RTEMU_ID_SIZE]);

/* Wait for the outcome of request id: 0 and a copy in *out, or -1 on
 * timeout (out->kind is then RTEMU_NONE). */
int rtemu_wait(struct rtemu *emu, const char *id, long timeout_ms,
               struct rtemu_result *out);
/* The same for /init/error. */
int rtemu_init_error(struct rtemu *emu, long timeout_ms, struct rtemu_result *out);
void rtemu_result_release(struct rtemu_result *r);

/* Wait until n /next requests have arrived; 0, or -1 on timeout. */
int rtemu_wait_nexts(struct rtemu *emu, long n, long timeout_ms);
/* CLOCK_MONOTONIC ms of the first /next (rtemu_now_ms's clock), 0 if none. */
double rtemu_first_next_ms(struct rtemu *emu);
double rtemu_now_ms(void);

void rtemu_fault(struct rtemu *emu, enum rtemu_fault fault);
void rtemu_stats(struct rtemu *emu, struct rtemu_stats *out);

/* Close every connection (a client blocked in /next sees it drop), stop
 * the thread, free everything. NULL is fine. */
void rtemu_stop(struct rtemu *emu);

#endif
