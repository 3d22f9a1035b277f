/*
 * reply.c: one result per ref in, the reply the trigger expects out: the
 * S3/SNS/EventBridge/direct {"results"}, SQS's batchItemFailures, S3 Batch
 * Operations' results with their result codes. Pure, like event.c, whose
 * other half (parsing) it is: no I/O, no clock, no environment; never a
 * byte of the event in a reply, and never invalid UTF-8 out of a message.
 */
#include "event.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

#define MAX_RESULT_STRING 1024  /* Batch resultString, bytes */

/* A JSON string from any bytes (NULL: null). jansson refuses invalid
 * UTF-8, and a message may quote bytes from anywhere, so those become '?';
 * at most max bytes, cut on a character boundary. */
static json_t *jstr(const char *s, size_t max)
{
	size_t len, i = 0, n;
	json_t *v;
	char *copy;

	if(!s)
		return json_null();
	len = strlen(s);
	if(len <= max && imgp_utf8_valid(s, len))
		return json_stringn(s, len);
	if(!(copy = imgp_malloc(len + 1)))
		return NULL;
	memcpy(copy, s, len + 1);
	while(i < len) {
		n = imgp_utf8_seq((unsigned char *)copy + i, len - i);
		if(!n) {
			copy[i] = '?';
			n = 1;
		}
		if(i + n > max)
			break;
		i += n;
	}
	v = json_stringn(copy, i);
	imgp_free(copy);
	return v;
}

/* Set obj[key] = v, taking v; false (and v gone) on failure. */
static bool set(json_t *obj, const char *key, json_t *v)
{
	return v && json_object_set_new(obj, key, v) == 0;
}

/* The document as text in imgp_malloc'd memory; takes doc. */
static char *dump(json_t *doc)
{
	size_t n = doc ? json_dumpb(doc, NULL, 0, JSON_COMPACT) : 0;
	char *out = n ? imgp_malloc(n + 1) : NULL;

	if(out && json_dumpb(doc, out, n, JSON_COMPACT) == n)
		out[n] = '\0';
	else {
		imgp_free(out);
		out = NULL;
	}
	json_decref(doc);
	return out;
}

static char *reply_nomem(enum imgp_status *fail_status, char *err)
{
	*fail_status = imgp_fail(err, IMGP_E_NOMEM, "out of memory building the reply");
	return NULL;
}

/* The job's detail into a result: an object's members ("outputs",
 * "manifestKey", "manifest"), anything else as "outputs". Borrows detail. */
static bool splice(json_t *entry, json_t *detail)
{
	if(!json_is_object(detail))
		return set(entry, "outputs", json_incref(detail));
	return json_object_update(entry, detail) == 0;
}

/* S3, SNS, EventBridge, direct: fail as a whole on any temporary failure,
 * else {"results": [{"bucket", "key", "status", "message"?, "outputs"?}]}. */
static json_t *reply_results(const struct imgp_event *ev,
                           const struct imgp_ref_result *results,
                           enum imgp_status *fail_status, char *err)
{
	json_t *doc, *list, *entry;
	size_t ntemp = 0, first = 0;
	bool ok;

	for(size_t i = 0; i < ev->nrefs; i++)
		if(imgp_status_temporary(results[i].status) && !ntemp++)
			first = i;
	if(ntemp) {
		*fail_status = imgp_fail(err, results[first].status,
			"%zu of %zu objects failed for a temporary reason: %s: %s", ntemp,
			ev->nrefs, ev->refs[first].key,
			results[first].message ? results[first].message
			                       : imgp_status_str(results[first].status));
		return NULL;
	}
	doc = json_object();
	list = json_array();
	ok = doc && set(doc, "results", json_incref(list));
	/* Event Grid's handshake: the code back, beside whatever else came */
	if(ok && ev->validation_code)
		ok = set(doc, "validationResponse", jstr(ev->validation_code, SIZE_MAX));
	for(size_t i = 0; ok && i < ev->nrefs; i++) {
		const struct imgp_ref_result *r = &results[i];

		entry = json_object();
		ok = json_array_append_new(list, entry) == 0 &&
		     set(entry, "bucket", jstr(ev->refs[i].bucket, SIZE_MAX)) &&
		     set(entry, "key", jstr(ev->refs[i].key, SIZE_MAX)) &&
		     set(entry, "status", json_string(imgp_status_str(r->status))) &&
		     (!r->message || set(entry, "message", jstr(r->message, SIZE_MAX))) &&
		     (!r->detail || splice(entry, r->detail));
	}
	json_decref(list);
	if(!ok) {
		json_decref(doc);
		reply_nomem(fail_status, err);
		return NULL;
	}
	return doc;
}

/* True when any ref of item failed for a temporary reason. */
static bool item_temporary(const struct imgp_event *ev,
                           const struct imgp_ref_result *results, size_t item)
{
	for(size_t i = 0; i < ev->nrefs; i++)
		if(ev->refs[i].item == item && imgp_status_temporary(results[i].status))
			return true;
	return false;
}

/* SQS: {"batchItemFailures": [{"itemIdentifier": messageId}]}, the
 * messages with a ref that failed for a temporary reason; the rest are
 * deleted from the queue, including unreadable ones. */
static json_t *reply_sqs(const struct imgp_event *ev, const struct imgp_ref_result *results,
                       enum imgp_status *fail_status, char *err)
{
	json_t *doc = json_object(), *list = json_array(), *entry;
	bool ok = doc && set(doc, "batchItemFailures", json_incref(list));

	for(size_t i = 0; ok && i < ev->nitems; i++) {
		if(!item_temporary(ev, results, i))
			continue;
		entry = json_object();
		ok = json_array_append_new(list, entry) == 0 &&
		     set(entry, "itemIdentifier", jstr(ev->items[i].id, SIZE_MAX));
	}
	json_decref(list);
	if(!ok) {
		json_decref(doc);
		reply_nomem(fail_status, err);
		return NULL;
	}
	return doc;
}

/* The result of one Batch task: the worst of its refs (temporary over
 * permanent over success), or its read error. */
static bool batch_result(json_t *list, const struct imgp_event *ev,
                         const struct imgp_ref_result *results, size_t item)
{
	const struct imgp_ref_result *worst = NULL;
	const char *code = "Succeeded";
	char text[MAX_RESULT_STRING + 1];
	json_t *entry;

	for(size_t i = 0; i < ev->nrefs; i++) {
		const struct imgp_ref_result *r = &results[i];

		if(ev->refs[i].item != item)
			continue;
		if(!worst || (imgp_status_temporary(r->status) &&
		              !imgp_status_temporary(worst->status)) ||
		   (r->status && !worst->status))
			worst = r;
	}
	if(ev->items[item].error) {
		code = "PermanentFailure";
		snprintf(text, sizeof(text), "%s: %s", imgp_status_str(IMGP_E_USAGE),
		         ev->items[item].error);
	}
	else if(!worst)
		snprintf(text, sizeof(text), "nothing to do");
	else {
		if(worst->status)
			code = imgp_status_temporary(worst->status) ? "TemporaryFailure"
			                                            : "PermanentFailure";
		if(worst->status && worst->message)
			snprintf(text, sizeof(text), "%s: %s", imgp_status_str(worst->status),
			         worst->message);
		else
			snprintf(text, sizeof(text), "%s",
			         worst->message ? worst->message : imgp_status_str(worst->status));
	}
	entry = json_object();
	return json_array_append_new(list, entry) == 0 &&
	       set(entry, "taskId", jstr(ev->items[item].id, SIZE_MAX)) &&
	       set(entry, "resultCode", json_string(code)) &&
	       set(entry, "resultString", jstr(text, MAX_RESULT_STRING));
}

/* S3 Batch Operations: {"invocationSchemaVersion", "treatMissingKeysAs",
 * "invocationId", "results": [{"taskId", "resultCode", "resultString"}]}. */
static json_t *reply_batch(const struct imgp_event *ev, const struct imgp_ref_result *results,
                         enum imgp_status *fail_status, char *err)
{
	json_t *doc = json_object(), *list = json_array();
	bool ok = doc &&
		set(doc, "invocationSchemaVersion", jstr(ev->batch_schema, SIZE_MAX)) &&
		set(doc, "treatMissingKeysAs", json_string("PermanentFailure")) &&
		set(doc, "invocationId", jstr(ev->batch_invocation_id, SIZE_MAX)) &&
		set(doc, "results", json_incref(list));

	for(size_t i = 0; ok && i < ev->nitems; i++)
		ok = batch_result(list, ev, results, i);
	json_decref(list);
	if(!ok) {
		json_decref(doc);
		reply_nomem(fail_status, err);
		return NULL;
	}
	return doc;
}

/* An Azure Functions custom handler's answer: the reply as its
 * ReturnValue, a line per object for the host's log; takes doc. */
static json_t *functions_response(const struct imgp_event *ev,
                                  const struct imgp_ref_result *results, json_t *doc)
{
	json_t *logs = json_array();
	bool ok = logs != NULL;

	for(size_t i = 0; ok && i < ev->nrefs; i++) {
		char *line = imgp_asprintf("%.200s/%.600s: %s%s%.300s", ev->refs[i].bucket,
		                           ev->refs[i].key, imgp_status_str(results[i].status),
		                           results[i].message ? ": " : "",
		                           results[i].message ? results[i].message : "");

		json_t *v = line ? jstr(line, SIZE_MAX) : NULL;

		ok = v && !json_array_append_new(logs, v);
		imgp_free(line);
	}
	if(!ok) {
		json_decref(logs);
		json_decref(doc);
		return NULL;
	}
	/* json_pack takes "o" references, whether it succeeds or not */
	return json_pack("{s:{}, s:o, s:o}", "Outputs", "Logs", logs, "ReturnValue", doc);
}

enum imgp_status imgp_event_reply(const struct imgp_event *ev,
                                  const struct imgp_ref_result *results,
                                  char **reply, char *err)
{
	return imgp_event_reply_extra(ev, results, NULL, reply, err);
}

enum imgp_status imgp_event_reply_extra(const struct imgp_event *ev,
                                        const struct imgp_ref_result *results,
                                        json_t *extra, char **reply, char *err)
{
	enum imgp_status status = IMGP_OK, *fail_status = &status;
	json_t *doc;

	*reply = NULL;
	if(ev->nrefs && !results)
		return imgp_fail(err, IMGP_E_INTERNAL, "no results for the event's refs");
	switch(ev->trigger) {
	case IMGP_TRIGGER_SQS:
		doc = reply_sqs(ev, results, fail_status, err);
		break;
	case IMGP_TRIGGER_BATCH:
		doc = reply_batch(ev, results, fail_status, err);
		break;
	default:
		doc = reply_results(ev, results, fail_status, err);
		break;
	}
	if(doc && extra && json_object_update(doc, extra)) {
		json_decref(doc);
		doc = NULL;
	}
	if(doc && ev->functions && !(doc = functions_response(ev, results, doc))) {
		json_decref(doc);
		doc = NULL;
	}
	if(!doc) {
		if(!status)
			reply_nomem(fail_status, err);
		return status;
	}
	if(!(*reply = dump(doc)))
		reply_nomem(fail_status, err);
	return status;
}
