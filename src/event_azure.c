/*
 * event_azure.c: Azure's event shapes: Event Grid's Blob Storage events
 * (Microsoft.Storage.BlobCreated and BlobDeleted) in Event Grid's own
 * schema (an array of events, or one event as a Functions eventGridTrigger
 * hands it over) and in CloudEvents 1.0 (the same types and data), and
 * Event Grid's subscription validation handshake; and the request of an
 * Azure Functions custom handler around any of them. Pure, as event.c.
 *
 * A blob's container is the ref's bucket and its name the key, both from
 * the subject "/blobServices/default/containers/C/blobs/NAME" where the
 * name is literal; data.url (percent-encoded) is the fallback. The ETag is
 * taken without its quotes, as S3 events carry theirs; data.versionId,
 * where blob versioning gives one, is the version. A Data Lake CreateFile
 * (an empty file, its bytes come with FlushWithClose) is ignored.
 */
#include "event_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_PREFIX "Microsoft.Storage."
#define VALIDATION_TYPE "Microsoft.EventGrid.SubscriptionValidationEvent"
#define SUBJECT_PREFIX "/blobServices/default/containers/"

static const struct {
	const char *type;           /* after Microsoft.Storage. */
	enum imgp_action action;
} blob_types[] = {
	{ "BlobCreated", IMGP_ACTION_CREATED },
	{ "BlobDeleted", IMGP_ACTION_REMOVED },
	{ "BlobTierChanged", IMGP_ACTION_IGNORED },
	{ "BlobRenamed", IMGP_ACTION_IGNORED },
	{ "DirectoryCreated", IMGP_ACTION_IGNORED },
	{ "DirectoryRenamed", IMGP_ACTION_IGNORED },
	{ "DirectoryDeleted", IMGP_ACTION_IGNORED },
	{ "AsyncOperationInitiated", IMGP_ACTION_IGNORED },
	{ "BlobInventoryPolicyCompleted", IMGP_ACTION_IGNORED },
	{ "LifecyclePolicyCompleted", IMGP_ACTION_IGNORED },
};

/* The action of a Microsoft.Storage.* type; -1 when it is not one. */
static int blob_type(const char *type)
{
	if(!type || strncmp(type, TYPE_PREFIX, strlen(TYPE_PREFIX)))
		return -1;
	for(size_t i = 0; i < sizeof(blob_types) / sizeof(blob_types[0]); i++)
		if(!strcmp(type + strlen(TYPE_PREFIX), blob_types[i].type))
			return (int)blob_types[i].action;
	return IMGP_ACTION_IGNORED;     /* a storage event imgpipe has no use for */
}

/* "%XX" undone (a "+" stays a "+": a URL path, not a form) into a new
 * JSON string of raw bytes (checked as UTF-8 by imgp_ev_add_ref); NULL
 * with *bad on a malformed escape or %00, NULL alone when out of memory. */
static json_t *percent_decoded(const char *s, size_t n, bool *bad)
{
	char *out = imgp_malloc(n + 1), *o = out;
	json_t *v;
	int hi, lo;

	*bad = false;
	if(!out)
		return NULL;
	for(size_t i = 0; i < n; i++) {
		if(s[i] != '%')
			*o++ = s[i];
		else if(i + 2 < n && (hi = imgp_hexval(s[i + 1])) >= 0 &&
		        (lo = imgp_hexval(s[i + 2])) >= 0 && (hi | lo)) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		}
		else {
			*bad = true;
			imgp_free(out);
			return NULL;
		}
	}
	v = json_stringn_nocheck(out, (size_t)(o - out));
	imgp_free(out);
	return v;
}

/*
 * The container and name of a blob: from the subject, else from data.url
 * ("https://ACCOUNT.blob.core.windows.net/C/NAME", or Azurite's
 * "http://127.0.0.1:10000/ACCOUNT/C/NAME" when the subject says nothing).
 * New references in *bucket and *key; IMGP_E_USAGE with the reason.
 */
static enum imgp_status blob_of(const char *subject, const char *url, json_t **bucket,
                                json_t **key, const char *where, char *err)
{
	const char *c, *slash, *path, *prefix = SUBJECT_PREFIX;
	bool bad = false;

	*bucket = *key = NULL;
	/* Microsoft's CloudEvents examples drop the subject's leading '/' */
	if(subject && *subject != '/')
		prefix++;
	if(subject && !strncmp(subject, prefix, strlen(prefix))) {
		c = subject + strlen(prefix);
		slash = strstr(c, "/blobs/");
		if(!slash || slash == c || !slash[7])
			return imgp_fail(err, IMGP_E_USAGE, "%s: the subject names no blob "
			                 "(" SUBJECT_PREFIX "CONTAINER/blobs/NAME)", where);
		*bucket = json_stringn_nocheck(c, (size_t)(slash - c));
		*key = json_string_nocheck(slash + 7);
	}
	else if(url && (path = strstr(url, "://"))) {
		const char *host = path + 3;

		/* the path after the host: the container, then the name; on a
		 * path-style endpoint (Azurite's http://127.0.0.1:10000/ACCOUNT/C/NAME,
		 * no ".blob." in the host) the account comes first */
		path = strchr(host, '/');
		if(path && !(strstr(host, ".blob.") && strstr(host, ".blob.") < path))
			path = strchr(path + 1, '/');
		if(path && path[1] && (slash = strchr(path + 1, '/')) && slash[1]) {
			*bucket = percent_decoded(path + 1, (size_t)(slash - path - 1), &bad);
			if(*bucket)
				*key = percent_decoded(slash + 1, strlen(slash + 1), &bad);
		}
		else
			bad = true;
		if(bad) {
			json_decref(*bucket);
			*bucket = NULL;
			return imgp_fail(err, IMGP_E_USAGE, "%s: data.url names no blob (or has a "
			                 "malformed escape) and there is no blob subject", where);
		}
	}
	else
		return imgp_fail(err, IMGP_E_USAGE, "%s: neither a blob subject (" SUBJECT_PREFIX
		                 "CONTAINER/blobs/NAME) nor data.url", where);
	if(!*bucket || !*key) {
		json_decref(*bucket);
		json_decref(*key);
		*bucket = *key = NULL;
		return IMGP_E_NOMEM;
	}
	return IMGP_OK;
}

/* An ETag without its quotes, as a new JSON string (NULL: none). */
static json_t *bare_etag(json_t *v)
{
	const char *s = json_string_value(v);
	size_t n;

	if(!s || !*s)
		return NULL;
	n = strlen(s);
	if(n >= 2 && s[0] == '"' && s[n - 1] == '"')
		return json_stringn_nocheck(s + 1, n - 2);
	return json_incref(v);
}

/* One Blob Storage event (type, subject and data from either schema) into
 * the refs of item; where names it in errors. */
static enum imgp_status blob_event(struct parser *p, size_t item, const char *type,
                                   const char *subject, json_t *data, const char *where,
                                   char *err)
{
	const char *api = json_string_value(json_object_get(data, "api"));
	json_t *bucket, *key, *etag;
	enum imgp_status result;
	struct ref_in in;
	char what[160];
	int action = blob_type(type);

	if(!json_is_object(data)) {
		if(data)
			imgp_ev_describe(data, what, sizeof(what));
		return imgp_fail(err, IMGP_E_USAGE, "%s: the data is %s, not a Blob Storage "
		                 "event's", where, data ? what : "empty");
	}
	result = blob_of(subject, json_string_value(json_object_get(data, "url")), &bucket,
	                 &key, where, err);
	if(result == IMGP_E_NOMEM)
		return imgp_ev_nomem(p, err);
	if(result)
		return result;
	/* a Data Lake file is created empty and its bytes flushed later */
	if(action == IMGP_ACTION_CREATED && api && !strcmp(api, "CreateFile"))
		action = IMGP_ACTION_IGNORED;
	etag = bare_etag(json_object_get(data, "eTag"));
	in = (struct ref_in){
		.bucket = bucket, .key = key, .encoded = false,
		.version = json_object_get(data, "versionId"), .etag = etag,
		.size = json_object_get(data, "contentLength"),
		.action = (enum imgp_action)action, .event_name = type,
	};
	result = imgp_ev_add_ref(p, item, &in, where, err);
	json_decref(bucket);
	json_decref(key);
	json_decref(etag);
	return result;
}

/* Does this object look like one Event Grid event (its own schema)? */
static bool is_eventgrid_event(json_t *v)
{
	return json_is_object(v) && json_is_string(json_object_get(v, "eventType")) &&
	       json_object_get(v, "subject") && !json_object_get(v, "specversion");
}

/* The validation handshake: the code, to be answered {"validationResponse"}. */
static enum imgp_status validation(struct parser *p, json_t *event, const char *where,
                                   char *err)
{
	const char *code = json_string_value(json_object_get(json_object_get(event, "data"),
	                                                     "validationCode"));

	if(!code || !*code || strlen(code) > 256)
		return imgp_fail(err, IMGP_E_USAGE, "%s: a subscription validation event without "
		                 "a usable data.validationCode", where);
	if(p->ev->validation_code)
		return imgp_fail(err, IMGP_E_USAGE, "%s: a second subscription validation event "
		                 "in one delivery", where);
	if(!(p->ev->validation_code = imgp_strdup(code)))
		return imgp_ev_nomem(p, err);
	return IMGP_OK;
}

/* Event Grid's schema: an array of events (or one event). */
static enum imgp_status eventgrid(struct parser *p, json_t *root, char *err)
{
	bool one = json_is_object(root);
	size_t n = one ? 1 : json_array_size(root), item;
	enum imgp_status result;
	char where[48], type[40];

	p->ev->trigger = IMGP_TRIGGER_EVENTGRID;
	if(!n)
		return imgp_fail(err, IMGP_E_USAGE, "an empty Event Grid delivery");
	if((result = imgp_ev_add_item(p, NULL, &item, err)))
		return result;
	for(size_t i = 0; i < n; i++) {
		json_t *event = one ? root : json_array_get(root, i);
		const char *t = json_string_value(json_object_get(event, "eventType"));

		snprintf(where, sizeof(where), "Event Grid event %zu", i);
		if(!is_eventgrid_event(event))
			return imgp_fail(err, IMGP_E_USAGE, "%s is not an Event Grid event (no "
			                 "eventType and subject)", where);
		if(!i && (result = imgp_ev_set_id(p, json_string_value(json_object_get(event, "id")),
		                                  err)))
			return result;
		if(!strcmp(t, VALIDATION_TYPE)) {
			result = validation(p, event, where, err);
		}
		else if(blob_type(t) < 0) {
			imgp_ev_safe_name(t, type);
			result = imgp_fail(err, IMGP_E_USAGE, "%s has the type \"%s\"; imgpipe reads "
			                   TYPE_PREFIX "BlobCreated and BlobDeleted", where, type);
		}
		else
			result = blob_event(p, item, t,
			                    json_string_value(json_object_get(event, "subject")),
			                    json_object_get(event, "data"), where, err);
		if(result)
			return result;
	}
	return IMGP_OK;
}

/*
 * An Azure Functions custom handler's request, {"Data": {BINDING: value},
 * "Metadata": {...}}: the trigger binding's value is the event. An
 * eventGridTrigger's is the Event Grid event (an object, or its JSON as
 * text); a queueTrigger's is the queue message's text (Event Grid writing
 * to a Storage queue), JSON, JSON inside a JSON string, or base64 of
 * either when the host does not decode it.
 */
static enum imgp_status functions_request(struct parser *p, json_t *root, char *err)
{
	json_t *data = json_object_get(root, "Data"), *v = NULL, *owned = NULL, *value;
	enum imgp_status result;
	const char *name;

	if(json_object_size(data) != 1)
		return imgp_fail(err, IMGP_E_USAGE, "an Azure Functions request whose Data holds "
		                 "%zu bindings: imgpipe's functions have one trigger binding and "
		                 "no other input", json_object_size(data));
	json_object_foreach(data, name, value)
		v = value;
	p->ev->functions = true;
	for(int depth = 0; json_is_string(v) && depth < 3; depth++) {
		json_t *parsed = json_loadb(json_string_value(v), json_string_length(v),
		                            JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

		if(!parsed) {
			result = imgp_ev_b64_json(v, &parsed);
			if(result == IMGP_E_NOMEM) {
				json_decref(owned);
				return imgp_ev_nomem(p, err);
			}
			if(result || !parsed) {
				json_decref(owned);
				return imgp_fail(err, IMGP_E_USAGE, "the Functions binding's value is "
				                 "text that is neither JSON nor base64 of JSON");
			}
		}
		json_decref(owned);
		owned = v = parsed;
	}
	if(!json_is_object(v) && !json_is_array(v))
		result = imgp_fail(err, IMGP_E_USAGE, "the Functions binding's value is not an "
		                   "event");
	else
		result = imgp_ev_dispatch(p, v, err);
	json_decref(owned);
	return result;
}

static enum imgp_status azure_document(struct parser *p, json_t *root, char *err)
{
	if(json_is_object(json_object_get(root, "Data")) && json_object_get(root, "Metadata"))
		return functions_request(p, root, err);
	if(is_eventgrid_event(root) ||
	   (json_is_array(root) && is_eventgrid_event(json_array_get(root, 0))))
		return eventgrid(p, root, err);
	return IMGP_E_NOT_FOUND;
}

/* Microsoft.Storage.* CloudEvents, as Event Grid sends them in CloudEvents
 * schema (event.c has read the envelope, one event or a batch). */
static enum imgp_status azure_cloudevent(struct parser *p, const struct imgp_cloudevent *ce,
                                         json_t *data, char *err)
{
	size_t item;
	enum imgp_status result;

	if(blob_type(ce->type) < 0)
		return IMGP_E_NOT_FOUND;
	p->ev->trigger = IMGP_TRIGGER_CLOUDEVENT;
	if(!p->ev->nitems && (result = imgp_ev_add_item(p, NULL, &item, err)))
		return result;
	return blob_event(p, 0, ce->type, ce->subject, data, "the CloudEvent", err);
}

const struct imgp_dialect imgp_dialect_azure = {
	.name = "azure",
	.document = azure_document,
	.cloudevent = azure_cloudevent,
	.accepts = "Event Grid's Blob Storage events",
	.cloudevent_reads = TYPE_PREFIX "BlobCreated and BlobDeleted",
};
