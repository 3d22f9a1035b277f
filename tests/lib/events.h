/*
 * events.h: the S3-shaped events tests send (S3 notifications, SQS
 * batches), made from the fixtures in testdata/events: s3-put.json's
 * record and sqs-s3.json's message carry every field AWS sends, and a
 * test names only the fields it is about. It decides nothing: NULL when a
 * fixture cannot be read, and the test asserts.
 */
#ifndef IMGP_TEST_EVENTS_H
#define IMGP_TEST_EVENTS_H

#include <jansson.h>
#include <stddef.h>

/* One object of a notification. */
struct tu_object {
	const char *bucket;
	const char *key;       /* as the notification carries it: tu_s3_key_encode */
	const char *etag;      /* unquoted; NULL: no eTag (no idempotent skip) */
	long long size;        /* < 0: no size */
};

/*
 * S3's form encoding of a key into a notification: letters, digits and
 * "-_.*" and '/' kept, a space '+', every other byte %XX (so '+' is %2B,
 * UTF-8 one %XX per byte). Caller frees.
 */
char *tu_s3_key_encode(const char *key);

/* s3-put.json's record for o (ObjectCreated:Put, aws:s3): a new reference;
 * set other fields on it (eventSource, eventName) as a store's dialect does. */
json_t *tu_s3_record(const struct tu_object *o);

/* {"Records": records} as compact text, stealing records (a JSON array
 * of them, or one record); caller frees. */
char *tu_records_text(json_t *records);

/* {"Records": [...]} of n objects: the S3 notification, as text. */
char *tu_s3_event(const struct tu_object *objs, size_t n);

/* An SQS batch (sqs-s3.json's message): message i has ids[i] and, as its
 * body, the text bodies[i] (an S3 notification). */
char *tu_sqs_event(const char *const *ids, const char *const *bodies, size_t n);

#endif
