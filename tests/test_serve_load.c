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
 * In the end every upload was rendered exactly once (one log line that
 * wrote variants, across both servers' logs), every redelivery was skipped
 * by the stamp, and no event was lost.
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
#define SIGTERM_AFTER 60            /* events done before the restart */
#define MAX_ATTEMPTS 200            /* per event: the loop is bounded */
#define DEADLINE_MS 150000          /* the whole run */

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(serve_load, buckets, false, .timeout = 240);

struct load {
	pthread_mutex_t lock;
	int queue[EVENTS];              /* event = upload * 2 + delivery */
	int head, tail;
	atomic_int port;                /* 0 while no server listens */
	atomic_int done;
	atomic_int too_many, unavailable, refused, other, lost;
	atomic_int attempts;
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

	while(atomic_load(&L.done) < EVENTS && rtemu_now_ms() - L.t0 < DEADLINE_MS) {
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
		while(!ok && attempt++ < MAX_ATTEMPTS && rtemu_now_ms() - L.t0 < DEADLINE_MS) {
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

Test(serve_load, two_hundred_events_at_8_against_a_cap_of_2_with_a_restart)
{
	struct timespec tick = { 0, 20 * 1000000L };
	pthread_t threads[CLIENTS];
	char key[64], *log1, *log2, *all;
	int status, rendered = 0, skipped = 0, twice = 0, never = 0;
	double put_ms, restart_ms, t_term, total_ms;

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

	/* SIGTERM a third of the way in; then a new server */
	while(atomic_load(&L.done) < SIGTERM_AFTER && rtemu_now_ms() - L.t0 < DEADLINE_MS)
		nanosleep(&tick, NULL);
	t_term = rtemu_now_ms();
	cr_assert_eq(kill(fx.child, SIGTERM), 0);
	status = fx_wait(&fx, 20000);
	atomic_store(&L.port, 0);
	cr_assert_eq(status, 0, "the first server exited %d after SIGTERM", status);
	log1 = fx_read_stdout(&fx);
	cr_assert(strstr(log1, "SIGTERM: shutting down"), "%s", log1);
	atomic_store(&L.port, start_server());
	restart_ms = rtemu_now_ms() - t_term;

	for(int i = 0; i < CLIENTS; i++)
		pthread_join(threads[i], NULL);
	total_ms = rtemu_now_ms() - L.t0;
	log2 = fx_read_stdout(&fx);
	cr_assert(asprintf(&all, "%s\n%s", log1, log2) > 0);

	for(int i = 0; i < UPLOADS; i++) {
		int lines, written;

		key_of(i, key, sizeof(key));
		st_job_lines(all, key, &lines, &written);
		rendered += written;
		skipped += lines - written;
		twice += written > 1;
		never += written == 0;
	}
	fprintf(stderr, "serve_load: %d events by %d clients against a cap of %s in %.1f s "
	        "(%d uploads put in %.1f s): %d attempts, %d answered 429, %d 5xx, %d refused "
	        "connections, %d lost; SIGTERM after %d done, the new server listened %.0f ms "
	        "later; %d uploads rendered once, %d deliveries skipped by the stamp\n",
	        EVENTS, CLIENTS, CAP, total_ms / 1000, UPLOADS, put_ms / 1000,
	        atomic_load(&L.attempts), atomic_load(&L.too_many), atomic_load(&L.unavailable),
	        atomic_load(&L.refused), atomic_load(&L.lost), SIGTERM_AFTER, restart_ms,
	        rendered, skipped);
	cr_assert_eq(atomic_load(&L.done), EVENTS, "only %d of %d events were answered 2xx in "
	             "%.0f s", atomic_load(&L.done), EVENTS, total_ms);
	cr_assert_eq(atomic_load(&L.lost), 0, "%d events were lost", atomic_load(&L.lost));
	cr_assert_eq(atomic_load(&L.other), 0, "%d events got a 4xx", atomic_load(&L.other));
	cr_assert_eq(twice, 0, "%d uploads were rendered more than once", twice);
	cr_assert_eq(never, 0, "%d uploads were never rendered", never);
	cr_assert_eq(rendered, UPLOADS);
	cr_assert_geq(skipped, UPLOADS, "every redelivery skipped by the stamp (%d)", skipped);
	/* the cap was really reached, and the client really waited */
	cr_assert_gt(atomic_load(&L.too_many), 0, "8 clients against a cap of 2 got no 429");
	free(log1);
	free(log2);
	free(all);
}
