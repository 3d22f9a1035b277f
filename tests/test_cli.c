/*
 * test_cli.c: `imgpipe resize` end to end, the real binary on real files:
 * layout, exit codes, a bad file among good ones, atomic writes, skipping
 * what is up to date, name collisions, help and version.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/testutil.h"

static char *scratch;

static void setup(void)
{
	tu_vips_start();
	scratch = tu_tempdir();
}

static void teardown(void)
{
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(cli, .init = setup, .fini = teardown);

/* scratch/rel */
static char *at(const char *rel)
{
	char *p;
	if(asprintf(&p, "%s/%s", scratch, rel) < 0)
		abort();
	return p;
}

/* Copy a generated test image into scratch/in/rel. */
static void given(const char *testdata, const char *rel)
{
	char *from = tu_data(testdata), *to = NULL;

	if(asprintf(&to, "%s/in/%s", scratch, rel) < 0)
		abort();
	cr_assert(tu_copy(from, to), "cannot copy %s", from);
	free(from);
	free(to);
}

/* Run imgpipe with up to 15 arguments; NULL ends them. */
static int imgpipe(char **out, char **err, ...)
{
	const char *argv[16] = { tu_bin() };
	va_list ap;
	int n = 1;

	va_start(ap, err);
	while(n < 15 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, out, err);
}

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

Test(cli, folder_layout_is_kept_below_the_named_folder)
{
	char *out, *err, *in = at("in"), *dir = at("out");

	given("samples/landscape.jpg", "photos/2024/cat.jpg");
	given("samples/logo.png", "photos/logo.png");
	given("samples/README.txt", "photos/notes.txt");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir,
	                     "--variants", "thumb=320x320,fit=cover;big=1600x", in, NULL), 0, "%s", err);
	assert_image("out/thumb/in/photos/2024/cat.jpg", 320, 320);
	assert_image("out/big/in/photos/2024/cat.jpg", 1600, 1067);
	assert_image("out/thumb/in/photos/logo.webp", 320, 320);
	cr_assert_eq(tu_count_files(dir, NULL), 4, "unexpected files in the output");
	cr_assert(strstr(err, "processed 2, skipped 1 (0 up to date, 1 not images), failed 0"),
	          "summary: %s", err);
	free(out); free(err); free(in); free(dir);
}

Test(cli, a_file_input_goes_under_its_own_name)
{
	char *out, *err, *file = tu_data("samples/portrait.jpg"), *dir = at("out");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=100x100", file, NULL), 0,
	             "%s", err);
	/* portrait.jpg is stored landscape with orientation 6: shown 2000x3000 */
	assert_image("out/s/portrait.jpg", 67, 100);
	free(out); free(err); free(file); free(dir);
}

Test(cli, a_bad_file_among_good_ones)
{
	char *out, *err, *in = at("in"), *dir = at("out");

	given("samples/landscape.jpg", "a.jpg");
	given("bad/truncated.jpg", "b.jpg");
	given("formats/rgb.webp", "c.webp");
	given("bad/bomb.png", "d.png");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-q", "-j", "2", "-o", dir, "-v", "s=64x", in, NULL),
	             1, "exit status must be 1 when an input failed: %s", err);
	cr_assert(strstr(err, "imgpipe: "), "%s", err);
	cr_assert(strstr(err, "/in/b.jpg: cannot decode the image"), "no reason for b.jpg: %s", err);
	cr_assert(strstr(err, "/in/d.png: 65535x65535 is 4294.8 megapixels"), "no reason for d.png: %s", err);
	/* --quiet: failures only, no summary */
	cr_assert_null(strstr(err, "processed"), "%s", err);
	assert_image("out/s/in/a.jpg", 64, 43);
	assert_image("out/s/in/c.jpg", 64, 43);
	cr_assert_eq(tu_count_files(dir, NULL), 2, "a failed input left output behind");
	free(out); free(err); free(in); free(dir);
}

Test(cli, missing_input_fails_the_run_but_not_the_others)
{
	char *out, *err, *file = tu_data("formats/rgb.gif"), *dir = at("out");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=10x", "/nonexistent.jpg",
	                     file, NULL), 1);
	cr_assert(strstr(err, "imgpipe: /nonexistent.jpg: No such file or directory"), "%s", err);
	assert_image("out/s/rgb.jpg", 10, 7);
	free(out); free(err); free(file); free(dir);
}

Test(cli, an_explicit_non_image_is_a_failure_with_a_reason)
{
	char *out, *err, *file = tu_data("bad/doc.pdf"), *dir = at("out");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, file, NULL), 1);
	cr_assert(strstr(err, "doc.pdf: looks like a PDF document, not an image"), "%s", err);
	free(out); free(err); free(file); free(dir);
}

struct usage_case { const char *args[8]; const char *message; };

Test(cli, usage_and_config_errors_exit_2)
{
	static const struct usage_case cases[] = {
		{ { "resize", NULL }, "no INPUT given" },
		{ { "resize", "-v", "t=320x320,q=180", "x.jpg", NULL }, "variant \"t\": q=180 is out of range 1-100" },
		{ { "resize", "-j", "0", "x.jpg", NULL }, "-j: give a number of workers" },
		{ { "resize", "--bogus", "x.jpg", NULL }, "unrecognized option" },
		{ { "resize", "-v", "a=1x1", "-c", "f.json", "x.jpg", NULL }, "give --variants or --config, not both" },
		{ { "resize", "-c", "/nonexistent.json", "x.jpg", NULL }, "/nonexistent.json: No such file" },
		{ { "frobnicate", NULL }, "'frobnicate' is not a command" },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[10] = { tu_bin() };
		char *out, *err, *dir = at("out");
		int n = 1;

		for(const char *const *a = cases[i].args; *a; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		cr_assert_eq(tu_run(argv, &out, &err), 2, "case %zu: %s", i, err);
		cr_assert(strstr(err, cases[i].message), "case %zu: \"%s\" lacks \"%s\"", i, err,
		          cases[i].message);
		cr_assert_not(tu_exists(dir), "a usage error wrote output");
		free(out); free(err); free(dir);
	}
}

Test(cli, help_and_version)
{
	char *out, *err;

	cr_assert_eq(imgpipe(&out, &err, "resize", "--help", NULL), 0);
	cr_assert(strstr(out, "usage: imgpipe resize"), "%s", out);
	cr_assert(strstr(out, "fit=inside|cover|contain|fill"), "help lacks the spec");
	cr_assert(strstr(out, "exit status"), "help lacks exit statuses");
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "--version", NULL), 0);
	cr_assert(strstr(out, "imgpipe 0."), "%s", out);
	cr_assert(strstr(out, "libvips 8."), "version does not name libvips: %s", out);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "--help", NULL), 0);
	cr_assert(strstr(out, "resize"), "%s", out);
	free(out); free(err);
}

static struct timespec mtime_of(const char *rel)
{
	char *path = at(rel);
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s missing", rel);
	free(path);
	return st.st_mtim;
}

Test(cli, up_to_date_outputs_are_skipped_unless_forced)
{
	char *out, *err, *in = at("in"), *dir = at("out"), *src = at("in/a.jpg");
	struct timespec first, again;

	given("formats/rgb.tif", "a.jpg");
	given("colour/alpha.png", "b.png");
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=50x", in, NULL), 0, "%s", err);
	free(out); free(err);
	first = mtime_of("out/s/in/a.jpg");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=50x", in, NULL), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 2 (2 up to date"), "%s", err);
	again = mtime_of("out/s/in/a.jpg");
	cr_assert(first.tv_sec == again.tv_sec && first.tv_nsec == again.tv_nsec, "rewritten");
	free(out); free(err);

	cr_assert_eq(imgpipe(&out, &err, "resize", "--force", "-o", dir, "-v", "s=50x", in, NULL), 0);
	cr_assert(strstr(err, "processed 2, skipped 0"), "%s", err);
	free(out); free(err);

	/* a source newer than its outputs is done again */
	struct timespec times[2] = { { 0, UTIME_NOW }, { time(NULL) + 60, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, src, times, 0), 0);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=50x", in, NULL), 0);
	cr_assert(strstr(err, "processed 1, skipped 1 (1 up to date"), "%s", err);
	free(out); free(err); free(in); free(dir); free(src);
}

Test(cli, colliding_names_keep_their_extensions)
{
	char *out, *err, *in = tu_data("collide"), *dir = at("out");
	VipsImage *a, *b;
	char *pa = at("out/s/collide/a.jpg.jpg"), *pb = at("out/s/collide/a.png.jpg");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-o", dir, "-v", "s=50x,format=jpeg", in, NULL), 0,
	             "%s", err);
	a = vips_image_new_from_file(pa, NULL);
	b = vips_image_new_from_file(pb, NULL);
	cr_assert(a && b, "collision outputs missing: %s", vips_error_buffer());
	/* a.jpg is red, a.png is blue: neither overwrote the other */
	cr_assert_gt(tu_pixel(a, 10, 10, 0), 200);
	cr_assert_gt(tu_pixel(b, 10, 10, 2), 200);
	cr_assert_eq(tu_count_files(dir, NULL), 2);
	g_object_unref(a);
	g_object_unref(b);
	free(out); free(err); free(in); free(dir); free(pa); free(pb);
}

Test(cli, odd_names_and_parallel_workers)
{
	char *out, *err, *in = tu_data("formats"), *dir = at("out"), *dir1 = at("out1");

	cr_assert_eq(imgpipe(&out, &err, "resize", "-j", "3", "-o", dir, "-v", "s=32x32", in, NULL), 0,
	             "%s", err);
	assert_image("out/s/formats/unicode dir/\xC3\xBCmlaut caf\xC3\xA9 +plus (1).jpg", 32, 24);
	free(out); free(err);
	cr_assert_eq(imgpipe(&out, &err, "resize", "-j", "1", "-o", dir1, "-v", "s=32x32", in, NULL), 0);
	cr_assert_eq(tu_count_files(dir, NULL), tu_count_files(dir1, NULL));
	free(out); free(err); free(in); free(dir); free(dir1);
}

Test(cli, writes_are_atomic_even_when_killed)
{
	char *in = at("in"), *dir = at("out"), *dir2 = at("out2");
	const char *argv[] = { tu_bin(), "resize", "-q", "-j", "1", "-o", dir,
	                 "-v", "a=3000x;b=2000x,format=png;c=1000x,format=webp", in, NULL };

	for(int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%d.jpg", i);
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
	for(int waited = 0; waited < 200 && tu_count_files(dir, NULL) < 2; waited++)
		usleep(20 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int finals = 0;
	for(int i = 0; i < 6; i++) {
		static const char *const variant[] = { "a", "b", "c" };
		static const char *const ext[] = { "jpg", "png", "webp" };
		for(int k = 0; k < 3; k++) {
			char rel[64], *path;
			snprintf(rel, sizeof(rel), "%s/in/p%d.%s", variant[k], i, ext[k]);
			if(asprintf(&path, "%s/%s", dir, rel) < 0)
				abort();
			if(tu_exists(path)) {
				size_t len;
				void *data = tu_read(path, &len);
				VipsImage *im = tu_decode(data, len);
				cr_assert(im, "%s exists but is not a whole image", rel);
				g_object_unref(im);
				free(data);
				finals++;
			}
			free(path);
		}
	}
	cr_assert_lt(finals, 18, "the run finished before it was killed; nothing was tested");
	cr_log_info("killed with %d whole outputs written", finals);

	/* a failed write leaves no temporary behind: make one output a folder */
	char *blocker = at("out2/a/in/p0.jpg");
	char *keep = at("out2/a/in/p0.jpg/keep");
	cr_assert(tu_write(keep, "x", 1));
	const char *argv2[] = { tu_bin(), "resize", "-q", "-o", dir2, "-v", "a=100x", in, NULL };
	char *err;
	cr_assert_eq(tu_run(argv2, NULL, &err), 1);
	cr_assert(strstr(err, "p0.jpg: cannot rename into"), "%s", err);
	cr_assert_eq(tu_count_files(dir2, ".tmp-"), 0, "temporary files left behind");
	cr_assert_eq(tu_count_files(dir2, NULL), 6, "the other five sources were not written");
	free(err); free(blocker); free(keep); free(in); free(dir); free(dir2);
}
