/*
 * event_google.c: Google Cloud's event shapes: Cloud Storage objects in
 * CloudEvents (Eventarc's google.cloud.storage.object.v1.*), Pub/Sub push
 * envelopes of Cloud Storage notifications, and those in Eventarc's
 * messagePublished CloudEvents. A Cloud Storage name is literal, its
 * generation is the ref's version, and its md5Hash (base64) becomes the
 * ETag in hex, as its XML API answers it. Pure, as event.c.
 */
#include "event_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GCS_TYPE "google.cloud.storage.object.v1."
#define PUBSUB_TYPE "google.cloud.pubsub.topic.v1.messagePublished"

/* A Cloud Storage md5Hash (base64 of 16 bytes) as the 32 hex imgp_ev_digits its
 * XML API's ETag is; false when it is absent or not an MD5. */
static bool md5_hex(const char *b64, char hex[33])
{
	unsigned char *raw;
	size_t len;
	bool ok;

	if(!b64 || imgp_ev_b64_decode(b64, strlen(b64), &raw, &len))
		return false;
	ok = len == 16;
	for(size_t i = 0; ok && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	imgp_free(raw);
	return ok;
}

/* A generation or size, which Cloud Storage writes as a string of imgp_ev_digits
 * (a JSON integer is taken too), as a new JSON string; NULL when v is
 * absent; *bad when it is there but neither. */
static json_t *number_string(json_t *v, bool *bad)
{
	char buf[32];

	*bad = false;
	if(!v || json_is_null(v))
		return NULL;
	if(json_is_string(v) && imgp_ev_digits(json_string_value(v)))
		return json_incref(v);
	if(json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return json_string(buf);
	}
	*bad = true;
	return NULL;
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
		return imgp_ev_nomem(p, err);
	}
	in.version = version;
	in.etag = etag;
	result = imgp_ev_add_item(p, NULL, &item, err);
	if(!result)
		result = imgp_ev_add_ref(p, item, &in, where, err);
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
			imgp_ev_describe(obj, what, sizeof(what));
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
	if((result = imgp_ev_set_id(p, id, err)))
		return result;
	if(!type)
		return imgp_fail(err, IMGP_E_USAGE, "%sa Pub/Sub message without the attribute "
		                 "\"eventType\": not a Cloud Storage notification (imgpipe takes "
		                 "OBJECT_FINALIZE and OBJECT_DELETE)", where);
	if((t = gcs_type(type, true)) < 0) {
		imgp_ev_safe_name(type, name);
		return imgp_fail(err, IMGP_E_USAGE, "%sa Pub/Sub message with the unknown "
		                 "eventType \"%s\" (Cloud Storage's are OBJECT_FINALIZE, "
		                 "OBJECT_DELETE, OBJECT_ARCHIVE, OBJECT_METADATA_UPDATE)", where, name);
	}
	if(data && !json_is_string(data))
		return imgp_fail(err, IMGP_E_USAGE, "%smessage.data is not a string", where);
	if(json_string_length(data) && (!format || !strcmp(format, "JSON_API_V1"))) {
		result = imgp_ev_b64_json(data, &object);
		if(result == IMGP_E_NOMEM)
			return imgp_ev_nomem(p, err);
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


/* A Pub/Sub push of a Cloud Storage notification, or IMGP_E_NOT_FOUND. */
static enum imgp_status google_document(struct parser *p, json_t *root, char *err)
{
	return is_pubsub(root) ? pubsub(p, root, "", err) : IMGP_E_NOT_FOUND;
}

/* google.cloud.storage.object.v1.* and messagePublished CloudEvents. */
static enum imgp_status google_cloudevent(struct parser *p, const struct imgp_cloudevent *ce,
                                          json_t *data, char *err)
{
	enum imgp_status result;
	char type[40];
	int t;

	if(!strncmp(ce->type, GCS_TYPE, strlen(GCS_TYPE))) {
		if((t = gcs_type(ce->type + strlen(GCS_TYPE), false)) < 0) {
			imgp_ev_safe_name(ce->type + strlen(GCS_TYPE), type);
			return imgp_fail(err, IMGP_E_USAGE, "unknown Cloud Storage event type \""
			                 GCS_TYPE "%s\" (imgpipe reads " GCS_TYPE "finalized, deleted, "
			                 "archived and metadataUpdated)", type);
		}
		p->ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
		return gcs_object(p, data, gcs_types[t].action, ce->type, "the CloudEvent's data",
		                  err);
	}
	if(!strcmp(ce->type, PUBSUB_TYPE)) {
		result = pubsub(p, data, "the CloudEvent's data: ", err);
		p->ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
		return result;
	}
	return IMGP_E_NOT_FOUND;
}

const struct imgp_dialect imgp_dialect_google = {
	.name = "google",
	.document = google_document,
	.cloudevent = google_cloudevent,
	.http_accepts = "Pub/Sub pushes of Cloud Storage notifications",
	.cloudevent_reads = GCS_TYPE "*, " PUBSUB_TYPE " of Cloud Storage notifications",
};
