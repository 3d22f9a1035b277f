/*
 * test_library.c: a photo library end to end through `imgpipe resize`, as a
 * photographer runs it over years of camera folders: a tree of 30-odd real
 * and generated photos with one name in two folders (DCIM/100CANON/
 * IMG_0001.JPG of two years), names with spaces, "+", "%" and non-ASCII, a
 * folder reached through a link, and a user's own file where an output
 * goes. Run, run again, change one variant, run again: every file of the
 * output tree is compared byte for byte with the run before.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgpipe.h"
#include "sigv4.h"
#include "lib/testutil.h"

static char *scratch;

static void setup(void)
{
	tu_vips_start();
	scratch = tu_tempdir();
	unsetenv("IMGPIPE_VARIANTS");
	unsetenv("IMGPIPE_CONFIG");
	unsetenv("IMGPIPE_OUTPUT_KEY");
	unsetenv("IMGPIPE_DEST_PREFIX");
	unsetenv("IMGPIPE_MANIFEST_KEY");
	unsetenv("IMGPIPE_STORE");
	cr_assert_eq(chdir(scratch), 0);
}

static void teardown(void)
{
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(library, .init = setup, .fini = teardown, .timeout = 180);

#define imgpipe tu_imgpipe

/* From the made test data, or the repository's own (a real phone's HEIC). */
static void given(const char *testdata, const char *rel)
{
	char *from = NULL;

	if(!strncmp(testdata, "heic/", 5)) {
		if(asprintf(&from, "%s/testdata/%s", tu_srcdir(), testdata) < 0)
			abort();
	}
	else
		from = tu_data(testdata);

	cr_assert(tu_copy(from, rel), "cannot copy %s to %s", from, rel);
	free(from);
}

/* --- the output tree, file by file ---------------------------------------- */

#define MAX_FILES 1024

struct tree {
	char *path[MAX_FILES];
	char sha[MAX_FILES][65];
	size_t n;
};

static struct tree *walking;

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	size_t len;
	void *data;

	(void)sb;
	(void)ftw;
	if(type != FTW_F)
		return 0;
	cr_assert_lt(walking->n, MAX_FILES);
	data = tu_read(path, &len);
	cr_assert(data || !len, "cannot read %s", path);
	imgp_sigv4_sha256_hex(data ? data : "", data ? len : 0, walking->sha[walking->n]);
	walking->path[walking->n++] = strdup(path);
	free(data);
	return 0;
}

static void snapshot(const char *dir, struct tree *t)
{
	memset(t, 0, sizeof(*t));
	walking = t;
	cr_assert_eq(nftw(dir, visit, 16, FTW_PHYS), 0, "cannot walk %s", dir);
}

static void release(struct tree *t)
{
	for(size_t i = 0; i < t->n; i++)
		free(t->path[i]);
}

static const char *sha_of(const struct tree *t, const char *path)
{
	for(size_t i = 0; i < t->n; i++)
		if(!strcmp(t->path[i], path))
			return t->sha[i];
	return NULL;
}

/* The user's own file, where an output of lib/photos/2023/grey.jpg goes. */
#define USERS_FILE "web/small/photos/2023/grey.jpg"

/*
 * Compare after with before: every file whose path holds one of changed
 * (NULL-ended; none: nothing may change) must differ, every other (and
 * the user's file, always) be the same bytes; no file may come or go.
 * Returns how many differ.
 */
static size_t compare(const struct tree *before, const struct tree *after,
                      const char *const *changed)
{
	size_t differ = 0;

	cr_assert_eq(after->n, before->n, "%zu files before, %zu after", before->n, after->n);
	for(size_t i = 0; i < after->n; i++) {
		const char *was = sha_of(before, after->path[i]);
		bool should = false;

		cr_assert(was, "%s is new", after->path[i]);
		for(const char *const *c = changed; c && *c; c++)
			should |= strstr(after->path[i], *c) != NULL;
		should &= strcmp(after->path[i], USERS_FILE) != 0;
		if(strcmp(was, after->sha[i]))
			differ++;
		if(should)
			cr_assert_str_neq(was, after->sha[i], "%s was not rewritten", after->path[i]);
		else
			cr_assert_str_eq(was, after->sha[i], "%s changed", after->path[i]);
	}
	return differ;
}

/* --- the library ------------------------------------------------------------- */

static const char *const odd_names[][2] = {
	{ "samples/landscape.jpg", "lib/photos/2021/concert photo 2024.jpg" },
	{ "samples/portrait.jpg", "lib/photos/2021/Grand+Canyon.jpg" },
	{ "samples/logo.png", "lib/photos/2021/100% crop.png" },
	{ "formats/rgb.tif", "lib/photos/2021/\xc3\xa9t\xc3\xa9 \xe5\x86\x99\xe7\x9c\x9f.tif" },
	{ "samples/nested/deep/texture.webp", "lib/photos/2022/texture.webp" },
	{ "heic/phone.heic", "lib/photos/2022/IMG_4512.HEIC" },
	{ "formats/rgb.gif", "lib/photos/2022/rgb.gif" },
	{ "formats/rgb.webp", "lib/photos/2022/rgb.webp" },
	{ "colour/rgb16.png", "lib/photos/2022/scan 16-bit.png" },
	{ "colour/grey16.png", "lib/photos/2022/grey16.png" },
	{ "colour/cmyk-profile.jpg", "lib/photos/2022/print cmyk.jpg" },
	{ "colour/cmyk-noprofile.jpg", "lib/photos/2022/print cmyk bare.jpg" },
	{ "colour/p3.jpg", "lib/photos/2023/p3.jpg" },
	{ "colour/alpha.png", "lib/photos/2023/alpha.png" },
	{ "colour/alpha.webp", "lib/photos/2023/alpha.webp" },
	{ "colour/grey.jpg", "lib/photos/2023/grey.jpg" },
	{ "meta/exif-gps.jpg", "lib/photos/2023/gps.jpg" },
	{ "matrix/quad-progressive.jpg", "lib/photos/2023/progressive.jpg" },
	{ "matrix/quad-palette.png", "lib/photos/2023/palette.png" },
	{ "matrix/quad.avif", "lib/photos/2023/quad.avif" },
	{ "matrix/anim.gif", "lib/photos/2023/anim.gif" },
	{ "orient/orient-6.jpg", "lib/photos/2023/rotated 6.jpg" },
	{ "orient/orient-3.jpg", "lib/photos/2023/rotated 3.jpg" },
	{ "orient/orient-8.jpg", "lib/photos/2023/rotated 8.jpg" },
	/* one name in two camera folders: two different pictures */
	{ "samples/landscape.jpg", "lib/2019/DCIM/100CANON/IMG_0001.JPG" },
	{ "samples/portrait.jpg", "lib/2020/DCIM/100CANON/IMG_0001.JPG" },
	{ "formats/rgb.tif", "lib/2019/DCIM/100CANON/IMG_0002.TIF" },
	{ "orient/orient-1.jpg", "lib/2020/DCIM/100CANON/IMG_0002.JPG" },
	/* reached through a link to a folder outside the tree */
	{ "orient/orient-5.jpg", "elsewhere/shared/friend 1.jpg" },
	{ "orient/orient-7.jpg", "elsewhere/shared/friend 2.jpg" },
	{ "matrix/quad-orient6.jpg", "elsewhere/shared/friend 3.jpg" },
	{ "colour/grey.jpg", "elsewhere/shared/nested/friend 4.jpg" },
};

#define NPHOTOS (sizeof(odd_names) / sizeof(odd_names[0]))
#define SPEC "thumb=160x160,fit=cover;small=320x;large=800x,format=webp"
#define SPEC_SMALL_Q60 "thumb=160x160,fit=cover;small=320x,q=60;large=800x,format=webp"

static void build_library(void)
{
	for(size_t i = 0; i < NPHOTOS; i++)
		given(odd_names[i][0], odd_names[i][1]);
	cr_assert_eq(symlink("../../elsewhere/shared", "lib/photos/shared"), 0);
	/* an empty year: said, not an error */
	cr_assert(tu_write("lib/empty/.keep", "", 0));
	/* the user's own file where an output goes */
	cr_assert(tu_write(USERS_FILE, "my own notes, not a picture", 27));
}

/* The photographer's command: two years' IMG_0001.JPG, the rest of the
 * library, and an empty year, into web/. */
static int run_library(const char *spec, char **out, char **err)
{
	return imgpipe(out, err, "resize", "-j", "2", "--variants", spec, "-o", "web",
	               "lib/2019/DCIM/100CANON/IMG_0001.JPG", "lib/2020/DCIM/100CANON/IMG_0001.JPG",
	               "lib/2019/DCIM/100CANON/IMG_0002.TIF", "lib/2020/DCIM/100CANON/IMG_0002.JPG",
	               "lib/photos", "lib/empty", NULL);
}

Test(library, a_photo_library_run_twice_then_one_variant_changed)
{
	struct tree first, second, third;
	char *out, *err, *mine;
	size_t len, differ;
	int status;

	build_library();
	status = run_library(SPEC, &out, &err);
	/* one failure: the source whose output is the user's file */
	cr_assert_eq(status, 1, "%s", err);
	cr_assert(strstr(err, "lib/photos/2023/grey.jpg: web/small/photos/2023/grey.jpg is already "
	                      "there and was not written by imgpipe"), "%s", err);
	cr_assert(strstr(err, "processed 31,"), "every other photo processed: %s", err);
	cr_assert(strstr(err, "failed 1;"), "%s", err);
	cr_assert(strstr(err, "lib/empty: nothing there to resize"), "%s", err);
	mine = tu_read(USERS_FILE, &len);
	cr_assert(mine && len == 27 && !memcmp(mine, "my own notes", 12), "the user's file changed");
	free(mine);
	free(out);
	free(err);

	/* one name in two folders: two sets, keyed from the folder they share */
	cr_assert(tu_count_files("web/thumb/2019/DCIM/100CANON", "IMG_0001") == 1);
	cr_assert(tu_count_files("web/thumb/2020/DCIM/100CANON", "IMG_0001") == 1);
	/* the link was followed, the names kept as they are */
	cr_assert_eq(tu_count_files("web/small/photos/shared", "friend"), 4);
	cr_assert_eq(tu_count_files("web/small/photos/2021", "concert photo 2024"), 1);
	cr_assert_eq(tu_count_files("web/small/photos/2021", "Grand+Canyon"), 1);
	cr_assert_eq(tu_count_files("web/small/photos/2021", "100% crop"), 1);
	cr_assert_eq(tu_count_files("web/small/photos/2021", "\xc3\xa9t\xc3\xa9"), 1);
	snapshot("web", &first);
	/* 31 sources: three variants and a manifest each, and the user's file */
	cr_assert_eq(first.n, 31 * 4 + 1, "%zu files", first.n);

	/* the same run again: nothing written, byte for byte */
	status = run_library(SPEC, &out, &err);
	cr_assert_eq(status, 1, "%s", err);
	cr_assert(strstr(err, "processed 0, skipped 31 (31 up to date"), "%s", err);
	free(out);
	free(err);
	snapshot("web", &second);
	cr_assert_eq(compare(&first, &second, NULL), 0);

	/* small's quality changes: small's 31 files and the 31 manifests, nothing else */
	status = run_library(SPEC_SMALL_Q60, &out, &err);
	cr_assert_eq(status, 1, "%s", err);
	cr_assert(strstr(err, "processed 31,"), "%s", err);
	free(out);
	free(err);
	snapshot("web", &third);
	differ = compare(&second, &third, (const char *const[]){ "web/small/", "web/manifest/", NULL });
	cr_assert_eq(differ, 31 + 31, "%zu files changed", differ);

	/* --force replaces the user's file, as asked */
	status = imgpipe(&out, &err, "resize", "--force", "-q", "--variants", SPEC_SMALL_Q60, "-o",
	                 "web", "lib/photos", NULL);
	cr_assert_eq(status, 0, "%s", err);
	free(out);
	free(err);
	mine = tu_read(USERS_FILE, &len);
	cr_assert(mine && len > 3 && !memcmp(mine, "\xff\xd8\xff", 3), "not replaced by a JPEG");
	free(mine);
	release(&first);
	release(&second);
	release(&third);
}
