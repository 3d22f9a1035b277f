/*
 * test_cli_s3.c: `imgpipe resize` with s3:// inputs and outputs, the real
 * binary against s3rver on 127.0.0.1, uploads and checks made with awscli:
 * a backfill of a bucket from a laptop, as a user would run it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/s3test.h"
#include "lib/testutil.h"

static struct s3srv srv;
static char *scratch;

static void setup(void)
{
	static const char *const buckets[] = { "uploads", "web", NULL };

	tu_vips_start();
	cr_assert(s3srv_start(&srv, buckets), "s3rver did not start");
	s3test_env(srv.endpoint);
	unsetenv("IMGPIPE_STORE");
	scratch = tu_tempdir();
}

static void teardown(void)
{
	s3srv_stop(&srv);
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(cli_s3, .init = setup, .fini = teardown, .timeout = 120);

/* awscli uploads a generated test image as s3://uploads/key. */
static void aws_upload(const char *testdata, const char *key)
{
	char *path = tu_data(testdata), *url, *err = NULL;
	const char *args[] = { "s3", "cp", path, NULL, NULL };

	cr_assert(asprintf(&url, "s3://uploads/%s", key) > 0);
	args[3] = url;
	cr_assert_eq(s3test_run_aws(srv.endpoint, args, NULL, &err), 0, "aws s3 cp: %s", err);
	free(err);
	free(url);
	free(path);
}

/* awscli fetches s3://web/key: its Content-Type, and its pixels' size. */
static void aws_check(const char *key, const char *type, int w, int h)
{
	char *file, *out = NULL, *err = NULL;
	const char *args[] = { "s3api", "get-object", "--bucket", "web", "--key", key, NULL, NULL };
	VipsImage *im;

	cr_assert(asprintf(&file, "%s/got", scratch) > 0);
	args[6] = file;
	cr_assert_eq(s3test_run_aws(srv.endpoint, args, &out, &err), 0, "%s: %s", key, err);
	cr_assert(strstr(out, type), "%s: %s", key, out);
	cr_assert(strstr(out, "\"imgpipe-variant\""), "%s has no imgpipe metadata: %s", key, out);
	im = vips_image_new_from_file(file, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	cr_assert(im, "%s does not decode", key);
	cr_assert_eq(im->Xsize, w, "%s: width %d", key, im->Xsize);
	cr_assert_eq(im->Ysize, h, "%s: height %d", key, im->Ysize);
	g_object_unref(im);
	free(out);
	free(err);
	free(file);
}

static int imgpipe(char **err, const char *const *args)
{
	const char *argv[16] = { tu_bin() };
	int n = 1;

	for(; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return tu_run(argv, NULL, err);
}

Test(cli_s3, backfill_a_prefix_into_another_bucket)
{
	static const char *const args[] = {
		"resize", "-o", "s3://web/v1/", "-v", "t=100x100,fit=cover;w=300x,format=webp",
		"s3://uploads/photos/", NULL };
	char *err = NULL;

	aws_upload("samples/landscape.jpg", "photos/2024/a b+c.jpg");
	aws_upload("samples/logo.png", "photos/logo.png");
	aws_upload("samples/README.txt", "photos/notes.txt");
	aws_upload("formats/rgb.tif", "elsewhere/x.tif");
	cr_assert_eq(imgpipe(&err, args), 0, "%s", err);
	cr_assert(strstr(err, "processed 2, skipped 1 (0 up to date, 1 not images), failed 0"),
	          "%s", err);
	free(err);
	aws_check("v1/t/photos/2024/a b+c.jpg", "\"ContentType\": \"image/jpeg\"", 100, 100);
	aws_check("v1/w/photos/2024/a b+c.webp", "\"ContentType\": \"image/webp\"", 300, 200);
	aws_check("v1/t/photos/logo.webp", "\"ContentType\": \"image/webp\"", 100, 100);

	/* a second run finds everything up to date */
	cr_assert_eq(imgpipe(&err, args), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 3 (2 up to date"), "%s", err);
	free(err);
}

Test(cli_s3, one_object_to_a_local_folder_and_files_to_s3)
{
	char *out = NULL, *dir, *file = tu_data("formats/rgb.gif");
	const char *one[] = { "resize", "-o", NULL, "-v", "s=30x", "s3://uploads/one.jpg", NULL };
	const char *up[] = { "resize", "-o", "s3://web/", "-v", "s=30x", file, NULL };
	const char *missing[] = { "resize", "-o", "s3://web/", "s3://uploads/nope.jpg", NULL };
	const char *badout[] = { "resize", "-o", "s3://web/noslash", file, NULL };
	char *err = NULL;

	aws_upload("formats/rgb.tif", "one.jpg");
	cr_assert(asprintf(&dir, "%s/out", scratch) > 0);
	one[2] = dir;
	cr_assert_eq(imgpipe(&err, one), 0, "%s", err);
	free(err);
	cr_assert(asprintf(&out, "%s/s/one.jpg", dir) > 0);
	cr_assert(tu_exists(out), "%s not written", out);

	cr_assert_eq(imgpipe(&err, up), 0, "%s", err);
	free(err);
	aws_check("s/rgb.jpg", "\"ContentType\": \"image/jpeg\"", 30, 20);

	cr_assert_eq(imgpipe(&err, missing), 1);
	cr_assert(strstr(err, "s3://uploads/nope.jpg: "), "%s", err);
	free(err);
	cr_assert_eq(imgpipe(&err, badout), 2);
	cr_assert(strstr(err, "a prefix that ends in /"), "%s", err);
	free(err);
	free(out);
	free(dir);
	free(file);
}
