/*
 * test_event.c: every trigger shape into refs, and every reply, as tables
 * of input and expected outcome; the sample events under testdata/events
 * are read as AWS sends them, and no prefix of any of them may crash the
 * parser.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "placeholder.h"
#include "lib/testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- helpers ---------------------------------------------------------- */

static char *sample_path(const char *name)
{
	char *path = NULL;

	if(asprintf(&path, "%s/testdata/events/%s", tu_srcdir(), name) < 0)
		abort();
	return path;
}

static char *read_sample(const char *name, size_t *len)
{
	char *path = sample_path(name);
	char *data = tu_read(path, len);

	cr_assert(data, "cannot read %s", path);
	free(path);
	return data;
}

static void parse_sample(const char *name, struct imgp_event *ev)
{
	char err[IMGP_ERRSIZE] = "";
	size_t len;
	char *data = read_sample(name, &len);

	cr_assert_eq(imgp_event_parse(data, len, ev, err), IMGP_OK, "%s: %s", name, err);
	free(data);
}

/* Tables write JSON with ' for " and ` for \" (a quote inside a nested
 * JSON string), so that events stay readable in C. */
static char *unquote(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	for(; *s; s++) {
		if(*s == '\'')
			*o++ = '"';
		else if(*s == '`') {
			*o++ = '\\';
			*o++ = '"';
		}
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static enum imgp_status parse_text(const char *table_json, struct imgp_event *ev, char *err)
{
	char *json = unquote(table_json);
	enum imgp_status result = imgp_event_parse(json, strlen(json), ev, err);

	free(json);
	return result;
}

/* The reply as JSON, asserting that there is one. */
static json_t *reply_json(const struct imgp_event *ev, const struct imgp_ref_result *res)
{
	enum imgp_status status = IMGP_E_INTERNAL;
	char err[IMGP_ERRSIZE] = "";
	char *text = NULL;
	json_error_t jerr;
	json_t *doc;

	status = imgp_event_reply(ev, res, &text, err);

	cr_assert(text, "no reply: %s: %s", imgp_status_str(status), err);
	cr_assert_eq(status, IMGP_OK);
	doc = json_loads(text, 0, &jerr);
	cr_assert(doc, "reply is not JSON: %s: %s", jerr.text, text);
	imgp_free(text);
	return doc;
}

static const char *str_at(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	cr_assert(s, "no string \"%s\" in the reply", key);
	return s;
}

/* --- every sample, ref by ref ----------------------------------------- */

struct want_ref {
	char key[64];
	char version[48];
	char etag[48];
	unsigned long long size;
	int action;
	int item;
};

/* arrays, not pointers: Criterion copies parameters into a new process */
struct sample_case {
	char file[40];
	int trigger;
	int nitems;
	int nrefs;
	char id0[64];                /* items[0].id, "" for NULL */
	char id1[64];
	bool test0;                  /* items[0].test_event */
	bool error1;                 /* items[1].error set */
	char schema[8];
	char invocation[64];
	struct want_ref refs[3];
};

#define C IMGP_ACTION_CREATED
#define R IMGP_ACTION_REMOVED
#define ETAG_L "d41d8cd98f00b204e9800998ecf8427e"
#define ETAG_P "9b2cf535f27731c974343645a3985328-2"
#define ETAG_G "5d41402abc4b2a76b9719d911017c592"
#define VER_P "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"

static struct sample_case samples[] = {
	{ "s3-put.json", IMGP_TRIGGER_S3, 1, 1, "", "", false, false, "", "",
	  { { "photos/landscape.jpg", "", ETAG_L, 1843201, C, 0 } } },
	{ "s3-put-encoded.json", IMGP_TRIGGER_S3, 1, 1, "", "", false, false, "", "",
	  { { "photos/my cat (copy).jpg", "", "0f343b0931126a20f133d67c2b018a3b", 52311, C, 0 } } },
	{ "s3-put-multi.json", IMGP_TRIGGER_S3, 1, 3, "", "", false, false, "", "",
	  { { "photos/landscape.jpg", "", ETAG_L, 1843201, C, 0 },
	    { "photos/portrait.jpg", VER_P, ETAG_P, 2391022, C, 0 },
	    { "photos/logo.png", "", ETAG_G, 40411, C, 0 } } },
	{ "s3-delete.json", IMGP_TRIGGER_S3, 1, 1, "", "", false, false, "", "",
	  { { "photos/portrait.jpg", VER_P, "", 0, R, 0 } } },
	{ "s3-test-event.json", IMGP_TRIGGER_S3, 1, 0, "", "", true, false, "", "", { { "", "", "", 0, 0, 0 } } },
	{ "sqs-s3.json", IMGP_TRIGGER_SQS, 2, 2, "059f36b4-87a3-44ab-83d2-661975830a7d",
	  "2e1424d4-f796-459a-8184-9c92662be6da", false, false, "", "",
	  { { "photos/landscape.jpg", "", ETAG_L, 1843201, C, 0 },
	    { "photos/portrait.jpg", "", ETAG_P, 2391022, C, 1 } } },
	{ "sqs-test-event.json", IMGP_TRIGGER_SQS, 1, 0, "c80e8021-a70a-42c7-a470-796e1186f753",
	  "", true, false, "", "", { { "", "", "", 0, 0, 0 } } },
	{ "sqs-bad-body.json", IMGP_TRIGGER_SQS, 2, 1, "9a5c1b3e-6a43-4d8e-9f0b-1f2e3d4c5b6a",
	  "4f7d2c1a-0b9e-4c8d-a7f6-e5d4c3b2a190", false, true, "", "",
	  { { "photos/logo.png", "", ETAG_G, 40411, C, 0 } } },
	{ "sqs-sns-s3.json", IMGP_TRIGGER_SQS, 1, 1, "d9a5ec2c-3b1f-4f5e-9c3a-2f1e0d9c8b7a", "",
	  false, false, "", "", { { "photos/logo.png", "", ETAG_G, 40411, C, 0 } } },
	{ "sns-s3.json", IMGP_TRIGGER_SNS, 1, 1, "", "", false, false, "", "",
	  { { "photos/landscape.jpg", "", ETAG_L, 1843201, C, 0 } } },
	{ "eventbridge-created.json", IMGP_TRIGGER_EVENTBRIDGE, 1, 1, "", "", false, false, "", "",
	  { { "photos/landscape.jpg", "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", ETAG_L, 1843201, C, 0 } } },
	{ "eventbridge-deleted.json", IMGP_TRIGGER_EVENTBRIDGE, 1, 1, "", "", false, false, "", "",
	  { { "photos/portrait.jpg", "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF", "", 0, R, 0 } } },
	{ "batch-1.0.json", IMGP_TRIGGER_BATCH, 1, 1, "dGFza2lkZ29lc2hlcmUK", "", false, false,
	  "1.0", "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
	  { { "photos/landscape.jpg", "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "", 0, C, 0 } } },
	{ "batch-2.0.json", IMGP_TRIGGER_BATCH, 1, 1, "ZHVtbXl0YXNraWQyCg", "", false, false,
	  "2.0", "Jr3s8KZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
	  { { "photos/my cat (copy).jpg", "", "", 0, C, 0 } } },
	{ "direct.json", IMGP_TRIGGER_DIRECT, 1, 1, "", "", false, false, "", "",
	  { { "photos/logo.png", "", "", 0, C, 0 } } },
	{ "direct-list.json", IMGP_TRIGGER_DIRECT, 1, 2, "", "", false, false, "", "",
	  { { "photos/landscape.jpg", "", "", 0, C, 0 },
	    { "photos/portrait.jpg", VER_P, "", 0, C, 0 } } },
	{ "direct-refs.json", IMGP_TRIGGER_DIRECT, 1, 2, "", "", false, false, "", "",
	  { { "photos/logo.png", "", "", 0, C, 0 },
	    { "photos/my cat (copy).jpg", "", "", 0, C, 0 } } },
	/* Azure: Event Grid's schema (the name literal in the subject, the ETag
	 * without its quotes), and CloudEvents, one and a batch */
	{ "eventgrid-blob-created.json", IMGP_TRIGGER_EVENTGRID, 1, 1, "", "", false, false, "",
	  "", { { "photos/my cat (copy).jpg", "", "0x8D4BCC2E4835CD0", 52311, C, 0 } } },
	{ "eventgrid-blob-deleted.json", IMGP_TRIGGER_EVENTGRID, 1, 1, "", "", false, false, "",
	  "", { { "photos/portrait.jpg", "", "", 0, R, 0 } } },
	{ "eventgrid-validation.json", IMGP_TRIGGER_EVENTGRID, 1, 0, "", "", false, false, "",
	  "", { { "", "", "", 0, 0, 0 } } },
	{ "cloudevents-blob-created.json", IMGP_TRIGGER_CLOUDEVENT, 1, 1, "", "", false, false,
	  "", "", { { "photos/landscape.jpg", "", "0x8D76C39E4407333", 1843201, C, 0 } } },
	{ "cloudevents-blob-batch.json", IMGP_TRIGGER_CLOUDEVENT, 1, 2, "", "", false, false,
	  "", "", { { "photos/landscape.jpg", "", "0x8D76C39E4407333", 1843201, C, 0 },
	            { "photos/portrait.jpg", "", "", 0, R, 0 } } },
};

ParameterizedTestParameters(event, sample)
{
	return cr_make_param_array(struct sample_case, samples, N(samples));
}

static void assert_opt_str(const char *got, const char *want, const char *what,
                           const char *file, int i)
{
	if(!*want)
		cr_assert_null(got, "%s ref %d: %s is \"%s\", expected none", file, i, what, got);
	else {
		cr_assert(got, "%s ref %d: no %s", file, i, what);
		cr_assert_str_eq(got, want, "%s ref %d: %s", file, i, what);
	}
}

ParameterizedTest(struct sample_case *c, event, sample)
{
	struct imgp_event ev;

	parse_sample(c->file, &ev);
	cr_assert_eq(ev.trigger, c->trigger, "%s: trigger %s", c->file,
	             imgp_trigger_name(ev.trigger));
	cr_assert_eq(ev.nitems, (size_t)c->nitems, "%s: %zu items", c->file, ev.nitems);
	cr_assert_eq(ev.nrefs, (size_t)c->nrefs, "%s: %zu refs", c->file, ev.nrefs);
	assert_opt_str(ev.items[0].id, c->id0, "items[0].id", c->file, 0);
	if(ev.nitems > 1)
		assert_opt_str(ev.items[1].id, c->id1, "items[1].id", c->file, 1);
	cr_assert_eq(ev.items[0].test_event, c->test0, "%s: test_event", c->file);
	cr_assert_null(ev.items[0].error, "%s: %s", c->file, ev.items[0].error);
	if(ev.nitems > 1)
		cr_assert_eq(ev.items[1].error != NULL, c->error1, "%s: items[1].error", c->file);
	assert_opt_str(ev.batch_schema, c->schema, "batch_schema", c->file, 0);
	assert_opt_str(ev.batch_invocation_id, c->invocation, "invocation id", c->file, 0);
	for(int i = 0; i < c->nrefs && i < 3; i++) {
		const struct imgp_ref *r = &ev.refs[i];
		const struct want_ref *w = &c->refs[i];

		cr_assert_str_eq(r->bucket, "imgpipe-uploads", "%s ref %d", c->file, i);
		cr_assert_str_eq(r->key, w->key, "%s ref %d", c->file, i);
		assert_opt_str(r->version_id, w->version, "version", c->file, i);
		assert_opt_str(r->etag, w->etag, "etag", c->file, i);
		cr_assert_eq(r->size, (uint64_t)w->size, "%s ref %d: size", c->file, i);
		cr_assert_eq(r->action, w->action, "%s ref %d: action", c->file, i);
		cr_assert_eq(r->item, (size_t)w->item, "%s ref %d: item", c->file, i);
	}
	imgp_event_release(&ev);
	imgp_event_release(&ev);        /* twice is harmless */
}

Test(event, event_names_are_kept)
{
	struct imgp_event ev;

	parse_sample("s3-put-multi.json", &ev);
	cr_assert_str_eq(ev.refs[0].event_name, "ObjectCreated:Put");
	cr_assert_str_eq(ev.refs[1].event_name, "ObjectCreated:CompleteMultipartUpload");
	imgp_event_release(&ev);
	parse_sample("eventbridge-deleted.json", &ev);
	cr_assert_str_eq(ev.refs[0].event_name, "Object Deleted");
	imgp_event_release(&ev);
	parse_sample("direct.json", &ev);
	cr_assert_null(ev.refs[0].event_name);
	imgp_event_release(&ev);
}

/* --- samples that must be refused ------------------------------------- */

struct bad_sample {
	char file[40];
	char message[300];
};

static struct bad_sample bad_samples[] = {
	{ "not-json.txt", "the event is not valid JSON (line 1, column 6): invalid token" },
	{ "unknown-shape.json", "unrecognised event: an object with keys \"foo\", \"bar\", "
	  "\"apiVersion\", \"password\"; accepted: S3, SQS, SNS, EventBridge and S3 Batch "
	  "Operations events, Event Grid's Blob Storage events, or {\"bucket\": ..., \"key\": ...}; "
	  "over HTTP also CloudEvents "
	  "and Pub/Sub pushes of Cloud Storage notifications" },
	{ "wrong-types.json", "record 0: the bucket name is missing or not a string" },
};

ParameterizedTestParameters(event, bad_sample)
{
	return cr_make_param_array(struct bad_sample, bad_samples, N(bad_samples));
}

ParameterizedTest(struct bad_sample *c, event, bad_sample)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	size_t len;
	char *data = read_sample(c->file, &len);

	cr_assert_eq(imgp_event_parse(data, len, &ev, err), IMGP_E_USAGE, "%s accepted", c->file);
	cr_assert(!strncmp(err, c->message, strlen(c->message)),
	          "%s: error \"%s\" does not start \"%s\"", c->file, err, c->message);
	/* the event's values never reach the error */
	cr_assert_null(strstr(err, "hunter2"));
	cr_assert_null(strstr(err, "imgpipe-uploads"));
	cr_assert_eq(ev.nrefs, 0);
	cr_assert_eq(ev.nitems, 0);
	cr_assert_null(ev.refs);
	free(data);
}

/* --- key decoding ----------------------------------------------------- */

struct decode_case {
	char encoded[64];
	char decoded[64];
	bool ok;
};

static struct decode_case decodes[] = {
	{ "photos/my+cat+%28copy%29.jpg", "photos/my cat (copy).jpg", true },
	{ "a%2Bb.jpg", "a+b.jpg", true },
	{ "a%2bb.jpg", "a+b.jpg", true },
	{ "a%20b.jpg", "a b.jpg", true },
	{ "a+%2B+b", "a + b", true },
	{ "m%C3%BCller.jpg", "m\xc3\xbcller.jpg", true },
	{ "%e2%82%ac", "\xe2\x82\xac", true },
	{ "100%25.jpg", "100%.jpg", true },
	{ "plain/key.jpg", "plain/key.jpg", true },
	{ "", "", true },
	{ "%zz.jpg", "", false },
	{ "a%2", "", false },
	{ "a%", "", false },
	{ "a%g0", "", false },
	{ "a%00b", "", false },
};

ParameterizedTestParameters(event, decode)
{
	return cr_make_param_array(struct decode_case, decodes, N(decodes));
}

ParameterizedTest(struct decode_case *c, event, decode)
{
	char *got = imgp_event_decode_key(c->encoded);

	if(!c->ok) {
		cr_assert_null(got, "\"%s\" decoded to \"%s\"", c->encoded, got);
		return;
	}
	cr_assert(got, "\"%s\" refused", c->encoded);
	cr_assert_str_eq(got, c->decoded);
	imgp_free(got);
}

/* --- inline events: shapes, encodings, wrong types -------------------- */

struct inline_case {
	char json[480];              /* ' for ", ` for \" */
	int status;
	int trigger;
	int nrefs;
	char key0[48];
	int action0;
	char message[280];           /* a prefix of the error */
};

#define S3REC(name, key) "{'eventSource':'aws:s3','eventName':'" name "','s3':{'bucket':{'name':'b'},'object':{'key':'" key "'}}}"
#define S3EV(name, key) "{'Records':[" S3REC(name, key) "]}"
#define OK_(json, trig, n, key, act) { json, IMGP_OK, trig, n, key, act, "" }
#define BAD(json, msg) { json, IMGP_E_USAGE, 0, 0, "", 0, msg }
#define T_S3 IMGP_TRIGGER_S3
#define I IMGP_ACTION_IGNORED

static struct inline_case inlines[] = {
	/* S3 keys are form-encoded */
	OK_(S3EV("ObjectCreated:Put", "a+b.jpg"), T_S3, 1, "a b.jpg", C),
	OK_(S3EV("ObjectCreated:Put", "a%2Bb.jpg"), T_S3, 1, "a+b.jpg", C),
	OK_(S3EV("ObjectCreated:Put", "a%20b.jpg"), T_S3, 1, "a b.jpg", C),
	OK_(S3EV("ObjectCreated:Put", "m%C3%BCller.jpg"), T_S3, 1, "m\xc3\xbcller.jpg", C),
	BAD(S3EV("ObjectCreated:Put", "a%zz.jpg"), "record 0: the key has a malformed %-escape"),
	BAD("{'Records':[" S3REC("ObjectCreated:Put", "ok.jpg") "," S3REC("ObjectCreated:Put", "b%") "]}",
	    "record 1: the key has a malformed %-escape"),
	BAD(S3EV("ObjectCreated:Put", "a%FF.jpg"), "record 0: the key is not UTF-8 once decoded"),
	BAD(S3EV("ObjectCreated:Put", "a%ED%A0%80.jpg"), "record 0: the key is not UTF-8"),
	BAD(S3EV("ObjectCreated:Put", "a%00.jpg"), "record 0: the key has a malformed"),
	BAD(S3EV("ObjectCreated:Put", ""), "record 0: the key is empty"),
	/* event names */
	OK_(S3EV("ObjectCreated:Copy", "k"), T_S3, 1, "k", C),
	OK_(S3EV("s3:ObjectCreated:Put", "k"), T_S3, 1, "k", C),
	OK_(S3EV("ObjectRemoved:DeleteMarkerCreated", "k"), T_S3, 1, "k", R),
	OK_(S3EV("LifecycleExpiration:Delete", "k"), T_S3, 1, "k", R),
	OK_(S3EV("ObjectRestore:Completed", "k"), T_S3, 1, "k", I),
	OK_(S3EV("ObjectTagging:Put", "k"), T_S3, 1, "k", I),
	OK_("{'Records':[{'s3':{'bucket':{'name':'b'},'object':{'key':'k'}}}]}", T_S3, 1, "k", I),
	OK_("{'Records':[{'eventSource':'minio:s3','eventName':'s3:ObjectCreated:Put',"
	    "'s3':{'bucket':{'name':'b'},'object':{'key':'k','size':-5,'eTag':7}}}]}", T_S3, 1, "k", C),
	/* EventBridge and direct keys are literal */
	OK_("{'source':'aws.s3','detail-type':'Object Created','detail':{'bucket':{'name':'b'},"
	    "'object':{'key':'a+b%20c.jpg'}}}", IMGP_TRIGGER_EVENTBRIDGE, 1, "a+b%20c.jpg", C),
	OK_("{'source':'aws.s3','detail-type':'Object Restore Completed','detail':{'bucket':{'name':'b'},"
	    "'object':{'key':'k'}}}", IMGP_TRIGGER_EVENTBRIDGE, 1, "k", I),
	OK_("{'bucket':'b','key':'a+b%20c.jpg'}", IMGP_TRIGGER_DIRECT, 1, "a+b%20c.jpg", C),
	OK_("{'bucket':'b','key':'k','versionId':null}", IMGP_TRIGGER_DIRECT, 1, "k", C),
	/* Batch keys are encoded, in both schemas */
	OK_("{'invocationSchemaVersion':'1.0','invocationId':'i','job':{'id':'j'},'tasks':[{'taskId':'t',"
	    "'s3Key':'a+b%2Bc.jpg','s3VersionId':null,'s3BucketArn':'arn:aws:s3:::b'}]}",
	    IMGP_TRIGGER_BATCH, 1, "a b+c.jpg", C),
	OK_("{'invocationSchemaVersion':'2.0','invocationId':'i','job':{'id':'j','userArguments':{'k':'v'}},"
	    "'tasks':[{'taskId':'t','s3Key':'m%C3%BCller.jpg','s3Bucket':'b'}]}",
	    IMGP_TRIGGER_BATCH, 1, "m\xc3\xbcller.jpg", C),
	/* S3's test notification, alone */
	OK_("{'Service':'Amazon S3','Event':'s3:TestEvent','Bucket':'b'}", T_S3, 0, "", 0),
	/* wrong types everywhere */
	BAD("{'Records':5}", "\"Records\" is a number, not a list"),
	BAD("{'Records':{'a':1}}", "\"Records\" is an object with key \"a\", not a list"),
	BAD("{'Records':[]}", "\"Records\" is empty"),
	BAD("{'Records':[5]}", "record 0 is not an S3, SQS or SNS record, but a number"),
	BAD("{'Records':[null]}", "record 0 is not an S3, SQS or SNS record, but null"),
	BAD("{'Records':[{'eventSource':'aws:s3','s3':5}]}",
	    "record 0 is not an S3, SQS or SNS record, but an object with keys \"eventSource\", \"s3\""),
	BAD("{'Records':[{'eventSource':'aws:s3','s3':{'bucket':{'name':'b'},'object':5}}]}",
	    "record 0: not an S3 record (no s3.object)"),
	BAD("{'Records':[{'s3':{'bucket':{'name':'b'},'object':{'key':7}}}]}",
	    "record 0: the key is missing or not a string"),
	BAD("{'Records':[{'s3':{'bucket':{'name':'b'},'object':{'key':null}}}]}",
	    "record 0: the key is missing or not a string"),
	BAD("{'Records':[{'s3':{'bucket':'b','object':{'key':'k'}}}]}",
	    "record 0: the bucket name is missing or not a string"),
	BAD("{'Records':[{'s3':{'bucket':{'name':''},'object':{'key':'k'}}}]}",
	    "record 0: the bucket name is empty"),
	BAD("{'Records':[{'s3':{'bucket':{'name':'b'},'object':{'key':'k','versionId':5}}}]}",
	    "record 0: the version id is not a string"),
	BAD("{'Records':[" S3REC("ObjectCreated:Put", "k") ",{'eventSource':'aws:sqs','messageId':'m','body':'{}'}]}",
	    "record 1 is sqs, but record 0 is s3"),
	BAD("{'Records':[{'eventSource':'aws:sqs','body':'{}'}]}",
	    "record 0: an SQS message without a messageId"),
	BAD("{'Records':[{'eventSource':'aws:sqs','messageId':5,'body':'{}'}]}",
	    "record 0: an SQS message without a messageId"),
	BAD("{'Records':[{'EventSource':'aws:sns','Sns':{'Message':5}}]}",
	    "record 0: an SNS record without Sns.Message"),
	BAD("{'Records':[{'EventSource':'aws:sns','Sns':5}]}",
	    "record 0: an SNS record without Sns.Message"),
	BAD("{'Records':[{'EventSource':'aws:sns','Sns':{'Message':'nope'}}]}",
	    "record 0: Sns.Message is not JSON"),
	BAD("{'Records':[{'EventSource':'aws:sns','Sns':{'Message':'{`a`:1}'}}]}",
	    "record 0: Sns.Message: not an S3 notification or s3:TestEvent, but an object with key \"a\""),
	BAD("{'Records':[{'EventSource':'aws:sns','Sns':{'Message':'{`Records`:[{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`%zz`}}}]}'}}]}",
	    "record 0: Sns.Message: record 0: the key has a malformed %-escape"),
	BAD("{'source':'aws.s3','detail-type':'Object Created','detail':5}",
	    "an EventBridge event without a \"detail-type\" string or a \"detail\" object"),
	BAD("{'source':'aws.s3','detail-type':5,'detail':{}}",
	    "an EventBridge event without a \"detail-type\" string"),
	BAD("{'source':'aws.s3','detail-type':'Object Created','detail':{'bucket':{'name':'b'},'object':{'key':[]}}}",
	    "detail: the key is missing or not a string"),
	BAD("{'source':'aws.ec2','detail-type':'EC2 Instance State-change Notification','detail':{}}",
	    "unrecognised event: an EventBridge event from \"aws.ec2\", not \"aws.s3\"; accepted: "),
	BAD("{'invocationSchemaVersion':'1.0','tasks':[]}",
	    "an S3 Batch Operations event needs \"invocationSchemaVersion\" and \"invocationId\""),
	BAD("{'invocationSchemaVersion':1,'invocationId':'i','tasks':[{}]}",
	    "an S3 Batch Operations event needs"),
	BAD("{'invocationSchemaVersion':'1.0','invocationId':'i','tasks':[5]}", "tasks[0] has no \"taskId\""),
	BAD("{'bucket':'b'}", "the event: the key is missing or not a string"),
	BAD("{'key':'k'}", "the event: the bucket name is missing or not a string"),
	BAD("{'bucket':'a/b','key':'k'}", "the event: the bucket name is not valid"),
	BAD("{'bucket':'b','key':''}", "the event: the key is empty"),
	BAD("{'refs':5}", "\"refs\" is not a list"),
	BAD("{'refs':[]}", "the list of objects is empty"),
	BAD("[]", "the list of objects is empty"),
	BAD("[{'bucket':'b','key':'k'},5]", "element 1 is a number, not {\"bucket\": ..., \"key\": ...}"),
	BAD("[[1]]", "element 0 is a list, not {"),
	/* unknown shapes name what came, never its values */
	BAD("{'foo':'secret','bar':2}", "unrecognised event: an object with keys \"foo\", \"bar\"; "
	    "accepted: S3, SQS, SNS, EventBridge and S3 Batch Operations events, Event Grid's Blob "
	    "Storage events, or {\"bucket\": ..., \"key\": ...}; "
	    "over HTTP also CloudEvents and Pub/Sub pushes of Cloud Storage notifications"),
	BAD("{'a':1,'b':2,'c':3,'d':4,'e':5,'f':6,'g':7,'h':8}",
	    "unrecognised event: an object with keys \"a\", \"b\", \"c\", \"d\", \"e\", \"f\" and 2 more; accepted"),
	BAD("{'abcdefghijklmnopqrstuvwxyz0123456789':1}",
	    "unrecognised event: an object with key \"abcdefghijklmnopqrstuvwxyz012345...\"; accepted"),
	BAD("{'a`b\\n':1}", "unrecognised event: an object with key \"a?b?\"; accepted"),
	BAD("{}", "unrecognised event: an empty object; accepted"),
	BAD("5", "unrecognised event: a number; accepted"),
	BAD("'bucket/key'", "unrecognised event: a string; accepted"),
	BAD("null", "unrecognised event: null; accepted"),
	BAD("true", "unrecognised event: a boolean; accepted"),
	BAD("", "the event is not valid JSON (line 1, column 0): "),
	BAD("{'bucket':'b','key':'k'", "the event is not valid JSON"),
	BAD("{'bucket':'b','bucket':'c','key':'k'}", "the event is not valid JSON"),
	BAD("{'bucket':'b','key':'k\\u0000'}", "the event is not valid JSON"),
	/* Event Grid: the subject names the blob, else data.url (percent-encoded, '+' kept) */
	OK_("[{'eventType':'Microsoft.Storage.BlobCreated','subject':'/x','data':"
	    "{'url':'https://a.blob.core.windows.net/b/dir/a%20b+c%C3%A9.jpg'}}]",
	    IMGP_TRIGGER_EVENTGRID, 1, "dir/a b+c\xc3\xa9.jpg", C),
	/* Azurite's path-style URL: the account first */
	OK_("[{'eventType':'Microsoft.Storage.BlobCreated','subject':'/x','data':"
	    "{'url':'http://127.0.0.1:10000/devstoreaccount1/b/k%2Bk.jpg'}}]",
	    IMGP_TRIGGER_EVENTGRID, 1, "k+k.jpg", C),
	OK_("{'eventType':'Microsoft.Storage.BlobCreated','subject':"
	    "'/blobServices/default/containers/b/blobs/a%20b.jpg','data':{}}",
	    IMGP_TRIGGER_EVENTGRID, 1, "a%20b.jpg", C),
	OK_("[{'eventType':'Microsoft.Storage.BlobCreated','subject':"
	    "'/blobServices/default/containers/b/blobs/d/x.jpg','data':{'api':'CreateFile'}}]",
	    IMGP_TRIGGER_EVENTGRID, 1, "d/x.jpg", I),
	OK_("[{'eventType':'Microsoft.Storage.BlobTierChanged','subject':"
	    "'/blobServices/default/containers/b/blobs/x.jpg','data':{}}]",
	    IMGP_TRIGGER_EVENTGRID, 1, "x.jpg", I),
	BAD("[{'eventType':'Microsoft.Storage.BlobCreated','subject':"
	    "'/blobServices/default/containers/b/blobs/','data':{}}]",
	    "Event Grid event 0: the subject names no blob"),
	BAD("[{'eventType':'Microsoft.Storage.BlobCreated','subject':'x','data':"
	    "{'url':'https://a.blob.core.windows.net/b'}}]", "Event Grid event 0: data.url names no blob"),
	BAD("[{'eventType':'Microsoft.Storage.BlobCreated','subject':'x','data':"
	    "{'url':'https://a.blob.core.windows.net/b/k%zz'}}]", "Event Grid event 0: data.url names no blob"),
	BAD("[{'eventType':'Microsoft.Storage.BlobCreated','subject':"
	    "'/blobServices/default/containers/b/blobs/k','data':5}]",
	    "Event Grid event 0: the data is a number"),
	BAD("[{'eventType':'Microsoft.Resources.ResourceWriteSuccess','subject':'/x','data':{}}]",
	    "Event Grid event 0 has the type \"Microsoft.Resources.ResourceWrit...\"; imgpipe reads"),
	BAD("[{'eventType':'Microsoft.EventGrid.SubscriptionValidationEvent','subject':'','data':{}}]",
	    "Event Grid event 0: a subscription validation event without a usable"),
	BAD("[{'eventType':'Microsoft.Storage.BlobCreated','subject':"
	    "'/blobServices/default/containers/b/blobs/k','data':{}},5]",
	    "Event Grid event 1 is not an Event Grid event"),
	BAD("[{'specversion':'1.0','type':'Microsoft.Storage.BlobCreated','id':'1','subject':"
	    "'/blobServices/default/containers/b/blobs/k','data':{}},5]",
	    "element 1 of the CloudEvents batch is not a CloudEvent"),
	BAD("[{'specversion':'1.0','type':'Microsoft.Storage.BlobCreated','id':'1','subject':"
	    "'/blobServices/default/containers/b/blobs/k','data':{}},{'specversion':'1.0','id':'2',"
	    "'type':'Microsoft.Storage.BlobCreated','data':{}}]",
	    "CloudEvent 1: the CloudEvent: neither a blob subject"),
};

ParameterizedTestParameters(event, inline_event)
{
	return cr_make_param_array(struct inline_case, inlines, N(inlines));
}

ParameterizedTest(struct inline_case *c, event, inline_event)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	enum imgp_status got = parse_text(c->json, &ev, err);

	cr_assert_eq(got, c->status, "%s: %s (%s)", c->json, imgp_status_str(got), err);
	if(c->status) {
		cr_assert(!strncmp(err, c->message, strlen(c->message)),
		          "%s: error \"%s\" does not start \"%s\"", c->json, err, c->message);
		cr_assert_null(strstr(err, "secret"));
		cr_assert_eq(ev.nrefs, 0);
		return;
	}
	cr_assert_eq(ev.trigger, c->trigger, "%s: %s", c->json, imgp_trigger_name(ev.trigger));
	cr_assert_eq(ev.nrefs, (size_t)c->nrefs, "%s", c->json);
	cr_assert_eq(ev.nitems, 1, "%s", c->json);
	if(c->nrefs) {
		cr_assert_str_eq(ev.refs[0].bucket, "b");
		cr_assert_str_eq(ev.refs[0].key, c->key0, "%s", c->json);
		cr_assert_eq(ev.refs[0].action, c->action0, "%s", c->json);
		cr_assert_eq(ev.refs[0].size, 0);
		cr_assert_null(ev.refs[0].etag);
		cr_assert_null(ev.refs[0].version_id);
	}
	else
		cr_assert(ev.items[0].test_event);
	imgp_event_release(&ev);
}

/* --- messages and tasks that cannot be read --------------------------- */

struct item_error_case {
	char json[400];
	int nrefs;                   /* refs left: none from the bad item */
	char message[160];           /* a prefix of items[last].error */
};

#define SQSMSG(id, body) "{'eventSource':'aws:sqs','messageId':'" id "','body':" body "}"
#define GOOD_BODY "'{`Records`:[{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`k`}}}]}'"

static struct item_error_case item_errors[] = {
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1", "5") "]}", 1,
	  "the message body is not a string" },
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1", "'hello'") "]}", 1,
	  "the message body is not JSON" },
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1", "'{`a`:1,`secret`:2}'") "]}", 1,
	  "not an S3 notification, an SNS envelope of one or s3:TestEvent, but an object with "
	  "keys \"a\", \"secret\"" },
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1", "'[1]'") "]}", 1,
	  "not an S3 notification, an SNS envelope of one or s3:TestEvent, but a list" },
	/* the first record was fine, the second not: the message keeps none */
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1",
	  "'{`Records`:[{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`ok`}}},"
	  "{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`b%zz`}}}]}'") "]}", 1,
	  "record 1: the key has a malformed %-escape" },
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1",
	  "'{`Type`:`Notification`,`Message`:`nope`}'") "]}", 1, "Message is not JSON" },
	{ "{'Records':[" SQSMSG("m0", GOOD_BODY) "," SQSMSG("m1",
	  "'{`Records`:[{`eventSource`:`aws:sqs`}]}'") "]}", 1, "record 0 is not an S3 record" },
	{ "{'invocationSchemaVersion':'1.0','invocationId':'i','tasks':["
	  "{'taskId':'t0','s3Key':'k','s3BucketArn':'arn:aws:s3:::b'},"
	  "{'taskId':'t1','s3Key':'%zz','s3BucketArn':'arn:aws:s3:::b'}]}", 1,
	  "task 1: the key has a malformed %-escape" },
	{ "{'invocationSchemaVersion':'1.0','invocationId':'i','tasks':["
	  "{'taskId':'t0','s3Key':'k','s3BucketArn':'arn:aws:s3:::b'},"
	  "{'taskId':'t1','s3Key':7,'s3BucketArn':'arn:aws:s3:::b'}]}", 1,
	  "task 1: the key is missing or not a string" },
	{ "{'invocationSchemaVersion':'1.0','invocationId':'i','tasks':["
	  "{'taskId':'t0','s3Key':'k','s3BucketArn':'arn:aws:s3:::b'},"
	  "{'taskId':'t1','s3Key':'k','s3BucketArn':'not-an-arn'}]}", 1,
	  "task 1: the bucket name is missing or not a string" },
};

ParameterizedTestParameters(event, item_error)
{
	return cr_make_param_array(struct item_error_case, item_errors, N(item_errors));
}

ParameterizedTest(struct item_error_case *c, event, item_error)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	const char *got;

	cr_assert_eq(parse_text(c->json, &ev, err), IMGP_OK, "%s: %s", c->json, err);
	cr_assert_eq(ev.nitems, 2);
	cr_assert_eq(ev.nrefs, (size_t)c->nrefs);
	cr_assert_null(ev.items[0].error);
	got = ev.items[1].error;
	cr_assert(got, "%s: no item error", c->json);
	cr_assert(!strncmp(got, c->message, strlen(c->message)),
	          "error \"%s\" does not start \"%s\"", got, c->message);
	cr_assert_str_eq(ev.items[1].id, ev.trigger == IMGP_TRIGGER_SQS ? "m1" : "t1");
	imgp_event_release(&ev);
}

/* --- limits ----------------------------------------------------------- */

/* A direct list of n refs, each key klen bytes of 'a'. */
static char *direct_list(size_t n, size_t klen)
{
	size_t size = n * (klen + 40) + 8, len = 0;
	char *s = malloc(size);

	len += (size_t)sprintf(s + len, "[");
	for(size_t i = 0; i < n; i++) {
		len += (size_t)sprintf(s + len, "%s{\"bucket\":\"b\",\"key\":\"", i ? "," : "");
		memset(s + len, 'a', klen);
		len += klen;
		len += (size_t)sprintf(s + len, "\"}");
	}
	sprintf(s + len, "]");
	return s;
}

Test(event, at_most_1000_refs)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	char *json = direct_list(IMGP_EVENT_MAX_REFS, 8);

	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_OK, "%s", err);
	cr_assert_eq(ev.nrefs, IMGP_EVENT_MAX_REFS);
	imgp_event_release(&ev);
	free(json);
	json = direct_list(IMGP_EVENT_MAX_REFS + 1, 8);
	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_E_USAGE);
	cr_assert_str_eq(err, "the event holds more than 1000 objects or messages; imgpipe "
	                 "takes at most 1000 per invocation (for SQS, lower the batch size)");
	cr_assert_eq(ev.nrefs, 0);
	free(json);
}

Test(event, at_most_1000_sqs_messages)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	size_t len = 0;
	char *json = malloc(1200 * 200);

	/* test events hold no refs, but each message is an item */
	len += (size_t)sprintf(json, "{\"Records\":[");
	for(int i = 0; i < 1001; i++)
		len += (size_t)sprintf(json + len, "%s{\"eventSource\":\"aws:sqs\",\"messageId\":\"m%d\","
			"\"body\":\"{\\\"Event\\\":\\\"s3:TestEvent\\\"}\"}", i ? "," : "", i);
	sprintf(json + len, "]}");
	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_E_USAGE);
	cr_assert(strstr(err, "more than 1000"), "%s", err);
	free(json);
}

Test(event, keys_at_most_1024_bytes)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	char *json = direct_list(1, IMGP_EVENT_MAX_KEY);
	char encoded[3 * 1025 + 1] = "", s3[4000];

	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_OK, "%s", err);
	cr_assert_eq(strlen(ev.refs[0].key), IMGP_EVENT_MAX_KEY);
	imgp_event_release(&ev);
	free(json);
	json = direct_list(1, IMGP_EVENT_MAX_KEY + 1);
	cr_assert_eq(imgp_event_parse(json, strlen(json), &ev, err), IMGP_E_USAGE);
	cr_assert_str_eq(err, "element 0: the key is 1025 bytes, over S3's limit of 1024");
	free(json);
	/* the limit is on the decoded key: 1,025 "%41" is 3,075 bytes encoded */
	for(int i = 0; i < 1025; i++)
		strcat(encoded, "%41");
	snprintf(s3, sizeof(s3), "{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"},"
	         "\"object\":{\"key\":\"%s\"}}}]}", encoded);
	cr_assert_eq(imgp_event_parse(s3, strlen(s3), &ev, err), IMGP_E_USAGE);
	cr_assert_str_eq(err, "record 0: the key is 1025 bytes, over S3's limit of 1024");
	encoded[3 * 1024] = '\0';
	snprintf(s3, sizeof(s3), "{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"},"
	         "\"object\":{\"key\":\"%s\"}}}]}", encoded);
	cr_assert_eq(imgp_event_parse(s3, strlen(s3), &ev, err), IMGP_OK, "%s", err);
	imgp_event_release(&ev);
}

/* --- replies: S3, SNS, EventBridge, direct ---------------------------- */

Test(event, reply_results)
{
	struct imgp_event ev;
	json_t *detail = json_loads("[{\"variant\":\"small\",\"key\":\"out/landscape-small.jpg\","
	                            "\"w\":320}]", 0, NULL);
	struct imgp_ref_result res[3] = {
		{ IMGP_OK, "wrote 2 variants", detail },
		{ IMGP_OK, NULL, NULL },
		{ IMGP_E_CORRUPT, "truncated PNG data", NULL },
	};
	json_t *doc, *list, *r;

	cr_assert_not_null(detail);
	parse_sample("s3-put-multi.json", &ev);
	doc = reply_json(&ev, res);
	cr_assert_eq(json_object_size(doc), 1);
	list = json_object_get(doc, "results");
	cr_assert_eq(json_array_size(list), 3);
	r = json_array_get(list, 0);
	cr_assert_eq(json_object_size(r), 5);
	cr_assert_str_eq(str_at(r, "bucket"), "imgpipe-uploads");
	cr_assert_str_eq(str_at(r, "key"), "photos/landscape.jpg");
	cr_assert_str_eq(str_at(r, "status"), "OK");
	cr_assert_str_eq(str_at(r, "message"), "wrote 2 variants");
	cr_assert(json_is_array(json_object_get(r, "outputs")), "outputs not spliced as JSON");
	cr_assert_str_eq(str_at(json_array_get(json_object_get(r, "outputs"), 0), "key"),
	                 "out/landscape-small.jpg");
	r = json_array_get(list, 1);
	cr_assert_eq(json_object_size(r), 3, "no message, no outputs");
	cr_assert_str_eq(str_at(r, "key"), "photos/portrait.jpg");
	r = json_array_get(list, 2);
	cr_assert_eq(json_object_size(r), 4);
	cr_assert_str_eq(str_at(r, "key"), "photos/logo.png");
	cr_assert_str_eq(str_at(r, "status"), "CorruptImage");
	cr_assert_str_eq(str_at(r, "message"), "truncated PNG data");
	json_decref(doc);
	json_decref(detail);
	imgp_event_release(&ev);
}

Test(event, reply_fails_whole_on_temporary)
{
	struct imgp_event ev;
	struct imgp_ref_result res[3] = {
		{ IMGP_OK, NULL, NULL },
		{ IMGP_E_THROTTLED, "503 SlowDown from S3", NULL },
		{ IMGP_E_SERVER, "500 InternalError", NULL },
	};
	enum imgp_status status = IMGP_OK;
	char err[IMGP_ERRSIZE] = "", *out;
	const char *files[] = { "s3-put-multi.json", "direct-list.json" };

	parse_sample("s3-put-multi.json", &ev);
	status = imgp_event_reply(&ev, res, &out, err);
	cr_assert_null(out);
	cr_assert_eq(status, IMGP_E_THROTTLED);
	cr_assert_str_eq(err, "2 of 3 objects failed for a temporary reason: "
	                 "photos/portrait.jpg: 503 SlowDown from S3");
	imgp_event_release(&ev);
	/* every trigger without items of its own behaves the same */
	for(size_t f = 1; f < N(files); f++) {
		parse_sample(files[f], &ev);
		res[1].message = NULL;
		status = imgp_event_reply(&ev, res, &out, err);
		cr_assert_null(out);
		cr_assert_eq(status, IMGP_E_THROTTLED);
		cr_assert_str_eq(err, "1 of 2 objects failed for a temporary reason: "
		                 "photos/portrait.jpg: Throttled");
		imgp_event_release(&ev);
	}
}

Test(event, reply_per_trigger_without_items)
{
	const char *files[] = { "sns-s3.json", "eventbridge-created.json", "direct.json", "s3-put.json" };
	struct imgp_ref_result ok = { IMGP_OK, NULL, NULL };
	struct imgp_ref_result tmp = { IMGP_E_DEADLINE, "deadline", NULL };
	enum imgp_status status;
	char err[IMGP_ERRSIZE], *out;

	for(size_t f = 0; f < N(files); f++) {
		struct imgp_event ev;
		json_t *doc;

		parse_sample(files[f], &ev);
		doc = reply_json(&ev, &ok);
		cr_assert_eq(json_array_size(json_object_get(doc, "results")), 1, "%s", files[f]);
		json_decref(doc);
		status = imgp_event_reply(&ev, &tmp, &out, err);
		cr_assert_null(out, "%s", files[f]);
		cr_assert_eq(status, IMGP_E_DEADLINE);
		imgp_event_release(&ev);
	}
}

Test(event, reply_test_event_is_empty_results)
{
	struct imgp_event ev;
	json_t *doc;

	parse_sample("s3-test-event.json", &ev);
	doc = reply_json(&ev, NULL);
	cr_assert(json_is_array(json_object_get(doc, "results")));
	cr_assert_eq(json_array_size(json_object_get(doc, "results")), 0);
	json_decref(doc);
	imgp_event_release(&ev);
}

Test(event, reply_sanitises_what_the_job_says)
{
	struct imgp_event ev;
	json_t *detail = json_string("not an object");
	struct imgp_ref_result res = { IMGP_E_NOT_IMAGE, "bad \xff byte \xc3", detail };
	json_t *doc, *r;

	parse_sample("direct.json", &ev);
	doc = reply_json(&ev, &res);
	r = json_array_get(json_object_get(doc, "results"), 0);
	cr_assert_str_eq(str_at(r, "message"), "bad ? byte ?");
	/* a detail that is not an object (a bug in the job) is kept as "outputs" */
	cr_assert_str_eq(str_at(r, "outputs"), "not an object");
	json_decref(doc);
	json_decref(detail);
	imgp_event_release(&ev);
}

/* --- replies: SQS ----------------------------------------------------- */

/* The itemIdentifiers of an SQS reply, joined by ",". */
static void sqs_failures(const struct imgp_event *ev, const struct imgp_ref_result *res,
                         char *out, size_t size)
{
	json_t *doc = reply_json(ev, res), *list = json_object_get(doc, "batchItemFailures");

	cr_assert_eq(json_object_size(doc), 1);
	cr_assert(json_is_array(list));
	out[0] = '\0';
	for(size_t i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);

		cr_assert_eq(json_object_size(e), 1);
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "",
		         str_at(e, "itemIdentifier"));
	}
	json_decref(doc);
}

Test(event, reply_sqs)
{
	struct imgp_event ev;
	struct imgp_ref_result res[2] = { { IMGP_OK, NULL, NULL }, { IMGP_OK, NULL, NULL } };
	char ids[256];

	parse_sample("sqs-s3.json", &ev);
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "");
	res[1].status = IMGP_E_TIMEOUT;
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "2e1424d4-f796-459a-8184-9c92662be6da");
	/* permanent failures are reported by the job, never retried */
	res[0].status = IMGP_E_CORRUPT;
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "2e1424d4-f796-459a-8184-9c92662be6da");
	res[0].status = IMGP_E_NETWORK;
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "059f36b4-87a3-44ab-83d2-661975830a7d,"
	                 "2e1424d4-f796-459a-8184-9c92662be6da");
	imgp_event_release(&ev);
}

Test(event, reply_sqs_never_retries_a_bad_body)
{
	struct imgp_event ev;
	struct imgp_ref_result res = { IMGP_OK, NULL, NULL };
	char ids[256];

	parse_sample("sqs-bad-body.json", &ev);
	cr_assert_eq(ev.nrefs, 1);
	cr_assert_eq(ev.refs[0].item, 0);
	cr_assert_str_eq(ev.items[1].error, "the message body is not JSON");
	sqs_failures(&ev, &res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "", "an unreadable message would loop forever");
	res.status = IMGP_E_SERVER;
	sqs_failures(&ev, &res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "9a5c1b3e-6a43-4d8e-9f0b-1f2e3d4c5b6a");
	imgp_event_release(&ev);
	parse_sample("sqs-test-event.json", &ev);
	sqs_failures(&ev, NULL, ids, sizeof(ids));
	cr_assert_str_eq(ids, "");
	imgp_event_release(&ev);
}

Test(event, reply_sqs_message_with_several_refs)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	struct imgp_ref_result res[3] = {
		{ IMGP_OK, NULL, NULL }, { IMGP_E_THROTTLED, NULL, NULL }, { IMGP_OK, NULL, NULL },
	};
	char ids[256];

	cr_assert_eq(parse_text("{'Records':[" SQSMSG("m0",
		"'{`Records`:[{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`k1`}}},"
		"{`s3`:{`bucket`:{`name`:`b`},`object`:{`key`:`k2`}}}]}'") ","
		SQSMSG("m1", GOOD_BODY) "]}", &ev, err), IMGP_OK, "%s", err);
	cr_assert_eq(ev.nrefs, 3);
	cr_assert_eq(ev.refs[1].item, 0);
	cr_assert_eq(ev.refs[2].item, 1);
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "m0", "one entry per message, not per ref");
	res[0].status = IMGP_E_THROTTLED;
	sqs_failures(&ev, res, ids, sizeof(ids));
	cr_assert_str_eq(ids, "m0");
	imgp_event_release(&ev);
}

/* --- replies: S3 Batch Operations ------------------------------------- */

struct batch_reply_case {
	char file[32];
	int status;
	char message[64];
	char code[24];
	char text[96];
};

static struct batch_reply_case batch_replies[] = {
	{ "batch-1.0.json", IMGP_OK, "wrote 3 variants", "Succeeded", "wrote 3 variants" },
	{ "batch-1.0.json", IMGP_OK, "", "Succeeded", "OK" },
	{ "batch-2.0.json", IMGP_E_THROTTLED, "503 SlowDown", "TemporaryFailure", "Throttled: 503 SlowDown" },
	{ "batch-2.0.json", IMGP_E_DEADLINE, "", "TemporaryFailure", "DeadlineExceeded" },
	{ "batch-2.0.json", IMGP_E_NOT_IMAGE, "not an image", "PermanentFailure", "NotAnImage: not an image" },
	{ "batch-1.0.json", IMGP_E_NOT_FOUND, "no such key", "PermanentFailure", "NotFound: no such key" },
};

ParameterizedTestParameters(event, reply_batch)
{
	return cr_make_param_array(struct batch_reply_case, batch_replies, N(batch_replies));
}

ParameterizedTest(struct batch_reply_case *c, event, reply_batch)
{
	struct imgp_event ev;
	struct imgp_ref_result res = { (enum imgp_status)c->status,
	                               *c->message ? c->message : NULL, NULL };
	json_t *doc, *r;

	parse_sample(c->file, &ev);
	doc = reply_json(&ev, &res);
	cr_assert_eq(json_object_size(doc), 4);
	cr_assert_str_eq(str_at(doc, "invocationSchemaVersion"), ev.batch_schema);
	cr_assert_str_eq(str_at(doc, "treatMissingKeysAs"), "PermanentFailure");
	cr_assert_str_eq(str_at(doc, "invocationId"), ev.batch_invocation_id);
	cr_assert_eq(json_array_size(json_object_get(doc, "results")), 1);
	r = json_array_get(json_object_get(doc, "results"), 0);
	cr_assert_eq(json_object_size(r), 3);
	cr_assert_str_eq(str_at(r, "taskId"), ev.items[0].id);
	cr_assert_str_eq(str_at(r, "resultCode"), c->code);
	cr_assert_str_eq(str_at(r, "resultString"), c->text);
	json_decref(doc);
	imgp_event_release(&ev);
}

Test(event, reply_batch_unreadable_task_is_permanent)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "";
	struct imgp_ref_result res = { IMGP_E_TIMEOUT, "timed out", NULL };
	json_t *doc, *list;

	cr_assert_eq(parse_text("{'invocationSchemaVersion':'1.0','invocationId':'inv','tasks':["
		"{'taskId':'t0','s3Key':'k','s3BucketArn':'arn:aws:s3:::b'},"
		"{'taskId':'t1','s3Key':'%zz','s3BucketArn':'arn:aws:s3:::b'}]}", &ev, err),
		IMGP_OK, "%s", err);
	doc = reply_json(&ev, &res);
	list = json_object_get(doc, "results");
	cr_assert_eq(json_array_size(list), 2);
	cr_assert_str_eq(str_at(json_array_get(list, 0), "taskId"), "t0");
	cr_assert_str_eq(str_at(json_array_get(list, 0), "resultCode"), "TemporaryFailure");
	cr_assert_str_eq(str_at(json_array_get(list, 1), "taskId"), "t1");
	cr_assert_str_eq(str_at(json_array_get(list, 1), "resultCode"), "PermanentFailure");
	cr_assert_str_eq(str_at(json_array_get(list, 1), "resultString"),
	                 "UsageError: task 1: the key has a malformed %-escape (S3 encodes "
	                 "keys as \"+\" for a space and %xx for a byte)");
	json_decref(doc);
	imgp_event_release(&ev);
}

Test(event, reply_batch_result_string_is_bounded)
{
	struct imgp_event ev;
	char message[3000];
	struct imgp_ref_result res = { IMGP_E_CORRUPT, message, NULL };
	json_t *doc;
	const char *text;

	/* "é" is two bytes: a cut at 1,024 must not split one */
	strcpy(message, "x");
	for(int i = 0; i < 1400; i++)
		strcat(message, "\xc3\xa9");
	parse_sample("batch-1.0.json", &ev);
	doc = reply_json(&ev, &res);
	text = str_at(json_array_get(json_object_get(doc, "results"), 0), "resultString");
	cr_assert_leq(strlen(text), 1024);
	cr_assert_geq(strlen(text), 1020);
	cr_assert(!strncmp(text, "CorruptImage: x\xc3\xa9", 17));
	json_decref(doc);
	imgp_event_release(&ev);
}

/* --- robustness ------------------------------------------------------- */

/* Parse, then reply with every ref OK and with every ref failing. */
static void parse_and_reply(const char *data, size_t len)
{
	struct imgp_event ev;
	struct imgp_ref_result *res;
	enum imgp_status status;
	char err[IMGP_ERRSIZE];
	char *out;

	if(imgp_event_parse(data, len, &ev, err)) {
		cr_assert_eq(ev.nrefs, 0);
		cr_assert_neq(err[0], '\0');
		return;
	}
	res = calloc(ev.nrefs + 1, sizeof(*res));
	status = imgp_event_reply(&ev, res, &out, err);
	cr_assert(out || status);
	imgp_free(out);
	for(size_t i = 0; i < ev.nrefs; i++)
		res[i].status = i % 2 ? IMGP_E_SERVER : IMGP_E_CORRUPT;
	status = imgp_event_reply(&ev, res, &out, err);
	cr_assert(out || status);
	imgp_free(out);
	free(res);
	imgp_event_release(&ev);
}

/* Every sample file's name (NULL-ended); caller frees. */
static char **sample_names(void)
{
	char *dir = sample_path("");
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = calloc(64, sizeof(*names));
	size_t n = 0;

	cr_assert(d, "cannot open %s", dir);
	while((e = readdir(d)) && n < 63)
		if(e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	free(dir);
	cr_assert_geq(n, 15, "only %zu samples", n);
	return names;
}

Test(event, every_prefix_of_every_sample, .timeout = 120)
{
	char **names = sample_names();

	for(size_t f = 0; names[f]; f++) {
		size_t len;
		char *data = read_sample(names[f], &len);

		for(size_t n = 0; n <= len; n++) {
			/* a copy of exactly n bytes, so a read past the end is caught */
			char *prefix = malloc(n ? n : 1);

			memcpy(prefix, data, n);
			parse_and_reply(prefix, n);
			free(prefix);
		}
		free(data);
		free(names[f]);
	}
	free(names);
}

/* curl's torture test: fail each allocation in turn; nothing may crash or
 * leak, and the outcome is either right or IMGP_E_NOMEM. */
Test(event, every_allocation_failure)
{
	char **names = sample_names();

	for(size_t f = 0; names[f]; f++) {
		size_t len;
		char *data = read_sample(names[f], &len);

		for(long n = 0; n < 10000; n++) {
			struct imgp_event ev;
			struct imgp_ref_result res[4] = { { IMGP_OK, NULL, NULL } };
			enum imgp_status got, status;
			char err[IMGP_ERRSIZE];
			char *out;
			bool done;

			imgp_alloc_fail_after(n);
			got = imgp_event_parse(data, len, &ev, err);
			if(got == IMGP_E_NOMEM) {
				imgp_alloc_fail_after(-1);
				continue;
			}
			out = NULL;
			status = ev.nrefs <= 4 ? imgp_event_reply(&ev, res, &out, err) : IMGP_OK;
			done = out || (ev.nrefs > 4) || got;
			imgp_alloc_fail_after(-1);
			if(!out && !got && ev.nrefs <= 4)
				cr_assert_eq(status, IMGP_E_NOMEM, "%s: %s", names[f], err);
			imgp_free(out);
			imgp_event_release(&ev);
			if(done)
				break;
		}
		free(data);
		free(names[f]);
	}
	free(names);
}

/* Event Grid's handshake: the code answered, no object touched; the reply
 * says {"validationResponse": code} whatever else it holds. */
Test(event, eventgrid_validation)
{
	struct imgp_event ev;
	char err[IMGP_ERRSIZE] = "", *out = NULL;
	json_t *doc;

	parse_sample("eventgrid-validation.json", &ev);
	cr_assert_str_eq(ev.validation_code, "512d38b6-c7b8-40c8-89fe-f46f9e9622b6");
	cr_assert_eq(ev.nrefs, 0);
	cr_assert_str_eq(ev.event_id, "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66");
	cr_assert_eq(imgp_event_reply(&ev, NULL, &out, err), IMGP_OK, "%s", err);
	doc = json_loads(out, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "validationResponse")),
	                 "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "%s", out);
	json_decref(doc);
	imgp_free(out);
	imgp_event_release(&ev);
	/* an ordinary delivery has none */
	parse_sample("eventgrid-blob-created.json", &ev);
	cr_assert_null(ev.validation_code);
	imgp_event_release(&ev);
}

/* An Azure Functions custom handler's request: the binding's value is
 * the event, as an object (eventGridTrigger), as JSON text, as JSON text
 * in a JSON string or as base64 (queueTrigger); the reply comes back as
 * {"Outputs", "Logs", "ReturnValue"}. */
Test(event, functions_requests)
{
	size_t len;
	char *eg = read_sample("eventgrid-blob-created.json", &len);
	json_error_t jerr;
	json_t *arr = json_loadb(eg, len, 0, &jerr), *one = json_array_get(arr, 0);
	char *one_text = json_dumps(one, JSON_COMPACT), *b64 = NULL;
	json_t *requests[4];
	size_t n = strlen(one_text);

	cr_assert(one_text);
	b64 = malloc(4 * ((n + 2) / 3) + 1);
	cr_assert(b64);
	imgp_base64((const unsigned char *)one_text, n, b64);
	requests[0] = json_pack("{s:{s:O}, s:{s:s}}", "Data", "event", one,
	                        "Metadata", "sys", "x");
	requests[1] = json_pack("{s:{s:s}, s:{}}", "Data", "msg", one_text, "Metadata");
	{
		/* the text of a JSON string holding the event's JSON */
		json_t *quoted = json_string(one_text);
		char *q = json_dumps(quoted, JSON_ENCODE_ANY);

		requests[2] = json_pack("{s:{s:s}, s:{}}", "Data", "msg", q, "Metadata");
		free(q);
		json_decref(quoted);
	}
	requests[3] = json_pack("{s:{s:s}, s:{}}", "Data", "msg", b64, "Metadata");
	for(size_t i = 0; i < 4; i++) {
		char *text = json_dumps(requests[i], JSON_COMPACT), err[IMGP_ERRSIZE] = "";
		char *out = NULL;
		struct imgp_ref_result res = { IMGP_OK, "3 variants", NULL };
		struct imgp_event ev;
		json_t *doc;

		cr_assert_eq(imgp_event_parse(text, strlen(text), &ev, err), IMGP_OK, "%zu: %s", i, err);
		cr_assert(ev.functions, "%zu", i);
		cr_assert_eq(ev.trigger, IMGP_TRIGGER_EVENTGRID, "%zu", i);
		cr_assert_eq(ev.nrefs, 1, "%zu", i);
		cr_assert_str_eq(ev.refs[0].key, "photos/my cat (copy).jpg");
		cr_assert_eq(imgp_event_reply(&ev, &res, &out, err), IMGP_OK, "%s", err);
		doc = json_loads(out, 0, NULL);
		cr_assert(json_is_object(json_object_get(doc, "Outputs")), "%s", out);
		cr_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "Logs"), 0)),
		                 "imgpipe-uploads/photos/my cat (copy).jpg: OK: 3 variants", "%s", out);
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(
		                 json_object_get(doc, "ReturnValue"), "results"), 0), "status")), "OK",
		                 "%s", out);
		json_decref(doc);
		imgp_free(out);
		imgp_event_release(&ev);
		free(text);
		json_decref(requests[i]);
	}
	/* two bindings, or text that is no event, are refused by name */
	{
		static const char *const bad[][2] = {
			{ "{\"Data\":{\"a\":{},\"b\":{}},\"Metadata\":{}}", "holds 2 bindings" },
			{ "{\"Data\":{\"msg\":\"not an event!\"},\"Metadata\":{}}",
			  "neither JSON nor base64" },
			{ "{\"Data\":{\"msg\":\"5\"},\"Metadata\":{}}", "is not an event" },
		};

		for(size_t i = 0; i < 3; i++) {
			struct imgp_event ev;
			char err[IMGP_ERRSIZE] = "";

			cr_assert_eq(imgp_event_parse(bad[i][0], strlen(bad[i][0]), &ev, err),
			             IMGP_E_USAGE, "%s", bad[i][0]);
			cr_assert(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
		}
	}
	free(b64);
	free(one_text);
	free(eg);
	json_decref(arr);
}

Test(event, trigger_names)
{
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_S3), "s3");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_SQS), "sqs");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_SNS), "sns");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_EVENTBRIDGE), "eventbridge");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_BATCH), "batch");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_DIRECT), "direct");
	cr_assert_str_eq(imgp_trigger_name(IMGP_TRIGGER_EVENTGRID), "eventgrid");
	cr_assert_str_eq(imgp_trigger_name((enum imgp_trigger)99), "unknown");
}
