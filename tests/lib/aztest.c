/*
 * aztest.c: see aztest.h.
 */
#include "aztest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

void az_conn(int port, char *out, size_t size)
{
	snprintf(out, size, "DefaultEndpointsProtocol=http;AccountName=" AZ_ACCOUNT ";AccountKey="
	         AZ_KEY ";BlobEndpoint=http://127.0.0.1:%d/" AZ_ACCOUNT ";", port);
}

int az_blob(int port, char **out, char **err, const char *const *args)
{
	char script[4200], p[16];
	const char *argv[16] = { "/usr/bin/env", "node", script, p };
	char *e = NULL;
	int n = 4, rc;

	snprintf(script, sizeof(script), "%s/tests/lib/azblob.js", tu_srcdir());
	snprintf(p, sizeof(p), "%d", port);
	for(size_t i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = tu_run(argv, out, &e);
	if(err)
		*err = e;
	else
		free(e);
	return rc;
}

json_t *az_props(int port, const char *container, const char *key)
{
	const char *args[] = { "props", container, key, NULL };
	char *out = NULL;
	json_t *doc = NULL;

	if(!az_blob(port, &out, NULL, args))
		doc = json_loads(out, 0, NULL);
	free(out);
	return doc;
}

/* Percent-encoding of a URL path, as data.url carries a blob's name. */
static char *url_path(const char *key)
{
	char *out = malloc(strlen(key) * 3 + 1), *p = out;

	for(const unsigned char *c = (const unsigned char *)key; out && *c; c++)
		if((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		   strchr("-_.~/", *c))
			*p++ = (char)*c;
		else
			p += sprintf(p, "%%%02X", *c);
	if(out)
		*p = '\0';
	return out;
}

json_t *az_event(int port, const char *type, const char *container, const char *key)
{
	char path[4200], subject[1200], url[1400], *enc = url_path(key);
	json_t *doc, *ev, *data, *p = strstr(type, "Created") ? az_props(port, container, key)
	                                                       : NULL;

	snprintf(path, sizeof(path), "%s/testdata/events/eventgrid-blob-created.json", tu_srcdir());
	doc = json_load_file(path, 0, NULL);
	ev = json_incref(json_array_get(doc, 0));
	json_decref(doc);
	data = json_object_get(ev, "data");
	if(!ev || !data || !enc) {
		json_decref(ev);
		json_decref(p);
		free(enc);
		return NULL;
	}
	snprintf(subject, sizeof(subject), "/blobServices/default/containers/%s/blobs/%s",
	         container, key);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/" AZ_ACCOUNT "/%s/%s", port, container, enc);
	json_object_set_new(ev, "subject", json_string(subject));
	json_object_set_new(ev, "eventType", json_string(type));
	json_object_set_new(data, "url", json_string(url));
	if(p) {
		json_object_set(data, "eTag", json_object_get(p, "etag"));
		json_object_set(data, "contentLength", json_object_get(p, "contentLength"));
	}
	else {
		json_object_del(data, "eTag");
		json_object_del(data, "contentLength");
		json_object_set_new(data, "api", json_string("DeleteBlob"));
	}
	json_decref(p);
	free(enc);
	return ev;
}
