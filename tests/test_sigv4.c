/*
 * test_sigv4.c: the signer against the worked examples of AWS's "Signature
 * Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk" (S3 API reference): fixed credentials, date and request,
 * known canonical request, string to sign and signature. Then the URI
 * encoding S3 expects, as a table.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"

struct example {
	const char *method;
	const char *path;                  /* the key, not yet encoded */
	struct imgp_sigv4_pair query[4];
	size_t nquery;
	struct imgp_sigv4_pair headers[6];
	size_t nheaders;
	const char *payload_hash;
	const char *canonical_request;
	const char *string_to_sign;
	const char *signature;
};

static const struct example examples[] = {
	{   /* GET Object: the first 10 bytes of test.txt */
		"GET", "/test.txt", { { 0 } }, 0,
		{ { "Host", HOST }, { "Range", "bytes=0-9" },
		  { "x-amz-content-sha256", IMGP_EMPTY_SHA256 },
		  { "x-amz-date", DATE } }, 4,
		IMGP_EMPTY_SHA256,
		"GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
		"range:bytes=0-9\n"
		"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		"x-amz-date:20130524T000000Z\n\n"
		"host;range;x-amz-content-sha256;x-amz-date\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
		"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
	},
	{   /* PUT Object: test$file.text, "Welcome to Amazon S3." */
		"PUT", "/test$file.text", { { 0 } }, 0,
		{ { "Date", "Fri, 24 May 2013 00:00:00 GMT" }, { "Host", HOST },
		  { "x-amz-date", DATE },
		  { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		  { "x-amz-content-sha256",
		    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072" } }, 5,
		"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		"PUT\n/test%24file.text\n\n"
		"date:Fri, 24 May 2013 00:00:00 GMT\n"
		"host:examplebucket.s3.amazonaws.com\n"
		"x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
		"x-amz-date:20130524T000000Z\n"
		"x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
		"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
		"9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
		"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
	},
	{   /* GET Bucket Lifecycle */
		"GET", "/", { { "lifecycle", "" } }, 1,
		{ { "Host", HOST }, { "x-amz-date", DATE },
		  { "x-amz-content-sha256", IMGP_EMPTY_SHA256 } }, 3,
		IMGP_EMPTY_SHA256,
		"GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
		"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		"x-amz-date:20130524T000000Z\n\n"
		"host;x-amz-content-sha256;x-amz-date\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
		"9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
		"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
	},
	{   /* Get Bucket (List Objects); parameters given out of order */
		"GET", "/", { { "prefix", "J" }, { "max-keys", "2" } }, 2,
		{ { "Host", HOST }, { "x-amz-date", DATE },
		  { "x-amz-content-sha256", IMGP_EMPTY_SHA256 } }, 3,
		IMGP_EMPTY_SHA256,
		"GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
		"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		"x-amz-date:20130524T000000Z\n\n"
		"host;x-amz-content-sha256;x-amz-date\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
		"df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
		"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
	},
};

static void check_example(const struct example *ex)
{
	struct imgp_sigv4_result r;
	char err[IMGP_ERRSIZE] = "";
	char *uri = imgp_sigv4_uri_encode(ex->path, true);
	char *query = imgp_sigv4_query(ex->query, ex->nquery);
	char auth[512];
	struct imgp_sigv4_request req = {
		.method = ex->method, .canonical_uri = uri, .canonical_query = query,
		.headers = ex->headers, .nheaders = ex->nheaders,
		.payload_hash = ex->payload_hash, .amz_date = DATE,
		.region = "us-east-1", .service = "s3",
	};

	cr_assert(uri && query);
	cr_assert_eq(imgp_sigv4_sign(&req, AK, SK, &r, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(r.canonical_request, ex->canonical_request);
	cr_expect_str_eq(r.string_to_sign, ex->string_to_sign);
	cr_expect_str_eq(r.signature, ex->signature);
	snprintf(auth, sizeof(auth),
	         "AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/aws4_request,"
	         "SignedHeaders=%s,Signature=%s", r.signed_headers, ex->signature);
	cr_expect_str_eq(r.authorization, auth);
	imgp_sigv4_result_release(&r);
	imgp_free(uri);
	imgp_free(query);
}

Test(sigv4, aws_example_get_object) { check_example(&examples[0]); }
Test(sigv4, aws_example_put_object) { check_example(&examples[1]); }
Test(sigv4, aws_example_get_bucket_lifecycle) { check_example(&examples[2]); }
Test(sigv4, aws_example_list_objects) { check_example(&examples[3]); }

Test(sigv4, payload_hash_of_put_example)
{
	char h[IMGP_SHA256_HEX];

	imgp_sigv4_sha256_hex("Welcome to Amazon S3.", 21, h);
	cr_assert_str_eq(h, examples[1].payload_hash);
	imgp_sigv4_sha256_hex("", 0, h);
	cr_assert_str_eq(h, IMGP_EMPTY_SHA256);
}

Test(sigv4, amz_date)
{
	char d[IMGP_AMZ_DATE];

	imgp_sigv4_amz_date(1369353600, d);   /* 2013-05-24 00:00:00 UTC */
	cr_assert_str_eq(d, DATE);
}

Test(sigv4, header_values_trimmed_and_squeezed)
{
	struct imgp_sigv4_pair h[] = {
		{ "Host", "h" }, { "X-Amz-Meta-A", "  one   two  " },
		{ "x-amz-meta-a", "three" }, { "x-amz-date", DATE },
	};
	struct imgp_sigv4_request req = {
		.method = "GET", .canonical_uri = "/", .headers = h, .nheaders = 4,
		.payload_hash = IMGP_EMPTY_SHA256, .amz_date = DATE,
		.region = "us-east-1", .service = "s3",
	};
	struct imgp_sigv4_result r;

	cr_assert_eq(imgp_sigv4_sign(&req, AK, SK, &r, NULL), IMGP_OK);
	cr_expect(strstr(r.canonical_request, "\nx-amz-meta-a:one two,three\n"),
	          "%s", r.canonical_request);
	cr_expect_str_eq(r.signed_headers, "host;x-amz-date;x-amz-meta-a");
	imgp_sigv4_result_release(&r);
}

/* S3's UriEncode, path form (slash kept) and query form (slash encoded). */
static const struct {
	const char *in, *path, *query;
} encodings[] = {
	{ "plain.jpg", "plain.jpg", "plain.jpg" },
	{ "a b+c%d", "a%20b%2Bc%25d", "a%20b%2Bc%25d" },
	{ "dir//x (1).png", "dir//x%20%281%29.png", "dir%2F%2Fx%20%281%29.png" },
	{ "~-._*!'", "~-._%2A%21%27", "~-._%2A%21%27" },
	{ "caf\xc3\xa9/\xe6\x97\xa5", "caf%C3%A9/%E6%97%A5", "caf%C3%A9%2F%E6%97%A5" },
	{ "=&?#", "%3D%26%3F%23", "%3D%26%3F%23" },
};

Test(sigv4, uri_encode_table)
{
	for(size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		char *p = imgp_sigv4_uri_encode(encodings[i].in, true);
		char *q = imgp_sigv4_uri_encode(encodings[i].in, false);

		cr_expect_str_eq(p, encodings[i].path, "path form of %s", encodings[i].in);
		cr_expect_str_eq(q, encodings[i].query, "query form of %s", encodings[i].in);
		imgp_free(p);
		imgp_free(q);
	}
}

Test(sigv4, query_sorted_by_encoded_name_then_value)
{
	struct imgp_sigv4_pair q[] = {
		{ "prefix", "a b/" }, { "list-type", "2" },
		{ "continuation-token", "x+y=" }, { "encoding-type", "url" },
	};
	char *s = imgp_sigv4_query(q, 4);

	cr_assert_str_eq(s, "continuation-token=x%2By%3D&encoding-type=url&"
	                 "list-type=2&prefix=a%20b%2F");
	imgp_free(s);
}
