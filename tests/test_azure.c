/*
 * test_azure.c: Azure without Azure. Azurite (npm, the Storage emulator,
 * which checks Shared Key signatures and SAS tokens) is the Blob service;
 * Microsoft's @azure/storage-blob (tests/lib/azblob.js) puts the sources
 * and reads back what imgpipe wrote; the real imgpipe binary runs as
 * `invoke` (the upload handler, as Lambda or a Function would run it),
 * `serve` (Event Grid's webhook, the Functions custom handler) and
 * `resize az://` (the backfill). Events are Event Grid's own shapes,
 * from testdata/events.
 *
 * What only Azure itself could say is not here: its real token endpoint,
 * Event Grid's real delivery and retry, Functions' real host.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "placeholder.h"
#include "lib/aztest.h"
#include "lib/fixture.h"
#include "lib/servetest.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "variants"
#define KEY AZ_KEY
#define VARIANTS "thumb=160x160,fit=cover;web=640x640,format=webp"
#define TOKEN "eg-s3cret-token"
/* a key with a space, a '+', a '%' and non-ASCII: none of it may be lost */
#define ODD_KEY "photos/my cat (copy) 100% \xc3\xa9t\xc3\xa9+1.jpg"

FX_SUITE(azure, NULL, false, .timeout = 240);

static char conn[512];          /* the connection string of Azurite's account */

/* Azurite with both containers, as the fixture's server (stopped by fx_stop). */
static void azurite(void)
{
	static const char *const containers[] = { SRC, DST, NULL };

	cr_assert(s3srv_start_script(&fx.srv, "azurite.js", containers), "Azurite did not start");
	az_conn(fx.srv.port, conn, sizeof(conn));
}

/* The reference client (aztest.h) on this test's Azurite. */
static int azb(char **out, const char *a0, const char *a1, const char *a2, const char *a3,
               const char *a4)
{
	const char *args[] = { a0, a1, a2, a3, a4, NULL };
	char *err = NULL;
	int rc = az_blob(fx.srv.port, out, &err, args);

	if(rc)
		cr_log_warn("azblob.js %s: %s", a0, err ? err : "");
	free(err);
	return rc;
}

static void put_source(const char *key, const char *rel)
{
	char *path = tu_data(rel), *out = NULL;

	cr_assert_eq(azb(&out, "put", SRC, key, path, "image/jpeg"), 0, "put %s", key);
	free(out);
	free(path);
}

/* A container's listing, through the reference client. */
static json_t *list(const char *container)
{
	char *out = NULL;
	json_t *doc;

	cr_assert_eq(azb(&out, "list", container, NULL, NULL, NULL), 0);
	doc = json_loads(out, 0, NULL);
	cr_assert(json_is_array(doc), "%s", out);
	free(out);
	return doc;
}

static json_t *props(const char *container, const char *key)
{
	return az_props(fx.srv.port, container, key);
}

static bool listed(json_t *l, const char *name)
{
	for(size_t i = 0; i < json_array_size(l); i++)
		if(!strcmp(json_string_value(json_object_get(json_array_get(l, i), "name")), name))
			return true;
	return false;
}

/* The names and ETags of a listing, one line each, to compare runs. */
static char *fingerprint(json_t *l)
{
	size_t size = 1;
	char *s;

	for(size_t i = 0; i < json_array_size(l); i++)
		size += 300 + strlen(json_string_value(json_object_get(json_array_get(l, i), "name")));
	s = calloc(1, size);
	for(size_t i = 0; i < json_array_size(l); i++) {
		json_t *e = json_array_get(l, i);

		strcat(s, json_string_value(json_object_get(e, "name")));
		strcat(s, " ");
		strcat(s, json_string_value(json_object_get(e, "etag")));
		strcat(s, "\n");
	}
	return s;
}

/* One Event Grid event of SRC/key (aztest.h). */
static json_t *eg_event(const char *type, const char *key)
{
	json_t *ev = az_event(fx.srv.port, type, SRC, key);

	cr_assert(ev, "no event of %s", key);
	return ev;
}

/* The delivery Event Grid posts: an array of one event, as text. */
static char *eg_delivery(const char *type, const char *key)
{
	json_t *arr = json_pack("[o]", eg_event(type, key));
	char *text = json_dumps(arr, JSON_COMPACT);

	json_decref(arr);
	return text;
}

/* The child's environment: the Azure store on Azurite, then more. */
static void env_set(const char **set, const char *conn_string, const char *const *more)
{
	static char c[1100];
	size_t n = 0;

	snprintf(c, sizeof(c), "AZURE_STORAGE_CONNECTION_STRING=%s", conn_string);
	set[n++] = "IMGPIPE_STORE=azure";
	set[n++] = c;
	set[n++] = "IMGPIPE_VARIANTS=" VARIANTS;
	set[n++] = "IMGPIPE_DEST_BUCKET=" DST;
	set[n++] = "IMGPIPE_SOURCE_BUCKET=" SRC;
	for(size_t i = 0; more && more[i]; i++)
		set[n++] = more[i];
	set[n] = NULL;
}

/* `imgpipe invoke` of event; its reply parsed, its exit status in *rc. */
static json_t *invoke(const char *event, const char *conn_string, const char *const *more,
                      int *rc)
{
	const char *set[32];
	char path[4200];
	const char *args[] = { "invoke", path, NULL };
	char *out;
	json_t *reply;

	snprintf(path, sizeof(path), "%s/event.json", fx.scratch);
	cr_assert(tu_write(path, event, strlen(event)));
	env_set(set, conn_string, more);
	cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
	*rc = fx_wait(&fx, 120000);
	out = fx_read_stdout(&fx);
	reply = json_loads(out, 0, NULL);
	if(!reply) {
		char *err = fx_read_stderr(&fx);

		cr_assert_fail("invoke: no reply (exit %d): %s %s", *rc, out, err);
	}
	free(out);
	return reply;
}

static const char *result_str(json_t *reply, const char *field)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(reply, "results"),
	                                                        0), field));
}

/* ---- the trigger -------------------------------------------------------------- */

/* An upload with an odd name through Event Grid's event: the variants
 * are where the trigger writes them, stamped the Azure way (metadata
 * names as identifiers) and read back the same way, so a redelivery
 * writes nothing. */
Test(azure, eventgrid_event_end_to_end_and_redelivery)
{
	char *event, *before, *after, thumb[600], web[600];
	json_t *reply, *l, *p, *meta;
	int rc;

	azurite();
	put_source(ODD_KEY, "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", ODD_KEY);
	reply = invoke(event, conn, NULL, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	cr_assert_str_eq(result_str(reply, "key"), ODD_KEY);
	json_decref(reply);

	snprintf(thumb, sizeof(thumb), "thumb/%s", ODD_KEY);
	snprintf(web, sizeof(web), "web/photos/my cat (copy) 100%% \xc3\xa9t\xc3\xa9+1.webp");
	l = list(DST);
	cr_assert(listed(l, thumb), "%s", json_dumps(l, 0));
	cr_assert(listed(l, web), "%s", json_dumps(l, 0));
	cr_assert(listed(l, "manifest/photos/my cat (copy) 100% \xc3\xa9t\xc3\xa9+1.json"),
	          "%s", json_dumps(l, 0));
	p = props(DST, web);
	cr_assert(p);
	cr_assert_str_eq(json_string_value(json_object_get(p, "contentType")), "image/webp");
	meta = json_object_get(p, "metadata");
	/* C# identifiers on Azure; the source's name %-encoded where a header cannot hold it */
	cr_assert_str_eq(json_string_value(json_object_get(meta, "imgpipe_variant")), "web");
	cr_assert(json_object_get(meta, "imgpipe_source_etag"), "%s", json_dumps(p, 0));
	cr_assert_str_eq(json_string_value(json_object_get(meta, "imgpipe_source")),
	                 "photos/my cat (copy) 100%25 %C3%A9t%C3%A9+1.jpg");
	json_decref(p);
	before = fingerprint(l);
	json_decref(l);

	/* at least once: the same event again costs HEADs, writes nothing */
	reply = invoke(event, conn, NULL, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(result_str(reply, "status"), "OK");
	l = list(DST);
	after = fingerprint(l);
	cr_assert_str_eq(after, before, "a redelivery rewrote outputs");
	json_decref(l);
	json_decref(reply);
	free(before);
	free(after);
	free(event);
}

/* `imgpipe resize az://` writes exactly the keys (and bytes) the trigger
 * writes: a backfill of what was uploaded before the trigger existed. */
Test(azure, cli_backfill_writes_the_trigger_keys)
{
	const char *set[32];
	static const char *const args[] = { "resize", "-q", "-o", "az://" DST "/", "az://" SRC "/",
	                                    NULL };
	char *event, *by_trigger, *by_cli;
	json_t *reply, *l;
	int rc;

	azurite();
	put_source(ODD_KEY, "samples/portrait.jpg");
	put_source("plain.jpg", "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", ODD_KEY);
	reply = invoke(event, conn, NULL, &rc);
	cr_assert_eq(rc, 0);
	json_decref(reply);
	free(event);
	event = eg_delivery("Microsoft.Storage.BlobCreated", "plain.jpg");
	reply = invoke(event, conn, NULL, &rc);
	json_decref(reply);
	free(event);
	l = list(DST);
	by_trigger = json_dumps(l, JSON_COMPACT);
	for(size_t i = 0; i < json_array_size(l); i++) {
		char *out = NULL;

		cr_assert_eq(azb(&out, "del", DST, json_string_value(json_object_get(
		             json_array_get(l, i), "name")), NULL, NULL), 0);
		free(out);
	}
	json_decref(l);
	cr_assert_eq(json_array_size(l = list(DST)), 0);
	json_decref(l);

	env_set(set, conn, NULL);
	cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
	rc = fx_wait(&fx, 120000);
	cr_assert_eq(rc, 0, "resize: %s", fx_read_stderr(&fx));
	l = list(DST);
	by_cli = json_dumps(l, JSON_COMPACT);
	cr_assert_eq(json_array_size(l), 6, "%s", by_cli);
	/* same names, same bytes (imgpipe_sha256), in the same order */
	{
		json_t *t = json_loads(by_trigger, 0, NULL);

		cr_assert_eq(json_array_size(t), json_array_size(l));
		for(size_t i = 0; i < json_array_size(l); i++) {
			json_t *a = json_array_get(t, i), *b = json_array_get(l, i);
			json_t *sa = json_object_get(json_object_get(a, "metadata"), "imgpipe_sha256");
			json_t *sb = json_object_get(json_object_get(b, "metadata"), "imgpipe_sha256");

			cr_assert_str_eq(json_string_value(json_object_get(a, "name")),
			                 json_string_value(json_object_get(b, "name")));
			if(sa || sb)
				cr_assert(json_equal(sa, sb), "%s",
				          json_string_value(json_object_get(a, "name")));
		}
		json_decref(t);
	}
	json_decref(l);
	free(by_trigger);
	free(by_cli);
}

/* BlobDeleted removes the variants only when the blob is really gone. */
Test(azure, delete_removes_only_what_is_gone)
{
	static const char *const on_delete[] = { "IMGPIPE_ON_DELETE=delete", NULL };
	char *event, *out = NULL;
	json_t *reply, *l;
	int rc;

	azurite();
	put_source("a/cat.jpg", "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", "a/cat.jpg");
	json_decref(invoke(event, conn, on_delete, &rc));
	free(event);
	cr_assert_eq(json_array_size(l = list(DST)), 3);
	json_decref(l);

	/* a stale or early delete: the blob is still there */
	event = eg_delivery("Microsoft.Storage.BlobDeleted", "a/cat.jpg");
	reply = invoke(event, conn, on_delete, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_eq(json_array_size(l = list(DST)), 3, "%s", json_dumps(reply, 0));
	json_decref(l);
	json_decref(reply);

	cr_assert_eq(azb(&out, "del", SRC, "a/cat.jpg", NULL, NULL), 0);
	free(out);
	reply = invoke(event, conn, on_delete, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	cr_assert_eq(json_array_size(l = list(DST)), 0, "%s", json_dumps(l, 0));
	json_decref(l);
	json_decref(reply);
	free(event);
}

/* A wrong key is said the Azure way (the account, the method, the
 * service's code), never with the key; a SAS connection string works. */
Test(azure, wrong_key_then_sas)
{
	char bad[600], *event, *sas = NULL, *text;
	json_t *reply, *l;
	const char *msg;
	int rc;

	azurite();
	put_source("k.jpg", "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", "k.jpg");
	snprintf(bad, sizeof(bad), "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
	         "AccountKey=%s;BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;",
	         "c2VjcmV0LWJ1dC13cm9uZy1rZXktb2YtNjQtYnl0ZXMtc2VjcmV0LWJ1dC13cm9uZy1rZXk=",
	         fx.srv.port);
	reply = invoke(event, bad, NULL, &rc);
	text = json_dumps(reply, 0);
	msg = result_str(reply, "message");
	cr_assert_str_eq(result_str(reply, "status"), "AccessDenied", "%s", text);
	cr_assert(msg && strstr(msg, "account devstoreaccount1, Shared Key"), "%s", text);
	cr_assert(strstr(msg, "Authorization") || strstr(msg, "Authentication"), "%s", text);
	cr_assert_null(strstr(text, "c2VjcmV0"), "the key leaked: %s", text);
	free(text);
	json_decref(reply);
	cr_assert_eq(json_array_size(l = list(DST)), 0);
	json_decref(l);

	/* an account SAS instead of the key */
	cr_assert_eq(azb(&sas, "sas", NULL, NULL, NULL, NULL), 0);
	sas[strcspn(sas, "\n")] = '\0';
	reply = invoke(event, sas, NULL, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	cr_assert_eq(json_array_size(l = list(DST)), 3);
	json_decref(l);
	json_decref(reply);
	free(sas);
	free(event);
}

/* A key whose name ends in a space: HTTP trims a header value's ends, so
 * the stamp carries it encoded, and a redelivery still finds it current. */
Test(azure, a_key_ending_in_a_space_is_stamped_and_found_current)
{
	static const char key[] = " lead/and trail .jpg ";
	char *event, *before, *after;
	json_t *reply, *l, *p;
	int rc;

	azurite();
	put_source(key, "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", key);
	reply = invoke(event, conn, NULL, &rc);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	json_decref(reply);
	/* the variant's name is the stem's, with its own extension */
	p = props(DST, "thumb/ lead/and trail .jpg");
	cr_assert(p, "%s", json_dumps(l = list(DST), 0));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "metadata"),
	                                                   "imgpipe_source")),
	                 "%20lead/and trail .jpg%20");
	json_decref(p);
	before = fingerprint(l = list(DST));
	json_decref(l);
	reply = invoke(event, conn, NULL, &rc);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	after = fingerprint(l = list(DST));
	cr_assert_str_eq(after, before, "a redelivery rewrote outputs");
	json_decref(l);
	json_decref(reply);
	free(before);
	free(after);
	free(event);
}

/* What is wrong with the configuration is said at start, naming the
 * setting and never a key (no Azurite needed). */
Test(azure, bad_configuration_is_said_at_start)
{
	static const struct { const char *set[3]; const char *says; } cases[] = {
		{ { "AZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey====;"
		    "BlobEndpoint=http://127.0.0.1:1/a", NULL }, "is not base64" },
		{ { "AZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey="
		    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB;"
		    "BlobEndpoint=http://127.0.0.1:1/a", NULL }, "is not base64 of an Azure Storage key" },
		{ { "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https", NULL },
		  "names no account" },
		{ { "AZURE_STORAGE_ACCOUNT=Not_An-Account", NULL }, "is not a storage account name" },
		{ { "AZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey=c2VjcmV0;"
		    "BlobEndpoint=ftp://127.0.0.1/a", NULL }, "is not an http:// or https:// URL" },
		{ { NULL }, "needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT" },
	};
	char path[4200];
	const char *args[] = { "invoke", path, NULL };

	snprintf(path, sizeof(path), "%s/event.json", fx.scratch);
	cr_assert(tu_write(path, "{}", 2));
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *set[8] = { "IMGPIPE_STORE=azure", "IMGPIPE_DEST_BUCKET=" DST,
		                       "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT" };
		size_t n = 4;
		char *err;
		int rc;

		for(size_t j = 0; cases[i].set[j]; j++)
			set[n++] = cases[i].set[j];
		set[n] = NULL;
		cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
		rc = fx_wait(&fx, 30000);
		err = fx_read_stderr(&fx);
		cr_assert_eq(rc, 2, "case %zu: exit %d: %s", i, rc, err);
		cr_assert(strstr(err, cases[i].says), "case %zu: %s", i, err);
		cr_assert_null(strstr(err, "QUFBQUFB"), "case %zu: the key leaked: %s", i, err);
		free(err);
	}
}

/* ---- the webhook ------------------------------------------------------------ */

static int start_serve(const char *const *more)
{
	static const char *const args[] = { "serve", NULL };
	const char *set[32];
	int port;

	env_set(set, conn, more);
	port = st_start(&fx, "imgpipe", args, set);
	cr_assert_gt(port, 0, "%s", fx.error);
	return port;
}

/* Event Grid's handshakes (its validation event; CloudEvents' OPTIONS),
 * its token in the URL, both schemas, and its status rules: a permanent
 * failure is answered 200 (Event Grid would retry anything else). */
Test(azure, serve_is_an_event_grid_webhook)
{
	static const char *const token[] = { "IMGPIPE_SERVE_TOKEN=" TOKEN, NULL };
	static const char *const json_h[] = { "Content-Type: application/json", NULL };
	static const char *const ce_h[] = {
		"Content-Type: application/cloudevents+json; charset=utf-8", NULL };
	static const char *const origin_h[] = { "WebHook-Request-Origin: eventgrid.azure.net",
	                                         "WebHook-Request-Rate: 120", NULL };
	char path[4200], *validation, *ce_text, *bad;
	struct st_reply r;
	json_t *doc, *ce;
	size_t len;
	int port;

	azurite();
	port = start_serve(token);
	snprintf(path, sizeof(path), "%s/testdata/events/eventgrid-validation.json", tu_srcdir());
	validation = tu_read(path, &len);

	/* without the token: refused, nothing else said */
	st_request(port, "POST", "/", json_h, validation, len, 30000, &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	st_reply_release(&r);
	st_request(port, "POST", "/?token=wrong", json_h, validation, len, 30000, &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	st_reply_release(&r);

	/* the validation event: its code back */
	st_request(port, "POST", "/?token=" TOKEN, json_h, validation, len, 30000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	doc = json_loads(r.body, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "validationResponse")),
	                 "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "%s", r.body);
	json_decref(doc);
	st_reply_release(&r);

	/* CloudEvents' abuse protection */
	st_request(port, "OPTIONS", "/?token=" TOKEN, origin_h, NULL, 0, 30000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strcasestr(r.head, "WebHook-Allowed-Origin: eventgrid.azure.net"), "%s", r.head);
	cr_assert(strcasestr(r.head, "WebHook-Allowed-Rate: *"), "%s", r.head);
	st_reply_release(&r);
	st_request(port, "OPTIONS", "/", origin_h, NULL, 0, 30000, &r);
	cr_assert_eq(r.status, 401);
	st_reply_release(&r);

	/* a CloudEvent (Event Grid's CloudEvents schema) of a real upload */
	put_source("ce/cat.jpg", "samples/landscape.jpg");
	ce = eg_event("Microsoft.Storage.BlobCreated", "ce/cat.jpg");
	doc = json_pack("{s:s, s:O, s:O, s:O, s:s, s:O, s:O}", "specversion", "1.0",
	                "type", json_object_get(ce, "eventType"), "source", json_object_get(ce, "topic"),
	                "id", json_object_get(ce, "id"), "time", "2026-11-30T09:30:00Z",
	                "subject", json_object_get(ce, "subject"), "data", json_object_get(ce, "data"));
	ce_text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	json_decref(ce);
	st_request(port, "POST", "/?token=" TOKEN, ce_h, ce_text, strlen(ce_text), 60000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"done\""), "%s", r.body);
	st_reply_release(&r);
	doc = props(DST, "thumb/ce/cat.jpg");
	cr_assert(doc, "the CloudEvent wrote no variant");
	json_decref(doc);

	/* a corrupt upload fails for good: 200, said in the body */
	put_source("bad/corrupt.jpg", "bad/corrupt.jpg");
	bad = eg_delivery("Microsoft.Storage.BlobCreated", "bad/corrupt.jpg");
	st_request(port, "POST", "/?token=" TOKEN, json_h, bad, strlen(bad), 60000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"outcome\":\"failed\""), "%s", r.body);
	st_reply_release(&r);
	free(bad);
	free(ce_text);
	free(validation);
}

/* Storage answering 503: retried with backoff, and when it persists the
 * webhook answers 503 so that Event Grid delivers the event again. */
Test(azure, storage_503_retried_then_handed_back)
{
	char proxied[600], *event;
	json_t *reply, *l;
	int rc;

	azurite();
	put_source("busy.jpg", "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", "busy.jpg");
	/* the first two connections get 503: retried, then done */
	cr_assert(proxy_start(&fx.proxy, fx.srv.port, FAULT_SLOWDOWN, 2));
	az_conn(fx.proxy.port, proxied, sizeof(proxied));
	reply = invoke(event, proxied, NULL, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	cr_assert_geq(atomic_load(&fx.proxy.connections), 3);
	json_decref(reply);
	cr_assert_eq(json_array_size(l = list(DST)), 3);
	json_decref(l);
	netfake_stop(&fx.proxy);

	/* always 503: the invocation fails as a whole, for a temporary reason */
	cr_assert(proxy_start(&fx.proxy, fx.srv.port, FAULT_SLOWDOWN, 1000000));
	az_conn(fx.proxy.port, proxied, sizeof(proxied));
	{
		static const char *const args[] = { "serve", NULL };
		static const char *const json_h[] = { "Content-Type: application/json", NULL };
		const char *set[32];
		struct st_reply r;
		int port;

		env_set(set, proxied, NULL);
		port = st_start(&fx, "imgpipe", args, set);
		cr_assert_gt(port, 0, "%s", fx.error);
		st_request(port, "POST", "/", json_h, event, strlen(event), 120000, &r);
		cr_assert_eq(r.status, 503, "%s", r.body);
		cr_assert(strstr(r.body, "Throttled") || strstr(r.body, "ServerError"), "%s", r.body);
		st_reply_release(&r);
	}
	free(event);
}

/* ---- Azure Functions -------------------------------------------------------- */

/* The custom handler: FUNCTIONS_CUSTOMHANDLER_PORT, POST /FUNCTION with
 * {"Data", "Metadata"} from an eventGridTrigger and from a queueTrigger
 * (the message's text, or its base64), answered {"Outputs", "Logs",
 * "ReturnValue"}. */
Test(azure, functions_custom_handler)
{
	static const char *const functions[] = { "FUNCTIONS_CUSTOMHANDLER_PORT=0", NULL };
	static const char *const json_h[] = { "Content-Type: application/json", NULL };
	struct st_reply r;
	json_t *ev, *req, *doc;
	char *text, *ev_text, *b64;
	int port;

	azurite();
	port = start_serve(functions);
	put_source("fn/one.jpg", "samples/landscape.jpg");
	put_source("fn/two.jpg", "samples/portrait.jpg");

	/* an eventGridTrigger binding: the event as an object */
	ev = eg_event("Microsoft.Storage.BlobCreated", "fn/one.jpg");
	req = json_pack("{s:{s:O}, s:{s:s}}", "Data", "event", ev, "Metadata", "sys", "{}");
	text = json_dumps(req, JSON_COMPACT);
	st_request(port, "POST", "/ImgpipeEventGrid", json_h, text, strlen(text), 60000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	doc = json_loads(r.body, 0, NULL);
	cr_assert(json_is_object(json_object_get(doc, "Outputs")), "%s", r.body);
	cr_assert(strstr(json_string_value(json_array_get(json_object_get(doc, "Logs"), 0)),
	                 "uploads/fn/one.jpg: OK"), "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "ReturnValue"),
	                                                   "outcome")), "done", "%s", r.body);
	json_decref(doc);
	st_reply_release(&r);
	free(text);
	json_decref(req);
	json_decref(ev);

	/* a queueTrigger binding: the message's base64 text */
	ev = eg_event("Microsoft.Storage.BlobCreated", "fn/two.jpg");
	ev_text = json_dumps(ev, JSON_COMPACT);
	b64 = malloc(strlen(ev_text) * 2 + 8);
	{
		static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const unsigned char *in = (const unsigned char *)ev_text;
		size_t n = strlen(ev_text), o = 0;

		for(size_t i = 0; i < n; i += 3) {
			unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);

			b64[o++] = tbl[v >> 18 & 63];
			b64[o++] = tbl[v >> 12 & 63];
			b64[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
			b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
		}
		b64[o] = '\0';
	}
	req = json_pack("{s:{s:s}, s:{s:s}}", "Data", "msg", b64, "Metadata", "DequeueCount", "1");
	text = json_dumps(req, JSON_COMPACT);
	st_request(port, "POST", "/ImgpipeQueue", json_h, text, strlen(text), 60000, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "uploads/fn/two.jpg: OK"), "%s", r.body);
	st_reply_release(&r);
	doc = props(DST, "thumb/fn/two.jpg");
	cr_assert(doc, "the queue message wrote no variant");
	json_decref(doc);

	/* a path that is no function's */
	st_request(port, "POST", "/a/b", json_h, text, strlen(text), 30000, &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	st_reply_release(&r);
	free(text);
	free(b64);
	free(ev_text);
	json_decref(req);
	json_decref(ev);
}

/* ---- the managed identity ----------------------------------------------------- */

static struct {
	char token[2048];
	atomic_int asked, well_asked, refuse;
} mi;

/* The platform's identity endpoint, as Functions and App Service run it. */
static void identity_endpoint(void *ud, const char *method, const char *path, const char *head,
                              int *status, char *body, size_t size)
{
	(void)ud;
	atomic_fetch_add(&mi.asked, 1);
	if(!strcmp(method, "GET") && strcasestr(head, "\nx-identity-header: platform-secret") &&
	   strstr(path, "api-version=2019-08-01") &&
	   strstr(path, "resource=https%3A%2F%2Fstorage.azure.com%2F"))
		atomic_fetch_add(&mi.well_asked, 1);
	if(atomic_load(&mi.refuse)) {
		*status = 500;
		snprintf(body, size, "{\"error\":\"unavailable\"}");
		return;
	}
	*status = 200;
	snprintf(body, size, "{\"access_token\":\"%s\",\"expires_on\":\"%ld\",\"resource\":"
	         "\"https://storage.azure.com/\",\"token_type\":\"Bearer\"}", mi.token,
	         (long)time(NULL) + 3600);
}

/* base64url without padding, as a JWT's parts are. */
static void b64url(const char *in, char *out)
{
	size_t n = imgp_base64((const unsigned char *)in, strlen(in), out);

	while(n && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for(char *c = out; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
}

/*
 * The managed identity as Functions, App Service and Container Apps give
 * it: a token from IDENTITY_ENDPOINT (asked with IDENTITY_HEADER, for
 * Storage's resource), fetched once for the whole invocation, and sent as
 * a bearer to an Azurite that checks it (HTTPS with a certificate made
 * here, "basic" OAuth: issuer, audience, lifetime; no key at all). An
 * endpoint that refuses is said at start, naming the account.
 */
Test(azure, managed_identity_token)
{
	char dir[4200], cert[4300], key[4300], claims[512], head[128], payload[800], conn_s[400];
	char endpoint[128], *event, *out = NULL, *err = NULL;
	const char *req[] = { "/usr/bin/env", "openssl", "req", "-x509", "-newkey", "rsa:2048",
	                      "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj",
	                      "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", NULL };
	const char *more[] = { endpoint, "IDENTITY_HEADER=platform-secret", NULL, NULL };
	static const char *const containers[] = { SRC, DST, NULL };
	char ssl[4400];
	json_t *reply, *l;
	long now = (long)time(NULL);
	int rc;

	snprintf(dir, sizeof(dir), "%s", fx.scratch);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	cr_assert_eq(tu_run(req, &out, &err), 0, "openssl: %s", err);
	free(out);
	free(err);
	setenv("AZURITE_CERT", cert, 1);
	setenv("AZURITE_KEY", key, 1);
	cr_assert(s3srv_start_script(&fx.srv, "azurite.js", containers), "Azurite (HTTPS) did not start");

	/* a JWT as Entra ID issues it for Storage (Azurite checks all but the signature) */
	b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", head);
	snprintf(claims, sizeof(claims), "{\"aud\":\"https://storage.azure.com\",\"iss\":"
	         "\"https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/\",\"iat\":%ld,"
	         "\"nbf\":%ld,\"exp\":%ld,\"oid\":\"11059fcc-5514-4800-b5f8-49808b9cfab6\"}",
	         now - 60, now - 60, now + 3600);
	b64url(claims, payload);
	snprintf(mi.token, sizeof(mi.token), "%s.%s.c2lnbmF0dXJl", head, payload);
	cr_assert(responder_start(&fx.proxy, identity_endpoint, NULL), "the identity endpoint");
	snprintf(endpoint, sizeof(endpoint), "IDENTITY_ENDPOINT=http://127.0.0.1:%d/msi/token",
	         fx.proxy.port);
	snprintf(ssl, sizeof(ssl), "SSL_CERT_FILE=%s", cert);
	more[2] = ssl;
	snprintf(conn_s, sizeof(conn_s), "BlobEndpoint=https://127.0.0.1:%d/" AZ_ACCOUNT ";"
	         "AccountName=" AZ_ACCOUNT, fx.srv.port);

	put_source("mi/cat.jpg", "samples/landscape.jpg");
	event = eg_delivery("Microsoft.Storage.BlobCreated", "mi/cat.jpg");
	reply = invoke(event, conn_s, more, &rc);
	cr_assert_eq(rc, 0, "%s", fx_read_stderr(&fx));
	cr_assert_str_eq(result_str(reply, "status"), "OK", "%s", json_dumps(reply, 0));
	json_decref(reply);
	cr_assert_eq(json_array_size(l = list(DST)), 3, "%s", json_dumps(l, 0));
	json_decref(l);
	cr_assert_eq(atomic_load(&mi.asked), 1, "the token was asked %d times",
	             atomic_load(&mi.asked));
	cr_assert_eq(atomic_load(&mi.well_asked), 1, "the token was asked without the header, "
	             "the API version or the resource");

	/* a token Azurite refuses (expired) is said as an access failure */
	snprintf(claims, sizeof(claims), "{\"aud\":\"https://storage.azure.com\",\"iss\":"
	         "\"https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/\",\"iat\":%ld,"
	         "\"nbf\":%ld,\"exp\":%ld}", now - 7200, now - 7200, now - 3600);
	b64url(claims, payload);
	snprintf(mi.token, sizeof(mi.token), "%s.%s.c2lnbmF0dXJl", head, payload);
	reply = invoke(event, conn_s, more, &rc);
	cr_assert_str_eq(result_str(reply, "status"), "AccessDenied", "%s", json_dumps(reply, 0));
	cr_assert(strstr(result_str(reply, "message"), "managed identity"), "%s",
	          result_str(reply, "message"));
	json_decref(reply);

	/* the platform's endpoint down: said at start, naming the account */
	atomic_store(&mi.refuse, 1);
	{
		const char *set[32];
		char path[4200];
		const char *args[] = { "invoke", path, NULL };
		char *e;

		snprintf(path, sizeof(path), "%s/event.json", fx.scratch);
		env_set(set, conn_s, more);
		cr_assert_geq(fx_spawn(&fx, "imgpipe", args, set), 0, "%s", fx.error);
		rc = fx_wait(&fx, 60000);
		e = fx_read_stderr(&fx);
		cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
		cr_assert(strstr(e, "managed identity for account " AZ_ACCOUNT) &&
		          strstr(e, "HTTP 500"), "%s", e);
		free(e);
	}
	free(event);
	unsetenv("AZURITE_CERT");
	unsetenv("AZURITE_KEY");
}
