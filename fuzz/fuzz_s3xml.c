/*
 * fuzz_s3xml.c: S3's and Azure Blob Storage's XML answers as the stores
 * read them (parsers.h): the first byte picks the reader (even: an error
 * document, with an HTTP status chosen from it; odd: a listing page), the
 * rest is the body, given to both clouds' readers.
 */
#include "fuzz.h"

#include <libxml/parser.h>

#include "parsers.h"

static bool count_key(void *ud, const struct imgp_list_entry *entry)
{
	size_t *n = ud;

	/* every field the callback sees is a C string */
	if(strlen(entry->key) + (entry->etag ? strlen(entry->etag) : 0) +
	   (entry->last_modified ? strlen(entry->last_modified) : 0) > (1u << 30))
		abort();
	return ++*n < 100;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 400, 403, 404, 409, 429, 500, 503, 301 };
	struct imgp_store_error e;
	char *token = NULL;
	size_t n = 0;

	if(!size)
		return 0;
	if(data[0] % 2 == 0) {
		enum imgp_status s = imgp_s3_parse_error(data + 1, size - 1,
		                                         statuses[(data[0] >> 1) % 8], &e);
		if(!s || strlen(e.msg) >= sizeof(e.msg))
			abort();
		s = imgp_blob_parse_error(data + 1, size - 1, statuses[(data[0] >> 1) % 8], &e);
		if(!s || strlen(e.msg) >= sizeof(e.msg))
			abort();
	}
	else {
		(void)imgp_s3_parse_list(data + 1, size - 1, count_key, &n, &token, &e);
		imgp_free(token);
		token = NULL;
		n = 0;
		(void)imgp_blob_parse_list(data + 1, size - 1, count_key, &n, &token, &e);
		imgp_free(token);
	}
	return 0;
}
