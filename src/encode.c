/*
 * encode.c: what a variant is saved as: the compact sRGB profile every
 * output is tagged with, the metadata kept (strip=no) or dropped, and the
 * savers with each format's options. It must never resize or decode.
 */
#include "render.h"
#include "render_impl.h"

#include <lcms2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

/*
 * A compact (588 byte) ICC v4 sRGB profile made by lcms2 at start: libvips'
 * own sRGB profile is 6.9 KB, which is half of a small thumbnail.
 */
static void *srgb_icc;
static size_t srgb_icc_len;

enum imgp_status imgp_encode_start(char *err)
{
	cmsHPROFILE profile = cmsCreate_sRGBProfile();
	cmsUInt32Number size = 0;

	if(!profile || !cmsSaveProfileToMem(profile, NULL, &size) ||
	   !(srgb_icc = imgp_malloc(size)) ||
	   !cmsSaveProfileToMem(profile, srgb_icc, &size)) {
		if(profile)
			cmsCloseProfile(profile);
		return imgp_fail(err, IMGP_E_INTERNAL, "cannot build the sRGB profile");
	}
	srgb_icc_len = size;
	cmsCloseProfile(profile);
	/*
	 * lcms2 stamps the profile's header with the time it was made, so every
	 * start would write other bytes for the same image (a new ETag, a new
	 * SHA-256, a CDN's immutable copy stale for nothing). A fixed date,
	 * 2025-01-01 00:00, and no profile ID (zero: "not computed", which the
	 * ICC specification allows) make the profile, and so the output, the
	 * same on every run.
	 */
	if(size >= 100) {
		static const unsigned char date[12] = { 0x07, 0xe9, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0 };

		memcpy((unsigned char *)srgb_icc + 24, date, sizeof(date));
		memset((unsigned char *)srgb_icc + 84, 0, 16);
	}
	return IMGP_OK;
}

bool imgp_encode_started(void)
{
	return srgb_icc != NULL;
}

void imgp_encode_stop(void)
{
	imgp_free(srgb_icc);
	srgb_icc = NULL;
}

/* Metadata names that describe the picture, not the camera: kept always. */
static bool structural_field(const char *name)
{
	return !strcmp(name, "page-height") || !strcmp(name, "delay") ||
	       !strcmp(name, "loop") || !strcmp(name, "gif-delay") ||
	       !strcmp(name, "gif-loop") || !strcmp(name, "n-pages");
}

static void *collect_field(VipsImage *image, const char *name, GValue *value, void *a)
{
	GSList **list = a;

	*list = g_slist_prepend(*list, g_strdup(name));
	return NULL;
}

/*
 * strip=yes: everything goes but the structure of an animation; strip=no:
 * EXIF, XMP and IPTC stay. Either way the profile becomes our compact sRGB,
 * because the pixels are sRGB now.
 */
void imgp_render_set_metadata(VipsImage *image, bool strip)
{
	GSList *names = NULL;

	vips_image_map(image, collect_field, &names);
	for(GSList *p = names; p; p = p->next) {
		const char *name = p->data;

		if(!strcmp(name, VIPS_META_ICC_NAME) || (strip && !structural_field(name)))
			vips_image_remove(image, name);
	}
	g_slist_free_full(names, g_free);
	vips_image_set_blob_copy(image, VIPS_META_ICC_NAME, srgb_icc, srgb_icc_len);
}

enum imgp_status imgp_render_encode(VipsImage *image, const struct imgp_variant *v,
                                    enum imgp_format format, void **buf, size_t *len, char *err)
{
	int r = -1;
#if VIPS_AT_LEAST(8, 15)
	VipsForeignKeep keep = v->strip ? VIPS_FOREIGN_KEEP_ICC : VIPS_FOREIGN_KEEP_ALL;
#define META "keep", keep
#define META_TAGGED META
#else
	/*
	 * libvips 8.14 rebuilds an EXIF block on save unless told to strip, and
	 * stripping drops the profile: JPEG and WebP (whose saver ignores strip
	 * in 8.14.1) are saved unstripped and cleaned by *_drop_metadata; PNG
	 * adds no EXIF of its own, so it is saved unstripped after set_metadata;
	 * AVIF stays untagged (its pixels are sRGB all the same).
	 */
#define META "strip", v->strip
#define META_TAGGED "strip", FALSE
#endif

	int q = imgp_variant_q(v, format), effort = imgp_variant_effort(v, format);
	static const VipsForeignSubsample subsample[] = {
		[IMGP_CHROMA_DEFAULT] = VIPS_FOREIGN_SUBSAMPLE_AUTO,
		[IMGP_CHROMA_AUTO] = VIPS_FOREIGN_SUBSAMPLE_AUTO,
		[IMGP_CHROMA_420] = VIPS_FOREIGN_SUBSAMPLE_ON,
		[IMGP_CHROMA_444] = VIPS_FOREIGN_SUBSAMPLE_OFF,
	};
	static const VipsForeignHeifEncoder encoder[] = {
		[IMGP_ENCODER_AUTO] = VIPS_FOREIGN_HEIF_ENCODER_AUTO,
		[IMGP_ENCODER_AOM] = VIPS_FOREIGN_HEIF_ENCODER_AOM,
		[IMGP_ENCODER_SVT] = VIPS_FOREIGN_HEIF_ENCODER_SVT,
		[IMGP_ENCODER_RAV1E] = VIPS_FOREIGN_HEIF_ENCODER_RAV1E,
	};
	VipsForeignSubsample sub = subsample[imgp_variant_chroma(v, format)];

	switch(format) {
	case IMGP_FMT_JPEG:
		r = vips_jpegsave_buffer(image, buf, len, "Q", q,
		                         "optimize_coding", TRUE, "subsample_mode", sub,
		                         "interlace", v->progressive, META_TAGGED, NULL);
		if(!r && v->strip)
			imgp_strip_jpeg(*buf, len);
		break;
	case IMGP_FMT_WEBP:
		r = vips_webpsave_buffer(image, buf, len, "Q", q,
		                         "lossless", v->lossless,
		                         "effort", effort < 0 ? 4 : effort, META_TAGGED, NULL);
		if(!r && v->strip)
			imgp_strip_webp(*buf, len);
		break;
	case IMGP_FMT_PNG:
		r = vips_pngsave_buffer(image, buf, len, "compression", v->compression,
		                        "palette", v->palette, "Q", q,
		                        "effort", effort < 0 ? 7 : effort + 1 > 10 ? 10 : effort + 1,
		                        META_TAGGED, NULL);
		break;
	case IMGP_FMT_AVIF:
		r = vips_heifsave_buffer(image, buf, len, "Q", q,
		                         "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
		                         "lossless", v->lossless, "effort", effort,
		                         "subsample_mode", sub, "encoder", encoder[v->encoder],
		                         META, NULL);
		break;
	case IMGP_FMT_AUTO:
	case IMGP_FMT_BEST:             /* resolved before encoding: never here */
		break;
	}
#undef META
#undef META_TAGGED
	if(r)
		return imgp_vips_fail(err, IMGP_E_ENCODE, "cannot encode");
	return IMGP_OK;
}

