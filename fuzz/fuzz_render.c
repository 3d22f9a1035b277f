/*
 * fuzz_render.c: image bytes -> probe -> decode -> two variants, as the
 * job renders them. A dimension gate, as libvips' own fuzzers have: the
 * limits refuse over 4 megapixels, 16 frames or 2 MB from the header,
 * before any pixel is decoded, so the fuzzer explores the loaders and our
 * planning rather than spending its time on big images. Only imgpipe's
 * code is instrumented (libvips is Debian's), so coverage guides through
 * our paths; ASan still sees every bad access into our buffers.
 */
#include "fuzz.h"

#include <vips/vips.h>

#include "config.h"
#include "render.h"

static struct imgp_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[IMGP_ERRSIZE];

	setenv("VIPS_WARNING", "0", 1);
	if(imgp_render_init((*argv)[0], 1, err)) {
		fprintf(stderr, "fuzz_render: %s\n", err);
		abort();
	}
	imgp_config_init(&cfg);
	/* cover-crop to JPEG, an unbounded side to WebP with animation kept */
	if(imgp_config_parse_spec(&cfg, "a=48x48,fit=cover;b=40x,format=webp,anim=keep",
	                          err)) {
		fprintf(stderr, "fuzz_render: %s\n", err);
		abort();
	}
	cfg.limits.max_pixels = 4000000;
	cfg.limits.max_frames = 16;
	cfg.limits.max_bytes = 2 * 1024 * 1024;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE];

	if(!imgp_render(&cfg, data, size, &res, err)) {
		if(res.noutputs != cfg.nvariants)
			abort();
		for(size_t i = 0; i < res.noutputs; i++)
			if(!res.outputs[i].data || !res.outputs[i].len)
				abort();
		imgp_render_result_release(&res);
	}
	vips_error_clear();
	return 0;
}
