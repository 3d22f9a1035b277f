/*
 * test_lambda_e2e.c: the Lambda upload handler end to end, with real parts
 * only: s3rver on 127.0.0.1 (SigV4 checked), the Runtime API emulator in
 * this process, and the real `imgpipe lambda` process talking S3 to s3rver
 * (IMGPIPE_STORE unset). Events are built here as S3 and SQS deliver them,
 * keys URL-encoded as S3 encodes them. Checks go through awscli where the
 * brief is interop (what a user of the bucket sees), through the store
 * library elsewhere (an awscli call costs about a second of python start).
 *
 * Every test starts its own s3rver, emulator and child (fixture.h, which
 * also says what the child's environment is); teardown kills and reaps the
 * child, then stops the rest.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "job.h"
#include "store.h"
#include "lib/rtemu.h"
#include "lib/events.h"
#include "lib/fixture.h"
#include "lib/manifestcheck.h"
#include "lib/s3test.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"
/* landscape.jpg (3000x2000) gives thumb 160x160 and medium 400x267 */
#define VARIANTS "thumb=160x160,fit=cover;medium=400x,format=webp"

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(lambda_e2e, buckets, true, .timeout = 90);

/* ---- the child ---------------------------------------------------------- */

/*
 * Start `imgpipe lambda` against the emulator, in the fixture's
 * environment (fixture.h: S3 is s3rver, or the proxy when the test started
 * one) with IMGPIPE_VARIANTS=VARIANTS and IMGPIPE_DEST_BUCKET=DST, then env
 * ("NAME=value" sets or replaces, a bare "NAME" removes). stdout (the JSON
 * log lines) into fx.out_path, stderr into fx.err_path. Returns the
 * CLOCK_MONOTONIC ms just before the child was started.
 */
static double spawn(const char *const *env)
{
	static const char *const args[] = { "lambda", NULL };
	const char *set[24] = { "IMGPIPE_VARIANTS=" VARIANTS, "IMGPIPE_DEST_BUCKET=" DST };
	size_t n = 2;

	for(; env && *env && n < 23; env++)
		set[n++] = *env;
	cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
	return fx.started_ms;
}

/* Spawn and wait for the first /next; returns ms from the start to it. */
static double start_lambda(const char *const *env)
{
	double started = spawn(env);

	if(rtemu_wait_nexts(fx.emu, 1, 20000)) {
		char *e = fx_read_stderr(&fx);
		cr_assert_fail("imgpipe lambda made no /next within 20 s; stderr:\n%s", e);
	}
	return rtemu_first_next_ms(fx.emu) - started;
}

/* ---- invocations -------------------------------------------------------- */

/* Push event with budget_ms and wait for its outcome into r; returns the
 * ms from the push (so at most from the deadline's start) to the outcome. */
static double invoke(const char *event, long budget_ms, struct rtemu_result *r)
{
	char id[RTEMU_ID_SIZE];
	double t0 = rtemu_now_ms();

	cr_assert_eq(rtemu_push(fx.emu, event, strlen(event), budget_ms, NULL, id), 0);
	if(rtemu_wait(fx.emu, id, budget_ms + 30000, r)) {
		char *e = fx_read_stderr(&fx);
		cr_assert_fail("no outcome posted for %s; child stderr:\n%s", id, e);
	}
	return rtemu_now_ms() - t0;
}

/* The reply of a successful invocation, parsed. */
static json_t *reply_of(const struct rtemu_result *r)
{
	json_t *doc;

	cr_assert_eq(r->kind, RTEMU_RESPONSE, "not a /response but kind %d: %s %s", r->kind,
	             r->error_type ? r->error_type : "", r->body);
	doc = json_loadb(r->body, r->len, 0, NULL);
	cr_assert_not_null(doc, "reply is not JSON: %s", r->body);
	return doc;
}

/* An /error outcome: its type (header and body agree); message into *msg. */
static const char *error_of(const struct rtemu_result *r, json_t **doc, const char **msg)
{
	cr_assert_eq(r->kind, RTEMU_ERROR, "not an /error but kind %d: %s", r->kind, r->body);
	*doc = json_loadb(r->body, r->len, 0, NULL);
	cr_assert_not_null(*doc, "error body is not JSON: %s", r->body);
	cr_assert_not_null(r->error_type);
	cr_assert_str_eq(r->error_type, json_string_value(json_object_get(*doc, "errorType")));
	*msg = json_string_value(json_object_get(*doc, "errorMessage"));
	cr_assert_not_null(*msg);
	return r->error_type;
}

static const char *str_at(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	cr_assert_not_null(s, "no string \"%s\" in %s", name, json_dumps(obj, JSON_COMPACT));
	return s;
}

/* results[i] of an S3-shaped reply. */
static json_t *result_at(json_t *reply, size_t i)
{
	json_t *list = json_object_get(reply, "results"), *r;

	cr_assert(json_is_array(list), "no results: %s", json_dumps(reply, JSON_COMPACT));
	r = json_array_get(list, i);
	cr_assert_not_null(r, "no results[%zu]: %s", i, json_dumps(reply, JSON_COMPACT));
	return r;
}

/* The itemIdentifiers of an SQS reply, comma-joined ("" for none). */
static void failures_of(json_t *reply, char *out, size_t size)
{
	json_t *list = json_object_get(reply, "batchItemFailures"), *item;
	size_t i;

	cr_assert(json_is_array(list), "no batchItemFailures: %s", json_dumps(reply, JSON_COMPACT));
	out[0] = '\0';
	json_array_foreach(list, i, item) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, "%s%s", n ? "," : "", str_at(item, "itemIdentifier"));
	}
}

/* ---- events, as S3 and SQS send them ------------------------------------ */

/* An object's ETag without quotes, and size, as an event would carry them. */
static void object_info(const char *bucket, const char *key, char etag[64], long long *size)
{
	struct imgp_object o;
	struct imgp_store_error e;
	const char *t;

	cr_assert_eq(imgp_store_head(fx.st, bucket, key, &o, &e), IMGP_OK, "head %s: %s", key, e.msg);
	t = o.etag && *o.etag == '"' ? o.etag + 1 : o.etag ? o.etag : "";
	snprintf(etag, 64, "%.*s", (int)strcspn(t, "\""), t);
	*size = (long long)o.len;
	imgp_object_release(&o);
}

/* One Records[] entry of an S3 ObjectCreated:Put notification for an
 * object that exists (its ETag and size are read from the store). */
static json_t *s3_record(const char *bucket, const char *key)
{
	char etag[64], *enc = tu_s3_key_encode(key);
	long long size;
	json_t *rec;

	object_info(bucket, key, etag, &size);
	rec = tu_s3_record(&(struct tu_object){ bucket, enc, etag, size });
	cr_assert_not_null(rec);
	free(enc);
	return rec;
}

/* {"Records": [records...]} as text; steals the records. */
static char *s3_event(json_t *const *records, size_t n)
{
	json_t *list = json_array();
	char *text;

	for(size_t i = 0; i < n; i++)
		json_array_append_new(list, records[i]);
	text = tu_records_text(list);
	cr_assert_not_null(text);
	return text;
}

static char *s3_event1(const char *bucket, const char *key)
{
	json_t *rec = s3_record(bucket, key);

	return s3_event(&rec, 1);
}

/* An SQS batch: message i has id ids[i] and, as its body, the S3
 * notification text bodies[i]. */
static char *sqs_event(const char *const *ids, char *const *bodies, size_t n)
{
	char *text = tu_sqs_event(ids, (const char *const *)bodies, n);

	cr_assert_not_null(text);
	return text;
}

/* ---- objects ------------------------------------------------------------ */

/* Put bytes as bucket/key with the library (fast; awscli where it matters). */
static void put_bytes(const char *bucket, const char *key, const void *data, size_t len,
                      const struct imgp_meta *meta, size_t nmeta)
{
	struct imgp_put_opts opts = { "image/jpeg", NULL, meta, nmeta };
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	cr_assert_eq(imgp_store_put(fx.st, bucket, key, data, len, &opts, &e), IMGP_OK,
	             "put %s: %s", key, imgp_store_error_str(&e, line));
}

static void put_testdata(const char *bucket, const char *key, const char *rel)
{
	cr_assert(fx_put_testdata(&fx, bucket, key, rel, "image/jpeg"), "%s", fx.error);
}

/* awscli uploads test data as s3://SRC/key. */
static void aws_upload(const char *rel, const char *key)
{
	char *path = tu_data(rel), *url, *err = NULL;
	const char *args[] = { "s3", "cp", path, NULL, NULL };

	cr_assert(asprintf(&url, "s3://" SRC "/%s", key) > 0);
	args[3] = url;
	cr_assert_eq(s3test_run_aws(fx.srv.endpoint, args, NULL, &err), 0, "aws s3 cp: %s", err);
	free(err);
	free(url);
	free(path);
}

/* awscli s3api get-object of DST/key: its output parsed, the body decoded. */
static json_t *aws_get(const char *key, VipsImage **image)
{
	char *file, *out = NULL, *err = NULL;
	const char *args[] = { "s3api", "get-object", "--bucket", DST, "--key", key, NULL, NULL };
	json_t *doc;
	size_t len;
	void *data;

	cr_assert(asprintf(&file, "%s/got", fx.scratch) > 0);
	args[6] = file;
	cr_assert_eq(s3test_run_aws(fx.srv.endpoint, args, &out, &err), 0, "get-object %s: %s", key, err);
	doc = json_loads(out, 0, NULL);
	cr_assert_not_null(doc, "get-object output is not JSON: %s", out);
	data = tu_read(file, &len);
	cr_assert_not_null(data);
	*image = tu_decode(data, len);
	cr_assert_not_null(*image, "%s does not decode", key);
	free(data);
	free(out);
	free(err);
	free(file);
	return doc;
}

struct listing {
	char keys[32][1100];
	int n;
};

static bool collect(void *ud, const struct imgp_list_entry *entry)
{
	struct listing *l = ud;

	if(l->n < 32)
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", entry->key);
	l->n++;
	return true;
}

/* Every key of bucket, in order, joined by '|'. */
static char *keys_of(const char *bucket)
{
	static struct listing l;
	struct imgp_store_error e;
	char *text = calloc(1, 32 * 1101 + 1);

	memset(&l, 0, sizeof(l));
	cr_assert_eq(imgp_store_list(fx.st, bucket, NULL, collect, &l, &e), IMGP_OK, "list: %s", e.msg);
	for(int i = 0; i < l.n && i < 32; i++) {
		if(i)
			strcat(text, "|");
		strcat(text, l.keys[i]);
	}
	return text;
}

/* Last-Modified of DST/key (the store's HTTP date). */
static char *last_modified(const char *key)
{
	struct imgp_object o;
	struct imgp_store_error e;
	char *lm;

	cr_assert_eq(imgp_store_head(fx.st, DST, key, &o, &e), IMGP_OK, "head %s: %s", key, e.msg);
	cr_assert_not_null(o.last_modified);
	lm = strdup(o.last_modified);
	imgp_object_release(&o);
	return lm;
}

/* ---- the child's log ---------------------------------------------------- */

/* The n-th (0-based) job log line for key, or NULL. */
static json_t *job_line(const char *key, int nth)
{
	size_t len;
	char *text = tu_read(fx.out_path, &len), *line, *save = NULL;
	json_t *found = NULL;

	if(!text)
		return NULL;
	for(line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);
		const char *k = json_string_value(json_object_get(doc, "key"));

		if(doc && k && json_object_get(doc, "TotalMs") && !strcmp(k, key) && nth-- == 0)
			found = json_incref(doc);
		json_decref(doc);
	}
	free(text);
	return found;
}

static json_t *wait_job_line(const char *key, int nth, long timeout_ms)
{
	struct timespec tick = { 0, 5 * 1000000L };

	for(long waited = 0; waited <= timeout_ms; waited += 5) {
		json_t *line = job_line(key, nth);

		if(line)
			return line;
		nanosleep(&tick, NULL);
	}
	cr_assert_fail("no log line #%d for %s", nth, key);
	return NULL;
}

static double num_at(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	cr_assert(json_is_number(v), "no number \"%s\"", name);
	return json_number_value(v);
}

/* ---- 1. upload, event, variants ----------------------------------------- */

static void check_variant(const char *key, const char *source, const char *etag,
                          const char *variant, const char *type, int w, int h)
{
	VipsImage *im;
	json_t *got = aws_get(key, &im), *meta = json_object_get(got, "Metadata");
	const char *stamp;
	char want[16];

	cr_expect_str_eq(str_at(got, "ContentType"), type, "%s", key);
	cr_expect_str_eq(str_at(got, "CacheControl"), IMGP_DEFAULT_CACHE_CONTROL, "%s", key);
	cr_assert(json_is_object(meta), "%s has no Metadata", key);
	cr_expect_str_eq(str_at(meta, "imgpipe-source"), source, "%s", key);
	cr_expect_str_eq(str_at(meta, "imgpipe-variant"), variant, "%s", key);
	stamp = str_at(meta, "imgpipe-source-etag");
	cr_expect(!strncmp(stamp + (*stamp == '"'), etag, strlen(etag)),
	          "%s: imgpipe-source-etag %s, source ETag %s", key, stamp, etag);
	/* the pixels are what the metadata says, and what was asked */
	snprintf(want, sizeof(want), "%d", im->Xsize);
	cr_expect_str_eq(str_at(meta, "imgpipe-width"), want, "%s", key);
	snprintf(want, sizeof(want), "%d", im->Ysize);
	cr_expect_str_eq(str_at(meta, "imgpipe-height"), want, "%s", key);
	cr_expect_eq(im->Xsize, w, "%s: width %d", key, im->Xsize);
	cr_expect(abs(im->Ysize - h) <= 1, "%s: height %d, want %d", key, im->Ysize, h);
	g_object_unref(im);
	json_decref(got);
}

/* An object of the sink, as the store holds it (for manifestcheck). */
static void *fetch_dst(void *ud, const char *key, size_t *len)
{
	struct imgp_store_error e;
	struct imgp_object obj;
	void *data;

	(void)ud;
	if(imgp_store_get(fx.st, DST, key, 64 << 20, &obj, &e)) {
		imgp_object_release(&obj);
		return NULL;
	}
	data = malloc(obj.len ? obj.len : 1);
	memcpy(data, obj.data, obj.len);
	*len = obj.len;
	imgp_object_release(&obj);
	return data;
}

Test(lambda_e2e, s3_event_writes_every_variant)
{
	static const char key[] = "photos/2024/landscape.jpg";
	struct rtemu_result r;
	char etag[64], *event;
	long long size;
	json_t *reply, *res, *outputs;

	start_lambda(NULL);
	aws_upload("samples/landscape.jpg", key);
	object_info(SRC, key, etag, &size);
	event = s3_event1(SRC, key);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_assert_eq(json_array_size(json_object_get(reply, "results")), 1);
	res = result_at(reply, 0);
	cr_assert_str_eq(str_at(res, "status"), "OK", "%s", r.body);
	cr_expect_str_eq(str_at(res, "bucket"), SRC);
	cr_expect_str_eq(str_at(res, "key"), key);
	outputs = json_object_get(res, "outputs");
	cr_assert_eq(json_array_size(outputs), 2, "%s", r.body);
	cr_expect_str_eq(str_at(json_array_get(outputs, 0), "key"), "thumb/photos/2024/landscape.jpg");
	cr_expect_str_eq(str_at(json_array_get(outputs, 1), "key"), "medium/photos/2024/landscape.webp");
	cr_expect_str_eq(str_at(json_array_get(outputs, 1), "bucket"), DST);

	check_variant("thumb/photos/2024/landscape.jpg", key, etag, "thumb", "image/jpeg", 160, 160);
	/* head-object agrees with the reply on what was written */
	{
		const char *args[] = { "s3api", "head-object", "--bucket", DST, "--key",
		                       "medium/photos/2024/landscape.webp", NULL };
		char *out = NULL, *err = NULL;
		json_t *head;

		cr_assert_eq(s3test_run_aws(fx.srv.endpoint, args, &out, &err), 0, "head-object: %s", err);
		head = json_loads(out, 0, NULL);
		cr_assert_not_null(head, "%s", out);
		cr_expect_eq(json_integer_value(json_object_get(head, "ContentLength")),
		             json_integer_value(json_object_get(json_array_get(outputs, 1), "bytes")),
		             "%s", out);
		cr_expect_str_eq(str_at(head, "ContentType"), "image/webp");
		cr_expect_str_eq(str_at(json_object_get(head, "Metadata"), "imgpipe-variant"), "medium");
		json_decref(head);
		free(out);
		free(err);
	}
	check_variant("medium/photos/2024/landscape.webp", key, etag, "medium", "image/webp", 400, 267);
	/* the manifest: in the reply, and in the sink after the variants, true
	 * to every object it names */
	cr_expect_str_eq(str_at(res, "manifestKey"), "manifest/photos/2024/landscape.json");
	cr_assert(json_is_object(json_object_get(res, "manifest")), "no manifest in the reply");
	{
		size_t len = 0;
		void *text = fetch_dst(NULL, "manifest/photos/2024/landscape.json", &len);
		json_t *m, *man = NULL;

		cr_assert_not_null(text, "no manifest in the sink");
		m = tu_check_manifest(text, len, fetch_dst, NULL, key, 2);
		cr_expect_str_eq(str_at(json_object_get(m, "srcset"), "webp"),
		                 "medium/photos/2024/landscape.webp 400w");
		/* the thumb is a square crop: not the same picture, not in a srcset */
		cr_expect_null(json_object_get(json_object_get(m, "srcset"), "jpeg"));
		cr_expect_str_eq(str_at(json_object_get(m, "source"), "etag"), etag);
		/* the one in the reply is the one in the sink */
		man = json_object_get(res, "manifest");
		cr_expect(json_equal(man, m), "the reply's manifest differs from the sink's");
		json_decref(m);
		free(text);
		{
			const char *args[] = { "s3api", "head-object", "--bucket", DST, "--key",
			                       "manifest/photos/2024/landscape.json", NULL };
			char *out = NULL, *err = NULL;
			json_t *head;

			cr_assert_eq(s3test_run_aws(fx.srv.endpoint, args, &out, &err), 0, "%s", err);
			head = json_loads(out, 0, NULL);
			cr_expect_str_eq(str_at(head, "ContentType"), "application/json");
			cr_expect_str_eq(str_at(json_object_get(head, "Metadata"), "imgpipe-source"), key);
			json_decref(head);
			free(out);
			free(err);
		}
	}
	/* nothing else was written */
	cr_expect_str_eq(keys_of(DST), "manifest/photos/2024/landscape.json|"
	                 "medium/photos/2024/landscape.webp|thumb/photos/2024/landscape.jpg");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
}

/* ---- 2. a key S3 has to encode ------------------------------------------ */

Test(lambda_e2e, encoded_key_round_trips)
{
	static const char key[] = "photos/My Trip (2024)+best \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.jpg";
	static const char thumb[] = "thumb/photos/My Trip (2024)+best \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.jpg";
	struct rtemu_result r;
	char etag[64], *event, *enc = tu_s3_key_encode(key);
	long long size;
	json_t *reply, *res;

	/* what S3 writes into the notification for this key */
	cr_assert_str_eq(enc, "photos/My+Trip+%282024%29%2Bbest+%C3%A9t%C3%A9+%E6%97%A5%E6%9C%AC.jpg");
	start_lambda(NULL);
	aws_upload("samples/portrait.jpg", key);
	object_info(SRC, key, etag, &size);
	event = s3_event1(SRC, key);
	cr_assert(strstr(event, enc), "the event carries the encoded key: %s", event);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	res = result_at(reply, 0);
	cr_assert_str_eq(str_at(res, "status"), "OK", "%s", r.body);
	cr_expect_str_eq(str_at(res, "key"), key);
	cr_expect_str_eq(str_at(json_array_get(json_object_get(res, "outputs"), 0), "key"), thumb);
	/* the metadata carries the key %-encoded where a header cannot hold it */
	check_variant(thumb, "photos/My Trip (2024)+best %C3%A9t%C3%A9 %E6%97%A5%E6%9C%AC.jpg",
	              etag, "thumb", "image/jpeg", 160, 160);
	cr_expect_str_eq(keys_of(DST),
		"manifest/photos/My Trip (2024)+best \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.json|"
		"medium/photos/My Trip (2024)+best \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.webp|"
		"thumb/photos/My Trip (2024)+best \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.jpg");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
	free(enc);
}

/* ---- 3. a corrupt upload is permanent ----------------------------------- */

Test(lambda_e2e, corrupt_upload_is_permanent)
{
	const char *ids[] = { "msg-corrupt", "msg-good" };
	char *bodies[2], *event, failures[256];
	struct rtemu_result r;
	json_t *reply, *res, *line;

	start_lambda(NULL);
	put_testdata(SRC, "bad/truncated.jpg", "bad/truncated.jpg");
	put_testdata(SRC, "ok/landscape.jpg", "samples/landscape.jpg");

	/* S3 event: reported, the invocation succeeds, nothing written */
	event = s3_event1(SRC, "bad/truncated.jpg");
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	res = result_at(reply, 0);
	cr_assert_str_eq(str_at(res, "status"), "CorruptImage", "%s", r.body);
	cr_expect_null(json_object_get(res, "outputs"));
	cr_expect_str_eq(keys_of(DST), "", "a corrupt source wrote something");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);

	/* SQS: the corrupt message is not sent back for retry; the good one works */
	bodies[0] = s3_event1(SRC, "bad/truncated.jpg");
	bodies[1] = s3_event1(SRC, "ok/landscape.jpg");
	event = sqs_event(ids, bodies, 2);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	failures_of(reply, failures, sizeof(failures));
	cr_expect_str_eq(failures, "", "batchItemFailures: %s", r.body);
	cr_expect_str_eq(keys_of(DST), "manifest/ok/landscape.json|medium/ok/landscape.webp|"
	                 "thumb/ok/landscape.jpg");
	line = job_line("bad/truncated.jpg", 1);
	cr_assert_not_null(line);
	cr_expect_str_eq(str_at(line, "status"), "CorruptImage");
	cr_expect_str_eq(str_at(line, "Trigger"), "sqs");
	json_decref(line);
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
	free(bodies[0]);
	free(bodies[1]);
}

/* ---- 4. one temporary failure in an SQS batch --------------------------- */

/*
 * Exactly one message fails for a temporary reason, deterministically:
 *  - AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 gives one worker, so the refs of
 *    the batch run one after the other, in order, on one thread;
 *  - the child talks S3 through a fault proxy whose first N connections
 *    get 503 SlowDown (with Connection: close, so every attempt is a new
 *    connection, and nothing else connects: credentials come from env);
 *  - the first request of the first message's ref (it has an eTag, as S3
 *    events do) is the HEAD of its manifest (is it done already?),
 *    made max_attempts times on a 503 before the ref ends as Throttled
 *    (a temporary failure there ends the ref: no GET follows): N =
 *    max_attempts of the store's default policy uses the faults up on
 *    exactly that message;
 *  - the second message is a corrupt image (permanent: not listed), the
 *    third a good one; both find the proxy forwarding.
 * The waits are the store's backoff (100 ms doubling, full jitter), so
 * the faulty message costs at most ~1.5 s.
 */
Test(lambda_e2e, sqs_batch_lists_only_the_temporary_failure)
{
	const char *ids[] = { "msg-throttled", "msg-corrupt", "msg-good" };
	struct imgp_http_policy policy;
	char *bodies[3], *event, failures[256];
	const char *env[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", NULL };
	struct rtemu_result r;
	json_t *reply, *line;
	int faults;

	imgp_http_policy_default(&policy);
	faults = policy.max_attempts;
	put_testdata(SRC, "a/first.jpg", "samples/landscape.jpg");
	put_testdata(SRC, "b/truncated.jpg", "bad/truncated.jpg");
	put_testdata(SRC, "c/third.jpg", "samples/portrait.jpg");
	bodies[0] = s3_event1(SRC, "a/first.jpg");
	bodies[1] = s3_event1(SRC, "b/truncated.jpg");
	bodies[2] = s3_event1(SRC, "c/third.jpg");
	event = sqs_event(ids, bodies, 3);

	/* the child's S3 is the proxy: the fixture's endpoint while one runs */
	cr_assert(proxy_start(&fx.proxy, fx.srv.port, FAULT_SLOWDOWN, faults));
	start_lambda(env);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	failures_of(reply, failures, sizeof(failures));
	cr_assert_str_eq(failures, "msg-throttled", "%s", r.body);

	line = job_line("a/first.jpg", 0);
	cr_assert_not_null(line);
	cr_expect_str_eq(str_at(line, "status"), "Throttled", "%s", str_at(line, "message"));
	/* the first request is the HEAD of the manifest, written last of all */
	cr_expect(strstr(str_at(line, "message"), "head s3://" DST "/manifest/a/first.json") &&
	          strstr(str_at(line, "message"), "503"), "%s", str_at(line, "message"));
	cr_expect_eq(num_at(line, "GetMs"), 0, "the source was fetched from a throttled store");
	json_decref(line);
	line = job_line("b/truncated.jpg", 0);
	cr_expect_str_eq(str_at(line, "status"), "CorruptImage");
	json_decref(line);
	line = job_line("c/third.jpg", 0);
	cr_expect_str_eq(str_at(line, "status"), "OK");
	json_decref(line);
	cr_expect_leq(atomic_load(&fx.proxy.faults_left), 0, "not every fault was used");
	cr_expect_gt(atomic_load(&fx.proxy.connections), faults, "nothing was forwarded");
	cr_expect_str_eq(keys_of(DST), "manifest/c/third.json|medium/c/third.webp|thumb/c/third.jpg");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
	for(int i = 0; i < 3; i++)
		free(bodies[i]);
}

/* ---- 5. S3 goes away in the middle of a batch ---------------------------- */

/*
 * The child talks to s3rver through a plain proxy (no faults), so that S3
 * can be stopped and a new s3rver (on another port) put behind the same
 * endpoint. One worker: the batch runs in order. When the first message's
 * log line appears, s3rver is stopped; whatever was not finished by then
 * must come back for retry (the last message certainly), before the
 * deadline; what was finished must not.
 *
 * Why the 8 s budget holds whatever the jitter: with S3 gone, each later
 * ref ends on its first call (the HEAD of the idempotency check), after
 * max_attempts (5) failed attempts, each refused at once, and at most
 * 100 + 200 + 400 + 800 ms of backoff: <= 1.5 s a ref, 4 refs <= 6 s, on
 * top of the first message's ~0.5 s.
 */
Test(lambda_e2e, s3_down_mid_batch_is_temporary_and_the_runtime_goes_on)
{
	enum { N = 5, BUDGET = 8000 };
	const char *ids[N] = { "m0", "m1", "m2", "m3", "m4" };
	char *bodies[N], keys[N][32], *event, failures[256], want[256] = "";
	const char *env[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", NULL };
	struct rtemu_result r;
	struct rtemu_stats stats;
	json_t *reply, *line, *doc;
	const char *type, *msg;
	char rid[RTEMU_ID_SIZE], err[IMGP_ERRSIZE] = "";
	double t0, ms;

	for(int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "batch/%d.jpg", i);
		put_testdata(SRC, keys[i], "samples/landscape.jpg");
		bodies[i] = s3_event1(SRC, keys[i]);
	}
	event = sqs_event(ids, bodies, N);
	/* the child's S3 is the proxy: the fixture's endpoint while one runs */
	cr_assert(proxy_start(&fx.proxy, fx.srv.port, FAULT_NONE, 0));
	start_lambda(env);

	t0 = rtemu_now_ms();
	cr_assert_eq(rtemu_push(fx.emu, event, strlen(event), BUDGET, NULL, rid), 0);
	line = wait_job_line(keys[0], 0, BUDGET);
	cr_assert_str_eq(str_at(line, "status"), "OK", "%s", str_at(line, "message"));
	json_decref(line);
	s3srv_stop(&fx.srv);
	cr_log_info("s3 down mid batch: s3rver stopped %.0f ms after the push", rtemu_now_ms() - t0);
	cr_assert_eq(rtemu_wait(fx.emu, rid, BUDGET + 30000, &r), 0, "no outcome");
	ms = rtemu_now_ms() - t0;
	cr_log_info("s3 down mid batch: reply after %.0f ms of an %d ms budget", ms, BUDGET);
	cr_expect_lt(ms, BUDGET, "the reply came %.0f ms after the push, past the deadline", ms);
	reply = reply_of(&r);
	failures_of(reply, failures, sizeof(failures));
	/* listed: exactly the messages whose ref failed for a temporary reason */
	for(int i = 0; i < N; i++) {
		json_t *l = job_line(keys[i], 0);
		const char *status;

		cr_assert_not_null(l, "no log line for %s", keys[i]);
		status = str_at(l, "status");
		if(strcmp(status, "OK")) {
			cr_expect(!strcmp(status, "NetworkError") || !strcmp(status, "DeadlineExceeded"),
			          "%s: %s: %s", keys[i], status, str_at(l, "message"));
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
			         *want ? "," : "", ids[i]);
		}
		cr_log_info("s3 down mid batch: %s %s (%s)", keys[i], status, str_at(l, "message"));
		json_decref(l);
	}
	cr_expect_str_eq(failures, want);
	cr_expect(!strstr(failures, "m0"), "the finished message is sent back: %s", failures);
	cr_expect(strstr(failures, "m4"), "the last message is not sent back: %s", failures);
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);

	/* an S3 event while S3 is down fails as a whole, before its deadline */
	event = bodies[N - 1];
	ms = invoke(event, BUDGET, &r);
	type = error_of(&r, &doc, &msg);
	cr_expect_str_eq(type, "NetworkError", "%s", msg);
	cr_expect(strstr(msg, keys[N - 1]), "%s", msg);
	cr_expect_lt(ms, BUDGET, "the /error came after %.0f ms, past the deadline", ms);
	cr_log_info("s3 down: S3 event /error %s after %.0f ms: %s", type, ms, msg);
	json_decref(doc);
	rtemu_result_release(&r);

	/* S3 is back (a new s3rver behind the same endpoint): the next works */
	cr_assert(s3srv_start(&fx.srv, buckets), "s3rver did not start again");
	__atomic_store_n(&fx.proxy.upstream_port, fx.srv.port, __ATOMIC_SEQ_CST);
	s3test_env(fx.srv.endpoint);
	imgp_store_close(fx.st);
	fx.st = NULL;
	cr_assert_eq(imgp_store_open("s3", &fx.st, err), IMGP_OK, "%s", err);
	put_testdata(SRC, keys[N - 1], "samples/landscape.jpg");
	for(int i = 0; i < N; i++)
		free(bodies[i]);
	event = s3_event1(SRC, keys[N - 1]);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_assert_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	cr_expect_str_eq(keys_of(DST), "manifest/batch/4.json|medium/batch/4.webp|thumb/batch/4.jpg");
	rtemu_stats(fx.emu, &stats);
	cr_expect_eq(stats.refused, 0, "the runtime made a request the API refused");
	cr_expect_eq(stats.accepted, 3);
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
}

/* ---- 6. the loop guard -------------------------------------------------- */

Test(lambda_e2e, loop_guard_refuses_variants_and_writes_nothing)
{
	/* one bucket: sources under in/, variants under out/ */
	const char *env[] = { "IMGPIPE_DEST_BUCKET", "IMGPIPE_SOURCE_BUCKET=" SRC,
	                      "IMGPIPE_SOURCE_PREFIX=in/", "IMGPIPE_DEST_PREFIX=out/", NULL };
	struct imgp_meta stamp[] = { { (char *)IMGP_META_SOURCE, (char *)"in/original.jpg" } };
	char *path = tu_data("samples/landscape.jpg"), *event, *before;
	json_t *recs[3], *reply;
	struct rtemu_result r;
	size_t len;
	void *data = tu_read(path, &len);

	cr_assert_not_null(data);
	put_bytes(SRC, "out/thumb/cat.jpg", data, len, NULL, 0);      /* under the dest prefix */
	put_bytes(SRC, "in/stamped.jpg", data, len, stamp, 1);         /* an imgpipe variant */
	put_bytes(SRC, "in/cat.jpg", data, len, NULL, 0);              /* a real upload */
	before = keys_of(SRC);
	start_lambda(env);

	recs[0] = s3_record(SRC, "out/thumb/cat.jpg");
	recs[1] = s3_record(SRC, "in/stamped.jpg");
	event = s3_event(recs, 2);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_expect_str_eq(str_at(result_at(reply, 0), "status"), "LoopGuard", "%s", r.body);
	cr_expect(strstr(str_at(result_at(reply, 0), "message"), "destination key space"),
	          "%s", r.body);
	cr_expect_str_eq(str_at(result_at(reply, 1), "status"), "LoopGuard", "%s", r.body);
	cr_expect(strstr(str_at(result_at(reply, 1), "message"), "is an imgpipe variant"),
	          "%s", r.body);
	cr_expect_str_eq(keys_of(SRC), before, "the loop guard let something be written");
	cr_expect_str_eq(keys_of(DST), "");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);

	/* the same function does its work on a real upload, into out/ */
	event = s3_event1(SRC, "in/cat.jpg");
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_expect_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	cr_expect_str_eq(keys_of(SRC), "in/cat.jpg|in/stamped.jpg|out/manifest/in/cat.json|out/medium/in/cat.webp|"
	                 "out/thumb/cat.jpg|out/thumb/in/cat.jpg");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
	free(before);
	free(data);
	free(path);
}

Test(lambda_e2e, loop_config_is_an_init_error)
{
	static const char *const cases[][4] = {
		/* the whole bucket triggers; variants would land in it */
		{ "IMGPIPE_DEST_BUCKET", "IMGPIPE_SOURCE_PREFIX=", "IMGPIPE_DEST_PREFIX=thumbs/", NULL },
		/* the destination prefix is inside the source prefix */
		{ "IMGPIPE_DEST_BUCKET", "IMGPIPE_SOURCE_PREFIX=in/", "IMGPIPE_DEST_PREFIX=in/thumbs/", NULL },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rtemu_result r;
		struct rtemu_stats stats;
		json_t *doc;
		const char *msg;
		int status;

		if(i) {
			rtemu_stop(fx.emu);
			fx.emu = NULL;
			cr_assert_eq(rtemu_start(&fx.emu), 0);
		}
		spawn(cases[i]);
		cr_assert_eq(rtemu_init_error(fx.emu, 20000, &r), 0, "case %zu: no /init/error", i);
		cr_assert_eq(r.kind, RTEMU_INIT_ERROR);
		cr_assert_str_eq(r.error_type, "ConfigError");
		doc = json_loadb(r.body, r.len, 0, NULL);
		cr_assert_not_null(doc);
		cr_expect_str_eq(str_at(doc, "errorType"), "ConfigError");
		msg = str_at(doc, "errorMessage");
		cr_expect(strstr(msg, "IMGPIPE_DEST_PREFIX=") && strstr(msg, "trigger"), "%s", msg);
		cr_log_info("loop config %zu: %s", i, msg);
		status = fx_wait(&fx, 10000);
		cr_expect_eq(status, 2, "case %zu: exit %d", i, status);
		rtemu_stats(fx.emu, &stats);
		cr_expect_eq(stats.nexts, 0, "an invocation was asked for after a failed init");
		json_decref(doc);
		rtemu_result_release(&r);
	}
}

/* ---- 7. a malformed event ----------------------------------------------- */

Test(lambda_e2e, malformed_event_is_a_usage_error_and_the_next_works)
{
	static const char *const bad[] = {
		"{\"hello\":\"world\",\"count\":3}",
		"this is not JSON",
		"{\"Records\":[{\"eventSource\":\"aws:s3\",\"s3\":{\"bucket\":{\"name\":\"uploads\"}}}]}",
	};
	static const char *const says[] = { "\"hello\"", "JSON", "no s3.object" };
	struct rtemu_result r;
	json_t *doc, *reply;
	const char *msg;
	char *event;

	put_testdata(SRC, "fine.jpg", "samples/landscape.jpg");
	start_lambda(NULL);
	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		invoke(bad[i], 10000, &r);
		cr_assert_str_eq(error_of(&r, &doc, &msg), "UsageError", "%s", r.body);
		cr_expect(strstr(msg, says[i]), "message for %s: %s", bad[i], msg);
		cr_log_info("malformed event %zu: UsageError: %s", i, msg);
		json_decref(doc);
		rtemu_result_release(&r);
	}
	cr_expect_str_eq(keys_of(DST), "");
	event = s3_event1(SRC, "fine.jpg");
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_expect_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	cr_expect_str_eq(keys_of(DST), "manifest/fine.json|medium/fine.webp|thumb/fine.jpg");
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
}

/* ---- 7b. Lambda's advanced logging controls ------------------------------ */

/* Every non-empty line of text parsed as a JSON object into lines[] (at
 * most max); fails the test on a line that is not one. */
static size_t json_lines(const char *what, char *text, json_t **lines, size_t max)
{
	char *line, *save = NULL;
	size_t n = 0;

	for(line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);

		cr_assert(json_is_object(doc), "%s: a line that is not a JSON object: %s", what, line);
		cr_assert_lt(n, max, "%s: more than %zu lines", what, max);
		lines[n++] = doc;
	}
	return n;
}

/*
 * AWS_LAMBDA_LOG_LEVEL=ERROR with AWS_LAMBDA_LOG_FORMAT=JSON, as Lambda sets
 * them for a function configured so: a good upload logs nothing but its EMF
 * record (its metrics, at a level Lambda's filter passes), a bad one its
 * whole line; every line on stdout and stderr is JSON.
 */
Test(lambda_e2e, log_level_error_leaves_only_the_metrics_of_a_good_upload)
{
	const char *env[] = { "AWS_LAMBDA_LOG_LEVEL=ERROR", "AWS_LAMBDA_LOG_FORMAT=JSON", NULL };
	struct rtemu_result r;
	json_t *lines[8], *reply, *m;
	char *event, *out, *err;
	size_t n;

	put_testdata(SRC, "good.jpg", "samples/landscape.jpg");
	put_testdata(SRC, "bad.jpg", "bad/truncated.jpg");
	start_lambda(env);
	event = s3_event1(SRC, "good.jpg");
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_assert_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);

	out = fx_read_stdout(&fx);
	n = json_lines("stdout", out, lines, 8);
	cr_assert_eq(n, 1, "a good upload at ERROR wrote %zu lines, not its EMF record alone", n);
	m = lines[0];
	cr_expect_str_eq(str_at(m, "record"), "metrics");
	cr_expect_str_eq(str_at(m, "level"), "error", "Lambda would drop it below ERROR");
	cr_expect_str_eq(str_at(m, "Trigger"), "s3");
	cr_expect_not_null(json_object_get(json_object_get(m, "_aws"), "CloudWatchMetrics"));
	cr_expect_gt(json_number_value(json_object_get(m, "TotalMs")), 0);
	cr_expect_eq(json_integer_value(json_object_get(m, "Variants")), 2);
	cr_expect_eq(json_integer_value(json_object_get(m, "Failed")), 0);
	cr_expect_null(json_object_get(m, "key"), "the record names the upload");
	cr_expect_null(json_object_get(m, "message"));
	json_decref(m);
	free(out);

	/* a corrupt upload is an error: its whole line */
	event = s3_event1(SRC, "bad.jpg");
	invoke(event, 30000, &r);
	rtemu_result_release(&r);
	free(event);
	m = job_line("bad.jpg", 0);
	cr_assert_not_null(m, "no line for the corrupt upload");
	cr_expect_str_eq(str_at(m, "level"), "error");
	cr_expect_str_eq(str_at(m, "status"), "CorruptImage");
	cr_expect_eq(json_integer_value(json_object_get(m, "Failed")), 1);
	json_decref(m);

	/* a malformed event: its error line, JSON, with the request id */
	invoke("this is not JSON", 10000, &r);
	rtemu_result_release(&r);
	out = fx_read_stdout(&fx);
	n = json_lines("stdout", out, lines, 8);
	cr_assert_eq(n, 3, "stdout: %zu lines", n);
	cr_expect_str_eq(str_at(lines[2], "level"), "error");
	cr_expect(strstr(str_at(lines[2], "message"), "JSON"), "%s", str_at(lines[2], "message"));
	cr_expect_not_null(json_object_get(lines[2], "request_id"));
	for(size_t i = 0; i < n; i++)
		json_decref(lines[i]);
	free(out);
	err = fx_read_stderr(&fx);
	n = json_lines("stderr", err, lines, 8);
	for(size_t i = 0; i < n; i++)
		json_decref(lines[i]);
	free(err);
}

/* With the JSON format an init error's diagnostics on stderr are JSON too;
 * with the Text format they are the plain "imgpipe: ..." lines. */
Test(lambda_e2e, log_format_json_makes_the_diagnostics_json)
{
	static const char *const formats[] = { "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_FORMAT=Text" };

	for(size_t i = 0; i < 2; i++) {
		const char *env[] = { "IMGPIPE_DEST_BUCKET", "IMGPIPE_SOURCE_PREFIX=",
		                      "IMGPIPE_DEST_PREFIX=thumbs/", formats[i], NULL };
		struct rtemu_result r;
		json_t *lines[8];
		char *err;
		size_t n;

		if(i) {
			rtemu_stop(fx.emu);
			fx.emu = NULL;
			cr_assert_eq(rtemu_start(&fx.emu), 0);
		}
		spawn(env);
		cr_assert_eq(rtemu_init_error(fx.emu, 20000, &r), 0, "no /init/error");
		rtemu_result_release(&r);
		cr_expect_eq(fx_wait(&fx, 10000), 2);
		err = fx_read_stderr(&fx);
		if(i == 0) {
			n = json_lines("stderr", err, lines, 8);
			cr_assert_geq(n, 1, "no diagnostic for the init error");
			cr_expect_str_eq(str_at(lines[0], "level"), "fatal");
			cr_expect_str_eq(str_at(lines[0], "logger"), "imgpipe");
			cr_expect_not_null(json_object_get(lines[0], "timestamp"));
			cr_expect(strstr(str_at(lines[0], "message"), "IMGPIPE_DEST_PREFIX="), "%s",
			          str_at(lines[0], "message"));
			for(size_t k = 0; k < n; k++)
				json_decref(lines[k]);
		} else {
			cr_expect(!strncmp(err, "imgpipe: lambda: init: ", 23), "Text: %s", err);
		}
		free(err);
	}
}

/* ---- 8. redelivery ------------------------------------------------------- */

Test(lambda_e2e, redelivered_event_does_no_work_twice)
{
	static const char key[] = "again/landscape.jpg";
	static const char *const variants[] = { "thumb/again/landscape.jpg",
	                                        "medium/again/landscape.webp" };
	char *event, *lm[2];
	struct rtemu_result r;
	struct timespec pause = { 1, 200 * 1000000L };
	json_t *reply, *line;

	put_testdata(SRC, key, "samples/landscape.jpg");
	start_lambda(NULL);
	event = s3_event1(SRC, key);
	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_assert_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	cr_assert_str_eq(str_at(result_at(reply, 0), "message"), "2 variants written");
	json_decref(reply);
	rtemu_result_release(&r);
	for(int i = 0; i < 2; i++)
		lm[i] = last_modified(variants[i]);
	/* Last-Modified has whole seconds: a rewrite now would show */
	nanosleep(&pause, NULL);

	invoke(event, 30000, &r);
	reply = reply_of(&r);
	cr_expect_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
	cr_expect_str_eq(str_at(result_at(reply, 0), "message"), "already done for this version");
	cr_expect_null(json_object_get(result_at(reply, 0), "outputs"));
	line = job_line(key, 1);
	cr_assert_not_null(line, "no second log line");
	cr_expect_str_eq(str_at(line, "message"), "already done for this version");
	cr_expect(json_is_true(json_object_get(line, "skipped")));
	cr_expect_eq(num_at(line, "GetMs"), 0);
	cr_expect_eq(num_at(line, "PutMs"), 0);
	cr_expect_eq(num_at(line, "BytesOut"), 0);
	json_decref(line);
	for(int i = 0; i < 2; i++) {
		char *now = last_modified(variants[i]);

		cr_expect_str_eq(now, lm[i], "%s was written again", variants[i]);
		free(now);
		free(lm[i]);
	}
	json_decref(reply);
	rtemu_result_release(&r);
	free(event);
}

/* ---- 9. the deadline reserve -------------------------------------------- */

Test(lambda_e2e, no_source_started_inside_the_deadline_reserve)
{
	const char *env[] = { "IMGPIPE_DEADLINE_RESERVE_MS=60000", NULL };
	const char *ids[] = { "d0", "d1" };
	char *bodies[2], *event, failures[128];
	struct rtemu_result r;
	json_t *reply, *doc, *line;
	const char *msg;
	double ms;

	put_testdata(SRC, "late/0.jpg", "samples/landscape.jpg");
	put_testdata(SRC, "late/1.jpg", "samples/portrait.jpg");
	bodies[0] = s3_event1(SRC, "late/0.jpg");
	bodies[1] = s3_event1(SRC, "late/1.jpg");
	event = sqs_event(ids, bodies, 2);
	start_lambda(env);

	ms = invoke(event, 5000, &r);
	reply = reply_of(&r);
	failures_of(reply, failures, sizeof(failures));
	cr_expect_str_eq(failures, "d0,d1", "%s", r.body);
	cr_expect_lt(ms, 5000);
	line = job_line("late/1.jpg", 0);
	cr_assert_not_null(line);
	cr_expect_str_eq(str_at(line, "status"), "DeadlineExceeded");
	cr_expect(strstr(str_at(line, "message"), "not started"), "%s", str_at(line, "message"));
	cr_expect_eq(num_at(line, "GetMs"), 0, "the source was fetched");
	json_decref(line);
	json_decref(reply);
	rtemu_result_release(&r);

	ms = invoke(bodies[0], 5000, &r);
	cr_expect_str_eq(error_of(&r, &doc, &msg), "DeadlineExceeded", "%s", msg);
	cr_expect(strstr(msg, "late/0.jpg"), "%s", msg);
	cr_expect_lt(ms, 5000);
	cr_expect_str_eq(keys_of(DST), "", "a source was started inside the reserve");
	json_decref(doc);
	rtemu_result_release(&r);
	free(event);
	free(bodies[0]);
	free(bodies[1]);
}

/* ---- measurements (logged, never asserted) ------------------------------- */

/* A 4000x3000 JPEG at Q85, from landscape.jpg enlarged: a phone photo. */
static void *twelve_megapixels(size_t *len)
{
	char *path = tu_data("samples/landscape.jpg");
	VipsImage *in = vips_image_new_from_file(path, NULL), *big = NULL;
	void *buf = NULL;

	cr_assert_not_null(in);
	cr_assert_eq(vips_resize(in, &big, 4000.0 / in->Xsize, "vscale", 3000.0 / in->Ysize, NULL), 0,
	             "%s", vips_error_buffer());
	cr_assert_eq(big->Xsize, 4000);
	cr_assert_eq(big->Ysize, 3000);
	cr_assert_eq(vips_jpegsave_buffer(big, &buf, len, "Q", 85, NULL), 0, "%s", vips_error_buffer());
	g_object_unref(big);
	g_object_unref(in);
	free(path);
	return buf;
}

Test(lambda_e2e, measure_cold_start_and_a_12_megapixel_upload)
{
	const char *env[] = {
		"IMGPIPE_VARIANTS=thumb=320x320,fit=cover;medium=800x800,format=webp,q=75;large=1600x",
		NULL };
	static const char *const keys[] = { "camera/IMG_0001.jpg", "camera/IMG_0002.jpg" };
	size_t len;
	void *jpeg = twelve_megapixels(&len);
	double cold;

	for(int i = 0; i < 2; i++)
		put_bytes(SRC, keys[i], jpeg, len, NULL, 0);
	cold = start_lambda(env);
	cr_log_info("MEASURE cold start: %.1f ms from fork to the first /next", cold);
	for(int i = 0; i < 2; i++) {
		char *event = s3_event1(SRC, keys[i]);
		struct rtemu_result r;
		json_t *reply, *line;
		double ms = invoke(event, 60000, &r);

		reply = reply_of(&r);
		cr_assert_str_eq(str_at(result_at(reply, 0), "status"), "OK", "%s", r.body);
		cr_assert_eq(json_array_size(json_object_get(result_at(reply, 0), "outputs")), 3);
		line = job_line(keys[i], 0);
		cr_assert_not_null(line);
		cr_log_info("MEASURE 12 MP upload (4000x3000 JPEG Q85, %zu bytes, 3 variants, %s "
		            "invocation, %ld CPUs): GetMs %.1f DecodeMs %.1f ResizeMs %.1f "
		            "EncodeMs %.1f PutMs %.1f TotalMs %.1f; BytesOut %.0f, PeakRssMB %.1f; "
		            "push to reply %.1f ms",
		            len, i ? "second (warm)" : "first", sysconf(_SC_NPROCESSORS_ONLN),
		            num_at(line, "GetMs"), num_at(line, "DecodeMs"), num_at(line, "ResizeMs"),
		            num_at(line, "EncodeMs"), num_at(line, "PutMs"), num_at(line, "TotalMs"),
		            num_at(line, "BytesOut"), num_at(line, "PeakRssMB"), ms);
		json_decref(line);
		json_decref(reply);
		rtemu_result_release(&r);
		free(event);
	}
	g_free(jpeg);
}
