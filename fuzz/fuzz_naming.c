/*
 * fuzz_naming.c: output key templates. The input is
 * "TEMPLATE\nSOURCE-KEY\nPREFIX"; the template and the prefix are checked
 * as the job config checks them, then expanded for two variants (one
 * unbounded side), with and without the source's extension kept.
 */
#include "fuzz.h"

#include "naming.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imgp_config cfg = {
		.variants = {
			{ .name = "thumb", .width = 320, .height = 320 },
			{ .name = "w", .width = 800, .height = 0, .format = IMGP_FMT_WEBP },
		},
		.nvariants = 2,
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
	(void)imgp_naming_check(s, &cfg, err);
	(void)imgp_naming_check_prefix(prefix, "prefix", err);
	(void)imgp_naming_needs_size(s);
	for(int i = 0; i < 4; i++) {
		struct imgp_name nm = {
			.prefix = prefix, .tmpl = s, .key = key, .variant = &cfg.variants[i & 1],
			.format = i & 1 ? IMGP_FMT_WEBP : IMGP_FMT_JPEG, .width = 320 + i,
			.height = i * 100, .keep_ext = i >= 2,
		};
		char *out = NULL;

		(void)imgp_naming_make(&nm, &out, err);
		imgp_free(out);
	}
	free(s);
	return 0;
}
