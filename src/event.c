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
 *
 * This file owns the rules, the refs, imgpipe's own direct shape and the
 * CloudEvents envelope; each cloud's shapes are a dialect of their own
 * (event_impl.h: event_aws.c, event_google.c), asked in the order of the
 * table below.
 */
#include "event_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define MAX_BUCKET 255          /* S3 allows 63; generous, but bounded */

/* The clouds whose events imgpipe reads, in the order they are asked. */
static const struct imgp_dialect *const dialects[] = {
	&imgp_dialect_aws,
	&imgp_dialect_google,
	&imgp_dialect_azure,
};
#define NDIALECTS (sizeof(dialects) / sizeof(dialects[0]))

static const char *const trigger_names[] = {
	"s3", "sqs", "sns", "eventbridge", "batch", "direct", "cloudevents", "pubsub",
	"eventgrid"
};

const char *imgp_trigger_name(enum imgp_trigger trigger)
{
	if((unsigned)trigger >= sizeof(trigger_names) / sizeof(trigger_names[0]))
		return "unknown";
	return trigger_names[trigger];
}

/* --- bytes: key decoding and base64 ---------------------------------- */

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
enum imgp_status imgp_ev_b64_decode(const char *in, size_t n, unsigned char **out,
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
enum imgp_status imgp_ev_b64_json(const json_t *text, json_t **out)
{
	unsigned char *raw;
	size_t len;
	json_error_t jerr;
	enum imgp_status result = imgp_ev_b64_decode(json_string_value(text), json_string_length(text),
	                                     &raw, &len);

	*out = NULL;
	if(result)
		return result;
	*out = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &jerr);
	imgp_free(raw);
	return IMGP_OK;
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
void imgp_ev_safe_name(const char *s, char *out)
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
void imgp_ev_describe(json_t *v, char *buf, size_t size)
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
			imgp_ev_safe_name(key, name);
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

void imgp_ev_accepted(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	appendf(buf, size, "accepted: ");
	for(size_t i = 0; i < NDIALECTS; i++)
		if(dialects[i]->accepts)
			appendf(buf, size, "%s%s", n++ ? ", " : "", dialects[i]->accepts);
	appendf(buf, size, ", or {\"bucket\": ..., \"key\": ...}; over HTTP also CloudEvents");
	for(size_t i = 0; i < NDIALECTS; i++)
		if(dialects[i]->http_accepts)
			appendf(buf, size, " and %s", dialects[i]->http_accepts);
}

bool imgp_ev_str_is(json_t *v, const char *s)
{
	return json_is_string(v) && !strcmp(json_string_value(v), s);
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
	imgp_free(ev->validation_code);
	memset(ev, 0, sizeof(*ev));
}

enum imgp_status imgp_ev_nomem(struct parser *p, char *err)
{
	p->fatal = true;
	return imgp_fail(err, IMGP_E_NOMEM, "out of memory reading the event");
}

enum imgp_status imgp_ev_too_many(struct parser *p, char *err)
{
	p->fatal = true;
	return imgp_fail(err, IMGP_E_USAGE,
		"the event holds more than %d objects or messages; imgpipe takes at "
		"most %d per invocation (for SQS, lower the batch size)",
		IMGP_EVENT_MAX_REFS, IMGP_EVENT_MAX_REFS);
}

/* A new item (id may be NULL); its index in *index. */
enum imgp_status imgp_ev_add_item(struct parser *p, const char *id, size_t *index,
                                 char *err)
{
	struct imgp_event *ev = p->ev;
	struct imgp_item *item;

	if(ev->nitems >= IMGP_EVENT_MAX_REFS)
		return imgp_ev_too_many(p, err);
	if(!imgp_grow((void **)&ev->items, &p->cap_items, ev->nitems, sizeof(*ev->items)))
		return imgp_ev_nomem(p, err);
	item = &ev->items[ev->nitems];
	memset(item, 0, sizeof(*item));
	if(id && !(item->id = imgp_strdup(id)))
		return imgp_ev_nomem(p, err);
	*index = ev->nitems++;
	return IMGP_OK;
}

/* Drop the refs from index n on: an item that turned out unreadable
 * must not keep the refs read before the error. */
void imgp_ev_drop_refs(struct imgp_event *ev, size_t n)
{
	while(ev->nrefs > n)
		ref_release(&ev->refs[--ev->nrefs]);
}

/* Is s 1-19 decimal imgp_ev_digits (a uint64 without overflow worries)? */
bool imgp_ev_digits(const char *s)
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

enum imgp_status imgp_ev_add_ref(struct parser *p, size_t item, const struct ref_in *in,
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
		return imgp_ev_nomem(p, err);
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
		return imgp_ev_too_many(p, err);
	}
	if(!imgp_grow((void **)&ev->refs, &p->cap_refs, ev->nrefs, sizeof(*ev->refs))) {
		imgp_free(key);
		return imgp_ev_nomem(p, err);
	}
	r = &ev->refs[ev->nrefs++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->item = item;
	r->action = in->action;
	r->bucket = imgp_strdup(json_string_value(in->bucket));
	if(json_is_integer(in->size) && json_integer_value(in->size) > 0)
		r->size = (uint64_t)json_integer_value(in->size);
	else if(json_is_string(in->size) && imgp_ev_digits(json_string_value(in->size)))
		r->size = strtoull(json_string_value(in->size), NULL, 10);
	if(!r->bucket || (version && *version && !(r->version_id = imgp_strdup(version))) ||
	   (etag && *etag && !(r->etag = imgp_strdup(etag))) ||
	   (in->event_name && !(r->event_name = imgp_strdup(in->event_name))))
		return imgp_ev_nomem(p, err);
	return IMGP_OK;
}

/* Copy an event id (CloudEvents id, Pub/Sub messageId) into the event. */
enum imgp_status imgp_ev_set_id(struct parser *p, const char *id, char *err)
{
	if(!id || !*id || p->ev->event_id)
		return IMGP_OK;
	if(!(p->ev->event_id = imgp_strndup(id, 128)))
		return imgp_ev_nomem(p, err);
	return IMGP_OK;
}


/* --- imgpipe's own: {"bucket", "key"} or a list of them ---------------- */

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
		imgp_ev_describe(obj, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE,
			"%s is %s, not {\"bucket\": ..., \"key\": ...}", where, what);
	}
	return imgp_ev_add_ref(p, 0, &in, where, err);
}

static enum imgp_status direct(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;
	json_t *list = json_is_array(root) ? root : json_object_get(root, "refs");
	char where[32];
	size_t item;

	p->ev->trigger = IMGP_TRIGGER_DIRECT;
	result = imgp_ev_add_item(p, NULL, &item, err);
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


/* --- CloudEvents, and which shape a document is --------------------------- */

/*
 * The data of a CloudEvent, read by the dialect its type (or its data)
 * belongs to (see imgp_event_parse_cloudevent); NULL data when there was
 * none. A type a cloud owns is asked first (the table from its end), then
 * a data any cloud reads.
 */
static enum imgp_status cloudevent(struct parser *p, const struct imgp_cloudevent *ce,
                                   json_t *data, char *err)
{
	enum imgp_status result;
	char type[40], source[40], what[160], reads[600] = "";

	p->ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
	if(!ce->specversion)
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent without a specversion");
	if(strncmp(ce->specversion, "1.", 2)) {
		imgp_ev_safe_name(ce->specversion, type);
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent of specversion \"%s\": imgpipe "
		                 "reads CloudEvents 1.0", type);
	}
	if(!ce->type || !*ce->type)
		return imgp_fail(err, IMGP_E_USAGE, "a CloudEvent without a type");
	if((result = imgp_ev_set_id(p, ce->id, err)))
		return result;
	for(size_t i = NDIALECTS; i-- > 0;)
		if((result = dialects[i]->cloudevent(p, ce, data, err)) != IMGP_E_NOT_FOUND)
			return result;
	imgp_ev_safe_name(ce->type, type);
	imgp_ev_safe_name(ce->source ? ce->source : "", source);
	for(size_t i = NDIALECTS; i-- > 0;)
		appendf(reads, sizeof(reads), "%s%s", i == NDIALECTS - 1 ? "" : i ? ", " : ", and ",
		        dialects[i]->cloudevent_reads);
	if(data)
		imgp_ev_describe(data, what, sizeof(what));
	return imgp_fail(err, IMGP_E_USAGE, "unknown CloudEvent type \"%s\" from \"%s\", "
		"and its data is %s; imgpipe reads %s", type, source, data ? what : "empty", reads);
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
		result = imgp_ev_b64_json(b64, &owned);
		if(result == IMGP_E_NOMEM)
			return imgp_ev_nomem(p, err);
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

/* A CloudEvents batch (application/cloudevents-batch+json, as Event Grid
 * sends several at once): every element a structured CloudEvent, all of
 * them one item. */
static enum imgp_status cloudevent_batch(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;
	char where[48];
	size_t at;

	for(size_t i = 0; i < json_array_size(root); i++) {
		if(!json_is_object(json_array_get(root, i)))
			return imgp_fail(err, IMGP_E_USAGE, "element %zu of the CloudEvents batch "
			                 "is not a CloudEvent", i);
		result = cloudevent_structured(p, json_array_get(root, i), err);
		if(result) {
			/* which one, in front of what it said */
			snprintf(where, sizeof(where), "CloudEvent %zu: ", i);
			at = strlen(err);
			if(at + strlen(where) < IMGP_ERRSIZE) {
				memmove(err + strlen(where), err, at + 1);
				memcpy(err, where, strlen(where));
			}
			return result;
		}
	}
	return IMGP_OK;
}

static enum imgp_status unrecognised(json_t *root, char *err)
{
	char what[200], accepted[400];

	imgp_ev_describe(root, what, sizeof(what));
	imgp_ev_accepted(accepted, sizeof(accepted));
	return imgp_fail(err, IMGP_E_USAGE, "unrecognised event: %s; %s", what, accepted);
}

/* Which shape a top-level document is, and read it. */
enum imgp_status imgp_ev_dispatch(struct parser *p, json_t *root, char *err)
{
	enum imgp_status result;

	if(json_is_array(root) && json_object_get(json_array_get(root, 0), "specversion"))
		return cloudevent_batch(p, root, err);
	if(!json_is_object(root) && !json_is_array(root))
		return unrecognised(root, err);
	if(json_object_get(root, "specversion"))
		return cloudevent_structured(p, root, err);
	for(size_t i = 0; i < NDIALECTS; i++)
		if((result = dialects[i]->document(p, root, err)) != IMGP_E_NOT_FOUND)
			return result;
	if(json_is_array(root))
		return direct(p, root, err);
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
	result = imgp_ev_dispatch(&p, root, err);
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
