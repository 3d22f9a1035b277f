/*
 * test_placeholder.c: src/placeholder.c against the reference
 * implementations, npm thumbhash and blurhash (pinned by
 * tests/package-lock.json, run by tests/lib/placeholder-decode.js).
 *
 * Every picture is encoded twice, by our C and by the reference encoder, and
 * the hashes must agree (how exactly: see thumbhash_same and the blurhash
 * test); then the reference decoder draws ours, and the drawing must look
 * like the source: the same average colour, the same aspect ratio, and a
 * 3x3 grid of regional averages that is near the source's and nearer to it
 * than to the source mirrored or transposed. The pictures are made here;
 * one is a real photograph (samples/landscape.jpg, shrunk by libvips).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgpipe.h"
#include "placeholder.h"
#include "lib/testutil.h"

TestSuite(placeholder);

/* --- pictures ----------------------------------------------------------- */

enum picture_id {
	PIC_GRADIENT,       /* red grows rightwards, green downwards */
	PIC_SQUARE,         /* a red square in the top-left of blue */
	PIC_ALPHA,          /* opaque on the left, transparent on the right */
	PIC_WIDE,           /* 100x60, dark on the left, bright on the right */
	PIC_TALL,           /* 60x100, yellow top, dark purple bottom, a spot */
	PIC_NOISE,          /* pseudo-random bytes, no structure at all */
	PIC_FLAT,           /* one grey: every AC term is rounding noise */
	PIC_PHOTO,          /* samples/landscape.jpg, 100 pixels wide */
	PIC_COUNT
};

struct picture {
	const char *name;
	int w, h;
	unsigned char *rgba;        /* w * h * 4 */
	/* no term is zero by construction (see thumbhash_same) */
	bool tie_free;
};

static void put(struct picture *p, int x, int y, int r, int g, int b, int a)
{
	unsigned char *px = p->rgba + ((size_t)y * p->w + x) * 4;

	px[0] = (unsigned char)r;
	px[1] = (unsigned char)g;
	px[2] = (unsigned char)b;
	px[3] = (unsigned char)a;
}

/* samples/landscape.jpg shrunk to 100 pixels wide, as RGBA */
static void load_photo(struct picture *p)
{
	char *path = tu_data("samples/landscape.jpg");
	VipsImage *thumb = NULL, *srgb = NULL, *rgba = NULL;
	size_t len = 0;
	void *mem;

	tu_vips_start();
	cr_assert_eq(vips_thumbnail(path, &thumb, 100, NULL), 0,
	             "cannot shrink %s (did make testdata run?): %s", path, vips_error_buffer());
	cr_assert_eq(vips_colourspace(thumb, &srgb, VIPS_INTERPRETATION_sRGB, NULL), 0);
	cr_assert_eq(srgb->Bands, 3, "the photo has %d bands", srgb->Bands);
	cr_assert_eq(vips_bandjoin_const1(srgb, &rgba, 255, NULL), 0);
	p->w = rgba->Xsize;
	p->h = rgba->Ysize;
	mem = vips_image_write_to_memory(rgba, &len);
	cr_assert_not_null(mem);
	cr_assert_eq(len, (size_t)p->w * p->h * 4);
	p->rgba = malloc(len);
	cr_assert_not_null(p->rgba);
	memcpy(p->rgba, mem, len);
	g_free(mem);
	g_object_unref(rgba);
	g_object_unref(srgb);
	g_object_unref(thumb);
	free(path);
}

static struct picture make_picture(enum picture_id id)
{
	static const struct { const char *name; int w, h; bool tie_free; } kinds[PIC_COUNT] = {
		[PIC_GRADIENT] = { "gradient", 100, 75, false },
		[PIC_SQUARE] = { "red square on blue", 64, 48, false },
		[PIC_ALPHA] = { "half-transparent", 80, 80, false },
		[PIC_WIDE] = { "100x60", 100, 60, false },
		[PIC_TALL] = { "60x100", 60, 100, false },
		[PIC_NOISE] = { "noise", 40, 30, true },
		[PIC_FLAT] = { "flat grey", 16, 16, false },
		[PIC_PHOTO] = { "landscape.jpg", 0, 0, true },
	};
	struct picture p = { kinds[id].name, kinds[id].w, kinds[id].h, NULL, kinds[id].tie_free };
	uint32_t seed = 12345;

	if(id == PIC_PHOTO) {
		load_photo(&p);
		return p;
	}
	p.rgba = malloc((size_t)p.w * p.h * 4);
	cr_assert_not_null(p.rgba);
	for(int y = 0; y < p.h; y++) {
		for(int x = 0; x < p.w; x++) {
			int fx = 255 * x / (p.w - 1), fy = 255 * y / (p.h - 1);
			int dx = x - 40, dy = y - 20, spot = dx * dx + dy * dy < 100 ? 60 : 0;

			switch(id) {
			case PIC_GRADIENT:
				put(&p, x, y, fx, fy, 96, 255);
				break;
			case PIC_SQUARE:
				if(x >= 6 && x < 30 && y >= 4 && y < 22)
					put(&p, x, y, 230, 20, 20, 255);
				else
					put(&p, x, y, 20, 40, 200, 255);
				break;
			case PIC_ALPHA:
				put(&p, x, y, 250, 140 + fy / 3, 30, 255 - fx);
				break;
			case PIC_WIDE:
				put(&p, x, y, 20 + fx * 3 / 4, 30 + fx * 3 / 4, 40 + fx * 2 / 3, 255);
				break;
			case PIC_TALL:
				put(&p, x, y, 240 - fy * 3 / 4 + spot / 4, 220 - fy * 4 / 5 + spot / 4,
				    30 + fy / 3 + spot, 255);
				break;
			case PIC_NOISE:
				for(int b = 0; b < 4; b++) {
					seed = seed * 1103515245u + 12345u;
					p.rgba[((size_t)y * p.w + x) * 4 + b] =
						b == 3 ? 255 : (unsigned char)(seed >> 23);
				}
				break;
			case PIC_FLAT:
				put(&p, x, y, 128, 128, 128, 255);
				break;
			default:
				cr_assert_fail("no such picture %d", id);
			}
		}
	}
	return p;
}

/* The same picture turned half a turn. */
static struct picture rotated(const struct picture *p)
{
	struct picture r = *p;
	size_t n = (size_t)p->w * p->h;

	r.rgba = malloc(n * 4);
	cr_assert_not_null(r.rgba);
	for(size_t i = 0; i < n; i++)
		memcpy(r.rgba + i * 4, p->rgba + (n - 1 - i) * 4, 4);
	return r;
}

/* --- what a picture looks like: averages and a grid --------------------- */

#define GRID 3

/* Means of the 4 bands, of the whole picture and of GRID x GRID regions row
 * by row, region i spanning floor(i*w/GRID)..floor((i+1)*w/GRID) as in the
 * node script. */
struct look {
	double average[4];
	double grid[GRID * GRID][4];
};

static double to_linear(double v)
{
	v /= 255;
	return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static double to_srgb(double v)
{
	return 255 * (v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055);
}

/*
 * over: RGB composited over this colour by alpha first (ThumbHash draws a
 * transparent pixel in its average colour); linear: RGB averaged in linear
 * light, told as sRGB (BlurHash's average).
 */
static void region_mean(const struct picture *p, int x0, int y0, int x1, int y1,
                        const double *over, bool linear, double mean[4])
{
	double sum[4] = { 0 }, n = (double)(x1 - x0) * (y1 - y0);

	for(int y = y0; y < y1; y++) {
		for(int x = x0; x < x1; x++) {
			const unsigned char *px = p->rgba + ((size_t)y * p->w + x) * 4;
			double alpha = px[3] / 255.0;

			for(int b = 0; b < 3; b++) {
				double v = over ? alpha * px[b] + (1 - alpha) * over[b] : px[b];

				sum[b] += linear ? to_linear(v) : v;
			}
			sum[3] += px[3];
		}
	}
	for(int b = 0; b < 4; b++)
		mean[b] = linear && b < 3 ? to_srgb(sum[b] / n) : sum[b] / n;
}

static void look_at(const struct picture *p, const double *over, bool linear, struct look *l)
{
	region_mean(p, 0, 0, p->w, p->h, over, linear, l->average);
	for(int gy = 0; gy < GRID; gy++)
		for(int gx = 0; gx < GRID; gx++)
			region_mean(p, gx * p->w / GRID, gy * p->h / GRID, (gx + 1) * p->w / GRID,
			            (gy + 1) * p->h / GRID, over, linear, l->grid[gy * GRID + gx]);
}

/* The colour ThumbHash calls the average: RGB weighted by alpha, 0..255. */
static void alpha_weighted_average(const struct picture *p, double avg[3])
{
	double sum[3] = { 0 }, weight = 0;

	for(size_t i = 0; i < (size_t)p->w * p->h; i++) {
		const unsigned char *px = p->rgba + i * 4;

		for(int b = 0; b < 3; b++)
			sum[b] += px[3] / 255.0 * px[b];
		weight += px[3] / 255.0;
	}
	for(int b = 0; b < 3; b++)
		avg[b] = weight ? sum[b] / weight : 0;
}

enum grid_map { GRID_SAME, GRID_MIRROR_X, GRID_MIRROR_Y, GRID_TRANSPOSE };

static const char *const grid_map_name[] = { "itself", "mirrored left-right",
                                             "mirrored top-bottom", "transposed" };

/* The mean absolute difference, over the cells and the first `bands` bands,
 * between a grid and the source's taken through map. */
static double grid_error(const double grid[GRID * GRID][4], const struct look *src,
                         enum grid_map map, int bands)
{
	double sum = 0;

	for(int gy = 0; gy < GRID; gy++) {
		for(int gx = 0; gx < GRID; gx++) {
			int sx = map == GRID_MIRROR_X ? GRID - 1 - gx : map == GRID_TRANSPOSE ? gy : gx;
			int sy = map == GRID_MIRROR_Y ? GRID - 1 - gy : map == GRID_TRANSPOSE ? gx : gy;

			for(int b = 0; b < bands; b++)
				sum += fabs(grid[gy * GRID + gx][b] - src->grid[sy * GRID + sx][b]);
		}
	}
	return sum / (GRID * GRID * bands);
}

/*
 * The decoded grid must be within tol of the source's on average, and
 * nearer to it than to every mirror and transpose of the source that is
 * itself more than tol from the source (a symmetric picture cannot tell).
 * Returns the error.
 */
static double assert_grid(const char *what, const double decoded[GRID * GRID][4],
                          const struct look *src, int bands, double tol)
{
	double same = grid_error(decoded, src, GRID_SAME, bands);
	char told[256] = "";

	cr_assert_leq(same, tol, "%s: the decoded 3x3 grid is %.1f levels from the source's, "
	              "more than %.0f", what, same, tol);
	for(enum grid_map m = GRID_MIRROR_X; m <= GRID_TRANSPOSE; m++) {
		double other = grid_error(decoded, src, m, bands);
		size_t at = strlen(told);

		if(grid_error(src->grid, src, m, bands) <= tol)
			continue;
		cr_assert_lt(same, other, "%s: the decoded grid is %.1f from the source %s, "
		             "%.1f from the source itself", what, other, grid_map_name[m], same);
		snprintf(told + at, sizeof(told) - at, ", %.1f from it %s", other, grid_map_name[m]);
	}
	cr_log_info("%s: the grid is %.1f levels from the source's%s", what, same, told);
	return same;
}

static void assert_near(const char *what, const char *which, const double *got,
                        const double *want, int n, double tol)
{
	for(int b = 0; b < n; b++)
		cr_assert_leq(fabs(got[b] - want[b]), tol,
		              "%s: %s band %d is %.1f, the source's %.1f (tolerance %.0f)",
		              what, which, b, got[b], want[b], tol);
}

/* --- the reference, through node ---------------------------------------- */

/* Run placeholder-decode.js with args; its JSON (caller frees). */
static json_t *reference(const char *const *args)
{
	const char *argv[12] = { "/usr/bin/env", "node", NULL };
	char *script = NULL, *out = NULL, *err = NULL;
	json_t *doc;
	int status, n = 3;

	cr_assert_geq(asprintf(&script, "%s/tests/lib/placeholder-decode.js", tu_srcdir()), 0);
	argv[2] = script;
	for(; *args && n < 11; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = tu_run(argv, &out, &err);
	cr_assert_eq(status, 0, "placeholder-decode.js %s %s: exit %d: %s", argv[3], argv[4],
	             status, err ? err : "");
	doc = json_loads(out, 0, NULL);
	cr_assert_not_null(doc, "placeholder-decode.js printed no JSON: %s", out);
	free(script);
	free(out);
	free(err);
	return doc;
}

/* The reference encoder's output for p's pixels (caller frees). */
static json_t *reference_encode(const struct picture *p, const char *kind, int xc, int yc)
{
	char *dir = tu_tempdir(), *file = NULL, w[16], h[16], sxc[16], syc[16];
	const char *args[] = { "--encode", kind, NULL, w, h, sxc, syc, NULL };
	json_t *doc;

	cr_assert_geq(asprintf(&file, "%s/pixels.rgba", dir), 0);
	cr_assert(tu_write(file, p->rgba, (size_t)p->w * p->h * 4));
	args[2] = file;
	snprintf(w, sizeof(w), "%d", p->w);
	snprintf(h, sizeof(h), "%d", p->h);
	snprintf(sxc, sizeof(sxc), "%d", xc);
	snprintf(syc, sizeof(syc), "%d", yc);
	if(strcmp(kind, "thumbhash") == 0)
		args[5] = NULL;
	doc = reference(args);
	tu_rmtree(dir);
	free(dir);
	free(file);
	return doc;
}

/* npm blurhash's encode() of p (caller frees). */
static char *npm_blurhash(const struct picture *p, int xc, int yc)
{
	json_t *doc = reference_encode(p, "blurhash", xc, yc);
	char *hash = strdup(json_string_value(json_object_get(doc, "hash")));

	json_decref(doc);
	return hash;
}

/* What the reference decoder drew. */
struct decoded {
	int width, height;
	struct look plain, linear;      /* see look_at */
	double aspect;                  /* ThumbHash only */
	double average_rgba[4];         /* ThumbHash only, 0..255 */
};

static void json_vector(json_t *array, double *out, int n, double scale)
{
	cr_assert(json_is_array(array) && (int)json_array_size(array) == n);
	for(int i = 0; i < n; i++)
		out[i] = json_number_value(json_array_get(array, (size_t)i)) * scale;
}

static void json_look(json_t *doc, struct look *l)
{
	json_t *grid = json_object_get(doc, "grid");

	json_vector(json_object_get(doc, "average"), l->average, 4, 1);
	cr_assert(json_is_array(grid) && json_array_size(grid) == GRID * GRID);
	for(int i = 0; i < GRID * GRID; i++)
		json_vector(json_array_get(grid, (size_t)i), l->grid[i], 4, 1);
}

static void reference_decode(const char *const *args, struct decoded *d)
{
	json_t *doc = reference(args);

	memset(d, 0, sizeof(*d));
	d->width = (int)json_integer_value(json_object_get(doc, "width"));
	d->height = (int)json_integer_value(json_object_get(doc, "height"));
	json_look(doc, &d->plain);
	json_look(json_object_get(doc, "linear"), &d->linear);
	if(json_object_get(doc, "aspect")) {
		d->aspect = json_number_value(json_object_get(doc, "aspect"));
		json_vector(json_object_get(doc, "averageRGBA"), d->average_rgba, 4, 255);
	}
	json_decref(doc);
}

static void decode_thumbhash(const unsigned char *hash, size_t len, struct decoded *d)
{
	char b64[4 * ((IMGP_THUMBHASH_MAX + 2) / 3) + 1];
	const char *args[] = { "thumbhash", b64, NULL };

	imgp_base64(hash, len, b64);
	reference_decode(args, d);
}

static void decode_blurhash(const char *hash, int w, int h, struct decoded *d)
{
	char sw[16], sh[16];
	const char *args[] = { "blurhash", hash, sw, sh, NULL };

	snprintf(sw, sizeof(sw), "%d", w);
	snprintf(sh, sizeof(sh), "%d", h);
	reference_decode(args, d);
}

/* --- ThumbHash ---------------------------------------------------------- */

/* A ThumbHash taken apart as its decoder reads it: the header bytes, then
 * per channel (L, P, Q and A) its quantised scale and its 4-bit AC terms. */
struct th_parts {
	int start, nchan;
	struct { char name; int scale, first, n; } ch[4];
};

static int th_triangle(int nx, int ny)
{
	int n = 0;

	for(int cy = 0; cy < ny; cy++)
		for(int cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++)
			n++;
	return n;
}

static void th_parse(const unsigned char *h, size_t len, struct th_parts *t)
{
	unsigned header24 = h[0] | h[1] << 8 | (unsigned)h[2] << 16, header16 = h[3] | h[4] << 8;
	bool alpha = header24 >> 23, landscape = header16 >> 15;
	int lx = landscape ? (alpha ? 5 : 7) : (int)(header16 & 7);
	int ly = landscape ? (int)(header16 & 7) : (alpha ? 5 : 7), first;

	cr_assert_geq(len, 6u);
	t->start = alpha ? 6 : 5;
	t->nchan = alpha ? 4 : 3;
	t->ch[0].name = 'L';
	t->ch[0].scale = (header24 >> 18) & 31;
	t->ch[0].n = th_triangle(lx > 3 ? lx : 3, ly > 3 ? ly : 3);
	t->ch[1].name = 'P';
	t->ch[1].scale = (header16 >> 3) & 63;
	t->ch[1].n = 5;
	t->ch[2].name = 'Q';
	t->ch[2].scale = (header16 >> 9) & 63;
	t->ch[2].n = 5;
	t->ch[3].name = 'A';
	t->ch[3].scale = h[5] >> 4;
	t->ch[3].n = 14;
	first = 0;
	for(int c = 0; c < t->nchan; c++) {
		t->ch[c].first = first;
		first += t->ch[c].n;
	}
	cr_assert_eq(len, (size_t)(t->start + (first + 1) / 2), "a ThumbHash of %zu bytes", len);
}

static int th_nibble(const unsigned char *h, const struct th_parts *t, int i)
{
	return (h[t->start + i / 2] >> ((i & 1) * 4)) & 15;
}

/*
 * Whether our ThumbHash says what rgbaToThumbHash's says. The bytes are the
 * same except for two things libm decides (glibc's cos is not V8's: they
 * differ in the last bit for about one argument in thirty):
 *  - the AC terms of a channel whose scale quantises to 0, which are
 *    rounding noise normalised by a scale of rounding noise; the decoder
 *    multiplies them by that 0 (a flat channel: a grey image's P and Q);
 *  - an AC term that is zero by construction (a picture that does not
 *    change along one axis): 0.5 + 0.5 / scale * (1e-17 or so) sits on the
 *    tie 7.5 and rounds to 7 or 8 on the sign of that noise.
 * So: the header exactly, every term of a channel that carries any within
 * 1, at most two off by 1, and none at all for a tie-free picture (noise, a
 * photo), where the bytes must be identical.
 */
static void thumbhash_same(const char *what, const unsigned char *ours, size_t len,
                           json_t *theirs, bool tie_free)
{
	unsigned char ref[IMGP_THUMBHASH_MAX];
	struct th_parts t;
	int ties = 0, noise = 0;

	cr_assert(json_is_array(theirs) && json_array_size(theirs) <= IMGP_THUMBHASH_MAX);
	cr_assert_eq(json_array_size(theirs), len, "%s: %zu bytes, rgbaToThumbHash %zu", what,
	             len, json_array_size(theirs));
	for(size_t i = 0; i < len; i++)
		ref[i] = (unsigned char)json_integer_value(json_array_get(theirs, i));
	th_parse(ours, len, &t);
	cr_assert_eq(memcmp(ours, ref, (size_t)t.start), 0, "%s: the headers differ", what);
	for(int c = 0; c < t.nchan; c++) {
		for(int i = t.ch[c].first; i < t.ch[c].first + t.ch[c].n; i++) {
			int a = th_nibble(ours, &t, i), b = th_nibble(ref, &t, i);

			if(a == b)
				continue;
			if(t.ch[c].scale == 0) {
				noise++;
				continue;
			}
			cr_assert_eq(abs(a - b), 1, "%s: %c term %d is %d, rgbaToThumbHash's %d", what,
			             t.ch[c].name, i - t.ch[c].first, a, b);
			ties++;
		}
	}
	if(tie_free)
		cr_assert_eq(memcmp(ours, ref, len), 0, "%s: the bytes differ", what);
	cr_assert_leq(ties, 2, "%s: %d AC terms off by one", what, ties);
	cr_log_info("%s: %s (%d terms off by one on a tie, %d in a flat channel)", what,
	            memcmp(ours, ref, len) ? "same but for libm" : "byte-identical", ties, noise);
}

static enum picture_id all_pictures[] = {
	PIC_GRADIENT, PIC_SQUARE, PIC_ALPHA, PIC_WIDE, PIC_TALL, PIC_NOISE, PIC_FLAT, PIC_PHOTO,
};

ParameterizedTestParameters(placeholder, thumbhash)
{
	return cr_make_param_array(enum picture_id, all_pictures,
	                           sizeof(all_pictures) / sizeof(all_pictures[0]));
}

/* Our ThumbHash is rgbaToThumbHash's, and thumbHashToRGBA draws the source
 * from it. Colour within 6 levels; alpha's average within 9 (its DC has 4
 * bits, steps of 17); the grid within 16 on average. */
ParameterizedTest(enum picture_id *id, placeholder, thumbhash)
{
	struct picture p = make_picture(*id);
	unsigned char hash[IMGP_THUMBHASH_MAX];
	char what[96], b64[4 * ((IMGP_THUMBHASH_MAX + 2) / 3) + 1];
	size_t len = imgp_thumbhash_encode(p.rgba, p.w, p.h, hash);
	json_t *theirs;
	struct decoded d;
	struct look src;
	double avg[3], ratio = (double)p.w / p.h;

	snprintf(what, sizeof(what), "thumbhash %s %dx%d", p.name, p.w, p.h);
	cr_assert_gt(len, 0, "%s: no hash", what);
	theirs = reference_encode(&p, "thumbhash", 0, 0);
	thumbhash_same(what, hash, len, json_object_get(theirs, "bytes"), p.tie_free);

	decode_thumbhash(hash, len, &d);
	cr_assert(fabs(d.aspect - ratio) <= 0.1 * ratio, "%s: aspect ratio %.3f, the source's %.3f",
	          what, d.aspect, ratio);
	cr_assert(fabs((double)d.width / d.height - ratio) <= 0.1 * ratio,
	          "%s: drawn %dx%d", what, d.width, d.height);

	alpha_weighted_average(&p, avg);
	look_at(&p, avg, false, &src);
	assert_near(what, "averageRGBA", d.average_rgba, avg, 3, 6);
	assert_near(what, "average", d.plain.average, avg, 3, 6);
	assert_near(what, "averageRGBA alpha", d.average_rgba + 3, src.average + 3, 1, 9);
	assert_near(what, "average alpha", d.plain.average + 3, src.average + 3, 1, 9);
	assert_grid(what, d.plain.grid, &src, 4, 16);
	imgp_base64(hash, len, b64);
	cr_log_info("%s: %s, drawn %dx%d", what, b64, d.width, d.height);

	json_decref(theirs);
	free(p.rgba);
}

Test(placeholder, thumbhash_refuses_bad_arguments)
{
	unsigned char px[101 * 4] = { 0 }, out[IMGP_THUMBHASH_MAX];

	cr_assert_eq(imgp_thumbhash_encode(NULL, 1, 1, out), 0);
	cr_assert_eq(imgp_thumbhash_encode(px, 1, 1, NULL), 0);
	cr_assert_eq(imgp_thumbhash_encode(px, 0, 1, out), 0);
	cr_assert_eq(imgp_thumbhash_encode(px, 1, -1, out), 0);
	cr_assert_eq(imgp_thumbhash_encode(px, 101, 1, out), 0);
	cr_assert_eq(imgp_thumbhash_encode(px, 1, 101, out), 0);
	/* the smallest: one transparent pixel */
	cr_assert_gt(imgp_thumbhash_encode(px, 1, 1, out), 0);
	/* out of memory is 0 too, and leaves nothing behind */
	imgp_alloc_fail_after(0);
	cr_assert_eq(imgp_thumbhash_encode(px, 1, 1, out), 0);
	imgp_alloc_fail_after(-1);
}

/* --- BlurHash ----------------------------------------------------------- */

/*
 * npm_differs: npm blurhash's encode() takes the largest signed AC value as
 * the maximum, the spec's encoders the largest magnitude (we do); they part
 * where the strongest term is negative: a picture brighter on its right or
 * bottom. Half a turn makes it positive, and there the two must agree.
 * grid: the grid's tolerance, 0 for none (one component draws one colour).
 */
struct blur_case {
	enum picture_id id;
	int xc, yc;
	bool npm_differs;
	double grid;
};

static struct blur_case blur_cases[] = {
	{ PIC_GRADIENT, 4, 3, true, 16 }, { PIC_SQUARE, 4, 3, false, 16 },
	{ PIC_ALPHA, 4, 3, true, 16 }, { PIC_WIDE, 4, 3, true, 16 },
	{ PIC_TALL, 3, 4, false, 16 }, { PIC_NOISE, 4, 3, false, 16 },
	{ PIC_FLAT, 4, 3, false, 16 }, { PIC_PHOTO, 4, 3, false, 16 },
	{ PIC_GRADIENT, 9, 9, true, 16 }, { PIC_PHOTO, 9, 9, false, 16 },
	{ PIC_SQUARE, 1, 1, false, 0 }, { PIC_TALL, 1, 9, false, 16 },
};

ParameterizedTestParameters(placeholder, blurhash)
{
	return cr_make_param_array(struct blur_case, blur_cases,
	                           sizeof(blur_cases) / sizeof(blur_cases[0]));
}

static int base83_value(const char *s, int n)
{
	static const char digits[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
	int v = 0;

	for(int i = 0; i < n; i++) {
		const char *d = s[i] ? strchr(digits, s[i]) : NULL;

		cr_assert_not_null(d, "'%c' is no base-83 digit", s[i]);
		v = v * 83 + (int)(d - digits);
	}
	return v;
}

static void blurhash_rgba(const struct picture *p, int xc, int yc, char out[IMGP_BLURHASH_MAX])
{
	size_t len = imgp_blurhash_encode(p->rgba, p->w, p->h, (size_t)p->w * 4, 4, xc, yc, out);

	cr_assert_eq(len, 4 + 2 * (size_t)(xc * yc), "%s %dx%d: %zu characters", p->name, xc, yc,
	             len);
	cr_assert_eq(strlen(out), len);
}

/*
 * Our BlurHash is npm encode()'s (but see npm_differs), and npm decode()
 * draws the source from it. Its DC term is the source's average in linear
 * light to the level. The drawing is measured in linear light too, as
 * BlurHash works: its average within 12 levels, for the decoder clips what
 * rings past black or white and its cosines (cos(pi * i * x / w), not
 * centred on the pixel) do not sum to 0 (a red square on blue: 7.4 levels
 * of red); its grid within 16 on average.
 */
ParameterizedTest(struct blur_case *c, placeholder, blurhash)
{
	struct picture p = make_picture(c->id);
	char ours[IMGP_BLURHASH_MAX], rgb_hash[IMGP_BLURHASH_MAX], *theirs, what[96];
	size_t stride = (size_t)p.w * 3 + 5;
	unsigned char *rgb = calloc((size_t)p.h, stride);
	struct decoded d;
	struct look src;
	double dc[3];
	int value;

	snprintf(what, sizeof(what), "blurhash %s %dx%d", p.name, c->xc, c->yc);
	blurhash_rgba(&p, c->xc, c->yc, ours);
	theirs = npm_blurhash(&p, c->xc, c->yc);
	look_at(&p, NULL, true, &src);
	if(!c->npm_differs)
		cr_assert_str_eq(ours, theirs, "%s: ours %s, npm encode's %s", what, ours, theirs);
	else {
		struct picture turned = rotated(&p);
		char turned_ours[IMGP_BLURHASH_MAX], *turned_theirs;
		struct decoded npm;

		cr_assert_str_neq(ours, theirs, "%s: npm_differs, but npm encode gives the same %s",
		                  what, ours);
		cr_assert(ours[0] == theirs[0] && strncmp(ours + 2, theirs + 2, 4) == 0,
		          "%s: the size or the DC term differ: ours %s, npm's %s", what, ours, theirs);
		blurhash_rgba(&turned, c->xc, c->yc, turned_ours);
		turned_theirs = npm_blurhash(&turned, c->xc, c->yc);
		cr_assert_str_eq(turned_ours, turned_theirs, "%s turned half a turn: ours %s, npm's %s",
		                 what, turned_ours, turned_theirs);
		/* and theirs draws the picture worse */
		decode_blurhash(theirs, p.w, p.h, &npm);
		cr_log_info("%s: npm's own %s draws it %.1f levels off", what, theirs,
		            grid_error(npm.linear.grid, &src, GRID_SAME, 3));
		free(turned_theirs);
		free(turned.rgba);
	}

	/* RGB with a stride longer than the row is the same picture */
	cr_assert_not_null(rgb);
	for(int y = 0; y < p.h; y++)
		for(int x = 0; x < p.w; x++)
			memcpy(rgb + y * stride + x * 3, p.rgba + ((size_t)y * p.w + x) * 4, 3);
	cr_assert_eq(imgp_blurhash_encode(rgb, p.w, p.h, stride, 3, c->xc, c->yc, rgb_hash),
	             strlen(ours));
	cr_assert_str_eq(rgb_hash, ours, "%s: RGB gives %s, RGBA %s", what, rgb_hash, ours);

	/* the DC term is the source's average in linear light */
	value = base83_value(ours + 2, 4);
	dc[0] = value >> 16;
	dc[1] = (value >> 8) & 255;
	dc[2] = value & 255;
	assert_near(what, "DC term", dc, src.average, 3, 1);

	decode_blurhash(ours, p.w, p.h, &d);
	cr_assert_eq(d.width, p.w);
	cr_assert_eq(d.height, p.h);
	assert_near(what, "average", d.linear.average, src.average, 3, 12);
	if(c->grid)
		assert_grid(what, d.linear.grid, &src, 3, c->grid);
	cr_log_info("%s: %s", what, ours);

	free(rgb);
	free(theirs);
	free(p.rgba);
}

Test(placeholder, blurhash_refuses_bad_arguments)
{
	unsigned char px[4 * 4 * 4] = { 0 };
	char out[IMGP_BLURHASH_MAX];

	cr_assert_eq(imgp_blurhash_encode(NULL, 4, 4, 16, 4, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 4, 3, NULL), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 0, 4, 16, 4, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 0, 16, 4, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 15, 4, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 2, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 5, 4, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 0, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 10, 3, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 4, 0, out), 0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 4, 10, out), 0);
	/* the largest fits, with its NUL */
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 9, 9, out), 4 + 2 * 81);
	cr_assert_leq(strlen(out) + 1, (size_t)IMGP_BLURHASH_MAX);
	/* black: the DC term is 0, no AC term, the maximum at its least */
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 1, 1, out), 6);
	cr_assert_str_eq(out, "000000");
	imgp_alloc_fail_after(0);
	cr_assert_eq(imgp_blurhash_encode(px, 4, 4, 16, 4, 4, 3, out), 0);
	imgp_alloc_fail_after(-1);
}

/* --- base64 ------------------------------------------------------------- */

/* RFC 4648, section 10, then the bytes that use the last digits and
 * padding after a zero. */
Test(placeholder, base64_rfc4648)
{
	static const struct { const char *in; size_t len; const char *out; } vectors[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" },
		{ "fooba", 5, "Zm9vYmE=" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xff\xff\xfe", 3, "///+" },
		{ "\xfb\xef\xbe", 3, "++++" },
		{ "\0", 1, "AA==" },
		{ "\0\0", 2, "AAA=" },
		{ "\0\0\0", 3, "AAAA" },
		{ "\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l+" },
		{ "\x14\xfb\x9c\x03\xd9", 5, "FPucA9k=" },
		{ "\x14\xfb\x9c\x03", 4, "FPucAw==" },
	};

	for(size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[16];
		size_t want = 4 * ((vectors[i].len + 2) / 3);

		memset(out, '#', sizeof(out));
		cr_assert_eq(imgp_base64((const unsigned char *)vectors[i].in, vectors[i].len, out),
		             want, "vector %zu: length", i);
		cr_assert_str_eq(out, vectors[i].out, "vector %zu", i);
	}
}

/* Every byte value, every padding: what the room formula says, and the
 * bytes come back (decoded here the long way). */
Test(placeholder, base64_every_byte)
{
	unsigned char in[256 + 2];
	char out[4 * ((sizeof(in) + 2) / 3) + 1];
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for(size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for(size_t len = 254; len <= sizeof(in); len++) {
		size_t n = imgp_base64(in, len, out), bits = 0, got = 0;
		unsigned acc = 0;

		cr_assert_eq(n, 4 * ((len + 2) / 3));
		cr_assert_eq(strlen(out), n);
		for(size_t i = 0; i < n && out[i] != '='; i++) {
			const char *d = strchr(digits, out[i]);

			cr_assert_not_null(d, "'%c' is no base64 digit", out[i]);
			acc = (acc << 6 | (unsigned)(d - digits)) & 0xffff;
			bits += 6;
			if(bits >= 8) {
				bits -= 8;
				cr_assert_eq((acc >> bits) & 255, in[got], "byte %zu of %zu", got, len);
				got++;
			}
		}
		cr_assert_eq(got, len);
	}
}
