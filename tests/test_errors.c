/*
 * test_errors.c: every failure's message is its own image's, whatever runs
 * beside it. libvips keeps one error buffer per process, so two images
 * failing at once on two threads could each report the other's reason (a
 * PNG's failure blamed on a JPEG decoder), or none. Bad inputs of every
 * kind run among good ones, on several threads, many times over, through
 * `imgpipe resize` and through the handler (`imgpipe invoke` with a list of
 * objects, and so the reply and the JSON log lines): each message must be
 * exactly the one that file gets when it runs alone, and its class must
 * stay permanent.
 *
 * `make test` runs a short pass; `make soak` (IMGPIPE_SOAK=full) the long one.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/testutil.h"

static char *scratch;

/* Bad inputs of every kind, and the good ones they run among. */
static const struct { const char *testdata, *name; bool bad; } files[] = {
	{ "bad/truncated.jpg", "camera-truncated.jpg", true },
	{ "bad/corrupt.jpg", "corrupt-data.jpg", true },
	{ "bad/truncated.png", "truncated-png.png", true },
	{ "bad/header-only.png", "corrupt-header.png", true },
	{ "bad/text.jpg", "text.jpg", true },
	{ "bad/doc.pdf", "disguised-pdf.jpg", true },
	{ "bad/bomb.png", "bomb.png", true },
	{ "matrix/quad.jpg", "good-1.jpg", false },
	{ "matrix/quad.png", "good-2.png", false },
	{ "formats/rgb.webp", "good-3.webp", false },
	{ "matrix/quad-cmyk.jpg", "good-4.jpg", false },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

/* What each bad file gets when it runs alone: the truth to hold runs to. */
static char *alone[NFILES];

static void setup(void)
{
	tu_vips_start();
	scratch = tu_tempdir();
	cr_assert_eq(chdir(scratch), 0);
	for(size_t i = 0; i < NFILES; i++) {
		char *from = tu_data(files[i].testdata), *to;

		cr_assert(asprintf(&to, "store/up/%s", files[i].name) > 0);
		cr_assert(tu_copy(from, to), "%s", from);
		free(from);
		free(to);
	}
	unsetenv("IMGPIPE_VARIANTS");
	unsetenv("IMGPIPE_CONFIG");
}

static void teardown(void)
{
	for(size_t i = 0; i < NFILES; i++) {
		free(alone[i]);
		alone[i] = NULL;
	}
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(errors, .init = setup, .fini = teardown, .timeout = 1800);

static int runs(int short_n, int full_n)
{
	const char *soak = getenv("IMGPIPE_SOAK");

	return soak && !strcmp(soak, "full") ? full_n : short_n;
}

/* The reason printed for file in a resize's stderr, or NULL. */
static char *reason_in(const char *err, const char *name)
{
	char needle[128];
	const char *p;

	snprintf(needle, sizeof(needle), "imgpipe: store/up/%s: ", name);
	if(!(p = strstr(err, needle)))
		return NULL;
	p += strlen(needle);
	return strndup(p, strcspn(p, "\n"));
}

static int resize(const char *jobs, bool all, size_t only, char **err)
{
	/* 8 here, -o out, the files, the NULL */
	const char *argv[8 + 2 + NFILES + 1] = { tu_bin(), "resize", "--force", "-q", "-j", jobs,
	                                 "--variants", "s=64x;w=48x,format=webp" };
	int n = 8;
	char *paths[NFILES] = { NULL };

	argv[n++] = "-o";
	argv[n++] = "out";
	for(size_t i = 0; i < NFILES; i++)
		if(all || i == only) {
			cr_assert(asprintf(&paths[i], "store/up/%s", files[i].name) > 0);
			argv[n++] = paths[i];
		}
	argv[n] = NULL;
	n = tu_run(argv, NULL, err);
	for(size_t i = 0; i < NFILES; i++)
		free(paths[i]);
	return n;
}

/* The truth: each bad file alone, one thread. */
static void learn_alone(void)
{
	for(size_t i = 0; i < NFILES; i++) {
		char *err = NULL;

		if(!files[i].bad)
			continue;
		cr_assert_eq(resize("1", false, i, &err), 1, "%s alone: %s", files[i].name, err);
		alone[i] = reason_in(err, files[i].name);
		cr_assert(alone[i], "%s alone: no reason in %s", files[i].name, err);
		free(err);
	}
	/* specific where libvips is: a PNG's never blames a JPEG decoder */
	cr_assert(strstr(alone[0], "Jpeg") || strstr(alone[0], "JPEG"), "%s", alone[0]);
	cr_assert(strstr(alone[2], "png"), "%s", alone[2]);
	cr_assert(strstr(alone[5], "PDF"), "%s", alone[5]);
	cr_assert(strstr(alone[6], "megapixels"), "%s", alone[6]);
}

Test(errors, resize_on_four_threads_each_failure_says_its_own_reason)
{
	int n = runs(40, 400), wrong = 0;

	learn_alone();
	for(int r = 0; r < n; r++) {
		char *err = NULL;

		cr_assert_eq(resize(r % 2 ? "4" : "2", true, 0, &err), 1, "run %d: %s", r, err);
		for(size_t i = 0; i < NFILES; i++) {
			char *got = reason_in(err, files[i].name);

			if(!files[i].bad)
				cr_assert_null(got, "run %d: a good file failed: %s: %s", r, files[i].name, got);
			else if(!got || strcmp(got, alone[i])) {
				wrong++;
				cr_log_error("run %d: %s: \"%s\", alone \"%s\"", r, files[i].name,
				             got ? got : "(nothing)", alone[i]);
			}
			free(got);
		}
		free(err);
	}
	cr_log_info("errors: %d resize runs on 2 and 4 threads, %d misattributed messages", n, wrong);
	cr_assert_eq(wrong, 0, "%d of %zu messages were not their own file's", wrong,
	             (size_t)n * 7);
}

Test(errors, the_handler_reply_and_log_say_each_files_own_reason)
{
	int n = runs(15, 150), wrong = 0;
	char store[4200];
	json_t *ev = json_array();
	char *text;

	learn_alone();
	for(size_t i = 0; i < NFILES; i++)
		json_array_append_new(ev, json_pack("{s:s, s:s}", "bucket", "up", "key", files[i].name));
	text = json_dumps(ev, 0);
	cr_assert(tu_write("ev.json", text, strlen(text)));
	free(text);
	json_decref(ev);
	snprintf(store, sizeof(store), "dir:%s/store", scratch);
	setenv("IMGPIPE_STORE", store, 1);
	setenv("IMGPIPE_DEST_BUCKET", "sink", 1);
	setenv("IMGPIPE_VARIANTS", "s=64x;w=48x,format=webp", 1);
	/* 4 vCPUs' worth of memory: as many job threads as this machine has */
	setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "7076", 1);
	for(int r = 0; r < n; r++) {
		const char *argv[] = { tu_bin(), "invoke", "--force", "ev.json", NULL };
		char *out = NULL, *err = NULL;
		json_t *reply, *results;

		cr_assert_eq(tu_run(argv, &out, &err), 0, "run %d: %s", r, err);
		reply = json_loads(out, 0, NULL);
		results = json_object_get(reply, "results");
		cr_assert_eq(json_array_size(results), NFILES, "run %d: %s", r, out);
		for(size_t i = 0; i < NFILES; i++) {
			json_t *res = json_array_get(results, i);
			const char *status = json_string_value(json_object_get(res, "status"));
			const char *message = json_string_value(json_object_get(res, "message"));
			char logged[1200];

			cr_assert_str_eq(json_string_value(json_object_get(res, "key")), files[i].name);
			if(!files[i].bad) {
				cr_assert_str_eq(status, "OK", "run %d: %s: %s", r, files[i].name, message);
				continue;
			}
			/* permanent: never handed back for retry */
			cr_assert(!json_is_true(json_object_get(res, "retry")) &&
			          strcmp(status, "OK"), "run %d: %s: %s", r, files[i].name, out);
			if(!message || strcmp(message, alone[i])) {
				wrong++;
				cr_log_error("run %d: reply for %s: \"%s\", alone \"%s\"", r, files[i].name,
				             message ? message : "(nothing)", alone[i]);
			}
			/* the JSON log line of the same file says the same */
			snprintf(logged, sizeof(logged), "\"key\":\"%s\",\"status\":\"%s\",\"message\":",
			         files[i].name, status);
			if(!strstr(err, logged)) {
				wrong++;
				cr_log_error("run %d: no log line %s in %s", r, logged, err);
			}
		}
		json_decref(reply);
		free(out);
		free(err);
	}
	cr_log_info("errors: %d handler runs, %d misattributed messages", n, wrong);
	cr_assert_eq(wrong, 0, "%d messages in replies or logs were not their own file's", wrong);
}
