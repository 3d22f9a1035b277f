/*
 * event.h: every trigger shape in, one list of object refs out; one result
 * per ref in, the reply that trigger expects out. Pure: no I/O, no clock.
 *
 * Shapes: S3 event notifications (Records[].s3; also as MinIO and Ceph RGW
 * post them to a webhook), SQS messages carrying an S3 notification (or an
 * SNS envelope of one), SNS notifications, EventBridge "Object
 * Created"/"Object Deleted", S3 Batch Operations (schema 1.0 and 2.0), a
 * direct {"bucket","key"} object or a list of them; and, for the platforms
 * that deliver over HTTP (imgpipe serve), CloudEvents 1.0 in structured
 * mode (a JSON document) or binary mode (imgp_event_parse_cloudevent) whose
 * data is a Cloud Storage object (google.cloud.storage.object.v1.*), a
 * Pub/Sub message of one, or an S3 notification or EventBridge event; and
 * Pub/Sub push envelopes of Cloud Storage notifications.
 */
#ifndef IMGP_EVENT_H
#define IMGP_EVENT_H

#include <jansson.h>

#include "imgpipe.h"

/* Refused above these: an invocation is at most this many objects (and
 * this many SQS messages or Batch tasks), and S3 keys are at most 1,024
 * bytes of UTF-8 once decoded. */
#define IMGP_EVENT_MAX_REFS 1000
#define IMGP_EVENT_MAX_KEY 1024

enum imgp_trigger {
	IMGP_TRIGGER_S3,            /* S3 notification delivered to Lambda */
	IMGP_TRIGGER_SQS,           /* SQS batch; reply: batchItemFailures */
	IMGP_TRIGGER_SNS,           /* SNS notification of an S3 notification */
	IMGP_TRIGGER_EVENTBRIDGE,   /* EventBridge S3 event */
	IMGP_TRIGGER_BATCH,         /* S3 Batch Operations; reply: results */
	IMGP_TRIGGER_DIRECT,        /* {"bucket","key"} or a list of them */
	IMGP_TRIGGER_CLOUDEVENT,    /* a CloudEvent (Eventarc, Knative, ...) */
	IMGP_TRIGGER_PUBSUB,        /* a Pub/Sub push of a GCS notification */
	IMGP_TRIGGER_EVENTGRID,     /* Event Grid events (Azure), its own schema */
};

enum imgp_action {
	IMGP_ACTION_CREATED,        /* render and write the variants */
	IMGP_ACTION_REMOVED,        /* source deleted: delete variants if asked */
	IMGP_ACTION_IGNORED,        /* s3:TestEvent, other event names */
};

struct imgp_ref {
	char *bucket;
	char *key;                  /* decoded: "+" and %xx of S3 records and
	                               Batch tasks undone; valid UTF-8 */
	char *version_id;           /* NULL when the event has none; a Cloud
	                               Storage object's generation */
	char *etag;                 /* NULL when the event has none; for Cloud
	                               Storage the MD5 in hex (md5Hash decoded),
	                               which is what its XML API's ETag is */
	uint64_t size;              /* 0 when the event does not say */
	enum imgp_action action;
	char *event_name;           /* "ObjectCreated:Put", "Object Created"
	                               (EventBridge detail-type); may be NULL */
	size_t item;                /* index into imgp_event.items */
};

/* What the trigger counts as one unit of retry: an SQS message, a Batch
 * task; for the other shapes there is a single item, the invocation.
 * An item may hold no refs: an s3:TestEvent, an empty notification, or an
 * SQS message / Batch task that could not be read (error set). */
struct imgp_item {
	char *id;                   /* SQS messageId, Batch taskId; NULL else */
	char *error;                /* NULL, or why this message or task could
	                               not be read; it then has no refs, can
	                               never succeed and is never retried: SQS
	                               leaves it out of batchItemFailures, Batch
	                               reports it PermanentFailure */
	bool test_event;            /* an s3:TestEvent: no refs, nothing to do */
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
	/* the event's own id where it has one (CloudEvents id, Pub/Sub
	 * messageId), for logs; NULL else */
	char *event_id;
	/* Event Grid's subscription validation handshake: the code the reply
	 * answers as {"validationResponse": code}; NULL else */
	char *validation_code;
	/* it came in an Azure Functions custom handler's request
	 * ({"Data", "Metadata"}): the reply goes back as the ReturnValue of
	 * {"Outputs", "Logs", "ReturnValue"} */
	bool functions;
};

/* The outcome of one ref, as the job reports it. */
struct imgp_ref_result {
	enum imgp_status status;
	const char *message;        /* reason or summary; may be NULL */
	json_t *detail;             /* optional JSON object spliced into replies
	                               that list refs (what was written): the
	                               job's, borrowed; NULL */
};

const char *imgp_trigger_name(enum imgp_trigger trigger);   /* "s3", "sqs", ... */

/*
 * Parse an invocation's event. On an unknown or malformed shape, returns
 * IMGP_E_USAGE with err saying what was received and what is accepted
 * (never the event itself), IMGP_E_NOMEM on allocation failure; the event
 * then holds nothing and imgp_event_release is optional. A malformed SQS
 * message or Batch task does not fail the invocation: it becomes one
 * ref-less item with error set (see struct imgp_item). Over
 * IMGP_EVENT_MAX_REFS objects or items is IMGP_E_USAGE.
 */
enum imgp_status imgp_event_parse(const char *json, size_t len,
                                  struct imgp_event *ev /* OUT */, char *err);
void imgp_event_release(struct imgp_event *ev);

/*
 * The context attributes of a CloudEvent in HTTP binary mode: the ce-*
 * headers, and Content-Type for datacontenttype. NULL where absent.
 */
struct imgp_cloudevent {
	const char *specversion;
	const char *type;
	const char *source;
	const char *id;
	const char *subject;
	const char *datacontenttype;
};

/*
 * A CloudEvent in binary mode: its attributes and its data (the HTTP
 * body, JSON). Types read: google.cloud.storage.object.v1.finalized
 * (CREATED), .deleted (REMOVED), .archived and .metadataUpdated
 * (IGNORED); google.cloud.pubsub.topic.v1.messagePublished carrying a
 * Cloud Storage notification; any other type whose data is an S3
 * notification, one S3 record or an EventBridge S3 event. Anything else
 * is IMGP_E_USAGE naming the type. As imgp_event_parse otherwise.
 */
enum imgp_status imgp_event_parse_cloudevent(const struct imgp_cloudevent *ce,
                                             const char *data, size_t len,
                                             struct imgp_event *ev /* OUT */, char *err);

/*
 * The reply for the trigger, given one result per ref (same order as
 * ev->refs; may be NULL when there are none): IMGP_OK with a JSON document
 * in *reply (imgp_free it), or the status and reason (in err) for which
 * the invocation as a whole must fail so the trigger retries it (the
 * runtime posts that to /error), *reply NULL. S3, SNS, EventBridge and direct events fail as a whole
 * when any ref failed for a temporary reason, else reply {"results": [...]}.
 * SQS and Batch never fail as a whole (but for IMGP_E_NOMEM): their
 * replies name the items to retry.
 */
enum imgp_status imgp_event_reply(const struct imgp_event *ev,
                                  const struct imgp_ref_result *results,
                                  char **reply /* OUT */, char *err);

/* The same, with extra's members (an object; NULL: none) at the reply's
 * top level: imgpipe serve's "outcome" and "request_id". */
enum imgp_status imgp_event_reply_extra(const struct imgp_event *ev,
                                        const struct imgp_ref_result *results,
                                        json_t *extra, char **reply /* OUT */,
                                        char *err);

/* Undo S3 notification key encoding ("+" is a space, %xx a byte) into a
 * new string; NULL on a malformed escape or allocation failure. */
char *imgp_event_decode_key(const char *encoded);

#endif
