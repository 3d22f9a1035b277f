/*
 * event.h: every trigger shape in, one list of object refs out; one result
 * per ref in, the reply that trigger expects out. Pure: no I/O, no clock.
 *
 * Shapes: S3 event notifications (Records[].s3), SQS messages carrying an
 * S3 notification (or an SNS envelope of one), SNS notifications, EventBridge
 * "Object Created"/"Object Deleted", S3 Batch Operations (schema 1.0 and
 * 2.0), and a direct {"bucket","key"} object or a list of them.
 */
#ifndef IMGP_EVENT_H
#define IMGP_EVENT_H

#include "imgpipe.h"

enum imgp_trigger {
	IMGP_TRIGGER_S3,            /* S3 notification delivered to Lambda */
	IMGP_TRIGGER_SQS,           /* SQS batch; reply: batchItemFailures */
	IMGP_TRIGGER_SNS,           /* SNS notification of an S3 notification */
	IMGP_TRIGGER_EVENTBRIDGE,   /* EventBridge S3 event */
	IMGP_TRIGGER_BATCH,         /* S3 Batch Operations; reply: results */
	IMGP_TRIGGER_DIRECT,        /* {"bucket","key"} or a list of them */
};

enum imgp_action {
	IMGP_ACTION_CREATED,        /* render and write the variants */
	IMGP_ACTION_REMOVED,        /* source deleted: delete variants if asked */
	IMGP_ACTION_IGNORED,        /* s3:TestEvent, other event names */
};

struct imgp_ref {
	char *bucket;
	char *key;                  /* decoded: "+" and %xx of S3 records undone */
	char *version_id;           /* NULL when the event has none */
	char *etag;                 /* NULL when the event has none */
	uint64_t size;              /* 0 when the event does not say */
	enum imgp_action action;
	char *event_name;           /* "ObjectCreated:Put", ...; may be NULL */
	size_t item;                /* index into imgp_event.items */
};

/* What the trigger counts as one unit of retry: an SQS message, a Batch
 * task; for the other shapes there is a single item, the invocation. */
struct imgp_item {
	char *id;                   /* SQS messageId, Batch taskId; NULL else */
};

struct imgp_event {
	enum imgp_trigger trigger;
	struct imgp_ref *refs;
	size_t nrefs;
	struct imgp_item *items;
	size_t nitems;
	/* S3 Batch Operations only: echoed in the reply */
	char *batch_schema;         /* "1.0" or "2.0" */
	char *batch_invocation_id;
};

/* The outcome of one ref, as the job reports it. */
struct imgp_ref_result {
	enum imgp_status status;
	const char *message;        /* reason or summary; may be NULL */
	const char *detail_json;    /* optional JSON value spliced into replies
	                               that list refs (what was written); NULL */
};

const char *imgp_trigger_name(enum imgp_trigger trigger);   /* "s3", "sqs", ... */

/*
 * Parse an invocation's event. On an unknown or malformed shape, returns
 * IMGP_E_USAGE with err saying what was received and what is accepted;
 * the event then holds nothing. An SQS message whose body is not an S3
 * notification is one ref-less item... see event.c for the rules.
 */
enum imgp_status imgp_event_parse(const char *json, size_t len,
                                  struct imgp_event *ev /* OUT */, char *err);
void imgp_event_release(struct imgp_event *ev);

/*
 * The reply for the trigger, given one result per ref (same order as
 * ev->refs). Returns a malloc'd JSON document (imgp_free it), or NULL when
 * the invocation as a whole must fail so the trigger retries it: then
 * *fail_status and err say why (the runtime posts that to /error). SQS and
 * Batch never fail as a whole: their replies name the items to retry.
 */
char *imgp_event_reply(const struct imgp_event *ev,
                       const struct imgp_ref_result *results,
                       enum imgp_status *fail_status /* OUT */, char *err);

/* Undo S3 notification key encoding ("+" is a space, %xx a byte) into a
 * new string; NULL on a malformed escape or allocation failure. */
char *imgp_event_decode_key(const char *encoded);

#endif
