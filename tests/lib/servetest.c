/*
 * servetest.c: see servetest.h.
 */
#include "servetest.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "events.h"
#include "rtemu.h"
#include "store.h"

void st_reply_release(struct st_reply *r)
{
	free(r->body);
	r->body = NULL;
}

int st_start(struct fx *f, const char *argv0, const char *const *args,
             const char *const *set)
{
	const char *all[32];
	size_t n = 0;
	struct timespec tick = { 0, 10 * 1000000L };

	all[n++] = "PORT=0";
	all[n++] = "IMGPIPE_LISTEN=127.0.0.1";
	for(; set && *set && n < 31; set++)
		all[n++] = *set;
	all[n] = NULL;
	if(fx_spawn(f, argv0, args, all) < 0)
		return -1;
	for(int waited = 0; waited < 30000; waited += 10) {
		char *out = fx_read_stdout(f), *at = strstr(out, "listening on 127.0.0.1:");
		int port = at ? atoi(at + 23) : 0;

		free(out);
		if(port > 0)
			return port;
		if(fx_wait(f, 0) >= 0)
			break;
		nanosleep(&tick, NULL);
	}
	{
		char *err = fx_read_stderr(f);

		snprintf(f->error, sizeof(f->error), "imgpipe serve did not say it listens; "
		         "stderr: %.900s", err);
		free(err);
	}
	return -1;
}

struct sink {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	char *grown = realloc(s->data, s->len + size * n + 1);

	if(!grown)
		return 0;
	memcpy(grown + s->len, p, size * n);
	s->len += size * n;
	grown[s->len] = '\0';
	s->data = grown;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct st_reply *r = ud;

	size_t have = strlen(r->head);

	if(size * n > 12 && !strncasecmp(p, "Retry-After:", 12))
		r->retry_after = strtol(p + 12, NULL, 10);
	if(have + size * n < sizeof(r->head)) {
		memcpy(r->head + have, p, size * n);
		r->head[have + size * n] = '\0';
	}
	return size * n;
}

long st_request(int port, const char *method, const char *path, const char *const *headers,
                const void *body, size_t len, long timeout_ms, struct st_reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct sink s = { NULL, 0 };
	char url[256];
	double t0 = rtemu_now_ms();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if(!c) {
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		r->body = strdup("");
		return 0;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	for(; headers && *headers; headers++)
		hl = curl_slist_append(hl, *headers);
	/* no 100-continue round trip: platforms send the body at once */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if(!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if(body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if(rc)
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = s.data ? s.data : strdup("");
	r->ms = rtemu_now_ms() - t0;
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return r->status;
}

long st_post(int port, const char *const *headers, const char *body, struct st_reply *r)
{
	static const char *const json[] = { "Content-Type: application/json", NULL };

	return st_request(port, "POST", "/", headers ? headers : json, body,
	                  body ? strlen(body) : 0, 60000, r);
}

/* ---- events --------------------------------------------------------------- */

/* ETag (no quotes) and size of an object the fixture's store has. */
static bool object_info(struct fx *f, const char *bucket, const char *key, char etag[64],
                        long long *size)
{
	struct imgp_object o;
	struct imgp_store_error e;
	const char *t;

	if(imgp_store_head(f->st, bucket, key, &o, &e))
		return false;
	t = o.etag && *o.etag == '"' ? o.etag + 1 : o.etag ? o.etag : "";
	snprintf(etag, 64, "%.*s", (int)strcspn(t, "\""), t);
	*size = (long long)o.len;
	imgp_object_release(&o);
	return true;
}

static char *b64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if(out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static char *dump(json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}

/* The Cloud Storage object resource of bucket/key as JSON. */
static json_t *gcs_object(struct fx *f, const char *bucket, const char *key,
                          const char *generation)
{
	char etag[64], sz[32], *md5 = NULL;
	unsigned char raw[16];
	long long size = 0;
	json_t *o;

	if(!object_info(f, bucket, key, etag, &size))
		etag[0] = '\0';
	if(strlen(etag) == 32) {
		for(int i = 0; i < 16; i++)
			sscanf(etag + 2 * i, "%2hhx", &raw[i]);
		md5 = b64(raw, 16);
	}
	snprintf(sz, sizeof(sz), "%lld", size);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "storage#object",
	              "bucket", bucket, "name", key, "generation", generation,
	              "metageneration", "1", "contentType", "image/jpeg", "size", sz,
	              "storageClass", "STANDARD");
	if(md5)
		json_object_set_new(o, "md5Hash", json_string(md5));
	free(md5);
	return o;
}

char *st_gcs_object(struct fx *f, const char *bucket, const char *key, const char *generation)
{
	return dump(gcs_object(f, bucket, key, generation));
}

char *st_cloudevent(struct fx *f, const char *bucket, const char *key, const char *generation,
                    const char *id)
{
	char source[256], subject[1200];

	snprintf(source, sizeof(source), "//storage.googleapis.com/projects/_/buckets/%s", bucket);
	snprintf(subject, sizeof(subject), "objects/%s", key);
	return dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0",
		"type", "google.cloud.storage.object.v1.finalized", "source", source, "id", id,
		"subject", subject, "time", "2026-11-30T09:00:00.000Z",
		"datacontenttype", "application/json", "data", gcs_object(f, bucket, key, generation)));
}

char *st_pubsub_push(struct fx *f, const char *bucket, const char *key,
                     const char *generation, const char *event_type, const char *id)
{
	char *object = st_gcs_object(f, bucket, key, generation), *data, *out;

	data = object ? b64(object, strlen(object)) : NULL;
	out = dump(json_pack("{s:{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:s}, s:s}",
		"message", "attributes", "bucketId", bucket, "objectId", key,
		"objectGeneration", generation, "eventType", event_type,
		"payloadFormat", "JSON_API_V1", "eventTime", "2026-11-30T09:00:00.000Z",
		"notificationConfig", "projects/_/buckets/src/notificationConfigs/1",
		"data", data ? data : "", "messageId", id, "message_id", id,
		"publishTime", "2026-11-30T09:00:00.100Z",
		"subscription", "projects/imgpipe-test/subscriptions/uploads-push"));
	free(object);
	free(data);
	return out;
}

/* One S3-format record as source (aws:s3, minio:s3, ceph:s3) writes it:
 * the fixture's record with what that store does differently. */
static json_t *record(struct fx *f, const char *source, const char *bucket, const char *key,
                      bool encode)
{
	char etag[64], *enc = encode ? tu_s3_key_encode(key) : strdup(key), sz[32];
	long long size = 0;
	json_t *rec, *object;

	if(!object_info(f, bucket, key, etag, &size))
		etag[0] = '\0';
	rec = tu_s3_record(&(struct tu_object){ bucket, enc, etag, size });
	free(enc);
	if(!rec)
		return NULL;
	object = json_object_get(json_object_get(rec, "s3"), "object");
	json_object_set_new(rec, "eventSource", json_string(source));
	if(strcmp(source, "aws:s3")) {
		/* MinIO and Ceph say "s3:ObjectCreated:Put", version 2.0 */
		json_object_set_new(rec, "eventVersion", json_string("2.0"));
		json_object_set_new(rec, "eventName", json_string("s3:ObjectCreated:Put"));
	}
	if(!strcmp(source, "ceph:s3")) {
		/* Ceph writes the size as a string, and an empty versionId */
		snprintf(sz, sizeof(sz), "%lld", size);
		json_object_set_new(object, "size", json_string(sz));
		json_object_set_new(object, "versionId", json_string(""));
	}
	return rec;
}

char *st_minio_event(struct fx *f, const char *bucket, const char *key)
{
	char both[1400];

	snprintf(both, sizeof(both), "%s/%s", bucket, key);
	return dump(json_pack("{s:s, s:s, s:[o]}", "EventName", "s3:ObjectCreated:Put",
	                      "Key", both, "Records", record(f, "minio:s3", bucket, key, true)));
}

char *st_ceph_event(struct fx *f, const char *bucket, const char *key)
{
	return dump(json_pack("{s:[o]}", "Records", record(f, "ceph:s3", bucket, key, false)));
}

char *st_s3_event(struct fx *f, const char *bucket, const char *key)
{
	return dump(json_pack("{s:[o]}", "Records", record(f, "aws:s3", bucket, key, true)));
}

void st_binary_headers(const char *type, const char *id, const char *out[8], char idbuf[96])
{
	static char typebuf[160];

	snprintf(typebuf, sizeof(typebuf), "ce-type: %s", type);
	snprintf(idbuf, 96, "ce-id: %s", id);
	out[0] = "ce-specversion: 1.0";
	out[1] = typebuf;
	out[2] = "ce-source: //storage.googleapis.com/projects/_/buckets/uploads";
	out[3] = idbuf;
	out[4] = "ce-time: 2026-11-30T09:00:00.000Z";
	out[5] = "Content-Type: application/json; charset=utf-8";
	out[6] = NULL;
}

void st_job_lines(const char *log_text, const char *key, int *lines, int *written)
{
	char *text = strdup(log_text), *line, *save = NULL;

	*lines = *written = 0;
	for(line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);
		const char *k = json_string_value(json_object_get(doc, "key"));

		if(k && json_object_get(doc, "TotalMs") && !strcmp(k, key)) {
			(*lines)++;
			if(json_integer_value(json_object_get(doc, "Variants")) > 0)
				(*written)++;
		}
		json_decref(doc);
	}
	free(text);
}
