/*
 * event.c: every trigger shape in, one list of object refs out (the
 * replies are reply.c's).
 *
 * Pure: no I/O, no clock, no environment. It must never crash or misread
 * on any JSON (every field is type-checked before use), and never copy an
 * event into an error message: events can be large and can hold secrets,
 * so errors name record indexes, field names and top-level keys only.
 *
 * The rules, in one place:
 *  - keys of S3 notifications (direct, through SQS or SNS) and of S3 Batch
 *    Operations tasks (schema 1.0 and 2.0: Batch passes the manifest's
 *    URL-encoded keys through, as AWS's own examples show by decoding
 *    them) are form-encoded: "+" is a space, %xx a byte. EventBridge and
 *    direct keys are literal. A decoded key must be 1-1024 bytes of UTF-8
 *    without NUL;
 *  - ObjectCreated:* is CREATED, ObjectRemoved:* and
 *    LifecycleExpiration:Delete are REMOVED, every other event name is
 *    IGNORED (but still a ref, so it is reported); EventBridge "Object
 *    Created" / "Object Deleted" likewise;
 *  - the unit of retry is the item: an SQS message, a Batch task, else the
 *    invocation. A message or task that cannot be read can never succeed,
 *    so it becomes a ref-less item with an error, which is reported as a
 *    permanent failure and never retried (a retried poison message loops
 *    until its queue's redrive policy gives up). Anything wrong elsewhere
 *    fails the whole invocation with IMGP_E_USAGE;
 *  - an s3:TestEvent, alone or in an SQS message or SNS notification, is a
 *    ref-less item with test_event set: nothing to do, nothing to retry;
 *  - MinIO posts S3 records (eventSource "minio:s3", keys form-encoded as
 *    S3's, plus its own top-level "EventName" and "Key"); Ceph RGW posts
 *    them with eventSource "ceph:s3", its keys literal and its sizes
 *    strings. Cloud Storage names are literal, its generation is the
 *    ref's version, and its md5Hash (base64) becomes the ETag in hex, as
 *    its XML API answers it (composite objects have none: the generation
 *    alone then identifies the source);
 *  - a CloudEvent's type decides how its data is read; a type imgpipe does
 *    not know, carrying data it cannot read either, is IMGP_E_USAGE naming
 *    the type, never a silent success.
 */
#include "event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define ACCEPTED "accepted: S3, SQS, SNS, EventBridge and S3 Batch Operations " \
                 "events, or {\"bucket\": ..., \"key\": ...}; over HTTP also " \
                 "CloudEvents and Pub/Sub pushes of Cloud Storage notifications"
#define MAX_BUCKET 255          /* S3 allows 63; generous, but bounded */

/* Parsing state: the event being filled and whether an error must end the
 * whole invocation (limits, memory) rather than just one item. */
struct parser {
	struct imgp_event *ev;
	size_t cap_refs, cap_items;
	bool fatal;
};

static const char *const trigger_names[] = {
	"s3", "sqs", "sns", "eventbridge", "batch", "direct", "cloudevents", "pubsub"
};

const char *imgp_trigger_name(enum imgp_trigger trigger)
{
	if((unsigned)trigger >= sizeof(trigger_names) / sizeof(trigger_names[0]))
		return "unknown";
	return trigger_names[trigger];
}

/* --- bytes: key decoding ---------------------------------------------- */

/* Decode "+" and %xx into *out. IMGP_E_USAGE on a malformed escape or
 * %00 (no S3 key holds a NUL), IMGP_E_NOMEM. */
static enum imgp_status key_decode(const char *in, char **out)
{
	char *o = imgp_malloc(strlen(in) + 1);
	int hi, lo;

	*out = o;
	if(!o)
		return IMGP_E_NOMEM;
	for(const char *s = in; *s; s++) {
		if(*s == '+')
			*o++ = ' ';
		else if(*s != '%')
			*o++ = *s;
		else if((hi = imgp_hexval(s[1])) >= 0 && (lo = imgp_hexval(s[2])) >= 0 && (hi | lo)) {
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		}
		else {
			imgp_free(*out);
			*out = NULL;
			return IMGP_E_USAGE;
		}
	}
	*o = '\0';
	return IMGP_OK;
}

char *imgp_event_decode_key(const char *encoded)
{
	char *out;

	if(!encoded || key_decode(encoded, &out))
		return NULL;
	return out;
}

/* --- describing what was received, without copying it ---------------- */

/* Append printf output to buf (size bytes), truncating quietly. */
static void appendf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if(len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* A name from the event, made safe to quote: at most 32 bytes (then
 * "..."), anything but printable ASCII, quotes and backslashes shown as
 * '?'. out holds at least 36 bytes. */
static void safe_name(const char *s, char *out)
{
	size_t i = 0;

	for(; s[i] && i < 32; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c < 0x20 || c > 0x7E || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if(s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* "an object with keys "a", "b" and 3 more", "a number", ... */
static void describe(json_t *v, char *buf, size_t size)
{
	const char *key;
	json_t *value;
	size_t n = 0, total;
	char name[40];

	buf[0] = '\0';
	switch(json_typeof(v)) {
	case JSON_OBJECT:
		total = json_object_size(v);
		if(!total) {
			appendf(buf, size, "an empty object");
			break;
		}
		appendf(buf, size, "an object with key%s ", total == 1 ? "" : "s");
		json_object_foreach(v, key, value) {
			if(n == 6)
				break;
			safe_name(key, name);
			appendf(buf, size, "%s\"%s\"", n ? ", " : "", name);
			n++;
		}
		if(total > n)
			appendf(buf, size, " and %zu more", total - n);
		break;
	case JSON_ARRAY:
		appendf(buf, size, "%s", json_array_size(v) ? "a list" : "an empty list");
		break;
	case JSON_STRING: appendf(buf, size, "a string"); break;
	case JSON_INTEGER:
	case JSON_REAL: appendf(buf, size, "a number"); break;
	case JSON_TRUE:
	case JSON_FALSE: appendf(buf, size, "a boolean"); break;
	default: appendf(buf, size, "null"); break;
	}
}

/* --- building the event ----------------------------------------------- */

static void ref_release(struct imgp_ref *r)
{
	imgp_free(r->bucket);
	imgp_free(r->key);
	imgp_free(r->version_id);
	imgp_free(r->etag);
	imgp_free(r->event_name);
	memset(r, 0, sizeof(*r));
}

void imgp_event_release(struct imgp_event *ev)
{
	if(!ev)
		return;
	for(size_t i = 0; i < ev->nrefs; i++)
		ref_release(&ev->refs[i]);
	for(size_t i = 0; i < ev->nitems; i++) {
		imgp_free(ev->items[i].id);
		imgp_free(ev->items[i].error);
	}
	imgp_free(ev->refs);
	imgp_free(ev->items);
	imgp_free(ev->batch_schema);
	imgp_free(ev->batch_invocation_id);
	imgp_free(ev->event_id);
	memset(ev, 0, sizeof(*ev));
}

static enum imgp_status nomem(struct parser *p, char *err)
{
	p->fatal = true;
	return imgp_fail(err, IMGP_E_NOMEM, "out of memory reading the event");
}

static enum imgp_status too_many(struct parser *p, char *err)
{
	p->fatal = true;
	return imgp_fail(err, IMGP_E_USAGE,
		"the event holds more than %d objects or messages; imgpipe takes at "
		"most %d per invocation (for SQS, lower the batch size)",
		IMGP_EVENT_MAX_REFS, IMGP_EVENT_MAX_REFS);
}

/* A new item (id may be NULL); its index in *index. */
static enum imgp_status add_item(struct parser *p, const char *id, size_t *index,
                                 char *err)
{
	struct imgp_event *ev = p->ev;
	struct imgp_item *item;

	if(ev->nitems >= IMGP_EVENT_MAX_REFS)
		return too_many(p, err);
	if(!imgp_grow((void **)&ev->items, &p->cap_items, ev->nitems, sizeof(*ev->items)))
		return nomem(p, err);
	item = &ev->items[ev->nitems];
	memset(item, 0, sizeof(*item));
	if(id && !(item->id = imgp_strdup(id)))
		return nomem(p, err);
	*index = ev->nitems++;
	return IMGP_OK;
}

/* Drop the refs from index n on: an item that turned out unreadable
 * must not keep the refs read before the error. */
static void drop_refs(struct imgp_event *ev, size_t n)
{
	while(ev->nrefs > n)
		ref_release(&ev->refs[--ev->nrefs]);
}

/* One object, as read from any shape. Strings are the event's own
 * (jansson's), copied into the ref by add_ref. */
struct ref_in {
	json_t *bucket;             /* string */
	json_t *key;                /* string */
	bool encoded;               /* key is form-encoded */
	json_t *version;            /* string, null or absent */
	json_t *etag;               /* string or ignored */
	json_t *size;               /* integer, string of digits, or ignored */
	enum imgp_action action;
	const char *event_name;
};

/* Is s 1-19 decimal digits (a uint64 without overflow worries)? */
static bool digits(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n && n <= 19 && !s[n];
}

/* The checks every ref passes, whatever its shape; where names it
 * ("record 2"). */
static enum imgp_status check_ref(const struct ref_in *in, const char *where,
                                  char *err)
{
	const char *bucket = json_string_value(in->bucket);

	if(!bucket || !*bucket)
		return imgp_fail(err, IMGP_E_USAGE, "%s: the bucket name is %s", where,
		                 bucket ? "empty" : "missing or not a string");
	if(strlen(bucket) > MAX_BUCKET || strchr(bucket, '/'))
		return imgp_fail(err, IMGP_E_USAGE, "%s: the bucket name is not valid", where);
	if(!json_is_string(in->key))
		return imgp_fail(err, IMGP_E_USAGE, "%s: the key is missing or not a string",
		                 where);
	if(in->version && !json_is_null(in->version) && !json_is_string(in->version))
		return imgp_fail(err, IMGP_E_USAGE, "%s: the version id is not a string", where);
	return IMGP_OK;
}

static enum imgp_status add_ref(struct parser *p, size_t item, const struct ref_in *in,
                                const char *where, char *err)
{
	enum imgp_status result;
	struct imgp_event *ev = p->ev;
	struct imgp_ref *r;
	const char *version = json_string_value(in->version);
	const char *etag = json_string_value(in->etag);
	char *key = NULL;
	size_t len;

	result = check_ref(in, where, err);
	if(result)
		return result;
	if(!in->encoded)
		key = imgp_strdup(json_string_value(in->key));
	else if((result = key_decode(json_string_value(in->key), &key)) == IMGP_E_USAGE)
		return imgp_fail(err, IMGP_E_USAGE,
			"%s: the key has a malformed %%-escape (S3 encodes keys as "
			"\"+\" for a space and %%xx for a byte)", where);
	if(!key)
		return nomem(p, err);
	len = strlen(key);
	if(!len || len > IMGP_EVENT_MAX_KEY || !imgp_utf8_valid(key, len)) {
		imgp_free(key);
		if(!len)
			return imgp_fail(err, IMGP_E_USAGE, "%s: the key is empty", where);
		if(len > IMGP_EVENT_MAX_KEY)
			return imgp_fail(err, IMGP_E_USAGE,
				"%s: the key is %zu bytes, over S3's limit of %d", where, len,
				IMGP_EVENT_MAX_KEY);
		return imgp_fail(err, IMGP_E_USAGE, "%s: the key is not UTF-8 once decoded",
		                 where);
	}
	if(ev->nrefs >= IMGP_EVENT_MAX_REFS) {
		imgp_free(key);
		return too_many(p, err);
	}
	if(!imgp_grow((void **)&ev->refs, &p->cap_refs, ev->nrefs, sizeof(*ev->refs))) {
		imgp_free(key);
		return nomem(p, err);
	}
	r = &ev->refs[ev->nrefs++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->item = item;
	r->action = in->action;
	r->bucket = imgp_strdup(json_string_value(in->bucket));
	if(json_is_integer(in->size) && json_integer_value(in->size) > 0)
		r->size = (uint64_t)json_integer_value(in->size);
	else if(json_is_string(in->size) && digits(json_string_value(in->size)))
		r->size = strtoull(json_string_value(in->size), NULL, 10);
	if(!r->bucket || (version && *version && !(r->version_id = imgp_strdup(version))) ||
	   (etag && *etag && !(r->etag = imgp_strdup(etag))) ||
	   (in->event_name && !(r->event_name = imgp_strdup(in->event_name))))
		return nomem(p, err);
	return IMGP_OK;
}

/* --- S3 notifications ------------------------------------------------- */

static enum imgp_action s3_action(const char *name)
{
	if(!name)
		return IMGP_ACTION_IGNORED;
	if(!strncmp(name, "s3:", 3))
		name += 3;
	if(!strncmp(name, "ObjectCreated:", 14))
		return IMGP_ACTION_CREATED;
	if(!strncmp(name, "ObjectRemoved:", 14) || !strcmp(name, "LifecycleExpiration:Delete"))
		return IMGP_ACTION_REMOVED;
	return IMGP_ACTION_IGNORED;
}

static bool is_test_event(json_t *doc)
{
	const char *event = json_string_value(json_object_get(doc, "Event"));

	return event && !strcmp(event, "s3:TestEvent");
}

/* Records[i] of an S3 notification: {"eventName", "s3": {"bucket": {"name"},
 * "object": {"key", "size", "eTag", "versionId"}}}. */
static enum imgp_status s3_record(struct parser *p, json_t *rec, size_t item,
                                  const char *where, char *err)
{
	json_t *s3 = json_object_get(rec, "s3");
	json_t *object = json_object_get(s3, "object");
	const char *name = json_string_value(json_object_get(rec, "eventName"));
	const char *source = json_string_value(json_object_get(rec, "eventSource"));
	struct ref_in in = {
		.bucket = json_object_get(json_object_get(s3, "bucket"), "name"),
		.key = json_object_get(object, "key"),
		/* Ceph RGW writes the key as it is; AWS and MinIO encode it */
		.encoded = !source || strcmp(source, "ceph:s3"),
		.version = json_object_get(object, "versionId"),
		.etag = json_object_get(object, "eTag"),
		.size = json_object_get(object, "size"),
		.action = s3_action(name),
		.event_name = name,
	};

	if(!json_is_object(s3) || !json_is_object(object))
		return imgp_fail(err, IMGP_E_USAGE, "%s: not an S3 record (no s3.object)", where);
	return add_ref(p, item, &in, where, err);
}

/*
 * A parsed S3 notification into refs of item: {"Records": [...]}, an
 * s3:TestEvent, or (when sns_ok) an SNS envelope {"Type": "Notification",
 * "Message": "<one of those>"}, as SQS delivers an SNS subscription's
 * messages without raw delivery.
 */
static enum imgp_status s3_notification(struct parser *p, json_t *doc, size_t item,
                                        bool sns_ok, const char *where, char *err)
{
	enum imgp_status result;
	json_t *records = json_object_get(doc, "Records");
	const char *message = json_string_value(json_object_get(doc, "Message"));
	char what[160], at[96];

	if(is_test_event(doc)) {
		p->ev->items[item].test_event = true;
		return IMGP_OK;
	}
	if(json_is_array(records)) {
		for(size_t i = 0; i < json_array_size(records); i++) {
			json_t *rec = json_array_get(records, i);

			snprintf(at, sizeof(at), "%srecord %zu", where, i);
			if(!json_is_object(json_object_get(rec, "s3")))
				return imgp_fail(err, IMGP_E_USAGE, "%s is not an S3 record", at);
			result = s3_record(p, rec, item, at, err);
			if(result)
				return result;
		}
		return IMGP_OK;
	}
	if(sns_ok && message) {
		json_error_t jerr;
		json_t *inner;

		snprintf(at, sizeof(at), "%sMessage: ", where);
		inner = json_loads(message, JSON_REJECT_DUPLICATES, &jerr);
		if(!inner)
			return imgp_fail(err, IMGP_E_USAGE, "%sMessage is not JSON", where);
		result = s3_notification(p, inner, item, false, at, err);
		json_decref(inner);
		return result;
	}
	describe(doc, what, sizeof(what));
	return imgp_fail(err, IMGP_E_USAGE,
		"%snot an S3 notification%s or s3:TestEvent, but %s", where,
		sns_ok ? ", an SNS envelope of one" : "", what);
}

/* One SQS message: an item named by messageId, whose body is read by
 * s3_notification. A body that cannot be read makes the item's error. */
static enum imgp_status sqs_record(struct parser *p, json_t *rec, size_t index,
                                   char *err)
{
	enum imgp_status result;
	const char *id = json_string_value(json_object_get(rec, "messageId"));
	json_t *body = json_object_get(rec, "body");
	size_t item, first = p->ev->nrefs;
	char why[IMGP_ERRSIZE] = "";
	json_t *doc = NULL;
	json_error_t jerr;

	if(!id || !*id)
		return imgp_fail(err, IMGP_E_USAGE,
			"record %zu: an SQS message without a messageId", index);
	result = add_item(p, id, &item, err);
	if(result)
		return result;
	if(!json_is_string(body))
		result = imgp_fail(why, IMGP_E_USAGE, "the message body is not a string");
	else if(!(doc = json_loadb(json_string_value(body), json_string_length(body),
	                           JSON_REJECT_DUPLICATES, &jerr)))
		result = imgp_fail(why, IMGP_E_USAGE, "the message body is not JSON");
	else
		result = s3_notification(p, doc, item, true, "", why);
	json_decref(doc);
	if(!result)
		return IMGP_OK;
	if(p->fatal) {
		snprintf(err, IMGP_ERRSIZE, "%s", why);
		return result;
	}
	drop_refs(p->ev, first);
	if(!(p->ev->items[item].error = imgp_strdup(why)))
		return nomem(p, err);
	return IMGP_OK;
}

/* One SNS notification of an S3 notification: Sns.Message. */
static enum imgp_status sns_record(struct parser *p, json_t *rec, size_t index,
                                   char *err)
{
	enum imgp_status result;
	const char *message = json_string_value(json_object_get(json_object_get(rec, "Sns"),
	                                                        "Message"));
	char where[64];
	json_error_t jerr;
	json_t *doc;

	if(!message)
		return imgp_fail(err, IMGP_E_USAGE,
			"record %zu: an SNS record without Sns.Message", index);
	if(!(doc = json_loads(message, JSON_REJECT_DUPLICATES, &jerr)))
		return imgp_fail(err, IMGP_E_USAGE, "record %zu: Sns.Message is not JSON", index);
	snprintf(where, sizeof(where), "record %zu: Sns.Message: ", index);
	result = s3_notification(p, doc, 0, false, where, err);
	json_decref(doc);
	return result;
}

static bool str_is(json_t *v, const char *s)
{
	return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* Which trigger one of Records[] comes from, or -1. */
static int record_kind(json_t *rec)
{
	if(str_is(json_object_get(rec, "eventSource"), "aws:sqs"))
		return IMGP_TRIGGER_SQS;
	if(str_is(json_object_get(rec, "EventSource"), "aws:sns") ||
	   json_is_object(json_object_get(rec, "Sns")))
		return IMGP_TRIGGER_SNS;
	if(json_is_object(json_object_get(rec, "s3")))
		return IMGP_TRIGGER_S3;       /* aws:s3, and look-alikes (minio:s3) */
	return -1;
}

/* {"Records": [...]}: S3, SQS or SNS, told apart by the first record; all
 * records must be of one kind. */
static enum imgp_status records(struct parser *p, json_t *list, char *err)
{
	enum imgp_status result = IMGP_OK;
	struct imgp_event *ev = p->ev;
	size_t n = json_array_size(list), item;
	char what[160], where[32];
	int kind = -1;

	if(!json_is_array(list)) {
		describe(list, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE, "\"Records\" is %s, not a list", what);
	}
	if(!n)
		return imgp_fail(err, IMGP_E_USAGE, "\"Records\" is empty");
	for(size_t i = 0; i < n && !result; i++) {
		json_t *rec = json_array_get(list, i);
		int k = record_kind(rec);

		if(k < 0) {
			describe(rec, what, sizeof(what));
			return imgp_fail(err, IMGP_E_USAGE,
				"record %zu is not an S3, SQS or SNS record, but %s", i, what);
		}
		if(!i) {
			kind = k;
			ev->trigger = (enum imgp_trigger)k;
			if(k != IMGP_TRIGGER_SQS && (result = add_item(p, NULL, &item, err)))
				return result;
		}
		else if(k != kind)
			return imgp_fail(err, IMGP_E_USAGE, "record %zu is %s, but record 0 is %s",
			                 i, imgp_trigger_name(k), imgp_trigger_name(kind));
		snprintf(where, sizeof(where), "record %zu", i);
		if(k == IMGP_TRIGGER_SQS)
			result = sqs_record(p, rec, i, err);
		else if(k == IMGP_TRIGGER_SNS)
			result = sns_record(p, rec, i, err);
		else
			result = s3_record(p, rec, 0, where, err);
	}
	return result;
}

/* --- EventBridge, Batch, direct --------------------------------------- */

static enum imgp_status eventbridge(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;
	const char *type = json_string_value(json_object_get(root, "detail-type"));
	json_t *detail = json_object_get(root, "detail");
	json_t *object = json_object_get(detail, "object");
	struct ref_in in = {
		.bucket = json_object_get(json_object_get(detail, "bucket"), "name"),
		.key = json_object_get(object, "key"),
		.version = json_object_get(object, "version-id"),
		.etag = json_object_get(object, "etag"),
		.size = json_object_get(object, "size"),
		.action = IMGP_ACTION_IGNORED,
		.event_name = type,
	};
	size_t item;

	p->ev->trigger = IMGP_TRIGGER_EVENTBRIDGE;
	if(!type || !json_is_object(detail))
		return imgp_fail(err, IMGP_E_USAGE,
			"an EventBridge event without a \"detail-type\" string or a \"detail\" object");
	if(!strcmp(type, "Object Created"))
		in.action = IMGP_ACTION_CREATED;
	else if(!strcmp(type, "Object Deleted"))
		in.action = IMGP_ACTION_REMOVED;
	result = add_item(p, NULL, &item, err);
	if(!result)
		result = add_ref(p, item, &in, "detail", err);
	return result;
}

/* The bucket of a Batch task: "s3Bucket" (schema 2.0) or the last part of
 * "s3BucketArn" (1.0: "arn:aws:s3:::bucket"). */
static json_t *batch_bucket(json_t *task, json_t **owned)
{
	json_t *bucket = json_object_get(task, "s3Bucket");
	const char *arn = json_string_value(json_object_get(task, "s3BucketArn"));
	const char *colon;

	*owned = NULL;
	if(json_is_string(bucket) || !arn)
		return bucket;
	if(strncmp(arn, "arn:", 4) || !(colon = strrchr(arn, ':')))
		return NULL;
	return *owned = json_string(colon + 1);
}

static enum imgp_status batch_task(struct parser *p, json_t *task, size_t index,
                                   char *err)
{
	enum imgp_status result;
	const char *id = json_string_value(json_object_get(task, "taskId"));
	json_t *owned;
	struct ref_in in = {
		.bucket = batch_bucket(task, &owned),
		.key = json_object_get(task, "s3Key"),
		.encoded = true,
		.version = json_object_get(task, "s3VersionId"),
		.action = IMGP_ACTION_CREATED,
	};
	char why[IMGP_ERRSIZE], where[32];
	size_t item;

	if(!id || !*id) {
		result = imgp_fail(err, IMGP_E_USAGE, "tasks[%zu] has no \"taskId\"", index);
		goto out;
	}
	result = add_item(p, id, &item, err);
	if(result)
		goto out;
	snprintf(where, sizeof(where), "task %zu", index);
	result = add_ref(p, item, &in, where, why);
	if(result && p->fatal)
		snprintf(err, IMGP_ERRSIZE, "%s", why);
	else if(result) {
		result = IMGP_OK;
		if(!(p->ev->items[item].error = imgp_strdup(why)))
			result = nomem(p, err);
	}
out:
	json_decref(owned);
	return result;
}

static enum imgp_status batch(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result = IMGP_OK;
	struct imgp_event *ev = p->ev;
	const char *schema = json_string_value(json_object_get(root, "invocationSchemaVersion"));
	const char *id = json_string_value(json_object_get(root, "invocationId"));
	json_t *tasks = json_object_get(root, "tasks");

	ev->trigger = IMGP_TRIGGER_BATCH;
	if(!schema || !id || !json_is_array(tasks) || !json_array_size(tasks))
		return imgp_fail(err, IMGP_E_USAGE,
			"an S3 Batch Operations event needs \"invocationSchemaVersion\" and "
			"\"invocationId\" strings and a non-empty \"tasks\" list");
	if(!(ev->batch_schema = imgp_strdup(schema)) ||
	   !(ev->batch_invocation_id = imgp_strdup(id)))
		return nomem(p, err);
	for(size_t i = 0; i < json_array_size(tasks) && !result; i++)
		result = batch_task(p, json_array_get(tasks, i), i, err);
	return result;
}

/* {"bucket", "key", "versionId"?}: keys literal. */
static enum imgp_status direct_ref(struct parser *p, json_t *obj, const char *where,
                                   char *err)
{
	struct ref_in in = {
		.bucket = json_object_get(obj, "bucket"),
		.key = json_object_get(obj, "key"),
		.version = json_object_get(obj, "versionId"),
		.etag = json_object_get(obj, "etag"),
		.size = json_object_get(obj, "size"),
		.action = IMGP_ACTION_CREATED,
	};
	char what[160];

	if(!json_is_object(obj)) {
		describe(obj, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE,
			"%s is %s, not {\"bucket\": ..., \"key\": ...}", where, what);
	}
	return add_ref(p, 0, &in, where, err);
}

static enum imgp_status direct(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;
	json_t *list = json_is_array(root) ? root : json_object_get(root, "refs");
	char where[32];
	size_t item;

	p->ev->trigger = IMGP_TRIGGER_DIRECT;
	result = add_item(p, NULL, &item, err);
	if(result)
		return result;
	if(!list)
		return direct_ref(p, root, "the event", err);
	if(!json_is_array(list))
		return imgp_fail(err, IMGP_E_USAGE, "\"refs\" is not a list");
	if(!json_array_size(list))
		return imgp_fail(err, IMGP_E_USAGE, "the list of objects is empty");
	for(size_t i = 0; i < json_array_size(list); i++) {
		snprintf(where, sizeof(where), "element %zu", i);
		result = direct_ref(p, json_array_get(list, i), where, err);
		if(result)
			return result;
	}
	return IMGP_OK;
}

/* --- Cloud Storage, Pub/Sub and CloudEvents ----------------------------- */

#define GCS_TYPE "google.cloud.storage.object.v1."
#define PUBSUB_TYPE "google.cloud.pubsub.topic.v1.messagePublished"
#define MAX_B64 (8u << 20)      /* a Pub/Sub message is at most 10 MB */

static int b64_value(unsigned char c)
{
	if(c >= 'A' && c <= 'Z')
		return c - 'A';
	if(c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if(c >= '0' && c <= '9')
		return c - '0' + 52;
	if(c == '+' || c == '-')
		return 62;
	if(c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * Base64 (standard or URL-safe alphabet, padding optional) into a new
 * NUL-ended buffer of *len bytes. IMGP_E_USAGE when it is not base64,
 * IMGP_E_NOMEM.
 */
static enum imgp_status b64_decode(const char *in, size_t n, unsigned char **out,
                                   size_t *len)
{
	unsigned char *o;
	uint32_t acc = 0;
	int bits = 0;

	*out = NULL;
	*len = 0;
	while(n && in[n - 1] == '=')
		n--;
	if(n > MAX_B64 || n % 4 == 1)
		return IMGP_E_USAGE;
	if(!(o = imgp_malloc(n / 4 * 3 + 3)))
		return IMGP_E_NOMEM;
	for(size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);

		if(v < 0) {
			imgp_free(o);
			return IMGP_E_USAGE;
		}
		acc = acc << 6 | (uint32_t)v;
		if((bits += 6) >= 8) {
			bits -= 8;
			o[(*len)++] = (unsigned char)(acc >> bits);
		}
	}
	o[*len] = '\0';
	*out = o;
	return IMGP_OK;
}

/*
 * JSON carried as base64 text (Pub/Sub's message.data, a CloudEvent's
 * data_base64) into *out, a new reference, NULL when the bytes are not
 * JSON. IMGP_E_USAGE when the text is not base64, IMGP_E_NOMEM.
 */
static enum imgp_status b64_json(const json_t *text, json_t **out)
{
	unsigned char *raw;
	size_t len;
	json_error_t jerr;
	enum imgp_status result = b64_decode(json_string_value(text), json_string_length(text),
	                                     &raw, &len);

	*out = NULL;
	if(result)
		return result;
	*out = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &jerr);
	imgp_free(raw);
	return IMGP_OK;
}

/* A Cloud Storage md5Hash (base64 of 16 bytes) as the 32 hex digits its
 * XML API's ETag is; false when it is absent or not an MD5. */
static bool md5_hex(const char *b64, char hex[33])
{
	unsigned char *raw;
	size_t len;
	bool ok;

	if(!b64 || b64_decode(b64, strlen(b64), &raw, &len))
		return false;
	ok = len == 16;
	for(size_t i = 0; ok && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	imgp_free(raw);
	return ok;
}

/* A generation or size, which Cloud Storage writes as a string of digits
 * (a JSON integer is taken too), as a new JSON string; NULL when v is
 * absent; *bad when it is there but neither. */
static json_t *number_string(json_t *v, bool *bad)
{
	char buf[32];

	*bad = false;
	if(!v || json_is_null(v))
		return NULL;
	if(json_is_string(v) && digits(json_string_value(v)))
		return json_incref(v);
	if(json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return json_string(buf);
	}
	*bad = true;
	return NULL;
}

/* Copy an event id (CloudEvents id, Pub/Sub messageId) into the event. */
static enum imgp_status set_event_id(struct parser *p, const char *id, char *err)
{
	if(!id || !*id || p->ev->event_id)
		return IMGP_OK;
	if(!(p->ev->event_id = imgp_strndup(id, 128)))
		return nomem(p, err);
	return IMGP_OK;
}

/* What the fields of one Cloud Storage object name, wherever they came
 * from (a CloudEvent's data, Pub/Sub attributes, its data). */
struct gcs_in {
	json_t *bucket, *name, *generation, *md5, *size;
	enum imgp_action action;
	const char *event_name;
};

/* One Cloud Storage object into a ref of a new item; where names it. */
static enum imgp_status gcs_ref(struct parser *p, const struct gcs_in *g, const char *where,
                                char *err)
{
	enum imgp_status result;
	json_t *version, *etag = NULL;
	struct ref_in in = {
		.bucket = g->bucket, .key = g->name, .size = g->size, .action = g->action,
		.event_name = g->event_name,
	};
	char hex[33];
	size_t item;
	bool bad;

	version = number_string(g->generation, &bad);
	if(bad)
		return imgp_fail(err, IMGP_E_USAGE, "%s: the generation is not a number", where);
	if(md5_hex(json_string_value(g->md5), hex) && !(etag = json_string(hex))) {
		json_decref(version);
		return nomem(p, err);
	}
	in.version = version;
	in.etag = etag;
	result = add_item(p, NULL, &item, err);
	if(!result)
		result = add_ref(p, item, &in, where, err);
	json_decref(version);
	json_decref(etag);
	return result;
}

/* A Cloud Storage object resource (a CloudEvent's data, a notification's
 * JSON_API_V1 payload): {"bucket", "name", "generation", "md5Hash", ...}. */
static enum imgp_status gcs_object(struct parser *p, json_t *obj, enum imgp_action action,
                                   const char *event_name, const char *where, char *err)
{
	char what[160];
	struct gcs_in g = {
		.bucket = json_object_get(obj, "bucket"), .name = json_object_get(obj, "name"),
		.generation = json_object_get(obj, "generation"),
		.md5 = json_object_get(obj, "md5Hash"), .size = json_object_get(obj, "size"),
		.action = action, .event_name = event_name,
	};

	if(!json_is_object(obj)) {
		if(obj)
			describe(obj, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE, "%s is %s, not a Cloud Storage object "
		                 "({\"bucket\", \"name\", \"generation\", ...})", where,
		                 obj ? what : "empty");
	}
	if(!json_is_string(g.name))
		return imgp_fail(err, IMGP_E_USAGE, "%s: the object name is missing or not a "
		                 "string", where);
	return gcs_ref(p, &g, where, err);
}

/* Cloud Storage's notification event types, as Pub/Sub attributes
 * (OBJECT_FINALIZE) and CloudEvents types (...object.v1.finalized) say them. */
static const struct {
	const char *pubsub, *cloudevent;
	enum imgp_action action;
} gcs_types[] = {
	{ "OBJECT_FINALIZE", "finalized", IMGP_ACTION_CREATED },
	{ "OBJECT_DELETE", "deleted", IMGP_ACTION_REMOVED },
	{ "OBJECT_ARCHIVE", "archived", IMGP_ACTION_IGNORED },
	{ "OBJECT_METADATA_UPDATE", "metadataUpdated", IMGP_ACTION_IGNORED },
};

static int gcs_type(const char *name, bool pubsub)
{
	for(size_t i = 0; name && i < sizeof(gcs_types) / sizeof(gcs_types[0]); i++)
		if(!strcmp(name, pubsub ? gcs_types[i].pubsub : gcs_types[i].cloudevent))
			return (int)i;
	return -1;
}

/*
 * A Pub/Sub push envelope {"message": {"attributes", "data", "messageId"},
 * "subscription"} of a Cloud Storage notification: the attributes name
 * the object (bucketId, objectId, objectGeneration, eventType); the data,
 * base64 of the object's JSON when payloadFormat is JSON_API_V1, adds its
 * MD5 and size. where prefixes errors ("" or "data: ").
 */
static enum imgp_status pubsub(struct parser *p, json_t *root, const char *where, char *err)
{
	enum imgp_status result;
	json_t *msg = json_object_get(root, "message");
	json_t *attrs = json_object_get(msg, "attributes");
	json_t *data = json_object_get(msg, "data");
	const char *type = json_string_value(json_object_get(attrs, "eventType"));
	const char *format = json_string_value(json_object_get(attrs, "payloadFormat"));
	const char *id = json_string_value(json_object_get(msg, "messageId"));
	json_t *object = NULL;
	struct gcs_in g;
	char at[64], name[40];
	int t;

	p->ev->trigger = IMGP_TRIGGER_PUBSUB;
	if(!json_is_object(msg))
		return imgp_fail(err, IMGP_E_USAGE, "%sa Pub/Sub push without a \"message\" "
		                 "object", where);
	if(attrs && !json_is_object(attrs))
		return imgp_fail(err, IMGP_E_USAGE, "%smessage.attributes is not an object", where);
	if(!id)
		id = json_string_value(json_object_get(msg, "message_id"));
	if((result = set_event_id(p, id, err)))
		return result;
	if(!type)
		return imgp_fail(err, IMGP_E_USAGE, "%sa Pub/Sub message without the attribute "
		                 "\"eventType\": not a Cloud Storage notification (imgpipe takes "
		                 "OBJECT_FINALIZE and OBJECT_DELETE)", where);
	if((t = gcs_type(type, true)) < 0) {
		safe_name(type, name);
		return imgp_fail(err, IMGP_E_USAGE, "%sa Pub/Sub message with the unknown "
		                 "eventType \"%s\" (Cloud Storage's are OBJECT_FINALIZE, "
		                 "OBJECT_DELETE, OBJECT_ARCHIVE, OBJECT_METADATA_UPDATE)", where, name);
	}
	if(data && !json_is_string(data))
		return imgp_fail(err, IMGP_E_USAGE, "%smessage.data is not a string", where);
	if(json_string_length(data) && (!format || !strcmp(format, "JSON_API_V1"))) {
		result = b64_json(data, &object);
		if(result == IMGP_E_NOMEM)
			return nomem(p, err);
		if(result)
			return imgp_fail(err, IMGP_E_USAGE, "%smessage.data is not base64", where);
		if(!json_is_object(object)) {
			json_decref(object);
			return imgp_fail(err, IMGP_E_USAGE, "%smessage.data is not a JSON object "
			                 "(payloadFormat JSON_API_V1 is the object's JSON)", where);
		}
	}
	g = (struct gcs_in){
		.bucket = json_object_get(attrs, "bucketId"),
		.name = json_object_get(attrs, "objectId"),
		.generation = json_object_get(attrs, "objectGeneration"),
		.md5 = json_object_get(object, "md5Hash"), .size = json_object_get(object, "size"),
		.action = gcs_types[t].action, .event_name = type,
	};
	if(!g.bucket)
		g.bucket = json_object_get(object, "bucket");
	if(!g.name)
		g.name = json_object_get(object, "name");
	if(!g.generation)
		g.generation = json_object_get(object, "generation");
	snprintf(at, sizeof(at), "%smessage", where);
	if(!json_is_string(g.name))
		result = imgp_fail(err, IMGP_E_USAGE, "%s: the object name (attribute "
		                   "\"objectId\") is missing or not a string", at);
	else
		result = gcs_ref(p, &g, at, err);
	json_decref(object);
	return result;
}

static bool is_pubsub(json_t *root)
{
	json_t *msg = json_object_get(root, "message");

	return json_is_object(msg) && (json_object_get(root, "subscription") ||
	                               json_object_get(msg, "attributes") ||
	                               json_object_get(msg, "data"));
}

/*
 * The data of a CloudEvent, read as its type says (see
 * imgp_event_parse_cloudevent); NULL data when there was none.
 */
static enum imgp_status cloudevent(struct parser *p, const struct imgp_cloudevent *ce,
                                   json_t *data, char *err)
{
	enum imgp_status result;
	struct imgp_event *ev = p->ev;
	char type[40], source[40], what[160];
	size_t item;
	int t;

	ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
	if(!ce->specversion)
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent without a specversion");
	if(strncmp(ce->specversion, "1.", 2)) {
		safe_name(ce->specversion, type);
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent of specversion \"%s\": imgpipe "
		                 "reads CloudEvents 1.0", type);
	}
	if(!ce->type || !*ce->type)
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent without a type");
	if((result = set_event_id(p, ce->id, err)))
		return result;
	safe_name(ce->type, type);
	safe_name(ce->source ? ce->source : "", source);
	if(!strncmp(ce->type, GCS_TYPE, strlen(GCS_TYPE))) {
		if((t = gcs_type(ce->type + strlen(GCS_TYPE), false)) < 0) {
			safe_name(ce->type + strlen(GCS_TYPE), type);
			return imgp_fail(err, IMGP_E_USAGE, "unknown Cloud Storage event type \""
			                 GCS_TYPE "%s\" (imgpipe reads " GCS_TYPE "finalized, deleted, "
			                 "archived and metadataUpdated)", type);
		}
		return gcs_object(p, data, gcs_types[t].action, ce->type, "the CloudEvent's data",
		                  err);
	}
	if(!strcmp(ce->type, PUBSUB_TYPE)) {
		result = pubsub(p, data, "the CloudEvent's data: ", err);
		ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
		return result;
	}
	/* an S3 event carried as a CloudEvent: its data says which */
	if(json_is_object(json_object_get(data, "Records")) ||
	   json_is_array(json_object_get(data, "Records")))
		result = records(p, json_object_get(data, "Records"), err);
	else if(str_is(json_object_get(data, "source"), "aws.s3") &&
	        json_object_get(data, "detail-type"))
		result = eventbridge(p, data, err);
	else if(json_is_object(json_object_get(data, "s3"))) {
		result = add_item(p, NULL, &item, err);
		if(!result)
			result = s3_record(p, data, item, "the CloudEvent's data", err);
	}
	else {
		if(data)
			describe(data, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE, "unknown CloudEvent type \"%s\" from \"%s\", "
			"and its data is %s; imgpipe reads " GCS_TYPE "*, " PUBSUB_TYPE " of Cloud "
			"Storage notifications, and any type whose data is an S3 notification, one "
			"S3 record or an EventBridge S3 event", type, source, data ? what : "empty");
	}
	if(ev->trigger != IMGP_TRIGGER_SQS)
		ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
	return result;
}

/* A structured-mode CloudEvent: its attributes and "data" (or
 * "data_base64") in one JSON document. */
static enum imgp_status cloudevent_structured(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;
	struct imgp_cloudevent ce = {
		.specversion = json_string_value(json_object_get(root, "specversion")),
		.type = json_string_value(json_object_get(root, "type")),
		.source = json_string_value(json_object_get(root, "source")),
		.id = json_string_value(json_object_get(root, "id")),
		.subject = json_string_value(json_object_get(root, "subject")),
		.datacontenttype = json_string_value(json_object_get(root, "datacontenttype")),
	};
	json_t *data = json_object_get(root, "data"), *b64 = json_object_get(root, "data_base64");
	json_t *owned = NULL;

	if(!data && json_is_string(b64)) {
		result = b64_json(b64, &owned);
		if(result == IMGP_E_NOMEM)
			return nomem(p, err);
		if(result)
			return imgp_fail(err, IMGP_E_USAGE, "the CloudEvent's data_base64 is not base64");
		data = owned;
		if(!data)
			return imgp_fail(err, IMGP_E_USAGE, "the CloudEvent's data_base64 is not JSON");
	}
	result = cloudevent(p, &ce, data, err);
	json_decref(owned);
	return result;
}

static enum imgp_status unrecognised(json_t *root, char *err)
{
	char what[200];

	describe(root, what, sizeof(what));
	return imgp_fail(err, IMGP_E_USAGE, "unrecognised event: %s; " ACCEPTED, what);
}

/* Which shape a top-level object is, and read it. */
static enum imgp_status dispatch(struct parser *p, json_t *root, char *err)
{
	json_t *v;
	size_t item;

	if(json_is_array(root))
		return direct(p, root, err);
	if(!json_is_object(root))
		return unrecognised(root, err);
	if((v = json_object_get(root, "Records")))
		return records(p, v, err);
	if(json_object_get(root, "invocationSchemaVersion") || json_object_get(root, "tasks"))
		return batch(p, root, err);
	if(json_object_get(root, "specversion"))
		return cloudevent_structured(p, root, err);
	if(is_pubsub(root))
		return pubsub(p, root, "", err);
	if(json_object_get(root, "detail-type")) {
		const char *source = json_string_value(json_object_get(root, "source"));
		char name[40];

		if(source && !strcmp(source, "aws.s3"))
			return eventbridge(p, root, err);
		safe_name(source ? source : "?", name);
		return imgp_fail(err, IMGP_E_USAGE,
			"unrecognised event: an EventBridge event from \"%s\", not \"aws.s3\"; "
			ACCEPTED, name);
	}
	if(is_test_event(root)) {
		enum imgp_status result = add_item(p, NULL, &item, err);

		p->ev->trigger = IMGP_TRIGGER_S3;
		if(!result)
			p->ev->items[item].test_event = true;
		return result;
	}
	if(json_object_get(root, "refs") || json_object_get(root, "bucket") ||
	   json_object_get(root, "key"))
		return direct(p, root, err);
	return unrecognised(root, err);
}

enum imgp_status imgp_event_parse(const char *json, size_t len,
                                  struct imgp_event *ev, char *err)
{
	enum imgp_status result;
	struct parser p = { .ev = ev };
	json_error_t jerr;
	json_t *root;
	char *near;

	memset(ev, 0, sizeof(*ev));
	root = json_loadb(json ? json : "", json ? len : 0,
	                  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if(!root) {
		/* jansson quotes the offending token after " near "; it is the
		 * event's own text, so it stays out */
		if((near = strstr(jerr.text, " near ")))
			*near = '\0';
		return imgp_fail(err, IMGP_E_USAGE,
			"the event is not valid JSON (line %d, column %d): %s",
			jerr.line, jerr.column, jerr.text);
	}
	result = dispatch(&p, root, err);
	json_decref(root);
	if(result)
		imgp_event_release(ev);
	return result;
}

enum imgp_status imgp_event_parse_cloudevent(const struct imgp_cloudevent *ce,
                                             const char *data, size_t len,
                                             struct imgp_event *ev, char *err)
{
	enum imgp_status result;
	struct parser p = { .ev = ev };
	json_error_t jerr;
	json_t *root = NULL;
	char *near;

	memset(ev, 0, sizeof(*ev));
	if(data && len) {
		root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if(!root) {
			if((near = strstr(jerr.text, " near ")))
				*near = '\0';
			return imgp_fail(err, IMGP_E_USAGE, "the CloudEvent's data is not valid JSON "
			                 "(line %d, column %d): %s", jerr.line, jerr.column, jerr.text);
		}
	}
	result = cloudevent(&p, ce, root, err);
	json_decref(root);
	if(result)
		imgp_event_release(ev);
	return result;
}
