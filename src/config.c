/*
 * config.c: the settings of the job, the front ends and imgpipe serve,
 * from the environment (settings.c) with a command line's flags over it,
 * each value checked before anything runs: a bad one stops the start with
 * a message naming the variable or the flag.
 */
#include "config_impl.h"
#include "settings.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"

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
	if(!imgp_config_parse_int(v, lo, hi, &n))
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
	/* Azure Functions' custom handler port wins over PORT */
	{ "FUNCTIONS_CUSTOMHANDLER_PORT", "port", offsetof(struct imgp_serve_config, port), 0,
	  65535 },
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

	if(!imgp_config_parse_int(value, k->min, k->max, &n))
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
	                                  IMGP_SERVE_DEFAULT_MAX_BODY, NULL, false };
	if((v = imgp_env("IMGPIPE_LISTEN")))
		snprintf(sc->listen, sizeof(sc->listen), "%s", v);
	for(size_t i = 0; i < sizeof(serve_knobs) / sizeof(serve_knobs[0]); i++)
		if((v = imgp_env(serve_knobs[i].env)) &&
		   serve_knob_set(sc, &serve_knobs[i], v, false, err))
			return IMGP_E_USAGE;
	sc->functions = imgp_env("FUNCTIONS_CUSTOMHANDLER_PORT") != NULL;
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
