/*
 * probe.c: what may be decoded, and whether it should be. Sniffing the
 * bytes, the loader allow-list, saying what refused bytes look like, and
 * the limits read from the header before a pixel is decoded.
 *
 * It must never decode pixels: everything here is decided from magic
 * numbers and headers, so a bomb costs a header read.
 */
#include "render.h"
#include "render_impl.h"

#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

/* The loaders imgpipe trusts with untrusted bytes (class names). */
static const char *const allowed_loaders[] = {
	"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
	"VipsForeignLoadNsgif", "VipsForeignLoadGif", "VipsForeignLoadTiff",
	"VipsForeignLoadHeif",
};

void imgp_probe_allow_loaders(void)
{
	/* block every loader, then allow ours back: an allow-list, not a deny-list */
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for(size_t i = 0; i < sizeof(allowed_loaders) / sizeof(allowed_loaders[0]); i++)
		vips_operation_block_set(allowed_loaders[i], FALSE);
}

static bool starts(const unsigned char *p, size_t len, const char *magic, size_t n)
{
	return len >= n && !memcmp(p, magic, n);
}

/* Skip a UTF-8 BOM and white space: text formats may start with either. */
static const unsigned char *skip_space(const unsigned char *p, size_t *len)
{
	if(starts(p, *len, "\xEF\xBB\xBF", 3)) {
		p += 3;
		*len -= 3;
	}
	while(*len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
		p++;
		(*len)--;
	}
	return p;
}

static bool looks_like_text(const unsigned char *p, size_t len)
{
	size_t n = len < 512 ? len : 512;

	for(size_t i = 0; i < n; i++)
		if(p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
			return false;
	return true;
}

/*
 * No allowed loader took these bytes: say what they look like, so a person
 * can tell a PDF uploaded by mistake from a damaged photo.
 */
static enum imgp_status describe_refused(const void *buf, size_t len,
                                        const char *loader, char *err)
{
	static const struct { const char *magic; size_t n; const char *what; bool image; } kinds[] = {
		{ "\xFF\xD8\xFF", 3, "a JPEG, but its header is damaged", true },
		{ "\x89PNG\r\n\x1A\n", 8, "a PNG, but its header is damaged", true },
		{ "GIF8", 4, "a GIF, but its header is damaged", true },
		{ "II*\0", 4, "a TIFF, but its header is damaged", true },
		{ "MM\0*", 4, "a TIFF, but its header is damaged", true },
		{ "BM", 2, "a BMP image, a format imgpipe does not accept", true },
		{ "%PDF", 4, "a PDF document, not an image", false },
		{ "PK\x03\x04", 4, "a ZIP archive, not an image", false },
		{ "\x1F\x8B", 2, "gzip-compressed data, not an image", false },
		{ "\xFF\x0A", 2, "a JPEG XL image, a format imgpipe does not accept", true },
		{ "\0\0\0\x0CJXL ", 8, "a JPEG XL image, a format imgpipe does not accept", true },
		{ "8BPS", 4, "a Photoshop document, a format imgpipe does not accept", true },
		{ "\0\0\1\0", 4, "a Windows icon, a format imgpipe does not accept", true },
	};
	const unsigned char *p = buf;
	size_t n = len;

	if(!len)
		return imgp_fail(err, IMGP_E_NOT_IMAGE, "not an image: the file is empty (0 bytes)");
	for(size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if(starts(p, len, kinds[i].magic, kinds[i].n))
			return imgp_fail(err, kinds[i].image ? IMGP_E_UNSUPPORTED : IMGP_E_NOT_IMAGE,
			                 "looks like %s", kinds[i].what);
	if(len >= 12 && !memcmp(p + 4, "ftyp", 4) && vips_type_find("VipsOperation", "heifload_buffer"))
		return imgp_fail(err, IMGP_E_NOT_IMAGE,
			"looks like a video or other ISO media file (ftyp %.4s), not an image", p + 8);
	if(len >= 12 && !memcmp(p + 4, "ftyp", 4))
		return imgp_fail(err, IMGP_E_UNSUPPORTED,
			"looks like a HEIF/AVIF or MP4 file, which this build cannot decode");
	if(starts(p, len, "RIFF", 4) && len >= 12 && !memcmp(p + 8, "WEBP", 4))
		return imgp_fail(err, IMGP_E_UNSUPPORTED, "looks like a WebP, but its header is damaged");
	p = skip_space(p, &n);
	if(starts(p, n, "<svg", 4) || (starts(p, n, "<?xml", 5) &&
	                               memmem(p, n < 1024 ? n : 1024, "<svg", 4)))
		return imgp_fail(err, IMGP_E_UNSUPPORTED,
			"looks like an SVG drawing, a format imgpipe does not accept");
	if(n && *p == '<' && looks_like_text(p, n))
		return imgp_fail(err, IMGP_E_NOT_IMAGE, "not an image: looks like HTML or XML text");
	if(n && (*p == '{' || *p == '[') && looks_like_text(p, n))
		return imgp_fail(err, IMGP_E_NOT_IMAGE, "not an image: looks like JSON text");
	if(looks_like_text(buf, len))
		return imgp_fail(err, IMGP_E_NOT_IMAGE, "not an image: looks like plain text");
	if(loader)
		return imgp_fail(err, IMGP_E_UNSUPPORTED,
			"looks like an image libvips reads with %s, a format imgpipe does not accept",
			loader);
	p = buf;
	return imgp_fail(err, IMGP_E_NOT_IMAGE,
		"not an image: unknown binary data starting %02x %02x %02x %02x",
		p[0], len > 1 ? p[1] : 0, len > 2 ? p[2] : 0, len > 3 ? p[3] : 0);
}

/* "VipsForeignLoadJpegBuffer" -> "jpeg"; NULL when not on our list. */
static const char *loader_format(const char *loader)
{
	static const struct { const char *prefix, *format; } map[] = {
		{ "VipsForeignLoadJpeg", "jpeg" }, { "VipsForeignLoadPng", "png" },
		{ "VipsForeignLoadWebp", "webp" }, { "VipsForeignLoadNsgif", "gif" },
		{ "VipsForeignLoadGif", "gif" }, { "VipsForeignLoadTiff", "tiff" },
		{ "VipsForeignLoadHeif", "heif" },
	};

	for(size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if(vips_isprefix(map[i].prefix, loader))
			return map[i].format;
	return NULL;
}

static bool format_animates(const char *format)
{
	return !strcmp(format, "gif") || !strcmp(format, "webp");
}

bool imgp_wants_animation(const struct imgp_config *cfg)
{
	for(size_t i = 0; i < cfg->nvariants; i++)
		if(cfg->variants[i].anim_keep)
			return true;
	return false;
}

const char *imgp_fail_on_name(enum imgp_fail_on fail_on)
{
	static const char *const names[] = { "none", "truncated", "error", "warning" };
	return names[fail_on];
}

enum imgp_status imgp_probe_header(const struct imgp_config *cfg, const void *buf, size_t len,
                                   struct imgp_probe *probe, char *err)
{
	const struct imgp_limits *lim = &cfg->limits;
	const char *loader, *format;
	VipsImage *image;
	uint64_t pixels;
	int pages;

	memset(probe, 0, sizeof(*probe));
	if(!len)
		return describe_refused(buf, len, NULL, err);
	if(len > lim->max_bytes)
		return imgp_fail(err, IMGP_E_TOO_LARGE,
			"%zu bytes is over the limit of %llu bytes (raise it with %s)",
			len, (unsigned long long)lim->max_bytes, imgp_limit_hint("max_bytes"));
	loader = vips_foreign_find_load_buffer(buf, len);
	vips_error_clear();
	if(!loader || !(format = loader_format(loader)))
		return describe_refused(buf, len, loader, err);
	image = vips_image_new_from_buffer(buf, len, "",
	                                   "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if(!image)
		return imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot read the image header");
	/* libvips reads AVIF and HEIC with one loader: the brand tells them apart */
	if(!strcmp(format, "heif") && len >= 12 &&
	   (!memcmp((const char *)buf + 8, "avif", 4) || !memcmp((const char *)buf + 8, "avis", 4)))
		format = "avif";
	snprintf(probe->format, sizeof(probe->format), "%s", format);
	probe->width = vips_image_get_width(image);
	probe->height = vips_image_get_page_height(image);
	probe->orientation = vips_image_get_orientation(image);
	probe->alpha = vips_image_hasalpha(image);
	pages = format_animates(format) ? vips_image_get_n_pages(image) : 1;
	probe->frames = pages > 0 ? pages : 1;
	if(vips_image_get_orientation_swap(image)) {
		int t = probe->width;
		probe->width = probe->height;
		probe->height = t;
	}
	g_object_unref(image);

	pixels = (uint64_t)probe->width * (uint64_t)probe->height;
	if(pixels > lim->max_pixels)
		return imgp_fail(err, IMGP_E_TOO_LARGE,
			"%dx%d is %.1f megapixels, over the limit of %.1f (raise it with %s)",
			probe->width, probe->height, pixels / 1e6, lim->max_pixels / 1e6,
			imgp_limit_hint("max_pixels"));
	if(probe->frames > 1 && imgp_wants_animation(cfg)) {
		if(probe->frames > lim->max_frames)
			return imgp_fail(err, IMGP_E_TOO_LARGE,
				"%d frames is over the limit of %d (raise it with %s)",
				probe->frames, lim->max_frames, imgp_limit_hint("max_frames"));
		if(pixels * (uint64_t)probe->frames > lim->max_pixels)
			return imgp_fail(err, IMGP_E_TOO_LARGE,
				"%d frames of %dx%d are %.1f megapixels, over the limit of %.1f "
				"(raise it with %s)", probe->frames, probe->width, probe->height,
				pixels * probe->frames / 1e6, lim->max_pixels / 1e6,
				imgp_limit_hint("max_pixels"));
	}
	return IMGP_OK;
}

/* Probe under the libvips lock; a failure again, alone (render.c says why). */
enum imgp_status imgp_render_probe(const struct imgp_config *cfg, const void *buf, size_t len,
                                   struct imgp_probe *probe, char *err)
{
	enum imgp_status result;

	imgp_render_heif(buf, len);
	imgp_vips_lock(false);
	result = imgp_probe_header(cfg, buf, len, probe, err);
	imgp_vips_unlock();
	if(!result)
		return IMGP_OK;
	imgp_vips_lock(true);
	result = imgp_probe_header(cfg, buf, len, probe, err);
	imgp_vips_unlock();
	return result;
}

static enum imgp_status sniff(const void *buf, size_t len, char *err)
{
	/* the magic numbers of the allowed loaders: a TIFF's header may sit at
	 * its end, so its loader cannot tell from the first bytes alone */
	static const struct { const char *magic; size_t n; } images[] = {
		{ "\xFF\xD8\xFF", 3 }, { "\x89PNG\r\n\x1A\n", 8 }, { "GIF8", 4 },
		{ "II*\0", 4 }, { "MM\0*", 4 },
	};
	const unsigned char *p = buf;

	for(size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		if(starts(p, len, images[i].magic, images[i].n))
			return IMGP_OK;
	if(len >= 12 && starts(p, len, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
		return IMGP_OK;
	if(len >= 12 && !memcmp(p + 4, "ftyp", 4) &&
	   vips_type_find("VipsOperation", "heifload_buffer") &&
	   vips_foreign_find_load_buffer(buf, len)) {
		vips_error_clear();
		return IMGP_OK;
	}
	vips_error_clear();
	return describe_refused(buf, len, NULL, err);
}

/* Under the shared lock: sniffing clears libvips' error buffer, which must
 * not happen while a failure is being made again alone. */
enum imgp_status imgp_render_sniff(const void *buf, size_t len, char *err)
{
	enum imgp_status result;

	imgp_render_heif(buf, len);
	imgp_vips_lock(false);
	result = sniff(buf, len, err);
	imgp_vips_unlock();
	return result;
}

enum imgp_format imgp_render_format(const struct imgp_variant *v,
                                    const struct imgp_probe *probe)
{
	if(v->format == IMGP_FMT_BEST)
		return v->anim_keep && probe->frames > 1 ? IMGP_FMT_WEBP : IMGP_FMT_BEST;
	if(v->format != IMGP_FMT_AUTO)
		return v->format;
	if(probe->alpha || (v->anim_keep && probe->frames > 1))
		return IMGP_FMT_WEBP;
	return IMGP_FMT_JPEG;
}

size_t imgp_render_candidates(const struct imgp_variant *v, const struct imgp_probe *probe,
                              enum imgp_format out[IMGP_MAX_CANDIDATES])
{
	enum imgp_format f = probe ? imgp_render_format(v, probe) : v->format;
	size_t n = 0;

	if(f == IMGP_FMT_AUTO) {            /* no probe: either */
		out[n++] = IMGP_FMT_JPEG;
		out[n++] = IMGP_FMT_WEBP;
		return n;
	}
	if(f != IMGP_FMT_BEST) {
		out[n++] = f;
		return n;
	}
	/* best: the formats a browser shows, for what the source has */
	if(!probe || !probe->alpha)
		out[n++] = IMGP_FMT_JPEG;
	out[n++] = IMGP_FMT_WEBP;
	if(!probe || probe->alpha)
		out[n++] = IMGP_FMT_PNG;
	if(imgp_render_can_write(IMGP_FMT_AVIF))
		out[n++] = IMGP_FMT_AVIF;
	return n;
}
