/*
 * parsers.h: narrow entry points to parsers that are static in their
 * module, so that fuzz targets (fuzz/) and regression tests can feed them
 * bytes without a server in front. Nothing in src/ or handlers/ calls
 * these; they add no behaviour, only a door to what the module already
 * does with a server's answer.
 */
#ifndef IMGP_PARSERS_H
#define IMGP_PARSERS_H

#include "runtime.h"
#include "store.h"

/*
 * s3xml.c: an S3 error document (body of a non-2xx answer with HTTP
 * status http) into e, as a request would see it; returns e's status.
 */
enum imgp_status imgp_s3_parse_error(const void *body, size_t len, long http,
                                     struct imgp_store_error *e /* OUT */);

/*
 * s3xml.c: one ListObjectsV2 page: cb for each key; *token gets the
 * next page's continuation token (imgp_free) or NULL.
 */
enum imgp_status imgp_s3_parse_list(const void *body, size_t len,
                                    imgp_store_list_cb cb, void *ud,
                                    char **token /* OUT */,
                                    struct imgp_store_error *e /* OUT */);

/* blobxml.c: the same for Azure Blob Storage's error documents and List
 * Blobs pages (*marker the next page's marker, or NULL). */
enum imgp_status imgp_blob_parse_error(const void *body, size_t len, long http,
                                       struct imgp_store_error *e /* OUT */);
enum imgp_status imgp_blob_parse_list(const void *body, size_t len,
                                      imgp_store_list_cb cb, void *ud,
                                      char **marker /* OUT */,
                                      struct imgp_store_error *e /* OUT */);

/*
 * runtime.c: the header block of a /next answer (status line, header lines
 * ending in LF or CR LF) through the runtime's own header callback. inv
 * gets the fields (client_context and cognito_identity are set to NULL:
 * they die with the parse); *has_opaque says whether either was kept.
 * IMGP_OK when a usable request id came, IMGP_E_REQUEST otherwise.
 */
enum imgp_status imgp_runtime_parse_head(const char *head, size_t len,
                                         struct imgp_invocation *inv /* OUT */,
                                         bool *has_opaque /* OUT */);

#endif
