/*
 * fuzz_config.c: the JSON config file (IMGPIPE_CONFIG, --config), read
 * from memory exactly as imgp_config_load_file reads it after the read.
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

	imgp_config_init(&cfg);
	if(!imgp_config_load_json(&cfg, (const char *)data, size, "fuzz.json", err))
		if(cfg.nvariants == 0 || cfg.nvariants > IMGP_MAX_VARIANTS)
			abort();
	return 0;
}
