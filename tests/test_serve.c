/*
 * test_serve.c: `imgpipe serve` end to end, with real parts only: s3rver on
 * 127.0.0.1 (SigV4 checked), the real `imgpipe serve` process talking S3
 * to it, and libcurl posting events as Eventarc, Pub/Sub, Knative, MinIO
 * and Ceph RGW post them, each made from an object that is in s3rver.
 * Every test starts its own s3rver and server (fixture.h); teardown kills
 * and reaps the child.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "lib/fixture.h"
#include "lib/rtemu.h"
#include "lib/s3test.h"
#include "lib/servetest.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"
/* landscape.jpg (3000x2000) gives thumb 160x160 and medium 400x267 */
#define VARIANTS "thumb=160x160,fit=cover;medium=400x,format=webp"

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(serve, buckets, false, .timeout = 120);

/* Start the server with the test variants and DST, then env. */
static int start(const char *const *env)
{
	const char *set[24] = { "IMGPIPE_VARIANTS=" VARIANTS, "IMGPIPE_DEST_BUCKET=" DST,
	                        "IMGPIPE_SOURCE_BUCKET=" SRC };
	size_t n = 3;
	static const char *const args[] = { "serve", NULL };
	int port;

	for(; env && *env && n < 23; env++)
		set[n++] = *env;
	port = st_start(&fx, "imgpipe", args, set);
	cr_assert_gt(port, 0, "%s", fx.error);
	return port;
}

/*
 * Start serve with its S3 through the fault proxy: fault on every request
 * whose line holds match, the others forwarded; extra (may be NULL) one
 * more variable.
 */
static int start_behind_proxy(enum fault fault, const char *match, const char *extra)
{
	static char endpoint[96];
	const char *env[3] = { endpoint, extra, NULL };

	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, fault, -1, match));
	snprintf(endpoint, sizeof(endpoint), "AWS_ENDPOINT_URL_S3=http://127.0.0.1:%d", fx.proxy.port);
	return start(env);
}

static void put(const char *key, const char *rel)
{
	cr_assert(fx_put_testdata(&fx, SRC, key, rel, "image/jpeg"), "%s", fx.error);
}

static json_t *json_of(const struct st_reply *r)
{
	json_t *doc = json_loads(r->body, 0, NULL);

	cr_assert_not_null(doc, "not JSON (HTTP %ld): %s", r->status, r->body);
	return doc;
}

/* results[0] of a 200 reply: its status; the outcome into *outcome. */
static const char *result_status(json_t *doc, const char **outcome)
{
	json_t *r = json_array_get(json_object_get(doc, "results"), 0);

	*outcome = json_string_value(json_object_get(doc, "outcome"));
	cr_assert_not_null(r, "no results[0]: %s", json_dumps(doc, JSON_COMPACT));
	return json_string_value(json_object_get(r, "status"));
}

/* DST/key is there, decodes to w x h, and carries source (and version). */
static void check_variant(const char *key, const char *source, int w, int h,
                          const char *version)
{
	struct imgp_object o;
	struct imgp_store_error e;
	VipsImage *im;

	cr_assert_eq(imgp_store_get(fx.st, DST, key, 64 << 20, &o, &e), IMGP_OK, "get %s: %s",
	             key, e.msg);
	im = tu_decode(o.data, o.len);
	cr_assert_not_null(im, "%s does not decode", key);
	cr_assert(abs(vips_image_get_width(im) - w) <= 1 && abs(vips_image_get_height(im) - h) <= 1,
	          "%s is %dx%d, not %dx%d", key, vips_image_get_width(im),
	          vips_image_get_height(im), w, h);
	cr_assert_str_eq(imgp_object_meta(&o, "imgpipe-source"), source);
	if(version)
		cr_assert_str_eq(imgp_object_meta(&o, "imgpipe-source-version") ?
		                 imgp_object_meta(&o, "imgpipe-source-version") : "(none)", version,
		                 "%s: the stamp's version", key);
	g_object_unref(im);
	imgp_object_release(&o);
}

static bool count_cb(void *ud, const struct imgp_list_entry *entry)
{
	(*(int *)ud)++;
	return true;
}

static int count_keys(const char *bucket)
{
	struct imgp_store_error e;
	int n = 0;

	cr_assert_eq(imgp_store_list(fx.st, bucket, NULL, count_cb, &n, &e), IMGP_OK, "%s", e.msg);
	return n;
}

/* ---- 1. every shape, the same job ------------------------------------------ */

Test(serve, every_event_shape_writes_the_variants)
{
	static const struct {
		const char *key, *stem, *shape, *version, *stamped;
	} cases[] = {
		{ "ce/binary.jpg", "ce/binary", "cloudevent-binary", "1712000000000001", NULL },
		{ "ce/structured.jpg", "ce/structured", "cloudevent-structured", "1712000000000002", NULL },
		{ "pubsub/push one.jpg", "pubsub/push one", "pubsub", "1712000000000003", NULL },
		{ "minio/a b+c.jpg", "minio/a b+c", "minio", NULL, NULL },
		/* the stamp keeps a '%' as %25 (job.c's meta_encode) */
		{ "ceph/a+b %c.jpg", "ceph/a+b %c", "ceph", NULL, "ceph/a+b %25c.jpg" },
		{ "s3/x (1).jpg", "s3/x (1)", "s3", NULL, NULL },
		{ "direct/d.jpg", "direct/d", "direct", NULL, NULL },
	};
	int port;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		put(cases[i].key, "samples/landscape.jpg");
	port = start(NULL);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *shape = cases[i].shape, *outcome, *status;
		const char *h[8];
		char *body = NULL, idbuf[96], name[300];
		struct st_reply r;
		json_t *doc;

		if(!strcmp(shape, "cloudevent-binary")) {
			st_binary_headers("google.cloud.storage.object.v1.finalized", "ce-bin-1", h, idbuf);
			body = st_gcs_object(&fx, SRC, cases[i].key, cases[i].version);
			st_post(port, h, body, &r);
		}
		else {
			if(!strcmp(shape, "cloudevent-structured"))
				body = st_cloudevent(&fx, SRC, cases[i].key, cases[i].version, "ce-str-1");
			else if(!strcmp(shape, "pubsub"))
				body = st_pubsub_push(&fx, SRC, cases[i].key, cases[i].version,
				                      "OBJECT_FINALIZE", "ps-1");
			else if(!strcmp(shape, "minio"))
				body = st_minio_event(&fx, SRC, cases[i].key);
			else if(!strcmp(shape, "ceph"))
				body = st_ceph_event(&fx, SRC, cases[i].key);
			else if(!strcmp(shape, "s3"))
				body = st_s3_event(&fx, SRC, cases[i].key);
			else {
				json_t *d = json_pack("{s:s, s:s}", "bucket", SRC, "key", cases[i].key);
				body = json_dumps(d, JSON_COMPACT);
				json_decref(d);
			}
			st_post(port, NULL, body, &r);
		}
		cr_assert_eq(r.status, 200, "%s: HTTP %ld %s %s", shape, r.status, r.error, r.body);
		doc = json_of(&r);
		status = result_status(doc, &outcome);
		cr_assert_str_eq(status, "OK", "%s: %s", shape, r.body);
		cr_assert_str_eq(outcome, "done", "%s: %s", shape, r.body);
		snprintf(name, sizeof(name), "thumb/%s.jpg", cases[i].stem);
		check_variant(name, cases[i].stamped ? cases[i].stamped : cases[i].key, 160, 160,
		              cases[i].version);
		snprintf(name, sizeof(name), "medium/%s.webp", cases[i].stem);
		check_variant(name, cases[i].stamped ? cases[i].stamped : cases[i].key, 400, 267,
		              cases[i].version);
		json_decref(doc);
		st_reply_release(&r);
		free(body);
	}
	{
		char *log = fx_read_stdout(&fx);
		/* one JSON line per source, with Cloud Logging's severity */
		cr_assert(strstr(log, "\"Trigger\":\"cloudevents\"") && strstr(log, "\"Trigger\":\"pubsub\""),
		          "%s", log);
		cr_assert(strstr(log, "\"severity\":\"INFO\""), "%s", log);
		free(log);
	}
}

/* ---- 2. the generation is the stamp ------------------------------------------ */

Test(serve, the_gcs_generation_is_the_idempotency_stamp)
{
	const char *gens[] = { "100", "100", "101" };
	const int want_written[] = { 1, 1, 2 };
	int port, lines, written;

	put("gen/a.jpg", "samples/landscape.jpg");
	port = start(NULL);
	for(int i = 0; i < 3; i++) {
		char *body = st_cloudevent(&fx, SRC, "gen/a.jpg", gens[i], "g"), *log;
		struct st_reply r;

		cr_assert_eq(st_post(port, NULL, body, &r), 200, "%s", r.body);
		log = fx_read_stdout(&fx);
		st_job_lines(log, "gen/a.jpg", &lines, &written);
		cr_assert_eq(lines, i + 1);
		cr_assert_eq(written, want_written[i], "delivery %d of generation %s: %d renders; "
		             "reply %s", i + 1, gens[i], written, r.body);
		if(i == 1)
			cr_assert(strstr(r.body, "already done for this version"), "%s", r.body);
		free(log);
		free(body);
		st_reply_release(&r);
	}
	check_variant("thumb/gen/a.jpg", "gen/a.jpg", 160, 160, "101");
}

/*
 * Cloud Storage sends "deleted" for every overwritten generation, not
 * always before the new "finalized": the live image's variants stay. Only
 * when the object is really gone do they go.
 */
Test(serve, a_deleted_old_generation_keeps_the_live_variants)
{
	const char *env[] = { "IMGPIPE_ON_DELETE=delete", NULL };
	char *body, *old, *live, *at;
	struct imgp_store_error e;
	struct st_reply r;
	int port;

	put("ow/a.jpg", "samples/landscape.jpg");
	port = start(env);
	body = st_cloudevent(&fx, SRC, "ow/a.jpg", "2", "f2");
	old = st_cloudevent(&fx, SRC, "ow/a.jpg", "1", "d1");
	live = st_cloudevent(&fx, SRC, "ow/a.jpg", "2", "d2");
	for(char *const *ev = (char *const[]){ old, live, NULL }; *ev; ev++) {
		cr_assert((at = strstr(*ev, ".finalized")));
		memcpy(at, ".deleted\",", 9);
		memmove(at + 8, at + 10, strlen(at + 10) + 1);
	}
	cr_assert_eq(st_post(port, NULL, body, &r), 200, "%s", r.body);
	st_reply_release(&r);
	cr_assert_eq(count_keys(DST), 3);

	/* generation 1's removal: the source is there, the variants are of 2 */
	cr_assert_eq(st_post(port, NULL, old, &r), 200, "%s", r.body);
	cr_assert(strstr(r.body, "skipped: the source is still there"), "%s", r.body);
	st_reply_release(&r);
	cr_assert_eq(count_keys(DST), 3, "the live image's variants were deleted");
	check_variant("thumb/ow/a.jpg", "ow/a.jpg", 160, 160, "2");

	/* the object really goes: its variants and manifest with it */
	cr_assert_eq(imgp_store_delete(fx.st, SRC, "ow/a.jpg", &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq(st_post(port, NULL, live, &r), 200, "%s", r.body);
	cr_assert(strstr(r.body, "source removed; 2 variants deleted"), "%s", r.body);
	st_reply_release(&r);
	cr_assert_eq(count_keys(DST), 0);
	free(body);
	free(old);
	free(live);
}

/* Found in review: an event id that is not UTF-8 (a Latin-1 ce-id) made
 * the finished answer fail to build, 503, redelivered for ever. */
Test(serve, an_event_id_that_is_not_utf8_is_answered_done)
{
	const char *h[8];
	char idbuf[96], *body;
	struct st_reply r;
	int port;

	put("id/a.jpg", "samples/landscape.jpg");
	port = start(NULL);
	st_binary_headers("google.cloud.storage.object.v1.finalized", "caf\xe9-1", h, idbuf);
	body = st_gcs_object(&fx, SRC, "id/a.jpg", "7");
	cr_assert_eq(st_post(port, h, body, &r), 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"done\""), "%s", r.body);
	cr_assert(strstr(r.body, "\"request_id\":\"caf?-1\""), "%s", r.body);
	st_reply_release(&r);
	free(body);
}

/* ---- 3. a corrupt image is done with, not retried --------------------------------- */

Test(serve, a_corrupt_image_is_200_failed_for_good)
{
	struct st_reply r;
	const char *outcome;
	char *body;
	json_t *doc;
	int port;

	put("bad/corrupt.jpg", "bad/truncated.jpg");
	port = start(NULL);
	body = st_pubsub_push(&fx, SRC, "bad/corrupt.jpg", "7", "OBJECT_FINALIZE", "ps-bad");
	cr_assert_eq(st_post(port, NULL, body, &r), 200, "HTTP %ld: %s", r.status, r.body);
	doc = json_of(&r);
	cr_assert_str_neq(result_status(doc, &outcome), "OK");
	cr_assert_str_eq(outcome, "failed", "%s", r.body);
	cr_assert_eq(count_keys(DST), 0, "something was written for a corrupt image");
	json_decref(doc);
	free(body);
	st_reply_release(&r);
}

/* ---- 4. bad requests ---------------------------------------------------------------- */

Test(serve, bad_requests_are_clear_4xx_write_nothing_and_the_server_goes_on)
{
	static const char *const env[] = { "IMGPIPE_SERVE_TOKEN=s3cr3t-token",
	                                   "IMGPIPE_SERVE_MAX_BODY=65536", NULL };
	const char *auth[] = { "Authorization: Bearer s3cr3t-token",
	                       "Content-Type: application/json", NULL };
	const char *wrong[] = { "Authorization: Bearer s3cr3t-tokex", NULL };
	const char *basic[] = { "Authorization: Basic czNjcjN0LXRva2Vu", NULL };
	const char *ce_unknown[] = { "Authorization: Bearer s3cr3t-token", "ce-specversion: 1.0",
	                             "ce-type: com.example.unknown", "ce-id: 1",
	                             "ce-source: //example", "Content-Type: application/json", NULL };
	char *huge = malloc(200000), *pubsub_bad, *good;
	struct {
		const char *what, *method, *path;
		const char *const *headers;
		const char *body;
		long status;
		const char *words;
	} cases[] = {
		{ "no token", "POST", "/", NULL, "{\"bucket\":\"" SRC "\",\"key\":\"k.jpg\"}", 401,
		  "Authorization: Bearer" },
		{ "a wrong token", "POST", "/", wrong, "{}", 401, "IMGPIPE_SERVE_TOKEN" },
		{ "basic auth", "POST", "/", basic, "{}", 401, "IMGPIPE_SERVE_TOKEN" },
		{ "not JSON", "POST", "/", auth, "{\"bucket\": uploads", 400, "not valid JSON" },
		{ "an unknown shape", "POST", "/", auth, "{\"hello\":\"world\"}", 400,
		  "unrecognised event: an object with key \"hello\"" },
		{ "an unknown CloudEvent type", "POST", "/", ce_unknown, "{\"x\":1}", 400,
		  "unknown CloudEvent type \"com.example.unknown\"" },
		{ "a Pub/Sub push of something else", "POST", "/", auth, NULL, 400,
		  "without the attribute \"eventType\"" },
		{ "a huge body", "POST", "/", auth, NULL, 413, "over 65536 (IMGPIPE_SERVE_MAX_BODY)" },
		{ "another path", "POST", "/events", auth, "{}", 404, "no such path" },
		{ "another method", "PUT", "/", auth, "{}", 405, "POSTed to /" },
		{ "an empty body", "POST", "/", auth, "", 400, "not valid JSON" },
	};
	int port;

	cr_assert_not_null(huge);
	memset(huge, ' ', 199999);
	huge[0] = '[';
	huge[199998] = ']';
	huge[199999] = '\0';
	pubsub_bad = strdup("{\"message\":{\"attributes\":{\"kind\":\"other\"},\"data\":\"e30=\","
	                    "\"messageId\":\"1\"},\"subscription\":\"s\"}");
	cases[6].body = pubsub_bad;
	cases[7].body = huge;
	put("ok/k.jpg", "samples/landscape.jpg");
	port = start(env);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct st_reply r;
		json_t *doc;
		const char *error;

		st_request(port, cases[i].method, cases[i].path, cases[i].headers, cases[i].body,
		           cases[i].body ? strlen(cases[i].body) : 0, 30000, &r);
		cr_assert_eq(r.status, cases[i].status, "%s: HTTP %ld (%s), not %ld: %s", cases[i].what,
		             r.status, r.error, cases[i].status, r.body);
		doc = json_of(&r);
		error = json_string_value(json_object_get(doc, "error"));
		cr_assert(error && strstr(error, cases[i].words), "%s: the error says \"%s\", not "
		          "\"%s\"", cases[i].what, error ? error : "", cases[i].words);
		json_decref(doc);
		st_reply_release(&r);
	}
	cr_assert_eq(count_keys(DST), 0, "a refused request wrote something");
	/* and it goes on serving */
	{
		struct st_reply r;
		json_t *d = json_pack("{s:s, s:s}", "bucket", SRC, "key", "ok/k.jpg");

		good = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		cr_assert_eq(st_request(port, "GET", "/healthz", NULL, NULL, 0, 5000, &r), 200);
		st_reply_release(&r);
		cr_assert_eq(st_post(port, auth, good, &r), 200, "HTTP %ld: %s", r.status, r.body);
		cr_assert(strstr(r.body, "\"outcome\":\"done\""), "%s", r.body);
		st_reply_release(&r);
		free(good);
	}
	check_variant("thumb/ok/k.jpg", "ok/k.jpg", 160, 160, NULL);
	free(huge);
	free(pubsub_bad);
}

/* ---- 5. temporary failures and the deadline ---------------------------------------- */

Test(serve, a_temporary_failure_is_503_and_the_redelivery_is_done)
{
	char *body;
	struct st_reply r;
	int port;

	put("tmp/a.jpg", "samples/landscape.jpg");
	/* every GET of the source answers 500 until the test heals it */
	port = start_behind_proxy(FAULT_500, "GET /" SRC "/tmp/", "IMGPIPE_SERVE_TIMEOUT=4");
	body = st_cloudevent(&fx, SRC, "tmp/a.jpg", "5", "tmp-1");
	st_post(port, NULL, body, &r);
	cr_assert_eq(r.status, 503, "HTTP %ld: %s", r.status, r.body);
	cr_assert_eq(r.retry_after, 1, "Retry-After %ld", r.retry_after);
	cr_assert(r.ms < 4000 + 2500, "the answer took %.0f ms, past IMGPIPE_SERVE_TIMEOUT", r.ms);
	cr_assert(strstr(r.body, "tmp/a.jpg"), "the error names the object: %s", r.body);
	cr_assert_eq(count_keys(DST), 0);
	st_reply_release(&r);
	atomic_store(&fx.proxy.faults_left, 0);
	cr_assert_eq(st_post(port, NULL, body, &r), 200, "HTTP %ld: %s", r.status, r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"done\""), "%s", r.body);
	st_reply_release(&r);
	free(body);
}

/* ---- 6. the image's entrypoint ------------------------------------------------------ */

Test(serve, imgpipe_lambda_with_PORT_and_no_runtime_api_serves)
{
	static const char *const args[] = { "lambda", NULL };
	const char *set[] = { "IMGPIPE_VARIANTS=" VARIANTS, "IMGPIPE_DEST_BUCKET=" DST, NULL };
	struct st_reply r;
	int port = st_start(&fx, "imgpipe", args, set);

	cr_assert_gt(port, 0, "%s", fx.error);
	cr_assert_eq(st_request(port, "GET", "/healthz", NULL, NULL, 0, 5000, &r), 200, "%s", r.error);
	st_reply_release(&r);
}

/* ---- 7. SIGTERM ---------------------------------------------------------------------- */

struct inflight {
	int port;
	char *body;
	struct st_reply r;
};

static void *post_thread(void *arg)
{
	struct inflight *in = arg;

	st_post(in->port, NULL, in->body, &in->r);
	return NULL;
}

/* Wait until the proxy has seen n requests matching its pattern. */
static void wait_matched(int n)
{
	struct timespec tick = { 0, 10 * 1000000L };

	for(int i = 0; i < 2000 && atomic_load(&fx.proxy.matched) < n; i++)
		nanosleep(&tick, NULL);
	cr_assert_geq(atomic_load(&fx.proxy.matched), n, "the event never reached S3");
}

Test(serve, sigterm_lets_work_in_flight_finish_and_refuses_new_work)
{
	struct inflight in;
	struct st_reply late;
	pthread_t t;
	int port, status;
	char *log;

	put("slow/logo.png", "samples/logo.png");
	/* the source trickles in, 512 bytes per 20 ms: about half a second */
	port = start_behind_proxy(FAULT_TRICKLE, "GET /" SRC "/slow/", NULL);
	in.port = port;
	in.body = st_cloudevent(&fx, SRC, "slow/logo.png", "9", "slow-1");
	cr_assert_eq(pthread_create(&t, NULL, post_thread, &in), 0);
	wait_matched(1);
	cr_assert_eq(kill(fx.child, SIGTERM), 0);
	usleep(100 * 1000);
	/* refused once draining, by a server still there: 503, and /healthz
	 * says 503 too (a closed port would read as a crash) */
	st_post(port, NULL, in.body, &late);
	cr_assert_eq(late.status, 503, "a request after SIGTERM: HTTP %ld %s", late.status,
	             late.body);
	st_reply_release(&late);
	cr_assert_eq(st_request(port, "GET", "/healthz", NULL, NULL, 0, 5000, &late), 503,
	             "/healthz after SIGTERM: HTTP %ld %s", late.status, late.error);
	st_reply_release(&late);
	cr_assert_eq(st_request(port, "GET", "/", NULL, NULL, 0, 5000, &late), 405);
	cr_assert(strstr(late.body, "\"status\":\"UsageError\""), "%s", late.body);
	st_reply_release(&late);
	pthread_join(t, NULL);
	cr_assert_eq(in.r.status, 200, "the event in flight: HTTP %ld %s %s", in.r.status,
	             in.r.error, in.r.body);
	cr_assert(strstr(in.r.body, "\"outcome\":\"done\""), "%s", in.r.body);
	status = fx_wait(&fx, 15000);
	cr_assert_eq(status, 0, "imgpipe serve exited %d after SIGTERM", status);
	log = fx_read_stdout(&fx);
	cr_assert(strstr(log, "SIGTERM: shutting down; 1 event at work"), "%s", log);
	free(log);
	cr_assert_geq(count_keys(DST), 2, "the variants of the event in flight");
	st_reply_release(&in.r);
	free(in.body);
}

Test(serve, sigterm_past_the_grace_answers_503_and_exits_0)
{
	struct inflight in;
	pthread_t t;
	int port, status;
	double t0;

	put("slower/big.jpg", "samples/landscape.jpg");
	/* 1.2 MB at 512 bytes per 20 ms: far longer than the grace */
	port = start_behind_proxy(FAULT_TRICKLE, "GET /" SRC "/slower/", "IMGPIPE_SERVE_GRACE=1");
	in.port = port;
	in.body = st_cloudevent(&fx, SRC, "slower/big.jpg", "3", "slower-1");
	cr_assert_eq(pthread_create(&t, NULL, post_thread, &in), 0);
	wait_matched(1);
	t0 = rtemu_now_ms();
	cr_assert_eq(kill(fx.child, SIGTERM), 0);
	pthread_join(t, NULL);
	cr_assert_eq(in.r.status, 503, "HTTP %ld %s %s", in.r.status, in.r.error, in.r.body);
	cr_assert(strstr(in.r.body, "shutting down before the event was done"), "%s", in.r.body);
	status = fx_wait(&fx, 10000);
	cr_assert_eq(status, 0, "imgpipe serve exited %d", status);
	cr_assert(rtemu_now_ms() - t0 < 4000, "it took %.0f ms to stop with a 1 s grace",
	          rtemu_now_ms() - t0);
	st_reply_release(&in.r);
	free(in.body);
}
