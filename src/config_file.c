/*
 * config_file.c: the JSON config file (IMGPIPE_CONFIG, --config): variants
 * and limits, each option checked by spec.c as the spec's are. No I/O but
 * reading the file.
 */
#include "config_impl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	imgp_spec_variant_init(v);
	if(!json_is_object(obj) || !json_is_string(json_object_get(obj, "name")))
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: each entry of \"variants\" must be an object with a \"name\"", origin);
	result = imgp_spec_set_name(v, json_string_value(json_object_get(obj, "name")), err);
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

			if(!imgp_config_parse_int(text, 1, IMGP_MAX_DIMENSION, &n))
				return imgp_fail(err, IMGP_E_CONFIG,
					"%s: variant \"%s\": %s=%s is out of range 1-%d",
					origin, v->name, key, text, IMGP_MAX_DIMENSION);
			*(key[0] == 'w' ? &v->width : &v->height) = (int)n;
		}
		else if(!strcmp(key, "size"))
			result = imgp_spec_parse_size(v, text, err);
		else if((result = imgp_spec_set_option(v, key, text, err)) && strstr(err, "unknown option"))
			/* in a file, the size's keys are known too */
			result = imgp_fail(err, IMGP_E_CONFIG, "%s: variant \"%s\": unknown key \"%s\" "
				"(known: name, width, height, size, " OPTION_NAMES ")", origin, v->name, key);
		if(result)
			return result;
	}
	if(!v->width && !v->height)
		return imgp_fail(err, IMGP_E_CONFIG,
			"%s: variant \"%s\" needs a width, a height or both", origin, v->name);
	return imgp_spec_check_variant(v, err);
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
		if(imgp_spec_name_taken(parsed, nv, parsed[nv].name)) {
			result = imgp_fail(err, IMGP_E_CONFIG,
				"%s: variant \"%s\" is defined twice", origin, parsed[nv].name);
			goto out;
		}
		nv++;
		if((result = imgp_spec_expand_formats(parsed, &nv, err)))
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

