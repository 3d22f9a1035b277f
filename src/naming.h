/*
 * naming.h: output key templates. Pure.
 *
 * Placeholders, for a source key "photos/2024/cat.jpg" and variant "thumb"
 * (box 320x320, written 320x213) as JPEG:
 *   {dir}      photos/2024/     (with its slash; empty at the top)
 *   {stem}     cat
 *   {name}     cat.jpg
 *   {key}      photos/2024/cat.jpg
 *   {variant}  thumb
 *   {ext}      jpg
 *   {w} {h}    320 213          (the size written, as displayed)
 *   {box}      320x320          (the variant's box: 1600x, x600 when one side is free)
 *   {{ }}      literal braces
 *
 * Every front end names outputs through here: the trigger, invoke, and
 * imgpipe resize (local folders and S3 alike).
 */
#ifndef IMGP_NAMING_H
#define IMGP_NAMING_H

#include "config.h"

#define IMGP_DEFAULT_OUTPUT_KEY "{variant}/{dir}{stem}.{ext}"
/* Where a source's manifest goes (IMGPIPE_MANIFEST_KEY): {dir}, {stem},
 * {name} and {key} only, for it describes every variant at once. */
#define IMGP_DEFAULT_MANIFEST_KEY "manifest/{dir}{stem}.json"

/* One key to make. */
struct imgp_name {
	const char *prefix;             /* NULL or "": none */
	const char *tmpl;
	const char *key;                /* the source's key */
	const struct imgp_variant *variant;
	enum imgp_format format;        /* as written: never auto */
	int width, height;              /* as written; 0 where not known yet */
	bool keep_ext;                  /* {stem} keeps the source's extension:
	                                   the name a source gets when another
	                                   source already owns its outputs */
};

/*
 * Refuse a template with an unknown placeholder or an unclosed brace, one
 * that is absolute or leaves its folder ("/x", "../x", "a//b"), and one
 * that gives two of cfg's variants the same key (no {variant} or {box}
 * telling them apart).
 */
enum imgp_status imgp_naming_check(const char *tmpl, const struct imgp_config *cfg,
                                   char *err);

/* Refuse a key prefix that is absolute or leaves its folder; origin names
 * it in the message ("IMGPIPE_DEST_PREFIX", "-o"). */
enum imgp_status imgp_naming_check_prefix(const char *prefix, const char *origin, char *err);

/* Does the template use {w} or {h}, so that keys wait for the source's size? */
bool imgp_naming_needs_size(const char *tmpl);

/* prefix + the expanded template into *out, malloc'd (imgp_free). The
 * status says why not: IMGP_E_CONFIG for a template error, IMGP_E_REQUEST
 * for a key over 1,024 bytes, IMGP_E_NOMEM (temporary) when out of memory;
 * err says it in words and *out is NULL. */
enum imgp_status imgp_naming_make(const struct imgp_name *name, char **out /* OUT */,
                                  char *err);

/*
 * The manifest template: the output template's rules, no placeholder of
 * one variant ({variant}, {ext}, {w}, {h}, {box}), and never a variant's
 * key (checked against every variant of cfg under output_tmpl).
 */
enum imgp_status imgp_naming_check_manifest(const char *tmpl, const char *output_tmpl,
                                            const struct imgp_config *cfg, char *err);

/* A source's manifest key under tmpl (checked), prefix first. */
enum imgp_status imgp_naming_manifest(const char *prefix, const char *tmpl, const char *key,
                                      bool keep_ext, char **out /* OUT */, char *err);

#endif
