/*
 * test_cli_s3.c: `imgpipe resize` with s3:// inputs and outputs, the real
 * binary against s3rver on 127.0.0.1, uploads and checks made with awscli:
 * a backfill of a bucket from a laptop, as a user would run it, and the
 * trigger (`imgpipe invoke`) on the same objects writing the same keys and
 * metadata, whichever comes second doing no work.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/s3test.h"
#include "lib/events.h"
#include "lib/testutil.h"

static struct s3srv srv;
static char *scratch;

static void setup(void)
{
	static const char *const buckets[] = { "uploads", "web", NULL };

	tu_vips_start();
	cr_assert(s3srv_start(&srv, buckets), "s3rver did not start");
	s3test_env(srv.endpoint);
	for(const char *const *v = (const char *const[]){ "IMGPIPE_STORE", "IMGPIPE_VARIANTS",
	     "IMGPIPE_OUTPUT_KEY", "IMGPIPE_DEST_PREFIX", "IMGPIPE_DEST_BUCKET",
	     "IMGPIPE_SOURCE_BUCKET", "IMGPIPE_SOURCE_PREFIX", "IMGPIPE_CONFIG", NULL }; *v; v++)
		unsetenv(*v);
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

/* awscli's head-object of bucket/key, parsed; NULL when there is none. */
static json_t *aws_head(const char *bucket, const char *key)
{
	const char *args[] = { "s3api", "head-object", "--bucket", bucket, "--key", key, NULL };
	char *out = NULL, *err = NULL;
	json_t *doc = NULL;

	if(!s3test_run_aws(srv.endpoint, args, &out, &err))
		doc = json_loads(out, 0, NULL);
	free(out);
	free(err);
	return doc;
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
	cr_assert(strstr(out, "\"imgpipe-source-etag\""), "%s has no source ETag: %s", key, out);
	cr_assert(strstr(out, "\"imgpipe-fingerprint\""), "%s has no fingerprint: %s", key, out);
	im = vips_image_new_from_file(file, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	cr_assert(im, "%s does not decode", key);
	cr_assert_eq(im->Xsize, w, "%s: width %d", key, im->Xsize);
	cr_assert_eq(im->Ysize, h, "%s: height %d", key, im->Ysize);
	g_object_unref(im);
	free(out);
	free(err);
	free(file);
}

static int imgpipe_in(char **out, char **err, const char *const *args)
{
	const char *argv[16] = { tu_bin() };
	int n = 1;

	for(; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return tu_run(argv, out, err);
}

static int imgpipe(char **err, const char *const *args)
{
	return imgpipe_in(NULL, err, args);
}

Test(cli_s3, backfill_a_prefix_into_another_bucket)
{
	static const char *const args[] = {
		"resize", "-o", "s3://web/v1/", "--variants", "t=100x100,fit=cover;w=300x,format=webp",
		"s3://uploads/photos/", NULL };
	char *err = NULL;

	aws_upload("samples/landscape.jpg", "photos/2024/a b+c.jpg");
	aws_upload("samples/logo.png", "photos/logo.png");
	aws_upload("samples/README.txt", "photos/notes.txt");
	aws_upload("formats/rgb.tif", "elsewhere/x.tif");
	cr_assert_eq(imgpipe(&err, args), 0, "%s", err);
	cr_assert(strstr(err, "processed 2, skipped 1 (0 up to date, 1 not images, 0 imgpipe outputs), "
	                      "failed 0"), "%s", err);
	free(err);
	aws_check("v1/t/photos/2024/a b+c.jpg", "\"ContentType\": \"image/jpeg\"", 100, 100);
	aws_check("v1/w/photos/2024/a b+c.webp", "\"ContentType\": \"image/webp\"", 300, 200);
	aws_check("v1/t/photos/logo.webp", "\"ContentType\": \"image/webp\"", 100, 100);

	/* a second run finds everything up to date, from the listing's ETags */
	cr_assert_eq(imgpipe(&err, args), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 3 (2 up to date"), "%s", err);
	free(err);
}

/* An S3 notification of uploads/a/b/x.jpg, with the ETag of its head, as
 * S3 would send it, into path. */
static void write_event(const char *path, json_t *head)
{
	const char *etag = json_string_value(json_object_get(head, "ETag"));
	char bare[64], *text;

	cr_assert_not_null(etag);
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(etag + (*etag == '"'), "\""),
	         etag + (*etag == '"'));
	text = tu_s3_event(&(struct tu_object){ "uploads", "a/b/x.jpg", bare, -1 }, 1);
	cr_assert(text && tu_write(path, text, strlen(text)));
	free(text);
}

/* Found by a tester: for s3://b/a/b/ the CLI wrote v/b/x.jpg where the
 * trigger writes v/a/b/x.jpg, and it ignored IMGPIPE_OUTPUT_KEY. */
Test(cli_s3, the_backfill_and_the_trigger_write_the_same_objects)
{
	static const char *const backfill[] = { "resize", "-o", "s3://web/", "s3://uploads/a/b/", NULL };
	static const char *const invoke[] = { "invoke", "ev.json", NULL };
	static const char *const names[] = { "imgpipe-source", "imgpipe-source-etag",
	                                     "imgpipe-variant", "imgpipe-width", "imgpipe-height",
	                                     "imgpipe-fingerprint", NULL };
	char *out = NULL, *err = NULL, *ev_path;
	json_t *by_backfill, *by_trigger, *src;

	setenv("IMGPIPE_OUTPUT_KEY", "web/{dir}{stem}-{w}.{ext}", 1);
	setenv("IMGPIPE_VARIANTS", "t=200x", 1);
	setenv("IMGPIPE_DEST_BUCKET", "web", 1);
	setenv("IMGPIPE_SOURCE_BUCKET", "uploads", 1);
	cr_assert_eq(chdir(scratch), 0);
	aws_upload("formats/rgb.tif", "a/b/x.jpg");
	cr_assert_eq(imgpipe(&err, backfill), 0, "%s", err);
	cr_assert(strstr(err, "processed 1"), "%s", err);
	free(err);
	/* the full key is kept, and {w} is the size written */
	by_backfill = aws_head("web", "web/a/b/x-200.jpg");
	cr_assert(by_backfill, "the backfill did not write web/a/b/x-200.jpg");

	/* the trigger on the same object, with the ETag S3 puts in its event */
	src = aws_head("uploads", "a/b/x.jpg");
	cr_assert(src);
	cr_assert(asprintf(&ev_path, "%s/ev.json", scratch) > 0);
	write_event(ev_path, src);
	cr_assert_eq(imgpipe_in(&out, &err, invoke), 0, "%s", err);
	cr_assert(strstr(out, "already done for this version"), "the trigger did the work again: %s",
	          out);
	free(out); free(err);

	/* the other way round: the trigger first, then the backfill does nothing */
	aws_upload("samples/logo.png", "a/b/x.jpg");
	json_decref(src);
	src = aws_head("uploads", "a/b/x.jpg");
	write_event(ev_path, src);
	cr_assert_eq(imgpipe_in(&out, &err, invoke), 0, "%s", err);
	cr_assert(strstr(out, "1 variant written"), "%s", out);
	free(out); free(err);
	by_trigger = aws_head("web", "web/a/b/x-200.webp");
	cr_assert(by_trigger, "the trigger did not write web/a/b/x-200.webp");
	cr_assert_eq(imgpipe(&err, backfill), 0, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 1 (1 up to date"), "%s", err);
	free(err);

	/* the same metadata, whoever wrote it */
	for(const char *const *n = names; *n; n++) {
		json_t *a = json_object_get(json_object_get(by_backfill, "Metadata"), *n);
		json_t *b = json_object_get(json_object_get(by_trigger, "Metadata"), *n);

		cr_assert(json_is_string(a) && json_is_string(b), "%s: backfill %s, trigger %s", *n,
		          a ? "set" : "missing", b ? "set" : "missing");
	}
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(by_backfill, "Metadata"),
	                                                   "imgpipe-source")), "a/b/x.jpg");
	/* the set's stamp is the manifest's (the commit), not a variant's */
	cr_assert_null(json_object_get(json_object_get(by_backfill, "Metadata"), "imgpipe-set"));
	cr_assert_null(json_object_get(json_object_get(by_trigger, "Metadata"), "imgpipe-set"));
	json_decref(by_backfill);
	json_decref(by_trigger);
	json_decref(src);
	free(ev_path);
}

Test(cli_s3, one_object_to_a_local_folder_and_files_to_s3)
{
	char *out = NULL, *dir, *file = tu_data("formats/rgb.gif");
	const char *one[] = { "resize", "-o", NULL, "--variants", "s=30x", "s3://uploads/one.jpg", NULL };
	const char *up[] = { "resize", "-o", "s3://web/", "--variants", "s=30x", file, NULL };
	const char *missing[] = { "resize", "-o", "s3://web/", "s3://uploads/nope.jpg", NULL };
	const char *badout[] = { "resize", "-o", "s3://web/noslash", file, NULL };
	const char *nobucket[] = { "resize", "-o", "s3://no-such-bucket/", file, NULL };
	const char *same[] = { "resize", "-o", "s3://uploads/", "s3://uploads/", NULL };
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
	/* -o is a folder: a prefix ends in /, and a bucket alone too */
	for(size_t i = 0; i < 3; i++) {
		static const char *const outs[] = { "s3://web/noslash", "s3://web", "s3://" };

		badout[2] = outs[i];
		cr_assert_eq(imgpipe(&err, badout), 2, "-o %s", outs[i]);
		cr_assert(strstr(err, "a prefix ends in /"), "-o %s: %s", outs[i], err);
		free(err);
	}
	/* a destination bucket that is not there is said before any work */
	cr_assert_eq(imgpipe(&err, nobucket), 2);
	cr_assert(strstr(err, "-o s3://no-such-bucket/: ") && strstr(err, "no such bucket"), "%s", err);
	free(err);
	cr_assert_eq(imgpipe(&err, same), 2);
	cr_assert(strstr(err, "would be read back as sources"), "%s", err);
	free(err);
	free(out);
	free(dir);
	free(file);
}

/* Found by a tester: without credentials, "instance metadata token:
 * HTTP 403" and nothing about how to give some. */
Test(cli_s3, no_credentials_says_how_to_give_some)
{
	const char *resize[] = { "resize", "s3://uploads/", NULL };
	const char *invoke[] = { "invoke", "ev.json", NULL };
	char *out = NULL, *err = NULL;

	cr_assert_eq(chdir(scratch), 0);
	cr_assert(tu_write("ev.json", "{\"bucket\": \"uploads\", \"key\": \"a.jpg\"}", 38));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("IMGPIPE_DEST_BUCKET", "web", 1);
	cr_assert_eq(imgpipe(&err, resize), 2, "%s", err);
	cr_assert(strstr(err, "no AWS credentials"), "%s", err);
	cr_assert(strstr(err, "AWS_ACCESS_KEY_ID") && strstr(err, "AWS_PROFILE") &&
	          strstr(err, "IMGPIPE_STORE=dir:PATH"), "%s", err);
	cr_assert_null(strstr(strstr(err, "no AWS credentials") + 1, "no AWS credentials"),
	               "said more than once: %s", err);
	free(err);
	cr_assert_eq(imgpipe_in(&out, &err, invoke), 2, "%s", err);
	cr_assert(strstr(err, "AWS_ACCESS_KEY_ID") && strstr(err, "IMGPIPE_STORE=dir:PATH"), "%s", err);
	free(out);
	free(err);
}
