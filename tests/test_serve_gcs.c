/*
 * test_serve_gcs.c: Cloud Storage without HMAC keys, as on Cloud Run: the
 * service account's OAuth 2.0 token from the metadata server, sent as
 * "Authorization: Bearer" to Cloud Storage's XML API.
 *
 * Two loopback stand-ins: the metadata server (a responder in this
 * process, at GCE_METADATA_HOST, answering only with Metadata-Flavor:
 * Google), and Cloud Storage's XML API as a token's bearer sees it
 * (tests/lib/gcsserver.js: s3rver behind a token check, x-goog-meta-*
 * metadata, x-amz-* ignored). The real `imgpipe serve` runs with no AWS
 * keys at all; the test's own client reads and writes with SigV4, which
 * the stand-in passes to s3rver as it is.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "store.h"
#include "lib/fixture.h"
#include "lib/s3test.h"
#include "lib/servetest.h"
#include "lib/testutil.h"

#define SRC "gcs-uploads"
#define DST "gcs-web"
#define VARIANTS "thumb=160x160,fit=cover;medium=400x,format=webp"

FX_SUITE(serve_gcs, NULL, false, .timeout = 90);

/* ---- the metadata server ----------------------------------------------------- */

static struct {
	atomic_int asked, refused;
	char token[64];
} md;

static void metadata(void *ud, const char *method, const char *path, const char *head,
                     int *status, char *body, size_t size)
{
	atomic_fetch_add(&md.asked, 1);
	if(strcmp(method, "GET") ||
	   strcmp(path, "/computeMetadata/v1/instance/service-accounts/default/token") ||
	   !strcasestr(head, "\nMetadata-Flavor: Google")) {
		atomic_fetch_add(&md.refused, 1);
		*status = 403;
		snprintf(body, size, "{\"error\":\"Missing Metadata-Flavor:Google header\"}");
		return;
	}
	*status = 200;
	snprintf(body, size, "{\"access_token\":\"%s\",\"expires_in\":3599,"
	         "\"token_type\":\"Bearer\"}", md.token);
}

/* ---- the Cloud Storage stand-in ------------------------------------------------ */

/* It runs as the fixture's s3rver (fx.srv), so the fixture stops it and
 * removes its folder at the end of each test. */
static void gcs_start(void)
{
	static const char *const buckets[] = { SRC, DST, NULL };

	setenv("GCS_TOKEN_PREFIX", "ya29.metadata-", 1);
	cr_assert(s3srv_start_script(&fx.srv, "gcsserver.js", buckets),
	          "gcsserver.js did not start");
}

/* The world of one test: both stand-ins, and this process's own S3
 * client on the Cloud Storage stand-in (SigV4, s3rver's keys). */
static void world(const char *token)
{
	char err[IMGP_ERRSIZE];

	snprintf(md.token, sizeof(md.token), "%s", token);
	atomic_store(&md.asked, 0);
	atomic_store(&md.refused, 0);
	cr_assert(responder_start(&fx.proxy, metadata, NULL), "the metadata stand-in");
	gcs_start();
	s3test_env(fx.srv.endpoint);
	cr_assert_eq(imgp_store_open("s3", &fx.st, err), IMGP_OK, "%s", err);
}

static int start_serve(void)
{
	static const char *const args[] = { "serve", NULL };
	char host[64], endpoint[96];
	const char *set[] = {
		"IMGPIPE_VARIANTS=" VARIANTS, "IMGPIPE_DEST_BUCKET=" DST, "IMGPIPE_SOURCE_BUCKET=" SRC,
		/* no keys, no profile: the metadata server's token or nothing */
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", host, endpoint,
		NULL,
	};
	int port;

	snprintf(host, sizeof(host), "GCE_METADATA_HOST=127.0.0.1:%d", fx.proxy.port);
	snprintf(endpoint, sizeof(endpoint), "AWS_ENDPOINT_URL_S3=%s", fx.srv.endpoint);
	port = st_start(&fx, "imgpipe", args, set);
	cr_assert_gt(port, 0, "%s", fx.error);
	return port;
}

static long bearer_requests(void)
{
	struct st_reply r;
	long n;

	st_request(fx.srv.port, "GET", "/__bearer_requests", NULL, NULL, 0, 5000, &r);
	n = atol(r.body);
	st_reply_release(&r);
	return n;
}

/* Post the Cloud Storage CloudEvent (binary mode) of SRC/key. */
static void post_finalized(int port, const char *key, const char *generation,
                           struct st_reply *r)
{
	const char *h[8];
	char idbuf[96], *body = st_gcs_object(&fx, SRC, key, generation);

	st_binary_headers("google.cloud.storage.object.v1.finalized", generation, h, idbuf);
	st_post(port, h, body, r);
	free(body);
}

Test(serve_gcs, the_metadata_servers_token_reads_and_writes_cloud_storage)
{
	struct imgp_object o;
	struct imgp_store_error e;
	struct st_reply r;
	VipsImage *im;
	int port, lines, written;
	long before;
	char *log;

	world("ya29.metadata-token-1");
	cr_assert(fx_put_testdata(&fx, SRC, "cam/a.jpg", "samples/landscape.jpg", "image/jpeg"),
	          "%s", fx.error);
	port = start_serve();
	cr_assert_geq(atomic_load(&md.asked), 1, "the metadata server was never asked");
	cr_assert_eq(atomic_load(&md.refused), 0, "a request without Metadata-Flavor: Google");

	post_finalized(port, "cam/a.jpg", "1001", &r);
	cr_assert_eq(r.status, 200, "HTTP %ld: %s", r.status, r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"done\""), "%s", r.body);
	st_reply_release(&r);
	cr_assert_gt(bearer_requests(), 0, "no request reached Cloud Storage with the token");

	/* the variant is there, with its stamps (which went as x-goog-meta-*) */
	cr_assert_eq(imgp_store_get(fx.st, DST, "thumb/cam/a.jpg", 64 << 20, &o, &e), IMGP_OK,
	             "%s", e.msg);
	im = tu_decode(o.data, o.len);
	cr_assert(im && vips_image_get_width(im) == 160 && vips_image_get_height(im) == 160);
	cr_assert_str_eq(imgp_object_meta(&o, "imgpipe-source") ?
	                 imgp_object_meta(&o, "imgpipe-source") : "(none)", "cam/a.jpg");
	cr_assert_str_eq(imgp_object_meta(&o, "imgpipe-source-version") ?
	                 imgp_object_meta(&o, "imgpipe-source-version") : "(none)", "1001");
	g_object_unref(im);
	imgp_object_release(&o);

	/* the redelivery reads the stamps back through the token: skipped */
	before = bearer_requests();
	post_finalized(port, "cam/a.jpg", "1001", &r);
	cr_assert_eq(r.status, 200, "HTTP %ld: %s", r.status, r.body);
	cr_assert(strstr(r.body, "already done for this version"), "%s", r.body);
	st_reply_release(&r);
	cr_assert_eq(bearer_requests() - before, 1, "a current source costs one HEAD");
	log = fx_read_stdout(&fx);
	st_job_lines(log, "cam/a.jpg", &lines, &written);
	cr_assert_eq(lines, 2);
	cr_assert_eq(written, 1, "%s", log);
	free(log);
}

Test(serve_gcs, a_token_cloud_storage_refuses_is_a_permanent_failure)
{
	struct st_reply r;
	int port;

	/* a token the stand-in does not take */
	world("ya29.someone-else");
	cr_assert(fx_put_testdata(&fx, SRC, "cam/b.jpg", "samples/landscape.jpg", "image/jpeg"),
	          "%s", fx.error);
	port = start_serve();
	post_finalized(port, "cam/b.jpg", "7", &r);
	cr_assert_eq(r.status, 200, "HTTP %ld: %s", r.status, r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"failed\"") && strstr(r.body, "AccessDenied"),
	          "%s", r.body);
	st_reply_release(&r);
	cr_assert_eq(bearer_requests(), 0);
}

/* The chain itself: the metadata source is asked only for Cloud Storage. */
Test(serve_gcs, the_token_source_is_asked_only_for_cloud_storage)
{
	struct imgp_creds_provider *p;
	struct imgp_creds c;
	char err[IMGP_ERRSIZE] = "", host[64], *url;

	snprintf(md.token, sizeof(md.token), "ya29.metadata-direct");
	cr_assert(responder_start(&fx.proxy, metadata, NULL));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/imgpipe-test/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/imgpipe-test/config", 1);
	unsetenv("GCE_METADATA_HOST");
	unsetenv("AWS_ENDPOINT_URL");
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9", 1);
	cr_assert_null(imgp_creds_gce_token_url(), "asked with neither GCE_METADATA_HOST nor GCS");
	setenv("AWS_ENDPOINT_URL_S3", "https://storage.googleapis.com", 1);
	url = imgp_creds_gce_token_url();
	cr_assert_str_eq(url, "http://metadata.google.internal/computeMetadata/v1/instance/"
	                 "service-accounts/default/token");
	free(url);
	snprintf(host, sizeof(host), "127.0.0.1:%d", fx.proxy.port);
	setenv("GCE_METADATA_HOST", host, 1);
	cr_assert_eq(imgp_creds_provider_new(&p, err), IMGP_OK);
	cr_assert_eq(imgp_creds_get(p, &c, err), IMGP_OK, "%s", err);
	cr_assert_str_eq(c.source, "gce-metadata");
	cr_assert_str_eq(c.bearer_token, "ya29.metadata-direct");
	cr_assert_null(c.access_key);
	cr_assert(c.expires > time(NULL) + 3000, "expires_in was not read");
	imgp_creds_release(&c);
	imgp_creds_provider_free(p);
	/* a host with a path is refused, never fetched */
	setenv("GCE_METADATA_HOST", "127.0.0.1:1/evil?", 1);
	cr_assert_eq(imgp_creds_provider_new(&p, err), IMGP_OK);
	cr_assert_eq(imgp_creds_get(p, &c, err), IMGP_E_CONFIG, "%s", err);
	cr_assert(strstr(err, "GCE_METADATA_HOST"), "%s", err);
	imgp_creds_provider_free(p);
	unsetenv("GCE_METADATA_HOST");
	unsetenv("AWS_ENDPOINT_URL_S3");
}
