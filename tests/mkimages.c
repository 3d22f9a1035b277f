/*
 * mkimages.c: imgpipe-mkimages DIR, the generator behind `make testdata`.
 *
 * It owns every file under DIR (build/testdata): the demo samples and the
 * test images other tests depend on. Everything is made here, nothing is
 * downloaded; noise comes from vips_gaussnoise or a xorshift generator with
 * fixed seeds, so two runs write identical bytes. Each file is reloaded and
 * checked after it is written, one line is printed per file, and the first
 * failure ends the run with a message and exit status 1 (2: bad usage).
 *
 * Worth knowing when testing against these with libvips 8.14: jpegsave
 * turns chroma subsampling off at Q >= 90 (those JPEGs are 4:4:4); GIFs
 * written by cgif may reload with 4 bands (anim.gif, many-frames.gif) or
 * 3 (rgb.gif); libvips' default fail_on=none decodes truncated.jpg,
 * truncated.png and corrupt.jpg without an error, only fail_on=warning
 * rejects them; header-only.png already fails at header time.
 *
 * The files and their exact content (W x H, bands; "scene" is the synthetic
 * photo of scene(): sky gradient, sun disc with glow, two rows of textured
 * hills and sensor grain, all from vips_gaussnoise with fixed seeds):
 *
 * samples/                  for the demo; they look like photos
 *   landscape.jpg           3000x2000 sRGB JPEG Q90, scene, with EXIF
 *                           (Make "imgpipe", Model "mkimages synthetic
 *                           camera", DateTimeOriginal 2024:05:17 18:30:00)
 *   portrait.jpg            displays as 2000x3000: a 2000x3000 scene stored
 *                           rotated as 3000x2000 pixels with EXIF orientation
 *                           6, JPEG Q90, same EXIF as landscape.jpg
 *   logo.png                1200x800 RGBA PNG, transparent (0,0,0,0)
 *                           background; opaque orange (255,140,0) disc at
 *                           (400,400) r 250, blue (30,80,200) square 400x400
 *                           at (650,200), green (40,170,90) bar 900x60 at
 *                           (150,680)
 *   nested/deep/texture.webp 1600x1200 RGB lossy WebP Q80, brown mottled
 *                           texture (blurred coloured noise)
 *   README.txt              plain text, not an image
 *
 * orient/                   EXIF orientation
 *   ref.png                 160x120 RGB PNG, solid 80x60 quadrants:
 *                           top-left red (255,0,0), top-right green
 *                           (0,255,0), bottom-left blue (0,0,255),
 *                           bottom-right white (255,255,255)
 *   orient-N.jpg, N=1..8    JPEG Q95 with EXIF orientation N whose stored
 *                           pixels are ref under the inverse of orientation
 *                           N (160x120 for 1-4, 120x160 for 5-8), so that
 *                           applying the orientation shows exactly ref
 *
 * colour/
 *   cmyk-profile.jpg        300x200 CMYK JPEG Q90, embedded libvips "cmyk"
 *                           profile (~940 KB); made with vips_icc_export
 *                           from sRGB stripes 100 px wide: red, green, blue
 *                           (they come out as CMYK ~(0,253,255,0),
 *                           (64,0,255,0), (221,211,0,0))
 *   cmyk-noprofile.jpg      the same CMYK pixels, no ICC profile
 *   rgb16.png               200x100 RGB 16-bit PNG, left half
 *                           (65535,0,0), right half (0,0,65535)
 *   grey.jpg                200x100 greyscale JPEG Q90, horizontal ramp
 *                           v(x) = round(x * 255 / 199)
 *   grey16.png              200x100 greyscale 16-bit PNG, horizontal ramp
 *                           v(x) = round(x * 65535 / 199)
 *   alpha.png               200x200 RGBA PNG, transparent (0,0,0,0) with an
 *                           opaque red (255,0,0,255) 100x100 square at 50,50
 *   alpha.webp              the same picture as lossless WebP
 *   p3.jpg                  100x100 JPEG Q90, solid sRGB (230,80,40)
 *                           converted to Display P3, ~(207,90,55), with
 *                           the P3 profile embedded (skipped with a note
 *                           if libvips has no built-in "p3" profile)
 *
 * meta/
 *   exif-gps.jpg            400x300 JPEG Q90, scene, with EXIF (Make, Model,
 *                           DateTimeOriginal, Artist "imgpipe-secret-exif",
 *                           Copyright, GPSVersionID 2.2.0.0, GPS 48 51 29.52
 *                           N, 2 17 40.2 E, altitude 35 m), an XMP packet
 *                           containing "imgpipe-secret-xmp" and an IPTC
 *                           block (APP13, Photoshop 3.0 / 8BIM 0x0404)
 *                           whose caption is "imgpipe-secret-iptc"
 *
 * anim/
 *   anim.gif                animated GIF, 5 frames 120x90 (page-height 90),
 *                           solid red, green, blue, yellow, magenta, delay
 *                           100 ms each, loop 0 (forever)
 *   anim.webp               the same as animated WebP (lossy)
 *   many-frames.gif         300 frames 16x16, frame i solid
 *                           (i % 256, 7i % 256, 255 - i % 256), delay 40 ms
 *
 * bad/
 *   zero.jpg                0 bytes
 *   text.jpg                "hello, this is not an image\n" four times
 *   html.png                a small HTML document
 *   truncated.jpg           the first 40% of an 800x600 Q90 noise JPEG
 *   truncated.png           the first 40% of an 800x600 noise PNG
 *   corrupt.jpg             an 800x600 Q90 noise JPEG with 2048 bytes from
 *                           the middle of its entropy-coded data replaced
 *                           by xorshift32 bytes (seed 0x1badcafe); headers
 *                           intact
 *   bomb.png                a valid 65535x65535 1-bit greyscale PNG, all
 *                           zero, deflate level 9 (a few hundred KB)
 *   header-only.png         PNG signature, IHDR 65535x65535 RGBA 8-bit, IEND
 *   doc.pdf                 a valid one-page PDF 1.4 (72x72 pt, red square)
 *   image.svg               a 100x100 SVG with a red square
 *   image.bmp               a 10x10 24-bit BMP, pixel (x,y) from the top
 *                           = (25x, 25y, 128)
 *   archive.zip             a valid zip holding hello.txt (stored)
 *
 * formats/
 *   rgb.tif                 300x200 RGB TIFF (uncompressed), scene
 *   rgb.webp                300x200 RGB lossy WebP Q75, scene
 *   rgb.gif                 300x200 static GIF, scene
 *   big.jpg                 6000x4000 JPEG Q85, scene (a few MB)
 *   unicode dir/ümlaut café +plus (1).jpg   200x150 JPEG Q90, scene
 *
 * collide/
 *   a.jpg                   200x100 JPEG Q90, solid red (255,0,0)
 *   a.png                   200x100 RGB PNG, solid blue (0,0,255)
 *
 * matrix/                   the format matrix's inputs (tests/lib/matrix.c):
 *                           orient/ref.png's quadrants, 160x120 as shown,
 *                           in every format imgpipe reads
 *   quad.jpg                JPEG Q95 (4:4:4), baseline
 *   quad-progressive.jpg    progressive JPEG Q95
 *   quad-cmyk.jpg           CMYK JPEG Q95 with libvips' "cmyk" profile
 *   quad-orient6.jpg        stored rotated, EXIF orientation 6
 *   quad.png, quad-16.png   8-bit and 16-bit RGB PNG
 *   quad-palette.png        8-bit palette PNG
 *   quad-lossy.webp         lossy WebP Q95
 *   quad-lossless.webp      lossless WebP
 *   quad.gif                static GIF
 *   quad.tif                TIFF (deflate)
 *   quad.heic               HEVC HEIF Q90 (left out, with a note, where
 *                           this libheif has no HEVC encoder)
 *   quad.avif               AV1 HEIF Q90 (likewise without an AV1 encoder)
 *   anim.gif, anim.webp     anim/'s 5 frames of solid colour, 120x90
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vips/vips.h>
#include <zlib.h>

#include "imgpipe.h"

#define PROG "imgpipe-mkimages"

static const char *out_root;   /* argv[1] */
static int files_made;

/* ---------------------------------------------------------------------
 * Plumbing: errors, paths, raw files, the report line.
 */

/* Print "PROG: rel: reason" plus any libvips error; return -1. */
__attribute__((format(printf, 2, 3)))
static int fail(const char *rel, const char *fmt, ...)
{
	va_list ap;
	const char *verr = vips_error_buffer();

	fprintf(stderr, "%s: %s: ", PROG, rel);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (verr && *verr)
		fprintf(stderr, "  libvips says: %s", verr);
	vips_error_clear();
	return -1;
}

/* The full path of rel under out_root, freed with scope. */
static const char *out_path(VipsObject *scope, const char *rel)
{
	char *full = g_build_filename(out_root, rel, NULL);
	const char *kept = vips_strdup(scope, full);

	g_free(full);
	return kept;
}

static int write_file(VipsObject *scope, const char *rel,
                      const void *data, size_t len)
{
	FILE *f = fopen(out_path(scope, rel), "wb");
	bool ok;

	if (!f)
		return fail(rel, "cannot create: %s", strerror(errno));
	ok = len == 0 || fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = false;
	return ok ? 0 : fail(rel, "cannot write: %s", strerror(errno));
}

static long long file_size(VipsObject *scope, const char *rel)
{
	struct stat st;

	return stat(out_path(scope, rel), &st) ? -1 : (long long) st.st_size;
}

/* One line per file: name, bytes, then geometry if it is an image. */
static void report(VipsObject *scope, const char *rel, VipsImage *im,
                   const char *note)
{
	const char *loader = "";

	printf("%-44s %9lld B", rel, file_size(scope, rel));
	if (im) {
		if (vips_image_get_typeof(im, "vips-loader"))
			vips_image_get_string(im, "vips-loader", &loader);
		printf("  %5dx%-5d %d %-6s %-10s", im->Xsize, im->Ysize,
		       im->Bands,
		       vips_enum_nick(VIPS_TYPE_BAND_FORMAT, im->BandFmt),
		       loader);
	}
	printf("  %s\n", note ? note : "");
	files_made++;
}

/* ---------------------------------------------------------------------
 * Image helpers. Each returns an image owned by scope (unreffed with it)
 * or NULL on failure, and passes a NULL input straight through, so that
 * a pipeline reads as nested calls and is checked once at the end.
 */

static VipsImage *own(VipsObject *scope, VipsImage *im)
{
	if (im)
		vips_object_local(scope, im);
	return im;
}

static VipsImage *lin(VipsObject *s, VipsImage *in, double a, double b)
{
	VipsImage *out = NULL;

	if (in && vips_linear1(in, &out, a, b, NULL))
		out = NULL;
	return own(s, out);
}

/* Per band a * in + b; a one-band input gives a three-band output. */
static VipsImage *lin3(VipsObject *s, VipsImage *in, const double a[3],
                       const double b[3])
{
	VipsImage *out = NULL;

	if (in && vips_linear(in, &out, a, b, 3, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *add(VipsObject *s, VipsImage *a, VipsImage *b)
{
	VipsImage *out = NULL;

	if (a && b && vips_add(a, b, &out, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *mul(VipsObject *s, VipsImage *a, VipsImage *b)
{
	VipsImage *out = NULL;

	if (a && b && vips_multiply(a, b, &out, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *math(VipsObject *s, VipsImage *in, VipsOperationMath op)
{
	VipsImage *out = NULL;

	if (in && vips_math(in, &out, op, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *power(VipsObject *s, VipsImage *in, double e)
{
	VipsImage *out = NULL;

	if (in && vips_pow_const1(in, &out, e, NULL))
		out = NULL;
	return own(s, out);
}

/* 255 where a > b, else 0. */
static VipsImage *more(VipsObject *s, VipsImage *a, VipsImage *b)
{
	VipsImage *out = NULL;

	if (a && b && vips_relational(a, b, &out,
	                              VIPS_OPERATION_RELATIONAL_MORE, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *less_const(VipsObject *s, VipsImage *in, double c)
{
	VipsImage *out = NULL;

	if (in && vips_relational_const1(in, &out,
	                                 VIPS_OPERATION_RELATIONAL_LESS, c,
	                                 NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *ifte(VipsObject *s, VipsImage *cond, VipsImage *a,
                       VipsImage *b)
{
	VipsImage *out = NULL;

	if (cond && a && b && vips_ifthenelse(cond, a, b, &out, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *band(VipsObject *s, VipsImage *in, int n)
{
	VipsImage *out = NULL;

	if (in && vips_extract_band(in, &out, n, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *blur(VipsObject *s, VipsImage *in, double sigma)
{
	VipsImage *out = NULL;

	if (in && vips_gaussblur(in, &out, sigma, NULL))
		out = NULL;
	return own(s, out);
}

/* Zero-mean gaussian noise, one band, float. */
static VipsImage *noise(VipsObject *s, int w, int h, double sigma, int seed)
{
	VipsImage *out = NULL;

	if (vips_gaussnoise(&out, w, h, "sigma", sigma, "mean", 0.0,
	                    "seed", seed, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *cast(VipsObject *s, VipsImage *in, VipsBandFormat format,
                       VipsInterpretation interpretation)
{
	VipsImage *t = NULL, *out = NULL;

	if (in && vips_cast(in, &t, format, NULL))
		t = NULL;
	if (t && vips_copy(t, &out, "interpretation", interpretation, NULL))
		out = NULL;
	own(s, t);
	return own(s, out);
}

/* A w x h image of constant ink, n bands, in the given format. */
static VipsImage *constant(VipsObject *s, int w, int h, int n,
                           const double *ink, VipsBandFormat format)
{
	VipsImage *black = NULL, *like;
	VipsInterpretation interp;

	if (n >= 3)
		interp = format == VIPS_FORMAT_USHORT ?
			VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
	else
		interp = format == VIPS_FORMAT_USHORT ?
			VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
	if (vips_black(&black, w, h, NULL))
		return NULL;
	/* the new image takes its format and interpretation from like */
	like = cast(s, own(s, black), format, interp);
	return like ? own(s, vips_image_new_from_image(like, ink, n)) : NULL;
}

static VipsImage *rgb(VipsObject *s, int w, int h, double r, double g,
                      double b)
{
	const double ink[3] = {r, g, b};

	return constant(s, w, h, 3, ink, VIPS_FORMAT_UCHAR);
}

/* Join n images left to right (across = n) or top to bottom (across = 1). */
static VipsImage *join(VipsObject *s, VipsImage **in, int n, int across)
{
	VipsImage *out = NULL;

	for (int i = 0; i < n; i++)
		if (!in[i])
			return NULL;
	if (vips_arrayjoin(in, &out, n, "across", across, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *rot(VipsObject *s, VipsImage *in, VipsAngle angle)
{
	VipsImage *out = NULL;

	if (in && vips_rot(in, &out, angle, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *flip(VipsObject *s, VipsImage *in, VipsDirection dir)
{
	VipsImage *out = NULL;

	if (in && vips_flip(in, &out, dir, NULL))
		out = NULL;
	return own(s, out);
}

/* A private copy whose metadata may be changed. */
static VipsImage *copy(VipsObject *s, VipsImage *in)
{
	VipsImage *out = NULL;

	if (in && vips_copy(in, &out, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *in_memory(VipsObject *s, VipsImage *in)
{
	return in ? own(s, vips_image_copy_memory(in)) : NULL;
}

static VipsImage *from_bytes(VipsObject *s, const void *data, int w, int h,
                             int bands, VipsBandFormat format,
                             VipsInterpretation interpretation)
{
	size_t size = (size_t) w * h * bands * vips_format_sizeof(format);
	VipsImage *raw, *out = NULL;

	raw = own(s, vips_image_new_from_memory_copy(data, size, w, h, bands,
	                                             format));
	if (raw && vips_copy(raw, &out, "interpretation", interpretation,
	                     NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *bandjoin(VipsObject *s, VipsImage **in, int n)
{
	VipsImage *out = NULL;

	for (int i = 0; i < n; i++)
		if (!in[i])
			return NULL;
	if (vips_bandjoin(in, &out, n, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *crop(VipsObject *s, VipsImage *in, int x, int y, int w,
                        int h)
{
	VipsImage *out = NULL;

	if (in && vips_crop(in, &out, x, y, w, h, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *replicate(VipsObject *s, VipsImage *in, int across,
                            int down)
{
	VipsImage *out = NULL;

	if (in && vips_replicate(in, &out, across, down, NULL))
		out = NULL;
	return own(s, out);
}

static VipsImage *insert(VipsObject *s, VipsImage *base, VipsImage *sub,
                         int x, int y)
{
	VipsImage *out = NULL;

	if (base && sub && vips_insert(base, sub, &out, x, y, NULL))
		out = NULL;
	return own(s, out);
}

/* amp * sin(360 * freq * x / w + phase): a ridge line component. */
static VipsImage *wave(VipsObject *s, VipsImage *x, int w, double amp,
                       double freq, double phase)
{
	VipsImage *arg = lin(s, x, 360.0 * freq / w, phase);

	return lin(s, math(s, arg, VIPS_OPERATION_MATH_SIN), amp, 0);
}

/*
 * The synthetic photo: a sky from deep blue to a pale horizon, a sun disc
 * with a glow, a far hazy ridge and a near green ridge with blotchy
 * texture, and sensor grain over everything. Any size; features scale
 * with it. Returns lazy 8-bit sRGB.
 */
static VipsImage *scene(VipsObject *s, int w, int h, int seed)
{
	static const double top[3] = {38, 88, 168};
	static const double horizon[3] = {178, 206, 232};
	static const double glow_ink[3] = {95, 75, 35};
	static const double sun_ink[3] = {255, 247, 222};
	static const double far_ink[3] = {92, 124, 122};
	static const double near_ink[3] = {74, 128, 46};
	static const double near_fade[3] = {-90, -120, -40};
	static const double zero[3] = {0, 0, 0}, half[3] = {0.5, 0.5, 0.5};
	double m = MIN(w, h), sky_a[3];
	VipsImage *xy = NULL, *x, *y, *sky, *dx, *dy, *d, *glow, *sun;
	VipsImage *row, *column, *ridge_far, *ridge_near;
	VipsImage *raw, *tex, *grain, *far, *near, *depth, *pic;

	if (vips_xyz(&xy, w, h, NULL))
		return NULL;
	own(s, xy);
	x = band(s, xy, 0);
	y = band(s, xy, 1);
	/* what depends on x or y only is computed once and repeated */
	row = band(s, crop(s, xy, 0, 0, w, 1), 0);
	column = band(s, crop(s, xy, 0, 0, 1, h), 1);

	/* sky: linear from top to horizon over the upper 60% */
	for (int i = 0; i < 3; i++)
		sky_a[i] = (horizon[i] - top[i]) / (0.6 * h);
	sky = replicate(s, in_memory(s, lin3(s, column, sky_a, top)), w, 1);

	/* sun: disc of radius 4.5% with an exponential glow */
	dx = lin(s, x, 1, -0.72 * w);
	dy = lin(s, y, 1, -0.22 * h);
	d = power(s, add(s, mul(s, dx, dx), mul(s, dy, dy)), 0.5);
	glow = math(s, lin(s, d, -1.0 / (0.1 * m), 0), VIPS_OPERATION_MATH_EXP);
	sky = add(s, sky, lin3(s, glow, glow_ink, zero));
	sun = sky ? own(s, vips_image_new_from_image(sky, sun_ink, 3)) : NULL;
	sky = ifte(s, less_const(s, d, 0.045 * m), sun, sky);

	/* ridge lines: the y coordinate of each column's hill top */
	ridge_far = lin(s, add(s, wave(s, row, w, 0.05, 1.3, 20),
	                       wave(s, row, w, 0.025, 3.7, 75)), h, 0.58 * h);
	ridge_far = replicate(s, in_memory(s, ridge_far), 1, h);
	ridge_near = lin(s, add(s, wave(s, row, w, 0.06, 0.8, 200),
	                        wave(s, row, w, 0.02, 5.3, 10)), h, 0.74 * h);
	ridge_near = replicate(s, in_memory(s, ridge_near), 1, h);

	/* one noise field: blurred for texture, scaled down for grain */
	raw = noise(s, w, h, 60, seed);
	tex = blur(s, raw, MAX(1.0, m / 1000.0));
	grain = lin(s, raw, 0.05, 0);

	far = lin3(s, tex, half, far_ink);
	depth = lin(s, add(s, y, lin(s, ridge_near, -1, 0)), 1.0 / h, 0);
	near = add(s, lin3(s, depth, near_fade, near_ink), lin(s, tex, 1.5, 0));

	pic = ifte(s, more(s, y, ridge_near), near,
	           ifte(s, more(s, y, ridge_far), far, sky));
	return cast(s, add(s, pic, grain), VIPS_FORMAT_UCHAR,
	            VIPS_INTERPRETATION_sRGB);
}

/* Three bands of strong noise around mid grey: JPEG or PNG data that is
 * spread over the whole file. */
static VipsImage *noisy(VipsObject *s, int w, int h, int seed)
{
	VipsImage *bands[3];

	for (int i = 0; i < 3; i++)
		bands[i] = lin(s, noise(s, w, h, 45, seed + i), 1, 128);
	return cast(s, bandjoin(s, bands, 3), VIPS_FORMAT_UCHAR,
	            VIPS_INTERPRETATION_sRGB);
}

/* ---------------------------------------------------------------------
 * Checks after writing.
 */

/*
 * Reload rel (header only, until someone reads pixels) and check its
 * geometry. With pages > 0, load every page and check that there are that
 * many pages of height h.
 */
static VipsImage *reopen(VipsObject *s, const char *rel, int w, int h,
                         int bands, int pages)
{
	const char *path = out_path(s, rel);
	VipsImage *im;
	int n_pages = 1, page_h;

	if (pages > 0)
		im = vips_image_new_from_file(path, "n", -1, NULL);
	else
		im = vips_image_new_from_file(path, NULL);
	if (!own(s, im)) {
		fail(rel, "cannot reload");
		return NULL;
	}
	page_h = vips_image_get_page_height(im);
	if (vips_image_get_typeof(im, VIPS_META_N_PAGES))
		vips_image_get_int(im, VIPS_META_N_PAGES, &n_pages);
	if (im->Xsize != w || im->Bands != bands ||
	    (pages > 0 ? page_h != h || n_pages != pages ||
	                 im->Ysize != h * pages
	               : im->Ysize != h)) {
		fail(rel, "reloaded as %dx%d, %d bands, %d pages of %d rows; "
		     "want %dx%d, %d bands, %d pages", im->Xsize, im->Ysize,
		     im->Bands, n_pages, page_h, w, h, bands, MAX(pages, 1));
		return NULL;
	}
	return im;
}

/* Check pixel (x, y) against want (first n bands; want[i] < 0: any). */
static int expect_pixel(const char *rel, VipsImage *im, int x, int y,
                        const double *want, int n, double tol)
{
	double *v = NULL;
	int nv = 0;
	bool ok;

	if (vips_getpoint(im, &v, &nv, x, y, NULL))
		return fail(rel, "cannot read pixel (%d,%d)", x, y);
	ok = nv >= n;
	for (int i = 0; ok && i < n; i++)
		ok = want[i] < 0 || fabs(v[i] - want[i]) <= tol;
	if (!ok)
		fail(rel, "pixel (%d,%d) is (%g,%g,%g,%g), want (%g,%g,%g,%g) "
		     "within %g", x, y, v[0], nv > 1 ? v[1] : 0,
		     nv > 2 ? v[2] : 0, nv > 3 ? v[3] : 0, want[0],
		     n > 1 ? want[1] : 0, n > 2 ? want[2] : 0,
		     n > 3 ? want[3] : 0, tol);
	g_free(v);
	return ok ? 0 : -1;
}

static bool has_field(VipsImage *im, const char *name)
{
	return vips_image_get_typeof(im, name) != 0;
}

/* Whether the blob field name holds needle. */
static bool blob_contains(VipsImage *im, const char *name, const char *needle)
{
	const void *data;
	size_t len;

	return has_field(im, name) &&
	       !vips_image_get_blob(im, name, &data, &len) &&
	       memmem(data, len, needle, strlen(needle)) != NULL;
}

static void swallow_log(const gchar *domain, GLogLevelFlags level,
                        const gchar *message, gpointer user_data)
{
}

/* Decode every pixel of rel (default options, fail_on given). */
static bool decodes(VipsObject *s, const char *rel, VipsFailOn fail_on)
{
	VipsImage *im;
	double avg;
	bool ok;

	im = vips_image_new_from_file(out_path(s, rel), "fail_on", fail_on,
	                              NULL);
	ok = im && !vips_avg(im, &avg, NULL);
	if (im)
		g_object_unref(im);
	vips_error_clear();
	return ok;
}

/* How libvips 8.14 takes a damaged file, for the report line. */
static const char *decode_note(VipsObject *s, const char *rel)
{
	guint handler = g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING,
	                                  swallow_log, NULL);
	int cache_max = vips_cache_get_max();
	const char *note;

	if (!decodes(s, rel, VIPS_FAIL_ON_NONE))
		note = "header ok; pixel decode fails";
	else if (!decodes(s, rel, VIPS_FAIL_ON_WARNING))
		note = "header ok; decodes by default, fails with "
		       "fail_on=warning";
	else
		note = "header ok; decodes cleanly (!)";
	/* cached loaders log their warnings when they are freed: free them
	 * now, while the warnings are swallowed */
	vips_cache_set_max(0);
	vips_cache_set_max(cache_max);
	g_log_remove_handler("VIPS", handler);
	return note;
}

/* For files that are not meant as images: what libvips makes of them. */
static void report_probe(VipsObject *s, const char *rel, const char *what)
{
	guint handler = g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING,
	                                  swallow_log, NULL);
	const char *path = out_path(s, rel);
	bool has_loader = vips_foreign_find_load(path) != NULL;
	const char *loader = "";
	char note[200];
	VipsImage *im = NULL;

	if (has_loader)
		im = vips_image_new_from_file(path, NULL);
	if (im) {
		vips_image_get_string(im, "vips-loader", &loader);
		snprintf(note, sizeof note, "%s; libvips: %s %dx%d", what,
		         loader, im->Xsize, im->Ysize);
	}
	else
		snprintf(note, sizeof note, "%s; libvips: %s", what,
		         has_loader ? "loader found, header fails" :
		         "no loader");
	vips_error_clear();
	g_log_remove_handler("VIPS", handler);
	report(s, rel, NULL, note);
	if (im)
		g_object_unref(im);
}

/* ---------------------------------------------------------------------
 * Byte builders for the files written by hand.
 */

static void put_bytes(GByteArray *b, const void *data, size_t len)
{
	g_byte_array_append(b, data, (guint) len);
}

static void put_str(GByteArray *b, const char *str)
{
	put_bytes(b, str, strlen(str));
}

static void put_u8(GByteArray *b, unsigned v)
{
	guint8 c = (guint8) v;

	put_bytes(b, &c, 1);
}

static void put_be16(GByteArray *b, unsigned v)
{
	put_u8(b, v >> 8);
	put_u8(b, v);
}

static void put_be32(GByteArray *b, uint32_t v)
{
	put_be16(b, v >> 16);
	put_be16(b, v & 0xffff);
}

static void put_le16(GByteArray *b, unsigned v)
{
	put_u8(b, v);
	put_u8(b, v >> 8);
}

static void put_le32(GByteArray *b, uint32_t v)
{
	put_le16(b, v & 0xffff);
	put_le16(b, v >> 16);
}

static int write_array(VipsObject *s, const char *rel, GByteArray *b)
{
	int result = write_file(s, rel, b->data, b->len);

	g_byte_array_unref(b);
	return result;
}

/* xorshift32: the fixed-seed byte source for corrupt.jpg. */
static uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* ---------------------------------------------------------------------
 * samples/
 */

static void set_camera_exif(VipsImage *im)
{
	vips_image_set_string(im, "exif-ifd0-Make", "imgpipe");
	vips_image_set_string(im, "exif-ifd0-Model",
	                      "mkimages synthetic camera");
	vips_image_set_string(im, "exif-ifd2-DateTimeOriginal",
	                      "2024:05:17 18:30:00");
}

static int make_samples(VipsObject *s)
{
	static const double clear[4] = {0, 0, 0, 0}, sky[3] = {38, 88, 168};
	static const double brown[3] = {150, 110, 70}, tint[3] = {1, 0.8, 0.5};
	static const char readme[] =
		"These are synthetic sample images made by imgpipe-mkimages.\n"
		"This file is not an image: imgpipe skips it.\n";
	double orange[4] = {255, 140, 0, 255}, blue[4] = {30, 80, 200, 255};
	double green[4] = {40, 170, 90, 255};
	const char *rel;
	VipsImage *im, *out, *shown = NULL, *lum;
	int orientation = 0;

	rel = "samples/landscape.jpg";
	out = copy(s, scene(s, 3000, 2000, 1));
	if (!out)
		return fail(rel, "cannot render the scene");
	set_camera_exif(out);
	if (vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 3000, 2000, 3, 0)))
		return -1;
	if (!has_field(im, VIPS_META_EXIF_NAME))
		return fail(rel, "no EXIF after reload");
	report(s, rel, im, "Q90, EXIF");

	/* a portrait scene stored rotated back, orientation 6 turns it up */
	rel = "samples/portrait.jpg";
	out = copy(s, rot(s, in_memory(s, scene(s, 2000, 3000, 2)),
	                  VIPS_ANGLE_D270));
	if (!out)
		return fail(rel, "cannot render the scene");
	set_camera_exif(out);
	vips_image_set_int(out, VIPS_META_ORIENTATION, 6);
	if (vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 3000, 2000, 3, 0)))
		return -1;
	vips_image_get_int(im, VIPS_META_ORIENTATION, &orientation);
	if (orientation != 6)
		return fail(rel, "orientation %d after reload", orientation);
	if (vips_autorot(im, &shown, NULL) || !own(s, shown) ||
	    shown->Xsize != 2000 || shown->Ysize != 3000)
		return fail(rel, "autorot does not give 2000x3000");
	if (expect_pixel(rel, shown, 1000, 20, sky, 3, 40))
		return fail(rel, "sky is not at the top after autorot");
	report(s, rel, im, "Q90, EXIF orientation 6, shows 2000x3000");

	rel = "samples/logo.png";
	out = in_memory(s, constant(s, 1200, 800, 4, clear, VIPS_FORMAT_UCHAR));
	if (!out ||
	    vips_draw_circle(out, orange, 4, 400, 400, 250, "fill", TRUE,
	                     NULL) ||
	    vips_draw_rect(out, blue, 4, 650, 200, 400, 400, "fill", TRUE,
	                   NULL) ||
	    vips_draw_rect(out, green, 4, 150, 680, 900, 60, "fill", TRUE,
	                   NULL))
		return fail(rel, "cannot draw");
	if (vips_pngsave(out, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 1200, 800, 4, 0)) ||
	    expect_pixel(rel, im, 5, 5, clear, 4, 0) ||
	    expect_pixel(rel, im, 400, 400, orange, 4, 0) ||
	    expect_pixel(rel, im, 850, 400, blue, 4, 0) ||
	    expect_pixel(rel, im, 600, 710, green, 4, 0))
		return -1;
	report(s, rel, im, "RGBA, transparent background");

	rel = "samples/nested/deep/texture.webp";
	lum = blur(s, noise(s, 1600, 1200, 200, 30), 4);
	out = cast(s, add(s, lin3(s, lum, tint, brown),
	                  noise(s, 1600, 1200, 6, 31)),
	           VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
	if (!out || vips_webpsave(out, out_path(s, rel), "Q", 80, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 1600, 1200, 3, 0)))
		return -1;
	report(s, rel, im, "lossy Q80");

	rel = "samples/README.txt";
	if (write_file(s, rel, readme, strlen(readme)))
		return -1;
	report(s, rel, NULL, "text, not an image");
	return 0;
}

/* ---------------------------------------------------------------------
 * orient/
 */

static const double quadrant_ink[4][3] = {
	{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255},
};

static VipsImage *quadrants(VipsObject *s)
{
	VipsImage *q[4];

	for (int i = 0; i < 4; i++)
		q[i] = rgb(s, 80, 60, quadrant_ink[i][0], quadrant_ink[i][1],
		           quadrant_ink[i][2]);
	return join(s, q, 4, 2);
}

/* The four quadrant centres of a 160x120 picture against ref's inks. */
static int check_quadrants(const char *rel, VipsImage *im)
{
	for (int i = 0; i < 4; i++)
		if (expect_pixel(rel, im, 40 + 80 * (i % 2), 30 + 60 * (i / 2),
		                 quadrant_ink[i], 3, 40))
			return -1;
	return 0;
}

/* What to store so that a viewer applying EXIF orientation n shows in:
 * the inverse of the orientation's display transform. */
static VipsImage *unorient(VipsObject *s, VipsImage *in, int n)
{
	switch (n) {
	case 2: return flip(s, in, VIPS_DIRECTION_HORIZONTAL);
	case 3: return rot(s, in, VIPS_ANGLE_D180);
	case 4: return flip(s, in, VIPS_DIRECTION_VERTICAL);
	case 5: /* transpose, its own inverse */
		return flip(s, rot(s, in, VIPS_ANGLE_D90),
		            VIPS_DIRECTION_HORIZONTAL);
	case 6: return rot(s, in, VIPS_ANGLE_D270);
	case 7: /* transverse, its own inverse */
		return flip(s, rot(s, in, VIPS_ANGLE_D270),
		            VIPS_DIRECTION_HORIZONTAL);
	case 8: return rot(s, in, VIPS_ANGLE_D90);
	default: return in;
	}
}

static int make_orient(VipsObject *s)
{
	const char *rel = "orient/ref.png";
	VipsImage *ref = in_memory(s, quadrants(s)), *im;

	if (!ref || vips_pngsave(ref, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 160, 120, 3, 0)) || check_quadrants(rel, im))
		return -1;
	report(s, rel, im, "quadrants red green / blue white");

	for (int n = 1; n <= 8; n++) {
		char name[64], note[64];
		VipsImage *stored = copy(s, unorient(s, ref, n)), *shown = NULL;
		int side = n <= 4, orientation = 0;

		snprintf(name, sizeof name, "orient/orient-%d.jpg", n);
		if (!stored)
			return fail(name, "cannot transform ref");
		vips_image_set_int(stored, VIPS_META_ORIENTATION, n);
		if (vips_jpegsave(stored, out_path(s, name), "Q", 95, NULL))
			return fail(name, "cannot save");
		if (!(im = reopen(s, name, side ? 160 : 120, side ? 120 : 160,
		                  3, 0)))
			return -1;
		vips_image_get_int(im, VIPS_META_ORIENTATION, &orientation);
		if (orientation != n)
			return fail(name, "orientation %d after reload",
			            orientation);
		if (vips_autorot(im, &shown, NULL) || !own(s, shown))
			return fail(name, "autorot fails");
		if (shown->Xsize != 160 || shown->Ysize != 120)
			return fail(name, "autorot gives %dx%d, want 160x120",
			            shown->Xsize, shown->Ysize);
		if (check_quadrants(name, shown))
			return fail(name, "autorot does not give ref");
		snprintf(note, sizeof note,
		         "Q95, orientation %d, autorot == ref", n);
		report(s, name, im, note);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * colour/
 */

/* A note naming the pixel values at the given points, into buf. */
static void pixels_note(char *buf, size_t size, const char *prefix,
                        VipsImage *im, const int (*xy)[2], int n)
{
	size_t used = (size_t) snprintf(buf, size, "%s", prefix);

	for (int i = 0; i < n && used < size; i++) {
		double *v = NULL;
		int nv = 0;

		if (vips_getpoint(im, &v, &nv, xy[i][0], xy[i][1], NULL))
			break;
		used += (size_t) snprintf(buf + used, size - used, " (");
		for (int b = 0; b < nv && used < size; b++)
			used += (size_t) snprintf(buf + used, size - used,
			                          b ? ",%g" : "%g", v[b]);
		if (used < size)
			used += (size_t) snprintf(buf + used, size - used, ")");
		g_free(v);
	}
	vips_error_clear();
}

static int make_cmyk(VipsObject *s)
{
	static const int centres[3][2] = {{50, 100}, {150, 100}, {250, 100}};
	VipsImage *stripes[3], *srgb, *cmyk = NULL, *bare, *im;
	const char *rel = "colour/cmyk-profile.jpg";
	char note[160];

	stripes[0] = rgb(s, 100, 200, 255, 0, 0);
	stripes[1] = rgb(s, 100, 200, 0, 255, 0);
	stripes[2] = rgb(s, 100, 200, 0, 0, 255);
	srgb = join(s, stripes, 3, 3);
	if (!srgb ||
	    vips_icc_export(srgb, &cmyk, "output_profile", "cmyk", NULL))
		return fail(rel, "cannot convert to CMYK");
	/* both files must carry the very same pixels */
	cmyk = in_memory(s, own(s, cmyk));
	if (!cmyk || vips_jpegsave(cmyk, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 300, 200, 4, 0)))
		return -1;
	if (im->Type != VIPS_INTERPRETATION_CMYK ||
	    !has_field(im, VIPS_META_ICC_NAME))
		return fail(rel, "reloads as %s, profile %s",
		            vips_enum_nick(VIPS_TYPE_INTERPRETATION, im->Type),
		            has_field(im, VIPS_META_ICC_NAME) ? "yes" : "no");
	pixels_note(note, sizeof note, "CMYK, profile; stripes", im, centres,
	            3);
	report(s, rel, im, note);

	rel = "colour/cmyk-noprofile.jpg";
	bare = copy(s, cmyk);
	if (!bare)
		return fail(rel, "cannot copy");
	vips_image_remove(bare, VIPS_META_ICC_NAME);
	if (vips_jpegsave(bare, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 300, 200, 4, 0)))
		return -1;
	if (im->Type != VIPS_INTERPRETATION_CMYK ||
	    has_field(im, VIPS_META_ICC_NAME))
		return fail(rel, "reloads as %s, profile %s",
		            vips_enum_nick(VIPS_TYPE_INTERPRETATION, im->Type),
		            has_field(im, VIPS_META_ICC_NAME) ? "yes" : "no");
	report(s, rel, im, "CMYK, no profile");
	return 0;
}

static int make_ramps(VipsObject *s)
{
	static const double red16[3] = {65535, 0, 0}, blue16[3] = {0, 0, 65535};
	static const double black[1] = {0}, white[1] = {255};
	static const double mid16[1] = {(100 * 65535 + 99) / 199};
	static const double white16[1] = {65535};
	guint8 grey[100][200];
	guint16 grey16[100][200];
	VipsImage *halves[2], *out, *im;
	const char *rel;

	for (int y = 0; y < 100; y++)
		for (int x = 0; x < 200; x++) {
			grey[y][x] = (guint8) ((x * 255 + 99) / 199);
			grey16[y][x] = (guint16) ((x * 65535 + 99) / 199);
		}

	rel = "colour/rgb16.png";
	halves[0] = constant(s, 100, 100, 3, red16, VIPS_FORMAT_USHORT);
	halves[1] = constant(s, 100, 100, 3, blue16, VIPS_FORMAT_USHORT);
	out = join(s, halves, 2, 2);
	if (!out || vips_pngsave(out, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 100, 3, 0)) ||
	    expect_pixel(rel, im, 50, 50, red16, 3, 0) ||
	    expect_pixel(rel, im, 150, 50, blue16, 3, 0))
		return -1;
	if (im->BandFmt != VIPS_FORMAT_USHORT)
		return fail(rel, "reloads as 8-bit");
	report(s, rel, im, "16-bit, red | blue");

	rel = "colour/grey.jpg";
	out = from_bytes(s, grey, 200, 100, 1, VIPS_FORMAT_UCHAR,
	                 VIPS_INTERPRETATION_B_W);
	if (!out || vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 100, 1, 0)) ||
	    expect_pixel(rel, im, 0, 50, black, 1, 8) ||
	    expect_pixel(rel, im, 199, 50, white, 1, 8))
		return -1;
	report(s, rel, im, "greyscale ramp 0..255");

	rel = "colour/grey16.png";
	out = from_bytes(s, grey16, 200, 100, 1, VIPS_FORMAT_USHORT,
	                 VIPS_INTERPRETATION_GREY16);
	if (!out || vips_pngsave(out, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 100, 1, 0)) ||
	    expect_pixel(rel, im, 0, 50, black, 1, 0) ||
	    expect_pixel(rel, im, 100, 50, mid16, 1, 0) ||
	    expect_pixel(rel, im, 199, 50, white16, 1, 0))
		return -1;
	if (im->BandFmt != VIPS_FORMAT_USHORT)
		return fail(rel, "reloads as 8-bit");
	report(s, rel, im, "16-bit greyscale ramp 0..65535");
	return 0;
}

static int make_alpha(VipsObject *s)
{
	static const double clear[4] = {0, 0, 0, 0}, red[4] = {255, 0, 0, 255};
	static const double transparent[4] = {-1, -1, -1, 0};
	const char *rel = "colour/alpha.png";
	VipsImage *out, *im;

	out = insert(s, constant(s, 200, 200, 4, clear, VIPS_FORMAT_UCHAR),
	             constant(s, 100, 100, 4, red, VIPS_FORMAT_UCHAR), 50, 50);
	if (!out || vips_pngsave(out, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 200, 4, 0)) ||
	    expect_pixel(rel, im, 10, 10, clear, 4, 0) ||
	    expect_pixel(rel, im, 100, 100, red, 4, 0))
		return -1;
	report(s, rel, im, "RGBA, red square on transparent");

	rel = "colour/alpha.webp";
	if (vips_webpsave(out, out_path(s, rel), "lossless", TRUE, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 200, 4, 0)) ||
	    expect_pixel(rel, im, 10, 10, transparent, 4, 0) ||
	    expect_pixel(rel, im, 100, 100, red, 4, 0))
		return -1;
	report(s, rel, im, "lossless, red square on transparent");
	return 0;
}

static int make_p3(VipsObject *s)
{
	static const int centre[1][2] = {{50, 50}};
	const char *rel = "colour/p3.jpg";
	VipsImage *src = rgb(s, 100, 100, 230, 80, 40), *p3 = NULL, *im;
	char note[120];

	if (!src)
		return fail(rel, "cannot make the colour");
	if (vips_icc_export(src, &p3, "output_profile", "p3", NULL)) {
		printf("%-44s skipped: no built-in \"p3\" profile (%s)\n", rel,
		       vips_error_buffer());
		vips_error_clear();
		return 0;
	}
	if (!own(s, p3) || vips_jpegsave(p3, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 100, 100, 3, 0)))
		return -1;
	if (!has_field(im, VIPS_META_ICC_NAME))
		return fail(rel, "no ICC profile after reload");
	pixels_note(note, sizeof note, "Display P3 profile; pixel", im, centre,
	            1);
	report(s, rel, im, note);
	return 0;
}

static int make_colour(VipsObject *s)
{
	if (make_cmyk(s) || make_ramps(s) || make_alpha(s) || make_p3(s))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------
 * meta/
 */

/* One IPTC-IIM dataset of record 2. */
static void put_iim(GByteArray *b, unsigned dataset, const void *data,
                    size_t len)
{
	put_u8(b, 0x1c);
	put_u8(b, 2);
	put_u8(b, dataset);
	put_be16(b, (unsigned) len);
	put_bytes(b, data, len);
}

/* The APP13 payload libvips writes as is: a Photoshop resource block
 * holding one 8BIM 0x0404 (IPTC-IIM) resource. */
static GByteArray *iptc_block(void)
{
	static const guint8 version[2] = {0, 4};
	GByteArray *iim = g_byte_array_new(), *b = g_byte_array_new();

	put_iim(iim, 0, version, sizeof version);
	put_iim(iim, 80, "imgpipe", 7);                      /* By-line */
	put_iim(iim, 120, "imgpipe-secret-iptc", 19);        /* Caption */
	put_bytes(b, "Photoshop 3.0", 14);                   /* with NUL */
	put_str(b, "8BIM");
	put_be16(b, 0x0404);
	put_be16(b, 0);                     /* empty name, padded to even */
	put_be32(b, iim->len);
	put_bytes(b, iim->data, iim->len);
	if (iim->len % 2)
		put_u8(b, 0);
	g_byte_array_unref(iim);
	return b;
}

static int make_meta(VipsObject *s)
{
	static const char xmp[] =
		"<?xpacket begin=\"\xef\xbb\xbf\" "
		"id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
		"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
		" <rdf:RDF "
		"xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
		"  <rdf:Description rdf:about=\"\"\n"
		"    xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
		"   <dc:description>imgpipe-secret-xmp</dc:description>\n"
		"  </rdf:Description>\n"
		" </rdf:RDF>\n"
		"</x:xmpmeta>\n"
		"<?xpacket end=\"w\"?>";
	static const char *const exif[][2] = {
		{"exif-ifd0-Artist", "imgpipe-secret-exif"},
		{"exif-ifd0-Copyright", "imgpipe test data, free to use"},
		{"exif-ifd3-GPSVersionID", "2 2 0 0"},
		{"exif-ifd3-GPSLatitudeRef", "N"},
		{"exif-ifd3-GPSLatitude", "48/1 51/1 2952/100"},
		{"exif-ifd3-GPSLongitudeRef", "E"},
		{"exif-ifd3-GPSLongitude", "2/1 17/1 402/10"},
		{"exif-ifd3-GPSAltitude", "35/1"},
	};
	const char *rel = "meta/exif-gps.jpg";
	VipsImage *out = copy(s, scene(s, 400, 300, 5)), *im;
	GByteArray *iptc;

	if (!out)
		return fail(rel, "cannot render the scene");
	set_camera_exif(out);
	for (size_t i = 0; i < G_N_ELEMENTS(exif); i++)
		vips_image_set_string(out, exif[i][0], exif[i][1]);
	vips_image_set_blob_copy(out, VIPS_META_XMP_NAME, xmp, strlen(xmp));
	iptc = iptc_block();
	vips_image_set_blob_copy(out, VIPS_META_IPTC_NAME, iptc->data,
	                         iptc->len);
	g_byte_array_unref(iptc);
	if (vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");

	if (!(im = reopen(s, rel, 400, 300, 3, 0)))
		return -1;
	if (!blob_contains(im, VIPS_META_EXIF_NAME, "imgpipe-secret-exif"))
		return fail(rel, "EXIF missing after reload");
	if (!has_field(im, "exif-ifd3-GPSLatitude") ||
	    !has_field(im, "exif-ifd3-GPSLongitude"))
		return fail(rel, "EXIF GPS fields missing after reload");
	if (!blob_contains(im, VIPS_META_XMP_NAME, "imgpipe-secret-xmp"))
		return fail(rel, "XMP missing after reload");
	if (!blob_contains(im, VIPS_META_IPTC_NAME, "imgpipe-secret-iptc"))
		return fail(rel, "IPTC missing after reload");
	report(s, rel, im, "EXIF with GPS, XMP, IPTC");
	return 0;
}

/* ---------------------------------------------------------------------
 * anim/
 */

/* Make a toilet roll of frames of height page_h an animation. */
static void set_animation(VipsImage *im, int page_h, int delay_ms)
{
	int frames = im->Ysize / page_h;
	int *delay = g_new(int, frames);

	for (int i = 0; i < frames; i++)
		delay[i] = delay_ms;
	vips_image_set_int(im, VIPS_META_PAGE_HEIGHT, page_h);
	vips_image_set_array_int(im, "delay", delay, frames);
	vips_image_set_int(im, "loop", 0);
	g_free(delay);
}

static int check_delays(const char *rel, VipsImage *im, int frames,
                        int delay_ms)
{
	int *delay = NULL, n = 0;

	if (vips_image_get_array_int(im, "delay", &delay, &n) || n != frames)
		return fail(rel, "%d delays after reload, want %d", n, frames);
	for (int i = 0; i < n; i++)
		if (delay[i] != delay_ms)
			return fail(rel, "frame %d delay %d ms, want %d", i,
			            delay[i], delay_ms);
	return 0;
}

static int make_anim(VipsObject *s)
{
	static const double ink[5][3] = {
		{255, 0, 0}, {0, 255, 0}, {0, 0, 255},
		{255, 255, 0}, {255, 0, 255},
	};
	static const char *const names[2] = {"anim/anim.gif", "anim/anim.webp"};
	enum { MANY = 300, SMALL = 16 };
	static guint8 many[MANY * SMALL][SMALL][3];
	VipsImage *frames[5], *roll, *im;
	const char *rel;

	for (int i = 0; i < 5; i++)
		frames[i] = rgb(s, 120, 90, ink[i][0], ink[i][1], ink[i][2]);
	roll = copy(s, join(s, frames, 5, 1));
	if (!roll)
		return fail(names[0], "cannot make the frames");
	set_animation(roll, 90, 100);
	for (int f = 0; f < 2; f++) {
		rel = names[f];
		if (f == 0 ? vips_gifsave(roll, out_path(s, rel), NULL)
		           : vips_webpsave(roll, out_path(s, rel), NULL))
			return fail(rel, "cannot save");
		if (!(im = reopen(s, rel, 120, 90, f == 0 ? 4 : 3, 5)) ||
		    check_delays(rel, im, 5, 100))
			return -1;
		for (int i = 0; i < 5; i++)
			if (expect_pixel(rel, im, 60, 45 + 90 * i, ink[i], 3,
			                 40))
				return -1;
		report(s, rel, im, "5 frames 120x90, 100 ms, loop 0");
	}

	/* every frame differs from the one before, so no encoder merges them */
	rel = "anim/many-frames.gif";
	for (int y = 0; y < MANY * SMALL; y++)
		for (int x = 0; x < SMALL; x++) {
			int i = y / SMALL;

			many[y][x][0] = (guint8) (i % 256);
			many[y][x][1] = (guint8) (i * 7 % 256);
			many[y][x][2] = (guint8) (255 - i % 256);
		}
	roll = copy(s, from_bytes(s, many, SMALL, MANY * SMALL, 3,
	                          VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB));
	if (!roll)
		return fail(rel, "cannot make the frames");
	set_animation(roll, SMALL, 40);
	if (vips_gifsave(roll, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, SMALL, SMALL, 4, MANY)) ||
	    check_delays(rel, im, MANY, 40))
		return -1;
	report(s, rel, im, "300 frames 16x16, 40 ms");
	return 0;
}

/* ---------------------------------------------------------------------
 * bad/
 */

static const guint8 png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
                                        0x1a, '\n'};

static void put_png_chunk(GByteArray *b, const char *type,
                          const guint8 *data, uint32_t len)
{
	uLong crc = crc32(0, (const Bytef *) type, 4);

	if (len)
		crc = crc32(crc, data, len);
	put_be32(b, len);
	put_bytes(b, type, 4);
	put_bytes(b, data, len);
	put_be32(b, (uint32_t) crc);
}

static void put_png_ihdr(GByteArray *b, uint32_t w, uint32_t h,
                         unsigned depth, unsigned colour_type)
{
	GByteArray *ihdr = g_byte_array_new();

	put_be32(ihdr, w);
	put_be32(ihdr, h);
	put_u8(ihdr, depth);
	put_u8(ihdr, colour_type);
	put_u8(ihdr, 0);        /* deflate */
	put_u8(ihdr, 0);        /* adaptive filtering */
	put_u8(ihdr, 0);        /* no interlace */
	put_png_chunk(b, "IHDR", ihdr->data, ihdr->len);
	g_byte_array_unref(ihdr);
}

/*
 * A real 65535x65535 1-bit greyscale PNG, all black: every row is filter
 * byte 0 and 8192 zero bytes, 537 MB of scanlines that deflate at level 9
 * turns into half a megabyte. On this input the Z_RLE strategy gives the
 * same 521 KB as the default one, in half the time.
 */
static int make_png_bomb(VipsObject *s, const char *rel)
{
	enum { SIDE = 65535, ROW = 1 + (SIDE + 7) / 8 };
	static const guint8 row[ROW];
	static guint8 idat[1 << 18];
	GByteArray *b = g_byte_array_new();
	z_stream z;
	int rc = Z_OK;

	put_bytes(b, png_signature, sizeof png_signature);
	put_png_ihdr(b, SIDE, SIDE, 1, 0);
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, 15, 9, Z_RLE) != Z_OK) {
		g_byte_array_unref(b);
		return fail(rel, "deflateInit2 fails");
	}
	z.next_out = idat;
	z.avail_out = sizeof idat;
	for (int y = 0; y < SIDE && rc == Z_OK; y++) {
		int flush = y == SIDE - 1 ? Z_FINISH : Z_NO_FLUSH;

		z.next_in = (Bytef *) row;
		z.avail_in = ROW;
		do {
			if (z.avail_out == 0) {         /* a full IDAT chunk */
				put_png_chunk(b, "IDAT", idat, sizeof idat);
				z.next_out = idat;
				z.avail_out = sizeof idat;
			}
			rc = deflate(&z, flush);
		} while (rc == Z_OK && (z.avail_in > 0 || flush == Z_FINISH));
	}
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		g_byte_array_unref(b);
		return fail(rel, "deflate fails (%d)", rc);
	}
	put_png_chunk(b, "IDAT", idat, (uint32_t) (sizeof idat - z.avail_out));
	put_png_chunk(b, "IEND", NULL, 0);
	return write_array(s, rel, b);
}

/* A 10x10 24-bit BMP: pixel (x, y), y from the top, is (25x, 25y, 128). */
static GByteArray *bmp_10x10(void)
{
	enum { W = 10, H = 10, STRIDE = (W * 3 + 3) / 4 * 4 };
	GByteArray *b = g_byte_array_new();

	put_str(b, "BM");
	put_le32(b, 54 + STRIDE * H);   /* file size */
	put_le32(b, 0);                 /* reserved */
	put_le32(b, 54);                /* pixel data offset */
	put_le32(b, 40);                /* BITMAPINFOHEADER */
	put_le32(b, W);
	put_le32(b, H);                 /* positive: bottom-up rows */
	put_le16(b, 1);                 /* planes */
	put_le16(b, 24);                /* bits per pixel */
	put_le32(b, 0);                 /* BI_RGB */
	put_le32(b, STRIDE * H);
	put_le32(b, 2835);              /* 72 dpi */
	put_le32(b, 2835);
	put_le32(b, 0);
	put_le32(b, 0);
	for (int y = H - 1; y >= 0; y--) {
		for (int x = 0; x < W; x++) {
			put_u8(b, 128);         /* B */
			put_u8(b, 25 * y);      /* G */
			put_u8(b, 25 * x);      /* R */
		}
		for (int pad = W * 3; pad < STRIDE; pad++)
			put_u8(b, 0);
	}
	return b;
}

/* A one-page PDF with a correct xref table. */
static GByteArray *pdf_one_page(void)
{
	static const char content[] = "1 0 0 rg 8 8 56 56 re f\n";
	char *objects[4];
	long offsets[4];
	GByteArray *b = g_byte_array_new();
	char line[64];

	objects[0] = g_strdup("<< /Type /Catalog /Pages 2 0 R >>");
	objects[1] = g_strdup("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
	objects[2] = g_strdup("<< /Type /Page /Parent 2 0 R "
	                      "/MediaBox [0 0 72 72] /Contents 4 0 R "
	                      "/Resources << >> >>");
	objects[3] = g_strdup_printf("<< /Length %zu >>\nstream\n%s"
	                             "endstream", strlen(content), content);
	put_str(b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
	for (int i = 0; i < 4; i++) {
		offsets[i] = b->len;
		snprintf(line, sizeof line, "%d 0 obj\n", i + 1);
		put_str(b, line);
		put_str(b, objects[i]);
		put_str(b, "\nendobj\n");
		g_free(objects[i]);
	}
	snprintf(line, sizeof line, "xref\n0 5\n%010d 65535 f \n", 0);
	long xref = b->len;
	put_str(b, line);
	for (int i = 0; i < 4; i++) {
		snprintf(line, sizeof line, "%010ld 00000 n \n", offsets[i]);
		put_str(b, line);
	}
	snprintf(line, sizeof line, "trailer\n<< /Size 5 /Root 1 0 R >>\n"
	         "startxref\n%ld\n%%%%EOF\n", xref);
	put_str(b, line);
	return b;
}

/* A zip holding hello.txt, stored, with a fixed 2024-01-01 timestamp. */
static GByteArray *zip_hello(void)
{
	static const char name[] = "hello.txt", body[] = "hello from imgpipe\n";
	const uint32_t crc = (uint32_t) crc32(0, (const Bytef *) body,
	                                      strlen(body));
	const unsigned dos_date = (2024 - 1980) << 9 | 1 << 5 | 1;
	GByteArray *b = g_byte_array_new();
	uint32_t central;

	put_le32(b, 0x04034b50);        /* local file header "PK\3\4" */
	put_le16(b, 10);                /* version needed */
	put_le16(b, 0);                 /* flags */
	put_le16(b, 0);                 /* stored */
	put_le16(b, 0);                 /* time */
	put_le16(b, dos_date);
	put_le32(b, crc);
	put_le32(b, strlen(body));
	put_le32(b, strlen(body));
	put_le16(b, strlen(name));
	put_le16(b, 0);                 /* extra */
	put_str(b, name);
	put_str(b, body);

	central = b->len;
	put_le32(b, 0x02014b50);        /* central directory "PK\1\2" */
	put_le16(b, 20);                /* made by */
	put_le16(b, 10);
	put_le16(b, 0);
	put_le16(b, 0);
	put_le16(b, 0);
	put_le16(b, dos_date);
	put_le32(b, crc);
	put_le32(b, strlen(body));
	put_le32(b, strlen(body));
	put_le16(b, strlen(name));
	put_le16(b, 0);                 /* extra */
	put_le16(b, 0);                 /* comment */
	put_le16(b, 0);                 /* disk */
	put_le16(b, 0);                 /* internal attributes */
	put_le32(b, 0);                 /* external attributes */
	put_le32(b, 0);                 /* local header offset */
	put_str(b, name);

	put_le32(b, 0x06054b50);        /* end of central directory */
	put_le16(b, 0);
	put_le16(b, 0);
	put_le16(b, 1);
	put_le16(b, 1);
	put_le32(b, b->len - central - 12);
	put_le32(b, central);
	put_le16(b, 0);
	return b;
}

/* Where the entropy-coded data of a JPEG starts: just after the SOS
 * segment. 0 if there is none. */
static size_t jpeg_scan_start(const guint8 *data, size_t len)
{
	size_t i = 2;

	while (i + 4 <= len && data[i] == 0xff) {
		size_t seg = (size_t) data[i + 2] << 8 | data[i + 3];

		if (data[i + 1] == 0xda)
			return i + 2 + seg;
		i += 2 + seg;
	}
	return 0;
}

static int make_damaged(VipsObject *s)
{
	enum { DAMAGE = 2048 };
	VipsImage *src = noisy(s, 800, 600, 40), *im;
	void *jpeg = NULL, *png = NULL;
	size_t jpeg_len = 0, png_len = 0, scan;
	uint32_t state = 0x1badcafe;
	const char *rel = "bad/truncated.jpg";
	int result = -1;

	if (!src ||
	    vips_jpegsave_buffer(src, &jpeg, &jpeg_len, "Q", 90, NULL) ||
	    vips_pngsave_buffer(src, &png, &png_len, NULL)) {
		fail(rel, "cannot encode the noise image");
		goto out;
	}
	if (write_file(s, rel, jpeg, jpeg_len * 4 / 10) ||
	    !(im = reopen(s, rel, 800, 600, 3, 0)))
		goto out;
	report(s, rel, im, decode_note(s, rel));

	rel = "bad/truncated.png";
	if (write_file(s, rel, png, png_len * 4 / 10) ||
	    !(im = reopen(s, rel, 800, 600, 3, 0)))
		goto out;
	report(s, rel, im, decode_note(s, rel));

	rel = "bad/corrupt.jpg";
	scan = jpeg_scan_start(jpeg, jpeg_len);
	if (!scan || jpeg_len / 2 - DAMAGE / 2 < scan ||
	    jpeg_len / 2 + DAMAGE / 2 > jpeg_len - 2) {
		fail(rel, "no room for damage: scan at %zu of %zu", scan,
		     jpeg_len);
		goto out;
	}
	for (size_t i = 0; i < DAMAGE; i++)
		((guint8 *) jpeg)[jpeg_len / 2 - DAMAGE / 2 + i] =
			(guint8) xorshift32(&state);
	if (write_file(s, rel, jpeg, jpeg_len) ||
	    !(im = reopen(s, rel, 800, 600, 3, 0)))
		goto out;
	report(s, rel, im, decode_note(s, rel));
	result = 0;
out:
	g_free(jpeg);
	g_free(png);
	return result;
}

static int make_bad(VipsObject *s)
{
	static const char hello[] = "hello, this is not an image\n";
	static const char html[] =
		"<!DOCTYPE html>\n<html lang=\"en\">\n"
		"<head><meta charset=\"utf-8\">"
		"<title>Not an image</title></head>\n"
		"<body><p>This is an HTML page saved as .png.</p></body>\n"
		"</html>\n";
	static const char svg[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" "
		"height=\"100\" viewBox=\"0 0 100 100\">\n"
		"  <rect x=\"10\" y=\"10\" width=\"80\" height=\"80\" "
		"fill=\"#ff0000\"/>\n"
		"</svg>\n";
	GByteArray *b;
	VipsImage *im;
	const char *rel;

	if (write_file(s, "bad/zero.jpg", "", 0))
		return -1;
	report_probe(s, "bad/zero.jpg", "empty");

	b = g_byte_array_new();
	for (int i = 0; i < 4; i++)
		put_str(b, hello);
	if (write_array(s, "bad/text.jpg", b))
		return -1;
	report_probe(s, "bad/text.jpg", "text");

	if (write_file(s, "bad/html.png", html, strlen(html)))
		return -1;
	report_probe(s, "bad/html.png", "HTML");

	if (make_damaged(s))
		return -1;

	rel = "bad/bomb.png";
	if (make_png_bomb(s, rel))
		return -1;
	if (!(im = reopen(s, rel, 65535, 65535, 1, 0)))
		return -1;
	if (file_size(s, rel) > 1024 * 1024)
		return fail(rel, "is %lld bytes, want under 1 MB",
		            file_size(s, rel));
	report(s, rel, im, "valid 1-bit PNG, header checked only");

	rel = "bad/header-only.png";
	b = g_byte_array_new();
	put_bytes(b, png_signature, sizeof png_signature);
	put_png_ihdr(b, 65535, 65535, 8, 6);
	put_png_chunk(b, "IEND", NULL, 0);
	if (write_array(s, rel, b))
		return -1;
	report_probe(s, rel, "signature + IHDR 65535x65535 RGBA + IEND");

	if (write_array(s, "bad/doc.pdf", pdf_one_page()))
		return -1;
	report_probe(s, "bad/doc.pdf", "one-page PDF 1.4");

	if (write_file(s, "bad/image.svg", svg, strlen(svg)))
		return -1;
	report_probe(s, "bad/image.svg", "SVG 100x100");

	if (write_array(s, "bad/image.bmp", bmp_10x10()))
		return -1;
	report_probe(s, "bad/image.bmp", "BMP 10x10 24-bit");

	if (write_array(s, "bad/archive.zip", zip_hello()))
		return -1;
	report_probe(s, "bad/archive.zip", "zip with hello.txt");
	return 0;
}

/* ---------------------------------------------------------------------
 * formats/ and collide/
 */

static int make_formats(VipsObject *s)
{
	static const double red[3] = {255, 0, 0}, blue[3] = {0, 0, 255};
	static const char unicode[] =
		"formats/unicode dir/\xc3\xbcmlaut caf\xc3\xa9 +plus (1).jpg";
	VipsImage *small = in_memory(s, scene(s, 300, 200, 7)), *out, *im;
	const char *rel;

	if (!small)
		return fail("formats/", "cannot render the scene");

	rel = "formats/rgb.tif";
	if (vips_tiffsave(small, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 300, 200, 3, 0)))
		return -1;
	report(s, rel, im, "uncompressed");

	rel = "formats/rgb.webp";
	if (vips_webpsave(small, out_path(s, rel), "Q", 75, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 300, 200, 3, 0)))
		return -1;
	report(s, rel, im, "lossy Q75");

	rel = "formats/rgb.gif";
	if (vips_gifsave(small, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 300, 200, 3, 0)))
		return -1;
	report(s, rel, im, "static, one frame");

	rel = "formats/big.jpg";
	out = scene(s, 6000, 4000, 8);
	if (!out || vips_jpegsave(out, out_path(s, rel), "Q", 85, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 6000, 4000, 3, 0)))
		return -1;
	report(s, rel, im, "Q85, 24 megapixels");

	rel = unicode;
	out = scene(s, 200, 150, 9);
	if (!out || vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 150, 3, 0)))
		return -1;
	report(s, rel, im, "Q90");

	rel = "collide/a.jpg";
	out = rgb(s, 200, 100, 255, 0, 0);
	if (!out || vips_jpegsave(out, out_path(s, rel), "Q", 90, NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 100, 3, 0)) ||
	    expect_pixel(rel, im, 100, 50, red, 3, 8))
		return -1;
	report(s, rel, im, "solid red");

	rel = "collide/a.png";
	out = rgb(s, 200, 100, 0, 0, 255);
	if (!out || vips_pngsave(out, out_path(s, rel), NULL))
		return fail(rel, "cannot save");
	if (!(im = reopen(s, rel, 200, 100, 3, 0)) ||
	    expect_pixel(rel, im, 100, 50, blue, 3, 0))
		return -1;
	report(s, rel, im, "solid blue");
	return 0;
}

/* ---------------------------------------------------------------------
 * matrix/
 */

/* Save ref as rel with saver options; reload, check size and quadrants. */
static int matrix_file(VipsObject *s, VipsImage *stored, const char *rel, int tolerance,
                       const char *note, int (*save)(VipsImage *, const char *, ...),
                       const char *opt, int value)
{
	VipsImage *im, *shown = NULL;

	if (save(stored, out_path(s, rel), opt, value, NULL))
		return fail(rel, "cannot save");
	if (!(im = vips_image_new_from_file(out_path(s, rel), NULL)) || !own(s, im) ||
	    vips_autorot(im, &shown, NULL) || !own(s, shown))
		return fail(rel, "cannot reload");
	if (shown->Xsize != 160 || shown->Ysize != 120)
		return fail(rel, "reloads as %dx%d", shown->Xsize, shown->Ysize);
	if (tolerance)
		for (int i = 0; i < 4; i++)
			if (expect_pixel(rel, shown, 40 + 80 * (i % 2), 30 + 60 * (i / 2),
			                 quadrant_ink[i], 3, tolerance))
				return -1;
	report(s, rel, im, note);
	return 0;
}

static int make_matrix(VipsObject *s)
{
	VipsImage *ref = in_memory(s, quadrants(s)), *wide, *cmyk = NULL, *frames[5], *roll;
	static const double ink[5][3] = {
		{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255},
	};

	if (!ref)
		return fail("matrix/quad.jpg", "cannot make the quadrants");
	if (matrix_file(s, ref, "matrix/quad.jpg", 40, "JPEG Q95", vips_jpegsave, "Q", 95) ||
	    matrix_file(s, ref, "matrix/quad-progressive.jpg", 40, "progressive JPEG",
	                vips_jpegsave, "interlace", TRUE) ||
	    matrix_file(s, ref, "matrix/quad.png", 1, "8-bit PNG", vips_pngsave, "compression", 9) ||
	    matrix_file(s, ref, "matrix/quad-palette.png", 1, "palette PNG", vips_pngsave,
	                "palette", TRUE) ||
	    matrix_file(s, ref, "matrix/quad-lossy.webp", 40, "lossy WebP Q95", vips_webpsave,
	                "Q", 95) ||
	    matrix_file(s, ref, "matrix/quad-lossless.webp", 1, "lossless WebP", vips_webpsave,
	                "lossless", TRUE) ||
	    matrix_file(s, ref, "matrix/quad.gif", 1, "static GIF", vips_gifsave, "effort", 7) ||
	    matrix_file(s, ref, "matrix/quad.tif", 1, "TIFF, deflate", vips_tiffsave,
	                "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE))
		return -1;
	/* 16 bits: the size is checked here, the colours (as 8 bits) by the matrix */
	if (!(wide = cast(s, lin(s, ref, 257, 0), VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16)))
		return fail("matrix/quad-16.png", "cannot widen");
	if (matrix_file(s, wide, "matrix/quad-16.png", 0, "16-bit PNG", vips_pngsave,
	                "bitdepth", 16))
		return -1;
	{
		VipsImage *stored = copy(s, unorient(s, ref, 6));

		if (!stored)
			return fail("matrix/quad-orient6.jpg", "cannot rotate");
		vips_image_set_int(stored, VIPS_META_ORIENTATION, 6);
		if (matrix_file(s, stored, "matrix/quad-orient6.jpg", 40, "EXIF orientation 6",
		                vips_jpegsave, "Q", 95))
			return -1;
	}
	/* a CMYK round trip shifts the inks: the size is checked here, the
	 * colours by the matrix, with its own tolerance */
	if (vips_icc_export(ref, &cmyk, "output_profile", "cmyk", NULL) || !own(s, cmyk) ||
	    matrix_file(s, in_memory(s, cmyk), "matrix/quad-cmyk.jpg", 0, "CMYK JPEG, profile",
	                vips_jpegsave, "Q", 95))
		return fail("matrix/quad-cmyk.jpg", "cannot make CMYK");
	for (int i = 0; i < 2; i++) {
		const char *rel = i ? "matrix/quad.avif" : "matrix/quad.heic";
		VipsForeignHeifCompression c = i ? VIPS_FOREIGN_HEIF_COMPRESSION_AV1
		                                 : VIPS_FOREIGN_HEIF_COMPRESSION_HEVC;

		if (!vips_type_find("VipsOperation", "heifsave") ||
		    vips_heifsave(ref, out_path(s, rel), "compression", c, "Q", 90, NULL)) {
			printf("%-44s skipped: this libheif cannot write it (%s)\n", rel,
			       vips_error_buffer());
			vips_error_clear();
			remove(out_path(s, rel));
			continue;
		}
		if (matrix_file(s, ref, rel, 40, i ? "AVIF Q90" : "HEIC Q90", vips_heifsave,
		                "compression", c))
			return -1;
	}
	for (int i = 0; i < 5; i++)
		frames[i] = rgb(s, 120, 90, ink[i][0], ink[i][1], ink[i][2]);
	if (!(roll = copy(s, join(s, frames, 5, 1))))
		return fail("matrix/anim.gif", "cannot make the frames");
	set_animation(roll, 90, 100);
	if (vips_gifsave(roll, out_path(s, "matrix/anim.gif"), NULL) ||
	    vips_webpsave(roll, out_path(s, "matrix/anim.webp"), NULL) ||
	    !reopen(s, "matrix/anim.gif", 120, 90, 4, 5) ||
	    !reopen(s, "matrix/anim.webp", 120, 90, 3, 5))
		return fail("matrix/anim.gif", "cannot save the animations");
	return 0;
}

/* ---------------------------------------------------------------------
 * main
 */

static const char *const subdirs[] = {
	"samples/nested/deep", "orient", "colour", "meta", "anim", "bad",
	"formats/unicode dir", "collide", "matrix",
};

static const struct step {
	const char *name;
	int (*run)(VipsObject *scope);
} steps[] = {
	{"samples", make_samples},
	{"orient", make_orient},
	{"colour", make_colour},
	{"meta", make_meta},
	{"anim", make_anim},
	{"bad", make_bad},
	{"formats", make_formats},
	{"matrix", make_matrix},
};

int main(int argc, char **argv)
{
	double start;

	if (VIPS_INIT(argv[0]))
		vips_error_exit("cannot start libvips");
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", PROG);
		return 2;
	}
	out_root = argv[1];
	start = imgp_now_ms();

	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *dir = g_build_filename(out_root, subdirs[i], NULL);
		int rc = g_mkdir_with_parents(dir, 0755);

		if (rc)
			fprintf(stderr, "%s: cannot create %s: %s\n", PROG, dir,
			        strerror(errno));
		g_free(dir);
		if (rc)
			return 1;
	}

	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
		/* every image a step makes dies with its scope */
		VipsObject *scope = VIPS_OBJECT(vips_image_new());
		double step_start = imgp_now_ms();
		int rc = steps[i].run(scope);

		g_object_unref(scope);
		printf("-- %s/ done in %.0f ms\n", steps[i].name,
		       imgp_now_ms() - step_start);
		if (rc) {
			fprintf(stderr, "%s: stopped in %s/\n", PROG,
			        steps[i].name);
			vips_shutdown();
			return 1;
		}
	}

	printf("%s: %d files in %s, %.0f ms\n", PROG, files_made, out_root,
	       imgp_now_ms() - start);
	vips_shutdown();
	return 0;
}
