/*
 * render_impl.h: what render.c shares with probe.c, geometry.c and
 * strip.c, and nothing a caller of render.h may use.
 */
#ifndef IMGP_RENDER_IMPL_H
#define IMGP_RENDER_IMPL_H

#include "render.h"

#include <vips/vips.h>

#define VIPS_AT_LEAST(major, minor) \
	(VIPS_MAJOR_VERSION > (major) || \
	 (VIPS_MAJOR_VERSION == (major) && VIPS_MINOR_VERSION >= (minor)))

/*
 * Around every call into libvips that can fail: shared (alone false), or
 * alone, with libvips' error buffer cleared, to make a failed call again
 * and read its own message (see render.c).
 */
void imgp_vips_lock(bool alone);
void imgp_vips_unlock(void);

/* Load libvips' heif module if these bytes are ISO media ("ftyp"), or
 * whatever they are when buf is NULL; once, and only if libvips has not. */
void imgp_render_heif(const void *buf, size_t len);

/* orcguard.c: liborc's compile and free one thread at a time (libvips
 * with liborc); at init, which also links the guard into the program. */
void imgp_orc_guard(void);

/* caps.c: libvips' reason format cannot be written ("" when it can). */
const char *imgp_caps_write_failure(enum imgp_format format);
const char *imgp_caps_encoder_failure(enum imgp_encoder encoder);

/* libvips' reason for the failed call into err, as "what: reason". */
enum imgp_status imgp_vips_fail(char *err, enum imgp_status status, const char *what);

/* probe.c: imgp_render_probe with the libvips lock already held. */
enum imgp_status imgp_probe_header(const struct imgp_config *cfg, const void *buf, size_t len,
                                   struct imgp_probe *probe, char *err);
/* Block every loader but the allow-listed ones (at init). */
void imgp_probe_allow_loaders(void);
/* Does any variant keep an animation? */
bool imgp_wants_animation(const struct imgp_config *cfg);
/* libvips' name for a fail_on level: "warning". */
const char *imgp_fail_on_name(enum imgp_fail_on fail_on);

/* geometry.c: where one variant's pixels come from: resize to r, then crop
 * or pad to c. */
struct imgp_geometry {
	double sx, sy;  /* scale from the source as displayed */
	int rw, rh;     /* resized size, before crop or letterbox */
	int cw, ch;     /* final canvas */
};

/* n scaled by s, rounded, at least 1 and at most 8 x IMGP_MAX_DIMENSION. */
int imgp_geometry_scaled(int n, double s);
/* sharp's meanings of fit; enlarge as imgp_variant_enlarges says. W x H as displayed. */
struct imgp_geometry imgp_geometry_plan(const struct imgp_variant *v, int W, int H);
/* The JPEG DCT scale (1, 2, 4, 8) that still leaves at least rw x rh. */
int imgp_geometry_jpeg_shrink(const struct imgp_probe *probe, int rw, int rh);
/* Indexes of plans, largest scale first (stable: ties keep their order). */
void imgp_geometry_order(const struct imgp_geometry *plans, size_t n, size_t *order);

/* geometry.c: the plan of one render (imgp_geometry_render_plan). */
struct imgp_render_plan {
	int dw, dh;                             /* the one decode, per frame */
	int frames;                             /* decoded frames */
	struct imgp_geometry g[IMGP_MAX_VARIANTS];
	size_t order[IMGP_MAX_VARIANTS];        /* largest scale first */
	bool cascade[IMGP_MAX_VARIANTS];        /* leaves its resize as a base */
	int from[IMGP_MAX_VARIANTS];            /* -1: the decode; else the
	                                           variant whose base it starts from */
	int placeholder_from;                   /* the same, for the placeholder */
};
void imgp_geometry_render_plan(const struct imgp_config *cfg, const struct imgp_probe *probe,
                               bool animated, struct imgp_render_plan *rp /* OUT */);

/* encode.c: the compact sRGB profile, made once at start (vips.c). */
enum imgp_status imgp_encode_start(char *err);
bool imgp_encode_started(void);
void imgp_encode_stop(void);
/* encode.c: strip=yes drops all but an animation's structure, strip=no
 * keeps EXIF, XMP and IPTC; either way the profile becomes our sRGB. */
void imgp_render_set_metadata(VipsImage *image, bool strip);

/* encode.c: one variant's image, saved as format, as every variant is. */
enum imgp_status imgp_render_encode(VipsImage *image, const struct imgp_variant *v,
                                    enum imgp_format format, void **buf, size_t *len, char *err);

/* render.c: whether JPEGs go through jpegdec.c (true but for measurements). */
extern bool imgp_render_direct_jpeg;

/*
 * jpegdec.c: a JPEG decoded with libjpeg at the smallest M/8 scale that
 * still covers want_w x want_h (as displayed under orientation), into a
 * memory image with its ICC profile and orientation set. 0, or -1 when
 * libvips' loader must do it (CMYK, 12-bit, any warning or error).
 */
int imgp_jpeg_decode(const void *buf, size_t len, int want_w, int want_h, int orientation,
                     VipsImage **out);

/* preview.c: the placeholder of a decoded sRGB image (its first frame of
 * frames stacked), into ph; the lock is held by the caller. Made from an
 * image at least PLACEHOLDER_FROM px wide where there is one. */
#define PLACEHOLDER_FROM 100
enum imgp_status imgp_render_placeholder(VipsImage *decoded, int frames,
                                         struct imgp_placeholder *ph, char *err);

/* strip.c: drop EXIF, XMP, IPTC and comments from saved bytes, in place. */
void imgp_strip_jpeg(unsigned char *buf, size_t *len);
void imgp_strip_webp(unsigned char *buf, size_t *len);

#endif
