/*
 * manifestcheck.h: a source's manifest held to the objects it describes,
 * whichever front end wrote it (the trigger into s3rver, imgpipe resize
 * into a folder): every variant's bytes, SHA-256, decoded size and type;
 * srcset entries narrowest first and naming only variants of their format;
 * the placeholder's colour, tiny image, ThumbHash and BlurHash (decoded by
 * the reference implementations) looking like the largest variant.
 */
#ifndef TU_MANIFESTCHECK_H
#define TU_MANIFESTCHECK_H

#include <jansson.h>
#include <stddef.h>

/* The bytes of the object at key (malloc'd; *len set), or NULL. */
typedef void *(*tu_fetch_fn)(void *ud, const char *key, size_t *len);

/* Fails the test on any mismatch; returns the parsed manifest. */
json_t *tu_check_manifest(const char *text, size_t len, tu_fetch_fn fetch, void *ud,
                          const char *source_key, size_t nvariants);

#endif
