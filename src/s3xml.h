/*
 * s3xml.h: S3's XML answers (store_s3.c's): an error document into a
 * store error, a ListObjectsV2 page into keys.
 */
#ifndef IMGP_S3XML_H
#define IMGP_S3XML_H

#include "dbuf.h"
#include "http.h"
#include "store.h"

/* Fill e from a non-2xx answer; returns its status. what names the call. */
enum imgp_status imgp_s3xml_error(const struct imgp_http_response *r, const char *what,
                                  struct imgp_store_error *e);

/* One page: cb for each key; *token gets the next page's token (or
 * NULL); *stop when cb said stop. */
enum imgp_status imgp_s3xml_list_page(const struct imgp_dbuf *body, imgp_store_list_cb cb,
                                      void *ud, char **token, bool *stop,
                                      struct imgp_store_error *e, const char *what);

#endif
