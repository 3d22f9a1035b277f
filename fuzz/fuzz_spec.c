/*
 * fuzz_spec.c: the variant spec grammar (IMGPIPE_VARIANTS, --variants),
 * and the limit setters (IMGPIPE_MAX_*) when the input starts with '#':
 * "#name=value".
 */
#include "fuzz.h"

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE];
	char *s = fuzz_cstr(data, size);

	imgp_config_init(&cfg);
	if(s[0] == '#') {
		char *eq = strchr(s + 1, '=');

		if(eq) {
			*eq = '\0';
			(void)imgp_config_set_limit(&cfg, s + 1, eq + 1, "fuzz", err);
		}
	}
	else if(!imgp_config_parse_spec(&cfg, s, err)) {
		/* a spec that parsed is well formed: every name is set */
		for(size_t i = 0; i < cfg.nvariants; i++)
			if(!cfg.variants[i].name[0] || cfg.nvariants > IMGP_MAX_VARIANTS)
				abort();
	}
	free(s);
	return 0;
}
