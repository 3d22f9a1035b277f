/*
 * config.c: the variant spec grammar, the JSON config file and the limits.
 *
 * Pure: no libvips, no I/O but reading the config file. Every error names
 * the variant and the option, because the person reading it typed them into
 * an environment variable somewhere and needs to find which one.
 *
 *   spec    := variant (";" variant)*
 *   variant := NAME "=" SIZE ("," KEY "=" VALUE)*
 *   SIZE    := W "x" H | W "x" | "x" H
 */
#include "config.h"
#include "settings.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "naming.h"

static const char *const format_names[] = { "auto", "jpeg", "webp", "png", "avif", "best" };
static const char *const format_exts[] = { "", "jpg", "webp", "png", "avif", "" };
static const char *const format_mimes[] = { "", "image/jpeg", "image/webp",
                                            "image/png", "image/avif", "" };
static const char *const fit_names[] = { "inside", "cover", "contain", "fill" };
static const char *const crop_names[] = { "centre", "attention", "entropy" };
static const char *const fail_names[] = { "none", "truncated", "error", "warning" };

const char *imgp_format_name(enum imgp_format format) { return format_names[format]; }
const char *imgp_format_ext(enum imgp_format format) { return format_exts[format]; }
const char *imgp_format_mime(enum imgp_format format) { return format_mimes[format]; }

static void variant_init(struct imgp_variant *v)
{
	memset(v, 0, sizeof(*v));
	v->fit = IMGP_FIT_INSIDE;
	v->format = IMGP_FMT_AUTO;
	v->q = 80;
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

	snprintf(text, sizeof(text),
	         "render=%s;size=%dx%d;fit=%s;format=%s;q=%d;effort=%d;compression=%d;"
	         "crop=%s;bg=%02x%02x%02x;enlarge=%d;lossless=%d;progressive=%d;"
	         "strip=%d;anim=%d;palette=%d",
	         IMGP_RENDER_VERSION, v->width, v->height, fit_names[v->fit],
	         format_names[v->format], v->q, v->effort, v->compression,
	         crop_names[v->crop], v->bg[0], v->bg[1], v->bg[2],
	         imgp_variant_enlarges(v), v->lossless, v->progressive, v->strip,
	         v->anim_keep, v->palette);
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
static bool parse_int(const char *value, long long lo, long long hi, long long *out)
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

#define OPTION_NAMES "fit, format, q, effort, lossless, progressive, enlarge, " \
                     "crop, bg, strip, anim, compression, palette"

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
		"quality" };
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
static enum imgp_status set_option(struct imgp_variant *v, const char *key,
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
		if(!parse_int(value, 1, 100, &n))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": %s=%s is out of range 1-100", v->name, key, value);
		v->q = (int)n;
	}
	else if(!strcmp(key, "effort")) {
		/* the range depends on the format: checked in check_variant */
		if(!parse_int(value, 0, 9, &n))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": effort=%s is out of range 0-9", v->name, value);
		v->effort = (int)n;
	}
	else if(!strcmp(key, "compression")) {
		if(!parse_int(value, 0, 9, &n))
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
static enum imgp_status parse_size(struct imgp_variant *v, const char *size, char *err)
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
	if((*wtext && !parse_int(wtext, 1, IMGP_MAX_DIMENSION, &w)) ||
	   (*htext && !parse_int(htext, 1, IMGP_MAX_DIMENSION, &h)))
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

static enum imgp_status set_name(struct imgp_variant *v, const char *name, char *err)
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
static enum imgp_status check_variant(const struct imgp_variant *v, char *err)
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
static enum imgp_status expand_formats(struct imgp_variant *vs, size_t *n, char *err)
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
static bool name_taken(const struct imgp_variant *vs, size_t n, const char *name)
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

	variant_init(v);
	eq = strchr(text, '=');
	if(!eq)
		return imgp_fail(err, IMGP_E_CONFIG,
			"variant \"%s\" has no size: write NAME=WxH, e.g. thumb=320x320", trim(text));
	*eq = '\0';
	result = set_name(v, trim(text), err);
	if(result)
		return result;
	opt = strtok_r(eq + 1, ",", &save);
	if(!opt || !*trim(opt))
		return imgp_fail(err, IMGP_E_CONFIG, "variant \"%s\" has no size", v->name);
	result = parse_size(v, trim(opt), err);
	if(result)
		return result;
	while((opt = strtok_r(NULL, ",", &save))) {
		char *val = strchr(opt, '=');

		if(!val)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": option \"%s\" has no value (write key=value)",
				v->name, trim(opt));
		*val++ = '\0';
		result = set_option(v, trim(opt), trim(val), err);
		if(result)
			return result;
	}
	return check_variant(v, err);
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
		if(name_taken(parsed, n, parsed[n].name)) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\" is defined twice", parsed[n].name);
			goto out;
		}
		n++;
		if((result = expand_formats(parsed, &n, err)))
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
	if(!parse_int(value, 1, INT64_MAX, &n))
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

/* A JSON scalar as the text the spec would have held. */
static bool json_as_text(json_t *value, char *buf, size_t size)
{
	if(json_is_string(value))
		snprintf(buf, size, "%s", json_string_value(value));
	else if(json_is_integer(value))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
	else if(json_is_true(value))
		snprintf(buf, size, "yes");
	else if(json_is_false(value))
		snprintf(buf, size, "no");
	else
		return false;
	return true;
}

/* One {"name": ..., "width": ..., "height": ..., options...} object. */
static enum imgp_status json_variant(struct imgp_variant *v, json_t *obj,
                                     const char *origin, char *err)
{
	enum imgp_status result;
	const char *key;
	json_t *value;
	char text[256];

	variant_init(v);
	if(!json_is_object(obj) || !json_is_string(json_object_get(obj, "name")))
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: each entry of \"variants\" must be an object with a \"name\"", origin);
	result = set_name(v, json_string_value(json_object_get(obj, "name")), err);
	if(result)
		return result;
	json_object_foreach(obj, key, value) {
		if(!strcmp(key, "name"))
			continue;
		if(!json_as_text(value, text, sizeof(text)))
			return imgp_fail(err, IMGP_E_CONFIG,
				"%s: variant \"%s\": %s must be a string, number or boolean",
				origin, v->name, key);
		if(!strcmp(key, "width") || !strcmp(key, "height")) {
			long long n;

			if(!parse_int(text, 1, IMGP_MAX_DIMENSION, &n))
				return imgp_fail(err, IMGP_E_CONFIG,
					"%s: variant \"%s\": %s=%s is out of range 1-%d",
					origin, v->name, key, text, IMGP_MAX_DIMENSION);
			*(key[0] == 'w' ? &v->width : &v->height) = (int)n;
		}
		else if(!strcmp(key, "size"))
			result = parse_size(v, text, err);
		else if((result = set_option(v, key, text, err)) && strstr(err, "unknown option"))
			/* in a file, the size's keys are known too */
			result = imgp_fail(err, IMGP_E_CONFIG, "%s: variant \"%s\": unknown key \"%s\" "
				"(known: name, width, height, size, " OPTION_NAMES ")", origin, v->name, key);
		if(result)
			return result;
	}
	if(!v->width && !v->height)
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: variant \"%s\" needs a width, a height or both", origin, v->name);
	return check_variant(v, err);
}

static enum imgp_status json_variants(struct imgp_config *cfg, json_t *list,
                                      const char *origin, char *err)
{
	enum imgp_status result = IMGP_OK;
	struct imgp_variant *parsed;
	size_t i, nv, n = json_array_size(list);

	if(!n)
		return imgp_fail(err, IMGP_E_CONFIG, "%s: \"variants\" is empty", origin);
	if(n > IMGP_MAX_VARIANTS)
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: too many variants (at most %d)", origin, IMGP_MAX_VARIANTS);
	parsed = imgp_calloc(IMGP_MAX_VARIANTS, sizeof(*parsed));
	if(!parsed)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(i = 0, nv = 0; i < n; i++) {
		if(nv == IMGP_MAX_VARIANTS) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"%s: too many variants (at most %d)", origin, IMGP_MAX_VARIANTS);
			goto out;
		}
		result = json_variant(&parsed[nv], json_array_get(list, i), origin, err);
		if(result)
			goto out;
		if(name_taken(parsed, nv, parsed[nv].name)) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"%s: variant \"%s\" is defined twice", origin, parsed[nv].name);
			goto out;
		}
		nv++;
		if((result = expand_formats(parsed, &nv, err)))
			goto out;
	}
	memcpy(cfg->variants, parsed, nv * sizeof(*parsed));
	cfg->nvariants = nv;
out:
	imgp_free(parsed);
	return result;
}

enum imgp_status imgp_config_load_json(struct imgp_config *cfg,
                                       const char *json, size_t len,
                                       const char *origin, char *err)
{
	enum imgp_status result = IMGP_OK;
	json_error_t jerr;
	json_t *root, *value;
	const char *key;
	char text[64];

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if(!root)
		return imgp_fail(err, IMGP_E_CONFIG, "%s: line %d: %s",
		                 origin, jerr.line, jerr.text);
	if(!json_is_object(root)) {
		result = imgp_fail(err, IMGP_E_CONFIG, "%s: must hold a JSON object", origin);
		goto out;
	}
	json_object_foreach(root, key, value) {
		if(!strcmp(key, "variants")) {
			if(json_is_string(value))
				result = imgp_config_parse_spec(cfg, json_string_value(value), err);
			else if(json_is_array(value))
				result = json_variants(cfg, value, origin, err);
			else
				result = imgp_fail(err, IMGP_E_CONFIG,
					"%s: \"variants\" must be a spec string or a list of objects", origin);
		}
		else if(!strcmp(key, "limits") && json_is_object(value)) {
			const char *lkey;
			json_t *lvalue;

			json_object_foreach(value, lkey, lvalue) {
				if(!json_as_text(lvalue, text, sizeof(text)))
					result = imgp_fail(err, IMGP_E_CONFIG,
						"%s: limits.%s must be a number", origin, lkey);
				else
					result = imgp_config_set_limit(cfg, lkey, text, origin, err);
				if(result)
					break;
			}
		}
		else
			result = imgp_fail(err, IMGP_E_CONFIG,
				"%s: unknown key \"%s\" (known: variants, limits)", origin, key);
		if(result)
			break;
	}
out:
	json_decref(root);
	return result;
}

enum imgp_status imgp_config_load_file(struct imgp_config *cfg,
                                       const char *path, char *err)
{
	enum imgp_status result;
	char *data = NULL;
	size_t len = 0;
	FILE *f;

	f = fopen(path, "rb");
	if(!f)
		return imgp_fail(err, IMGP_E_CONFIG, "%s: %s", path, strerror(errno));
	/* a config file is small; a megabyte is plenty and bounds a mistake */
	data = imgp_malloc(1 << 20);
	if(!data) {
		fclose(f);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	len = fread(data, 1, 1 << 20, f);
	if(ferror(f))
		result = imgp_fail(err, IMGP_E_CONFIG, "%s: read error", path);
	else if(len == 1 << 20)
		result = imgp_fail(err, IMGP_E_CONFIG, "%s: larger than 1 MB", path);
	else
		result = imgp_config_load_json(cfg, data, len, path, err);
	fclose(f);
	imgp_free(data);
	return result;
}

static const struct { const char *env, *limit; } limit_envs[] = {
	{ "IMGPIPE_MAX_PIXELS", "max_pixels" },
	{ "IMGPIPE_MAX_BYTES", "max_bytes" },
	{ "IMGPIPE_MAX_FRAMES", "max_frames" },
	{ "IMGPIPE_FAIL_ON", "fail_on" },
};

const char *imgp_limit_hint(const char *limit)
{
	static const char *const hints[] = {
		"IMGPIPE_MAX_PIXELS, limits.max_pixels in the config file, or --max-pixels",
		"IMGPIPE_MAX_BYTES, limits.max_bytes in the config file, or --max-bytes",
		"IMGPIPE_MAX_FRAMES, limits.max_frames in the config file, or --max-frames",
		"IMGPIPE_FAIL_ON, limits.fail_on in the config file, or --fail-on",
	};

	for(size_t i = 0; i < sizeof(limit_envs) / sizeof(limit_envs[0]); i++)
		if(!strcmp(limit_envs[i].limit, limit))
			return hints[i];
	return "the config file";
}

/* The render's settings: flags where given, else the environment. */
static enum imgp_status config_load(struct imgp_config *cfg, const struct imgp_flags *f,
                                    char *err)
{
	static const char *const limit_flags[] = { "--max-pixels", "--max-bytes", "--max-frames",
	                                           "--fail-on" };
	enum imgp_status result;
	const char *value;

	if((value = f->config_file) || (value = imgp_env("IMGPIPE_CONFIG"))) {
		result = imgp_config_load_file(cfg, value, err);
		if(result)
			return result;
	}
	if((value = f->spec) || (value = imgp_env("IMGPIPE_VARIANTS"))) {
		result = imgp_config_parse_spec(cfg, value, err);
		if(result)
			return result;
	}
	for(size_t i = 0; i < sizeof(limit_envs) / sizeof(limit_envs[0]); i++) {
		char why[IMGP_ERRSIZE], *is;

		if((value = f->limits[i])) {
			/* a flag's error names the flag the user typed */
			if((result = imgp_config_set_limit(cfg, limit_envs[i].limit, value, "", why))) {
				is = strstr(why, " is ");
				return imgp_fail(err, result, "%s %s: %s", limit_flags[i], value,
				                 is ? is + 4 : why);
			}
			continue;
		}
		if(!(value = imgp_env(limit_envs[i].env)))
			continue;
		result = imgp_config_set_limit(cfg, limit_envs[i].limit, value, limit_envs[i].env, err);
		if(result)
			return result;
	}
	return IMGP_OK;
}

enum imgp_status imgp_config_from_env(struct imgp_config *cfg, const char *config_file,
                                      char *err)
{
	struct imgp_flags f = { .config_file = config_file };

	return config_load(cfg, &f, err);
}

/* --- the job's settings ------------------------------------------------ */

enum imgp_status imgp_job_config_set(char **field, const char *value, char *err)
{
	char *copy = value ? imgp_strdup(value) : NULL;

	if(value && !copy)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	imgp_free(*field);
	*field = copy;
	return IMGP_OK;
}

/* A whole number in [lo, hi] from the variable name, or a config error. */
static enum imgp_status env_number(const char *name, long lo, long hi, long *out, char *err)
{
	const char *v = imgp_env(name);
	long long n;

	if(!v)
		return IMGP_OK;
	if(!parse_int(v, lo, hi, &n))
		return imgp_fail(err, IMGP_E_CONFIG, "%s=%s is not a whole number from %ld to %ld",
		                 name, v, lo, hi);
	*out = (long)n;
	return IMGP_OK;
}

enum imgp_status imgp_job_config_from_env(struct imgp_job_config *jc, const char *config_file,
                                          char *err)
{
	struct imgp_flags f = { .config_file = config_file };

	return imgp_job_config_load(jc, &f, err);
}

enum imgp_status imgp_job_config_load(struct imgp_job_config *jc, const struct imgp_flags *f,
                                      char *err)
{
	static const struct { const char *env, *fallback; size_t offset; } strings[] = {
		{ "IMGPIPE_STORE", NULL, offsetof(struct imgp_job_config, store) },
		{ "IMGPIPE_DEST_BUCKET", NULL, offsetof(struct imgp_job_config, dest_bucket) },
		{ "IMGPIPE_DEST_PREFIX", "", offsetof(struct imgp_job_config, dest_prefix) },
		{ "IMGPIPE_OUTPUT_KEY", IMGP_DEFAULT_OUTPUT_KEY,
		  offsetof(struct imgp_job_config, output_key) },
		{ "IMGPIPE_MANIFEST_KEY", IMGP_DEFAULT_MANIFEST_KEY,
		  offsetof(struct imgp_job_config, manifest_key) },
		{ "IMGPIPE_CACHE_CONTROL", IMGP_DEFAULT_CACHE_CONTROL,
		  offsetof(struct imgp_job_config, cache_control) },
		{ "IMGPIPE_SOURCE_BUCKET", NULL, offsetof(struct imgp_job_config, source_bucket) },
		{ "IMGPIPE_SOURCE_PREFIX", "", offsetof(struct imgp_job_config, source_prefix) },
		{ "IMGPIPE_METRICS_NAMESPACE", "imgpipe",
		  offsetof(struct imgp_job_config, metrics_namespace) },
	};
	enum imgp_status result;
	long memory = 0;
	const char *v;

	memset(jc, 0, sizeof(*jc));
	imgp_config_init(&jc->render);
	jc->deadline_reserve_ms = 1000;
	result = config_load(&jc->render, f, err);
	for(size_t i = 0; !result && i < sizeof(strings) / sizeof(strings[0]); i++) {
		const char *value = imgp_env(strings[i].env);

		if(f->output_key && !strcmp(strings[i].env, "IMGPIPE_OUTPUT_KEY"))
			value = f->output_key;

		result = imgp_job_config_set((char **)((char *)jc + strings[i].offset),
		                             value ? value : strings[i].fallback, err);
	}
	/* IMGPIPE_MANIFEST_KEY= (set, but empty) is no manifest, as README says */
	if(!result && (v = imgp_env_set("IMGPIPE_MANIFEST_KEY")) && !*v)
		result = imgp_job_config_set(&jc->manifest_key, "", err);
	if(!result && (v = imgp_env("IMGPIPE_ON_DELETE"))) {
		if(!strcmp(v, "delete"))
			jc->delete_on_remove = true;
		else if(strcmp(v, "ignore"))
			result = imgp_fail(err, IMGP_E_CONFIG,
				"IMGPIPE_ON_DELETE=%s is not one of delete, ignore", v);
	}
	if(!result)
		result = env_number("IMGPIPE_DEADLINE_RESERVE_MS", 0, 900000,
		                    &jc->deadline_reserve_ms, err);
	if(!result)
		result = env_number("IMGPIPE_MAX_INVOCATIONS", 0, LONG_MAX, &jc->max_invocations,
		                    err);
	/* Lambda sets it; anything odd there is Lambda's, not the user's */
	if(!result && (v = imgp_env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")) &&
	   (memory = atol(v)) > 0 && memory < 1 << 20)
		jc->memory_mb = (int)memory;
	if(!result)
		result = imgp_naming_check(jc->output_key, &jc->render, err);
	if(!result && *jc->manifest_key)
		result = imgp_naming_check_manifest(jc->manifest_key, jc->output_key, &jc->render, err);
	/* a manifest carries the source's placeholder: render makes it */
	jc->render.placeholders = !result && *jc->manifest_key;
	if(!result && *jc->dest_prefix)
		result = imgp_naming_check_prefix(jc->dest_prefix, "IMGPIPE_DEST_PREFIX", err);
	if(result)
		imgp_job_config_release(jc);
	return result;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

enum imgp_status imgp_job_config_check_trigger(const struct imgp_job_config *jc, char *err)
{
	bool same_bucket = !jc->dest_bucket ||
	                   (jc->source_bucket && !strcmp(jc->dest_bucket, jc->source_bucket));

	if(jc->delete_on_remove && imgp_naming_needs_size(jc->output_key))
		return imgp_fail(err, IMGP_E_CONFIG,
			"IMGPIPE_ON_DELETE=delete cannot find the variants of a deleted source when "
			"IMGPIPE_OUTPUT_KEY=%s uses {w} or {h} (the written size, known only from the "
			"source): use {box}, or leave IMGPIPE_ON_DELETE unset", jc->output_key);
	/*
	 * Variants written where the trigger listens would fire it again, for
	 * ever (AWS's own tutorial has users find this out on their bill).
	 */
	if(!same_bucket)
		return IMGP_OK;
	if(!*jc->dest_prefix)
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s, so variants would be written into the trigger's own bucket and key space: "
			"set IMGPIPE_DEST_BUCKET to another bucket, or keep the source bucket with "
			"IMGPIPE_DEST_PREFIX (e.g. variants/) outside IMGPIPE_SOURCE_PREFIX (the "
			"trigger's prefix, e.g. uploads/)",
			jc->dest_bucket ? "IMGPIPE_DEST_BUCKET is the source bucket" :
			"IMGPIPE_DEST_BUCKET is not set");
	if(!*jc->source_prefix)
		return imgp_fail(err, IMGP_E_CONFIG,
			"IMGPIPE_DEST_PREFIX=%s is in the source bucket, and IMGPIPE_SOURCE_PREFIX is "
			"not set, so the trigger is taken to watch the whole bucket: variants written "
			"there would trigger imgpipe again; set IMGPIPE_SOURCE_PREFIX to the trigger's "
			"prefix (e.g. uploads/), or IMGPIPE_DEST_BUCKET to another bucket",
			jc->dest_prefix);
	if(starts_with(jc->dest_prefix, jc->source_prefix) ||
	   starts_with(jc->source_prefix, jc->dest_prefix))
		return imgp_fail(err, IMGP_E_CONFIG,
			"IMGPIPE_DEST_PREFIX=%s overlaps the trigger's key space (IMGPIPE_SOURCE_PREFIX=%s): "
			"variants written there would trigger imgpipe again; use a prefix outside it, or "
			"IMGPIPE_DEST_BUCKET", jc->dest_prefix, jc->source_prefix);
	return IMGP_OK;
}

void imgp_job_config_release(struct imgp_job_config *jc)
{
	imgp_free(jc->store);
	imgp_free(jc->dest_bucket);
	imgp_free(jc->dest_prefix);
	imgp_free(jc->output_key);
	imgp_free(jc->manifest_key);
	imgp_free(jc->cache_control);
	imgp_free(jc->source_bucket);
	imgp_free(jc->source_prefix);
	imgp_free(jc->metrics_namespace);
	memset(jc, 0, sizeof(*jc));
}

/* --- imgpipe serve's settings -------------------------------------------- */

static const struct serve_knob {
	const char *env, *flag;
	size_t offset;
	long min, max;
} serve_knobs[] = {
	{ "PORT", "port", offsetof(struct imgp_serve_config, port), 0, 65535 },
	{ "IMGPIPE_SERVE_CONCURRENCY", "concurrency",
	  offsetof(struct imgp_serve_config, concurrency), 1, 1024 },
	{ "IMGPIPE_SERVE_TIMEOUT", "timeout", offsetof(struct imgp_serve_config, timeout_s), 1, 3600 },
	{ "IMGPIPE_SERVE_GRACE", "grace", offsetof(struct imgp_serve_config, grace_s), 0, 3600 },
	{ "IMGPIPE_SERVE_MAX_BODY", "max-body", offsetof(struct imgp_serve_config, max_body), 1024,
	  64L << 20 },
};

/* A knob's value from text; origin says where it came from. */
static enum imgp_status serve_knob_set(struct imgp_serve_config *sc, const struct serve_knob *k,
                                       const char *value, bool flag, char *err)
{
	long long n;

	if(!parse_int(value, k->min, k->max, &n))
		return flag ? imgp_fail(err, IMGP_E_USAGE, "--%s %.32s is not a number from %ld to %ld",
		                        k->flag, value, k->min, k->max)
		            : imgp_fail(err, IMGP_E_USAGE, "%s=%.32s is not a number from %ld to %ld",
		                        k->env, value, k->min, k->max);
	*(long *)((char *)sc + k->offset) = (long)n;
	return IMGP_OK;
}

enum imgp_status imgp_serve_config_from_env(struct imgp_serve_config *sc, char *err)
{
	const char *v;

	*sc = (struct imgp_serve_config){ "127.0.0.1", IMGP_SERVE_DEFAULT_PORT, imgp_cpu_count(),
	                                  IMGP_SERVE_DEFAULT_TIMEOUT_S, IMGP_SERVE_DEFAULT_GRACE_S,
	                                  IMGP_SERVE_DEFAULT_MAX_BODY, NULL };
	if((v = imgp_env("IMGPIPE_LISTEN")))
		snprintf(sc->listen, sizeof(sc->listen), "%s", v);
	for(size_t i = 0; i < sizeof(serve_knobs) / sizeof(serve_knobs[0]); i++)
		if((v = imgp_env(serve_knobs[i].env)) &&
		   serve_knob_set(sc, &serve_knobs[i], v, false, err))
			return IMGP_E_USAGE;
	if((v = imgp_env("IMGPIPE_SERVE_TOKEN")) && !(sc->token = imgp_strdup(v)))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

enum imgp_status imgp_serve_config_set(struct imgp_serve_config *sc, const char *flag,
                                       const char *value, char *err)
{
	if(!strcmp(flag, "listen")) {
		snprintf(sc->listen, sizeof(sc->listen), "%s", value);
		return IMGP_OK;
	}
	for(size_t i = 0; i < sizeof(serve_knobs) / sizeof(serve_knobs[0]); i++)
		if(!strcmp(serve_knobs[i].flag, flag))
			return serve_knob_set(sc, &serve_knobs[i], value, true, err);
	return imgp_fail(err, IMGP_E_USAGE, "--%s is not a setting of imgpipe serve", flag);
}

void imgp_serve_config_release(struct imgp_serve_config *sc)
{
	imgp_free(sc->token);
	sc->token = NULL;
}
