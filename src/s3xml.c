/*
 * s3xml.c: S3's XML answers, read with libxml2: error documents (the
 * code, the message, the request id; the code's status, temporary or
 * not) and ListObjectsV2 pages. Every field is checked; nothing is taken
 * from a document that is not S3's. No I/O.
 */
#include "s3xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers.h"
#include "store_impl.h"

bool imgp_xml_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

bool imgp_xml_child_text(const xmlNode *parent, const char *name, char *buf, size_t n)
{
	for(const xmlNode *c = parent->children; c; c = c->next) {
		if(imgp_xml_is(c, name)) {
			xmlChar *text = xmlNodeGetContent(c);

			snprintf(buf, n, "%s", text ? (const char *)text : "");
			xmlFree(text);
			return true;
		}
	}
	return false;
}

xmlDoc *imgp_xml_parse(const struct imgp_dbuf *body)
{
	if(!body->len || body->len > INT32_MAX)
		return NULL;
	/* no network, no entity expansion: the text is untrusted */
	return xmlReadMemory(body->ptr, (int)body->len, "s3.xml", NULL,
	                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static enum imgp_status code_status(const char *code, long http)
{
	static const struct { const char *code; enum imgp_status status; } table[] = {
		{ "NoSuchKey", IMGP_E_NOT_FOUND }, { "NoSuchBucket", IMGP_E_NOT_FOUND },
		{ "NotFound", IMGP_E_NOT_FOUND }, { "NoSuchVersion", IMGP_E_NOT_FOUND },
		{ "AccessDenied", IMGP_E_ACCESS }, { "SignatureDoesNotMatch", IMGP_E_ACCESS },
		{ "InvalidAccessKeyId", IMGP_E_ACCESS }, { "ExpiredToken", IMGP_E_ACCESS },
		{ "InvalidToken", IMGP_E_ACCESS }, { "Forbidden", IMGP_E_ACCESS },
		{ "AllAccessDisabled", IMGP_E_ACCESS }, { "RequestTimeTooSkewed", IMGP_E_ACCESS },
		{ "SlowDown", IMGP_E_THROTTLED }, { "RequestLimitExceeded", IMGP_E_THROTTLED },
		{ "EntityTooLarge", IMGP_E_TOO_LARGE },
	};

	for(size_t i = 0; code && i < sizeof(table) / sizeof(table[0]); i++)
		if(!strcmp(code, table[i].code))
			return table[i].status;
	if(http == 429 || http == 503)
		return http == 503 && code && *code && strcmp(code, "SlowDown") &&
		       strcmp(code, "ServiceUnavailable") ? IMGP_E_SERVER : IMGP_E_THROTTLED;
	if(http >= 500)
		return IMGP_E_SERVER;
	if(http == 404)
		return IMGP_E_NOT_FOUND;
	if(http == 401 || http == 403)
		return IMGP_E_ACCESS;
	return IMGP_E_REQUEST;
}

void imgp_xml_our_style(char *msg)
{
	size_t n = strlen(msg);

	if(n > 1 && msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z'))
		msg[0] = (char)(msg[0] + 32);
	while(n && (msg[n - 1] == '.' || msg[n - 1] == ' '))
		msg[--n] = '\0';
}

/* Fill e from a non-2xx answer; returns its status. */
enum imgp_status imgp_s3xml_error(const struct imgp_http_response *r,
                                 const char *what, struct imgp_store_error *e)
{
	xmlDoc *doc = imgp_xml_parse(&r->body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	const char *rid = imgp_http_response_header(r, "x-amz-request-id");
	char message[300] = "";

	if(root && imgp_xml_is(root, "Error")) {
		imgp_xml_child_text(root, "Code", e->code, sizeof(e->code));
		imgp_xml_child_text(root, "Message", message, sizeof(message));
		if(!rid)
			imgp_xml_child_text(root, "RequestId", e->request_id, sizeof(e->request_id));
	}
	if(doc)
		xmlFreeDoc(doc);
	if(rid)
		snprintf(e->request_id, sizeof(e->request_id), "%s", rid);
	/* HEAD answers carry no document: name the code the way the SDKs do */
	if(!e->code[0] && (r->status == 404 || r->status == 403 || r->status == 400))
		snprintf(e->code, sizeof(e->code), "%s", r->status == 404 ? "NotFound"
		         : r->status == 403 ? "Forbidden" : "BadRequest");
	e->http_status = r->status;
	imgp_xml_our_style(message);
	if(!*message)
		return imgp_store_fail(e, code_status(e->code, r->status), "%s: HTTP %ld",
		                       what, r->status);
	return imgp_store_fail(e, code_status(e->code, r->status), "%s: %s", what,
	                       message);
}

/* encoding-type=url keys: %XX escapes, '+' for a space. */
static void url_decode(char *s)
{
	char *o = s;

	for(; *s; s++) {
		if(*s == '+')
			*o++ = ' ';
		else if(*s == '%' && s[1] && s[2] && strchr("0123456789abcdefABCDEF", s[1]) &&
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

/* One page: call cb for each key; *token gets the next page's token. */
enum imgp_status imgp_s3xml_list_page(const struct imgp_dbuf *body, imgp_store_list_cb cb,
                                  void *ud, char **token, bool *stop,
                                  struct imgp_store_error *e, const char *what)
{
	xmlDoc *doc = imgp_xml_parse(body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char truncated[8] = "", encoding[8] = "", size[32], etag[128], modified[64];
	enum imgp_status result = IMGP_OK;

	*token = NULL;
	if(!root || !imgp_xml_is(root, "ListBucketResult")) {
		result = imgp_store_fail(e, IMGP_E_SERVER, "%s: the listing is not S3 XML", what);
		goto out;
	}
	imgp_xml_child_text(root, "IsTruncated", truncated, sizeof(truncated));
	imgp_xml_child_text(root, "EncodingType", encoding, sizeof(encoding));
	for(xmlNode *c = root->children; c && !*stop; c = c->next) {
		struct imgp_list_entry entry;
		char k[1100 * 3];

		if(!imgp_xml_is(c, "Contents") || !imgp_xml_child_text(c, "Key", k, sizeof(k)))
			continue;
		if(!strcmp(encoding, "url"))
			url_decode(k);
		size[0] = etag[0] = modified[0] = '\0';
		imgp_xml_child_text(c, "Size", size, sizeof(size));
		imgp_xml_child_text(c, "ETag", etag, sizeof(etag));
		imgp_xml_child_text(c, "LastModified", modified, sizeof(modified));
		entry = (struct imgp_list_entry){ k, strtoull(size, NULL, 10), etag, NULL, modified };
		if(!cb(ud, &entry))
			*stop = true;
	}
	if(!*stop && !strcmp(truncated, "true")) {
		char next[4096] = "";

		if(!imgp_xml_child_text(root, "NextContinuationToken", next, sizeof(next)) || !*next) {
			result = imgp_store_fail(e, IMGP_E_SERVER,
			                         "%s: truncated listing without a continuation token",
			                         what);
			goto out;
		}
		*token = imgp_strdup(next);
		if(!*token)
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	}
out:
	if(doc)
		xmlFreeDoc(doc);
	return result;
}

/* parsers.h: the same two readers, given bytes instead of a response */
enum imgp_status imgp_s3_parse_error(const void *body, size_t len, long http,
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
		result = imgp_s3xml_error(&r, "parse", e);
	imgp_http_response_release(&r);
	return result;
}

enum imgp_status imgp_s3_parse_list(const void *body, size_t len,
                                    imgp_store_list_cb cb, void *ud, char **token,
                                    struct imgp_store_error *e)
{
	struct imgp_dbuf b;
	enum imgp_status result;
	bool stop = false;

	*token = NULL;
	imgp_store_error_clear(e);
	imgp_dbuf_init(&b, len + 1);
	if(imgp_dbuf_add(&b, body, len))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	else
		result = imgp_s3xml_list_page(&b, cb, ud, token, &stop, e, "parse");
	imgp_dbuf_release(&b);
	return result;
}

