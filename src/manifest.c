/*
 * manifest.c: the manifest of one source (what was written, srcset per
 * format, <picture>, the placeholder), as JSON. Pure: the plan and the
 * render's result in, a document out; job.c writes it, last of all.
 */
#include "job_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_width(const void *a, const void *b)
{
	const struct imgp_job_output *x = *(const struct imgp_job_output *const *)a;
	const struct imgp_job_output *y = *(const struct imgp_job_output *const *)b;

	/* ties in the set's order: the first variant of a width is its candidate */
	return x->width != y->width ? (x->width > y->width) - (x->width < y->width)
	                            : (x > y) - (x < y);
}

/* Is a variant the whole picture (not a crop or a letterbox): its aspect
 * within 2 % of the source's? Only those are one image at several sizes. */
static bool whole_picture(const struct imgp_job_output *o, const struct imgp_probe *src)
{
	double a = (double)o->width / o->height, b = (double)src->width / src->height;

	return o->width > 0 && o->height > 0 && src->height > 0 && fabs(a / b - 1) <= 0.02;
}

/*
 * A key as a relative URL: every byte but the unreserved ones and "/"
 * percent-encoded (RFC 3986), so a name with spaces, commas or non-ASCII
 * is one srcset candidate a browser takes. malloc'd; NULL when out of
 * memory.
 */
static char *key_url(const char *key)
{
	char *out = imgp_malloc(3 * strlen(key) + 1), *o = out;

	if(!out)
		return NULL;
	for(const unsigned char *c = (const unsigned char *)key; *c; c++)
		if((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		   strchr("-._~/", *c))
			*o++ = (char)*c;
		else
			o += sprintf(o, "%%%02X", *c);
	*o = '\0';
	return out;
}

/* "URL 320w, URL 800w" of every whole-picture variant in format f,
 * narrowest first, one candidate per width (the HTML spec allows no two). */
static json_t *srcset_of(const struct imgp_job_result *res, const struct imgp_probe *src,
                         enum imgp_format f)
{
	const struct imgp_job_output *list[IMGP_MAX_VARIANTS];
	size_t n = 0, len = 0, at = 0;
	char *text;
	json_t *out;

	for(size_t i = 0; i < res->noutputs; i++)
		if(res->outputs[i].format == f && whole_picture(&res->outputs[i], src))
			list[n++] = &res->outputs[i];
	if(!n)
		return NULL;
	qsort(list, n, sizeof(list[0]), by_width);
	for(size_t i = 0; i < n; i++)
		len += 3 * strlen(list[i]->key) + 16;
	if(!(text = imgp_malloc(len + 1)))
		return NULL;
	text[0] = '\0';
	for(size_t i = 0; i < n; i++) {
		char *url;

		if(i && list[i]->width == list[i - 1]->width)
			continue;
		if(!(url = key_url(list[i]->key))) {
			imgp_free(text);
			return NULL;
		}
		at += (size_t)snprintf(text + at, len + 1 - at, "%s%s %dw", at ? ", " : "", url,
		                       list[i]->width);
		imgp_free(url);
	}
	out = json_string(text);
	imgp_free(text);
	return out;
}

/* How widely browsers show a format: <img> takes the most. */
static int img_rank(enum imgp_format f)
{
	return f == IMGP_FMT_JPEG || f == IMGP_FMT_PNG ? 3 : f == IMGP_FMT_WEBP ? 2 : 1;
}

/*
 * The manifest of one source: what was written (every variant as the
 * store holds it: key, format, size as written, bytes, SHA-256), srcset
 * strings per format for <img srcset> and <picture>, and the placeholder.
 */
json_t *imgp_job_manifest(const struct plan *p, const struct imgp_render_result *rr,
                              const struct imgp_object *src)
{
	static const enum imgp_format order[] = { IMGP_FMT_AVIF, IMGP_FMT_WEBP, IMGP_FMT_JPEG,
	                                          IMGP_FMT_PNG };
	const struct imgp_job_result *res = p->res;
	json_t *doc, *source, *variants, *srcset, *sources, *ph;
	const struct imgp_job_output *img = NULL;
	char etag[128] = "", *img_src;

	/* the ETag as events carry it, without the quotes HTTP puts around it */
	if(p->etag)
		snprintf(etag, sizeof(etag), "%.*s", (int)strcspn(p->etag + (*p->etag == '"'), "\""),
		         p->etag + (*p->etag == '"'));
	source = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:i, s:i, s:I}",
		"bucket", p->ref->bucket, "key", p->ref->key, "etag", p->etag ? etag : NULL,
		"version", p->version, "format", p->probe.format, "width", p->probe.width,
		"height", p->probe.height, "bytes", (json_int_t)src->len);
	variants = json_array();
	for(size_t i = 0; i < res->noutputs; i++) {
		const struct imgp_job_output *o = &res->outputs[i];
		char *url = key_url(o->key);

		/* cropped: not the whole picture at its own aspect (cover's crop,
		 * contain's letterbox, fill's stretch): never a srcset candidate */
		json_array_append_new(variants, json_pack("{s:s, s:s, s:s?, s:s, s:s, s:i, s:i, s:b, "
			"s:I, s:s?}", "name", o->name, "key", o->key, "url", url,
			"format", imgp_format_name(o->format), "contentType", imgp_format_mime(o->format),
			"width", o->width, "height", o->height, "cropped", !whole_picture(o, &p->probe),
			"bytes", (json_int_t)o->bytes, "sha256", *o->sha256 ? o->sha256 : NULL));
		imgp_free(url);
		/* <img>: the widest whole picture in the most widely shown format
		 * there is (JPEG or PNG, else WebP, else AVIF) */
		if(whole_picture(o, &p->probe) &&
		   (!img || img_rank(o->format) > img_rank(img->format) ||
		    (img_rank(o->format) == img_rank(img->format) && o->width > img->width)))
			img = o;
	}
	srcset = json_object();
	sources = json_array();
	for(size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		json_t *set = srcset_of(res, &p->probe, order[k]);

		if(!set)
			continue;
		json_object_set_new(srcset, imgp_format_name(order[k]), set);
		/* <picture>: the newer formats first; the <img> format last */
		if(!img || order[k] != img->format)
			json_array_append_new(sources, json_pack("{s:s, s:O}", "type",
				imgp_format_mime(order[k]), "srcset", set));
	}
	img_src = img ? key_url(img->key) : NULL;
	ph = rr && rr->has_placeholder ? json_pack("{s:s, s:s, s:s, s:s}",
		"thumbhash", rr->placeholder.thumbhash, "blurhash", rr->placeholder.blurhash,
		"color", rr->placeholder.color, "dataUri", rr->placeholder.data_uri) : json_null();
	doc = json_pack("{s:i, s:o, s:o, s:o, s:{s:o, s:o}, s:o}",
		"version", 1, "source", source, "variants", variants, "srcset", srcset,
		"picture", "sources", sources, "img", img && img_src ? json_pack("{s:s, s:O, s:i, s:i}",
			"src", img_src, "srcset", json_object_get(srcset, imgp_format_name(img->format)),
			"width", img->width, "height", img->height) : json_null(),
		"placeholder", ph);
	imgp_free(img_src);
	return doc;
}

