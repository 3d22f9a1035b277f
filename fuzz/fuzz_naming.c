/*
 * fuzz_naming.c: output key templates. The input is
 * "TEMPLATE\nSOURCE-KEY\nPREFIX"; the template is checked as the job
 * config checks it, then expanded for two variants (one unbounded side).
 */
#include "fuzz.h"

#include "naming.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imgp_variant variants[2] = {
		{ .name = "thumb", .width = 320, .height = 320 },
		{ .name = "w", .width = 800, .height = 0 },
	};
	char err[IMGP_ERRSIZE];
	char *s = fuzz_cstr(data, size), *key = "", *prefix = "", *nl;

	if((nl = strchr(s, '\n'))) {
		*nl = '\0';
		key = nl + 1;
		if((nl = strchr(key, '\n'))) {
			*nl = '\0';
			prefix = nl + 1;
		}
	}
	(void)imgp_naming_check(s, 2, err);
	for(int i = 0; i < 2; i++) {
		char *out = imgp_naming_expand(prefix, s, key, &variants[i],
		                               i ? IMGP_FMT_WEBP : IMGP_FMT_JPEG, err);
		imgp_free(out);
	}
	free(s);
	return 0;
}
