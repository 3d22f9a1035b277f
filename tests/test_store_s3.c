/*
 * test_store_s3.c: the S3 backend against real parts on 127.0.0.1: s3rver
 * with SigV4 checking (tests/lib/s3server.js), awscli for interop, and a
 * fault proxy for 503 SlowDown, resets and stalls. Each test starts its own
 * server on a port the kernel picks and stops it in the fixture's fini.
 */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/s3test.h"
#include "lib/testutil.h"
#include "store.h"

#define BUCKET "imgp-test"
#define M(n, v) { (char *)(n), (char *)(v) }

static struct s3srv srv;
static struct netfake proxy = { .fd = -1 };
static struct imgp_store *st;

static struct imgp_store *open_store(const struct imgp_store_opts *opts)
{
	struct imgp_store *s = NULL;
	char err[IMGP_ERRSIZE] = "";

	cr_assert_eq(imgp_store_open_opts("s3", opts, &s, err), IMGP_OK, "%s", err);
	cr_assert_str_eq(imgp_store_kind(s), "s3");
	return s;
}

static void setup(void)
{
	static const char *const buckets[] = { BUCKET, "other", NULL };

	cr_assert(s3srv_start(&srv, buckets), "s3rver did not start");
	s3test_env(srv.endpoint);
	st = open_store(NULL);
}

static void teardown(void)
{
	imgp_store_close(st);
	st = NULL;
	netfake_stop(&proxy);
	s3srv_stop(&srv);
}

TestSuite(store_s3, .init = setup, .fini = teardown, .timeout = 120);

static void put_ok(struct imgp_store *s, const char *key, const void *data, size_t len,
                   const struct imgp_put_opts *opts)
{
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	cr_assert_eq(imgp_store_put(s, BUCKET, key, data, len, opts, &e), IMGP_OK,
	             "put %s: %s", key, imgp_store_error_str(&e, line));
}

static void md5_etag(const void *data, size_t len, char out[35])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
	out[0] = '"';
	for(unsigned i = 0; i < 16; i++)
		sprintf(out + 1 + 2 * i, "%02x", md[i]);
	strcpy(out + 33, "\"");
}

Test(store_s3, round_trip_bytes_type_cache_control_and_metadata)
{
	struct imgp_meta meta[] = { M("source-etag", "\"abc123\""), M("Variant", "thumb"),
	                            M("spaces", "a  b") };
	struct imgp_put_opts opts = { "image/webp", "public, max-age=31536000", meta, 3 };
	struct imgp_object o, h;
	struct imgp_store_error e;
	char etag[35];

	put_ok(st, "photos/cat.webp", "RIFF\0\0\0\0WEBP", 12, &opts);
	cr_assert_eq(imgp_store_get(st, BUCKET, "photos/cat.webp", 1024, &o, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(o.len, 12);
	cr_expect_eq(memcmp(o.data, "RIFF\0\0\0\0WEBP", 12), 0);
	cr_expect_str_eq(o.content_type, "image/webp");
	cr_expect_str_eq(o.cache_control, "public, max-age=31536000");
	cr_expect_str_eq(imgp_object_meta(&o, "source-etag"), "\"abc123\"");
	cr_expect_str_eq(imgp_object_meta(&o, "variant"), "thumb");
	md5_etag("RIFF\0\0\0\0WEBP", 12, etag);
	cr_expect_str_eq(o.etag, etag);
	cr_expect_not_null(o.last_modified);

	cr_assert_eq(imgp_store_head(st, BUCKET, "photos/cat.webp", &h, &e), IMGP_OK, "%s", e.msg);
	cr_expect_null(h.data);
	cr_expect_eq(h.len, 12);
	cr_expect_str_eq(h.etag, o.etag);
	cr_expect_str_eq(h.content_type, "image/webp");
	cr_expect_str_eq(imgp_object_meta(&h, "variant"), "thumb");
	imgp_object_release(&o);
	imgp_object_release(&h);
}

/* Keys S3 must see exactly; s3rver's SigV4 check fails on any mis-encoding. */
static const char *const tricky[] = {
	"with space.jpg", "plus+sign.jpg", "per%cent%20.jpg", "paren (1).jpg",
	"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80.png", "a=b&c?d#e.jpg",
	"semi;colon,comma:colon@at$dollar'quote!.jpg", "tilde~under_score-dash.jpg",
	"star*bracket[1]{2}.jpg", "double//slash.jpg",
};

static void long_key(char key[1001])
{
	/* 1,000 bytes: s3rver keeps keys as paths, so '/' every 200 bytes */
	for(int i = 0; i < 1000; i++)
		key[i] = (i % 200 == 199) ? '/' : "abcdefghij +%()~"[i % 16];
	key[999] = 'z';
	key[1000] = '\0';
}

Test(store_s3, tricky_keys_round_trip_intact)
{
	char key[1001];

	long_key(key);
	for(size_t i = 0; i <= sizeof(tricky) / sizeof(tricky[0]); i++) {
		const char *k = i < sizeof(tricky) / sizeof(tricky[0]) ? tricky[i] : key;
		struct imgp_object o;
		struct imgp_store_error e;

		put_ok(st, k, k, strlen(k), NULL);
		cr_assert_eq(imgp_store_get(st, BUCKET, k, 4096, &o, &e), IMGP_OK,
		             "get %s: %s", k, e.msg);
		cr_expect_eq(o.len, strlen(k));
		cr_expect_eq(memcmp(o.data, k, o.len), 0, "bytes of %s", k);
		imgp_object_release(&o);
		cr_expect_eq(imgp_store_head(st, BUCKET, k, &o, &e), IMGP_OK, "head %s: %s", k, e.msg);
		imgp_object_release(&o);
	}
}

struct listing {
	char keys[64][1024];
	int n;
};

static bool collect(void *ud, const struct imgp_list_entry *entry)
{
	struct listing *l = ud;

	if(l->n < 64)
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", entry->key);
	l->n++;
	return true;
}

Test(store_s3, list_many_pages_with_prefix)
{
	struct imgp_store_opts opts = { .list_page_size = 7 };
	struct imgp_store *paged = open_store(&opts);
	static struct listing l;
	struct imgp_store_error e;
	char key[64];

	for(int i = 0; i < 23; i++) {
		snprintf(key, sizeof(key), "in/%02d +%%.jpg", i);
		put_ok(st, key, "x", 1, NULL);
	}
	put_ok(st, "inx.jpg", "x", 1, NULL);
	put_ok(st, "out.jpg", "x", 1, NULL);
	cr_assert_eq(imgp_store_list(paged, BUCKET, "in/", collect, &l, &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq(l.n, 23, "23 keys over 4 pages of 7");
	for(int i = 0; i < 23; i++) {
		snprintf(key, sizeof(key), "in/%02d +%%.jpg", i);
		cr_expect_str_eq(l.keys[i], key);
	}
	memset(&l, 0, sizeof(l));
	cr_assert_eq(imgp_store_list(paged, BUCKET, NULL, collect, &l, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(l.n, 25);
	imgp_store_close(paged);
}

Test(store_s3, list_returns_tricky_keys_as_written)
{
	static struct listing l;
	struct imgp_store_error e;
	/* s3rver stores keys as paths, which folds "//"; the rest must match */
	size_t n = sizeof(tricky) / sizeof(tricky[0]) - 1;

	for(size_t i = 0; i < n; i++)
		put_ok(st, tricky[i], "x", 1, NULL);
	cr_assert_eq(imgp_store_list(st, BUCKET, "", collect, &l, &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq((size_t)l.n, n);
	for(size_t i = 0; i < n; i++) {
		bool seen = false;

		for(int j = 0; j < l.n; j++)
			seen |= !strcmp(l.keys[j], tricky[i]);
		cr_expect(seen, "%s missing from the listing", tricky[i]);
	}
}

Test(store_s3, object_of_20_mb_and_the_size_cap)
{
	size_t len = 20u << 20;
	unsigned char *data = malloc(len);
	struct imgp_object o;
	struct imgp_store_error e;
	char etag[35];

	for(size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	put_ok(st, "big.bin", data, len, NULL);
	cr_assert_eq(imgp_store_get(st, BUCKET, "big.bin", len, &o, &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq(o.len, len);
	cr_expect_eq(memcmp(o.data, data, len), 0);
	md5_etag(data, len, etag);
	cr_expect_str_eq(o.etag, etag);
	imgp_object_release(&o);
	/* one byte over: refused from Content-Length, before the body */
	cr_assert_eq(imgp_store_get(st, BUCKET, "big.bin", len - 1, &o, &e), IMGP_E_TOO_LARGE);
	cr_expect(strstr(e.msg, "over the 20971519 byte limit"), "%s", e.msg);
	cr_expect_null(o.data);
	cr_expect_not(imgp_status_temporary(e.status));
	free(data);
}

Test(store_s3, not_found_carries_code_and_request_id)
{
	struct imgp_object o;
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	cr_assert_eq(imgp_store_get(st, BUCKET, "missing.jpg", 100, &o, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NoSuchKey");
	cr_expect_eq(e.http_status, 404);
	/* (s3rver gives no request id here; the SlowDown and signature tests read one) */
	cr_expect(strstr(imgp_store_error_str(&e, line),
	                 "get s3://imgp-test/missing.jpg: the specified key does not exist (NoSuchKey"),
	          "%s", line);
	cr_expect_not(imgp_status_temporary(e.status));
	cr_expect_eq(e.attempts, 1, "a 404 is never retried");

	cr_assert_eq(imgp_store_head(st, BUCKET, "missing.jpg", &o, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NotFound");
	cr_assert_eq(imgp_store_get(st, "no-such-bucket", "k", 100, &o, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NoSuchBucket");
}

Test(store_s3, delete_then_gone)
{
	struct imgp_object o;

	put_ok(st, "gone soon.jpg", "x", 1, NULL);
	cr_assert_eq(imgp_store_delete(st, BUCKET, "gone soon.jpg", NULL), IMGP_OK);
	cr_expect_eq(imgp_store_get(st, BUCKET, "gone soon.jpg", 10, &o, NULL), IMGP_E_NOT_FOUND);
	cr_expect_eq(imgp_store_delete(st, BUCKET, "never there", NULL), IMGP_OK);
}

Test(store_s3, wrong_secret_is_signature_does_not_match_and_never_printed)
{
	static const char secret[] = "WRONG-SECRET-do-not-print-me";
	struct imgp_store *bad;
	struct imgp_object o;
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	bad = open_store(NULL);
	cr_assert_eq(imgp_store_put(bad, BUCKET, "k", "x", 1, NULL, &e), IMGP_E_ACCESS);
	cr_expect_str_eq(e.code, "SignatureDoesNotMatch");
	cr_expect_eq(e.http_status, 403);
	cr_expect_eq(e.attempts, 1, "a 403 is never retried");
	cr_expect_eq(strlen(e.request_id), 16, "request id \"%s\"", e.request_id);
	imgp_store_error_str(&e, line);
	cr_expect(strstr(line, "put s3://imgp-test/k: the request signature we calculated does "
	                 "not match the signature you provided"), "%s", line);
	cr_expect_null(strstr(line, secret), "the secret leaked: %s", line);
	cr_expect_null(strstr(line, "Signature="), "a signature leaked: %s", line);
	cr_assert_eq(imgp_store_get(bad, BUCKET, "k", 10, &o, &e), IMGP_E_ACCESS);
	cr_expect_str_eq(e.code, "SignatureDoesNotMatch");
	imgp_store_close(bad);

	setenv("AWS_ACCESS_KEY_ID", "AKIANOTAKEY", 1);
	bad = open_store(NULL);
	cr_assert_eq(imgp_store_get(bad, BUCKET, "k", 10, &o, &e), IMGP_E_ACCESS);
	cr_expect_str_eq(e.code, "InvalidAccessKeyId");
	imgp_store_close(bad);
}

Test(store_s3, session_token_is_signed)
{
	struct imgp_store *s;
	struct imgp_object o;

	setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN//+=", 1);
	s = open_store(NULL);
	put_ok(s, "with-token", "abc", 3, NULL);
	cr_assert_eq(imgp_store_get(s, BUCKET, "with-token", 10, &o, NULL), IMGP_OK);
	imgp_object_release(&o);
	imgp_store_close(s);
}

/* A fake S3 that records the request head and answers 200. */
struct seen {
	pthread_mutex_t lock;
	char head[8192];
	int requests;
};

static void record(void *ud, const char *method, const char *path, const char *head,
                   int *status, char *body, size_t size)
{
	struct seen *s = ud;

	pthread_mutex_lock(&s->lock);
	snprintf(s->head, sizeof(s->head), "%s", head);
	s->requests++;
	pthread_mutex_unlock(&s->lock);
	*status = 200;
}

Test(store_s3, trace_id_sent_and_addressing)
{
	static struct seen seen = { PTHREAD_MUTEX_INITIALIZER, "", 0 };
	struct imgp_store *s;
	char endpoint[64];

	cr_assert(responder_start(&proxy, record, &seen));
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/base/", proxy.port);
	setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
	/* handed over as a value (imgpipe lambda: each invocation's), not read
	 * from the environment */
	imgp_store_set_trace("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
	                     "Sampled=1");
	s = open_store(NULL);
	put_ok(s, "a b.jpg", "x", 1, NULL);
	cr_expect(strstr(seen.head, "PUT /base/" BUCKET "/a%20b.jpg HTTP/1.1\r\n"), "%s", seen.head);
	cr_expect(strcasestr(seen.head, "\r\nX-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;"
	                 "Parent=53995c3f42cd8ad8;Sampled=1\r\n"), "%s", seen.head);
	cr_expect(strcasestr(seen.head, "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=S3RVER/"),
	          "%s", seen.head);
	cr_expect(strstr(seen.head, "/us-east-1/s3/aws4_request,SignedHeaders=content-type;host;"
	                 "x-amz-content-sha256;x-amz-date,Signature="), "%s", seen.head);
	imgp_store_close(s);

	/* asked for virtual-hosted style: the bucket moves into the host */
	setenv("IMGPIPE_S3_ADDRESSING", "virtual", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://localhost.invalid:1", 1);
	imgp_store_set_trace(NULL);
	{
		struct imgp_store_opts opts = { .max_attempts = 1 };
		struct imgp_store_error e;

		s = open_store(&opts);
		cr_expect_eq(imgp_store_put(s, BUCKET, "k", "x", 1, NULL, &e), IMGP_E_NETWORK);
		cr_expect(strstr(e.msg, BUCKET ".localhost.invalid"), "%s", e.msg);
		imgp_store_close(s);
	}
}

/*
 * AWS's own endpoint, seen without reaching AWS: an https_proxy on loopback
 * receives curl's CONNECT, which names the host, and refuses it.
 */
Test(store_s3, aws_endpoint_virtual_hosted_by_region)
{
	static struct seen seen = { PTHREAD_MUTEX_INITIALIZER, "", 0 };
	struct imgp_store_opts opts = { .max_attempts = 1 };
	struct imgp_store *s;
	struct imgp_store_error e;
	char proxy_url[64];

	cr_assert(responder_start(&proxy, record, &seen));
	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%d", proxy.port);
	setenv("https_proxy", proxy_url, 1);
	setenv("HTTPS_PROXY", proxy_url, 1);
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_REGION");
	setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
	s = open_store(&opts);
	cr_expect_neq(imgp_store_put(s, BUCKET, "k", "x", 1, NULL, &e), IMGP_OK);
	cr_expect(strstr(seen.head, "CONNECT " BUCKET ".s3.eu-west-3.amazonaws.com:443 "),
	          "%s", seen.head);
	/* a bucket with dots cannot match the TLS wildcard: path style */
	cr_expect_neq(imgp_store_put(s, "my.dotted.bucket", "k", "x", 1, NULL, &e), IMGP_OK);
	cr_expect(strstr(seen.head, "CONNECT s3.eu-west-3.amazonaws.com:443 "), "%s", seen.head);
	imgp_store_close(s);
}

/* Worker threads share one handle; connections come from its pool. */
struct worker {
	int id;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char key[64], body[256];

	for(int i = 0; i < 15; i++) {
		struct imgp_object o;

		snprintf(key, sizeof(key), "threads/%d/%d", w->id, i);
		snprintf(body, sizeof(body), "worker %d item %d", w->id, i);
		if(imgp_store_put(st, BUCKET, key, body, strlen(body), NULL, NULL) ||
		   imgp_store_get(st, BUCKET, key, 1024, &o, NULL)) {
			w->failures++;
			continue;
		}
		w->failures += o.len != strlen(body) || memcmp(o.data, body, o.len);
		imgp_object_release(&o);
	}
	return NULL;
}

Test(store_s3, one_handle_shared_by_threads)
{
	struct worker w[4];
	pthread_t t[4];

	for(int i = 0; i < 4; i++) {
		w[i] = (struct worker){ i, 0 };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for(int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].failures, 0, "worker %d", i);
	}
}

/* --- awscli: what imgpipe writes, awscli reads, and the reverse ---------- */

Test(store_s3, awscli_reads_what_imgpipe_writes)
{
	struct imgp_meta meta[] = { M("variant", "thumb") };
	struct imgp_put_opts opts = { "image/jpeg", "max-age=60", meta, 1 };
	const char *key = "interop/from imgpipe+(1).jpg";
	char *dir = tu_tempdir(), *file, *out = NULL, *err = NULL, *data;
	size_t len = 0;
	const char *args[] = { "s3api", "get-object", "--bucket", BUCKET, "--key", key,
	                       NULL, NULL };

	put_ok(st, key, "\xff\xd8\xff jpeg bytes", 14, &opts);
	cr_assert(asprintf(&file, "%s/got", dir) > 0);
	args[6] = file;
	cr_assert_eq(s3test_run_aws(srv.endpoint, args, &out, &err), 0, "aws: %s", err);
	data = tu_read(file, &len);
	cr_expect_eq(len, 14);
	cr_expect_eq(memcmp(data, "\xff\xd8\xff jpeg bytes", 14), 0);
	cr_expect(strstr(out, "\"ContentType\": \"image/jpeg\""), "%s", out);
	cr_expect(strstr(out, "\"CacheControl\": \"max-age=60\""), "%s", out);
	cr_expect(strstr(out, "\"variant\": \"thumb\""), "%s", out);
	free(data);
	free(out);
	free(err);
	free(file);
	tu_rmtree(dir);
	free(dir);
}

Test(store_s3, imgpipe_reads_what_awscli_writes)
{
	const char *key = "interop/from awscli (2)+%.png";
	char *dir = tu_tempdir(), *file, *out = NULL, *err = NULL;
	const char *args[] = { "s3api", "put-object", "--bucket", BUCKET, "--key", key,
	                       "--body", NULL, "--content-type", "image/png",
	                       "--metadata", "source=awscli,width=320", NULL };
	struct imgp_object o;
	struct imgp_store_error e;

	cr_assert(asprintf(&file, "%s/up.png", dir) > 0);
	cr_assert(tu_write(file, "\x89PNG\r\n\x1a\n rest", 13));
	args[7] = file;
	cr_assert_eq(s3test_run_aws(srv.endpoint, args, &out, &err), 0, "aws: %s", err);
	cr_assert_eq(imgp_store_get(st, BUCKET, key, 1024, &o, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(o.len, 13);
	cr_expect_eq(memcmp(o.data, "\x89PNG\r\n\x1a\n rest", 13), 0);
	cr_expect_str_eq(o.content_type, "image/png");
	cr_expect_str_eq(imgp_object_meta(&o, "source"), "awscli");
	cr_expect_str_eq(imgp_object_meta(&o, "width"), "320");
	imgp_object_release(&o);
	free(out);
	free(err);
	free(file);
	tu_rmtree(dir);
	free(dir);
}

Test(store_s3, awscli_lists_what_imgpipe_lists)
{
	char *out = NULL, *err = NULL;
	const char *args[] = { "s3api", "list-objects-v2", "--bucket", BUCKET,
	                       "--prefix", "ls/", "--query", "Contents[].Key",
	                       "--output", "text", NULL };
	static struct listing l;

	put_ok(st, "ls/b (2).jpg", "x", 1, NULL);
	put_ok(st, "ls/a+1.jpg", "x", 1, NULL);
	cr_assert_eq(imgp_store_list(st, BUCKET, "ls/", collect, &l, NULL), IMGP_OK);
	cr_assert_eq(s3test_run_aws(srv.endpoint, args, &out, &err), 0, "aws: %s", err);
	cr_assert_eq(l.n, 2);
	cr_expect(strstr(out, l.keys[0]) && strstr(out, l.keys[1]), "%s", out);
	free(out);
	free(err);
}

/* --- faults: retried and won, or given up within the bound --------------- */

static struct imgp_store *via_proxy(enum fault fault, int count,
                                    const struct imgp_store_opts *opts)
{
	char endpoint[64];

	cr_assert(proxy_start(&proxy, srv.port, fault, count));
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", proxy.port);
	setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
	return open_store(opts);
}

static const struct imgp_store_opts quick = {
	.max_attempts = 4, .retry_budget_ms = 15000, .retry_base_ms = 20,
	.retry_max_ms = 200, .connect_timeout_ms = 1000, .stall_timeout_s = 1,
};

Test(store_s3, slowdown_is_retried_and_wins)
{
	struct imgp_store *s = via_proxy(FAULT_SLOWDOWN, 2, &quick);
	struct imgp_store_error e;
	struct imgp_object o;

	cr_assert_eq(imgp_store_put(s, BUCKET, "k", "hello", 5, NULL, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(e.attempts, 3);
	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(o.len, 5);
	imgp_object_release(&o);
	imgp_store_close(s);
}

Test(store_s3, slowdown_forever_gives_up_throttled)
{
	struct imgp_store *s = via_proxy(FAULT_SLOWDOWN, 1000, &quick);
	struct imgp_store_error e;
	struct imgp_object o;
	double t0 = imgp_now_ms();

	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_THROTTLED, "%s", e.msg);
	cr_expect_lt(imgp_now_ms() - t0, 15000.0);
	cr_expect(imgp_status_temporary(e.status));
	cr_expect_str_eq(e.code, "SlowDown");
	cr_expect_str_eq(e.request_id, "FAKEPROXY503");
	cr_expect_eq(e.attempts, 4);
	cr_expect_eq(atomic_load(&proxy.connections), 4);
	cr_expect(strstr(e.msg, "please reduce your request rate (after 4 attempts)"), "%s", e.msg);
	imgp_store_close(s);
}

Test(store_s3, reset_is_retried_and_wins)
{
	struct imgp_store *s = via_proxy(FAULT_RESET, 2, &quick);
	struct imgp_store_error e;

	cr_assert_eq(imgp_store_put(s, BUCKET, "k", "hello", 5, NULL, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(e.attempts, 3);
	imgp_store_close(s);
}

Test(store_s3, reset_forever_gives_up_network)
{
	struct imgp_store *s = via_proxy(FAULT_RESET, 1000, &quick);
	struct imgp_store_error e;
	struct imgp_object o;

	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_NETWORK, "%s", e.msg);
	cr_expect(imgp_status_temporary(e.status));
	cr_expect_eq(e.attempts, 4);
	cr_expect(strstr(e.msg, "gave up after retries"), "%s", e.msg);
	imgp_store_close(s);
}

Test(store_s3, stall_is_cut_and_retried)
{
	struct imgp_store *s = via_proxy(FAULT_STALL, 1, &quick);
	struct imgp_store_error e;
	double t0 = imgp_now_ms();

	cr_assert_eq(imgp_store_put(s, BUCKET, "k", "hello", 5, NULL, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(e.attempts, 2);
	/* curl averages speed over ~5 s, so a stall is cut after that plus 1 s */
	cr_expect_lt(imgp_now_ms() - t0, 8000.0, "the stall was not cut");
	imgp_store_close(s);
}

Test(store_s3, stall_forever_times_out_within_the_budget)
{
	struct imgp_store_opts opts = quick;
	struct imgp_store *s;
	struct imgp_store_error e;
	struct imgp_object o;
	double t0, took;

	opts.stall_timeout_s = 30;        /* so the total budget is what ends it */
	opts.retry_budget_ms = 2500;
	s = via_proxy(FAULT_STALL, 1000, &opts);
	t0 = imgp_now_ms();
	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_TIMEOUT, "%s", e.msg);
	took = imgp_now_ms() - t0;
	cr_expect_lt(took, 4000.0, "took %.0f ms for a 2500 ms budget", took);
	cr_expect(imgp_status_temporary(e.status));
	imgp_store_close(s);
}

/* An invocation's deadline bounds a stalled call, retries and all, and a
 * call made after it is not sent at all. */
Test(store_s3, the_thread_deadline_bounds_every_call)
{
	struct imgp_store_opts opts = quick;
	struct imgp_store *s;
	struct imgp_store_error e;
	struct imgp_object o;
	struct timespec now;
	double t0, took;
	int64_t epoch;

	opts.stall_timeout_s = 30;        /* neither the stall cut nor the budget */
	opts.retry_budget_ms = 60000;     /* may end it: only the deadline */
	s = via_proxy(FAULT_STALL, 1000, &opts);
	clock_gettime(CLOCK_REALTIME, &now);
	epoch = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	imgp_store_set_deadline(epoch + 1500);
	t0 = imgp_now_ms();
	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_TIMEOUT, "%s", e.msg);
	took = imgp_now_ms() - t0;
	cr_expect_lt(took, 3000.0, "took %.0f ms for a deadline 1500 ms away", took);
	cr_expect(imgp_status_temporary(e.status));
	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_DEADLINE, "%s", e.msg);
	cr_expect(strstr(e.msg, "deadline has passed"), "%s", e.msg);
	imgp_store_set_deadline(0);
	imgp_store_close(s);
}

Test(store_s3, connection_refused_is_network_and_bounded)
{
	struct imgp_store_opts opts = quick;
	struct imgp_store *s;
	struct imgp_store_error e;
	struct imgp_object o;

	/* a port that was free a moment ago: nothing listens */
	cr_assert(proxy_start(&proxy, 1, FAULT_NONE, 0));
	{
		char endpoint[64];
		int port = proxy.port;

		netfake_stop(&proxy);
		snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
		setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
	}
	s = open_store(&opts);
	cr_assert_eq(imgp_store_get(s, BUCKET, "k", 10, &o, &e), IMGP_E_NETWORK, "%s", e.msg);
	cr_expect_eq(e.attempts, 4);
	cr_expect(imgp_status_temporary(e.status));
	imgp_store_close(s);
}

/* Counted at a pass-through proxy: one connection carries every request. */
Test(store_s3, one_connection_is_reused_across_requests)
{
	struct imgp_store_opts fresh = { .fresh_connections = true };
	struct imgp_store *s = via_proxy(FAULT_NONE, 0, NULL), *f;
	struct imgp_object o;

	for(int i = 0; i < 10; i++) {
		put_ok(s, "reuse", "abc", 3, NULL);
		cr_assert_eq(imgp_store_get(s, BUCKET, "reuse", 10, &o, NULL), IMGP_OK);
		imgp_object_release(&o);
	}
	cr_expect_eq(atomic_load(&proxy.connections), 1, "20 requests took %d connections",
	             atomic_load(&proxy.connections));
	imgp_store_close(s);
	f = open_store(&fresh);
	for(int i = 0; i < 5; i++)
		put_ok(f, "fresh", "abc", 3, NULL);
	cr_expect_eq(atomic_load(&proxy.connections), 6);
	imgp_store_close(f);
}

/* --- the closing note's figures: one connection reused vs a new one each time --- */

static double put_get_100(struct imgp_store *s, const char *prefix)
{
	static unsigned char body[100 * 1024];
	char key[64];
	double t0 = imgp_now_ms();

	for(size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 7);
	for(int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%s/%03d", prefix, i);
		put_ok(s, key, body, sizeof(body), NULL);
	}
	for(int i = 0; i < 100; i++) {
		struct imgp_object o;

		snprintf(key, sizeof(key), "%s/%03d", prefix, i);
		cr_assert_eq(imgp_store_get(s, BUCKET, key, sizeof(body), &o, NULL), IMGP_OK);
		cr_assert_eq(o.len, sizeof(body));
		cr_assert_eq(memcmp(o.data, body, o.len), 0);
		imgp_object_release(&o);
	}
	return imgp_now_ms() - t0;
}

Test(store_s3, measure_connection_reuse)
{
	struct imgp_store_opts fresh = { .fresh_connections = true };
	struct imgp_store *f = open_store(&fresh);
	double warm, cold;

	put_get_100(st, "warmup");
	warm = put_get_100(st, "reuse");
	cold = put_get_100(f, "fresh");
	fprintf(stderr, "measure: 100 x 100 KB put+get against s3rver: one connection reused "
	        "%.0f ms, new connection each request %.0f ms\n", warm, cold);
	imgp_store_close(f);
}
