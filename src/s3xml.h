/*
 * s3xml.h: S3's XML answers (store_s3.c's): an error document into a
 * store error, a ListObjectsV2 page into keys.
 */
#ifndef IMGP_S3XML_H
#define IMGP_S3XML_H

#include <libxml/tree.h>

#include "dbuf.h"
#include "http.h"
#include "store.h"

/* What S3's and Azure's XML readers (blobxml.c) share. */
/* Is n the element name? */
bool imgp_xml_is(const xmlNode *n, const char *name);
/* The text of a child element, copied into buf (size n); false if absent. */
bool imgp_xml_child_text(const xmlNode *parent, const char *name, char *buf, size_t n);
/* An untrusted document (no network, no entities); NULL if it is not XML. */
xmlDoc *imgp_xml_parse(const struct imgp_dbuf *body);
/* A service's message (a sentence) in our style: lowercase, no full stop. */
void imgp_xml_our_style(char *msg);

/* Fill e from a non-2xx answer; returns its status. what names the call. */
enum imgp_status imgp_s3xml_error(const struct imgp_http_response *r, const char *what,
                                  struct imgp_store_error *e);

/* One page: cb for each key; *token gets the next page's token (or
 * NULL); *stop when cb said stop. */
enum imgp_status imgp_s3xml_list_page(const struct imgp_dbuf *body, imgp_store_list_cb cb,
                                      void *ud, char **token, bool *stop,
                                      struct imgp_store_error *e, const char *what);

#endif
