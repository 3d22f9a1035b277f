/*
 * serve.c: `imgpipe serve`, the upload handler behind HTTP, for the
 * platforms that deliver events as requests and scale the container out
 * themselves: Cloud Run (Eventarc's CloudEvents, Pub/Sub pushes), Knative
 * Eventing, and the webhooks of S3-compatible stores (MinIO, Ceph RGW).
 *
 * It owns the HTTP side and nothing else: libmicrohttpd parses HTTP (never
 * this file), one thread per connection; an event's work runs on a thread
 * of its own, so the connection's thread can answer when the work is done,
 * when its deadline passes, or when a shutdown's grace runs out, whichever
 * comes first. Events go through the same upload handler as Lambda's
 * (handlers/upload.c): the event shapes are event.c's, the pipeline job.c's.
 *
 * What the platforms are told:
 *   2xx  done, or failed for good (the body says which): never redelivered;
 *   400  a body that is not an event imgpipe reads, naming why;
 *   401  IMGPIPE_SERVE_TOKEN is set and the request lacks its bearer token;
 *   413  a body over the cap; 404, 405 for other paths and methods;
 *   429  IMGPIPE_SERVE_CONCURRENCY events already at work (Retry-After);
 *   503  a temporary failure, the deadline, or a shutdown: redeliver.
 * Nothing is written for a 4xx: the body is refused before any job starts.
 *
 * Shutdown as Cloud Run and Kubernetes do it: SIGTERM (or SIGINT) stops
 * accepting, new requests on open connections get 503, work in flight has
 * IMGPIPE_SERVE_GRACE to finish; what has not finished then is answered
 * 503, so the platform delivers it again, and the process exits 0.
 */
#include "handlers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dbuf.h"
#include "event.h"
#include "log.h"
#include "upload.h"

#define RETRY_AFTER_S "1"
#define ANSWER_SLACK_MS 2000        /* past the job's deadline, answer anyway */
#define MAX_CONNECTIONS 256
#define IDLE_TIMEOUT_S 120          /* an idle kept-alive connection closes */

static const char usage_text[] =
	"usage: imgpipe serve [--listen ADDR] [--port N] [--concurrency N]\n"
	"                     [--timeout SECONDS] [--grace SECONDS] [--max-body BYTES]\n"
	"\n"
	"Serve the upload handler over HTTP, for the platforms that deliver events\n"
	"as requests: Cloud Run (Eventarc CloudEvents, Pub/Sub push), Knative\n"
	"Eventing, and the webhooks of MinIO and Ceph RGW. The same events, the\n"
	"same environment (IMGPIPE_DEST_BUCKET, IMGPIPE_VARIANTS, ...) and the same\n"
	"job as 'imgpipe lambda'; one JSON log line per object on stdout.\n"
	"\n"
	"  POST /        an event: CloudEvents (binary or structured mode: Cloud\n"
	"                Storage object.v1.finalized/deleted, or an S3 event as data),\n"
	"                a Pub/Sub push of a Cloud Storage notification, S3 records\n"
	"                (AWS, MinIO, Ceph RGW), EventBridge, {\"bucket\", \"key\"}\n"
	"  GET /healthz  200 once initialised, 503 while shutting down\n"
	"\n"
	"answers: 200 done or failed for good (the body says which), 400 not an\n"
	"event (the body says why), 401 no or wrong bearer token, 413 body over\n"
	"the cap, 429 at the concurrency cap (Retry-After), 503 a temporary\n"
	"failure or shutting down: redeliver.\n"
	"\n"
	"  --listen ADDR        IMGPIPE_LISTEN; default 127.0.0.1 (the image: 0.0.0.0)\n"
	"  --port N             PORT, as Cloud Run and Knative set it; default 8080\n"
	"                       (0: any free port, said in the first log line)\n"
	"  --concurrency N      IMGPIPE_SERVE_CONCURRENCY: events at work at once,\n"
	"                       beyond it 429; default the CPUs\n"
	"  --timeout SECONDS    IMGPIPE_SERVE_TIMEOUT: one event's work; default 60\n"
	"  --grace SECONDS      IMGPIPE_SERVE_GRACE: after SIGTERM; default 8\n"
	"  --max-body BYTES     IMGPIPE_SERVE_MAX_BODY: default 1048576\n"
	"  -h, --help           this text\n"
	"\n"
	"  IMGPIPE_SERVE_TOKEN  when set, every POST needs 'Authorization: Bearer\n"
	"                       TOKEN' (MinIO's webhook auth_token); never a flag\n"
	"\n"
	"exit status: 0 after SIGTERM or SIGINT, 2 usage or configuration error.\n";

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

/* ---- options ------------------------------------------------------------ */

/* The environment (config.c), flags over it; -1 after --help. */
static int read_opts(struct imgp_serve_config *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "grace", required_argument, NULL, 'g' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[IMGP_ERRSIZE];
	int opt, index;

	if(imgp_serve_config_from_env(o, err)) {
		fprintf(stderr, "imgpipe serve: %s\n", err);
		return IMGP_EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	while((opt = getopt_long(argc, argv, "+h", longopts, &index)) != -1) {
		if(opt == 'h') {
			fputs(usage_text, stdout);
			return -1;
		}
		if(opt == '?' || opt == ':' || !strchr("lpctgb", opt)) {
			imgp_unknown_option("serve", argv[optind - 1], longopts);
			return IMGP_EXIT_USAGE;
		}
		if(imgp_serve_config_set(o, longopts[index].name, optarg, err)) {
			fprintf(stderr, "imgpipe serve: %s\n", err);
			return IMGP_EXIT_USAGE;
		}
	}
	if(optind < argc) {
		fprintf(stderr, "imgpipe serve: unexpected argument %s\nsee 'imgpipe serve --help'\n",
		        argv[optind]);
		return IMGP_EXIT_USAGE;
	}
	return IMGP_EXIT_OK;
}

/* ---- answers ------------------------------------------------------------ */

/* Queue an answer: body (JSON text, copied) with the status, and
 * Retry-After when retry; Connection: close while draining. */
static enum MHD_Result answer(struct server *s, struct MHD_Connection *c, unsigned status,
                              const char *body, bool retry)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if(!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	if(retry)
		MHD_add_response_header(r, "Retry-After", RETRY_AFTER_S);
	if(s->draining)
		MHD_add_response_header(r, "Connection", "close");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* {"error": message, "status": name} with the HTTP status. */
static enum MHD_Result answer_error(struct server *s, struct MHD_Connection *c,
                                    unsigned status, enum imgp_status st,
                                    const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static enum MHD_Result answer_error(struct server *s, struct MHD_Connection *c,
                                    unsigned status, enum imgp_status st,
                                    const char *request_id, const char *fmt, ...)
{
	char msg[IMGP_ERRSIZE + 128], *text;
	enum MHD_Result ok;
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	doc = json_pack("{s:s, s:s}", "error", msg, "status", imgp_status_str(st));
	if(doc && request_id)
		json_object_set_new(doc, "request_id", json_string(request_id));
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	ok = answer(s, c, status, text ? text : "{\"error\":\"out of memory\"}",
	            status == 429 || status == 503);
	free(text);
	return ok;
}

/*
 * The upload handler's reply as the answer: 200 with the reply and an
 * "outcome" (done, or failed: every failure in it is permanent, so the
 * platform must not deliver it again), or 503 for a temporary failure.
 */
static enum MHD_Result answer_work(struct server *s, struct MHD_Connection *c,
                                   struct work *w)
{
	json_t *doc, *results, *r;
	const char *outcome = "done";
	enum MHD_Result ok;
	char *text;
	size_t i;

	if(!w->reply)
		return answer_error(s, c, imgp_status_temporary(w->status) ? 503 : 500, w->status,
		                    w->request_id, "%s", w->message);
	doc = json_loads(w->reply, 0, NULL);
	results = json_object_get(doc, "results");
	json_array_foreach(results, i, r) {
		const char *st = json_string_value(json_object_get(r, "status"));

		if(st && strcmp(st, imgp_status_str(IMGP_OK)))
			outcome = "failed";
	}
	if(doc) {
		json_object_set_new(doc, "outcome", json_string(outcome));
		json_object_set_new(doc, "request_id", json_string(w->request_id));
	}
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	ok = answer(s, c, 200, text ? text : w->reply, false);
	free(text);
	return ok;
}

/* ---- the work of one event ------------------------------------------------ */

static void work_free(struct work *w)
{
	imgp_event_release(&w->ev);
	imgp_free(w->reply);
	imgp_free(w);
}

static void *work_main(void *arg)
{
	struct work *w = arg;
	struct server *s = w->s;
	bool free_it;

	w->reply = imgp_upload_handle_event(&s->up, w->request_id, w->deadline_ms, &w->ev,
	                                    &w->status, w->message);
	pthread_mutex_lock(&s->lock);
	w->done = true;
	s->busy--;
	free_it = w->abandoned;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if(free_it)
		work_free(w);
	return NULL;
}

static void abstime(int64_t epoch_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(epoch_ms / 1000);
	ts->tv_nsec = (long)(epoch_ms % 1000) * 1000000L;
}

/*
 * Run w on a thread of its own and wait for it, at most until its
 * deadline and a little, or the shutdown's grace. Answers the request.
 */
static enum MHD_Result run_work(struct server *s, struct MHD_Connection *c, struct work *w)
{
	enum MHD_Result ok;
	pthread_attr_t attr;
	pthread_t t;
	int64_t until = w->deadline_ms + ANSWER_SLACK_MS;
	bool started, done;

	pthread_mutex_lock(&s->lock);
	if(s->draining) {
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 503, IMGP_E_SERVER, w->request_id,
		                  "shutting down: deliver it again");
		work_free(w);
		return ok;
	}
	if(s->busy >= s->o.concurrency) {
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 429, IMGP_E_THROTTLED, w->request_id,
		                  "%ld events are already at work (IMGPIPE_SERVE_CONCURRENCY): "
		                  "try again after Retry-After", s->o.concurrency);
		work_free(w);
		return ok;
	}
	s->busy++;
	s->answering++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	started = !pthread_create(&t, &attr, work_main, w);
	pthread_attr_destroy(&attr);
	if(!started) {
		s->busy--;
		s->answering--;
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 503, IMGP_E_NOMEM, w->request_id,
		                  "no thread for the event: deliver it again");
		work_free(w);
		return ok;
	}
	while(!w->done) {
		struct timespec ts;
		int64_t limit = s->draining && s->drain_deadline < until ? s->drain_deadline : until;

		if(imgp_epoch_ms() >= limit)
			break;
		abstime(limit, &ts);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	done = w->done;
	if(!done)
		w->abandoned = true;    /* the job thread frees it when it ends */
	pthread_mutex_unlock(&s->lock);
	if(done) {
		ok = answer_work(s, c, w);
		work_free(w);
	}
	else
		ok = answer_error(s, c, 503, IMGP_E_DEADLINE, w->request_id, "%s",
		                  s->draining ? "shutting down before the event was done: "
		                  "deliver it again" : "not done within IMGPIPE_SERVE_TIMEOUT: "
		                  "deliver it again");
	pthread_mutex_lock(&s->lock);
	s->answering--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- requests --------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Compare without leaking where they differ (the token is a secret). */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for(size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return !d;
}

static bool authorized(const struct server *s, struct MHD_Connection *c)
{
	const char *auth = header(c, "Authorization");

	if(!s->o.token)
		return true;
	return auth && !strncasecmp(auth, "Bearer ", 7) && same_secret(auth + 7, s->o.token);
}

/* The event in the body: a CloudEvent in binary mode when ce-specversion
 * is there, else whatever shape the JSON is. */
static enum imgp_status parse_event(struct MHD_Connection *c, const struct req *r,
                                    struct imgp_event *ev, char *err)
{
	struct imgp_cloudevent ce = {
		.specversion = header(c, "ce-specversion"), .type = header(c, "ce-type"),
		.source = header(c, "ce-source"), .id = header(c, "ce-id"),
		.subject = header(c, "ce-subject"), .datacontenttype = header(c, "Content-Type"),
	};

	if(ce.specversion)
		return imgp_event_parse_cloudevent(&ce, imgp_dbuf_str(&r->body), r->body.len, ev, err);
	return imgp_event_parse(imgp_dbuf_str(&r->body), r->body.len, ev, err);
}

/* The whole body is in: parse it, then run it (or say why not). */
static enum MHD_Result handle_event(struct server *s, struct MHD_Connection *c, struct req *r)
{
	struct work *w;
	char err[IMGP_ERRSIZE];
	enum imgp_status st;
	unsigned long n;

	if(r->too_large) {
		imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL, "refused a body over %ld bytes (413)",
		              s->o.max_body);
		return answer_error(s, c, 413, IMGP_E_TOO_LARGE, NULL, "the body is over %ld bytes "
		                    "(IMGPIPE_SERVE_MAX_BODY)", s->o.max_body);
	}
	if(!(w = imgp_calloc(1, sizeof(*w))))
		return answer_error(s, c, 503, IMGP_E_NOMEM, NULL, "out of memory");
	w->s = s;
	n = atomic_fetch_add(&s->seq, 1) + 1;
	st = parse_event(c, r, &w->ev, err);
	if(st) {
		imgp_free(w);
		imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL, "refused: %s", err);
		return answer_error(s, c, st == IMGP_E_NOMEM ? 503 : 400, st, NULL, "%s", err);
	}
	if(w->ev.event_id)
		snprintf(w->request_id, sizeof(w->request_id), "%s", w->ev.event_id);
	else
		snprintf(w->request_id, sizeof(w->request_id), "serve-%d-%lu", (int)getpid(), n);
	w->deadline_ms = imgp_epoch_ms() + s->o.timeout_s * 1000;
	return run_work(s, c, w);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	if(!r) {
		const char *cl;

		if(!strcmp(url, "/healthz") && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
			return s->draining
				? answer_error(s, c, 503, IMGP_E_SERVER, NULL, "shutting down")
				: answer(s, c, 200, "{\"status\":\"ok\"}", false);
		if(strcmp(url, "/"))
			return answer_error(s, c, 404, IMGP_E_NOT_FOUND, NULL, "no such path: events "
			                    "are POSTed to /, and GET /healthz says whether it is up");
		if(strcmp(method, "POST")) {
			struct MHD_Response *resp;
			enum MHD_Result ok;
			static const char body[] = "{\"error\":\"events are POSTed to /\","
			                           "\"status\":\"UsageError\"}";

			resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
			                                       MHD_RESPMEM_PERSISTENT);
			if(!resp)
				return MHD_NO;
			MHD_add_response_header(resp, "Allow", "POST");
			MHD_add_response_header(resp, "Content-Type", "application/json");
			ok = MHD_queue_response(c, 405, resp);
			MHD_destroy_response(resp);
			return ok;
		}
		if(!authorized(s, c)) {
			imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL,
			              "refused a request without the bearer token (401)");
			return answer_error(s, c, 401, IMGP_E_ACCESS, NULL, "this server wants "
			                    "'Authorization: Bearer' with IMGPIPE_SERVE_TOKEN's token");
		}
		if(s->draining)
			return answer_error(s, c, 503, IMGP_E_SERVER, NULL,
			                    "shutting down: deliver it again");
		cl = header(c, "Content-Length");
		if(cl && strtoull(cl, NULL, 10) > (unsigned long long)s->o.max_body) {
			imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL,
			              "refused a body of %.20s bytes, over %ld (413)", cl, s->o.max_body);
			return answer_error(s, c, 413, IMGP_E_TOO_LARGE, NULL, "the body is %.20s bytes, "
			                    "over %ld (IMGPIPE_SERVE_MAX_BODY)", cl, s->o.max_body);
		}
		if(!(r = imgp_calloc(1, sizeof(*r))))
			return MHD_NO;
		imgp_dbuf_init(&r->body, (size_t)s->o.max_body + 1);
		*con_cls = r;
		return MHD_YES;
	}
	if(*size) {
		/* over the cap (chunked, or a Content-Length that lied): keep
		 * reading, keep nothing, answer 413 at the end */
		if(!r->too_large && imgp_dbuf_add(&r->body, data, *size)) {
			r->too_large = true;
			imgp_dbuf_release(&r->body);
		}
		*size = 0;
		return MHD_YES;
	}
	return handle_event(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if(r) {
		imgp_dbuf_release(&r->body);
		imgp_free(r);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while(n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	imgp_log_diag(IMGP_LOG_WARN, "serve: http: %s", msg);
}

/* ---- the server's life ------------------------------------------------------- */

static int start_daemon(struct server *s)
{
	struct sockaddr_storage addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof(addr));
	if(inet_pton(AF_INET, s->o.listen, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)s->o.port);
	}
	else if(inet_pton(AF_INET6, s->o.listen, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)s->o.port);
		flags |= MHD_USE_IPv6;
	}
	else {
		imgp_log_diag(IMGP_LOG_FATAL, "serve: IMGPIPE_LISTEN=%.60s is not an IPv4 or IPv6 "
		              "address (0.0.0.0 for every interface, 127.0.0.1 for this host)",
		              s->o.listen);
		return IMGP_EXIT_USAGE;
	}
	s->daemon = MHD_start_daemon(flags, (uint16_t)s->o.port, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if(!s->daemon) {
		imgp_log_diag(IMGP_LOG_FATAL, "serve: cannot listen on %s port %ld: %s", s->o.listen,
		              s->o.port, strerror(errno));
		return IMGP_EXIT_USAGE;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if(info)
		s->o.port = info->port;
	return IMGP_EXIT_OK;
}

/*
 * SIGTERM or SIGINT: stop accepting; then wait until every request has
 * been answered (those still at work are answered 503 at the grace's
 * end). Returns whether job threads are still running.
 */
static bool drain(struct server *s, const siginfo_t *si)
{
	int sig = si->si_signo;
	char sender[48] = "";
	bool running;

	pthread_mutex_lock(&s->lock);
	s->draining = true;
	s->drain_deadline = imgp_epoch_ms() + s->o.grace_s * 1000;
	/* who sent it (kill(2) says; a terminal's ^C does not), for whoever
	 * reads the log of a stop they did not expect */
	if(si->si_code == SI_USER || si->si_code == SI_QUEUE)
		snprintf(sender, sizeof(sender), " (sent by pid %ld)", (long)si->si_pid);
	imgp_log_line(s->up.log, IMGP_LOG_INFO, NULL, "%s: shutting down; %ld event%s at work, "
	              "%ld s of grace%s", sig == SIGINT ? "SIGINT" : "SIGTERM", s->busy,
	              s->busy == 1 ? "" : "s", s->o.grace_s, sender);
	pthread_cond_broadcast(&s->cond);
	/* still listening through the grace: /healthz says 503 and a new event
	 * is answered 503 (deliver it again), where a closed port would read
	 * as a crash */
	while(s->answering > 0 || (s->busy > 0 && imgp_epoch_ms() < s->drain_deadline)) {
		struct timespec ts;

		abstime(imgp_epoch_ms() + 100, &ts);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	running = s->busy > 0;
	imgp_log_line(s->up.log, running ? IMGP_LOG_WARN : IMGP_LOG_INFO, NULL,
	              "stopped: %ld event%s still at work answered 503 for redelivery",
	              s->busy, s->busy == 1 ? "" : "s");
	pthread_mutex_unlock(&s->lock);
	/* answers queued: give them a moment to leave before the sockets close */
	imgp_sleep_ms(100);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	return running;
}

int imgp_cmd_serve(int argc, char **argv)
{
	struct server *s = imgp_calloc(1, sizeof(*s));
	char err[IMGP_ERRSIZE];
	sigset_t set;
	siginfo_t si;
	int status;
	bool running;

	if(!s) {
		fprintf(stderr, "imgpipe serve: out of memory\n");
		return IMGP_EXIT_USAGE;
	}
	status = read_opts(&s->o, argc, argv);
	if(status) {
		imgp_serve_config_release(&s->o);
		imgp_free(s);
		return status < 0 ? IMGP_EXIT_OK : status;
	}
	imgp_log_from_env();
	imgp_log_platform_gcp();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* every thread made from here on leaves SIGTERM and SIGINT to sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if(imgp_upload_init(&s->up, stdout, err)) {
		imgp_log_diag(IMGP_LOG_FATAL, "serve: init: %s", err);
		status = IMGP_EXIT_USAGE;
		goto out;
	}
	status = start_daemon(s);
	if(status) {
		imgp_upload_release(&s->up);
		goto out;
	}
	imgp_log_line(stdout, IMGP_LOG_INFO, NULL, "listening on %s%s%s:%ld; %ld event%s at once, "
	              "%ld s each; %s", strchr(s->o.listen, ':') ? "[" : "", s->o.listen,
	              strchr(s->o.listen, ':') ? "]" : "", s->o.port, s->o.concurrency,
	              s->o.concurrency == 1 ? "" : "s", s->o.timeout_s,
	              s->o.token ? "bearer token required" : "no token");
	while(sigwaitinfo(&set, &si) < 0 || (si.si_signo != SIGTERM && si.si_signo != SIGINT))
		;
	running = drain(s, &si);
	fflush(stdout);
	if(running) {
		/* job threads past the grace hold the store and libvips: their
		 * requests were answered 503, their writes are not the set's
		 * commit until the last variant lands, so leaving them is safe */
		fflush(stderr);
		_exit(IMGP_EXIT_OK);
	}
	imgp_upload_release(&s->up);
	status = IMGP_EXIT_OK;
out:
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	imgp_serve_config_release(&s->o);
	imgp_free(s);
	return status;
}
