/*
 * config_impl.h: what spec.c (the variant grammar) shares with
 * config_file.c (the JSON config file) and config.c (the environment):
 * one variant's options, checked the same wherever they are written.
 */
#ifndef IMGP_CONFIG_IMPL_H
#define IMGP_CONFIG_IMPL_H

#include "config.h"

/* Every option a variant takes, for messages. */
#define OPTION_NAMES "fit, format, q, effort, lossless, progressive, enlarge, " \
                     "crop, bg, strip, anim, compression, palette, chroma, encoder"

void imgp_spec_variant_init(struct imgp_variant *v);
/* One option of one variant from text (the spec's and the file's). */
enum imgp_status imgp_spec_set_option(struct imgp_variant *v, const char *key, const char *value,
                                      char *err);
/* "800x600", "800x", "x600". */
enum imgp_status imgp_spec_parse_size(struct imgp_variant *v, const char *size, char *err);
enum imgp_status imgp_spec_set_name(struct imgp_variant *v, const char *name, char *err);
/* What no single option can check: a box, option pairs, format limits. */
enum imgp_status imgp_spec_check_variant(const struct imgp_variant *v, char *err);
/* format=a+b: one variant per format, in place; *n grows. */
enum imgp_status imgp_spec_expand_formats(struct imgp_variant *vs, size_t *n, char *err);
bool imgp_spec_name_taken(const struct imgp_variant *vs, size_t n, const char *name);
/* A whole number from lo to hi, all of value. */
bool imgp_config_parse_int(const char *value, long long lo, long long hi, long long *out);

#endif
