/*
 * test_demo.c: the README's first command. `make demo` runs
 * scripts/demo.py: the sample uploads through `imgpipe invoke` against the
 * local-folder store, then a contact sheet. Here the same script runs on
 * this build into a scratch folder, and the sheet is checked against the
 * files: every variant drawn at its real size with its real byte count.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

TestSuite(demo, .init = setup, .fini = teardown, .timeout = 120);

Test(demo, runs_and_draws_every_variant_at_its_real_size)
{
	char *script, *out = NULL, *err = NULL, *sheet, *page, *p;
	const char *argv[] = { "/usr/bin/env", "python3", NULL, NULL };
	int figures = 0;
	size_t len;

	cr_assert(asprintf(&script, "%s/scripts/demo.py", tu_srcdir()) > 0);
	argv[2] = script;
	setenv("DEMO_OUT", scratch, 1);
	cr_assert_eq(tu_run(argv, &out, &err), 0, "demo failed: %s %s", out, err);
	cr_assert(strstr(out, "the same upload delivered again"), "%s", out);
	cr_assert(strstr(out, "already done for this version"), "%s", out);
	cr_assert(strstr(out, "7 variants written"), "%s", out);
	cr_assert(asprintf(&sheet, "%s/index.html", scratch) > 0);
	page = tu_read(sheet, &len);
	cr_assert(page, "no contact sheet");
	/* <figure><img src='store/imgpipe-variants/KEY' width=W height=H alt='NAME'><figcaption
	 * title='N bytes'>NAME: FORMAT W &times; H[ (cropped)], N/1000 kB, KEY %-encoded in
	 * the address */
	for(p = page; (p = strstr(p, "<figure><img src='store/imgpipe-variants/")); p++) {
		char key[512], plain[512], path[1024], kb[32], said[32];
		int w, h, cw, ch;
		long bytes;
		struct stat st;
		VipsImage *im;
		size_t k = 0;

		cr_assert_eq(sscanf(p, "<figure><img src='store/imgpipe-variants/%511[^']' width=%d "
		                    "height=%d alt='%*[^']'><figcaption title='%ld bytes'>%*[^:]: %*s "
		                    "%d &times; %d", key, &w, &h, &bytes, &cw, &ch), 6,
		             "unreadable figure: %.200s", p);
		snprintf(kb, sizeof(kb), ", %.1f kB", bytes / 1000.0);
		snprintf(said, sizeof(said), "%.*s", (int)strlen(kb), strstr(p, ", ") ? strstr(p, ", ") : "");
		cr_assert_str_eq(said, kb, "%s: its kilobytes are not said", key);
		for(const char *c = key; *c && k < sizeof(plain) - 1; c++) {
			unsigned hex;

			if(*c == '%' && sscanf(c + 1, "%2x", &hex) == 1) {
				plain[k++] = (char)hex;
				c += 2;
			}
			else
				plain[k++] = *c;
		}
		plain[k] = '\0';
		snprintf(path, sizeof(path), "%s/store/imgpipe-variants/%s", scratch, plain);
		im = vips_image_new_from_file(path, NULL);
		cr_assert(im, "%s does not decode", key);
		cr_assert(im->Xsize == w && im->Ysize == h && cw == w && ch == h,
		          "%s is %dx%d, drawn %dx%d, said %dx%d", key, im->Xsize, im->Ysize, w, h, cw, ch);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(bytes, (long)st.st_size, "%s: %ld bytes said, %lld there", key, bytes,
		             (long long)st.st_size);
		g_object_unref(im);
		figures++;
	}
	cr_assert_geq(figures, 28, "only %d variants on the sheet", figures);
	/* each upload as a page uses it: a <picture> over its placeholder */
	cr_assert(strstr(page, "<picture><source type='image/webp' srcset='"), "no <picture>");
	cr_assert(strstr(page, "background-image:url(data:image/webp;base64,"), "no placeholder");
	cr_assert(strstr(page, "original jpeg, 2000 &times; 3000"), "the portrait's size is not said");
	/* the placeholder shown on its own, and the grid */
	cr_assert(strstr(page, "placeholder, shown first"), "no placeholder figure");
	cr_assert(strstr(page, "<div class=grid>"), "no grid");
	cr_assert(strstr(page, "% of the JPEG's"), "no format beside the JPEG");
	free(page); free(sheet); free(script); free(out); free(err);
}

/*
 * Found by a tester: on a fresh machine `make demo` and `make test` first
 * printed a screen of "Package vips was not found in the pkg-config search
 * path" before the step that installs the packages ran.
 */
Test(demo, make_asks_pkg_config_only_after_installing_the_packages)
{
	static const char *const targets[] = { "test", "demo" };

	for(size_t i = 0; i < 2; i++) {
		/* MAKE=true: the first make only; what it hands to the second runs
		 * after deps.sh, as a new process that sees the new packages */
		const char *argv[] = { "/usr/bin/env", "make", "-n", "-C", tu_srcdir(), targets[i],
		                       "MAKE=true", NULL };
		char *out = NULL, *err = NULL, *deps;

		/* a machine with no .pc files at all, and no outer make's jobserver */
		setenv("PKG_CONFIG_LIBDIR", "/nonexistent/imgpipe-test", 1);
		unsetenv("MAKEFLAGS");
		unsetenv("MFLAGS");
		unsetenv("MAKELEVEL");
		tu_run(argv, &out, &err);
		deps = strstr(out, "scripts/deps.sh");
		cr_assert(deps, "make -n %s does not run deps.sh: %s", targets[i], out);
		cr_assert_null(strstr(err, "was not found"), "make %s asked pkg-config before "
		               "installing anything: %s", targets[i], err);
		free(out);
		free(err);
	}
}
