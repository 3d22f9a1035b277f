/*
 * fuzz_runtime_headers.c: the header block of a Runtime API /next answer,
 * line by line through the runtime's own header callback (parsers.h). A
 * request id that is accepted must be safe to put into a URL path.
 */
#include "fuzz.h"

#include "parsers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgp_invocation inv;
	bool opaque;

	if(!imgp_runtime_parse_head((const char *)data, size, &inv, &opaque)) {
		size_t n = strlen(inv.request_id);

		if(!n || strspn(inv.request_id, "abcdefghijklmnopqrstuvwxyz"
		                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != n)
			abort();
	}
	if(strlen(inv.trace_id) >= sizeof(inv.trace_id) ||
	   strlen(inv.function_arn) >= sizeof(inv.function_arn) || inv.deadline_ms < 0)
		abort();
	return 0;
}
