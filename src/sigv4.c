/*
 * sigv4.c: AWS Signature Version 4 (see sigv4.h), with libcrypto for
 * SHA-256 and HMAC.
 *
 * It must never log, and never let the secret or any derived key outlive
 * the call: both are wiped before returning.
 */
#include "sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define SIGV4_TEXT_MAX (1u << 20)   /* canonical request ceiling: 1 MB */

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for(size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void imgp_sigv4_sha256_hex(const void *data, size_t len,
                           char out[IMGP_SHA256_HEX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex(md, sizeof(md), out);
}

void imgp_sigv4_amz_date(time_t t, char out[IMGP_AMZ_DATE])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, IMGP_AMZ_DATE, "%Y%m%dT%H%M%SZ", &tm);
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

char *imgp_sigv4_uri_encode(const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	if(n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = imgp_malloc(3 * n + 1);
	if(!out)
		return NULL;
	o = out;
	for(const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if(unreserved(*p) || (keep_slash && *p == '/'))
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = digits[*p >> 4];
			*o++ = digits[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

struct encoded_pair {
	char *name;
	char *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct encoded_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *imgp_sigv4_query(const struct imgp_sigv4_pair *params, size_t n)
{
	struct encoded_pair *enc = NULL;
	struct imgp_dbuf b;
	char *out = NULL;
	size_t done = 0;

	imgp_dbuf_init(&b, SIGV4_TEXT_MAX);
	if(n == 0)
		return imgp_strdup("");
	enc = imgp_calloc(n, sizeof(*enc));
	if(!enc)
		return NULL;
	for(; done < n; done++) {
		enc[done].name = imgp_sigv4_uri_encode(params[done].name, false);
		enc[done].value = imgp_sigv4_uri_encode(
			params[done].value ? params[done].value : "", false);
		if(!enc[done].name || !enc[done].value) {
			done++;
			goto out;
		}
	}
	qsort(enc, n, sizeof(*enc), pair_cmp);
	for(size_t i = 0; i < n; i++) {
		if(imgp_dbuf_addf(&b, "%s%s=%s", i ? "&" : "", enc[i].name,
		                  enc[i].value))
			goto out;
	}
	out = imgp_dbuf_take(&b);
	if(!out)
		out = imgp_strdup("");
out:
	for(size_t i = 0; i < done; i++) {
		imgp_free(enc[i].name);
		imgp_free(enc[i].value);
	}
	imgp_free(enc);
	imgp_dbuf_release(&b);
	return out;
}

struct canon_header {
	char *name;          /* lower case */
	char *value;         /* trimmed, runs of spaces made one */
};

static int header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Trim and squeeze a header value as SigV4 asks. */
static char *canon_value(const char *v)
{
	char *out = imgp_malloc(strlen(v) + 1), *o = out;
	bool space = false;

	if(!out)
		return NULL;
	while(*v == ' ' || *v == '\t')
		v++;
	for(; *v; v++) {
		if(*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if(space && o != out)
			*o++ = ' ';
		space = false;
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

/*
 * Canonical headers ("name:value\n" each, sorted; repeated names joined
 * with ',') into canon, and the signed header list into *signed_out.
 */
static enum imgp_status canon_headers(const struct imgp_sigv4_request *req,
                                      struct imgp_dbuf *canon,
                                      char **signed_out, char *err)
{
	struct canon_header *h;
	struct imgp_dbuf names;
	enum imgp_status result = IMGP_E_NOMEM;
	size_t made = 0;

	imgp_dbuf_init(&names, SIGV4_TEXT_MAX);
	if(req->nheaders == 0)
		return imgp_fail(err, IMGP_E_INTERNAL, "sigv4: no headers to sign");
	h = imgp_calloc(req->nheaders, sizeof(*h));
	if(!h)
		goto out;
	for(; made < req->nheaders; made++) {
		const char *name = req->headers[made].name;

		h[made].name = imgp_strdup(name);
		h[made].value = canon_value(req->headers[made].value);
		if(!h[made].name || !h[made].value) {
			made++;
			goto out;
		}
		for(char *p = h[made].name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	qsort(h, req->nheaders, sizeof(*h), header_cmp);
	for(size_t i = 0; i < req->nheaders; i++) {
		bool repeat = i > 0 && !strcmp(h[i].name, h[i - 1].name);
		bool last = i + 1 == req->nheaders || strcmp(h[i].name, h[i + 1].name);

		if(repeat)
			result = imgp_dbuf_addf(canon, ",%s", h[i].value);
		else {
			result = imgp_dbuf_addf(canon, "%s:%s", h[i].name, h[i].value);
			if(!result)
				result = imgp_dbuf_addf(&names, "%s%s", i ? ";" : "",
				                        h[i].name);
		}
		if(!result && last)
			result = imgp_dbuf_add(canon, "\n", 1);
		if(result)
			goto out;
	}
	*signed_out = imgp_dbuf_take(&names);
	result = *signed_out ? IMGP_OK : IMGP_E_NOMEM;
out:
	for(size_t i = 0; i < made; i++) {
		imgp_free(h[i].name);
		imgp_free(h[i].value);
	}
	imgp_free(h);
	imgp_dbuf_release(&names);
	if(result == IMGP_E_NOMEM || result == IMGP_E_TOO_LARGE)
		return imgp_fail(err, result, "sigv4: out of memory building headers");
	return result;
}

static void hmac(const void *key, size_t keylen, const char *msg,
                 unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned int len = SHA256_DIGEST_LENGTH;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	     strlen(msg), out, &len);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static enum imgp_status signing_key(const char *secret, const char *date,
                                    const char *region, const char *service,
                                    unsigned char key[SHA256_DIGEST_LENGTH])
{
	size_t n = strlen(secret) + 5;
	char *k0 = imgp_malloc(n);
	unsigned char k[SHA256_DIGEST_LENGTH];

	if(!k0)
		return IMGP_E_NOMEM;
	snprintf(k0, n, "AWS4%s", secret);
	hmac(k0, n - 1, date, k);
	explicit_bzero(k0, n);
	imgp_free(k0);
	hmac(k, sizeof(k), region, k);
	hmac(k, sizeof(k), service, k);
	hmac(k, sizeof(k), "aws4_request", key);
	explicit_bzero(k, sizeof(k));
	return IMGP_OK;
}

enum imgp_status imgp_sigv4_sign(const struct imgp_sigv4_request *req,
                                 const char *access_key, const char *secret,
                                 struct imgp_sigv4_result *result_out,
                                 char *err)
{
	struct imgp_sigv4_result r = { 0 };
	struct imgp_dbuf canon, sts;
	char date[9], hash[IMGP_SHA256_HEX];
	unsigned char key[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
	enum imgp_status result;

	imgp_dbuf_init(&canon, SIGV4_TEXT_MAX);
	imgp_dbuf_init(&sts, SIGV4_TEXT_MAX);
	if(!req->amz_date || strlen(req->amz_date) != IMGP_AMZ_DATE - 1)
		return imgp_fail(err, IMGP_E_INTERNAL, "sigv4: bad x-amz-date");
	memcpy(date, req->amz_date, 8);
	date[8] = '\0';

	result = imgp_dbuf_addf(&canon, "%s\n%s\n%s\n", req->method,
	                        req->canonical_uri,
	                        req->canonical_query ? req->canonical_query : "");
	if(result)
		goto nomem;
	result = canon_headers(req, &canon, &r.signed_headers, err);
	if(result)
		goto out;
	result = imgp_dbuf_addf(&canon, "\n%s\n%s", r.signed_headers,
	                        req->payload_hash);
	if(result)
		goto nomem;

	imgp_sigv4_sha256_hex(canon.ptr, canon.len, hash);
	result = imgp_dbuf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
	                        req->amz_date, date, req->region, req->service,
	                        hash);
	if(result)
		goto nomem;

	result = signing_key(secret, date, req->region, req->service, key);
	if(result)
		goto nomem;
	hmac(key, sizeof(key), sts.ptr, sig);
	explicit_bzero(key, sizeof(key));
	hex(sig, sizeof(sig), r.signature);

	r.authorization = imgp_asprintf(
		"AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,"
		"SignedHeaders=%s,Signature=%s", access_key, date, req->region,
		req->service, r.signed_headers, r.signature);
	if(!r.authorization)
		goto nomem;
	r.canonical_request = imgp_dbuf_take(&canon);
	r.string_to_sign = imgp_dbuf_take(&sts);
	*result_out = r;
	return IMGP_OK;
nomem:
	result = imgp_fail(err, IMGP_E_NOMEM, "sigv4: out of memory");
out:
	imgp_dbuf_release(&canon);
	imgp_dbuf_release(&sts);
	imgp_sigv4_result_release(&r);
	return result;
}

static void wipe_free(char *s)
{
	if(s) {
		explicit_bzero(s, strlen(s));
		imgp_free(s);
	}
}

void imgp_sigv4_result_release(struct imgp_sigv4_result *r)
{
	wipe_free(r->canonical_request);
	wipe_free(r->string_to_sign);
	wipe_free(r->signed_headers);
	wipe_free(r->authorization);
	explicit_bzero(r->signature, sizeof(r->signature));
	r->canonical_request = r->string_to_sign = NULL;
	r->signed_headers = r->authorization = NULL;
}
