/*
 * blobxml.h: Azure Blob Storage's XML answers (store_azure.c's): an error
 * document into a store error, a List Blobs page into keys.
 */
#ifndef IMGP_BLOBXML_H
#define IMGP_BLOBXML_H

#include "dbuf.h"
#include "http.h"
#include "store.h"

/* libxml2 set up, once per process. */
enum imgp_status imgp_blobxml_init(char *err);

/* Fill e from a non-2xx answer (the Error document, else x-ms-error-code);
 * returns its status. what names the call. */
enum imgp_status imgp_blobxml_error(const struct imgp_http_response *r, const char *what,
                                    struct imgp_store_error *e);

/* One List Blobs page: cb for each blob; *marker gets the next page's
 * marker (or NULL); *stop when cb said stop. */
enum imgp_status imgp_blobxml_list_page(const struct imgp_dbuf *body, imgp_store_list_cb cb,
                                        void *ud, char **marker, bool *stop,
                                        struct imgp_store_error *e, const char *what);

#endif
