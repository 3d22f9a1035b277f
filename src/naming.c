/*
 * naming.c: expand output key templates. Pure: strings in, a string out.
 * It must never touch a store; whether a key is allowed is the job's call.
 */
#include "naming.h"

#include <stdio.h>
#include <string.h>

/* A growable string with a hard ceiling: S3 keys are at most 1,024 bytes. */
struct sbuf {
	char data[1025];
	size_t len;
	bool overflow;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if(b->len + n >= sizeof(b->data)) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_int(struct sbuf *b, int n)
{
	char num[16];

	if(n > 0) {
		snprintf(num, sizeof(num), "%d", n);
		puts_(b, num);
	}
}

/* A side as checked: the box's, which the size written reaches on a
 * source large enough; one the box leaves free is the variant's own. */
static void put_box_side(struct sbuf *b, int side, const char *axis, const char *variant)
{
	if(side)
		put_int(b, side);
	else {
		puts_(b, axis);
		puts_(b, variant);
	}
}

/*
 * Append the value of placeholder word[0..n) or return false if unknown.
 * check: the template is being checked, not expanded: {w} and {h} stand
 * for the box's sides (two variants a small source gives one size are the
 * job's to judge, per source), {ext} for the configured format.
 */
static bool expand_one(struct sbuf *b, const char *word, size_t n, const struct imgp_name *nm,
                       bool check)
{
	const char *key = nm->key;
	const char *slash = strrchr(key, '/');
	const char *base = slash ? slash + 1 : key;
	const char *dot = strrchr(base, '.');

#define IS(w) (n == strlen(w) && !memcmp(word, w, n))
	if(IS("dir"))
		put(b, key, (size_t)(base - key));
	else if(IS("stem"))
		put(b, base, dot && dot != base && !nm->keep_ext ? (size_t)(dot - base)
		                                               : strlen(base));
	else if(IS("name"))
		puts_(b, base);
	else if(IS("key"))
		puts_(b, key);
	else if(IS("variant"))
		puts_(b, nm->variant->name);
	else if(IS("ext"))
		puts_(b, check ? imgp_format_name(nm->format) : imgp_format_ext(nm->format));
	else if(IS("w"))
		check ? put_box_side(b, nm->variant->width, "W", nm->variant->name)
		      : put_int(b, nm->width);
	else if(IS("h"))
		check ? put_box_side(b, nm->variant->height, "H", nm->variant->name)
		      : put_int(b, nm->height);
	else if(IS("box")) {
		put_int(b, nm->variant->width);
		puts_(b, "x");
		put_int(b, nm->variant->height);
	}
	else
		return false;
	return true;
#undef IS
}

/* Walk the template into b. */
static enum imgp_status walk(struct sbuf *b, const struct imgp_name *nm, bool check,
                             char *err)
{
	const char *tmpl = nm->tmpl;

	for(const char *p = tmpl; *p;) {
		if(p[0] == '{' && p[1] == '{') {
			put(b, "{", 1);
			p += 2;
		}
		else if(p[0] == '}' && p[1] == '}') {
			put(b, "}", 1);
			p += 2;
		}
		else if(*p == '{') {
			const char *end = strchr(p, '}');
			size_t n;

			if(!end)
				return imgp_fail(err, IMGP_E_CONFIG,
					"output key template \"%s\": unclosed \"{\"", tmpl);
			n = (size_t)(end - p - 1);
			if(!expand_one(b, p + 1, n, nm, check))
				return imgp_fail(err, IMGP_E_CONFIG,
					"output key template \"%s\": unknown placeholder {%.*s} (known: "
					"dir, stem, name, key, variant, ext, w, h, box)", tmpl, (int)n, p + 1);
			p = end + 1;
		}
		else if(*p == '}')
			return imgp_fail(err, IMGP_E_CONFIG,
				"output key template \"%s\": a lone \"}\" (write }} for a brace)", tmpl);
		else
			put(b, p++, 1);
	}
	return IMGP_OK;
}

/*
 * Why a path would not stay inside its folder, or NULL: a leading "/", a
 * "." or ".." segment, an empty one ("//"; a trailing "/" too unless
 * allowed, as it is for a prefix).
 */
static const char *escapes(const char *path, bool trailing_slash)
{
	if(path[0] == '/')
		return "starts with /: keys are relative (S3 keys do not start with /, and a "
		       "local folder's would leave it)";
	for(const char *seg = path; *seg;) {
		size_t n = strcspn(seg, "/");

		if((n == 1 && seg[0] == '.') || (n == 2 && !strncmp(seg, "..", 2)))
			return "has a \".\" or \"..\" segment, which would leave the destination";
		if(n == 0 || (!seg[n + (seg[n] != 0)] && seg[n] && !trailing_slash))
			return n ? "ends in \"/\"" : "has an empty segment (\"//\")";
		seg += n;
		if(*seg)
			seg++;
	}
	return NULL;
}

enum imgp_status imgp_naming_check_prefix(const char *prefix, const char *origin, char *err)
{
	const char *why = escapes(prefix, true);

	return why ? imgp_fail(err, IMGP_E_CONFIG, "%s=%s %s", origin, prefix, why) : IMGP_OK;
}

bool imgp_naming_needs_size(const char *tmpl)
{
	return strstr(tmpl, "{w}") || strstr(tmpl, "{h}");
}

/* The template as checked for one variant, into b. */
static enum imgp_status check_one(struct sbuf *b, const char *tmpl,
                                  const struct imgp_variant *v, char *err)
{
	struct imgp_name nm = { .tmpl = tmpl, .key = "dir/stem.ext", .variant = v,
	                        .format = v->format };

	b->len = 0;
	b->data[0] = '\0';
	return walk(b, &nm, true, err);
}

enum imgp_status imgp_naming_check(const char *tmpl, const struct imgp_config *cfg,
                                   char *err)
{
	static const struct imgp_variant probe = { .name = "v", .width = 1, .height = 1 };
	struct sbuf *keys;
	enum imgp_status result;
	const char *why;

	if(!*tmpl)
		return imgp_fail(err, IMGP_E_CONFIG, "the output key template is empty");
	keys = imgp_calloc(cfg && cfg->nvariants ? cfg->nvariants : 1, sizeof(*keys));
	if(!keys)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	result = check_one(&keys[0], tmpl, cfg && cfg->nvariants ? &cfg->variants[0] : &probe,
	                   err);
	if(!result && (why = escapes(keys[0].data, false)))
		result = imgp_fail(err, IMGP_E_CONFIG, "output key template \"%s\" %s", tmpl, why);
	for(size_t i = 1; !result && cfg && i < cfg->nvariants; i++) {
		result = check_one(&keys[i], tmpl, &cfg->variants[i], err);
		for(size_t k = 0; !result && k < i; k++)
			if(!strcmp(keys[i].data, keys[k].data))
				result = !strcmp(cfg->variants[k].name, cfg->variants[i].name) ?
					imgp_fail(err, IMGP_E_CONFIG,
					"output key template \"%s\" gives the formats of variant \"%s\" "
					"(format=%s+%s) the same key: use {ext}", tmpl, cfg->variants[i].name,
					imgp_format_name(cfg->variants[k].format),
					imgp_format_name(cfg->variants[i].format)) :
					imgp_fail(err, IMGP_E_CONFIG,
					"output key template \"%s\" gives variants \"%s\" and \"%s\" the "
					"same key: use {variant} (or {box})", tmpl,
					cfg->variants[k].name, cfg->variants[i].name);
	}
	imgp_free(keys);
	return result;
}

enum imgp_status imgp_naming_make(const struct imgp_name *nm, char **out, char *err)
{
	struct sbuf b = { .len = 0 };
	enum imgp_status result;

	*out = NULL;
	b.data[0] = '\0';
	puts_(&b, nm->prefix ? nm->prefix : "");
	result = walk(&b, nm, false, err);
	if(result)
		return result;
	if(b.overflow)
		return imgp_fail(err, IMGP_E_REQUEST,
		                 "the output key is over 1,024 bytes (source key %.80s%s)",
		                 nm->key, strlen(nm->key) > 80 ? "..." : "");
	*out = imgp_strdup(b.data);
	if(!*out)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

enum imgp_status imgp_naming_check_manifest(const char *tmpl, const char *output_tmpl,
                                            const struct imgp_config *cfg, char *err)
{
	static const char *const per_variant[] = { "{variant}", "{ext}", "{w}", "{h}", "{box}" };
	static const struct imgp_variant probe = { .name = "v", .width = 1, .height = 1 };
	struct sbuf *b = imgp_calloc(2, sizeof(*b));
	enum imgp_status result = IMGP_OK;
	const char *why;

	if(!b)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(size_t i = 0; i < sizeof(per_variant) / sizeof(per_variant[0]); i++)
		if(strstr(tmpl, per_variant[i])) {
			result = imgp_fail(err, IMGP_E_CONFIG, "manifest key template \"%s\" uses %s: "
				"a manifest describes every variant of a source (use dir, stem, name, key)",
				tmpl, per_variant[i]);
			goto out;
		}
	if((result = check_one(&b[0], tmpl, &probe, err)))
		goto out;
	if((why = escapes(b[0].data, false))) {
		result = imgp_fail(err, IMGP_E_CONFIG, "manifest key template \"%s\" %s", tmpl, why);
		goto out;
	}
	for(size_t i = 0; cfg && i < cfg->nvariants && !result; i++) {
		struct imgp_name nm = { .tmpl = output_tmpl, .key = "dir/stem.ext",
		                        .variant = &cfg->variants[i], .format = cfg->variants[i].format,
		                        .width = 1, .height = 1 };
		struct imgp_name mn = { .tmpl = tmpl, .key = "dir/stem.ext", .variant = &probe };

		b[0].len = b[1].len = 0;
		b[0].data[0] = b[1].data[0] = '\0';
		if(!(result = walk(&b[0], &nm, false, err)) && !(result = walk(&b[1], &mn, false, err)) &&
		   !strcmp(b[0].data, b[1].data))
			result = imgp_fail(err, IMGP_E_CONFIG, "manifest key template \"%s\" gives the "
				"key of variant \"%s\" (%s)", tmpl, cfg->variants[i].name, b[0].data);
	}
out:
	imgp_free(b);
	return result;
}

enum imgp_status imgp_naming_manifest(const char *prefix, const char *tmpl, const char *key,
                                      bool keep_ext, char **out, char *err)
{
	static const struct imgp_variant none = { .name = "" };
	struct imgp_name nm = { .prefix = prefix, .tmpl = tmpl, .key = key, .variant = &none,
	                        .keep_ext = keep_ext };

	return imgp_naming_make(&nm, out, err);
}
