/*
 * test_cli.c: `imgpipe resize` end to end, the real binary on real files:
 * layout, exit codes, a bad file among good ones, atomic writes, what a
 * second run does (the stamps: a changed source or spec renders again, a
 * current one is skipped), the output folder never read as input, name
 * collisions, failing fast, named skips, help and version; and
 * `imgpipe invoke` re-rendering what changed, as the CLI does.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imgpipe.h"
#include "lib/manifestcheck.h"
#include "lib/testutil.h"

static char *scratch;

static void setup(void)
{
	tu_vips_start();
	scratch = tu_tempdir();
	/* the command's own defaults, whatever the shell running make had */
	unsetenv("IMGPIPE_VARIANTS");
	unsetenv("IMGPIPE_CONFIG");
	unsetenv("IMGPIPE_OUTPUT_KEY");
	unsetenv("IMGPIPE_DEST_PREFIX");
	unsetenv("IMGPIPE_STORE");
	cr_assert_eq(chdir(scratch), 0);
}

static void teardown(void)
{
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* scratch/rel */
static char *at(const char *rel)
{
	char *p;
	if(asprintf(&p, "%s/%s", scratch, rel) < 0)
		abort();
	return p;
}

/* Copy a generated test image into scratch/rel. */
static void given(const char *testdata, const char *rel)
{
	char *from = tu_data(testdata), *to = at(rel);

	cr_assert(tu_copy(from, to), "cannot copy %s", from);
	free(from);
	free(to);
}

/* Run imgpipe in scratch with up to 20 arguments; NULL ends them. */
#define imgpipe tu_imgpipe

static void assert_image(const char *rel, int w, int h)
{
	char *path = at(rel);
	VipsImage *im = vips_image_new_from_file(path, NULL);

	cr_assert(im, "%s was not written (%s)", rel, vips_error_buffer());
	cr_assert_eq(im->Xsize, w, "%s: width %d, want %d", rel, im->Xsize, w);
	cr_assert_eq(im->Ysize, h, "%s: height %d, want %d", rel, im->Ysize, h);
	g_object_unref(im);
	free(path);
}

static struct timespec mtime_of(const char *rel)
{
	char *path = at(rel);
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s missing", rel);
	free(path);
	return st.st_mtim;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

Test(cli, folder_layout_is_kept_below_the_named_folder)
{
	char *out, *err;

	given("samples/landscape.jpg", "in/photos/2024/cat.jpg");
	given("samples/logo.png", "in/photos/logo.png");
	given("samples/README.txt", "in/photos/notes.txt");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out",
	                     "--variants", "thumb=320x320,fit=cover;big=1600x", "in", NULL), 0, "%s", err);
	assert_image("out/thumb/in/photos/2024/cat.jpg", 320, 320);
	assert_image("out/big/in/photos/2024/cat.jpg", 1600, 1067);
	assert_image("out/thumb/in/photos/logo.webp", 320, 320);
	/* and each source's manifest, beside the variants */
	cr_assert(tu_exists("out/manifest/in/photos/2024/cat.json"));
	cr_assert(tu_exists("out/manifest/in/photos/logo.json"));
	cr_assert_eq(tu_count_files("out", NULL), 6, "unexpected files in the output");
	cr_assert(strstr(err, "processed 2, skipped 1 (0 up to date, 1 not images, 0 imgpipe outputs), "
	                      "failed 0"), "summary: %s", err);
	free(out); free(err);
}

/* A file under out/, for manifestcheck. */
static void *fetch_out(void *ud, const char *key, size_t *len)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s", (const char *)ud, key);
	return tu_read(path, len);
}

/*
 * The manifest beside local outputs: every variant as written (bytes,
 * SHA-256, decoded size), srcset per format, the placeholder; several
 * formats for one variant, and format=best keeping the smallest of the
 * formats it tries.
 */
Test(cli, the_manifest_tells_every_output_and_best_keeps_the_smallest)
{
	static const char spec[] = "s=320x320,format=avif+webp+jpeg;m=800x800,format=webp+jpeg;"
	                           "b=600x,format=best";
	char *out, *err, *text;
	size_t len, smallest = SIZE_MAX;
	json_t *m, *v, *picture;

	given("samples/landscape.jpg", "in/cat.jpg");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", spec, "in", NULL), 0,
	             "%s", err);
	free(out); free(err);
	text = tu_read("out/manifest/in/cat.json", &len);
	cr_assert(text, "no manifest beside the outputs");
	m = tu_check_manifest(text, len, fetch_out, (char *)"out", "in/cat.jpg", 6);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(m, "srcset"), "jpeg")),
	                 "s/in/cat.jpg 320w, m/in/cat.jpg 800w");
	/* <picture>: AVIF, then WebP, then the <img> in JPEG */
	picture = json_object_get(m, "picture");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(picture, "sources"), 0), "type")), "image/avif");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(picture, "sources"), 1), "type")), "image/webp");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(picture, "img"), "src")),
	                 "m/in/cat.jpg");
	/* best: the smallest of JPEG, WebP and AVIF at its settings (the same
	 * spec with b in each format: b is resized from m's pixels) */
	v = json_array_get(json_object_get(m, "variants"), 5);
	cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "b");
	for(int f = 0; f < 3; f++) {
		static const char *const formats[] = { "jpeg", "webp", "avif" };
		static const char *const exts[] = { "jpg", "webp", "avif" };
		char one[128], dir[32], path[96];
		size_t n;
		void *bytes;

		snprintf(one, sizeof(one), "s=320x320,format=avif+webp+jpeg;m=800x800,format=webp+jpeg;"
		         "b=600x,format=%s", formats[f]);
		snprintf(dir, sizeof(dir), "one-%s", formats[f]);
		cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "--variants", one, "in", NULL), 0,
		             "%s", err);
		free(out); free(err);
		snprintf(path, sizeof(path), "%s/b/in/cat.%s", dir, exts[f]);
		bytes = tu_read(path, &n);
		cr_assert(bytes, "%s", path);
		if(n < smallest)
			smallest = n;
		free(bytes);
	}
	cr_expect_eq((size_t)json_integer_value(json_object_get(v, "bytes")), smallest,
	             "best wrote %lld bytes as %s; the smallest candidate is %zu",
	             (long long)json_integer_value(json_object_get(v, "bytes")),
	             json_string_value(json_object_get(v, "format")), smallest);
	json_decref(m);
	free(text);

	/* several formats need {ext} to tell their keys apart */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out3", "--output-key", "{variant}/{stem}",
	                     "--variants", "s=100x,format=webp+jpeg", "in", NULL), 2);
	cr_assert(strstr(err, "use {ext}"), "%s", err);
	free(out); free(err);
	/* and a second run finds it all current, the manifest too */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", spec, "in", NULL), 0,
	             "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err);
}

Test(cli, a_file_input_goes_under_its_own_name)
{
	char *out, *err, *file = tu_data("samples/portrait.jpg");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", "s=100x100", file, NULL),
	             0, "%s", err);
	/* portrait.jpg is stored landscape with orientation 6: shown 2000x3000 */
	assert_image("out/s/portrait.jpg", 67, 100);
	free(out); free(err); free(file);
}

Test(cli, a_bad_file_among_good_ones_on_two_threads)
{
	char *out, *err;

	given("samples/landscape.jpg", "in/a.jpg");
	given("bad/truncated.jpg", "in/b.jpg");
	given("formats/rgb.webp", "in/c.webp");
	given("bad/bomb.png", "in/d.png");
	given("bad/truncated.png", "in/e.png");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-q", "-j", "2", "-o", "out", "--variants", "s=64x",
	                     "in/", NULL), 1, "exit status must be 1 when an input failed: %s", err);
	cr_assert(strstr(err, "imgpipe: in/b.jpg: cannot decode the image"), "no reason for b.jpg: %s",
	          err);
	cr_assert(strstr(err, "imgpipe: in/d.png: 65535x65535 is 4294.8 megapixels"),
	          "no reason for d.png: %s", err);
	/* the limit's message says how to raise it */
	cr_assert(strstr(err, "IMGPIPE_MAX_PIXELS") && strstr(err, "--max-pixels"), "%s", err);
	cr_assert(strstr(err, "imgpipe: in/e.png: "), "no reason for e.png: %s", err);
	/* a trailing slash is never doubled in a name */
	cr_assert_null(strstr(err, "//"), "%s", err);
	/* --quiet: failures only, no summary */
	cr_assert_null(strstr(err, "processed"), "%s", err);
	assert_image("out/s/in/a.jpg", 64, 43);
	assert_image("out/s/in/c.jpg", 64, 43);
	/* two variants and two manifests; nothing of a failed input */
	cr_assert_eq(tu_count_files("out", NULL), 4, "a failed input left output behind");
	cr_assert_not(tu_exists("out/manifest/in/b.json"), "a failed input has a manifest");
	free(out); free(err);

	/* --max-pixels raises the limit from the command line */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-q", "-o", "out2", "--variants", "s=64x",
	                     "--max-pixels", "100", "in/a.jpg", NULL), 1);
	cr_assert(strstr(err, "over the limit of 0.0"), "%s", err);
	free(out); free(err);
}

Test(cli, missing_input_fails_the_run_but_not_the_others)
{
	char *out, *err, *file = tu_data("formats/rgb.gif");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", "s=10x",
	                     "/nonexistent.jpg", file, NULL), 1);
	cr_assert(strstr(err, "imgpipe: /nonexistent.jpg: No such file or directory"), "%s", err);
	assert_image("out/s/rgb.jpg", 10, 7);
	free(out); free(err); free(file);
}

Test(cli, an_explicit_non_image_is_a_failure_with_a_reason)
{
	char *out, *err, *file = tu_data("bad/doc.pdf");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", file, NULL), 1);
	cr_assert(strstr(err, "doc.pdf: looks like a PDF document, not an image"), "%s", err);
	free(out); free(err); free(file);
}

/* Found by a tester: "skipped 3 (3 not images)" named none of them, even
 * with --verbose, so a card copy could not be checked. */
Test(cli, every_skipped_file_is_named_with_its_reason)
{
	char *out, *err;

	given("samples/landscape.jpg", "card/DSC_0001.jpg");
	given("bad/zero.jpg", "card/DSC_0002.jpg");
	given("samples/README.txt", "card/notes.txt");
	given("bad/doc.pdf", "card/DSC_0003.jpg");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-v", "-o", "out", "--variants", "s=50x", "card",
	                     NULL), 0, "%s", err);
	cr_assert(strstr(err, "skipped card/DSC_0002.jpg: not an image: the file is empty (0 bytes)"),
	          "%s", err);
	cr_assert(strstr(err, "skipped card/notes.txt: not an image: looks like plain text"), "%s", err);
	cr_assert(strstr(err, "skipped card/DSC_0003.jpg: looks like a PDF document, not an image"),
	          "%s", err);
	cr_assert(strstr(err, "card/DSC_0001.jpg: 3000x2000 jpeg"), "no line for the image: %s", err);
	cr_assert(strstr(err, "processed 1, skipped 3 (0 up to date, 3 not images"), "%s", err);
	free(out); free(err);
}

struct usage_case { const char *args[10]; const char *message; };

Test(cli, usage_and_config_errors_exit_2_before_any_decode)
{
	static const struct usage_case cases[] = {
		{ { "resize", NULL }, "no INPUT given" },
		{ { "resize", "--variants", "t=320x320,q=180", "in", NULL },
		  "variant \"t\": q=180 is out of range 1-100" },
		{ { "resize", "-j", "0", "in", NULL }, "-j 0: give a number of workers" },
		{ { "resize", "--bogus", "in", NULL }, "unknown option --bogus" },
		{ { "resize", "--varients", "a=1x1", "in", NULL },
		  "unknown option --varients (did you mean --variants?)" },
		{ { "resize", "--verbse", "in", NULL }, "(did you mean --verbose?)" },
		{ { "resize", "-x", "in", NULL }, "unknown option -x" },
		{ { "resize", "in", "-o", NULL }, "-o needs a value" },
		{ { "resize", "-c", "/nonexistent.json", "in", NULL }, "/nonexistent.json: No such file" },
		{ { "resize", "-o", "afile", "in", NULL }, "-o afile: afile is not a folder" },
		{ { "resize", "--output-key", "/img/{variant}/{key}.{ext}", "-o", "o2", "in", NULL },
		  "starts with /" },
		{ { "resize", "--output-key", "{variant}/../{key}", "-o", "o2", "in", NULL },
		  "\"..\" segment" },
		{ { "resize", "-o", "in", "in", NULL }, "-o in is the folder in itself" },
		{ { "resize", "-o", ".", ".", NULL }, "is the folder . itself" },
		{ { "resize", "--max-frames", "0", "in", NULL }, "--max-frames 0: not a positive" },
		{ { "resize", "--max-pixels", "10k", "in", NULL }, "--max-pixels 10k: not a positive" },
		{ { "resize", "--variants", "t=320x320 fit=cover", "in", NULL }, "put ',' between" },
		{ { "resize", "--variants", "t=320x,fitt=cover", "in", NULL }, "did you mean fit?" },
		{ { "frobnicate", NULL }, "'frobnicate' is not a command" },
		{ { "invoke", "--force", "--bogus", NULL }, "imgpipe invoke: unknown option --bogus" },
	};

	given("samples/landscape.jpg", "in/a.jpg");
	cr_assert(tu_write("afile", "x", 1));
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = { tu_bin() };
		char *out, *err;
		double t0 = imgp_now_ms();
		int n = 1;

		for(const char *const *a = cases[i].args; *a; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		cr_assert_eq(tu_run(argv, &out, &err), 2, "case %zu: %s", i, err);
		cr_assert(strstr(err, cases[i].message), "case %zu: \"%s\" lacks \"%s\"", i, err,
		          cases[i].message);
		/* said once, not once per image */
		cr_assert_null(strstr(strstr(err, cases[i].message) + 1, cases[i].message),
		               "case %zu: said twice: %s", i, err);
		cr_assert_not(tu_exists("resized"), "case %zu: a usage error wrote output", i);
		cr_assert_not(tu_exists("o2"), "case %zu: a usage error wrote output", i);
		cr_assert_lt(imgp_now_ms() - t0, 5000, "case %zu: decoded before refusing?", i);
		free(out); free(err);
	}
}

Test(cli, help_and_version)
{
	char *out, *err;

	cr_assert_eq(imgpipe(&out, &err, "resize", "--help", NULL), 0);
	cr_assert(strstr(out, "usage: imgpipe resize"), "%s", out);
	cr_assert(strstr(out, "fit=inside|cover|contain|fill"), "help lacks the spec");
	cr_assert(strstr(out, "-v, --verbose"), "-v is not --verbose");
	cr_assert(strstr(out, "exit status"), "help lacks exit statuses");
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "--version", NULL), 0);
	cr_assert(strstr(out, "imgpipe 0."), "%s", out);
	cr_assert(strstr(out, "libvips 8."), "version does not name libvips: %s", out);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "--help", NULL), 0);
	cr_assert(strstr(out, "resize"), "%s", out);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "invoke", "--help", NULL), 0);
	cr_assert(strstr(out, "--force"), "%s", out);
	free(out); free(err);
}

/* Found by a tester: in a folder of 2 photos, `resize .` twice, then
 * `resize -o web .` twice processed 2, 6, 26, 78 images and wrote
 * resized/small/resized/small/... */
Test(cli, the_output_folder_is_never_read_as_input)
{
	char *out, *err;

	given("samples/landscape.jpg", "a.jpg");
	given("formats/rgb.webp", "b.jpg");
	cr_assert_eq(imgpipe(&out, &err, "resize", ".", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 2, skipped 0"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", ".", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 2 (2 up to date"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "web", ".", NULL), 0, "%s", err);
	/* resized/ is not the destination now: its files are imgpipe's own
	 * outputs and are skipped as such, never resized again */
	cr_assert(strstr(err, "processed 2, skipped 8 (0 up to date, 0 not images, 8 imgpipe outputs)"),
	          "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "web", ".", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 10 (2 up to date, 0 not images, 8 imgpipe outputs)"),
	          "%s", err);
	free(out); free(err);
	/* three variants and a manifest of each photo */
	cr_assert_eq(tu_count_files("resized", NULL), 8);
	cr_assert_eq(tu_count_files("web", NULL), 8);
	cr_assert_not(tu_exists("resized/small/resized"), "an output was resized again");
	cr_assert_not(tu_exists("web/small/web"), "an output was resized again");
	cr_assert_not(tu_exists("web/small/resized"), "an output was resized again");
}

/* Found by a tester: a changed spec, or a source replaced by an older
 * file, was "up to date" because outputs were judged by their mtime. */
Test(cli, a_second_run_renders_exactly_what_changed)
{
	char *out, *err, *src = at("in/a.jpg");
	struct timespec mid_before, small_before;

	given("samples/landscape.jpg", "in/a.jpg");
	given("formats/rgb.tif", "in/b.tif");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants",
	                     "small=200x200;mid=300x;big=400x", "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("out/small/in/a.jpg", 200, 133);
	mid_before = mtime_of("out/mid/in/a.jpg");
	small_before = mtime_of("out/small/in/a.jpg");

	/* the same spec: nothing to do */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants",
	                     "small=200x200;mid=300x;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 2 (2 up to date"), "%s", err);
	free(out); free(err);

	/* a smaller box for small: small is rendered again, mid is left alone;
	 * big, the set's last variant, carries the set's fingerprint and is
	 * written again with it */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-v", "-o", "out", "--variants",
	                     "small=100x100;mid=300x;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 2, skipped 0"), "%s", err);
	cr_assert(strstr(err, "small 100x67 jpeg"), "%s", err);
	cr_assert(strstr(err, "mid current"), "%s", err);
	free(out); free(err);
	assert_image("out/small/in/a.jpg", 100, 67);
	cr_assert_not(same_time(small_before, mtime_of("out/small/in/a.jpg")));
	cr_assert(same_time(mid_before, mtime_of("out/mid/in/a.jpg")), "mid was written again");
	assert_image("out/big/in/a.jpg", 400, 267);

	/* the quality of one variant: done once, then current */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-v", "-o", "out", "--variants",
	                     "small=100x100;mid=300x,q=30;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "small current; mid 300x200"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants",
	                     "small=100x100;mid=300x,q=30;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 2 (2 up to date"), "%s", err);
	free(out); free(err);

	/* a source replaced by an older file is a new version all the same */
	given("formats/rgb.tif", "in/a.jpg");
	struct timespec times[2] = { { 0, UTIME_NOW }, { 1000000000, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, src, times, 0), 0);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants",
	                     "small=100x100;mid=300x,q=30;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 1, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err);
	assert_image("out/small/in/a.jpg", 100, 67);     /* rgb.tif is 300x200 */
	assert_image("out/big/in/a.jpg", 300, 200);

	/* --force does it all again */
	cr_assert_eq(imgpipe(&out, &err, "resize", "--force", "-o", "out", "--variants",
	                     "small=100x100;mid=300x,q=30;big=400x", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 2, skipped 0"), "%s", err);
	free(out); free(err); free(src);
}

/* Found by a tester: {w} and {h} were the box, so a 640 px photo under
 * large=1600x was named ...-1600.jpg, and 1600x left {h} empty. */
Test(cli, w_and_h_in_a_name_are_the_size_written)
{
	char *out, *err;

	given("formats/rgb.tif", "in/p.tif");     /* 300x200 */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--output-key",
	                     "{dir}{stem}-{w}x{h}-{box}.{ext}", "--variants", "large=1600x;s=100x100",
	                     "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("out/in/p-300x200-1600x.jpg", 300, 200);
	assert_image("out/in/p-100x67-100x100.jpg", 100, 67);
	/* and a second run finds them current */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--output-key",
	                     "{dir}{stem}-{w}x{h}-{box}.{ext}", "--variants", "large=1600x;s=100x100",
	                     "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err);
}

/* Found by a tester: adding a.png beside a.jpg renamed a.jpg's outputs
 * to a.jpg.jpg and left the old a.jpg behind. */
Test(cli, collision_names_do_not_change_when_a_file_is_added)
{
	char *out, *err;
	struct timespec before;
	VipsImage *a, *b;

	given("collide/a.jpg", "in/a.jpg");       /* red */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", "s=50x,format=jpeg",
	                     "in", NULL), 0, "%s", err);
	free(out); free(err);
	before = mtime_of("out/s/in/a.jpg");
	given("collide/a.png", "in/a.png");       /* blue */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants", "s=50x,format=jpeg",
	                     "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 1, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err);
	cr_assert(same_time(before, mtime_of("out/s/in/a.jpg")), "a.jpg's output was touched");
	a = vips_image_new_from_file("out/s/in/a.jpg", NULL);
	b = vips_image_new_from_file("out/s/in/a.png.jpg", NULL);
	cr_assert(a && b, "collision outputs missing: %s", vips_error_buffer());
	cr_assert_gt(tu_pixel(a, 10, 10, 0), 200, "a.jpg's variant is not red");
	cr_assert_gt(tu_pixel(b, 10, 10, 2), 200, "a.png's variant is not blue");
	/* a manifest each, under the same names as the variants */
	cr_assert(tu_exists("out/manifest/in/a.json") && tu_exists("out/manifest/in/a.png.json"));
	cr_assert_eq(tu_count_files("out", NULL), 4, "an output was orphaned or doubled");
	g_object_unref(a);
	g_object_unref(b);

	/* both at once in a fresh folder: the same names, whatever the threads */
	cr_assert_eq(imgpipe(&out, &err, "resize", "-j", "2", "-o", "out2", "--variants",
	                     "s=50x,format=jpeg", "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("out2/s/in/a.jpg", 50, 25);
	assert_image("out2/s/in/a.png.jpg", 50, 25);
}

/* README: later sources win: the config file, IMGPIPE_VARIANTS, the command line. */
Test(cli, config_file_then_environment_then_command_line)
{
	char *out, *err;

	given("formats/rgb.tif", "in/p.tif");
	const char *json = "{\"variants\": \"f=40x\", \"limits\": {\"max_frames\": 5}}";

	cr_assert(tu_write("c.json", json, strlen(json)));
	cr_assert_eq(imgpipe(&out, &err, "resize", "-c", "c.json", "-o", "o1", "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("o1/f/in/p.jpg", 40, 27);
	setenv("IMGPIPE_VARIANTS", "e=30x", 1);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-c", "c.json", "-o", "o2", "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("o2/e/in/p.jpg", 30, 20);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-c", "c.json", "--variants", "v=20x", "-o", "o3",
	                     "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("o3/v/in/p.jpg", 20, 13);
	unsetenv("IMGPIPE_VARIANTS");
}

/* cover, contain and fill produce their box: a "fixed-size" card is fixed. */
Test(cli, cover_contain_and_fill_enlarge_to_the_box)
{
	char *out, *err;
	VipsImage *small, *t;

	tu_vips_start();
	cr_assert_eq(vips_black(&t, 450, 600, "bands", 3, NULL), 0);
	cr_assert_eq(vips_linear1(t, &small, 1, 128, NULL), 0);
	cr_assert_eq(vips_image_write_to_file(small, "portrait.jpg", NULL), 0);
	g_object_unref(t);
	g_object_unref(small);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "--variants",
	                     "card=600x400,fit=cover;box=600x400,fit=contain;fill=600x400,fit=fill;"
	                     "in=600x400;keep=600x400,fit=cover,enlarge=no", "portrait.jpg", NULL), 0,
	             "%s", err);
	free(out); free(err);
	assert_image("out/card/portrait.jpg", 600, 400);
	assert_image("out/box/portrait.jpg", 600, 400);
	assert_image("out/fill/portrait.jpg", 600, 400);
	assert_image("out/in/portrait.jpg", 300, 400);     /* inside never enlarges */
	assert_image("out/keep/portrait.jpg", 450, 400);
}

/* Found by a tester: a mistyped command got no suggestion, a mistyped
 * option did. */
Test(cli, a_mistyped_command_gets_the_nearest)
{
	char *out, *err;

	cr_assert_eq(imgpipe(&out, &err, "rezise", NULL), 2);
	cr_assert(strstr(err, "did you mean 'resize'?"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "--versoin", NULL), 2);
	cr_assert(strstr(err, "did you mean '--version'?"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "frobnicate", NULL), 2);
	cr_assert_null(strstr(err, "did you mean"), "%s", err);
	free(out); free(err);
}

/* Found by a tester: with Lambda's JSON log format, invoke's own errors
 * (a configuration refused at start, an unreadable event) were plain text. */
Test(cli, invoke_with_the_json_log_format_says_every_error_in_json)
{
	char *out, *err;
	json_t *line;

	setenv("AWS_LAMBDA_LOG_FORMAT", "JSON", 1);
	setenv("IMGPIPE_STORE", "dir:.", 1);
	unsetenv("IMGPIPE_DEST_BUCKET");
	cr_assert_eq(imgpipe(&out, &err, "invoke", "/nonexistent/event.json", NULL), 2);
	line = json_loads(err, JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(json_is_object(line), "not JSON: %s", err);
	cr_expect_str_eq(json_string_value(json_object_get(line, "logger")), "imgpipe");
	cr_expect(strstr(json_string_value(json_object_get(line, "message")), "/nonexistent/event.json"),
	          "%s", err);
	json_decref(line);
	free(out); free(err);
	{
		static const char ev[] = "{\"bucket\": \"b\", \"key\": \"k.jpg\"}";

		cr_assert(tu_write("event.json", ev, strlen(ev)));
	}
	cr_assert_eq(imgpipe(&out, &err, "invoke", "event.json", NULL), 2);
	line = json_loads(err, JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(json_is_object(line), "not JSON: %s", err);
	cr_expect_str_eq(json_string_value(json_object_get(line, "level")), "fatal");
	cr_expect(json_object_get(line, "timestamp"), "%s", err);
	cr_expect(strstr(json_string_value(json_object_get(line, "message")), "IMGPIPE_DEST_BUCKET"),
	          "%s", err);
	json_decref(line);
	free(out); free(err);
	unsetenv("AWS_LAMBDA_LOG_FORMAT");
}

/* The handler re-renders what changed too: invoke, and a Batch Operations task. */
Test(cli, invoke_and_batch_rewrite_exactly_the_changed_outputs)
{
	char *out, *err, *store = at("store");
	char env_store[4200];
	const char *ev = "{\"bucket\": \"up\", \"key\": \"p.tif\"}";
	const char *batch = "{\"invocationSchemaVersion\": \"2.0\", \"invocationId\": \"i\","
	                    "\"job\": {\"id\": \"j\"}, \"tasks\": [{\"taskId\": \"t\","
	                    "\"s3Bucket\": \"up\", \"s3Key\": \"p.tif\"}]}";
	struct timespec small_before, big_before;

	given("formats/rgb.tif", "store/up/p.tif");
	cr_assert(tu_write("ev.json", ev, strlen(ev)));
	cr_assert(tu_write("batch.json", batch, strlen(batch)));
	snprintf(env_store, sizeof(env_store), "dir:%s", store);
	setenv("IMGPIPE_STORE", env_store, 1);
	setenv("IMGPIPE_DEST_BUCKET", "sink", 1);
	setenv("IMGPIPE_VARIANTS", "small=100x100;mid=150x;big=200x", 1);
	cr_assert_eq(imgpipe(&out, &err, "invoke", "ev.json", NULL), 0, "%s", err);
	cr_assert(strstr(out, "3 variants written"), "%s", out);
	free(out); free(err);
	small_before = mtime_of("store/sink/small/p.jpg");
	big_before = mtime_of("store/sink/big/p.jpg");

	/* mid's quality changes: mid is written, and the manifest (the set's
	 * commit); small and big, the last, are left alone */
	setenv("IMGPIPE_VARIANTS", "small=100x100;mid=150x,q=40;big=200x", 1);
	cr_assert_eq(imgpipe(&out, &err, "invoke", "ev.json", NULL), 0, "%s", err);
	cr_assert(strstr(out, "1 variant written, 2 already current"), "%s", out);
	free(out); free(err);
	cr_assert(same_time(small_before, mtime_of("store/sink/small/p.jpg")), "small was rewritten");
	cr_assert(same_time(big_before, mtime_of("store/sink/big/p.jpg")), "big was rewritten");

	/* redelivered: nothing */
	cr_assert_eq(imgpipe(&out, &err, "invoke", "ev.json", NULL), 0, "%s", err);
	cr_assert(strstr(out, "already done for this version"), "%s", out);
	free(out); free(err);

	/* Batch Operations after small's box changes: small alone */
	setenv("IMGPIPE_VARIANTS", "small=80x80;mid=150x,q=40;big=200x", 1);
	cr_assert_eq(imgpipe(&out, &err, "invoke", "batch.json", NULL), 0, "%s", err);
	cr_assert(strstr(out, "\"resultCode\":\"Succeeded\""), "%s", out);
	cr_assert(strstr(out, "1 variant written, 2 already current"), "%s", out);
	cr_assert(same_time(big_before, mtime_of("store/sink/big/p.jpg")), "big was rewritten");
	free(out); free(err);
	assert_image("store/sink/small/p.jpg", 80, 53);

	/* invoke --force writes all three */
	cr_assert_eq(imgpipe(&out, &err, "invoke", "--force", "ev.json", NULL), 0, "%s", err);
	cr_assert(strstr(out, "3 variants written"), "%s", out);
	free(out); free(err); free(store);
	unsetenv("IMGPIPE_STORE");
	unsetenv("IMGPIPE_DEST_BUCKET");
	unsetenv("IMGPIPE_VARIANTS");
}

Test(cli, odd_names_and_parallel_workers)
{
	char *out, *err, *in = tu_data("formats");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-j", "3", "-o", "out", "--variants", "s=32x32",
	                     in, NULL), 0, "%s", err);
	assert_image("out/s/formats/unicode dir/\xC3\xBCmlaut caf\xC3\xA9 +plus (1).jpg", 32, 24);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-j", "1", "-o", "out1", "--variants", "s=32x32",
	                     in, NULL), 0);
	cr_assert_eq(tu_count_files("out", NULL), tu_count_files("out1", NULL));
	free(out); free(err); free(in);
}

Test(cli, writes_are_atomic_even_when_killed)
{
	const char *argv[] = { tu_bin(), "resize", "-q", "-j", "1", "-o", "out",
	                       "--variants", "a=3000x;b=2000x,format=png;c=1000x,format=webp", "in",
	                       NULL };

	for(int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "in/p%d.jpg", i);
		given("formats/big.jpg", name);
	}
	/* kill it part way through: whatever has a final name must be whole */
	pid_t pid = fork();
	if(pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for(int waited = 0; waited < 200 && tu_count_files("out", NULL) < 2; waited++)
		usleep(20 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int finals = 0;
	for(int i = 0; i < 6; i++) {
		static const char *const variant[] = { "a", "b", "c" };
		static const char *const ext[] = { "jpg", "png", "webp" };
		for(int k = 0; k < 3; k++) {
			char rel[64];
			snprintf(rel, sizeof(rel), "out/%s/in/p%d.%s", variant[k], i, ext[k]);
			if(tu_exists(rel)) {
				size_t len;
				void *data = tu_read(rel, &len);
				VipsImage *im = tu_decode(data, len);
				cr_assert(im, "%s exists but is not a whole image", rel);
				g_object_unref(im);
				free(data);
				finals++;
			}
		}
	}
	cr_assert_lt(finals, 18, "the run finished before it was killed; nothing was tested");
	cr_log_info("killed with %d whole outputs written", finals);

	/* a failed write leaves no temporary behind: make one output a folder */
	cr_assert(tu_write("out2/a/in/p0.jpg/keep", "x", 1));
	const char *argv2[] = { tu_bin(), "resize", "-q", "-o", "out2", "--variants", "a=100x", "in",
	                        NULL };
	char *err;
	cr_assert_eq(tu_run(argv2, NULL, &err), 1);
	cr_assert(strstr(err, "in/p0.jpg: variant a: cannot write"), "%s", err);
	cr_assert_eq(tu_count_files("out2", "imgpipe-tmp"), 0, "temporary files left behind");
	cr_assert_eq(tu_count_files("out2", NULL), 11, "the other five sources were not written "
	             "(a variant and a manifest each)");
	free(err);
}

/* Found by a tester on a real library: a truncated JPEG's error gave no
 * hint of --fail-on none, and an AVIF source's manifest said "heif". */
Test(cli, a_truncated_file_names_the_way_out_and_an_avif_source_is_avif)
{
	char *out, *err, *text;
	size_t len;

	given("bad/truncated.jpg", "cut.jpg");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "cut.jpg", NULL), 1);
	cr_assert(strstr(err, "cut.jpg: cannot decode the image"), "%s", err);
	cr_assert(strstr(err, "fail_on=none renders what it holds"), "%s", err);
	cr_assert(strstr(err, "--fail-on"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "--fail-on", "none", "-o", "out", "cut.jpg", NULL),
	             0, "%s", err);
	free(out); free(err);

	given("matrix/quad.avif", "q.avif");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "out", "q.avif", NULL), 0, "%s", err);
	free(out); free(err);
	text = tu_read("out/manifest/q.json", &len);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "\"format\": \"avif\""), "%s", text);
	free(text);
}

/* The srcset naming of static-site tools, as -o DIR/TMPL: a source smaller
 * than the boxes writes its one size once; a second run writes nothing. */
Test(cli, width_named_outputs_with_the_template_in_o)
{
	char *out, *err;

	given("samples/logo.png", "in/logo.png");          /* 1200x800 */
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=320x;b=1600x;c=2000x", "-o",
	                     "site/{dir}{stem}-{w}.{ext}", "in", NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("site/in/logo-320.webp", 320, 213);
	assert_image("site/in/logo-1200.webp", 1200, 800);
	cr_assert_eq(tu_count_files("site/in", "logo-"), 2);
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=320x;b=1600x;c=2000x", "-o",
	                     "site/{dir}{stem}-{w}.{ext}", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err);
	/* b and c one key, other settings: that source fails naming both */
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=320x;b=1600x;c=2000x,q=50", "-o",
	                     "site/{dir}{stem}-{w}.{ext}", "in", NULL), 1, "%s", err);
	cr_assert(strstr(err, "variants b and c would both be written as in/logo-1200.webp"), "%s", err);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", "site/{stem}.{ext}", "--output-key", "{stem}",
	                     "in", NULL), 2);
	free(out); free(err);
}

/* IMGPIPE_MANIFEST_KEY= is no manifest, as README says (it gave the
 * default one); the last variant is then the set's commit: a changed
 * variant rewrites it too, with the same bytes. */
Test(cli, an_empty_manifest_key_writes_none_and_the_last_variant_commits)
{
	char *out, *err, *c1, *c2;
	size_t n1, n2;
	struct timespec b_before;

	given("samples/landscape.jpg", "in/p.jpg");
	setenv("IMGPIPE_MANIFEST_KEY", "", 1);
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=100x;b=200x;c=300x", "-o", "o",
	                     "in", NULL), 0, "%s", err);
	free(out); free(err);
	cr_assert_eq(tu_count_files("o", NULL), 3, "a manifest was written");
	b_before = mtime_of("o/b/in/p.jpg");
	c1 = tu_read("o/c/in/p.jpg", &n1);
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=100x,q=50;b=200x;c=300x", "-o",
	                     "o", "in", NULL), 0, "%s", err);
	free(out); free(err);
	cr_assert(same_time(b_before, mtime_of("o/b/in/p.jpg")), "b was rewritten");
	c2 = tu_read("o/c/in/p.jpg", &n2);
	cr_assert(c1 && c2 && n1 == n2 && !memcmp(c1, c2, n1), "c, rewritten, has other bytes");
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "a=100x,q=50;b=200x;c=300x", "-o",
	                     "o", "in", NULL), 0, "%s", err);
	cr_assert(strstr(err, "1 up to date"), "%s", err);
	free(out); free(err); free(c1); free(c2);
	unsetenv("IMGPIPE_MANIFEST_KEY");
}

/* Flags replace the variables they override before anything is checked:
 * a bad IMGPIPE_VARIANTS or IMGPIPE_OUTPUT_KEY does not stop a command
 * line that gives its own (it did). */
Test(cli, flags_win_over_a_bad_environment)
{
	char *out, *err;

	given("samples/logo.png", "in/logo.png");
	setenv("IMGPIPE_VARIANTS", "thumb=320x320 fit=cover", 1);
	setenv("IMGPIPE_OUTPUT_KEY", "/abs/{stem}", 1);
	setenv("IMGPIPE_MAX_PIXELS", "lots", 1);
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "t=64x", "--output-key",
	                     "{variant}/{stem}.{ext}", "--max-pixels", "100000000", "-o", "o", "in",
	                     NULL), 0, "%s", err);
	free(out); free(err);
	assert_image("o/t/logo.webp", 64, 43);
	/* without the flags the environment is refused, naming the variable */
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "t=64x", "--output-key",
	                     "{variant}/{stem}.{ext}", "-o", "o", "in", NULL), 2);
	cr_assert(strstr(err, "IMGPIPE_MAX_PIXELS: max_pixels=lots"), "%s", err);
	free(out); free(err);
	unsetenv("IMGPIPE_VARIANTS");
	unsetenv("IMGPIPE_OUTPUT_KEY");
	unsetenv("IMGPIPE_MAX_PIXELS");
}

/* Found in review: a file name that is not UTF-8 (an old Latin-1 folder)
 * failed as "out of memory"; it is named as what it is, and the rest of
 * the folder is done. */
Test(cli, a_name_that_is_not_utf8_is_said_and_the_rest_done)
{
	char *out, *err;

	given("samples/logo.png", "in/caf\xe9.png");
	given("samples/logo.png", "in/ok.png");
	cr_assert_eq(imgpipe(&out, &err, "resize", "--variants", "t=64x", "-o", "o", "in", NULL), 1,
	             "%s", err);
	cr_assert(strstr(err, "caf\xe9.png: the name is not UTF-8"), "%s", err);
	cr_assert(strstr(err, "processed 1,"), "%s", err);
	free(out); free(err);
	assert_image("o/t/in/ok.webp", 64, 43);
}
