/*
 * fuzz_event.c: event JSON -> refs (every trigger shape), then the reply
 * for that trigger, with per-ref outcomes taken from the input's own bytes
 * so that ok, permanent and temporary results all reach the reply code.
 */
#include "fuzz.h"

#include "event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

/* What a job's detail looks like, spliced into replies (kept for the run). */
static json_t *detail;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgp_event ev;
	struct imgp_ref_result *res;
	enum imgp_status status;
	char err[IMGP_ERRSIZE];
	char *reply;

	if(imgp_event_parse((const char *)data, size, &ev, err))
		return 0;
	if(!detail)
		detail = json_pack("{s:[s]}", "written", "a/b.jpg");
	res = calloc(ev.nrefs ? ev.nrefs : 1, sizeof(*res));
	if(!res)
		abort();
	for(size_t i = 0; i < ev.nrefs; i++) {
		res[i].status = (enum imgp_status)(size ? data[i % size] % IMGP_STATUS_COUNT : 0);
		res[i].message = i % 2 ? "a reason with \"quotes\" and \\ back" : NULL;
		res[i].detail = i % 3 == 1 ? detail : NULL;
	}
	status = imgp_event_reply(&ev, res, &reply, err);
	if(!status != !!reply)
		abort();    /* a reply exactly when the status is OK */
	imgp_free(reply);
	free(res);
	imgp_event_release(&ev);
	/* the key decoder is also fed raw bytes */
	if(size < 4096) {
		char *s = fuzz_cstr(data, size);
		imgp_free(imgp_event_decode_key(s));
		free(s);
	}
	return 0;
}
