/*
 * events.c: see events.h. The fixtures are read once per process from
 * IMGPIPE_SRCDIR/testdata/events.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The first element of a fixture's Records (a new reference), or NULL. */
static json_t *fixture_record(const char *name)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc, *rec;

	snprintf(path, sizeof(path), "%s/testdata/events/%s", tu_srcdir(), name);
	doc = json_load_file(path, 0, &jerr);
	if(!doc) {
		fprintf(stderr, "events: %s: %s\n", path, jerr.text);
		return NULL;
	}
	rec = json_deep_copy(json_array_get(json_object_get(doc, "Records"), 0));
	json_decref(doc);
	return rec;
}

char *tu_s3_key_encode(const char *key)
{
	char *out = malloc(strlen(key) * 3 + 1), *p = out;

	for(const unsigned char *c = (const unsigned char *)key; out && *c; c++) {
		if((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		   strchr("-_.*/", *c))
			*p++ = (char)*c;
		else if(*c == ' ')
			*p++ = '+';
		else
			p += sprintf(p, "%%%02X", *c);
	}
	if(out)
		*p = '\0';
	return out;
}

json_t *tu_s3_record(const struct tu_object *o)
{
	json_t *rec = fixture_record("s3-put.json"), *s3, *object;
	char arn[1200];

	s3 = json_object_get(rec, "s3");
	object = json_object_get(s3, "object");
	if(!object)
		return NULL;
	snprintf(arn, sizeof(arn), "arn:aws:s3:::%s", o->bucket);
	json_object_set_new(json_object_get(s3, "bucket"), "name", json_string(o->bucket));
	json_object_set_new(json_object_get(s3, "bucket"), "arn", json_string(arn));
	json_object_set_new(object, "key", json_string(o->key));
	if(o->etag)
		json_object_set_new(object, "eTag", json_string(o->etag));
	else
		json_object_del(object, "eTag");
	if(o->size >= 0)
		json_object_set_new(object, "size", json_integer(o->size));
	else
		json_object_del(object, "size");
	return rec;
}

char *tu_records_text(json_t *records)
{
	json_t *list = json_is_array(records) ? records : json_pack("[o]", records);
	json_t *doc = list ? json_pack("{s:o}", "Records", list) : NULL;
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}

char *tu_s3_event(const struct tu_object *objs, size_t n)
{
	json_t *list = json_array();

	for(size_t i = 0; i < n; i++) {
		json_t *rec = tu_s3_record(&objs[i]);

		if(!rec) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, rec);
	}
	return tu_records_text(list);
}

char *tu_sqs_event(const char *const *ids, const char *const *bodies, size_t n)
{
	json_t *list = json_array();

	for(size_t i = 0; i < n; i++) {
		json_t *msg = fixture_record("sqs-s3.json");

		if(!msg) {
			json_decref(list);
			return NULL;
		}
		json_object_set_new(msg, "messageId", json_string(ids[i]));
		json_object_set_new(msg, "body", json_string(bodies[i]));
		json_array_append_new(list, msg);
	}
	return tu_records_text(list);
}
