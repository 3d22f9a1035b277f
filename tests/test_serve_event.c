/*
 * test_serve_event.c: the event shapes that arrive over HTTP (event.c):
 * CloudEvents in structured and binary mode, Pub/Sub pushes of Cloud
 * Storage notifications, and S3 records as MinIO and Ceph RGW post them.
 * Table-driven: a document in (single quotes for double), the refs out,
 * or the error's words.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

/* Single quotes become double, so the tables stay readable. */
static char *dq(const char *s)
{
	char *out = strdup(s);

	for(char *p = out; *p; p++)
		if(*p == '\'')
			*p = '"';
	return out;
}

/* base64 of "{'bucket':'photos','name':'a b+c.jpg','generation':'1712','md5Hash':
 * 'CY9rzUYh03PK3k6DJie09g==','size':'4096'}" (md5 of "test"), made with
 * `base64 -w0`: a JSON_API_V1 payload */
#define GCS_OBJECT_B64 \
	"eyJidWNrZXQiOiJwaG90b3MiLCJuYW1lIjoiYSBiK2MuanBnIiwiZ2VuZXJhdGlvbiI6IjE3MTIiLCJtZDVIYXNo" \
	"IjoiQ1k5cnpVWWgwM1BLM2s2REppZTA5Zz09Iiwic2l6ZSI6IjQwOTYifQ=="

/* Arrays, not pointers: Criterion may run a parameter in a new process
 * image, where this one's addresses mean nothing. "" for none. */
struct good {
	char json[800];
	enum imgp_trigger trigger;
	char bucket[16], key[32], version[16], etag[40];
	enum imgp_action action;
	unsigned long long size;
	char event_id[16];
};

#define MD5_TEST "098f6bcd4621d373cade4e832627b4f6"

static struct good goods[] = {
	/* CloudEvents, structured mode, Cloud Storage */
	{ "{'specversion':'1.0','type':'google.cloud.storage.object.v1.finalized','source':"
	  "'//storage.googleapis.com/projects/_/buckets/photos','id':'ce-1','data':{'bucket':"
	  "'photos','name':'a b+c.jpg','generation':'1712','md5Hash':'CY9rzUYh03PK3k6DJie09g==',"
	  "'size':'4096','contentType':'image/jpeg'}}", IMGP_TRIGGER_CLOUDEVENT, "photos",
	  "a b+c.jpg", "1712", MD5_TEST, IMGP_ACTION_CREATED, 4096, "ce-1" },
	{ "{'specversion':'1.0','type':'google.cloud.storage.object.v1.deleted','source':'s',"
	  "'id':'2','data':{'bucket':'photos','name':'x.jpg','generation':99}}",
	  IMGP_TRIGGER_CLOUDEVENT, "photos", "x.jpg", "99", "", IMGP_ACTION_REMOVED, 0, "2" },
	{ "{'specversion':'1.0','type':'google.cloud.storage.object.v1.metadataUpdated',"
	  "'source':'s','id':'3','data':{'bucket':'p','name':'x.jpg'}}",
	  IMGP_TRIGGER_CLOUDEVENT, "p", "x.jpg", "", "", IMGP_ACTION_IGNORED, 0, "3" },
	/* data_base64 */
	{ "{'specversion':'1.0','type':'google.cloud.storage.object.v1.finalized','source':'s',"
	  "'id':'4','data_base64':'" GCS_OBJECT_B64 "'}", IMGP_TRIGGER_CLOUDEVENT, "photos",
	  "a b+c.jpg", "1712", MD5_TEST, IMGP_ACTION_CREATED, 4096, "4" },
	/* Eventarc's Pub/Sub CloudEvent of a Cloud Storage notification */
	{ "{'specversion':'1.0','type':'google.cloud.pubsub.topic.v1.messagePublished','source':"
	  "'//pubsub.googleapis.com/projects/p/topics/t','id':'5','data':{'subscription':'s',"
	  "'message':{'attributes':{'eventType':'OBJECT_FINALIZE','bucketId':'photos','objectId':"
	  "'a b+c.jpg','objectGeneration':'1712','payloadFormat':'JSON_API_V1'},'data':'"
	  GCS_OBJECT_B64 "','messageId':'m-5'}}}", IMGP_TRIGGER_CLOUDEVENT, "photos",
	  "a b+c.jpg", "1712", MD5_TEST, IMGP_ACTION_CREATED, 4096, "5" },
	/* an S3 notification as a CloudEvent's data: keys encoded as S3's */
	{ "{'specversion':'1.0','type':'com.amazonaws.s3.ObjectCreated','source':'aws:s3',"
	  "'id':'6','data':{'Records':[{'eventSource':'aws:s3','eventName':'ObjectCreated:Put',"
	  "'s3':{'bucket':{'name':'up'},'object':{'key':'a+b%2Bc.jpg','eTag':'e1','size':7}}}]}}",
	  IMGP_TRIGGER_CLOUDEVENT, "up", "a b+c.jpg", "", "e1", IMGP_ACTION_CREATED, 7, "6" },
	/* one S3 record as data, and an EventBridge event as data */
	{ "{'specversion':'1.0','type':'aws.s3.record','source':'x','id':'7','data':{'eventName':"
	  "'ObjectCreated:Put','s3':{'bucket':{'name':'up'},'object':{'key':'k.jpg'}}}}",
	  IMGP_TRIGGER_CLOUDEVENT, "up", "k.jpg", "", "", IMGP_ACTION_CREATED, 0, "7" },
	{ "{'specversion':'1.0','type':'Object Created','source':'aws.s3','id':'8','data':{"
	  "'source':'aws.s3','detail-type':'Object Created','detail':{'bucket':{'name':'up'},"
	  "'object':{'key':'a b.jpg','version-id':'v1'}}}}",
	  IMGP_TRIGGER_CLOUDEVENT, "up", "a b.jpg", "v1", "", IMGP_ACTION_CREATED, 0, "8" },
	/* Pub/Sub push envelopes */
	{ "{'message':{'attributes':{'eventType':'OBJECT_FINALIZE','bucketId':'photos','objectId':"
	  "'a b+c.jpg','objectGeneration':'1712','payloadFormat':'JSON_API_V1'},'data':'"
	  GCS_OBJECT_B64 "','messageId':'m-9','publishTime':'2026-11-30T09:00:00Z'},"
	  "'subscription':'projects/p/subscriptions/s'}", IMGP_TRIGGER_PUBSUB, "photos",
	  "a b+c.jpg", "1712", MD5_TEST, IMGP_ACTION_CREATED, 4096, "m-9" },
	{ "{'message':{'attributes':{'eventType':'OBJECT_DELETE','bucketId':'b','objectId':'o.png',"
	  "'objectGeneration':'5','payloadFormat':'NONE'},'message_id':'m-10'},'subscription':'s'}",
	  IMGP_TRIGGER_PUBSUB, "b", "o.png", "5", "", IMGP_ACTION_REMOVED, 0, "m-10" },
	/* attributes missing, the object's JSON says it */
	{ "{'message':{'attributes':{'eventType':'OBJECT_FINALIZE'},'data':'" GCS_OBJECT_B64 "'},"
	  "'subscription':'s'}", IMGP_TRIGGER_PUBSUB, "photos", "a b+c.jpg", "1712", MD5_TEST,
	  IMGP_ACTION_CREATED, 4096, "" },
	/* MinIO's webhook: EventName and Key on top, the key form-encoded */
	{ "{'EventName':'s3:ObjectCreated:Put','Key':'up/a b.jpg','Records':[{'eventVersion':'2.0',"
	  "'eventSource':'minio:s3','eventName':'s3:ObjectCreated:Put','s3':{'bucket':{'name':'up'},"
	  "'object':{'key':'a+b.jpg','size':12,'eTag':'d41d','versionId':'1'}}}]}",
	  IMGP_TRIGGER_S3, "up", "a b.jpg", "1", "d41d", IMGP_ACTION_CREATED, 12, "" },
	/* Ceph RGW: the key literal, the size a string */
	{ "{'Records':[{'eventVersion':'2.2','eventSource':'ceph:s3','eventName':"
	  "'ObjectCreated:Put','s3':{'bucket':{'name':'up'},'object':{'key':'a+b%20c.jpg',"
	  "'size':'1024','eTag':'37b5','versionId':''}}}]}",
	  IMGP_TRIGGER_S3, "up", "a+b%20c.jpg", "", "37b5", IMGP_ACTION_CREATED, 1024, "" },
};

ParameterizedTestParameters(serve_event, good)
{
	return cr_make_param_array(struct good, goods, sizeof(goods) / sizeof(goods[0]));
}

ParameterizedTest(struct good *g, serve_event, good)
{
	char *json = dq(g->json), err[IMGP_ERRSIZE] = "";
	struct imgp_event ev;
	const struct imgp_ref *r;

	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_OK, "%s: %s", json, err);
	cr_assert_eq(ev.trigger, g->trigger, "%s: trigger %s", json, imgp_trigger_name(ev.trigger));
	cr_assert_eq(ev.nrefs, 1, "%s: %zu refs", json, ev.nrefs);
	r = &ev.refs[0];
	cr_assert_str_eq(r->bucket, g->bucket);
	cr_assert_str_eq(r->key, g->key);
	if(*g->version)
		cr_assert_str_eq(r->version_id ? r->version_id : "(none)", g->version, "%s", json);
	else
		cr_assert_null(r->version_id, "%s: version %s", json, r->version_id);
	if(*g->etag)
		cr_assert_str_eq(r->etag ? r->etag : "(none)", g->etag, "%s", json);
	else
		cr_assert_null(r->etag, "%s: etag %s", json, r->etag);
	cr_assert_eq(r->action, g->action, "%s: action %d", json, r->action);
	cr_assert_eq(r->size, g->size, "%s: size %llu", json, (unsigned long long)r->size);
	if(*g->event_id)
		cr_assert_str_eq(ev.event_id ? ev.event_id : "(none)", g->event_id);
	imgp_event_release(&ev);
	free(json);
}

/* Binary mode: the attributes are headers, the body is the data. */
Test(serve_event, binary_mode_cloud_storage)
{
	struct imgp_cloudevent ce = { "1.0", "google.cloud.storage.object.v1.finalized",
		"//storage.googleapis.com/projects/_/buckets/photos", "bin-1", "objects/a.jpg",
		"application/json" };
	char *data = dq("{'bucket':'photos','name':'dir/a.jpg','generation':'17',"
	                "'md5Hash':'CY9rzUYh03PK3k6DJie09g=='}"), err[IMGP_ERRSIZE] = "";
	struct imgp_event ev;

	cr_assert_eq(imgp_event_parse_cloudevent(&ce, data, strlen(data), &ev, err), IMGP_OK, "%s", err);
	cr_assert_eq(ev.trigger, IMGP_TRIGGER_CLOUDEVENT);
	cr_assert_eq(ev.nrefs, 1);
	cr_assert_str_eq(ev.refs[0].key, "dir/a.jpg");
	cr_assert_str_eq(ev.refs[0].version_id, "17");
	cr_assert_str_eq(ev.refs[0].etag, MD5_TEST);
	cr_assert_str_eq(ev.event_id, "bin-1");
	imgp_event_release(&ev);
	free(data);
}

struct bad {
	char ce_type[48];           /* "": a JSON document for imgp_event_parse */
	char json[300];
	char words[120];            /* the error contains them */
};

static struct bad bads[] = {
	{ "", "{'specversion':'0.3','type':'x','id':'1','data':{}}",
	  "a CloudEvent of specversion \"0.3\": imgpipe reads CloudEvents 1.0" },
	{ "", "{'specversion':'1.0','id':'1','data':{}}", "a CloudEvent without a type" },
	{ "", "{'specversion':'1.0','type':'com.example.thing','source':'src','id':'1',"
	  "'data':{'hello':'world'}}", "unknown CloudEvent type \"com.example.thing\" from \"src\", "
	  "and its data is an object with key \"hello\"" },
	{ "", "{'specversion':'1.0','type':'google.cloud.storage.object.v1.exploded','id':'1',"
	  "'data':{}}", "unknown Cloud Storage event type \"google.cloud.storage.object.v1.exploded\"" },
	{ "", "{'specversion':'1.0','type':'google.cloud.storage.object.v1.finalized','id':'1',"
	  "'data':{'bucket':'b'}}", "the CloudEvent's data: the object name is missing" },
	{ "", "{'specversion':'1.0','type':'google.cloud.storage.object.v1.finalized','id':'1',"
	  "'data':{'bucket':'b','name':'k','generation':'12abc'}}", "the generation is not a number" },
	{ "", "{'specversion':'1.0','type':'google.cloud.storage.object.v1.finalized','id':'1',"
	  "'data_base64':'***'}", "data_base64 is not base64" },
	{ "", "{'message':{'attributes':{'eventType':'OBJECT_FINALIZE','bucketId':'b','objectId':"
	  "'k'},'data':'not base64!'},'subscription':'s'}", "message.data is not base64" },
	{ "", "{'message':{'attributes':{'eventType':'OBJECT_FINALIZE','bucketId':'b','objectId':"
	  "'k'},'data':'aGVsbG8='},'subscription':'s'}", "message.data is not a JSON object" },
	{ "", "{'message':{'attributes':{'foo':'bar'},'data':''},'subscription':'s'}",
	  "a Pub/Sub message without the attribute \"eventType\"" },
	{ "", "{'message':{'attributes':{'eventType':'OBJECT_EXPLODE'}},'subscription':'s'}",
	  "unknown eventType \"OBJECT_EXPLODE\"" },
	{ "", "{'message':{'attributes':{'eventType':'OBJECT_FINALIZE','bucketId':'b'},"
	  "'data':''},'subscription':'s'}", "the object name (attribute \"objectId\") is missing" },
	{ "", "{'message':5,'subscription':'s'}", "unrecognised event" },
	{ "com.example.other", "{'a':1}", "unknown CloudEvent type \"com.example.other\"" },
	{ "google.cloud.storage.object.v1.finalized", "{'bucket':'b','name'", "the CloudEvent's "
	  "data is not valid JSON" },
	{ "google.cloud.storage.object.v1.finalized", "", "the CloudEvent's data is empty, not a "
	  "Cloud Storage object" },
};

ParameterizedTestParameters(serve_event, bad)
{
	return cr_make_param_array(struct bad, bads, sizeof(bads) / sizeof(bads[0]));
}

ParameterizedTest(struct bad *b, serve_event, bad)
{
	char *json = dq(b->json), err[IMGP_ERRSIZE] = "";
	struct imgp_event ev;
	enum imgp_status st;

	if(*b->ce_type) {
		struct imgp_cloudevent ce = { "1.0", b->ce_type, "src", "id-1", NULL, NULL };

		st = imgp_event_parse_cloudevent(&ce, json, strlen(json), &ev, err);
	}
	else
		st = imgp_event_parse(json, strlen(json), &ev, err);
	cr_assert_eq(st, IMGP_E_USAGE, "%s parsed (%d)", json, st);
	cr_assert(strstr(err, b->words), "%s:\n  got  %s\n  want %s", json, err, b->words);
	/* nothing kept: the event is empty after a refusal */
	cr_assert_eq(ev.nrefs, 0);
	cr_assert_null(ev.event_id);
	free(json);
}

Test(serve_event, trigger_names)
{
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_CLOUDEVENT), "cloudevents");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_PUBSUB), "pubsub");
}
