/*
 * config.h: what imgpipe is asked to make, the limits it keeps, and where
 * it writes.
 *
 * struct imgp_config is what render needs: built from the variant spec
 * (IMGPIPE_VARIANTS, --variants), a JSON config file (IMGPIPE_CONFIG,
 * --config) and the limit variables. struct imgp_job_config adds what the
 * job needs (destination, output key template, the trigger's key space).
 * This is the one module that reads imgpipe's environment variables; the
 * others are handed structs. The parser is pure: it never touches libvips,
 * so `imgp_render_check` is where "this build has no AVIF encoder" is said.
 */
#ifndef IMGP_CONFIG_H
#define IMGP_CONFIG_H

#include "imgpipe.h"

#define IMGP_NAME_MAX 64
#define IMGP_MAX_VARIANTS 32
#define IMGP_MAX_DIMENSION 16383  /* WebP's own ceiling; also JPEG's 65,500 */

enum imgp_fit { IMGP_FIT_INSIDE, IMGP_FIT_COVER, IMGP_FIT_CONTAIN, IMGP_FIT_FILL };
/* best: every candidate encoded (opaque: JPEG, WebP, AVIF; with alpha:
 * WebP, PNG, AVIF; AVIF where the build writes it), the smallest kept */
enum imgp_format { IMGP_FMT_AUTO, IMGP_FMT_JPEG, IMGP_FMT_WEBP, IMGP_FMT_PNG, IMGP_FMT_AVIF,
                   IMGP_FMT_BEST };
enum imgp_crop { IMGP_CROP_CENTRE, IMGP_CROP_ATTENTION, IMGP_CROP_ENTROPY };
/* Chroma subsampling (JPEG, AVIF): the format's default; libvips' rule
 * (4:4:4 from q90); always 4:2:0; never. */
enum imgp_chroma { IMGP_CHROMA_DEFAULT, IMGP_CHROMA_AUTO, IMGP_CHROMA_420, IMGP_CHROMA_444 };
/* The AV1 encoder libheif drives for AVIF (whichever its plugins offer). */
enum imgp_encoder { IMGP_ENCODER_AUTO, IMGP_ENCODER_AOM, IMGP_ENCODER_SVT, IMGP_ENCODER_RAV1E };

/*
 * What a variant gets for q, effort and chroma when it names none, per
 * format. JPEG and WebP at q80, as sharp and libvips; AVIF from the front
 * bench/run.py --front measures (bytes, butteraugli, CPU per setting; the
 * table and the reasons are in README, "AVIF"). The one place these live:
 * --help, docs/variants.md and the bench are checked against them.
 */
#define IMGP_DEFAULT_Q 80               /* JPEG, WebP, PNG with palette */
#define IMGP_STR_(x) #x
#define IMGP_STR(x) IMGP_STR_(x)        /* a number macro as text, for --help */
#define IMGP_AVIF_DEFAULT_Q 55
#define IMGP_AVIF_DEFAULT_EFFORT 3
#define IMGP_AVIF_DEFAULT_CHROMA IMGP_CHROMA_AUTO

/* How strict decoding is, with sharp's meanings (libvips' VipsFailOn). */
enum imgp_fail_on { IMGP_FAIL_NONE, IMGP_FAIL_TRUNCATED, IMGP_FAIL_ERROR, IMGP_FAIL_WARNING };

struct imgp_variant {
	char name[IMGP_NAME_MAX];   /* [A-Za-z0-9_-]+: used in paths and keys */
	int width, height;          /* 0: that side is unbounded */
	enum imgp_fit fit;
	enum imgp_format format;
	int q;                      /* 1-100; -1: the format's (imgp_variant_q) */
	int effort;                 /* -1: the format's default */
	int compression;            /* PNG zlib level 0-9 */
	enum imgp_crop crop;
	unsigned char bg[3];        /* flatten and letterbox colour */
	int enlarge;                /* -1: by fit (cover, contain, fill: yes;
	                               inside: no), else 0 or 1 as asked */
	bool lossless, progressive, strip, anim_keep, palette;
	enum imgp_chroma chroma;
	enum imgp_encoder encoder;
	/* format=avif+webp+jpeg: one variant each, with the same name; keys
	 * tell them apart by {ext}. */
	enum imgp_format also[4];   /* while parsing: the formats after the first */
	int nalso;
};

/*
 * Bump when render's bytes change for the same settings (a new resampler,
 * a changed default): every variant's fingerprint changes with it, so a
 * reprocess renders again instead of calling old outputs current.
 */
#define IMGP_RENDER_VERSION "2"

/* Hex digits of a fingerprint, and its size with the NUL. */
#define IMGP_FP_SIZE 17

/* Does this variant enlarge a source smaller than its box? */
bool imgp_variant_enlarges(const struct imgp_variant *v);

/* q, effort (-1: the saver's own) and chroma as encoded into format f. */
int imgp_variant_q(const struct imgp_variant *v, enum imgp_format f);
int imgp_variant_effort(const struct imgp_variant *v, enum imgp_format f);
enum imgp_chroma imgp_variant_chroma(const struct imgp_variant *v, enum imgp_format f);
const char *imgp_chroma_name(enum imgp_chroma chroma);
const char *imgp_encoder_name(enum imgp_encoder encoder);

/*
 * A fingerprint of everything that shapes a variant's bytes: its box and
 * every resolved option, and IMGP_RENDER_VERSION (not its name, which
 * shapes the key). Equal fingerprints, equal settings.
 */
void imgp_variant_fingerprint(const struct imgp_variant *v, char out[IMGP_FP_SIZE]);

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
	bool placeholders;          /* render the source's placeholder too (manifest) */
};

/* A fingerprint of any text: the first 16 hex digits of its SHA-256. */
void imgp_fingerprint_text(const char *text, char out[IMGP_FP_SIZE]);

/* The fingerprint of a whole set: every variant's name and fingerprint. */
void imgp_config_fingerprint(const struct imgp_config *cfg, char out[IMGP_FP_SIZE]);

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
 * Apply the environment: the config file (config_file, else
 * IMGPIPE_CONFIG), then IMGPIPE_VARIANTS, then IMGPIPE_MAX_PIXELS,
 * IMGPIPE_MAX_BYTES, IMGPIPE_MAX_FRAMES, IMGPIPE_FAIL_ON: later sources win.
 */
enum imgp_status imgp_config_from_env(struct imgp_config *cfg, const char *config_file,
                                      char *err);

/* How a limit is raised, for messages: "max_pixels" -> "IMGPIPE_MAX_PIXELS,
 * limits.max_pixels in the config file, or imgpipe resize --max-pixels". */
const char *imgp_limit_hint(const char *limit);

#define IMGP_DEFAULT_CACHE_CONTROL "public, max-age=31536000, immutable"

/* Everything the job and the front ends read from the environment. */
struct imgp_job_config {
	struct imgp_config render;
	char *store;                /* IMGPIPE_STORE; NULL: S3 */
	char *dest_bucket;          /* IMGPIPE_DEST_BUCKET; NULL: not set */
	char *dest_prefix;          /* IMGPIPE_DEST_PREFIX; "" */
	char *output_key;           /* IMGPIPE_OUTPUT_KEY; see naming.h */
	char *manifest_key;         /* IMGPIPE_MANIFEST_KEY; "": no manifest */
	char *cache_control;        /* IMGPIPE_CACHE_CONTROL */
	char *source_bucket;        /* IMGPIPE_SOURCE_BUCKET: the trigger's bucket */
	char *source_prefix;        /* IMGPIPE_SOURCE_PREFIX: its key space, "" all */
	char *metrics_namespace;    /* IMGPIPE_METRICS_NAMESPACE */
	bool delete_on_remove;      /* IMGPIPE_ON_DELETE=delete */
	bool force;                 /* render even what the stamps call current */
	long deadline_reserve_ms;   /* IMGPIPE_DEADLINE_RESERVE_MS */
	long max_invocations;       /* IMGPIPE_MAX_INVOCATIONS (imgpipe lambda) */
	int memory_mb;              /* AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0 unknown */
};

/*
 * Everything above from the environment, each value checked (the
 * template too). config_file, when not NULL, is read instead of
 * IMGPIPE_CONFIG (imgpipe resize --config). On failure jc holds nothing
 * to release.
 */
enum imgp_status imgp_job_config_from_env(struct imgp_job_config *jc, const char *config_file,
                                          char *err);

/*
 * What a command line says instead of the environment (imgpipe resize):
 * applied in place of the variable it overrides, before anything is
 * checked, so a bad IMGPIPE_VARIANTS does not stop --variants. NULL: not
 * given. A bad flag's message names the flag.
 */
struct imgp_flags {
	const char *config_file;    /* --config, for IMGPIPE_CONFIG */
	const char *spec;           /* --variants, for IMGPIPE_VARIANTS */
	const char *output_key;     /* --output-key, for IMGPIPE_OUTPUT_KEY */
	const char *limits[4];      /* --max-pixels, --max-bytes, --max-frames, --fail-on */
};

enum imgp_status imgp_job_config_load(struct imgp_job_config *jc, const struct imgp_flags *flags,
                                      char *err);

/*
 * For the trigger front ends (lambda, invoke, serve): refuse a destination
 * inside the trigger's key space, and a configuration that cannot work
 * (delete on remove with a template that needs the written size). Says
 * how to fix it.
 */
enum imgp_status imgp_job_config_check_trigger(const struct imgp_job_config *jc, char *err);

/* Replace one string setting (dest_bucket, ...) with a copy of value. */
enum imgp_status imgp_job_config_set(char **field, const char *value, char *err);
void imgp_job_config_release(struct imgp_job_config *jc);

/* Set one limit by name ("max_pixels", ...) from text; origin for errors. */
enum imgp_status imgp_config_set_limit(struct imgp_config *cfg,
                                       const char *name, const char *value,
                                       const char *origin, char *err);

const char *imgp_format_name(enum imgp_format format);   /* "jpeg" */
const char *imgp_format_ext(enum imgp_format format);    /* "jpg" */
const char *imgp_format_mime(enum imgp_format format);   /* "image/jpeg" */

/*
 * imgpipe serve's settings: the environment (PORT, IMGPIPE_LISTEN,
 * IMGPIPE_SERVE_*), then its flags over it. A bad value says where it came
 * from: "IMGPIPE_SERVE_TIMEOUT=x is not a number from 1 to 3600" or
 * "--timeout x is ...".
 */
#define IMGP_SERVE_DEFAULT_PORT 8080
#define IMGP_SERVE_DEFAULT_TIMEOUT_S 60
#define IMGP_SERVE_DEFAULT_GRACE_S 8        /* Cloud Run kills 10 s after SIGTERM */
#define IMGP_SERVE_DEFAULT_MAX_BODY (1L << 20) /* events are a few KB */

struct imgp_serve_config {
	char listen[64];
	long port;
	long concurrency;           /* events at work at once (default: the CPUs) */
	long timeout_s;
	long grace_s;
	long max_body;
	char *token;                /* IMGPIPE_SERVE_TOKEN; NULL: no check; never a flag */
	bool functions;             /* an Azure Functions custom handler
	                             * (FUNCTIONS_CUSTOMHANDLER_PORT): POST /NAME too */
};

enum imgp_status imgp_serve_config_from_env(struct imgp_serve_config *sc, char *err);
/* One flag over it: "listen", "port", "concurrency", "timeout", "grace", "max-body". */
enum imgp_status imgp_serve_config_set(struct imgp_serve_config *sc, const char *flag,
                                       const char *value, char *err);
void imgp_serve_config_release(struct imgp_serve_config *sc);

#endif
