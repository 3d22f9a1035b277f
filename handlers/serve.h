/*
 * serve.h: what serve.c (options, the server's life: listen, signals,
 * drain) shares with serve_http.c (each request: answers, authorization,
 * the work of one event on a thread of its own).
 */
#ifndef IMGP_SERVE_H
#define IMGP_SERVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

#include "config.h"
#include "dbuf.h"
#include "event.h"
#include "upload.h"

#define RETRY_AFTER_S "1"
#define ANSWER_SLACK_MS 2000        /* past the job's deadline, answer anyway */
#define MAX_CONNECTIONS 256
#define IDLE_TIMEOUT_S 120          /* an idle kept-alive connection closes */

/* The server: what the connection threads and the job threads share. */
struct server {
	struct imgp_serve_config o;
	struct imgp_upload up;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a job finished, or the drain began */
	long busy;                  /* job threads alive */
	long answering;             /* requests waiting on their job */
	atomic_bool draining;
	int64_t drain_deadline;     /* epoch ms: waiting requests answer 503 */
	atomic_ulong seq;           /* request ids for events without one */
};

/* One event's work, shared by its request and its job thread; whichever
 * of the two is last frees it. */
struct work {
	struct server *s;
	struct imgp_event ev;
	char request_id[160];
	int64_t deadline_ms;
	bool done, abandoned;
	char *reply;
	enum imgp_status status;
	char message[IMGP_ERRSIZE];
};

/* One request, from its first header to its answer. */
struct req {
	struct imgp_dbuf body;
	bool too_large;
};

/* serve_http.c: libmicrohttpd's callbacks. */
enum MHD_Result imgp_serve_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *data, size_t *size, void **con_cls);
void imgp_serve_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                             enum MHD_RequestTerminationCode toe);
void imgp_serve_on_mhd_log(void *cls, const char *fmt, va_list ap);
/* An epoch in ms as a CLOCK_REALTIME timespec, for condition waits. */
void imgp_serve_abstime(int64_t epoch_ms, struct timespec *ts);

#endif
