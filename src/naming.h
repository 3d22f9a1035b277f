/*
 * naming.h: output key templates. Pure.
 *
 * Placeholders, for a source key "photos/2024/cat.jpg" and variant "thumb"
 * (320x320) written as JPEG:
 *   {dir}      photos/2024/     (with its slash; empty at the top)
 *   {stem}     cat
 *   {name}     cat.jpg
 *   {key}      photos/2024/cat.jpg
 *   {variant}  thumb
 *   {ext}      jpg
 *   {w} {h}    320 320          (the variant's box; empty when unbounded)
 *   {{ }}      literal braces
 */
#ifndef IMGP_NAMING_H
#define IMGP_NAMING_H

#include "config.h"

#define IMGP_DEFAULT_OUTPUT_KEY "{variant}/{dir}{stem}.{ext}"

/* Refuse a template with an unknown placeholder or an unclosed brace, or
 * one that could give two variants the same key (no {variant}, {w} or {h}). */
enum imgp_status imgp_naming_check(const char *tmpl, size_t nvariants, char *err);

/* prefix + the expanded template into *out, malloc'd (imgp_free). The
 * status says why not: IMGP_E_CONFIG for a template error, IMGP_E_REQUEST
 * for a key over 1,024 bytes, IMGP_E_NOMEM (temporary) when out of memory;
 * err says it in words and *out is NULL. */
enum imgp_status imgp_naming_make(const char *prefix, const char *tmpl, const char *key,
                                  const struct imgp_variant *v, enum imgp_format format,
                                  char **out /* OUT */, char *err);

/* The same, returning the key, or NULL with err saying why. */
char *imgp_naming_expand(const char *prefix, const char *tmpl, const char *key,
                         const struct imgp_variant *v, enum imgp_format format,
                         char *err);

#endif
