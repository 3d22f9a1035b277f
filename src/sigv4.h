/*
 * sigv4.h: AWS Signature Version 4 for S3, header-based, payload in a
 * single chunk.
 *
 * It owns the canonical request, the string to sign, the signing key and
 * the Authorization header, plus the URI encoding S3 expects. It must
 * never do I/O, never keep a secret beyond the call, and never put a
 * secret or a signing key into an error message.
 */
#ifndef IMGP_SIGV4_H
#define IMGP_SIGV4_H

#include <time.h>

#include "imgpipe.h"

#define IMGP_SHA256_HEX 65           /* 64 hex digits and a NUL */
#define IMGP_AMZ_DATE 17             /* 20130524T000000Z and a NUL */
#define IMGP_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A header or a query parameter: plain (not yet encoded) name and value. */
struct imgp_sigv4_pair {
	const char *name;
	const char *value;
};

struct imgp_sigv4_request {
	const char *method;          /* GET, PUT, HEAD, DELETE */
	const char *canonical_uri;   /* the path exactly as sent: already encoded */
	const char *canonical_query; /* from imgp_sigv4_query(); "" or NULL: none */
	const struct imgp_sigv4_pair *headers; /* every header to sign, host too */
	size_t nheaders;
	const char *payload_hash;    /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
	const char *amz_date;        /* the x-amz-date value, 20130524T000000Z */
	const char *region;          /* us-east-1 */
	const char *service;         /* s3 */
};

/* What signing made; the intermediate strings are kept for tests. */
struct imgp_sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;        /* host;x-amz-content-sha256;x-amz-date */
	char signature[IMGP_SHA256_HEX];
	char *authorization;         /* the whole Authorization header value */
};

/*
 * Sign req with the access key and secret. On success result holds fresh
 * strings the caller frees with imgp_sigv4_result_release (which also
 * wipes them). Fails only on allocation or a malformed request.
 */
enum imgp_status imgp_sigv4_sign(const struct imgp_sigv4_request *req,
                                 const char *access_key, const char *secret,
                                 struct imgp_sigv4_result *result /* OUT */,
                                 char *err);
void imgp_sigv4_result_release(struct imgp_sigv4_result *result);

/*
 * S3's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (upper
 * case hex); '/' is kept when keep_slash. Returns a new string or NULL.
 */
char *imgp_sigv4_uri_encode(const char *s, bool keep_slash);

/*
 * The canonical query string of n parameters: names and values encoded,
 * sorted by name then value, joined with '&', a parameter without value
 * written "name=". The same string serves as the URL's query. Returns a
 * new string ("" when n is 0) or NULL.
 */
char *imgp_sigv4_query(const struct imgp_sigv4_pair *params, size_t n);

/* Lower-case hex SHA-256 of len bytes. */
void imgp_sigv4_sha256_hex(const void *data, size_t len,
                           char out[IMGP_SHA256_HEX]);

/* The x-amz-date form of t (UTC). */
void imgp_sigv4_amz_date(time_t t, char out[IMGP_AMZ_DATE]);

#endif
