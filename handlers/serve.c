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
 * This file has the options and the server's life (listen, signals, the
 * drain); each request is serve_http.c's.
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
#include "serve.h"

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

/* ---- options ------------------------------------------------------------ */

/* The environment (config.c), flags over it. *help after --help (printed);
 * IMGP_E_USAGE with the reason in err ("" when already printed). */
static enum imgp_status read_opts(struct imgp_serve_config *o, int argc, char **argv,
                                  bool *help, char *err)
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
	int opt, index;

	*help = false;
	err[0] = '\0';
	if(imgp_serve_config_from_env(o, err))
		return IMGP_E_USAGE;
	opterr = 0;
	optind = 1;
	while((opt = getopt_long(argc, argv, "+h", longopts, &index)) != -1) {
		if(opt == 'h') {
			fputs(usage_text, stdout);
			*help = true;
			return IMGP_OK;
		}
		if(opt == '?' || opt == ':' || !strchr("lpctgb", opt)) {
			imgp_unknown_option("serve", argv[optind - 1], longopts);
			err[0] = '\0';
			return IMGP_E_USAGE;
		}
		if(imgp_serve_config_set(o, longopts[index].name, optarg, err))
			return IMGP_E_USAGE;
	}
	if(optind < argc)
		return imgp_fail(err, IMGP_E_USAGE, "unexpected argument %s\nsee 'imgpipe serve "
		                 "--help'", argv[optind]);
	return IMGP_OK;
}

/* ---- the server's life ------------------------------------------------------- */

/* Listen (port 0: any free one, written back into s->o.port). */
static enum imgp_status start_daemon(struct server *s, char *err)
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
	else
		return imgp_fail(err, IMGP_E_CONFIG, "IMGPIPE_LISTEN=%.60s is not an IPv4 or IPv6 "
		                 "address (0.0.0.0 for every interface, 127.0.0.1 for this host)",
		                 s->o.listen);
	s->daemon = MHD_start_daemon(flags, (uint16_t)s->o.port, NULL, NULL, imgp_serve_on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, imgp_serve_on_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_NOTIFY_COMPLETED, imgp_serve_on_completed, s,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if(!s->daemon)
		return imgp_fail(err, IMGP_E_CONFIG, "cannot listen on %s port %ld: %s",
		                 s->o.listen, s->o.port, strerror(errno));
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if(info)
		s->o.port = info->port;
	return IMGP_OK;
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

		imgp_serve_abstime(imgp_epoch_ms() + 100, &ts);
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
	bool running, help;

	if(!s) {
		fprintf(stderr, "imgpipe serve: out of memory\n");
		return IMGP_EXIT_USAGE;
	}
	if(read_opts(&s->o, argc, argv, &help, err) || help) {
		if(!help && err[0])
			fprintf(stderr, "imgpipe serve: %s\n", err);
		imgp_serve_config_release(&s->o);
		imgp_free(s);
		return help ? IMGP_EXIT_OK : IMGP_EXIT_USAGE;
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
	if(start_daemon(s, err)) {
		imgp_log_diag(IMGP_LOG_FATAL, "serve: %s", err);
		imgp_upload_release(&s->up);
		status = IMGP_EXIT_USAGE;
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
