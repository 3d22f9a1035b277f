/*
 * test_store_dir.c: the local-folder store, "dir:PATH": round trips of
 * bytes and attributes, keys that must be refused, atomic writes, listing,
 * size caps and errors that say what went wrong.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "lib/testutil.h"
#include "config.h"
#include "store.h"

/* put borrows metadata; a literal needs the cast */
#define M(n, v) { (char *)(n), (char *)(v) }

static char *root;
static struct imgp_store *st;

static void setup(void)
{
	char spec[4200], err[IMGP_ERRSIZE] = "";

	root = tu_tempdir();
	snprintf(spec, sizeof(spec), "dir:%s", root);
	cr_assert_eq(imgp_store_open(spec, &st, err), IMGP_OK, "%s", err);
}

static void teardown(void)
{
	imgp_store_close(st);
	tu_rmtree(root);
	free(root);
}

TestSuite(store_dir, .init = setup, .fini = teardown);

static void put_ok(const char *bucket, const char *key, const char *text,
                   const struct imgp_put_opts *opts)
{
	struct imgp_store_error e;

	cr_assert_eq(imgp_store_put(st, bucket, key, text, strlen(text), opts, &e),
	             IMGP_OK, "put %s: %s", key, e.msg);
}

Test(store_dir, round_trip_bytes_type_and_metadata)
{
	struct imgp_meta meta[] = { M("source-etag", "\"abc\""), M("Variant", "thumb") };
	struct imgp_put_opts opts = { "image/webp", "max-age=31536000", meta, 2 };
	struct imgp_object o;
	struct imgp_store_error e;

	put_ok("out", "photos/cat.webp", "RIFF....WEBP", &opts);
	cr_assert_eq(imgp_store_get(st, "out", "photos/cat.webp", 1024, &o, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(o.len, 12);
	cr_expect_eq(memcmp(o.data, "RIFF....WEBP", 12), 0);
	cr_expect_str_eq(o.content_type, "image/webp");
	cr_expect_str_eq(o.cache_control, "max-age=31536000");
	cr_expect_str_eq(imgp_object_meta(&o, "source-etag"), "\"abc\"");
	cr_expect_str_eq(imgp_object_meta(&o, "variant"), "thumb");   /* names lower case, as S3 */
	/* S3's ETag of a single-part upload: the quoted MD5 of the bytes */
	cr_expect_str_eq(o.etag, "\"a7ba4a6c3c8b91d015e876dd594753ff\"");
	cr_expect_null(o.version_id);
	cr_expect_not_null(o.last_modified);
	imgp_object_release(&o);

	/* the file itself is the plain bytes, usable as is */
	{
		char *path, *data;
		size_t len = 0;

		cr_assert(asprintf(&path, "%s/out/photos/cat.webp", root) > 0);
		data = tu_read(path, &len);
		cr_expect_eq(len, 12);
		free(data);
		free(path);
	}
}

Test(store_dir, etag_is_md5_of_bytes_and_head_matches_get)
{
	struct imgp_object g, h;

	put_ok("b", "k", "Welcome to Amazon S3.", NULL);
	cr_assert_eq(imgp_store_get(st, "b", "k", 100, &g, NULL), IMGP_OK);
	cr_assert_eq(imgp_store_head(st, "b", "k", &h, NULL), IMGP_OK);
	/* md5("Welcome to Amazon S3.") */
	cr_expect_str_eq(g.etag, "\"d447d0e8f289f16a12ff6027ce77c258\"");
	cr_expect_str_eq(h.etag, g.etag);
	cr_expect_null(h.data);
	cr_expect_eq(h.len, 21);
	cr_expect_str_eq(h.content_type, "application/octet-stream");
	imgp_object_release(&g);
	imgp_object_release(&h);
}

/* Keys that would leave the bucket's folder, and why each is refused. */
static const struct {
	const char *key;
	const char *why;
} bad_keys[] = {
	{ "../escape", "'.' or '..' segment" },
	{ "a/../../escape", "'.' or '..' segment" },
	{ "a/./b", "'.' or '..' segment" },
	{ "..", "'.' or '..' segment" },
	{ "/etc/passwd", "absolute path" },
	{ "a//b", "empty path segment" },
	{ "dir/", "empty path segment" },
	{ ".imgpipe-tmp-x", "reserved name" },
};

Test(store_dir, keys_that_leave_the_folder_are_refused)
{
	for(size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		struct imgp_store_error e;
		struct imgp_object o;

		cr_expect_eq(imgp_store_put(st, "b", bad_keys[i].key, "x", 1, NULL, &e),
		             IMGP_E_REQUEST, "put %s", bad_keys[i].key);
		cr_expect(strstr(e.msg, bad_keys[i].why), "%s: %s", bad_keys[i].key, e.msg);
		cr_expect_eq(imgp_store_get(st, "b", bad_keys[i].key, 10, &o, &e),
		             IMGP_E_REQUEST, "get %s", bad_keys[i].key);
		cr_expect_eq(imgp_store_delete(st, "b", bad_keys[i].key, &e), IMGP_E_REQUEST);
	}
	/* and no file appeared anywhere outside */
	cr_expect_eq(tu_count_files(root, NULL), 0);
	{
		struct imgp_store_error e;
		cr_expect_eq(imgp_store_put(st, "../b", "k", "x", 1, NULL, &e), IMGP_E_REQUEST);
		cr_expect(strstr(e.msg, "bucket name"), "%s", e.msg);
		cr_expect_eq(imgp_store_put(st, ".hidden", "k", "x", 1, NULL, &e), IMGP_E_REQUEST);
	}
}

Test(store_dir, tricky_but_legal_keys_round_trip)
{
	static const char *keys[] = {
		"with space.jpg", "plus+sign.jpg", "per%cent.jpg", "paren (1).jpg",
		"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.png", "..dots..", "a/b/c/d/e.txt",
		"-dash", "~tilde", "quote\"s'", "star*?[x]",
	};
	for(size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct imgp_object o;
		struct imgp_store_error e;

		put_ok("b", keys[i], keys[i], NULL);
		cr_assert_eq(imgp_store_get(st, "b", keys[i], 4096, &o, &e), IMGP_OK, "%s: %s", keys[i], e.msg);
		cr_expect_eq(o.len, strlen(keys[i]));
		cr_expect_eq(memcmp(o.data, keys[i], o.len), 0);
		imgp_object_release(&o);
	}
}

Test(store_dir, long_key_of_1000_bytes)
{
	char key[1001];
	struct imgp_object o;

	/* segments of 199 bytes: a file name may hold 255 */
	for(int i = 0; i < 1000; i++)
		key[i] = (i % 200 == 199) ? '/' : (char)('a' + i % 26);
	key[1000] = '\0';
	key[999] = 'z';
	put_ok("b", key, "long", NULL);
	cr_assert_eq(imgp_store_get(st, "b", key, 10, &o, NULL), IMGP_OK);
	cr_expect_eq(o.len, 4);
	imgp_object_release(&o);
}

Test(store_dir, missing_key_and_bucket_are_not_found_with_s3_codes)
{
	struct imgp_object o;
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	cr_assert_eq(imgp_store_get(st, "nobucket", "k", 10, &o, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NoSuchBucket");
	put_ok("b", "there", "x", NULL);
	cr_assert_eq(imgp_store_get(st, "b", "missing", 10, &o, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NoSuchKey");
	cr_expect_str_eq(imgp_store_error_str(&e, line), "get b/missing: no such key (NoSuchKey)");
	cr_expect_not(imgp_status_temporary(e.status));
	cr_assert_eq(imgp_store_head(st, "b", "missing", &o, &e), IMGP_E_NOT_FOUND);
	/* a "folder" that only exists because of longer keys is not an object */
	put_ok("b", "dir/file", "x", NULL);
	cr_assert_eq(imgp_store_get(st, "b", "dir", 10, &o, &e), IMGP_E_NOT_FOUND);
}

Test(store_dir, over_the_cap_is_refused_before_reading)
{
	struct imgp_object o;
	struct imgp_store_error e;

	put_ok("b", "big", "0123456789", NULL);
	cr_assert_eq(imgp_store_get(st, "b", "big", 9, &o, &e), IMGP_E_TOO_LARGE);
	cr_expect(strstr(e.msg, "10 bytes, over the 9 byte limit"), "%s", e.msg);
	cr_expect_null(o.data);
	cr_assert_eq(imgp_store_get(st, "b", "big", 10, &o, &e), IMGP_OK);
	imgp_object_release(&o);
}

struct collected {
	char keys[64][128];
	int n;
	int stop_after;
};

static bool collect(void *ud, const struct imgp_list_entry *entry)
{
	struct collected *c = ud;

	if(c->n < 64)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", entry->key);
	c->n++;
	return c->stop_after == 0 || c->n < c->stop_after;
}

Test(store_dir, list_is_sorted_filtered_and_skips_attributes)
{
	struct collected c = { .n = 0 };
	struct imgp_store_error e;

	put_ok("b", "z.jpg", "1", NULL);
	put_ok("b", "a/2.jpg", "1", NULL);
	put_ok("b", "a/1.jpg", "1", NULL);
	put_ok("b", "ab.jpg", "1", NULL);
	put_ok("b", "b/x.jpg", "1", NULL);
	cr_assert_eq(imgp_store_list(st, "b", "", collect, &c, &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq(c.n, 5);
	cr_expect_str_eq(c.keys[0], "a/1.jpg");
	cr_expect_str_eq(c.keys[1], "a/2.jpg");
	cr_expect_str_eq(c.keys[2], "ab.jpg");
	cr_expect_str_eq(c.keys[3], "b/x.jpg");
	cr_expect_str_eq(c.keys[4], "z.jpg");

	memset(&c, 0, sizeof(c));
	cr_assert_eq(imgp_store_list(st, "b", "a", collect, &c, &e), IMGP_OK);
	cr_expect_eq(c.n, 3);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(imgp_store_list(st, "b", "a/", collect, &c, &e), IMGP_OK);
	cr_expect_eq(c.n, 2);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	cr_assert_eq(imgp_store_list(st, "b", NULL, collect, &c, &e), IMGP_OK);
	cr_expect_eq(c.n, 2);
	memset(&c, 0, sizeof(c));
	cr_expect_eq(imgp_store_list(st, "nobucket", NULL, collect, &c, &e), IMGP_E_NOT_FOUND);
	cr_expect_str_eq(e.code, "NoSuchBucket");
}

Test(store_dir, delete_removes_object_and_empty_folders_only)
{
	struct imgp_object o;
	char *dir;
	struct stat sb;

	put_ok("b", "x/y/z.jpg", "1", NULL);
	put_ok("b", "x/keep.jpg", "1", NULL);
	cr_assert_eq(imgp_store_delete(st, "b", "x/y/z.jpg", NULL), IMGP_OK);
	cr_expect_eq(imgp_store_get(st, "b", "x/y/z.jpg", 10, &o, NULL), IMGP_E_NOT_FOUND);
	cr_assert(asprintf(&dir, "%s/b/x/y", root) > 0);
	cr_expect_neq(stat(dir, &sb), 0, "empty folder x/y was left behind");
	free(dir);
	cr_expect_eq(imgp_store_get(st, "b", "x/keep.jpg", 10, &o, NULL), IMGP_OK);
	imgp_object_release(&o);
	/* deleting what is not there is fine, as in S3 */
	cr_expect_eq(imgp_store_delete(st, "b", "never", NULL), IMGP_OK);
}

Test(store_dir, overwrite_replaces_bytes_and_attributes)
{
	struct imgp_meta m1[] = { M("a", "1") };
	struct imgp_put_opts o1 = { "image/png", NULL, m1, 1 };
	struct imgp_put_opts o2 = { "image/jpeg", NULL, NULL, 0 };
	struct imgp_object o;

	put_ok("b", "k", "first", &o1);
	put_ok("b", "k", "second!", &o2);
	cr_assert_eq(imgp_store_get(st, "b", "k", 100, &o, NULL), IMGP_OK);
	cr_expect_eq(o.len, 7);
	cr_expect_str_eq(o.content_type, "image/jpeg");
	cr_expect_null(imgp_object_meta(&o, "a"));
	imgp_object_release(&o);
}

Test(store_dir, bad_metadata_is_refused)
{
	struct imgp_meta crlf[] = { M("x", "a\r\nInjected: yes") };
	struct imgp_meta name[] = { M("bad name", "v") };
	struct imgp_put_opts o1 = { NULL, NULL, crlf, 1 }, o2 = { NULL, NULL, name, 1 };
	struct imgp_store_error e;

	cr_expect_eq(imgp_store_put(st, "b", "k", "x", 1, &o1, &e), IMGP_E_REQUEST);
	cr_expect(strstr(e.msg, "not printable ASCII"), "%s", e.msg);
	cr_expect_eq(imgp_store_put(st, "b", "k", "x", 1, &o2, &e), IMGP_E_REQUEST);
	cr_expect(strstr(e.msg, "metadata name"), "%s", e.msg);
}

/* Readers running beside a writer see a whole old or a whole new object. */
struct race {
	volatile bool stop;
	int torn;
	int reads;
};

static void *reader(void *arg)
{
	struct race *r = arg;

	while(!r->stop) {
		struct imgp_object o;

		if(imgp_store_get(st, "b", "hot", 1 << 20, &o, NULL) == IMGP_OK) {
			r->reads++;
			/* every version is 64 KB of one repeated byte */
			if(o.len != 65536 || memchr(o.data, o.data[0] == 'A' ? 'B' : 'A', o.len))
				r->torn++;
			imgp_object_release(&o);
		}
	}
	return NULL;
}

Test(store_dir, writes_are_atomic)
{
	static char a[65536], b[65536];
	struct race r = { false, 0, 0 };
	pthread_t t;

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	cr_assert_eq(imgp_store_put(st, "b", "hot", a, sizeof(a), NULL, NULL), IMGP_OK);
	pthread_create(&t, NULL, reader, &r);
	for(int i = 0; i < 200; i++)
		cr_assert_eq(imgp_store_put(st, "b", "hot", i % 2 ? a : b, sizeof(a), NULL, NULL), IMGP_OK);
	r.stop = true;
	pthread_join(t, NULL);
	cr_expect_eq(r.torn, 0, "%d of %d reads saw a partial object", r.torn, r.reads);
	cr_expect_gt(r.reads, 0);
	/* and no temporary file is left behind */
	cr_expect_eq(tu_count_files(root, ".imgpipe-tmp-"), 0);
}

Test(store_dir, attributes_live_in_an_xattr_of_the_file)
{
	struct imgp_put_opts opts = { "image/avif", NULL, NULL, 0 };
	char *path, value[4096];
	ssize_t n;

	put_ok("b", "x.avif", "....", &opts);
	cr_assert(asprintf(&path, "%s/b/x.avif", root) > 0);
	n = getxattr(path, "user.imgpipe", value, sizeof(value) - 1);
	free(path);
	if(n < 0)
		cr_skip_test("this file system has no user xattrs (the sidecar is used)");
	value[n] = '\0';
	cr_expect(strstr(value, "\"content_type\":\"image/avif\""), "%s", value);
}

Test(store_dir, spec_errors)
{
	struct imgp_store *s = NULL;
	char err[IMGP_ERRSIZE];

	cr_expect_eq(imgp_store_open("dir:/nonexistent/imgpipe", &s, err), IMGP_E_CONFIG);
	cr_expect(strstr(err, "not a folder"), "%s", err);
	cr_expect_eq(imgp_store_open("dir:", &s, err), IMGP_E_CONFIG);
	cr_expect_eq(imgp_store_open("ftp://x", &s, err), IMGP_E_CONFIG);
	cr_expect(strstr(err, "is not one of s3, azure, dir:PATH"), "%s", err);
	cr_expect_null(s);
}

/* The URL schemes the CLI knows come from store.c's one table. */
Test(store_dir, url_schemes)
{
	static const struct {
		const char *url;
		enum imgp_status status;
		const char *bucket, *rest, *says;
	} cases[] = {
		{ "s3://b/photos/cat.jpg", IMGP_OK, "b", "photos/cat.jpg", NULL },
		{ "s3://b/photos/", IMGP_OK, "b", "photos/", NULL },
		{ "s3://b/", IMGP_OK, "b", "", NULL },
		{ "s3://b", IMGP_OK, "b", "", NULL },
		{ "s3://b//x", IMGP_OK, "b", "/x", NULL },
		{ "s3://", IMGP_E_USAGE, NULL, NULL, "no bucket in this S3 URL" },
		{ "s3:///k", IMGP_E_USAGE, NULL, NULL, "no bucket in this S3 URL" },
		{ "s3:/b/k", IMGP_E_USAGE, NULL, NULL, "is not a URL of a store" },
		{ "S3://b/k", IMGP_E_USAGE, NULL, NULL, "is not a URL of a store" },
		{ "ftp://b/k", IMGP_E_USAGE, NULL, NULL, "is not a URL of a store" },
		{ "s3", IMGP_E_USAGE, NULL, NULL, "is not a URL of a store" },
		/* the table's second line: Azure Blob containers */
		{ "az://uploads/photos/", IMGP_OK, "uploads", "photos/", NULL },
		{ "az:///k", IMGP_E_USAGE, NULL, NULL, "no bucket in this Azure Blob URL" },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[IMGP_ERRSIZE] = "", *bucket = (char *)1, *rest = (char *)1;
		enum imgp_status got = imgp_store_url_split(cases[i].url, &bucket, &rest, err);

		cr_expect_eq(got, cases[i].status, "%s: %s", cases[i].url, err);
		cr_expect_eq(imgp_store_scheme_of(cases[i].url) != NULL,
		             !strncmp(cases[i].url, "s3://", 5) || !strncmp(cases[i].url, "az://", 5),
		             "%s", cases[i].url);
		if(cases[i].status) {
			cr_expect_null(bucket, "%s", cases[i].url);
			cr_expect(strstr(err, cases[i].says), "%s: %s", cases[i].url, err);
			continue;
		}
		cr_expect_str_eq(bucket, cases[i].bucket, "%s", cases[i].url);
		cr_expect_str_eq(rest, cases[i].rest, "%s", cases[i].url);
		cr_expect_str_eq(imgp_store_scheme_of(cases[i].url)->store,
		                 cases[i].url[0] == 'a' ? "azure" : "s3");
		imgp_free(bucket);
		imgp_free(rest);
	}
}

Test(store_dir, spec_from_environment)
{
	struct imgp_job_config jc;
	struct imgp_store *s = NULL;
	char spec[4200], err[IMGP_ERRSIZE];

	snprintf(spec, sizeof(spec), "dir:%s", root);
	setenv("IMGPIPE_STORE", spec, 1);
	setenv("IMGPIPE_DEST_BUCKET", "sink", 1);
	cr_assert_eq(imgp_job_config_from_env(&jc, NULL, err), IMGP_OK, "%s", err);
	cr_assert_eq(imgp_store_open(jc.store, &s, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(imgp_store_kind(s), "dir");
	imgp_store_close(s);
	imgp_job_config_release(&jc);
	unsetenv("IMGPIPE_STORE");
	cr_assert_eq(imgp_job_config_from_env(&jc, NULL, err), IMGP_OK, "%s", err);
	cr_assert_null(jc.store);
	cr_assert_eq(imgp_store_open(jc.store, &s, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(imgp_store_kind(s), "s3");
	imgp_store_close(s);
	imgp_job_config_release(&jc);
}

/* --- the folders store: local files, any folder a bucket ---------------- */

Test(store_dir, folders_any_folder_is_a_bucket_and_a_file_has_a_version)
{
	struct imgp_store *f;
	struct imgp_store_error e;
	struct imgp_object o, again;
	char err[IMGP_ERRSIZE], *bucket, head[8];
	size_t len = 0;

	cr_assert_eq(imgp_store_open_folders(&f, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(imgp_store_kind(f), "folders");
	cr_assert(asprintf(&bucket, "%s/my photos/", root) > 0);
	/* a folder to be written is made, a file is not a folder */
	cr_assert_eq(imgp_store_check_bucket(f, bucket, true, &e), IMGP_OK, "%s", e.msg);
	cr_assert(tu_write("plain", "x", 1));
	cr_assert_eq(imgp_store_check_bucket(f, "plain", true, &e), IMGP_E_REQUEST);
	cr_assert_str_eq(e.msg, "plain is not a folder");
	unlink("plain");
	cr_assert_eq(imgp_store_put(f, bucket, "2024/a.jpg", "\xFF\xD8\xFF" "abc", 6, NULL, &e), IMGP_OK,
	             "%s", e.msg);
	imgp_object_init(&o);
	cr_assert_eq(imgp_store_head(f, bucket, "2024/a.jpg", &o, &e), IMGP_OK, "%s", e.msg);
	cr_assert(o.version_id && strstr(o.version_id, "-6"), "version %s", o.version_id);
	cr_assert_eq(imgp_store_peek(f, bucket, "2024/a.jpg", head, sizeof(head), &len, &e), IMGP_OK);
	cr_assert_eq(len, 6);
	cr_assert_eq(memcmp(head, "\xFF\xD8\xFF", 3), 0);
	/* a rewrite is a new version, even of the same size (a later one: the
	 * version is rsync's quick check, as fine as the file system's clock) */
	cr_assert_eq(imgp_store_put(f, bucket, "2024/a.jpg", "\xFF\xD8\xFF" "abd", 6, NULL, &e), IMGP_OK);
	char *file;
	cr_assert(asprintf(&file, "%s2024/a.jpg", bucket) > 0);
	struct timespec later[2] = { { 0, UTIME_NOW }, { time(NULL) + 5, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, file, later, 0), 0);
	free(file);
	imgp_object_init(&again);
	cr_assert_eq(imgp_store_head(f, bucket, "2024/a.jpg", &again, &e), IMGP_OK, "%s", e.msg);
	cr_assert_str_neq(o.version_id, again.version_id);
	imgp_object_release(&o);
	imgp_object_release(&again);
	/* messages name the file as a path: no doubled slash */
	imgp_object_init(&o);
	cr_assert_eq(imgp_store_get(f, bucket, "2024/nope.jpg", 100, &o, &e), IMGP_E_NOT_FOUND);
	cr_assert(strstr(e.msg, "my photos/2024/nope.jpg: no such file"), "%s", e.msg);
	cr_assert_null(strstr(e.msg, "//"), "%s", e.msg);
	imgp_store_close(f);
	free(bucket);
}

struct seen { char keys[8][64]; char versions[8][64]; int n; };

static bool collect_versions(void *ud, const struct imgp_list_entry *entry)
{
	struct seen *s = ud;

	if(s->n < 8) {
		snprintf(s->keys[s->n], 64, "%s", entry->key);
		snprintf(s->versions[s->n], 64, "%s", entry->version_id ? entry->version_id : "");
		s->n++;
	}
	return true;
}

Test(store_dir, folders_list_hidden_files_out_with_versions)
{
	struct imgp_store *f;
	struct imgp_store_error e;
	struct seen s = { .n = 0 };
	char err[IMGP_ERRSIZE], *path;

	cr_assert_eq(imgp_store_open_folders(&f, err), IMGP_OK, "%s", err);
	cr_assert(asprintf(&path, "%s/in/a/b.jpg", root) > 0 && tu_write(path, "b", 1));
	free(path);
	cr_assert(asprintf(&path, "%s/in/.hidden/c.jpg", root) > 0 && tu_write(path, "c", 1));
	free(path);
	cr_assert(asprintf(&path, "%s/in/.d.jpg", root) > 0 && tu_write(path, "d", 1));
	free(path);
	cr_assert(asprintf(&path, "%s/in/e.jpg", root) > 0 && tu_write(path, "e", 1));
	free(path);
	cr_assert_eq(imgp_store_list(f, root, "in/", collect_versions, &s, &e), IMGP_OK, "%s", e.msg);
	cr_assert_eq(s.n, 2, "hidden files listed");
	cr_assert_str_eq(s.keys[0], "in/a/b.jpg");
	cr_assert_str_eq(s.keys[1], "in/e.jpg");
	cr_assert(strstr(s.versions[1], "-1"), "no version: %s", s.versions[1]);
	imgp_store_close(f);
}
