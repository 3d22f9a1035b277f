/*
 * settings.h: every environment variable imgpipe reads, in one table
 * (settings.c), read through one helper. No other file calls getenv: a
 * setting is found by its name here, and the docs' table of settings is
 * checked against this one.
 */
#ifndef IMGP_SETTINGS_H
#define IMGP_SETTINGS_H

#include <stddef.h>

/* One variable: its name, who sets it, what it means. */
struct imgp_setting {
	const char *name;
	const char *group;          /* "imgpipe", "serve", "aws", "lambda", "google", "system" */
	const char *meaning;
};

/*
 * The value of a variable of the table, or NULL when it is unset or
 * empty (an empty value is no value, as the AWS SDKs take it). A name
 * missing from the table is a bug: it says so on stderr and aborts, so a
 * setting cannot be read without being listed (and documented).
 */
const char *imgp_env(const char *name);

/* The same, but a variable set to "" is "" (NULL only when unset): for
 * the settings whose empty value means something (IMGPIPE_MANIFEST_KEY=:
 * no manifest). */
const char *imgp_env_set(const char *name);

/* The table, for the docs' check; *n its length. */
const struct imgp_setting *imgp_settings(size_t *n);

#endif
