/*
 * test_render.c: the pipeline on real images made by tests/mkimages.c.
 * Every test decodes what imgpipe wrote and looks at it: dimensions,
 * pixels, bands, metadata, formats.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "render.h"
#include "render_impl.h"
#include <vips/vector.h>
#include "lib/testutil.h"

static void start(void)
{
	char err[IMGP_ERRSIZE];

	if(imgp_render_init("imgpipe-tests", 1, err))
		cr_assert_fail("render init: %s", err);
}

TestSuite(render, .init = start);

/* Render one test image with one spec; fails the test on error. */
static void render_ok(const char *rel, const char *spec, struct imgp_config *cfg,
                      struct imgp_render_result *res)
{
	char err[IMGP_ERRSIZE] = "";
	char *path = tu_data(rel);
	size_t len;
	void *data = tu_read(path, &len);

	cr_assert(data, "cannot read %s (did make testdata run?)", path);
	imgp_config_init(cfg);
	cr_assert_eq(imgp_config_parse_spec(cfg, spec, err), IMGP_OK, "%s", err);
	cr_assert_eq(imgp_render(cfg, data, len, res, err), IMGP_OK, "%s: %s", rel, err);
	cr_assert_eq(res->noutputs, cfg->nvariants);
	free(data);
	free(path);
}

/* Render and expect a failure with this status and reason. */
static void render_fails(const char *rel, const char *spec, enum imgp_status want,
                         const char *reason)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE] = "";
	char *path = tu_data(rel);
	size_t len = 0;
	void *data = tu_read(path, &len);

	cr_assert(data, "cannot read %s", path);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, spec, err), IMGP_OK, "%s", err);
	enum imgp_status got = imgp_render(&cfg, data, len, &res, err);
	cr_assert_eq(got, want, "%s: got %s (%s), want %s", rel, imgp_status_str(got), err,
	             imgp_status_str(want));
	cr_assert(strstr(err, reason), "%s: reason \"%s\" lacks \"%s\"", rel, err, reason);
	free(data);
	free(path);
}

static VipsImage *decode_output(const struct imgp_output *o)
{
	VipsImage *image = tu_decode(o->data, o->len);

	cr_assert(image, "output of %s does not decode: %s", o->variant->name, vips_error_buffer());
	return image;
}

static void assert_colour(VipsImage *im, int x, int y, int r, int g, int b, int tol,
                          const char *what)
{
	double pr = tu_pixel(im, x, y, 0), pg = tu_pixel(im, x, y, 1), pb = tu_pixel(im, x, y, 2);

	cr_assert(abs((int)pr - r) <= tol && abs((int)pg - g) <= tol && abs((int)pb - b) <= tol,
	          "%s: pixel (%d,%d) is (%.0f,%.0f,%.0f), want (%d,%d,%d) +-%d",
	          what, x, y, pr, pg, pb, r, g, b, tol);
}

/* --- orientation: all eight ------------------------------------------ */

struct orient { int n; };
static struct orient orients[] = { {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8} };

ParameterizedTestParameters(render, exif_orientation)
{
	return cr_make_param_array(struct orient, orients, 8);
}

/* Each orient-N.jpg stores the reference transformed by N's inverse; a
 * correct pipeline shows the reference: 160x120, red top-left, green
 * top-right, blue bottom-left, white bottom-right. */
ParameterizedTest(struct orient *o, render, exif_orientation, .init = start)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char rel[64];
	VipsImage *im;

	snprintf(rel, sizeof(rel), "orient/orient-%d.jpg", o->n);
	render_ok(rel, "o=1000x1000,format=png", &cfg, &res);
	cr_assert_eq(res.probe.width, 160, "orientation %d: probe width %d", o->n, res.probe.width);
	im = decode_output(&res.outputs[0]);
	cr_assert_eq(im->Xsize, 160, "orientation %d: width %d", o->n, im->Xsize);
	cr_assert_eq(im->Ysize, 120, "orientation %d: height %d", o->n, im->Ysize);
	assert_colour(im, 40, 30, 255, 0, 0, 40, "top-left");
	assert_colour(im, 120, 30, 0, 255, 0, 40, "top-right");
	assert_colour(im, 40, 90, 0, 0, 255, 40, "bottom-left");
	assert_colour(im, 120, 90, 255, 255, 255, 40, "bottom-right");
	cr_assert_not(vips_image_get_typeof(im, "orientation") &&
	              vips_image_get_orientation(im) != 1, "orientation tag left behind");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

/* --- colour ------------------------------------------------------------ */

/*
 * Compare with libvips' own ICC conversion of the same file (through its
 * profile, or libvips' CMYK profile when it has none), and make sure the
 * red stripe is red: an inverted CMYK decode turns it cyan.
 */
static void check_stripes(const char *rel, bool embedded)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im, *src, *ref;
	char *path = tu_data(rel);

	render_ok(rel, "c=300x200,format=png", &cfg, &res);
	im = decode_output(&res.outputs[0]);
	cr_assert_eq(im->Bands, 3, "%s: %d bands", rel, im->Bands);
	cr_assert_eq(im->Type, VIPS_INTERPRETATION_sRGB);
	src = vips_image_new_from_file(path, NULL);
	cr_assert(src);
	cr_assert_eq(vips_icc_transform(src, &ref, "srgb", "embedded", embedded,
	                                "input_profile", "cmyk", NULL), 0, "%s", vips_error_buffer());
	for(int x = 50; x < 300; x += 100) {
		char what[64];
		snprintf(what, sizeof(what), "%s stripe at x=%d", rel, x);
		assert_colour(im, x, 100, (int)tu_pixel(ref, x, 100, 0), (int)tu_pixel(ref, x, 100, 1),
		              (int)tu_pixel(ref, x, 100, 2), 20, what);
	}
	cr_assert_gt(tu_pixel(im, 50, 100, 0), 180, "red stripe is not red");
	cr_assert_lt(tu_pixel(im, 50, 100, 1), 90, "red stripe is not red");
	g_object_unref(ref);
	g_object_unref(src);
	g_object_unref(im);
	imgp_render_result_release(&res);
	free(path);
}

Test(render, cmyk_with_profile_keeps_real_colours)
{
	check_stripes("colour/cmyk-profile.jpg", true);
}

Test(render, cmyk_without_profile_keeps_real_colours)
{
	check_stripes("colour/cmyk-noprofile.jpg", false);
}

Test(render, sixteen_bit_becomes_eight_bit_srgb)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;

	render_ok("colour/rgb16.png", "c=200x100,format=png", &cfg, &res);
	im = decode_output(&res.outputs[0]);
	cr_assert_eq(im->BandFmt, VIPS_FORMAT_UCHAR);
	cr_assert_eq(im->Bands, 3);
	assert_colour(im, 50, 50, 255, 0, 0, 8, "left");
	assert_colour(im, 150, 50, 0, 0, 255, 8, "right");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

Test(render, greyscale_and_grey16_become_srgb)
{
	static const char *const files[] = { "colour/grey.jpg", "colour/grey16.png" };

	for(int i = 0; i < 2; i++) {
		struct imgp_config cfg;
		struct imgp_render_result res;
		VipsImage *im;

		render_ok(files[i], "g=100x,format=jpeg", &cfg, &res);
		im = decode_output(&res.outputs[0]);
		cr_assert_eq(im->Bands, 3, "%s: %d bands", files[i], im->Bands);
		cr_assert_eq(im->Xsize, 100);
		cr_assert_eq(im->Ysize, 50);
		/* a horizontal ramp: dark on the left, light on the right */
		cr_assert_lt(tu_pixel(im, 2, 25, 0), 40, "%s: left is not dark", files[i]);
		cr_assert_gt(tu_pixel(im, 97, 25, 0), 215, "%s: right is not light", files[i]);
		g_object_unref(im);
		imgp_render_result_release(&res);
	}
}

Test(render, display_p3_is_converted_to_srgb)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;
	char *path = tu_data("colour/p3.jpg");
	bool have = tu_exists(path);

	free(path);
	if(!have)
		cr_skip_test("this libvips has no built-in p3 profile");
	render_ok("colour/p3.jpg", "c=50x50,format=png", &cfg, &res);
	im = decode_output(&res.outputs[0]);
	cr_assert_eq(im->Bands, 3);
	cr_assert(vips_image_get_typeof(im, VIPS_META_ICC_NAME), "output not tagged");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

/* --- alpha ------------------------------------------------------------- */

Test(render, alpha_kept_for_png_webp_flattened_for_jpeg)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;

	render_ok("colour/alpha.png",
	          "p=100x100,format=png;w=100x100,format=webp;j=100x100,format=jpeg;"
	          "k=100x100,format=jpeg,bg=#000000;a=100x100", &cfg, &res);
	for(int i = 0; i < 2; i++) {
		im = decode_output(&res.outputs[i]);
		cr_assert_eq(im->Bands, 4, "%s lost its alpha", cfg.variants[i].name);
		cr_assert_lt(tu_pixel(im, 2, 2, 3), 5, "corner not transparent");
		cr_assert_gt(tu_pixel(im, 50, 50, 3), 250, "centre not opaque");
		g_object_unref(im);
	}
	im = decode_output(&res.outputs[2]);
	cr_assert_eq(im->Bands, 3);
	assert_colour(im, 2, 2, 255, 255, 255, 6, "flattened on white");
	assert_colour(im, 50, 50, 255, 0, 0, 20, "red square");
	g_object_unref(im);
	im = decode_output(&res.outputs[3]);
	assert_colour(im, 2, 2, 0, 0, 0, 6, "flattened on bg=#000000");
	g_object_unref(im);
	/* auto: alpha means WebP */
	cr_assert_eq(res.outputs[4].format, IMGP_FMT_WEBP);
	cr_assert(res.probe.alpha);
	imgp_render_result_release(&res);
}

Test(render, auto_picks_jpeg_for_opaque)
{
	struct imgp_config cfg;
	struct imgp_render_result res;

	render_ok("formats/rgb.tif", "a=100x100", &cfg, &res);
	cr_assert_eq(res.outputs[0].format, IMGP_FMT_JPEG);
	cr_assert(!memcmp(res.outputs[0].data, "\xFF\xD8\xFF", 3), "not a JPEG");
	imgp_render_result_release(&res);
}

/* --- metadata ---------------------------------------------------------- */

Test(render, metadata_stripped_by_default_kept_with_strip_no)
{
	static const char *const formats[] = { "jpeg", "webp", "png" };
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;
	char spec[256];

	snprintf(spec, sizeof(spec), "j=200x,format=jpeg;w=200x,format=webp;p=200x,format=png;"
	         "keep=200x,format=jpeg,strip=no");
	render_ok("meta/exif-gps.jpg", spec, &cfg, &res);
	for(int i = 0; i < 3; i++) {
		im = decode_output(&res.outputs[i]);
		cr_assert_not(vips_image_get_typeof(im, VIPS_META_EXIF_NAME),
		              "%s output has EXIF", formats[i]);
		cr_assert_not(vips_image_get_typeof(im, VIPS_META_XMP_NAME),
		              "%s output has XMP", formats[i]);
		cr_assert_not(vips_image_get_typeof(im, VIPS_META_IPTC_NAME),
		              "%s output has IPTC", formats[i]);
		cr_assert_null(memmem(res.outputs[i].data, res.outputs[i].len, "imgpipe-secret-xmp", 18),
		               "%s output holds the XMP text", formats[i]);
		g_object_unref(im);
	}
	/* JPEG, WebP and PNG carry the compact sRGB profile on every libvips */
	for(int i = 0; i < 3; i++) {
		size_t n = 0;
		const void *icc;

		im = decode_output(&res.outputs[i]);
		cr_assert(vips_image_get_typeof(im, VIPS_META_ICC_NAME), "%s not tagged", formats[i]);
		vips_image_get_blob(im, VIPS_META_ICC_NAME, &icc, &n);
		cr_assert_lt(n, 1024, "profile of %zu bytes is not the compact one", n);
		g_object_unref(im);
	}
	im = decode_output(&res.outputs[3]);
	cr_assert(vips_image_get_typeof(im, VIPS_META_EXIF_NAME), "strip=no lost EXIF");
	cr_assert(vips_image_get_typeof(im, VIPS_META_XMP_NAME), "strip=no lost XMP");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

/*
 * Found by a tester: the same image rendered a second apart gave other
 * bytes, because lcms2 dated the sRGB profile with the time it was made.
 * The profile carries a fixed date now, and two renders are identical.
 */
Test(render, the_same_image_gives_the_same_bytes_whenever_it_is_rendered)
{
	struct imgp_config cfg;
	struct imgp_render_result a, b;
	VipsImage *im;
	const unsigned char *icc;
	size_t n = 0;

	render_ok("samples/landscape.jpg", "s=200x200,format=jpeg;w=200x200,format=webp", &cfg, &a);
	render_ok("samples/landscape.jpg", "s=200x200,format=jpeg;w=200x200,format=webp", &cfg, &b);
	for(size_t i = 0; i < 2; i++) {
		cr_assert_eq(a.outputs[i].len, b.outputs[i].len);
		cr_assert_eq(memcmp(a.outputs[i].data, b.outputs[i].data, a.outputs[i].len), 0,
		             "%s: two renders differ", cfg.variants[i].name);
		im = decode_output(&a.outputs[i]);
		cr_assert_eq(vips_image_get_blob(im, VIPS_META_ICC_NAME, (const void **)&icc, &n), 0);
		cr_assert_geq(n, 100);
		/* dateTimeNumber: 2025-01-01 00:00:00, whatever the clock says */
		cr_assert_eq(icc[24] << 8 | icc[25], 2025, "%s: profile dated %d", cfg.variants[i].name,
		             icc[24] << 8 | icc[25]);
		cr_assert_eq(icc[26] << 8 | icc[27], 1);
		cr_assert_eq(icc[28] << 8 | icc[29], 1);
		for(int k = 30; k < 36; k++)
			cr_assert_eq(icc[k], 0);
		g_object_unref(im);
	}
	imgp_render_result_release(&a);
	imgp_render_result_release(&b);
}

/*
 * A variant's bytes are the same whichever other variants are encoded with
 * it: every subset of a set gives, for each variant it encodes, the bytes
 * of the whole set's render (the decode and the bases come from the whole
 * set's plan, not from what is encoded this time).
 */
Test(render, any_subset_of_a_set_gives_the_same_bytes_for_its_variants)
{
	static const char *const sources[] = { "samples/landscape.jpg", "samples/logo.png",
	                                       "formats/rgb.tif" };
	const char *spec = "a=320x;b=800x,format=webp;c=160x160,fit=cover;d=1600x,q=70";
	char err[IMGP_ERRSIZE] = "";

	for(size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
		struct imgp_config cfg;
		struct imgp_render_result all;
		char *path = tu_data(sources[s]);
		size_t len;
		void *data = tu_read(path, &len);

		cr_assert(data, "cannot read %s", path);
		render_ok(sources[s], spec, &cfg, &all);
		for(unsigned mask = 1; mask < 15; mask++) {
			struct imgp_render_result some;
			bool want[IMGP_MAX_VARIANTS] = { false };

			for(size_t i = 0; i < 4; i++)
				want[i] = mask >> i & 1;
			cr_assert_eq(imgp_render_some(&cfg, want, data, len, &some, err), IMGP_OK, "%s",
			             err);
			for(size_t i = 0; i < 4; i++) {
				if(!want[i]) {
					cr_assert_null(some.outputs[i].data, "%s: %s encoded unasked", sources[s],
					               cfg.variants[i].name);
					continue;
				}
				cr_assert(some.outputs[i].len == all.outputs[i].len &&
				          !memcmp(some.outputs[i].data, all.outputs[i].data, all.outputs[i].len),
				          "%s: variant %s rendered with subset %x differs from the whole set's",
				          sources[s], cfg.variants[i].name, mask);
			}
			imgp_render_result_release(&some);
		}
		imgp_render_result_release(&all);
		free(data);
		free(path);
	}
}

/* A 16-bit grey PNG with a faint alpha keeps it in every format that has
 * alpha (found by a tester: AVIF lost it, WebP kept it). */
Test(render, a_faint_alpha_of_sixteen_bit_grey_survives_every_format)
{
	VipsImage *grey, *scaled, *alpha, *joined, *u16;
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE] = "";
	void *png = NULL;
	size_t len = 0;

	cr_assert_eq(vips_grey(&grey, 200, 100, NULL), 0);
	cr_assert_eq(vips_linear1(grey, &scaled, 65535, 0, NULL), 0);
	cr_assert_eq(vips_black(&alpha, 200, 100, NULL), 0);
	{
		VipsImage *faint;

		cr_assert_eq(vips_linear1(alpha, &faint, 1, 7.2 * 257, NULL), 0);
		cr_assert_eq(vips_bandjoin2(scaled, faint, &joined, NULL), 0);
		g_object_unref(faint);
	}
	cr_assert_eq(vips_cast(joined, &u16, VIPS_FORMAT_USHORT, NULL), 0);
	u16->Type = VIPS_INTERPRETATION_GREY16;
	cr_assert_eq(vips_pngsave_buffer(u16, &png, &len, NULL), 0);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, imgp_render_can_write(IMGP_FMT_AVIF) ?
	             "w=100x,format=webp;p=100x,format=png;a=100x,format=avif" :
	             "w=100x,format=webp;p=100x,format=png", err), IMGP_OK, "%s", err);
	cr_assert_eq(imgp_render(&cfg, png, len, &res, err), IMGP_OK, "%s", err);
	for(size_t i = 0; i < res.noutputs; i++) {
		VipsImage *im = decode_output(&res.outputs[i]), *a;
		double mean;

		cr_assert(vips_image_hasalpha(im), "%s lost its alpha band", cfg.variants[i].name);
		cr_assert_eq(vips_extract_band(im, &a, im->Bands - 1, NULL), 0);
		cr_assert_eq(vips_avg(a, &mean, NULL), 0);
		cr_assert(mean > 6 && mean < 8.5, "%s: alpha mean %.2f, not about 7.2",
		          cfg.variants[i].name, mean);
		g_object_unref(a);
		g_object_unref(im);
	}
	imgp_render_result_release(&res);
	g_free(png);
	g_object_unref(u16);
	g_object_unref(joined);
	g_object_unref(alpha);
	g_object_unref(scaled);
	g_object_unref(grey);
}

/*
 * format=best asks whether this build writes AVIF, which the first time
 * encodes a sample holding libvips' lock alone: asked from inside a render
 * (holding it shared) that waited for ever. This process has not asked yet.
 */
Test(render, best_renders_without_asking_first, .timeout = 60)
{
	struct imgp_config cfg;
	struct imgp_render_result res;

	render_ok("samples/landscape.jpg", "b=200x200,format=best", &cfg, &res);
	cr_assert(res.outputs[0].format == IMGP_FMT_JPEG || res.outputs[0].format == IMGP_FMT_WEBP ||
	          res.outputs[0].format == IMGP_FMT_AVIF, "best wrote format %d", res.outputs[0].format);
	imgp_render_result_release(&res);
}

/* --- geometry: sharp's fits -------------------------------------------- */

struct fit_case {
	char spec[64];
	int w, h;
};

/* formats/rgb.tif is 300x200 */
static struct fit_case fit_cases[] = {
	{ "f=100x100", 100, 67 },
	{ "f=100x100,fit=inside", 100, 67 },
	{ "f=100x100,fit=cover", 100, 100 },
	{ "f=100x100,fit=cover,crop=attention", 100, 100 },
	{ "f=100x100,fit=cover,crop=entropy", 100, 100 },
	{ "f=100x100,fit=contain", 100, 100 },
	{ "f=100x100,fit=fill", 100, 100 },
	{ "f=150x", 150, 100 },
	{ "f=x50", 75, 50 },
	/* inside never enlarges unless asked; cover, contain and fill produce
	 * their box unless told not to */
	{ "f=600x600", 300, 200 },
	{ "f=600x600,enlarge=yes", 600, 400 },
	{ "f=600x", 300, 200 },
	{ "f=600x,enlarge=yes", 600, 400 },
	{ "f=600x100,fit=cover", 600, 100 },
	{ "f=600x100,fit=cover,enlarge=no", 300, 100 },
	{ "f=600x600,fit=cover", 600, 600 },
	{ "f=600x600,fit=cover,enlarge=no", 300, 200 },
	{ "f=600x600,fit=contain", 600, 600 },
	{ "f=600x50,fit=fill", 600, 50 },
	{ "f=600x50,fit=fill,enlarge=no", 300, 50 },
	{ "f=30x90,fit=fill", 30, 90 },
	{ "f=600x,fit=cover", 300, 200 },       /* one side free: nothing to cover */
	{ "f=1x1", 1, 1 },
	{ "f=1x1,fit=cover", 1, 1 },
};

ParameterizedTestParameters(render, fit)
{
	return cr_make_param_array(struct fit_case, fit_cases, sizeof(fit_cases) / sizeof(fit_cases[0]));
}

ParameterizedTest(struct fit_case *c, render, fit, .init = start)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;

	render_ok("formats/rgb.tif", c->spec, &cfg, &res);
	im = decode_output(&res.outputs[0]);
	cr_assert_eq(im->Xsize, c->w, "%s: width %d, want %d", c->spec, im->Xsize, c->w);
	cr_assert_eq(im->Ysize, c->h, "%s: height %d, want %d", c->spec, im->Ysize, c->h);
	cr_assert_eq(res.outputs[0].width, c->w);
	cr_assert_eq(res.outputs[0].height, c->h);
	g_object_unref(im);
	imgp_render_result_release(&res);
}

Test(render, contain_letterboxes_with_bg)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;

	render_ok("formats/rgb.tif", "c=100x100,fit=contain,bg=#00ff00,format=png", &cfg, &res);
	im = decode_output(&res.outputs[0]);
	/* 300x200 fits as 100x67: bands of about 16 px above and below */
	assert_colour(im, 50, 2, 0, 255, 0, 2, "top letterbox");
	assert_colour(im, 50, 97, 0, 255, 0, 2, "bottom letterbox");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

/* --- formats ----------------------------------------------------------- */

Test(render, every_format_and_its_options)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	VipsImage *im;

	render_ok("formats/big.jpg",
	          "lo=400x,format=jpeg,q=30;hi=400x,format=jpeg,q=95;"
	          "prog=400x,format=jpeg,progressive=yes;webp=400x,format=webp,q=70,effort=2;"
	          "wl=100x,format=webp,lossless=yes;png=100x,format=png,compression=9;"
	          "pal=100x,format=png,palette=yes", &cfg, &res);
	cr_assert_lt(res.outputs[0].len, res.outputs[1].len, "q=30 is not smaller than q=95");
	im = decode_output(&res.outputs[2]);
	int multiscan = 0;
	vips_image_get_int(im, "jpeg-multiscan", &multiscan);
	cr_assert_eq(multiscan, 1, "progressive=yes did not write a progressive JPEG");
	g_object_unref(im);
	cr_assert(!memcmp((char *)res.outputs[3].data + 8, "WEBP", 4), "not a WebP");
	cr_assert(!memcmp((char *)res.outputs[5].data + 1, "PNG", 3), "not a PNG");
	im = decode_output(&res.outputs[6]);
	cr_assert(vips_image_get_typeof(im, "palette-bit-depth") ||
	          vips_image_get_typeof(im, "bits-per-sample"), "palette=yes wrote no palette PNG");
	g_object_unref(im);
	imgp_render_result_release(&res);
}

Test(render, avif_encodes_or_is_refused_up_front)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, "av=100x,format=avif,q=50", err), IMGP_OK);
	if(imgp_render_check(&cfg, err)) {
		cr_assert(strstr(err, "variant \"av\": format=avif is not available"), "%s", err);
		return;
	}
	render_ok("formats/rgb.tif", "av=100x,format=avif,q=50", &cfg, &res);
	cr_assert(!memcmp((char *)res.outputs[0].data + 4, "ftypavif", 8), "not an AVIF");
	imgp_render_result_release(&res);
}

/* The bytes of one variant of rel rendered with spec (caller frees). */
static void *rendered(const char *rel, const char *spec, size_t *len)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	void *out;

	render_ok(rel, spec, &cfg, &res);
	*len = res.outputs[0].len;
	out = g_memdup2(res.outputs[0].data, *len);
	imgp_render_result_release(&res);
	return out;
}

static bool same_bytes(const char *rel, const char *a, const char *b)
{
	size_t la, lb;
	void *x = rendered(rel, a, &la), *y = rendered(rel, b, &lb);
	bool same = la == lb && !memcmp(x, y, la);

	g_free(x);
	g_free(y);
	return same;
}

/*
 * A variant that names no q, effort or chroma gets its format's documented
 * default (docs/variants.md, --help: config.h's IMGP_*_DEFAULT_*), and AVIF's
 * is not JPEG's.
 */
Test(render, each_format_gets_its_own_default_quality)
{
	const char *src = "formats/rgb.tif";
	char spec[160];
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	snprintf(spec, sizeof(spec), "v=100x,format=jpeg,q=%d", IMGP_DEFAULT_Q);
	cr_expect(same_bytes(src, "v=100x,format=jpeg", spec), "JPEG's default is not q%d",
	          IMGP_DEFAULT_Q);
	cr_expect(!same_bytes(src, "v=100x,format=jpeg", "v=100x,format=jpeg,q=50"));
	snprintf(spec, sizeof(spec), "v=100x,format=webp,q=%d", IMGP_DEFAULT_Q);
	cr_expect(same_bytes(src, "v=100x,format=webp", spec), "WebP's default is not q%d",
	          IMGP_DEFAULT_Q);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, "v=100x,format=avif", err), IMGP_OK, "%s", err);
	if(imgp_render_check(&cfg, err))
		return;                         /* no AVIF encoder in this build */
	snprintf(spec, sizeof(spec), "v=100x,format=avif,q=%d,effort=%d,chroma=%s",
	         IMGP_AVIF_DEFAULT_Q, IMGP_AVIF_DEFAULT_EFFORT,
	         imgp_chroma_name(IMGP_AVIF_DEFAULT_CHROMA));
	cr_expect(same_bytes(src, "v=100x,format=avif", spec), "AVIF's default is not %s", spec);
	cr_expect(!same_bytes(src, "v=100x,format=avif", "v=100x,format=avif,q=80"),
	          "AVIF defaults to q80, JPEG's scale");
	/* a q named is used as named, by every format of the variant */
	cr_expect(same_bytes(src, "v=100x,format=avif,q=80", "v=100x,format=avif,quality=80"));
	/* chroma is a setting that changes the bytes */
	cr_expect(!same_bytes(src, "v=100x,format=avif,chroma=420", "v=100x,format=avif,chroma=444"));
	cr_expect(!same_bytes(src, "v=100x,format=jpeg,chroma=420", "v=100x,format=jpeg,chroma=444"));
}

/*
 * encoder= is what encodes, or is refused up front: libvips would quietly
 * fall back to libheif's first encoder for one that is missing.
 */
Test(render, an_avif_encoder_is_used_or_refused_never_replaced)
{
	static const char *const encoders[] = { "svt", "rav1e" };
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, "v=100x,format=avif,encoder=aom", err), IMGP_OK);
	if(!imgp_render_can_write(IMGP_FMT_AVIF))
		return;
	/* Debian's libheif encodes AV1 with libaom, bookworm and trixie alike */
	cr_assert_eq(imgp_render_check(&cfg, err), IMGP_OK, "%s", err);
	for(size_t i = 0; i < sizeof(encoders) / sizeof(encoders[0]); i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "v=100x,format=avif,encoder=%s", encoders[i]);
		imgp_config_init(&cfg);
		cr_assert_eq(imgp_config_parse_spec(&cfg, spec, err), IMGP_OK, "%s", err);
		if(imgp_render_check(&cfg, err)) {
			char want[96];

			snprintf(want, sizeof(want), "variant \"v\": encoder=%s is not available",
			         encoders[i]);
			cr_expect(strstr(err, want), "%s", err);
			continue;
		}
		cr_expect(!same_bytes("formats/rgb.tif", spec, "v=100x,format=avif,encoder=aom"),
		          "%s wrote aom's bytes", encoders[i]);
	}
}

/*
 * With libvips' concurrency above one, encodes run on threads of their
 * own beside the next resize: the same bytes, in the same outputs, as one
 * after the other.
 */
Test(render, encodes_on_two_threads_give_the_same_bytes)
{
	const char *spec = "l=400x,format=jpeg;m=200x,format=webp;s=100x,format=png;"
	                   "b=150x,format=best;t=64x64,fit=cover";
	struct imgp_render_result one, two;
	struct imgp_config cfg;

	vips_concurrency_set(1);
	render_ok("samples/landscape.jpg", spec, &cfg, &one);
	vips_concurrency_set(2);
	render_ok("samples/landscape.jpg", spec, &cfg, &two);
	vips_concurrency_set(1);
	for(size_t i = 0; i < cfg.nvariants; i++) {
		cr_expect_gt(one.outputs[i].len, 0);
		cr_expect_eq(one.outputs[i].format, two.outputs[i].format, "%s", cfg.variants[i].name);
		cr_expect(one.outputs[i].len == two.outputs[i].len &&
		          !memcmp(one.outputs[i].data, two.outputs[i].data, one.outputs[i].len),
		          "%s: other bytes on two threads", cfg.variants[i].name);
		cr_expect_eq(one.outputs[i].width, two.outputs[i].width);
	}
	imgp_render_result_release(&one);
	imgp_render_result_release(&two);
}

Test(render, other_sources_decode)
{
	static const char *const files[] = {
		"formats/rgb.webp", "formats/rgb.gif", "formats/rgb.tif",
		"formats/unicode dir/\xC3\xBCmlaut caf\xC3\xA9 +plus (1).jpg",
	};

	for(size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct imgp_config cfg;
		struct imgp_render_result res;

		render_ok(files[i], "s=64x64", &cfg, &res);
		cr_assert_eq(res.outputs[0].width, 64, "%s", files[i]);
		imgp_render_result_release(&res);
	}
}

/* --- decode once ------------------------------------------------------- */

Test(render, decodes_once_at_the_largest_scale)
{
	struct imgp_config cfg;
	struct imgp_render_result res;

	/* a 24 MP source into the standard web set */
	render_ok("formats/big.jpg", "s=320x320;m=800x800;l=1600x1600", &cfg, &res);
	cr_assert_eq(res.probe.width, 6000);
	cr_assert_eq(res.decoded_width, 1600, "decoded at %dx%d, not at the largest variant",
	             res.decoded_width, res.decoded_height);
	cr_assert_eq(res.decoded_height, 1067);
	cr_assert_eq(res.outputs[0].width, 320);
	cr_assert_eq(res.outputs[0].height, 213);
	cr_assert_eq(res.outputs[1].width, 800);
	cr_assert_eq(res.outputs[2].width, 1600);
	cr_assert_gt(res.decode_ms, 0);
	for(int i = 0; i < 3; i++)
		cr_assert_gt(res.outputs[i].encode_ms, 0);
	imgp_render_result_release(&res);
}

Test(render, cover_variant_drives_the_decode_scale)
{
	struct imgp_config cfg;
	struct imgp_render_result res;

	/* cover 1000x1000 of 6000x4000 needs 1500x1000 before the crop */
	render_ok("formats/big.jpg", "s=320x;c=1000x1000,fit=cover", &cfg, &res);
	cr_assert_eq(res.decoded_width, 1500);
	cr_assert_eq(res.decoded_height, 1000);
	cr_assert_eq(res.outputs[1].width, 1000);
	cr_assert_eq(res.outputs[1].height, 1000);
	imgp_render_result_release(&res);
}

/*
 * JPEGs are decoded by jpegdec.c straight with libjpeg (at the DCT scale
 * libvips' loader would use): the pixels must be libvips' own, for upright
 * and turned photos, greyscale, and one decoded at each of 1/8, 1/4, 1/2
 * and full scale.
 */
Test(render, direct_jpeg_decode_matches_the_libvips_loader)
{
	static const struct { const char *file, *spec; } cases[] = {
		{ "formats/big.jpg", "a=320x320,format=png;b=800x800,format=png;c=1600x1600,format=png" },
		{ "formats/big.jpg", "a=5000x5000,format=png" },
		{ "samples/portrait.jpg", "a=200x200,format=png;b=90x90,format=png" },
		{ "orient/orient-6.jpg", "a=100x100,format=png" },
		{ "colour/grey.jpg", "a=50x50,format=png" },
		{ "colour/p3.jpg", "a=100x100,format=png" },
	};

	for(size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct imgp_config cfg;
		struct imgp_render_result direct, loader;
		double max = 0, avg;

		imgp_render_direct_jpeg = true;
		render_ok(cases[c].file, cases[c].spec, &cfg, &direct);
		imgp_render_direct_jpeg = false;
		render_ok(cases[c].file, cases[c].spec, &cfg, &loader);
		imgp_render_direct_jpeg = true;
		cr_assert_eq(direct.decoded_width, loader.decoded_width, "%s: decoded at %d, not %d",
		             cases[c].file, direct.decoded_width, loader.decoded_width);
		for(size_t i = 0; i < direct.noutputs; i++) {
			VipsImage *a = decode_output(&direct.outputs[i]), *b = decode_output(&loader.outputs[i]);
			VipsImage *diff, *absd;

			cr_assert_eq(a->Xsize, b->Xsize, "%s %s", cases[c].file, cfg.variants[i].name);
			cr_assert_eq(a->Ysize, b->Ysize, "%s %s", cases[c].file, cfg.variants[i].name);
			cr_assert_eq(a->Bands, b->Bands, "%s %s", cases[c].file, cfg.variants[i].name);
			cr_assert_eq(vips_subtract(a, b, &diff, NULL), 0);
			cr_assert_eq(vips_abs(diff, &absd, NULL), 0);
			cr_assert_eq(vips_max(absd, &max, NULL), 0);
			cr_assert_eq(vips_avg(absd, &avg, NULL), 0);
			cr_assert_leq(max, 2, "%s %s: pixels differ by up to %g from libvips' loader",
			              cases[c].file, cfg.variants[i].name, max);
			cr_assert_lt(avg, 0.05, "%s %s: mean difference %g", cases[c].file,
			             cfg.variants[i].name, avg);
			g_object_unref(absd);
			g_object_unref(diff);
			g_object_unref(a);
			g_object_unref(b);
		}
		imgp_render_result_release(&direct);
		imgp_render_result_release(&loader);
	}
}

/* --- animation --------------------------------------------------------- */

Test(render, animation_first_frame_by_default_all_with_keep)
{
	static const char *const files[] = { "anim/anim.gif", "anim/anim.webp" };

	for(int f = 0; f < 2; f++) {
		struct imgp_config cfg;
		struct imgp_render_result res;
		VipsImage *im;

		render_ok(files[f], "still=60x60,format=png;moving=60x60,anim=keep", &cfg, &res);
		cr_assert_eq(res.probe.frames, 5, "%s: %d frames", files[f], res.probe.frames);
		im = decode_output(&res.outputs[0]);
		cr_assert_eq(im->Xsize, 60);
		cr_assert_eq(im->Ysize, 45, "%s: still is %d high", files[f], im->Ysize);
		assert_colour(im, 30, 20, 255, 0, 0, 30, "first frame is red");
		g_object_unref(im);

		cr_assert_eq(res.outputs[1].format, IMGP_FMT_WEBP);
		cr_assert_eq(res.outputs[1].frames, 5);
		VipsImage *all = vips_image_new_from_buffer(res.outputs[1].data, res.outputs[1].len,
		                                            "n=-1", NULL);
		cr_assert(all);
		cr_assert_eq(vips_image_get_n_pages(all), 5, "%s: animation has %d frames",
		             files[f], vips_image_get_n_pages(all));
		cr_assert_eq(vips_image_get_page_height(all), 45);
		/* frame 3 (blue) is where it should be */
		assert_colour(all, 30, 2 * 45 + 20, 0, 0, 255, 40, "third frame is blue");
		g_object_unref(all);
		imgp_render_result_release(&res);
	}
}

Test(render, frame_limit)
{
	render_fails("anim/many-frames.gif", "a=16x16,anim=keep", IMGP_E_TOO_LARGE,
	             "300 frames is over the limit of 100 (raise it with IMGPIPE_MAX_FRAMES");
	/* only the first frame is wanted: the frame count does not matter */
	struct imgp_config cfg;
	struct imgp_render_result res;
	render_ok("anim/many-frames.gif", "a=16x16", &cfg, &res);
	imgp_render_result_release(&res);
}

/* --- bad input --------------------------------------------------------- */

struct bad_case {
	char file[64];
	enum imgp_status status;
	char reason[96];
};

static struct bad_case bad_cases[] = {
	{ "bad/zero.jpg", IMGP_E_NOT_IMAGE, "the file is empty (0 bytes)" },
	{ "bad/text.jpg", IMGP_E_NOT_IMAGE, "looks like plain text" },
	{ "bad/html.png", IMGP_E_NOT_IMAGE, "looks like HTML" },
	{ "bad/doc.pdf", IMGP_E_NOT_IMAGE, "looks like a PDF document" },
	{ "bad/archive.zip", IMGP_E_NOT_IMAGE, "looks like a ZIP archive" },
	{ "bad/image.svg", IMGP_E_UNSUPPORTED, "looks like an SVG drawing" },
	{ "bad/image.bmp", IMGP_E_UNSUPPORTED, "looks like a BMP image" },
	{ "bad/truncated.jpg", IMGP_E_CORRUPT, "cannot decode the image" },
	{ "bad/truncated.png", IMGP_E_CORRUPT, "cannot decode the image" },
	{ "bad/corrupt.jpg", IMGP_E_CORRUPT, "cannot decode the image" },
	{ "bad/bomb.png", IMGP_E_TOO_LARGE, "65535x65535 is 4294.8 megapixels, over the limit of 100.0" },
	{ "bad/header-only.png", IMGP_E_CORRUPT, "cannot read the image header" },
};

ParameterizedTestParameters(render, bad_input)
{
	return cr_make_param_array(struct bad_case, bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *c, render, bad_input, .init = start)
{
	render_fails(c->file, "s=100x100", c->status, c->reason);
	cr_assert_not(imgp_status_temporary(c->status), "bad input must be permanent");
}

Test(render, bomb_is_refused_from_the_header_with_memory_flat)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE];
	char *path = tu_data("bad/bomb.png");
	size_t len;
	void *data = tu_read(path, &len);
	double t0;

	cr_assert(data);
	imgp_config_init(&cfg);
	size_t before = vips_tracked_get_mem_highwater();
	t0 = imgp_now_ms();
	cr_assert_eq(imgp_render(&cfg, data, len, &res, err), IMGP_E_TOO_LARGE);
	/* not a timing assertion: the probe must not have decoded a pixel */
	cr_assert_eq(res.decoded_width, 0);
	cr_assert_lt(vips_tracked_get_mem_highwater() - before, 1 << 20,
	             "refusing the bomb allocated %zu bytes of pixels",
	             vips_tracked_get_mem_highwater() - before);
	cr_log_info("bomb refused in %.2f ms", imgp_now_ms() - t0);
	free(data);
	free(path);
}

Test(render, byte_and_pixel_limits_are_configurable)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE] = "";
	char *path = tu_data("formats/rgb.tif");
	size_t len;
	void *data = tu_read(path, &len);

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_set_limit(&cfg, "max_bytes", "100", "test", err), IMGP_OK);
	cr_assert_eq(imgp_render(&cfg, data, len, &res, err), IMGP_E_TOO_LARGE);
	cr_assert(strstr(err, "over the limit of 100 bytes (raise it with IMGPIPE_MAX_BYTES, "
	                      "limits.max_bytes in the config file, or --max-bytes)"), "%s", err);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_set_limit(&cfg, "max_pixels", "59999", "test", err), IMGP_OK);
	cr_assert_eq(imgp_render(&cfg, data, len, &res, err), IMGP_E_TOO_LARGE);
	cr_assert(strstr(err, "300x200 is 0.1 megapixels"), "%s", err);
	cr_assert_eq(imgp_config_set_limit(&cfg, "max_pixels", "60000", "test", err), IMGP_OK);
	cr_assert_eq(imgp_render(&cfg, data, len, &res, err), IMGP_OK, "%s", err);
	imgp_render_result_release(&res);
	free(data);
	free(path);
}

Test(render, fail_on_none_lets_a_truncated_image_through)
{
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE] = "";
	char *path = tu_data("bad/truncated.jpg");
	size_t len;
	void *data = tu_read(path, &len);

	imgp_config_init(&cfg);
	imgp_config_set_limit(&cfg, "fail_on", "none", "test", err);
	cr_assert_eq(imgp_render(&cfg, data, len, &res, err), IMGP_OK,
	             "fail_on=none still refused: %s", err);
	imgp_render_result_release(&res);
	free(data);
	free(path);
}

/* --- threads ----------------------------------------------------------- */

struct thread_arg {
	const struct imgp_config *cfg;
	void *data;
	size_t len;
	int width;
	enum imgp_status status;
};

static void *render_thread(void *p)
{
	struct thread_arg *a = p;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE];

	for(int i = 0; i < 4; i++) {
		a->status = imgp_render(a->cfg, a->data, a->len, &res, err);
		if(a->status)
			break;
		a->width = res.outputs[0].width;
		imgp_render_result_release(&res);
	}
	imgp_render_thread_done();
	return NULL;
}

Test(render, renders_from_several_threads_at_once)
{
	struct imgp_config cfg;
	struct thread_arg args[4];
	pthread_t threads[4];
	char *path = tu_data("samples/landscape.jpg");
	size_t len;
	void *data = tu_read(path, &len);
	char err[IMGP_ERRSIZE];

	cr_assert(data);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, "a=300x;b=120x120,fit=cover,format=webp", err), IMGP_OK);
	for(int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ &cfg, data, len, 0, IMGP_OK };
		pthread_create(&threads[i], NULL, render_thread, &args[i]);
	}
	for(int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(args[i].status, IMGP_OK, "thread %d: %s", i, imgp_status_str(args[i].status));
		cr_assert_eq(args[i].width, 300);
	}
	free(data);
	free(path);
}

/*
 * Resize pipelines built and dropped on 4 threads at once, no pixels
 * computed: libvips with liborc (8.14 here) compiles an ORC program when it builds each
 * 8-bit reducev and frees it when the last image goes, and liborc's code
 * memory has no lock. Unguarded, this corrupts the heap in one run of
 * two (imgpipe serve crashed so with 2 events at once; orcguard.c).
 * Renders do it too, far more slowly: renders_from_several_threads above
 * never met it.
 */
#define CHURN_BUILDS 2000       /* per thread: 4 s here; unguarded, half the runs crash */

struct churn_arg {
	VipsImage *in;
	int id, built;
};

static void *churn_thread(void *p)
{
	struct churn_arg *a = p;

	for(int i = 0; i < CHURN_BUILDS; i++) {
		VipsImage *out = NULL;

		if(vips_resize(a->in, &out, 0.5 + 0.0001 * (i % 500) + 0.05 * a->id, NULL))
			break;
		a->built++;
		g_object_unref(out);
	}
	imgp_render_thread_done();
	return NULL;
}

Test(render, resize_pipelines_built_and_dropped_on_four_threads_at_once)
{
	struct churn_arg args[4];
	pthread_t threads[4];
	VipsImage *in = NULL;
	char err[IMGP_ERRSIZE];

	cr_assert_eq(imgp_render_init(NULL, 0, err), IMGP_OK, "%s", err);
	if(dlsym(RTLD_DEFAULT, "orc_init")) {
		/* liborc is in the process: libvips' calls must reach the guard
		 * (the executable's definition is the one the global scope finds),
		 * and the guard must not have fallen back to liborc off (slower) */
		Dl_info found, exe;

		cr_assert(dladdr(dlsym(RTLD_DEFAULT, "orc_program_compile"), &found));
		cr_assert(dladdr((void *)churn_thread, &exe));
		cr_assert_eq(found.dli_fbase, exe.dli_fbase, "libvips' orc_program_compile is %s's, "
		             "not the guard's in %s", found.dli_fname, exe.dli_fname);
		cr_assert(vips_vector_isenabled(), "orcguard.c turned liborc off");
	}
	cr_assert_eq(vips_black(&in, 64, 48, "bands", 3, NULL), 0);
	cr_assert_eq(in->BandFmt, VIPS_FORMAT_UCHAR);
	for(int i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){ in, i, 0 };
		cr_assert_eq(pthread_create(&threads[i], NULL, churn_thread, &args[i]), 0);
	}
	for(int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(args[i].built, CHURN_BUILDS, "thread %d: %s", i, vips_error_buffer());
	}
	g_object_unref(in);
}
