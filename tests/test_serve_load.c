/*
 * test_serve_load.c: `imgpipe serve` under load, loopback only, bounded.
 *
 * 100 uploads in s3rver, 200 events: each upload's CloudEvent, and once
 * that is answered 2xx, its redelivery as a Pub/Sub push (at-least-once
 * delivery, as the platforms do it). 8 client threads post them against a
 * server capped at 2 events at once; a client honours 429's Retry-After and
 * retries a 5xx or a refused connection, as Pub/Sub and Knative do. A third
 * of the way in, SIGTERM: the server drains what is in flight, exits 0, and
 * a new server takes over; what was refused meanwhile is delivered again.
 * Two thirds of the way in, SIGKILL, as an out-of-memory kill or a lost
 * machine stops it: what it was rendering is answered by nobody, delivered
 * again, and finished by the next server (the manifest is the set's commit).
 * In the end every upload was rendered exactly once (one log line that
 * wrote variants, across all the servers' logs), every redelivery was
 * skipped by the stamp, and no event was lost.
 *
 * A server that exits by itself fails the test with its exit status and
 * the end of its stderr. One stopped from outside (a signal this test did
 * not send: SIGKILL, SIGPROF, or a SIGTERM whose sender the log names) is
 * said loudly and replaced, as a platform replaces it, at most 3 times.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fixture.h"
#include "lib/rtemu.h"
#include "lib/servetest.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"
#define UPLOADS 100
#define EVENTS (2 * UPLOADS)
#define CLIENTS 8
#define CAP "2"
#define SIGTERM_AFTER 60            /* events done before the graceful stop */
#define SIGKILL_AFTER 130           /* and before the hard one */
#define OUTSIDE_STOPS 3             /* stopped from outside: replaced this often */
#define MAX_ATTEMPTS 200            /* per event: the loop is bounded */
#define DEADLINE_MS 150000          /* the whole run */

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(serve_load, buckets, false, .timeout = 240);

struct load {
	pthread_mutex_t lock;
	int queue[EVENTS];              /* event = upload * 2 + delivery */
	int head, tail;
	atomic_int port;                /* 0 while no server listens */
	atomic_bool gone;               /* the run is over: stop */
	atomic_int done;
	atomic_int too_many, unavailable, refused, other, lost;
	atomic_int attempts;
	char first_error[256], last_error[256];   /* curl's, under lock */
	double t0;
};

static struct load L;

static void key_of(int upload, char *key, size_t size)
{
	snprintf(key, size, "load/%03d.jpg", upload);
}

/* Next event to post, or -1 when none is queued now. */
static int take(void)
{
	int e = -1;

	pthread_mutex_lock(&L.lock);
	if(L.head < L.tail)
		e = L.queue[L.head++];
	pthread_mutex_unlock(&L.lock);
	return e;
}

static void give(int e)
{
	pthread_mutex_lock(&L.lock);
	L.queue[L.tail++] = e;
	pthread_mutex_unlock(&L.lock);
}

static void *client(void *arg)
{
	struct timespec idle = { 0, 20 * 1000000L }, brief = { 0, 200 * 1000000L };

	while(atomic_load(&L.done) < EVENTS && rtemu_now_ms() - L.t0 < DEADLINE_MS &&
	      !atomic_load(&L.gone)) {
		int e = take(), upload, attempt = 0;
		char key[64], id[32], *body;
		bool ok = false;

		if(e < 0) {
			nanosleep(&idle, NULL);
			continue;
		}
		upload = e / 2;
		key_of(upload, key, sizeof(key));
		snprintf(id, sizeof(id), "ev-%d", e);
		body = e % 2 ? st_pubsub_push(&fx, SRC, key, "1", "OBJECT_FINALIZE", id)
		             : st_cloudevent(&fx, SRC, key, "1", id);
		while(!ok && attempt++ < MAX_ATTEMPTS && rtemu_now_ms() - L.t0 < DEADLINE_MS &&
		      !atomic_load(&L.gone)) {
			int port = atomic_load(&L.port);
			struct st_reply r;

			if(!port) {
				nanosleep(&brief, NULL);
				continue;
			}
			atomic_fetch_add(&L.attempts, 1);
			st_post(port, NULL, body, &r);
			if(r.status >= 200 && r.status < 300)
				ok = true;
			else if(r.status == 429) {
				atomic_fetch_add(&L.too_many, 1);
				sleep(r.retry_after > 0 ? (unsigned)r.retry_after : 1);
			}
			else if(r.status >= 500) {
				atomic_fetch_add(&L.unavailable, 1);
				sleep(r.retry_after > 0 ? (unsigned)r.retry_after : 1);
			}
			else if(!r.status) {
				atomic_fetch_add(&L.refused, 1);
				pthread_mutex_lock(&L.lock);
				if(!*L.first_error)
					snprintf(L.first_error, sizeof(L.first_error), "%s", r.error);
				snprintf(L.last_error, sizeof(L.last_error), "%s", r.error);
				pthread_mutex_unlock(&L.lock);
				nanosleep(&brief, NULL);
			}
			else {
				/* a 4xx would be a bug here: count it, never retry it */
				atomic_fetch_add(&L.other, 1);
				fprintf(stderr, "serve_load: %s: HTTP %ld %s\n", id, r.status, r.body);
				attempt = MAX_ATTEMPTS;
			}
			st_reply_release(&r);
		}
		free(body);
		if(!ok) {
			atomic_fetch_add(&L.lost, 1);
			atomic_fetch_add(&L.done, 1);
			continue;
		}
		/* the platform delivers it again, after the first was answered */
		if(e % 2 == 0)
			give(e + 1);
		atomic_fetch_add(&L.done, 1);
	}
	return NULL;
}

static int start_server(void)
{
	static const char *const args[] = { "serve", NULL };
	const char *set[] = { "IMGPIPE_VARIANTS=thumb=64x64,fit=cover;medium=120x,format=webp",
		"IMGPIPE_DEST_BUCKET=" DST, "IMGPIPE_SOURCE_BUCKET=" SRC,
		"IMGPIPE_SERVE_CONCURRENCY=" CAP, NULL };
	int port = st_start(&fx, "imgpipe", args, set);

	cr_assert_gt(port, 0, "%s", fx.error);
	return port;
}

/* Every server's stdout, one after another (a new one truncates the file). */
struct logs {
	char *all;
	char *last;                 /* the last server's, and its stderr */
	char *last_err;
};

static void collect(struct logs *g)
{
	char *out = fx_read_stdout(&fx), *joined;

	free(g->last);
	free(g->last_err);
	g->last = out;
	g->last_err = fx_read_stderr(&fx);
	cr_assert(asprintf(&joined, "%s%s\n", g->all ? g->all : "", out) > 0);
	free(g->all);
	g->all = joined;
}

/* Stop the server with sig as a platform does, read what it said, and
 * start the next; its exit status, and how long until the next listened. */
static int stop_and_replace(struct logs *g, int sig, double *ms)
{
	double t0 = rtemu_now_ms();
	int status;

	cr_assert_eq(kill(fx.child, sig), 0);
	status = fx_wait(&fx, 20000);
	atomic_store(&L.port, 0);
	collect(g);
	atomic_store(&L.port, start_server());
	*ms = rtemu_now_ms() - t0;
	return status;
}

/* Does the server's log say this process sent its SIGTERM? */
static bool sigterm_from_us(const char *log)
{
	char ours[64];

	snprintf(ours, sizeof(ours), "(sent by pid %d)", (int)getpid());
	return strstr(log, "SIGTERM: shutting down") && strstr(log, ours);
}

/* A server that stopped though this test did not stop it: stopped from
 * outside (true), or it crashed, failed a sanitizer or exited by itself. */
static bool stopped_from_outside(int status, const char *log, const char *err)
{
	if(strstr(err, "Sanitizer") || strstr(err, "Fatal error in GNU libmicrohttpd"))
		return false;
	if(status == 128 + SIGKILL || status == 128 + SIGPROF)
		return true;
	return status == 0 && strstr(log, "SIGTERM: shutting down") && !sigterm_from_us(log);
}

static const char *how(int status)
{
	static char text[96];

	if(status > 128)
		snprintf(text, sizeof(text), "killed by %s", strsignal(status - 128));
	else
		snprintf(text, sizeof(text), "exit status %d", status);
	return text;
}

Test(serve_load, two_hundred_events_at_8_against_a_cap_of_2_through_sigterm_and_sigkill)
{
	struct timespec tick = { 0, 20 * 1000000L };
	pthread_t threads[CLIENTS];
	struct logs g = { NULL, NULL, NULL };
	char key[64], term_text[64], kill_text[64];
	int status, rendered = 0, once = 0, skipped = 0, twice = 0, never = 0, outside = 0;
	int crashed = -1;
	bool termed = false, killed = false;
	double put_ms, term_ms = 0, kill_ms = 0, total_ms;

	memset(&L, 0, sizeof(L));
	pthread_mutex_init(&L.lock, NULL);
	put_ms = rtemu_now_ms();
	for(int i = 0; i < UPLOADS; i++) {
		key_of(i, key, sizeof(key));
		cr_assert(fx_put_testdata(&fx, SRC, key, "matrix/quad.jpg", "image/jpeg"), "%s",
		          fx.error);
		L.queue[L.tail++] = 2 * i;
	}
	put_ms = rtemu_now_ms() - put_ms;
	atomic_store(&L.port, start_server());
	L.t0 = rtemu_now_ms();
	for(int i = 0; i < CLIENTS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, client, NULL), 0);

	/* the platform's side: stop the server twice, replace it each time */
	while(atomic_load(&L.done) < EVENTS && rtemu_now_ms() - L.t0 < DEADLINE_MS) {
		status = fx_wait(&fx, 0);
		if(status >= 0) {
			/* it stopped, and not because of this test */
			atomic_store(&L.port, 0);
			collect(&g);
			if(!stopped_from_outside(status, g.last, g.last_err) || ++outside > OUTSIDE_STOPS) {
				crashed = status;
				break;
			}
			fprintf(stderr, "serve_load: the server was stopped from outside after %d events "
			        "(%s); its log ends: %s\nits stderr ends: %s\nserve_load: a new server "
			        "takes over, as a platform's would\n", atomic_load(&L.done), how(status),
			        tu_tail(g.last, 1500), tu_tail(g.last_err, 1000));
			atomic_store(&L.port, start_server());
			continue;
		}
		if(!termed && atomic_load(&L.done) >= SIGTERM_AFTER) {
			termed = true;
			status = stop_and_replace(&g, SIGTERM, &term_ms);
			cr_assert_eq(status, 0, "the server exited %d after SIGTERM; its stderr ends: %s",
			             status, tu_tail(g.last_err, 2000));
			cr_assert(sigterm_from_us(g.last), "the log says this test sent SIGTERM: %s",
			          tu_tail(g.last, 2000));
		}
		else if(!killed && atomic_load(&L.done) >= SIGKILL_AFTER) {
			killed = true;
			status = stop_and_replace(&g, SIGKILL, &kill_ms);
			cr_assert_eq(status, 128 + SIGKILL, "%s", how(status));
		}
		nanosleep(&tick, NULL);
	}
	atomic_store(&L.gone, true);
	for(int i = 0; i < CLIENTS; i++)
		pthread_join(threads[i], NULL);
	total_ms = rtemu_now_ms() - L.t0;
	snprintf(term_text, sizeof(term_text), "a new server %.0f ms later", term_ms);
	snprintf(kill_text, sizeof(kill_text), "a new server %.0f ms later", kill_ms);
	if(crashed < 0) {
		/* the last server: still up, its log read while it is */
		collect(&g);
		status = fx_wait(&fx, 0);
		cr_assert_eq(status, -1, "the last server exited (%s) when its work was done; its "
		             "stderr ends: %s", how(status), tu_tail(g.last_err, 2000));
	}

	for(int i = 0; i < UPLOADS; i++) {
		int lines, written;

		key_of(i, key, sizeof(key));
		st_job_lines(g.all, key, &lines, &written);
		rendered += written;
		skipped += lines - written;
		once += written == 1;
		twice += written > 1;
		never += written == 0;
	}
	fprintf(stderr, "serve_load: %d events by %d clients against a cap of %s in %.1f s "
	        "(%d uploads put in %.1f s): %d attempts, %d answered 429, %d 5xx, %d refused "
	        "connections (first: %s, last: %s), %d lost; SIGTERM after %d done: %s; "
	        "SIGKILL after %d: %s; %d stopped from outside; %d uploads rendered once, %d "
	        "deliveries skipped by the stamp\n",
	        EVENTS, CLIENTS, CAP, total_ms / 1000, UPLOADS, put_ms / 1000,
	        atomic_load(&L.attempts), atomic_load(&L.too_many), atomic_load(&L.unavailable),
	        atomic_load(&L.refused), L.first_error, L.last_error, atomic_load(&L.lost),
	        SIGTERM_AFTER, termed ? term_text : "not reached", SIGKILL_AFTER,
	        killed ? kill_text : "not reached", outside, once, skipped);
	cr_assert_eq(crashed, -1, "the server stopped by itself (%s) after %d events%s; its log "
	             "ends: %s\nits stderr ends: %s", how(crashed), atomic_load(&L.done),
	             outside > OUTSIDE_STOPS ? ", once too often from outside" : "",
	             tu_tail(g.last, 1000), tu_tail(g.last_err, 2000));
	cr_assert(termed && killed, "the run ended before both stops (%d events done in %.1f s)",
	          atomic_load(&L.done), total_ms / 1000);
	cr_assert_eq(atomic_load(&L.lost), 0, "%d events were lost (%d answered 2xx of %d in "
	             "%.1f s)", atomic_load(&L.lost), atomic_load(&L.done) - atomic_load(&L.lost),
	             EVENTS, total_ms / 1000);
	cr_assert_eq(atomic_load(&L.done), EVENTS, "only %d of %d events were done in %.1f s",
	             atomic_load(&L.done), EVENTS, total_ms / 1000);
	cr_assert_eq(atomic_load(&L.other), 0, "%d events got a 4xx", atomic_load(&L.other));
	cr_assert_eq(twice, 0, "%d uploads were rendered more than once", twice);
	cr_assert_eq(never, 0, "%d uploads were never rendered", never);
	cr_assert_eq(rendered, UPLOADS);
	cr_assert_geq(skipped, UPLOADS, "every redelivery skipped by the stamp (%d)", skipped);
	/* the cap was really reached, and the client really waited */
	cr_assert_gt(atomic_load(&L.too_many), 0, "8 clients against a cap of 2 got no 429");
	free(g.all);
	free(g.last);
	free(g.last_err);
}
