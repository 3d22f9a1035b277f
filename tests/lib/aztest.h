/*
 * aztest.h: what the Azure tests (test_azure.c, the image test) share:
 * the reference client (tests/lib/azblob.js, @azure/storage-blob) against
 * an Azurite started as s3srv_start_script(&srv, "azurite.js", ...), and
 * Event Grid's events of the blobs it holds. Nothing here asserts.
 */
#ifndef IMGP_AZTEST_H
#define IMGP_AZTEST_H

#include <jansson.h>
#include <stddef.h>

/* Azurite's development account, its well-known key (public). */
#define AZ_ACCOUNT "devstoreaccount1"
#define AZ_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* The connection string of Azurite's account at port (Shared Key). */
void az_conn(int port, char *out, size_t size);

/* node azblob.js PORT args... (NULL-ended): its exit status, its stdout in
 * *out (caller frees; may be NULL), its stderr in *err when err is not NULL. */
int az_blob(int port, char **out, char **err, const char *const *args);

/* A blob's properties ({"etag", "contentType", "contentLength", "metadata",
 * ...}), or NULL when it is not there. */
json_t *az_props(int port, const char *container, const char *key);

/*
 * One Event Grid event (testdata/events/eventgrid-blob-created.json's
 * fields) of container/key at Azurite's port: type (BlobCreated: the
 * blob's ETag and size now; BlobDeleted: neither). A new reference, or
 * NULL when the fixture cannot be read.
 */
json_t *az_event(int port, const char *type, const char *container, const char *key);

#endif
