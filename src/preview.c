/*
 * preview.c: a source's placeholder, from the pixels render already
 * decoded: what a page shows while the real image loads. Next.js's
 * blurDataURL, Astro and Gatsby take a tiny image; ThumbHash and BlurHash
 * are the common compact encodings (placeholder.c writes them); the
 * average colour is the cheapest of all.
 *
 * Everything is computed from one small copy of the decoded image (at
 * most 100 px a side, ThumbHash's own limit), so it costs a few
 * milliseconds at most, whatever the source's size.
 */
#include "render_impl.h"

#include <stdio.h>
#include <string.h>

#include "placeholder.h"

#define PREVIEW_MAX 100         /* ThumbHash's limit, and plenty for the rest */
#define BLURHASH_MAX 32         /* BlurHash needs no more pixels than this */
#define DATA_URI_WIDTH 16       /* the tiny image: a blur needs no more */
#define DATA_URI_MAX 1024

/*
 * in shrunk to fit box x box (never enlarged), by resampling alone: the
 * pixels are sRGB already, and whatever profile the source carried (a
 * CMYK one, say) must not be applied a second time, as thumbnail would.
 */
static int shrink_to(VipsImage *in, VipsImage **out, int box)
{
	int side = in->Xsize > in->Ysize ? in->Xsize : in->Ysize, f = side / (2 * box), r;
	VipsImage *boxed = NULL;

	if(side <= box)
		return vips_copy(in, out, NULL);
	/* a box filter down to twice the size first: vips_resize alone spends
	 * 25 ms taking 1600 px to 100 (measured), this 2 */
	if(f >= 2) {
		if(vips_shrink(in, &boxed, f, f, NULL))
			return -1;
		in = boxed;
		side = in->Xsize > in->Ysize ? in->Xsize : in->Ysize;
	}
	r = side <= box ? vips_copy(in, out, NULL) : vips_resize(in, out, (double)box / side, NULL);
	if(boxed)
		g_object_unref(boxed);
	return r;
}

/* The first frame, shrunk to fit box x box, sRGB with alpha, in memory. */
static VipsImage *small_rgba(VipsImage *decoded, int frames, int box)
{
	VipsImage *t[4] = { NULL }, *out = NULL;
	int page_h = decoded->Ysize / frames;

	if(!vips_crop(decoded, &t[0], 0, 0, decoded->Xsize, page_h, NULL) &&
	   !shrink_to(t[0], &t[1], box) &&
	   !(vips_image_hasalpha(t[1]) ? vips_copy(t[1], &t[2], NULL)
	                               : vips_bandjoin_const1(t[1], &t[2], 255, NULL)) &&
	   !vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL) &&
	   (out = vips_image_copy_memory(t[3]))) {
		/* sRGB pixels, whatever the source's profile said (a CMYK one
		 * would make a saver try to apply it again) */
		vips_image_remove(out, VIPS_META_ICC_NAME);
		vips_image_remove(out, VIPS_META_EXIF_NAME);
		vips_image_remove(out, VIPS_META_XMP_NAME);
		vips_image_remove(out, VIPS_META_IPTC_NAME);
		out->Type = VIPS_INTERPRETATION_sRGB;
	}
	for(int i = 0; i < 4; i++)
		if(t[i])
			g_object_unref(t[i]);
	return out;
}

/* The average colour, alpha-weighted (a transparent corner does not count). */
static void average(const unsigned char *px, int w, int h, char out[8])
{
	double sum[3] = { 0 }, weight = 0;

	for(int i = 0; i < w * h; i++) {
		double a = px[i * 4 + 3] / 255.0;

		for(int b = 0; b < 3; b++)
			sum[b] += px[i * 4 + b] * a;
		weight += a;
	}
	if(weight <= 0)
		weight = 1;
	snprintf(out, 8, "#%02x%02x%02x", (int)(sum[0] / weight + 0.5),
	         (int)(sum[1] / weight + 0.5), (int)(sum[2] / weight + 0.5));
}

/* A tiny WebP of the preview as a data: URI, at most DATA_URI_MAX bytes. */
static char *data_uri(VipsImage *preview, int *w, int *h)
{
	for(int width = DATA_URI_WIDTH; width >= 4; width /= 2) {
		VipsImage *tiny = NULL;
		void *buf = NULL;
		size_t len = 0;
		char *uri = NULL;

		if(shrink_to(preview, &tiny, width))
			return NULL;
		if(vips_webpsave_buffer(tiny, &buf, &len, "Q", 40, "strip", TRUE, NULL)) {
			g_object_unref(tiny);
			return NULL;
		}
		*w = tiny->Xsize;
		*h = tiny->Ysize;
		g_object_unref(tiny);
		imgp_strip_webp(buf, &len);
		if(23 + 4 * ((len + 2) / 3) <= DATA_URI_MAX) {
			uri = g_malloc(24 + 4 * ((len + 2) / 3) + 1);
			memcpy(uri, "data:image/webp;base64,", 23);
			imgp_base64(buf, len, uri + 23);
		}
		g_free(buf);
		if(uri)
			return uri;
	}
	return NULL;
}

enum imgp_status imgp_render_placeholder(VipsImage *decoded, int frames,
                                         struct imgp_placeholder *ph, char *err)
{
	VipsImage *preview, *lazy = NULL, *blur = NULL;
	const unsigned char *px;
	unsigned char hash[IMGP_THUMBHASH_MAX];
	size_t n;
	int bw, bh;

	memset(ph, 0, sizeof(*ph));
	if(!(preview = small_rgba(decoded, frames, PREVIEW_MAX)))
		return imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot make the placeholder");
	px = vips_image_get_data(preview);
	/* the arguments are right: an encoder's 0 is memory running out */
	if(!(n = imgp_thumbhash_encode(px, preview->Xsize, preview->Ysize, hash))) {
		g_object_unref(preview);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory making the placeholder");
	}
	imgp_base64(hash, n, ph->thumbhash);
	average(px, preview->Xsize, preview->Ysize, ph->color);
	/* BlurHash: 4 components along the long side, 3 along the short */
	bw = preview->Xsize >= preview->Ysize ? 4 : 3;
	bh = 7 - bw;
	/* BlurHash has no alpha: what is transparent shows as white, as a page's
	 * background most often is */
	if(!shrink_to(preview, &lazy, BLURHASH_MAX)) {
		VipsImage *flat = NULL;

		VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);

		if(!vips_flatten(lazy, &flat, "background", white, NULL)) {
			VipsImage *u = NULL;

			if(!vips_cast(flat, &u, VIPS_FORMAT_UCHAR, NULL)) {
				blur = vips_image_copy_memory(u);
				g_object_unref(u);
			}
			g_object_unref(flat);
		}
		vips_area_unref(VIPS_AREA(white));
	}
	if(lazy)
		g_object_unref(lazy);
	if(!blur) {
		g_object_unref(preview);
		return imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot make the placeholder");
	}
	if(!imgp_blurhash_encode(vips_image_get_data(blur), blur->Xsize, blur->Ysize,
	                         VIPS_IMAGE_SIZEOF_LINE(blur), blur->Bands, bw, bh, ph->blurhash)) {
		g_object_unref(blur);
		g_object_unref(preview);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory making the placeholder");
	}
	g_object_unref(blur);
	ph->data_uri = data_uri(preview, &ph->data_width, &ph->data_height);
	g_object_unref(preview);
	if(!ph->data_uri)
		return imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot make the placeholder's image");
	return IMGP_OK;
}
