/*
 * render.h: bytes in, encoded variants out. No I/O, no paths, no network.
 *
 * One source is probed (format sniffed from its bytes, limits checked from
 * its header), decoded once at the largest scale any variant needs, and
 * every variant is derived from that decode.
 */
#ifndef IMGP_RENDER_H
#define IMGP_RENDER_H

#include "config.h"

/* What the header says, before a pixel is decoded. */
struct imgp_probe {
	char format[16];        /* "jpeg", "png", "webp", "gif", "tiff", "heif" */
	int width, height;      /* as displayed: EXIF orientation applied */
	int frames;             /* 1 for stills */
	int orientation;        /* EXIF orientation 1-8 */
	bool alpha;             /* has an alpha band (may still be opaque) */
};

struct imgp_output {
	const struct imgp_variant *variant;
	enum imgp_format format;    /* resolved: never IMGP_FMT_AUTO */
	void *data;                 /* encoded bytes, owned by the result */
	size_t len;
	int width, height;          /* of one frame */
	int frames;
	double resize_ms, encode_ms;
};

/*
 * What a page shows while the image loads, made from the one decode
 * (cfg->placeholders): ThumbHash and BlurHash (placeholder.h), the average
 * colour, and a tiny image as a data: URI.
 */
struct imgp_placeholder {
	char thumbhash[64];         /* base64 of the hash bytes */
	char blurhash[180];
	char color[8];              /* "#rrggbb": the average, sRGB */
	char *data_uri;             /* "data:image/webp;base64,...", at most 1 KB; g_free */
	int data_width, data_height;
	double ms;                  /* what it cost */
};

struct imgp_render_result {
	struct imgp_probe probe;
	int decoded_width, decoded_height;  /* the one decode every variant came from */
	double probe_ms, decode_ms;
	struct imgp_output outputs[IMGP_MAX_VARIANTS];
	size_t noutputs;
	bool has_placeholder;
	struct imgp_placeholder placeholder;
};

/*
 * Start libvips for one-shot, untrusted work: every loader but the
 * allow-listed ones blocked, the operation cache off, `concurrency` worker
 * threads per pipeline (0: libvips' default). argv0 may be NULL. Call once.
 */
enum imgp_status imgp_render_init(const char *argv0, int concurrency, char *err);
void imgp_render_shutdown(void);

/* "libvips 8.14.1, keep" (metadata kept by the savers, 8.15 on) or "strip". */
const char *imgp_render_version(void);

/* The input formats a build may read. */
enum imgp_in {
	IMGP_IN_JPEG, IMGP_IN_PNG, IMGP_IN_WEBP, IMGP_IN_GIF, IMGP_IN_TIFF, IMGP_IN_HEIC,
	IMGP_IN_AVIF, IMGP_IN_COUNT
};

/*
 * Can this build really write format (auto: JPEG and WebP) / read in? Found
 * out once by doing it, through the savers as variants use them (caps.c).
 * imgp_render_check says why not.
 */
bool imgp_render_can_write(enum imgp_format format);
bool imgp_render_can_read(enum imgp_in in);
const char *imgp_render_in_name(enum imgp_in in);     /* "heic" */
/* "reads jpeg png webp gif tiff heic avif; writes jpeg webp png avif" */
const char *imgp_render_capabilities(void);

/* Say now, not at the first image, that a variant asks for a saver this
 * build lacks (AVIF without an AV1 encoder, for example). */
enum imgp_status imgp_render_check(const struct imgp_config *cfg, char *err);

/*
 * Do these first bytes of a file look like an image an allowed loader
 * reads? IMGP_OK, or IMGP_E_NOT_IMAGE / IMGP_E_UNSUPPORTED with what they
 * look like ("looks like a PDF document, not an image"). For planning:
 * a few KB are enough; the decode still decides.
 */
enum imgp_status imgp_render_sniff(const void *buf, size_t len, char *err);

/* A thread that rendered is about to end: let libvips free its buffers. */
void imgp_render_thread_done(void);

/* Sniff and read the header; limits checked. Decodes no pixels. */
enum imgp_status imgp_render_probe(const struct imgp_config *cfg,
                                   const void *buf, size_t len,
                                   struct imgp_probe *probe /* OUT */, char *err);

/* The format a variant will be written in, given the source's probe.
 * auto: JPEG for opaque sources, WebP for sources with alpha or kept
 * animation. best stays best (known once encoded) but for kept animation
 * (WebP). */
enum imgp_format imgp_render_format(const struct imgp_variant *v,
                                    const struct imgp_probe *probe);

/*
 * The formats a variant may be written in: one, but for best (opaque:
 * JPEG, WebP, AVIF; with alpha: WebP, PNG, AVIF; AVIF where this build
 * writes it) and, with probe NULL (the source not read yet), auto (JPEG,
 * WebP) and best (all of them).
 */
#define IMGP_MAX_CANDIDATES 4
size_t imgp_render_candidates(const struct imgp_variant *v, const struct imgp_probe *probe,
                              enum imgp_format out[IMGP_MAX_CANDIDATES]);

/* The size one variant of a source with this probe is written at (one
 * frame, as displayed), before any pixel is decoded. */
void imgp_render_size(const struct imgp_variant *v, const struct imgp_probe *probe,
                      int *width, int *height);

/*
 * Render every variant of cfg from one source. On success res holds one
 * output per variant, in cfg's order; release it with
 * imgp_render_result_release. On failure res holds nothing to release.
 */
enum imgp_status imgp_render(const struct imgp_config *cfg,
                             const void *buf, size_t len,
                             struct imgp_render_result *res /* OUT */, char *err);
void imgp_render_result_release(struct imgp_render_result *res);

/*
 * The same, encoding only the variants with want[i] (NULL: all); the
 * others hold no data. Every variant is planned and made from the same
 * decode and bases as in a render of the whole set, so the bytes of a
 * variant do not depend on which others are encoded with it.
 */
enum imgp_status imgp_render_some(const struct imgp_config *cfg, const bool *want,
                                  const void *buf, size_t len,
                                  struct imgp_render_result *res /* OUT */, char *err);

/*
 * What variant i of cfg is made from, for a source with this probe: the
 * decode's size and kind and the chain of bases (text, for a
 * fingerprint). Changes when another variant of the set moves the decode.
 */
#define IMGP_LINEAGE_SIZE 512
void imgp_render_lineage(const struct imgp_config *cfg, const struct imgp_probe *probe,
                         size_t i, char *text, size_t size);

#endif
