/*
 * test_faults.c: network faults during whole handler runs. The real
 * `imgpipe lambda` talks S3 through the loopback fault proxy of s3test.h
 * (in front of s3rver) while the Runtime API emulator feeds it events:
 * resets half way through a GET's answer and through a PUT's body, slow
 * trickles, 500s on one variant's PUT only. What must hold: nothing is
 * reported done unless every variant was written, and what failed comes
 * back for retry (an /error for an S3 event, batchItemFailures for SQS).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "lib/rtemu.h"
#include "lib/events.h"
#include "lib/fixture.h"
#include "lib/s3test.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(faults, buckets, true, .timeout = 180);

static void put_testdata(const char *key, const char *rel)
{
	cr_assert(fx_put_testdata(&fx, SRC, key, rel, "image/jpeg"), "%s", fx.error);
}

static bool exists(const char *bucket, const char *key)
{
	struct imgp_object o;
	struct imgp_store_error e;
	enum imgp_status got;

	imgp_object_init(&o);
	got = imgp_store_head(fx.st, bucket, key, &o, &e);
	imgp_object_release(&o);
	cr_assert(!got || got == IMGP_E_NOT_FOUND, "head %s: %s", key, e.msg);
	return !got;
}

/* `imgpipe lambda` whose S3 is the proxy (the fixture's endpoint while
 * one runs); two variants, two job threads. */
static void start_lambda(void)
{
	static const char *const args[] = { "lambda", NULL };
	static const char *const set[] = {
		"IMGPIPE_VARIANTS=thumb=160x160,fit=cover;medium=400x,format=webp",
		"IMGPIPE_DEST_BUCKET=" DST, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=3538", NULL };

	cr_assert(fx.proxy.fd >= 0, "start the proxy first");
	cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
	cr_assert_eq(rtemu_wait_nexts(fx.emu, 1, 30000), 0, "no /next from imgpipe lambda");
}

static char *s3_body(const char *key)
{
	return tu_s3_event(&(struct tu_object){ SRC, key, NULL, -1 }, 1);
}

/* An SQS batch: message "m0", "m1", ... carrying an S3 notification of keys[i]. */
static char *sqs_body(const char *const *keys, size_t n)
{
	char *bodies[8], ids[8][32], *text;
	const char *idp[8];

	cr_assert_leq(n, 8);
	for(size_t i = 0; i < n; i++) {
		bodies[i] = s3_body(keys[i]);
		cr_assert_not_null(bodies[i]);
		snprintf(ids[i], sizeof(ids[i]), "m%zu", i);
		idp[i] = ids[i];
	}
	text = tu_sqs_event(idp, (const char *const *)bodies, n);
	for(size_t i = 0; i < n; i++)
		free(bodies[i]);
	return text;
}

static void invoke(char *event, struct rtemu_result *r)
{
	char id[RTEMU_ID_SIZE];

	cr_assert_eq(rtemu_push(fx.emu, event, strlen(event), 120000, NULL, id), 0);
	cr_assert_eq(rtemu_wait(fx.emu, id, 150000, r), 0, "no outcome");
	free(event);
}

/* The S3 event's reply: OK with both variants, or an /error whose type is
 * temporary, with no OK reported. */
static void assert_done(const struct rtemu_result *r, const char *stem)
{
	char thumb[128], medium[128];

	cr_assert_eq(r->kind, RTEMU_RESPONSE, "%s %s", r->error_type ? r->error_type : "", r->body);
	cr_assert(strstr(r->body, "\"status\":\"OK\""), "%s", r->body);
	snprintf(thumb, sizeof(thumb), "thumb/%s.jpg", stem);
	snprintf(medium, sizeof(medium), "medium/%s.webp", stem);
	cr_assert(exists(DST, thumb) && exists(DST, medium), "reported done, a variant missing");
}

static void assert_retry(const struct rtemu_result *r, const char *type)
{
	cr_assert_eq(r->kind, RTEMU_ERROR, "not an /error: %s", r->body);
	cr_assert_str_eq(r->error_type, type, "%s", r->body);
	cr_assert_null(strstr(r->body, "\"OK\""), "%s", r->body);
}

Test(faults, get_reset_mid_body_then_retried_writes_everything)
{
	struct rtemu_result r;

	put_testdata("a/photo.jpg", "samples/landscape.jpg");
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_RESET_RESPONSE_BODY, 2,
	                            "GET /" SRC "/a/photo.jpg"));
	start_lambda();
	invoke(s3_body("a/photo.jpg"), &r);
	assert_done(&r, "a/photo");
	cr_assert_geq(atomic_load(&fx.proxy.matched), 3, "the GET was not retried");
	rtemu_result_release(&r);
}

Test(faults, get_reset_every_time_comes_back_for_retry)
{
	struct rtemu_result r;

	put_testdata("a/photo.jpg", "samples/landscape.jpg");
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_RESET_RESPONSE_BODY, -1,
	                            "GET /" SRC "/"));
	start_lambda();
	invoke(s3_body("a/photo.jpg"), &r);
	assert_retry(&r, "NetworkError");
	cr_assert_not(exists(DST, "thumb/a/photo.jpg") || exists(DST, "medium/a/photo.webp"));
	rtemu_result_release(&r);
}

Test(faults, put_reset_mid_body_on_one_variant_is_not_done)
{
	const char *keys[] = { "a/photo.jpg", "b/broken.jpg", "c/other.png" };
	struct rtemu_result r;

	put_testdata("a/photo.jpg", "samples/portrait.jpg");
	put_testdata("b/broken.jpg", "bad/truncated.jpg");
	put_testdata("c/other.png", "samples/logo.png");
	/* every upload of a/photo's medium variant is cut half way */
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_RESET_REQUEST_BODY, -1,
	                            "PUT /" DST "/medium/a/"));
	start_lambda();

	/* S3: the invocation fails as a whole, for Lambda to retry */
	invoke(s3_body("a/photo.jpg"), &r);
	assert_retry(&r, "NetworkError");
	cr_assert_not(exists(DST, "medium/a/photo.webp"));
	rtemu_result_release(&r);

	/* SQS: only that message comes back; the corrupt one is permanent and
	 * the good one done */
	invoke(sqs_body(keys, 3), &r);
	cr_assert_eq(r.kind, RTEMU_RESPONSE, "%s", r.body);
	cr_assert(strstr(r.body, "{\"batchItemFailures\":[{\"itemIdentifier\":\"m0\"}]}"),
	          "%s", r.body);
	cr_assert(exists(DST, "thumb/c/other.jpg") || exists(DST, "thumb/c/other.webp"));
	cr_assert(exists(DST, "medium/c/other.webp"));
	rtemu_result_release(&r);
}

Test(faults, put_500_on_one_variant_only_sometimes_then_done)
{
	struct rtemu_result r;

	put_testdata("a/photo.jpg", "samples/portrait.jpg");
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_500, 2, "PUT /" DST "/thumb/"));
	start_lambda();
	invoke(s3_body("a/photo.jpg"), &r);
	assert_done(&r, "a/photo");
	cr_assert_geq(atomic_load(&fx.proxy.matched), 3);
	rtemu_result_release(&r);
}

Test(faults, put_500_on_one_variant_always_comes_back)
{
	const char *keys[] = { "a/photo.jpg", "d/fine.jpg" };
	struct rtemu_result r;

	put_testdata("a/photo.jpg", "samples/portrait.jpg");
	put_testdata("d/fine.jpg", "orient/orient-6.jpg");
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_500, -1, "PUT /" DST "/thumb/a/"));
	start_lambda();
	invoke(s3_body("a/photo.jpg"), &r);
	assert_retry(&r, "ServerError");
	cr_assert_not(exists(DST, "thumb/a/photo.jpg"));
	rtemu_result_release(&r);

	invoke(sqs_body(keys, 2), &r);
	cr_assert_eq(r.kind, RTEMU_RESPONSE, "%s", r.body);
	cr_assert(strstr(r.body, "{\"batchItemFailures\":[{\"itemIdentifier\":\"m0\"}]}"),
	          "%s", r.body);
	cr_assert(exists(DST, "thumb/d/fine.jpg") && exists(DST, "medium/d/fine.webp"));
	rtemu_result_release(&r);
}

Test(faults, slow_trickles_still_finish)
{
	struct rtemu_result r;

	/* 40 kB in 512-byte steps every 20 ms: about 1.6 s for the source */
	put_testdata("t/gps.jpg", "meta/exif-gps.jpg");
	cr_assert(proxy_start_match(&fx.proxy, fx.srv.port, FAULT_TRICKLE, -1, " /"));
	start_lambda();
	invoke(s3_body("t/gps.jpg"), &r);
	assert_done(&r, "t/gps");
	rtemu_result_release(&r);
}
