/*
 * test_config.c: the variant spec grammar and the JSON config file, as
 * tables of input and expected outcome.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/testutil.h"

/* --- specs that must be refused, and what the error must say ---------- */

/* arrays, not pointers: Criterion copies parameters into a new process */
struct bad_spec {
	char spec[128];
	char message[128];      /* a substring of the error */
};

static struct bad_spec bad_specs[] = {
	{ "thumb=320x320,q=180", "variant \"thumb\": q=180 is out of range 1-100" },
	{ "thumb=320x320,q=0", "q=0 is out of range 1-100" },
	{ "thumb=320x320,q=abc", "q=abc is out of range 1-100" },
	{ "thumb=320x320,fit=squash", "variant \"thumb\": fit=squash is not one of inside, cover, contain, fill" },
	{ "thumb=320x320,format=bmp", "format=bmp is not one of jpeg, webp, png, avif, auto" },
	{ "thumb=320x320,colour=red", "variant \"thumb\": unknown option \"colour\"" },
	{ "thumb=320x320,enlarge=maybe", "enlarge=maybe is not one of yes, no" },
	{ "thumb=320x320,bg=#12345", "bg=#12345 is not one of" },
	{ "thumb=320x320,crop=attention", "variant \"thumb\": crop=attention needs fit=cover" },
	{ "thumb=320x320,format=webp,effort=7", "effort=7 is out of range 0-6 for webp" },
	/* every format of format=a+b is checked, not the first only */
	{ "thumb=320x320,format=avif+webp,effort=9", "effort=9 is out of range 0-6 for webp" },
	{ "thumb=320x320,effort=10", "effort=10 is out of range 0-9" },
	{ "thumb=320x320,format=webp,chroma=444", "chroma=444 needs format=jpeg or avif, not webp" },
	{ "thumb=320x320,format=avif+png,chroma=4:2:0", "chroma=420 needs format=jpeg or avif, not png" },
	{ "thumb=320x320,chroma=422", "chroma=422 is not one of auto, 420, 444" },
	{ "thumb=320x320,chroma=default", "chroma=default is not one of auto, 420, 444" },
	{ "thumb=320x320,format=jpeg,encoder=svt", "encoder=svt needs format=avif, not jpeg" },
	{ "thumb=320x320,format=avif,encoder=x265", "encoder=x265 is not one of auto, aom, svt, rav1e" },
	{ "thumb=320x320,format=avif,encoder=svt,chroma=444", "encoder=svt writes 4:2:0 only, not chroma=444" },
	{ "thumb=320x320,format=jpeg,anim=keep", "anim=keep needs format=webp or auto" },
	{ "thumb=320x320,format=png,lossless=yes", "lossless=yes needs format=webp or avif" },
	{ "thumb=320x320,q", "option \"q\" has no value" },
	{ "thumb", "variant \"thumb\" has no size" },
	{ "thumb=", "variant \"thumb\" has no size" },
	{ "thumb=x", "size \"x\" is not WxH" },
	{ "thumb=320", "size \"320\" is not WxH" },
	{ "thumb=320x320x2", "is not WxH" },
	{ "thumb=0x100", "size 0x100 is out of range" },
	{ "thumb=99999x100", "size 99999x100 is out of range" },
	{ "thumb=-5x100", "out of range" },
	{ "th/umb=320x320", "may only hold letters, digits" },
	{ "=320x320", "must be 1-63 characters" },
	{ "a=1x1;a=2x2", "variant \"a\" is defined twice" },
	{ "", "the variant spec is empty" },
	{ " ; ; ", "the variant spec is empty" },
	{ "t=10x10,compression=10", "compression=10 is out of range 0-9" },
	{ "t=10x10,anim=all", "anim=all is not one of first, keep" },
};

ParameterizedTestParameters(config, bad_spec)
{
	return cr_make_param_array(struct bad_spec, bad_specs,
	                           sizeof(bad_specs) / sizeof(bad_specs[0]));
}

ParameterizedTest(struct bad_spec *c, config, bad_spec)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, c->spec, err), IMGP_E_CONFIG,
	             "spec \"%s\" was accepted", c->spec);
	cr_assert(strstr(err, c->message), "spec \"%s\": error \"%s\" lacks \"%s\"",
	          c->spec, err, c->message);
	/* a refused spec leaves the previous variants in place */
	cr_assert_eq(cfg.nvariants, 3);
	cr_assert_str_eq(cfg.variants[0].name, "small");
}

/* --- specs that must be accepted, field by field ---------------------- */

Test(config, defaults_are_the_standard_web_set)
{
	struct imgp_config cfg;

	imgp_config_init(&cfg);
	cr_assert_eq(cfg.nvariants, 3);
	cr_assert_str_eq(cfg.variants[0].name, "small");
	cr_assert_eq(cfg.variants[0].width, 320);
	cr_assert_eq(cfg.variants[2].height, 1600);
	cr_assert_eq(cfg.variants[1].format, IMGP_FMT_AUTO);
	cr_assert_eq(imgp_variant_q(&cfg.variants[1], IMGP_FMT_JPEG), 80);
	cr_assert_eq(imgp_variant_q(&cfg.variants[1], IMGP_FMT_AVIF), IMGP_AVIF_DEFAULT_Q);
	cr_assert(cfg.variants[1].strip);
	cr_assert_eq(cfg.limits.max_pixels, 100000000ULL);
	cr_assert_eq(cfg.limits.fail_on, IMGP_FAIL_WARNING);
}

Test(config, design_example)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE];

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg,
		"thumb=320x320,fit=cover;medium=800x800,format=webp,q=75;large=1600x", err),
		IMGP_OK, "%s", err);
	cr_assert_eq(cfg.nvariants, 3);
	cr_assert_eq(cfg.variants[0].fit, IMGP_FIT_COVER);
	cr_assert_eq(cfg.variants[1].format, IMGP_FMT_WEBP);
	cr_assert_eq(cfg.variants[1].q, 75);
	cr_assert_eq(cfg.variants[2].width, 1600);
	cr_assert_eq(cfg.variants[2].height, 0);
}

Test(config, every_option)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE];
	const struct imgp_variant *v;

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg,
		" a = x600 , fit = contain , format = jpg , q = 55 , progressive = yes ,"
		" enlarge = true , bg = #102030 , strip = no ;"
		"b=10x20,fit=cover,crop=center,format=webp,effort=6,lossless=on,anim=keep;"
		"c=5x5,format=png,palette=1,compression=9,bg=fff;"
		"d=64x64,fit=cover,crop=entropy,format=avif,effort=9", err),
		IMGP_OK, "%s", err);
	v = &cfg.variants[0];
	cr_assert_str_eq(v->name, "a");
	cr_assert_eq(v->width, 0);
	cr_assert_eq(v->height, 600);
	cr_assert_eq(v->fit, IMGP_FIT_CONTAIN);
	cr_assert_eq(v->format, IMGP_FMT_JPEG);
	cr_assert_eq(v->q, 55);
	cr_assert(v->progressive && v->enlarge && !v->strip);
	cr_assert_eq(v->bg[0], 0x10);
	cr_assert_eq(v->bg[2], 0x30);
	v = &cfg.variants[1];
	cr_assert_eq(v->crop, IMGP_CROP_CENTRE);
	cr_assert_eq(v->effort, 6);
	cr_assert(v->lossless && v->anim_keep);
	v = &cfg.variants[2];
	cr_assert(v->palette);
	cr_assert_eq(v->compression, 9);
	cr_assert_eq(v->bg[1], 255);
	v = &cfg.variants[3];
	cr_assert_eq(v->crop, IMGP_CROP_ENTROPY);
	cr_assert_eq(v->format, IMGP_FMT_AVIF);
	cr_assert_eq(v->effort, 9);
}

Test(config, crop_is_checked_against_the_final_fit)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	/* crop set under cover, then fit changed to fill: the combination is wrong */
	cr_assert_eq(imgp_config_parse_spec(&cfg, "d=64x64,fit=cover,crop=entropy,fit=fill", err),
	             IMGP_E_CONFIG);
	cr_assert(strstr(err, "crop=entropy needs fit=cover"), "%s", err);
}

Test(config, too_many_variants)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "", spec[4096] = "";

	for(int i = 0; i <= IMGP_MAX_VARIANTS; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "v%d=10x10;", i);
	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_parse_spec(&cfg, spec, err), IMGP_E_CONFIG);
	cr_assert(strstr(err, "too many variants"), "%s", err);
}

/* --- the JSON config file --------------------------------------------- */

Test(config, json_list_of_objects)
{
	static const char json[] =
		"{\"variants\": [{\"name\": \"thumb\", \"width\": 320, \"height\": 320,"
		"  \"fit\": \"cover\", \"q\": 70, \"enlarge\": true},"
		" {\"name\": \"hero\", \"size\": \"1600x\", \"format\": \"webp\"}],"
		" \"limits\": {\"max_pixels\": 5000000, \"max_frames\": 7, \"fail_on\": \"error\"}}";
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE];

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_load_json(&cfg, json, strlen(json), "test.json", err),
	             IMGP_OK, "%s", err);
	cr_assert_eq(cfg.nvariants, 2);
	cr_assert_eq(cfg.variants[0].q, 70);
	cr_assert(cfg.variants[0].enlarge);
	cr_assert_eq(cfg.variants[1].width, 1600);
	cr_assert_eq(cfg.variants[1].format, IMGP_FMT_WEBP);
	cr_assert_eq(cfg.limits.max_pixels, 5000000);
	cr_assert_eq(cfg.limits.max_frames, 7);
	cr_assert_eq(cfg.limits.fail_on, IMGP_FAIL_ERROR);
}

Test(config, json_spec_string)
{
	static const char json[] = "{\"variants\": \"a=10x10;b=20x\"}";
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE];

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_load_json(&cfg, json, strlen(json), "x.json", err), IMGP_OK, "%s", err);
	cr_assert_eq(cfg.nvariants, 2);
	cr_assert_eq(cfg.variants[1].width, 20);
}

struct bad_json {
	char json[128];
	char message[128];
};

static struct bad_json bad_jsons[] = {
	{ "{\"variants\": [{\"name\": \"t\", \"width\": 10, \"q\": 500}]}", "variant \"t\": q=500 is out of range 1-100" },
	{ "{\"variants\": [{\"width\": 10}]}", "must be an object with a \"name\"" },
	{ "{\"variants\": [{\"name\": \"t\"}]}", "variant \"t\" needs a width, a height or both" },
	{ "{\"variants\": [{\"name\": \"t\", \"width\": [1]}]}", "width must be a string, number or boolean" },
	{ "{\"variants\": []}", "\"variants\" is empty" },
	{ "{\"variants\": 5}", "must be a spec string or a list" },
	{ "{\"varients\": \"a=1x1\"}", "unknown key \"varients\"" },
	{ "{\"limits\": {\"max_pixels\": -4}}", "max_pixels=-4 is not a positive whole number" },
	{ "{\"limits\": {\"max_pigs\": 4}}", "unknown limit \"max_pigs\"" },
	{ "{\"variants\": \"a=1x1\",", "cfg.json: line 1" },
	{ "[1, 2]", "must hold a JSON object" },
	{ "{\"variants\": \"a=1x1\", \"variants\": \"b=1x1\"}", "cfg.json" },
};

ParameterizedTestParameters(config, bad_json)
{
	return cr_make_param_array(struct bad_json, bad_jsons, sizeof(bad_jsons) / sizeof(bad_jsons[0]));
}

ParameterizedTest(struct bad_json *c, config, bad_json)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_load_json(&cfg, c->json, strlen(c->json), "cfg.json", err),
	             IMGP_E_CONFIG, "accepted: %s", c->json);
	cr_assert(strstr(err, c->message), "error \"%s\" lacks \"%s\"", err, c->message);
}

Test(config, file_errors_name_the_file)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	cr_assert_eq(imgp_config_load_file(&cfg, "/nonexistent/imgpipe.json", err), IMGP_E_CONFIG);
	cr_assert(strstr(err, "/nonexistent/imgpipe.json: No such file"), "%s", err);
}

Test(config, environment)
{
	struct imgp_config cfg;
	char err[IMGP_ERRSIZE] = "";

	imgp_config_init(&cfg);
	setenv("IMGPIPE_VARIANTS", "only=100x100,format=png", 1);
	setenv("IMGPIPE_MAX_PIXELS", "1234", 1);
	setenv("IMGPIPE_FAIL_ON", "truncated", 1);
	cr_assert_eq(imgp_config_from_env(&cfg, NULL, err), IMGP_OK, "%s", err);
	cr_assert_eq(cfg.nvariants, 1);
	cr_assert_eq(cfg.variants[0].format, IMGP_FMT_PNG);
	cr_assert_eq(cfg.limits.max_pixels, 1234);
	cr_assert_eq(cfg.limits.fail_on, IMGP_FAIL_TRUNCATED);
	setenv("IMGPIPE_MAX_FRAMES", "lots", 1);
	cr_assert_eq(imgp_config_from_env(&cfg, NULL, err), IMGP_E_CONFIG);
	cr_assert(strstr(err, "IMGPIPE_MAX_FRAMES: max_frames=lots"), "%s", err);
}

Test(config, status_names_are_stable_and_classified)
{
	cr_assert_str_eq(imgp_status_str(IMGP_OK), "OK");
	cr_assert_str_eq(imgp_status_str(IMGP_E_CORRUPT), "CorruptImage");
	cr_assert_str_eq(imgp_status_str(IMGP_E_THROTTLED), "Throttled");
	cr_assert_not(imgp_status_temporary(IMGP_E_NOT_IMAGE));
	cr_assert_not(imgp_status_temporary(IMGP_E_TOO_LARGE));
	cr_assert(imgp_status_temporary(IMGP_E_NETWORK));
	cr_assert(imgp_status_temporary(IMGP_E_DEADLINE));
	for(int s = 0; s < IMGP_STATUS_COUNT; s++)
		cr_assert_neq(strcmp(imgp_status_str((enum imgp_status)s), "Unknown"), 0,
		              "status %d has no name", s);
}
