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

/* Append the value of placeholder name[0..n) or return false if unknown. */
static bool expand_one(struct sbuf *b, const char *name, size_t n, const char *key,
                       const struct imgp_variant *v, enum imgp_format format)
{
	const char *slash = strrchr(key, '/');
	const char *base = slash ? slash + 1 : key;
	const char *dot = strrchr(base, '.');
	char num[16];

#define IS(word) (n == strlen(word) && !memcmp(name, word, n))
	if(IS("dir"))
		put(b, key, (size_t)(base - key));
	else if(IS("stem"))
		put(b, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
	else if(IS("name"))
		puts_(b, base);
	else if(IS("key"))
		puts_(b, key);
	else if(IS("variant"))
		puts_(b, v ? v->name : "");
	else if(IS("ext"))
		puts_(b, imgp_format_ext(format));
	else if(IS("w") || IS("h")) {
		int side = v ? (IS("w") ? v->width : v->height) : 0;
		if(side) {
			snprintf(num, sizeof(num), "%d", side);
			puts_(b, num);
		}
	}
	else
		return false;
	return true;
#undef IS
}

/* Walk the template; with key NULL only check it. */
static enum imgp_status walk(struct sbuf *b, const char *tmpl, const char *key,
                             const struct imgp_variant *v, enum imgp_format format,
                             bool *distinct, char *err)
{
	static const struct imgp_variant probe_variant = { .name = "v", .width = 1, .height = 1 };

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
			if(!expand_one(b, p + 1, n, key ? key : "a/b.c", key ? v : &probe_variant,
			               format))
				return imgp_fail(err, IMGP_E_CONFIG,
					"output key template \"%s\": unknown placeholder {%.*s} (known: "
					"dir, stem, name, key, variant, ext, w, h)", tmpl, (int)n, p + 1);
			if((n == 7 && !memcmp(p + 1, "variant", 7)) || n == 1)
				*distinct = true;
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

enum imgp_status imgp_naming_check(const char *tmpl, size_t nvariants, char *err)
{
	struct sbuf b = { .len = 0 };
	bool distinct = false;
	enum imgp_status result;

	result = walk(&b, tmpl, NULL, NULL, IMGP_FMT_JPEG, &distinct, err);
	if(result)
		return result;
	if(!*tmpl)
		return imgp_fail(err, IMGP_E_CONFIG, "the output key template is empty");
	if(nvariants > 1 && !distinct)
		return imgp_fail(err, IMGP_E_CONFIG,
			"output key template \"%s\" gives every variant the same key: "
			"use {variant} (or {w} and {h})", tmpl);
	return IMGP_OK;
}

enum imgp_status imgp_naming_make(const char *prefix, const char *tmpl, const char *key,
                                  const struct imgp_variant *v, enum imgp_format format,
                                  char **out, char *err)
{
	struct sbuf b = { .len = 0 };
	bool distinct = false;
	enum imgp_status result;

	*out = NULL;
	b.data[0] = '\0';
	puts_(&b, prefix ? prefix : "");
	result = walk(&b, tmpl, key, v, format, &distinct, err);
	if(result)
		return result;
	if(b.overflow)
		return imgp_fail(err, IMGP_E_REQUEST,
		                 "the output key is over 1,024 bytes (source key %.80s%s)",
		                 key, strlen(key) > 80 ? "..." : "");
	*out = imgp_strdup(b.data);
	if(!*out)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

char *imgp_naming_expand(const char *prefix, const char *tmpl, const char *key,
                         const struct imgp_variant *v, enum imgp_format format,
                         char *err)
{
	char *out;

	(void)imgp_naming_make(prefix, tmpl, key, v, format, &out, err);
	return out;
}
