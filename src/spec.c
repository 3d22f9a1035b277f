/*
 * spec.c: the variant spec grammar, the variants' names and fingerprints,
 * and the limits.
 *
 * Pure: no libvips, no I/O. Every error names the variant and the option,
 * because the person reading it typed them into an environment variable
 * somewhere and needs to find which one.
 *
 *   spec    := variant (";" variant)*
 *   variant := NAME "=" SIZE ("," KEY "=" VALUE)*
 *   SIZE    := W "x" H | W "x" | "x" H
 */
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const format_names[] = { "auto", "jpeg", "webp", "png", "avif", "best" };
static const char *const format_exts[] = { "", "jpg", "webp", "png", "avif", "" };
static const char *const format_mimes[] = { "", "image/jpeg", "image/webp",
                                            "image/png", "image/avif", "" };
static const char *const fit_names[] = { "inside", "cover", "contain", "fill" };
static const char *const crop_names[] = { "centre", "attention", "entropy" };
static const char *const fail_names[] = { "none", "truncated", "error", "warning" };
static const char *const chroma_names[] = { "default", "auto", "420", "444" };
static const char *const encoder_names[] = { "auto", "aom", "svt", "rav1e" };

const char *imgp_format_name(enum imgp_format format) { return format_names[format]; }
const char *imgp_format_ext(enum imgp_format format) { return format_exts[format]; }
const char *imgp_format_mime(enum imgp_format format) { return format_mimes[format]; }
const char *imgp_chroma_name(enum imgp_chroma chroma) { return chroma_names[chroma]; }
const char *imgp_encoder_name(enum imgp_encoder encoder) { return encoder_names[encoder]; }

int imgp_variant_q(const struct imgp_variant *v, enum imgp_format f)
{
	if(v->q > 0)
		return v->q;
	return f == IMGP_FMT_AVIF ? IMGP_AVIF_DEFAULT_Q : IMGP_DEFAULT_Q;
}

int imgp_variant_effort(const struct imgp_variant *v, enum imgp_format f)
{
	if(v->effort >= 0)
		return v->effort;
	return f == IMGP_FMT_AVIF ? IMGP_AVIF_DEFAULT_EFFORT : -1;
}

enum imgp_chroma imgp_variant_chroma(const struct imgp_variant *v, enum imgp_format f)
{
	if(v->chroma != IMGP_CHROMA_DEFAULT)
		return v->chroma;
	return f == IMGP_FMT_AVIF ? IMGP_AVIF_DEFAULT_CHROMA : IMGP_CHROMA_AUTO;
}

void imgp_spec_variant_init(struct imgp_variant *v)
{
	memset(v, 0, sizeof(*v));
	v->fit = IMGP_FIT_INSIDE;
	v->format = IMGP_FMT_AUTO;
	v->q = -1;
	v->effort = -1;
	v->compression = 6;
	v->crop = IMGP_CROP_CENTRE;
	v->bg[0] = v->bg[1] = v->bg[2] = 255;
	v->enlarge = -1;
	v->strip = true;
}

bool imgp_variant_enlarges(const struct imgp_variant *v)
{
	/* cover, contain and fill exist to produce the box: they enlarge
	 * unless told not to, as sharp and vipsthumbnail do; inside keeps a
	 * small source small */
	if(v->enlarge >= 0)
		return v->enlarge;
	return v->fit != IMGP_FIT_INSIDE && v->width && v->height;
}

/* The first 64 bits of SHA-256 of text, as 16 hex digits. */
void imgp_fingerprint_text(const char *text, char out[IMGP_FP_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if(!EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) || n < 8)
		memset(md, 0, 8);
	for(int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void imgp_variant_fingerprint(const struct imgp_variant *v, char out[IMGP_FP_SIZE])
{
	char text[512];

	int n;
	bool avif = v->format == IMGP_FMT_AVIF || v->format == IMGP_FMT_BEST;

	/*
	 * q as the JPEG, WebP or PNG encoder gets it (so a variant that never
	 * named q keeps the fingerprint it had when every format defaulted to
	 * 80); AVIF's resolved settings after, where AVIF can be written, so
	 * a change of AVIF's defaults renders AVIFs again and nothing else.
	 */
	n = snprintf(text, sizeof(text),
	         "render=%s;size=%dx%d;fit=%s;format=%s;q=%d;effort=%d;compression=%d;"
	         "crop=%s;bg=%02x%02x%02x;enlarge=%d;lossless=%d;progressive=%d;"
	         "strip=%d;anim=%d;palette=%d",
	         IMGP_RENDER_VERSION, v->width, v->height, fit_names[v->fit],
	         format_names[v->format],
	         imgp_variant_q(v, v->format == IMGP_FMT_AVIF ? IMGP_FMT_AVIF : IMGP_FMT_JPEG),
	         v->effort, v->compression,
	         crop_names[v->crop], v->bg[0], v->bg[1], v->bg[2],
	         imgp_variant_enlarges(v), v->lossless, v->progressive, v->strip,
	         v->anim_keep, v->palette);
	if(avif && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, ";avif=q%d,effort%d,chroma%s,%s",
		              imgp_variant_q(v, IMGP_FMT_AVIF), imgp_variant_effort(v, IMGP_FMT_AVIF),
		              chroma_names[imgp_variant_chroma(v, IMGP_FMT_AVIF)],
		              encoder_names[v->encoder]);
	else if(v->chroma != IMGP_CHROMA_DEFAULT && n > 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, ";chroma=%s", chroma_names[v->chroma]);
	imgp_fingerprint_text(text, out);
}

void imgp_config_fingerprint(const struct imgp_config *cfg, char out[IMGP_FP_SIZE])
{
	char text[IMGP_MAX_VARIANTS * (IMGP_NAME_MAX + IMGP_FP_SIZE + 2) + 1];
	size_t n = 0;

	text[0] = '\0';
	for(size_t i = 0; i < cfg->nvariants; i++) {
		char fp[IMGP_FP_SIZE];

		imgp_variant_fingerprint(&cfg->variants[i], fp);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s:%s;",
		                      cfg->variants[i].name, fp);
	}
	imgp_fingerprint_text(text, out);
}

void imgp_config_init(struct imgp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->limits.max_pixels = IMGP_DEFAULT_MAX_PIXELS;
	cfg->limits.max_bytes = IMGP_DEFAULT_MAX_BYTES;
	cfg->limits.max_frames = IMGP_DEFAULT_MAX_FRAMES;
	cfg->limits.fail_on = IMGP_FAIL_WARNING;
	/* the default spec is known good; an error here is a bug caught by tests */
	(void)imgp_config_parse_spec(cfg, IMGP_DEFAULT_VARIANTS, NULL);
}

/* Index of value in names, or -1. Case-insensitive. */
static int lookup(const char *value, const char *const *names, size_t n)
{
	for(size_t i = 0; i < n; i++)
		if(!strcasecmp(value, names[i]))
			return (int)i;
	return -1;
}

static int parse_bool(const char *value)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };

	if(lookup(value, yes, 4) >= 0)
		return 1;
	if(lookup(value, no, 4) >= 0)
		return 0;
	return -1;
}

/* A whole decimal number in [lo, hi]; false if not. */
bool imgp_config_parse_int(const char *value, long long lo, long long hi, long long *out)
{
	char *end;
	long long n;

	if(!*value || isspace((unsigned char)*value))
		return false;
	errno = 0;
	n = strtoll(value, &end, 10);
	if(errno || *end || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

/* "#rrggbb", "rrggbb", "#rgb", "white", "black". */
static bool parse_colour(const char *value, unsigned char rgb[3])
{
	const char *p = value[0] == '#' ? value + 1 : value;
	size_t len = strlen(p);

	if(!strcasecmp(value, "white")) {
		rgb[0] = rgb[1] = rgb[2] = 255;
		return true;
	}
	if(!strcasecmp(value, "black")) {
		rgb[0] = rgb[1] = rgb[2] = 0;
		return true;
	}
	if(len != 3 && len != 6)
		return false;
	for(size_t i = 0; i < len; i++)
		if(imgp_hexval(p[i]) < 0)
			return false;
	for(int i = 0; i < 3; i++) {
		if(len == 6)
			rgb[i] = (unsigned char)(imgp_hexval(p[2 * i]) * 16 + imgp_hexval(p[2 * i + 1]));
		else
			rgb[i] = (unsigned char)(imgp_hexval(p[i]) * 17);
	}
	return true;
}

/* Edits (insert, delete, change, swap two) from a to b, up to 3. */
static int edits(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[16][16];

	if(la > 14 || lb > 14)
		return 3;
	for(size_t i = 0; i <= la; i++)
		for(size_t j = 0; j <= lb; j++) {
			int best;

			if(!i || !j) {
				d[i][j] = (int)(i + j);
				continue;
			}
			best = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
			                          tolower((unsigned char)b[j - 1]));
			if(d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if(d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if(i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			   d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb] > 3 ? 3 : d[la][lb];
}

/* The option a misspelt name most likely meant (at most two edits), or NULL. */
static const char *nearest_option(const char *key)
{
	static const char *const names[] = { "fit", "format", "q", "effort", "lossless",
		"progressive", "enlarge", "crop", "bg", "strip", "anim", "compression", "palette",
		"quality", "chroma", "encoder" };
	const char *best = NULL;
	int least = 3;

	for(size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = edits(key, names[i]);

		/* one-letter names are too near everything to guess */
		if(n < least && (strlen(names[i]) > 2 || n == 0)) {
			least = n;
			best = !strcmp(names[i], "quality") ? "q" : names[i];
		}
	}
	return best;
}

/*
 * Set one option of one variant from text. Both the spec and the JSON file
 * come through here, so they accept the same values and say the same errors.
 */
enum imgp_status imgp_spec_set_option(struct imgp_variant *v, const char *key,
                                   const char *value, char *err)
{
	long long n;
	int b, i;

#define BAD(range) imgp_fail(err, IMGP_E_CONFIG, \
		"variant \"%s\": %s=%s is not one of %s", v->name, key, value, range)
#define BOOL_OPTION(field) do { \
		if((b = parse_bool(value)) < 0) return BAD("yes, no"); \
		v->field = b; return IMGP_OK; } while(0)

	if(!strcmp(key, "fit")) {
		if((i = lookup(value, fit_names, 4)) < 0)
			return BAD("inside, cover, contain, fill");
		v->fit = (enum imgp_fit)i;
	}
	else if(!strcmp(key, "format")) {
		char copy[64], *part, *save = NULL;
		int nf = 0;

		snprintf(copy, sizeof(copy), "%s", value);
		v->nalso = 0;
		/* format=avif+webp+jpeg: one output each (expand_formats) */
		for(part = strtok_r(copy, "+", &save); part; part = strtok_r(NULL, "+", &save), nf++) {
			enum imgp_format f;

			if(!strcasecmp(part, "jpg"))
				part = (char *)"jpeg";
			if((i = lookup(part, format_names, 6)) < 0)
				return BAD("jpeg, webp, png, avif, auto, best, or several joined by +"
				           " (avif+webp+jpeg)");
			f = (enum imgp_format)i;
			if(strchr(value, '+') && (f == IMGP_FMT_AUTO || f == IMGP_FMT_BEST))
				return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\": format=%s: %s cannot "
					"be one of several formats", v->name, value, format_names[f]);
			if(nf > 4)
				return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\": format=%s: at "
					"most 4 formats", v->name, value);
			if(f == v->format && nf)
				return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\": format=%s names "
					"%s twice", v->name, value, format_names[f]);
			for(int k = 0; k < v->nalso; k++)
				if(v->also[k] == f)
					return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\": format=%s "
						"names %s twice", v->name, value, format_names[f]);
			if(!nf)
				v->format = f;
			else
				v->also[v->nalso++] = f;
		}
		if(!nf)
			return BAD("jpeg, webp, png, avif, auto, best");
	}
	else if(!strcmp(key, "q") || !strcmp(key, "quality")) {
		if(!imgp_config_parse_int(value, 1, 100, &n))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": %s=%s is out of range 1-100", v->name, key, value);
		v->q = (int)n;
	}
	else if(!strcmp(key, "effort")) {
		/* the range depends on the format: checked in check_variant */
		if(!imgp_config_parse_int(value, 0, 9, &n))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": effort=%s is out of range 0-9", v->name, value);
		v->effort = (int)n;
	}
	else if(!strcmp(key, "compression")) {
		if(!imgp_config_parse_int(value, 0, 9, &n))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": compression=%s is out of range 0-9", v->name, value);
		v->compression = (int)n;
	}
	else if(!strcmp(key, "crop")) {
		if(!strcasecmp(value, "center"))
			value = "centre";
		if((i = lookup(value, crop_names, 3)) < 0)
			return BAD("centre, attention, entropy");
		v->crop = (enum imgp_crop)i;
	}
	else if(!strcmp(key, "bg")) {
		if(!parse_colour(value, v->bg))
			return BAD("#rrggbb, #rgb, white, black");
	}
	else if(!strcmp(key, "anim")) {
		if(!strcasecmp(value, "keep"))
			v->anim_keep = true;
		else if(!strcasecmp(value, "first"))
			v->anim_keep = false;
		else
			return BAD("first, keep");
	}
	else if(!strcmp(key, "chroma")) {
		if(!strcmp(value, "4:2:0"))
			value = "420";
		else if(!strcmp(value, "4:4:4"))
			value = "444";
		/* "default" is the unset state, not a value to ask for */
		if((i = lookup(value, chroma_names, 4)) <= 0)
			return BAD("auto, 420, 444");
		v->chroma = (enum imgp_chroma)i;
	}
	else if(!strcmp(key, "encoder")) {
		if((i = lookup(value, encoder_names, 4)) < 0)
			return BAD("auto, aom, svt, rav1e");
		v->encoder = (enum imgp_encoder)i;
	}
	else if(!strcmp(key, "lossless")) BOOL_OPTION(lossless);
	else if(!strcmp(key, "progressive")) BOOL_OPTION(progressive);
	else if(!strcmp(key, "enlarge")) {
		if((b = parse_bool(value)) < 0)
			return BAD("yes, no");
		v->enlarge = b;
	}
	else if(!strcmp(key, "strip")) BOOL_OPTION(strip);
	else if(!strcmp(key, "palette")) BOOL_OPTION(palette);
	else {
		const char *near = nearest_option(key);

		return near ? imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\": unknown option \"%s\": did you mean %s? (known: "
			OPTION_NAMES ")", v->name, key, near) :
			imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\": unknown option \"%s\" (known: " OPTION_NAMES ")",
			v->name, key);
	}
	return IMGP_OK;
#undef BAD
#undef BOOL_OPTION
}

/* "800x600", "800x", "x600". */
enum imgp_status imgp_spec_parse_size(struct imgp_variant *v, const char *size, char *err)
{
	const char *x = strchr(size, 'x');
	char wtext[16] = "", htext[16] = "";
	long long w = 0, h = 0;

	if(strpbrk(size, " =\t"))
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\": size \"%s\" holds options: put ',' between the size and "
			"each option (e.g. 320x320,fit=cover)", v->name, size);
	if(!x || strchr(x + 1, 'x') || (size_t)(x - size) >= sizeof(wtext) ||
	   strlen(x + 1) >= sizeof(htext))
		goto bad;
	memcpy(wtext, size, (size_t)(x - size));
	strcpy(htext, x + 1);
	if(!*wtext && !*htext)
		goto bad;
	if((*wtext && !imgp_config_parse_int(wtext, 1, IMGP_MAX_DIMENSION, &w)) ||
	   (*htext && !imgp_config_parse_int(htext, 1, IMGP_MAX_DIMENSION, &h)))
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\": size %s is out of range 1-%d per side",
			v->name, size, IMGP_MAX_DIMENSION);
	v->width = (int)w;
	v->height = (int)h;
	return IMGP_OK;
bad:
	return imgp_fail(err, IMGP_E_CONFIG,
		"variant \"%s\": size \"%s\" is not WxH, Wx or xH (e.g. 800x600)",
		v->name, size);
}

enum imgp_status imgp_spec_set_name(struct imgp_variant *v, const char *name, char *err)
{
	size_t len = strlen(name);

	if(!len || len >= IMGP_NAME_MAX)
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant name \"%s\" must be 1-%d characters", name, IMGP_NAME_MAX - 1);
	for(size_t i = 0; i < len; i++)
		if(!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant name \"%s\" may only hold letters, digits, '_' and '-'", name);
	memcpy(v->name, name, len + 1);
	return IMGP_OK;
}

/* Rules across options, after all of them are known. */
enum imgp_status imgp_spec_check_variant(const struct imgp_variant *v, char *err)
{
	if(v->crop != IMGP_CROP_CENTRE && v->fit != IMGP_FIT_COVER)
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\": crop=%s needs fit=cover", v->name, crop_names[v->crop]);
	for(int k = -1; k < v->nalso; k++) {
		enum imgp_format f = k < 0 ? v->format : v->also[k];

		if(v->effort > 6 && f == IMGP_FMT_WEBP)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": effort=%d is out of range 0-6 for webp", v->name, v->effort);
		if(v->lossless && f != IMGP_FMT_WEBP && f != IMGP_FMT_AVIF)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": lossless=yes needs format=webp or avif, not %s",
				v->name, format_names[f]);
		if(v->chroma != IMGP_CHROMA_DEFAULT && v->chroma != IMGP_CHROMA_AUTO &&
		   (f == IMGP_FMT_WEBP || f == IMGP_FMT_PNG))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": chroma=%s needs format=jpeg or avif, not %s (lossy WebP "
				"is always 4:2:0)", v->name, chroma_names[v->chroma], format_names[f]);
		/* libheif's SVT-AV1 plugin writes 4:2:0 whatever it is asked (measured:
		 * the same bytes for 444 as for 420) */
		if(v->encoder == IMGP_ENCODER_SVT && v->chroma == IMGP_CHROMA_444)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": encoder=svt writes 4:2:0 only, not chroma=444", v->name);
		if(v->encoder != IMGP_ENCODER_AUTO && f != IMGP_FMT_AVIF && f != IMGP_FMT_BEST)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": encoder=%s needs format=avif, not %s",
				v->name, encoder_names[v->encoder], format_names[f]);
		if(v->anim_keep && f != IMGP_FMT_WEBP && f != IMGP_FMT_AUTO)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": anim=keep needs format=webp or auto, not %s",
				v->name, format_names[f]);
	}
	return IMGP_OK;
}

/*
 * One spec entry with several formats becomes one variant per format, in
 * the order given, all with its name. vs holds
 * *n variants with room for IMGP_MAX_VARIANTS; the entry just parsed is
 * the last.
 */
enum imgp_status imgp_spec_expand_formats(struct imgp_variant *vs, size_t *n, char *err)
{
	struct imgp_variant *v = &vs[*n - 1];
	int nalso = v->nalso;

	v->nalso = 0;
	if(*n + (size_t)nalso > IMGP_MAX_VARIANTS)
		return imgp_fail(err, IMGP_E_CONFIG, "too many variants (at most %d, counting "
			"each format of format=a+b)", IMGP_MAX_VARIANTS);
	for(int k = 0; k < nalso; k++) {
		vs[*n] = *v;
		vs[*n].format = v->also[k];
		(*n)++;
	}
	return IMGP_OK;
}

/* Trim spaces at both ends, in place. */
static char *trim(char *s)
{
	char *end;

	while(isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while(end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Is name used by a variant parsed before? */
bool imgp_spec_name_taken(const struct imgp_variant *vs, size_t n, const char *name)
{
	for(size_t i = 0; i < n; i++)
		if(!strcmp(vs[i].name, name))
			return true;
	return false;
}

/* Parse one "NAME=SIZE,k=v,..." into v. text is modified. */
static enum imgp_status parse_variant(struct imgp_variant *v, char *text, char *err)
{
	enum imgp_status result;
	char *eq, *opt, *save = NULL;

	imgp_spec_variant_init(v);
	eq = strchr(text, '=');
	if(!eq)
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\" has no size: write NAME=WxH, e.g. thumb=320x320", trim(text));
	*eq = '\0';
	result = imgp_spec_set_name(v, trim(text), err);
	if(result)
		return result;
	opt = strtok_r(eq + 1, ",", &save);
	if(!opt || !*trim(opt))
		return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\" has no size", v->name);
	result = imgp_spec_parse_size(v, trim(opt), err);
	if(result)
		return result;
	while((opt = strtok_r(NULL, ",", &save))) {
		char *val = strchr(opt, '=');

		if(!val)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": option \"%s\" has no value (write key=value)",
				v->name, trim(opt));
		*val++ = '\0';
		result = imgp_spec_set_option(v, trim(opt), trim(val), err);
		if(result)
			return result;
	}
	return imgp_spec_check_variant(v, err);
}

enum imgp_status imgp_config_parse_spec(struct imgp_config *cfg,
                                        const char *spec, char *err)
{
	enum imgp_status result = IMGP_OK;
	struct imgp_variant *parsed;
	char *copy, *item, *save = NULL;
	size_t n = 0;

	copy = imgp_strdup(spec);
	parsed = imgp_calloc(IMGP_MAX_VARIANTS, sizeof(*parsed));
	if(!copy || !parsed) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory parsing the variant spec");
		goto out;
	}
	for(item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		if(!*trim(item))
			continue;               /* tolerate "a=1x1;" and ";;" */
		if(n == IMGP_MAX_VARIANTS) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"too many variants (at most %d)", IMGP_MAX_VARIANTS);
			goto out;
		}
		result = parse_variant(&parsed[n], item, err);
		if(result)
			goto out;
		if(imgp_spec_name_taken(parsed, n, parsed[n].name)) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\" is defined twice", parsed[n].name);
			goto out;
		}
		n++;
		if((result = imgp_spec_expand_formats(parsed, &n, err)))
			goto out;
	}
	if(!n) {
		result = imgp_fail(err, IMGP_E_CONFIG,
			"the variant spec is empty: write e.g. thumb=320x320;large=1600x");
		goto out;
	}
	memcpy(cfg->variants, parsed, n * sizeof(*parsed));
	cfg->nvariants = n;
out:
	imgp_free(parsed);
	imgp_free(copy);
	return result;
}

enum imgp_status imgp_config_set_limit(struct imgp_config *cfg,
                                       const char *name, const char *value,
                                       const char *origin, char *err)
{
	long long n;
	int i;

	if(!strcmp(name, "fail_on")) {
		if((i = lookup(value, fail_names, 4)) < 0)
			return imgp_fail(err, IMGP_E_CONFIG,
				"%s: fail_on=%s is not one of none, truncated, error, warning",
				origin, value);
		cfg->limits.fail_on = (enum imgp_fail_on)i;
		return IMGP_OK;
	}
	if(!imgp_config_parse_int(value, 1, INT64_MAX, &n))
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: %s=%s is not a positive whole number", origin, name, value);
	if(!strcmp(name, "max_pixels"))
		cfg->limits.max_pixels = (uint64_t)n;
	else if(!strcmp(name, "max_bytes"))
		cfg->limits.max_bytes = (uint64_t)n;
	else if(!strcmp(name, "max_frames")) {
		if(n > 100000)
			return imgp_fail(err, IMGP_E_CONFIG,
				"%s: max_frames=%s is out of range 1-100000", origin, value);
		cfg->limits.max_frames = (int)n;
	}
	else
		return imgp_fail(err, IMGP_E_CONFIG, "%s: unknown limit \"%s\"", origin, name);
	return IMGP_OK;
}

