/*
 * config.h: what imgpipe is asked to make, and the limits it keeps.
 *
 * One struct, built from the variant spec (IMGPIPE_VARIANTS, --variants), a
 * JSON config file (IMGPIPE_CONFIG, --config) and the limit variables. The
 * parser is pure: it never touches libvips, so `imgp_render_check` is where
 * "this build has no AVIF encoder" is said.
 */
#ifndef IMGP_CONFIG_H
#define IMGP_CONFIG_H

#include "imgpipe.h"

#define IMGP_NAME_MAX 64
#define IMGP_MAX_VARIANTS 32
#define IMGP_MAX_DIMENSION 16383  /* WebP's own ceiling; also JPEG's 65,500 */

enum imgp_fit { IMGP_FIT_INSIDE, IMGP_FIT_COVER, IMGP_FIT_CONTAIN, IMGP_FIT_FILL };
enum imgp_format { IMGP_FMT_AUTO, IMGP_FMT_JPEG, IMGP_FMT_WEBP, IMGP_FMT_PNG, IMGP_FMT_AVIF };
enum imgp_crop { IMGP_CROP_CENTRE, IMGP_CROP_ATTENTION, IMGP_CROP_ENTROPY };

/* How strict decoding is, with sharp's meanings (libvips' VipsFailOn). */
enum imgp_fail_on { IMGP_FAIL_NONE, IMGP_FAIL_TRUNCATED, IMGP_FAIL_ERROR, IMGP_FAIL_WARNING };

struct imgp_variant {
	char name[IMGP_NAME_MAX];   /* [A-Za-z0-9_-]+: used in paths and keys */
	int width, height;          /* 0: that side is unbounded */
	enum imgp_fit fit;
	enum imgp_format format;
	int q;                      /* 1-100 */
	int effort;                 /* -1: the saver's default */
	int compression;            /* PNG zlib level 0-9 */
	enum imgp_crop crop;
	unsigned char bg[3];        /* flatten and letterbox colour */
	bool lossless, progressive, enlarge, strip, anim_keep, palette;
};

struct imgp_limits {
	uint64_t max_pixels;        /* per frame; summed over frames when kept */
	uint64_t max_bytes;         /* source size */
	int max_frames;             /* frames kept with anim=keep */
	enum imgp_fail_on fail_on;
};

struct imgp_config {
	struct imgp_variant variants[IMGP_MAX_VARIANTS];
	size_t nvariants;
	struct imgp_limits limits;
};

#define IMGP_DEFAULT_VARIANTS "small=320x320;medium=800x800;large=1600x1600"
#define IMGP_DEFAULT_MAX_PIXELS 100000000ULL
#define IMGP_DEFAULT_MAX_BYTES (64ULL * 1024 * 1024)
#define IMGP_DEFAULT_MAX_FRAMES 100

/* Defaults: the standard web set, default limits. Cannot fail. */
void imgp_config_init(struct imgp_config *cfg);

/*
 * Replace cfg's variants with those of a spec such as
 * "thumb=320x320,fit=cover;medium=800x,format=webp,q=75". On failure cfg's
 * variants are unchanged and err names the variant and the option.
 */
enum imgp_status imgp_config_parse_spec(struct imgp_config *cfg,
                                        const char *spec, char *err);

/* Load a JSON config file (variants and limits); see README for keys. */
enum imgp_status imgp_config_load_file(struct imgp_config *cfg,
                                       const char *path, char *err);
/* The same from a JSON document in memory; origin names it in errors. */
enum imgp_status imgp_config_load_json(struct imgp_config *cfg,
                                       const char *json, size_t len,
                                       const char *origin, char *err);

/*
 * Apply the environment: IMGPIPE_CONFIG, then IMGPIPE_VARIANTS, then
 * IMGPIPE_MAX_PIXELS, IMGPIPE_MAX_BYTES, IMGPIPE_MAX_FRAMES, IMGPIPE_FAIL_ON.
 */
enum imgp_status imgp_config_from_env(struct imgp_config *cfg, char *err);

/* Set one limit by name ("max_pixels", ...) from text; origin for errors. */
enum imgp_status imgp_config_set_limit(struct imgp_config *cfg,
                                       const char *name, const char *value,
                                       const char *origin, char *err);

const char *imgp_format_name(enum imgp_format format);   /* "jpeg" */
const char *imgp_format_ext(enum imgp_format format);    /* "jpg" */
const char *imgp_format_mime(enum imgp_format format);   /* "image/jpeg" */
const char *imgp_fit_name(enum imgp_fit fit);

#endif
