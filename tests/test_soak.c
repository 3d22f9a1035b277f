/*
 * test_soak.c: a warm sandbox's life. The real `imgpipe lambda` process
 * serves a long run of invocations in a row against s3rver and the
 * Runtime API emulator: good photos of many sizes and formats, corrupt
 * files, decompression bombs, missing keys, malformed events and SQS
 * batches mixing them. Every reply is checked against what that case must
 * give, and the child's resident memory, open descriptors and threads are
 * read from /proc at the start (after init), after warm-up and at the end.
 *
 * By default a short run (SOAK_SHORT invocations) is part of `make test`;
 * IMGPIPE_SOAK=full (`make soak`) runs SOAK_FULL. IMGPIPE_SOAK=N runs N.
 *
 * The allocator is the one the container image uses (Dockerfile: glibc
 * malloc with MALLOC_ARENA_MAX=2, chosen there by measurement). Never
 * jemalloc through LD_PRELOAD: a sanitizer build brings its own allocator
 * and refuses to start under another one.
 *
 * The flatness bound: after warm-up, RSS at the end may exceed the largest
 * RSS seen during warm-up by at most SOAK_RSS_SLACK_MB. Warm-up has
 * decoded every image of the mix at least a few times, so libvips' buffers,
 * the thread pool and the allocator's caches are at their working size;
 * what stays is leak. 16 MB over 1,800 post-warm-up invocations catches a
 * leak of 9 KB per invocation (a key, a reply, a header list) and tolerates
 * the allocator's own steps, which are a few MB.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "lib/rtemu.h"
#include "lib/events.h"
#include "lib/fixture.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"
#define SOAK_SHORT 300
#define SOAK_FULL 2400
#define SOAK_WARMUP_SHORT 100
#define SOAK_WARMUP_FULL 200
#define SOAK_RSS_SLACK_MB 16

/* What one case must give back. */
enum expect { OK, PERMANENT, USAGE, SQS_NONE };

struct soak_case {
	const char *name;
	const char *key;        /* source key; NULL: the event is given whole */
	const char *rel;        /* test image under IMGPIPE_TESTDATA; NULL: not uploaded */
	const char *status;     /* results[0].status wanted */
	enum expect expect;
	const char *raw;        /* a whole event (malformed ones) */
};

static const struct soak_case cases[] = {
	{ "landscape 3000x2000 jpeg", "p/landscape.jpg", "samples/landscape.jpg", "OK", OK, NULL },
	{ "logo png alpha", "p/logo.png", "samples/logo.png", "OK", OK, NULL },
	{ "texture webp", "p/deep/texture.webp", "samples/nested/deep/texture.webp", "OK", OK, NULL },
	{ "gif", "p/rgb.gif", "formats/rgb.gif", "OK", OK, NULL },
	{ "tiff", "p/rgb.tif", "formats/rgb.tif", "OK", OK, NULL },
	{ "cmyk with profile", "p/cmyk.jpg", "colour/cmyk-profile.jpg", "OK", OK, NULL },
	{ "16-bit grey png", "p/grey16.png", "colour/grey16.png", "OK", OK, NULL },
	{ "alpha webp", "p/alpha.webp", "colour/alpha.webp", "OK", OK, NULL },
	{ "animated gif", "p/anim.gif", "anim/anim.gif", "OK", OK, NULL },
	{ "orientation 6", "p/orient-6.jpg", "orient/orient-6.jpg", "OK", OK, NULL },
	{ "portrait jpeg", "p/portrait.jpg", "samples/portrait.jpg", "OK", OK, NULL },
	{ "corrupt jpeg", "bad/corrupt.jpg", "bad/corrupt.jpg", NULL, PERMANENT, NULL },
	{ "truncated png", "bad/truncated.png", "bad/truncated.png", NULL, PERMANENT, NULL },
	{ "text as jpeg", "bad/text.jpg", "bad/text.jpg", "NotAnImage", PERMANENT, NULL },
	{ "empty file", "bad/zero.jpg", "bad/zero.jpg", "NotAnImage", PERMANENT, NULL },
	{ "pdf", "bad/doc.pdf", "bad/doc.pdf", NULL, PERMANENT, NULL },
	{ "png bomb", "bad/bomb.png", "bad/bomb.png", "OverLimit", PERMANENT, NULL },
	{ "missing key", "gone/never-uploaded.jpg", NULL, "NotFound", PERMANENT, NULL },
	{ "not json", NULL, NULL, NULL, USAGE, "{\"Records\": [" },
	{ "unknown shape", NULL, NULL, NULL, USAGE, "{\"hello\": \"world\"}" },
	{ "sqs batch: good, corrupt, missing", NULL, NULL, NULL, SQS_NONE, NULL },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const char *const buckets[] = { SRC, DST, NULL };

FX_SUITE(soak, buckets, true, .timeout = 3600);

static void put_testdata(const char *key, const char *rel)
{
	cr_assert(fx_put_testdata(&fx, SRC, key, rel, "application/octet-stream"), "%s", fx.error);
}

/* An S3 notification of bucket/key, without an ETag so that every
 * invocation does the whole work again (no idempotent skip). */
static char *s3_event(const char *key)
{
	char *text = tu_s3_event(&(struct tu_object){ SRC, key, NULL, -1 }, 1);

	cr_assert_not_null(text);
	return text;
}

static char *sqs_event(void)
{
	const char *keys[] = { "p/orient-6.jpg", "bad/corrupt.jpg", "gone/never.jpg" };
	const char *ids[] = { "msg-0", "msg-1", "msg-2" };
	char *bodies[3], *text;

	for(size_t i = 0; i < 3; i++)
		bodies[i] = s3_event(keys[i]);
	text = tu_sqs_event(ids, (const char *const *)bodies, 3);
	for(size_t i = 0; i < 3; i++)
		free(bodies[i]);
	return text;
}

/* ---- the child and /proc ---------------------------------------------- */

/*
 * Start the child. leakcheck: it serves max invocations and exits, with
 * LeakSanitizer on at its exit (it must be a sanitizer build) and
 * tests/lsan.supp hiding libvips' and glib's lifetime caches only.
 */
static void spawn(bool leakcheck, long max)
{
	static const char *const args[] = { "lambda", NULL };
	char maxenv[64], lsan[4300];
	const char *set[] = {
		"IMGPIPE_VARIANTS=thumb=160x160,fit=cover;medium=400x,format=webp",
		"IMGPIPE_DEST_BUCKET=" DST, "IMGPIPE_MAX_PIXELS=40000000",
		/* 2 vCPUs' worth: the job's threads and libvips' pool both in play */
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=3538",
		"MALLOC_ARENA_MAX=2", NULL, NULL, NULL };

	if(leakcheck) {
		snprintf(maxenv, sizeof(maxenv), "IMGPIPE_MAX_INVOCATIONS=%ld", max);
		snprintf(lsan, sizeof(lsan), "LSAN_OPTIONS=suppressions=%s/tests/lsan.supp:"
		         "print_suppressions=0", tu_srcdir());
		set[4] = maxenv;
		set[5] = lsan;
		set[6] = "ASAN_OPTIONS=detect_leaks=1";
	}
	cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
}

struct sample {
	long rss_kb;
	int fds, threads;
};

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if(!d)
		return -1;
	while((de = readdir(d)))
		if(de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct sample sample_child(void)
{
	struct sample s = { -1, -1, -1 };
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)fx.child);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while(fgets(line, sizeof(line), f))
		if(!strncmp(line, "VmRSS:", 6))
			s.rss_kb = strtol(line + 6, NULL, 10);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)fx.child);
	s.fds = count_dir(path);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)fx.child);
	s.threads = count_dir(path);
	return s;
}

/* ---- one invocation ----------------------------------------------------- */

static const char *status_at(json_t *reply)
{
	json_t *r = json_array_get(json_object_get(reply, "results"), 0);

	return json_string_value(json_object_get(r, "status"));
}

static void check(const struct soak_case *c, const struct rtemu_result *r, long i)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	const char *status;

	cr_assert_not_null(doc, "#%ld %s: not JSON: %s", i, c->name, r->body);
	switch(c->expect) {
	case USAGE:
		cr_assert_eq(r->kind, RTEMU_ERROR, "#%ld %s: kind %d %s", i, c->name, r->kind, r->body);
		cr_assert_str_eq(r->error_type, "UsageError", "#%ld %s", i, c->name);
		break;
	case SQS_NONE:
		/* every failure of the batch is permanent: nothing to retry */
		cr_assert_eq(r->kind, RTEMU_RESPONSE, "#%ld %s: %s", i, c->name, r->body);
		cr_assert(json_is_array(json_object_get(doc, "batchItemFailures")) &&
		          json_array_size(json_object_get(doc, "batchItemFailures")) == 0,
		          "#%ld %s: %s", i, c->name, r->body);
		break;
	default:
		cr_assert_eq(r->kind, RTEMU_RESPONSE, "#%ld %s: kind %d %s %s", i, c->name,
		             r->kind, r->error_type ? r->error_type : "", r->body);
		status = status_at(doc);
		cr_assert_not_null(status, "#%ld %s: %s", i, c->name, r->body);
		if(c->status)
			cr_assert_str_eq(status, c->status, "#%ld %s: %s", i, c->name, r->body);
		else
			cr_assert(strcmp(status, "OK") && !strstr("OutOfMemory NetworkError Throttled "
			          "ServerError Timeout DeadlineExceeded InternalError", status),
			          "#%ld %s: wanted a permanent failure: %s", i, c->name, r->body);
		break;
	}
	json_decref(doc);
}

/* A variant of a good case is where the reply says it is. */
static void check_written(const struct soak_case *c)
{
	char key[256];
	struct imgp_object o;
	struct imgp_store_error e;
	const char *dot = strrchr(c->key, '.');

	snprintf(key, sizeof(key), "medium/%.*s.webp", (int)(dot - c->key), c->key);
	imgp_object_init(&o);
	cr_assert_eq(imgp_store_head(fx.st, DST, key, &o, &e), IMGP_OK, "%s: %s", key, e.msg);
	imgp_object_release(&o);
}

/* Invocation i of the mix: push it, wait, check the reply. */
static void invoke_case(long i, const char *sqs, long *counts)
{
	/* a fixed, spread order: i * 7 walks every case, never two alike in a row */
	const struct soak_case *c = &cases[(size_t)(i * 7) % NCASES];
	char id[RTEMU_ID_SIZE], *event;
	struct rtemu_result r;

	event = c->raw ? strdup(c->raw) : c->key ? s3_event(c->key) : strdup(sqs);
	cr_assert_eq(rtemu_push(fx.emu, event, strlen(event), 60000, NULL, id), 0);
	if(rtemu_wait(fx.emu, id, 90000, &r)) {
		char *e = fx_read_stderr(&fx);
		cr_assert_fail("#%ld %s: no outcome; child stderr:\n%s", i, c->name, e);
	}
	check(c, &r, i);
	if(c->expect == OK && counts[c - cases] == 0)
		check_written(c);
	counts[c - cases]++;
	rtemu_result_release(&r);
	free(event);
}

static long soak_count(long *warmup)
{
	const char *v = getenv("IMGPIPE_SOAK");

	*warmup = SOAK_WARMUP_SHORT;
	if(v && !strcmp(v, "full")) {
		*warmup = SOAK_WARMUP_FULL;
		return SOAK_FULL;
	}
	if(v && atol(v) > 0) {
		*warmup = atol(v) > 4 * SOAK_WARMUP_FULL ? SOAK_WARMUP_FULL : atol(v) / 3;
		return atol(v);
	}
	return SOAK_SHORT;
}

Test(soak, a_warm_sandbox_stays_flat_and_right)
{
	char *sqs;
	struct sample start, warm, end, peak_warm = { 0, 0, 0 };
	long warmup, total = soak_count(&warmup), counts[NCASES] = { 0 };
	double t0;

	for(size_t i = 0; i < NCASES; i++)
		if(cases[i].rel)
			put_testdata(cases[i].key, cases[i].rel);
	sqs = sqs_event();
	spawn(false, 0);
	if(rtemu_wait_nexts(fx.emu, 1, 30000)) {
		char *said = fx_read_stderr(&fx);

		cr_assert_fail("no /next from imgpipe lambda; it said:\n%.2000s", said);
	}
	start = sample_child();
	t0 = rtemu_now_ms();

	for(long i = 0; i < total; i++) {
		/* a fixed, spread order: i * 7 walks every case, never two alike in a row */
		invoke_case(i, sqs, counts);
		if(i < warmup) {
			struct sample s = sample_child();

			if(s.rss_kb > peak_warm.rss_kb)
				peak_warm.rss_kb = s.rss_kb;
			if(s.fds > peak_warm.fds)
				peak_warm.fds = s.fds;
			if(s.threads > peak_warm.threads)
				peak_warm.threads = s.threads;
		}
		if(i + 1 == warmup)
			warm = sample_child();
	}
	end = sample_child();
	free(sqs);

	fprintf(stderr, "soak: %ld invocations in %.0f s (%s); RSS start %ld kB, after %ld "
	        "warm-up %ld kB (peak %ld kB), end %ld kB; fds %d/%d/%d; threads %d/%d/%d\n",
	        total, (rtemu_now_ms() - t0) / 1000,
	        "glibc, MALLOC_ARENA_MAX=2",
	        start.rss_kb, warmup, warm.rss_kb, peak_warm.rss_kb, end.rss_kb,
	        start.fds, warm.fds, end.fds, start.threads, warm.threads, end.threads);
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer's quarantine holds freed memory back on purpose, so
	 * RSS says nothing here; the plain build (make test, make soak) holds
	 * the bound, and the leak run below checks what ASan can check */
	cr_log_info("RSS not bounded under AddressSanitizer");
#else
	cr_assert_leq(end.rss_kb, peak_warm.rss_kb + SOAK_RSS_SLACK_MB * 1024,
	              "RSS grew after warm-up: peak %ld kB in warm-up, %ld kB at the end",
	              peak_warm.rss_kb, end.rss_kb);
#endif
	/* connections are kept alive or closed by the server, never more of them */
	cr_assert_leq(end.fds, peak_warm.fds, "fds: %d in warm-up, %d at the end",
	              peak_warm.fds, end.fds);
	cr_assert_leq(end.threads, peak_warm.threads, "threads: %d in warm-up, %d at the end",
	              peak_warm.threads, end.threads);
	/* the child is still serving */
	cr_assert_eq(fx_wait(&fx, 0), -1, "imgpipe lambda exited");
}

/* Is the child built with AddressSanitizer (make SANITIZE=address,...)? */
static bool child_has_asan(void)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)fx.child);
	f = fopen(path, "r");
	while(f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "libasan") != NULL;
	if(f)
		fclose(f);
	return found;
}

/*
 * A shorter run of the same mix under LeakSanitizer: the child serves
 * SOAK_LEAK_RUN invocations, exits, and LeakSanitizer reports at its exit.
 * Meaningful in `make SANITIZE=address,undefined test` (the binary under
 * test is then instrumented); skipped for a plain build.
 */
#define SOAK_LEAK_RUN ((long)(2 * NCASES))
Test(soak, a_shorter_run_leaks_nothing_of_imgpipes_own)
{
	char *sqs, *text;
	long counts[NCASES] = { 0 };
	int status;
	size_t len;

	for(size_t i = 0; i < NCASES; i++)
		if(cases[i].rel)
			put_testdata(cases[i].key, cases[i].rel);
	sqs = sqs_event();
	spawn(true, (long)SOAK_LEAK_RUN);
	cr_assert_eq(rtemu_wait_nexts(fx.emu, 1, 60000), 0, "no /next from imgpipe lambda");
	if(!child_has_asan()) {
		free(sqs);
		fx_stop(&fx);   /* a skipped test gets no .fini */
		cr_skip_test("the imgpipe under test is not a sanitizer build");
	}
	for(long i = 0; i < (long)SOAK_LEAK_RUN; i++)
		invoke_case(i, sqs, counts);
	free(sqs);
	/* -1: still running; 128 + N: ended by signal N */
	status = fx_wait(&fx, 60000);
	cr_assert(status >= 0 && status < 128, "imgpipe lambda did not exit after %d invocations",
	          (int)SOAK_LEAK_RUN);
	text = tu_read(fx.err_path, &len);
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "LeakSanitizer"), "leaks:\n%s", text);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, text);
	fprintf(stderr, "soak: %ld invocations under LeakSanitizer, no leak reported\n",
	        SOAK_LEAK_RUN);
	free(text);
}
