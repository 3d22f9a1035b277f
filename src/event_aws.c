/*
 * event_aws.c: AWS's event shapes, and the S3 records of S3-compatible
 * stores: S3 notifications (direct, in SQS messages, in SNS
 * notifications, and as MinIO and Ceph RGW post them), EventBridge's S3
 * events, S3 Batch Operations tasks (schema 1.0 and 2.0), and any
 * CloudEvent whose data is one of those. Pure, as event.c; its rules are
 * event.c's.
 */
#include "event_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
	return imgp_ev_add_ref(p, item, &in, where, err);
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
	imgp_ev_describe(doc, what, sizeof(what));
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
	result = imgp_ev_add_item(p, id, &item, err);
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
	imgp_ev_drop_refs(p->ev, first);
	if(!(p->ev->items[item].error = imgp_strdup(why)))
		return imgp_ev_nomem(p, err);
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

/* Which trigger one of Records[] comes from, or -1. */
static int record_kind(json_t *rec)
{
	if(imgp_ev_str_is(json_object_get(rec, "eventSource"), "aws:sqs"))
		return IMGP_TRIGGER_SQS;
	if(imgp_ev_str_is(json_object_get(rec, "EventSource"), "aws:sns") ||
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
		imgp_ev_describe(list, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE, "\"Records\" is %s, not a list", what);
	}
	if(!n)
		return imgp_fail(err, IMGP_E_USAGE, "\"Records\" is empty");
	for(size_t i = 0; i < n && !result; i++) {
		json_t *rec = json_array_get(list, i);
		int k = record_kind(rec);

		if(k < 0) {
			imgp_ev_describe(rec, what, sizeof(what));
			return imgp_fail(err, IMGP_E_USAGE,
				"record %zu is not an S3, SQS or SNS record, but %s", i, what);
		}
		if(!i) {
			kind = k;
			ev->trigger = (enum imgp_trigger)k;
			if(k != IMGP_TRIGGER_SQS && (result = imgp_ev_add_item(p, NULL, &item, err)))
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

/* --- EventBridge, Batch ----------------------------------------------- */

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
	result = imgp_ev_add_item(p, NULL, &item, err);
	if(!result)
		result = imgp_ev_add_ref(p, item, &in, "detail", err);
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
	result = imgp_ev_add_item(p, id, &item, err);
	if(result)
		goto out;
	snprintf(where, sizeof(where), "task %zu", index);
	result = imgp_ev_add_ref(p, item, &in, where, why);
	if(result && p->fatal)
		snprintf(err, IMGP_ERRSIZE, "%s", why);
	else if(result) {
		result = IMGP_OK;
		if(!(p->ev->items[item].error = imgp_strdup(why)))
			result = imgp_ev_nomem(p, err);
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
		return imgp_ev_nomem(p, err);
	for(size_t i = 0; i < json_array_size(tasks) && !result; i++)
		result = batch_task(p, json_array_get(tasks, i), i, err);
	return result;
}

/* One of AWS's top-level shapes, or IMGP_E_NOT_FOUND. */
static enum imgp_status aws_document(struct parser *p, json_t *root, char *err)
{
	json_t *v;
	size_t item;

	if((v = json_object_get(root, "Records")))
		return records(p, v, err);
	if(json_object_get(root, "invocationSchemaVersion") || json_object_get(root, "tasks"))
		return batch(p, root, err);
	if(json_object_get(root, "detail-type")) {
		const char *source = json_string_value(json_object_get(root, "source"));
		char name[40], accepted[400];

		if(source && !strcmp(source, "aws.s3"))
			return eventbridge(p, root, err);
		imgp_ev_safe_name(source ? source : "?", name);
		imgp_ev_accepted(accepted, sizeof(accepted));
		return imgp_fail(err, IMGP_E_USAGE,
			"unrecognised event: an EventBridge event from \"%s\", not \"aws.s3\"; %s", name,
			accepted);
	}
	if(is_test_event(root)) {
		enum imgp_status result = imgp_ev_add_item(p, NULL, &item, err);

		p->ev->trigger = IMGP_TRIGGER_S3;
		if(!result)
			p->ev->items[item].test_event = true;
		return result;
	}
	return IMGP_E_NOT_FOUND;
}

/* A CloudEvent of any type whose data is an S3 notification, one S3
 * record or an EventBridge S3 event. */
static enum imgp_status aws_cloudevent(struct parser *p, const struct imgp_cloudevent *ce,
                                       json_t *data, char *err)
{
	enum imgp_status result;
	size_t item;

	(void)ce;
	if(json_is_object(json_object_get(data, "Records")) ||
	   json_is_array(json_object_get(data, "Records")))
		result = records(p, json_object_get(data, "Records"), err);
	else if(imgp_ev_str_is(json_object_get(data, "source"), "aws.s3") &&
	        json_object_get(data, "detail-type"))
		result = eventbridge(p, data, err);
	else if(json_is_object(json_object_get(data, "s3"))) {
		result = imgp_ev_add_item(p, NULL, &item, err);
		if(!result)
			result = s3_record(p, data, item, "the CloudEvent's data", err);
	}
	else
		return IMGP_E_NOT_FOUND;
	if(p->ev->trigger != IMGP_TRIGGER_SQS)
		p->ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
	return result;
}

const struct imgp_dialect imgp_dialect_aws = {
	.name = "aws",
	.document = aws_document,
	.cloudevent = aws_cloudevent,
	.accepts = "S3, SQS, SNS, EventBridge and S3 Batch Operations events",
	.cloudevent_reads = "any type whose data is an S3 notification, one S3 record or an "
	                    "EventBridge S3 event",
};
