/*
 * blobxml.c: Azure Blob Storage's XML answers, read with libxml2 through
 * s3xml.c's helpers: error documents (the code, the message, the request
 * id; the code's status, temporary or not) and List Blobs pages
 * (EnumerationResults). Every field is checked; nothing is taken from a
 * document that is not Azure's. No I/O.
 */
#include "blobxml.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers.h"
#include "s3xml.h"
#include "store_impl.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

enum imgp_status imgp_blobxml_init(char *err)
{
	(void)err;
	pthread_once(&xml_once, xml_init);
	return IMGP_OK;
}

/* Azure's error codes (x-ms-error-code), as imgpipe's statuses. */
static enum imgp_status code_status(const char *code, long http)
{
	static const struct { const char *code; enum imgp_status status; } table[] = {
		{ "BlobNotFound", IMGP_E_NOT_FOUND }, { "ContainerNotFound", IMGP_E_NOT_FOUND },
		{ "ResourceNotFound", IMGP_E_NOT_FOUND },
		{ "AuthenticationFailed", IMGP_E_ACCESS }, { "AuthorizationFailure", IMGP_E_ACCESS },
		{ "AuthorizationPermissionMismatch", IMGP_E_ACCESS },
		{ "AuthorizationResourceTypeMismatch", IMGP_E_ACCESS },
		{ "InsufficientAccountPermissions", IMGP_E_ACCESS },
		{ "AccountIsDisabled", IMGP_E_ACCESS }, { "InvalidAuthenticationInfo", IMGP_E_ACCESS },
		{ "ServerBusy", IMGP_E_THROTTLED }, { "OperationTimedOut", IMGP_E_SERVER },
		{ "InternalError", IMGP_E_SERVER },
		{ "RequestBodyTooLarge", IMGP_E_TOO_LARGE },
	};

	for(size_t i = 0; code && i < sizeof(table) / sizeof(table[0]); i++)
		if(!strcmp(code, table[i].code))
			return table[i].status;
	if(http == 429 || http == 503)
		return IMGP_E_THROTTLED;
	if(http >= 500)
		return IMGP_E_SERVER;
	if(http == 404)
		return IMGP_E_NOT_FOUND;
	if(http == 401 || http == 403)
		return IMGP_E_ACCESS;
	return IMGP_E_REQUEST;
}

enum imgp_status imgp_blobxml_error(const struct imgp_http_response *r, const char *what,
                                    struct imgp_store_error *e)
{
	xmlDoc *doc = imgp_xml_parse(&r->body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	const char *rid = imgp_http_response_header(r, "x-ms-request-id");
	const char *hcode = imgp_http_response_header(r, "x-ms-error-code");
	char message[300] = "";

	if(root && imgp_xml_is(root, "Error")) {
		imgp_xml_child_text(root, "Code", e->code, sizeof(e->code));
		imgp_xml_child_text(root, "Message", message, sizeof(message));
	}
	if(doc)
		xmlFreeDoc(doc);
	/* HEAD answers carry no document: the header says the code */
	if(!e->code[0] && hcode)
		snprintf(e->code, sizeof(e->code), "%s", hcode);
	if(rid)
		snprintf(e->request_id, sizeof(e->request_id), "%s", rid);
	e->http_status = r->status;
	/* Azure's message ends with "RequestId:... Time:...": the id is kept apart */
	message[strcspn(message, "\r\n")] = '\0';
	imgp_xml_our_style(message);
	if(!*message)
		return imgp_store_fail(e, code_status(e->code, r->status), "%s: HTTP %ld",
		                       what, r->status);
	return imgp_store_fail(e, code_status(e->code, r->status), "%s: %s", what, message);
}

/* A name with Encoded="true" holds %XX escapes (characters XML cannot). */
static void percent_decode(char *s)
{
	char *o = s;

	for(; *s; s++) {
		if(*s == '%' && s[1] && s[2] && strchr("0123456789abcdefABCDEF", s[1]) &&
		   strchr("0123456789abcdefABCDEF", s[2])) {
			char hex[3] = { s[1], s[2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		}
		else
			*o++ = *s;
	}
	*o = '\0';
}

/* The child element called name, or NULL. */
static xmlNode *child(xmlNode *parent, const char *name)
{
	for(xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if(imgp_xml_is(c, name))
			return c;
	return NULL;
}

enum imgp_status imgp_blobxml_list_page(const struct imgp_dbuf *body, imgp_store_list_cb cb,
                                        void *ud, char **marker, bool *stop,
                                        struct imgp_store_error *e, const char *what)
{
	xmlDoc *doc = imgp_xml_parse(body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *blobs;
	char size[32], etag[128], modified[64];
	enum imgp_status result = IMGP_OK;

	*marker = NULL;
	if(!root || !imgp_xml_is(root, "EnumerationResults")) {
		result = imgp_store_fail(e, IMGP_E_SERVER, "%s: the listing is not Blob "
		                         "Storage XML", what);
		goto out;
	}
	blobs = child(root, "Blobs");
	for(xmlNode *c = blobs ? blobs->children : NULL; c && !*stop; c = c->next) {
		struct imgp_list_entry entry;
		xmlNode *name, *props;
		xmlChar *text, *encoded;
		char *key;

		if(!imgp_xml_is(c, "Blob"))
			continue;
		if(!(name = child(c, "Name")) || !(text = xmlNodeGetContent(name))) {
			result = imgp_store_fail(e, IMGP_E_SERVER, "%s: a listed blob has no name",
			                         what);
			break;
		}
		key = imgp_strdup((const char *)text);
		xmlFree(text);
		if(!key) {
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
			break;
		}
		encoded = xmlGetProp(name, (const xmlChar *)"Encoded");
		if(encoded && !strcmp((const char *)encoded, "true"))
			percent_decode(key);
		xmlFree(encoded);
		props = child(c, "Properties");
		size[0] = etag[0] = etag[1] = modified[0] = '\0';
		if(props) {
			imgp_xml_child_text(props, "Content-Length", size, sizeof(size));
			/* quoted, as HEAD's ETag header (and S3's listing) has it */
			if(imgp_xml_child_text(props, "Etag", etag + 1, sizeof(etag) - 2) &&
			   etag[1] && etag[1] != '"') {
				etag[0] = '"';
				strcat(etag, "\"");
			}
			else
				memmove(etag, etag + 1, strlen(etag + 1) + 1);
			imgp_xml_child_text(props, "Last-Modified", modified, sizeof(modified));
		}
		entry = (struct imgp_list_entry){
			.key = key, .size = strtoull(size, NULL, 10),
			.etag = etag[0] ? etag : NULL, .version_id = NULL,
			.last_modified = modified[0] ? modified : NULL,
		};
		if(!cb(ud, &entry))
			*stop = true;
		imgp_free(key);
	}
	/* a marker as long as it is (it holds the next blob's name) */
	if(!result && !*stop && (blobs = child(root, "NextMarker"))) {
		xmlChar *next = xmlNodeGetContent(blobs);

		if(next && *next && !(*marker = imgp_strdup((const char *)next)))
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		xmlFree(next);
	}
out:
	if(doc)
		xmlFreeDoc(doc);
	return result;
}

/* parsers.h: the readers above on a body alone, for tests and the fuzzer. */
enum imgp_status imgp_blob_parse_error(const void *body, size_t len, long http,
                                       struct imgp_store_error *e)
{
	struct imgp_http_response r;
	enum imgp_status result;

	imgp_store_error_clear(e);
	imgp_http_response_init(&r);
	r.status = http;
	imgp_dbuf_init(&r.body, len + 1);
	if(imgp_dbuf_add(&r.body, body, len))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	else
		result = imgp_blobxml_error(&r, "parse", e);
	imgp_http_response_release(&r);
	return result;
}

enum imgp_status imgp_blob_parse_list(const void *body, size_t len,
                                      imgp_store_list_cb cb, void *ud, char **marker,
                                      struct imgp_store_error *e)
{
	struct imgp_dbuf b;
	enum imgp_status result;
	bool stop = false;

	*marker = NULL;
	imgp_store_error_clear(e);
	imgp_dbuf_init(&b, len + 1);
	if(imgp_dbuf_add(&b, body, len))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	else
		result = imgp_blobxml_list_page(&b, cb, ud, marker, &stop, e, "parse");
	imgp_dbuf_release(&b);
	return result;
}
