/*
 * manifestcheck.c: see manifestcheck.h.
 */
#include "manifestcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "sigv4.h"
#include "testutil.h"

static const char *str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	cr_assert_not_null(s, "manifest: no string \"%s\"", name);
	return s;
}

/* Mean of each of the first three bands. */
static void mean_rgb(VipsImage *im, double out[3])
{
	for(int b = 0; b < 3; b++) {
		VipsImage *band = NULL;

		cr_assert_eq(vips_extract_band(im, &band, b < im->Bands ? b : 0, NULL), 0);
		cr_assert_eq(vips_avg(band, &out[b], NULL), 0);
		g_object_unref(band);
	}
}

/* What the reference decoder makes of a hash: its average colour. */
static void reference_average(const char *kind, const char *hash, double out[3])
{
	char *script, *o = NULL, *e = NULL;
	json_t *doc, *avg;

	cr_assert_geq(asprintf(&script, "%s/tests/lib/placeholder-decode.js", tu_srcdir()), 0);
	{
		const char *argv[] = { "/usr/bin/env", "node", script, kind, hash,
		                       !strcmp(kind, "blurhash") ? "32" : NULL, "32", NULL };

		cr_assert_eq(tu_run(argv, &o, &e), 0, "%s %s: %s", kind, hash, e);
	}
	doc = json_loads(o, 0, NULL);
	cr_assert_not_null(doc, "placeholder-decode.js: %s", o);
	/* BlurHash's DC term is the average in linear light */
	avg = !strcmp(kind, "blurhash") ? json_object_get(json_object_get(doc, "linear"), "average")
	                                : json_object_get(doc, "average");
	for(int b = 0; b < 3; b++)
		out[b] = json_number_value(json_array_get(avg, (size_t)b));
	json_decref(doc);
	free(o);
	free(e);
	free(script);
}

/* The mean in linear light, told as sRGB 0..255, of im's first three bands. */
static void linear_mean(VipsImage *im, double out[3])
{
	VipsImage *srgb = NULL, *u8 = NULL;
	size_t n;
	unsigned char *px;
	double acc[3] = { 0 };

	cr_assert_eq(vips_extract_band(im, &srgb, 0, "n", 3, NULL), 0);
	cr_assert_eq(vips_cast(srgb, &u8, VIPS_FORMAT_UCHAR, NULL), 0);
	px = vips_image_write_to_memory(u8, &n);
	for(size_t i = 0; i + 2 < n; i += 3)
		for(int b = 0; b < 3; b++) {
			double v = px[i + b] / 255.0;

			acc[b] += v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
		}
	for(int b = 0; b < 3; b++) {
		double v = acc[b] / (double)(n / 3);

		v = v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055;
		out[b] = v * 255;
	}
	g_free(px);
	g_object_unref(u8);
	g_object_unref(srgb);
}

static void near(const double a[3], const double b[3], double tol, const char *what)
{
	for(int i = 0; i < 3; i++)
		cr_assert(fabs(a[i] - b[i]) <= tol, "%s: (%.0f, %.0f, %.0f) against the image's "
		          "(%.0f, %.0f, %.0f)", what, a[0], a[1], a[2], b[0], b[1], b[2]);
}

json_t *tu_check_manifest(const char *text, size_t len, tu_fetch_fn fetch, void *ud,
                          const char *source_key, size_t nvariants)
{
	json_error_t jerr;
	json_t *m = json_loadb(text, len, 0, &jerr), *variants, *srcset, *ph, *img;
	VipsImage *largest = NULL;
	const char *format;
	json_t *set;
	double want[3], got[3];
	unsigned hex[3];

	cr_assert_not_null(m, "the manifest is not JSON: %s", jerr.text);
	cr_assert_eq(json_integer_value(json_object_get(m, "version")), 1);
	cr_assert_str_eq(str(json_object_get(m, "source"), "key"), source_key);
	variants = json_object_get(m, "variants");
	cr_assert_eq(json_array_size(variants), nvariants, "the manifest lists %zu variants",
	             json_array_size(variants));
	for(size_t i = 0; i < nvariants; i++) {
		json_t *v = json_array_get(variants, i);
		const char *key = str(v, "key");
		size_t n = 0;
		void *bytes = fetch(ud, key, &n);
		char sha[IMGP_SHA256_HEX];
		VipsImage *im;

		cr_assert_not_null(bytes, "%s is in the manifest, not in the store", key);
		cr_assert_eq((json_int_t)n, json_integer_value(json_object_get(v, "bytes")),
		             "%s: %zu bytes there, %lld in the manifest", key, n,
		             (long long)json_integer_value(json_object_get(v, "bytes")));
		imgp_sigv4_sha256_hex(bytes, n, sha);
		cr_assert_str_eq(str(v, "sha256"), sha, "%s: the SHA-256 differs", key);
		{
			/* decoded now: the bytes go before the image does */
			VipsImage *lazy = vips_image_new_from_buffer(bytes, n, "", NULL);

			cr_assert_not_null(lazy, "%s does not decode", key);
			im = vips_image_copy_memory(lazy);
			if(vips_image_get_typeof(lazy, "vips-loader")) {
				const char *l = NULL;

				vips_image_get_string(lazy, "vips-loader", &l);
				vips_image_set_string(im, "vips-loader", l);
			}
			g_object_unref(lazy);
			cr_assert_not_null(im, "%s does not decode: %s", key, vips_error_buffer());
		}
		cr_assert_eq(im->Xsize, json_integer_value(json_object_get(v, "width")), "%s", key);
		cr_assert_eq(im->Ysize, json_integer_value(json_object_get(v, "height")), "%s", key);
		format = str(v, "format");
		{
			const char *loader = "?";

			if(vips_image_get_typeof(im, "vips-loader"))
				vips_image_get_string(im, "vips-loader", &loader);
			cr_assert(strstr(loader, !strcmp(format, "avif") ? "heif" : format),
			          "%s: %s in the manifest, loaded by %s", key, format, loader);
		}
		cr_assert(!strncmp(str(v, "contentType"), "image/", 6));
		if(!largest || im->Xsize > largest->Xsize) {
			if(largest)
				g_object_unref(largest);
			largest = im;
		}
		else
			g_object_unref(im);
		free(bytes);
	}
	/* srcset: each format's variants, narrowest first */
	srcset = json_object_get(m, "srcset");
	cr_assert(json_is_object(srcset) && json_object_size(srcset) > 0, "no srcset");
	json_object_foreach(srcset, format, set) {
		char *copy = strdup(json_string_value(set)), *item, *save = NULL;
		int last = 0;

		for(item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			char key[1100];
			int w = 0;
			bool found = false;

			cr_assert_eq(sscanf(item, " %1099s %dw", key, &w), 2, "srcset entry \"%s\"", item);
			cr_assert_gt(w, last, "srcset %s is not narrowest first: %s", format,
			             json_string_value(set));
			last = w;
			for(size_t i = 0; i < nvariants; i++) {
				json_t *v = json_array_get(variants, i);

				found |= !strcmp(str(v, "key"), key) && !strcmp(str(v, "format"), format) &&
				         json_integer_value(json_object_get(v, "width")) == w;
			}
			cr_assert(found, "srcset names %s %dw, not a %s variant", key, w, format);
		}
		free(copy);
	}
	img = json_object_get(json_object_get(m, "picture"), "img");
	cr_assert(json_is_object(img), "no picture.img");
	/* the placeholder looks like the picture */
	ph = json_object_get(m, "placeholder");
	cr_assert(json_is_object(ph), "no placeholder");
	cr_assert_eq(sscanf(str(ph, "color"), "#%2x%2x%2x", &hex[0], &hex[1], &hex[2]), 3);
	mean_rgb(largest, want);
	for(int b = 0; b < 3; b++)
		got[b] = hex[b];
	near(got, want, 8, "the placeholder's colour");
	{
		const char *uri = str(ph, "dataUri");
		gsize n = 0;
		guchar *webp;
		VipsImage *tiny;

		cr_assert(!strncmp(uri, "data:image/webp;base64,", 23), "%.40s", uri);
		cr_assert_leq(strlen(uri), 1024, "the data URI is %zu bytes", strlen(uri));
		webp = g_base64_decode(uri + 23, &n);
		{
			VipsImage *lazy = vips_image_new_from_buffer(webp, n, "", NULL);

			cr_assert_not_null(lazy, "the data URI's image does not decode");
			tiny = vips_image_copy_memory(lazy);
			g_object_unref(lazy);
		}
		cr_assert_leq(tiny->Xsize, 16);
		mean_rgb(tiny, got);
		near(got, want, 16, "the data URI's image");
		g_object_unref(tiny);
		g_free(webp);
	}
	reference_average("thumbhash", str(ph, "thumbhash"), got);
	near(got, want, 12, "ThumbHash, decoded by the reference");
	reference_average("blurhash", str(ph, "blurhash"), got);
	linear_mean(largest, want);
	near(got, want, 12, "BlurHash, decoded by the reference");
	g_object_unref(largest);
	return m;
}
