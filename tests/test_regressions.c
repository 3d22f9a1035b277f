/*
 * test_regressions.c: every failure the fuzzers, the allocation-failure
 * sweep (test_torture.c), the soak or the network faults found, fed back
 * through the same API that failed, so that it stays fixed. Each test
 * names how it was found.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "naming.h"
#include "lib/testutil.h"

/*
 * Found by the allocation-failure sweep: when the copy of an expanded
 * output key could not be allocated, imgp_naming_expand returned NULL
 * without a reason and the job took any NULL for a refused key, so a
 * moment without memory became RequestRefused: permanent, never retried,
 * with an empty message. test_torture.c checks the job's side: every
 * failure there must be temporary and say why.
 */
Test(regressions, naming_says_out_of_memory)
{
	struct imgp_variant v = { .name = "thumb", .width = 320, .height = 320 };
	struct imgp_name nm = { .prefix = "out/", .tmpl = IMGP_DEFAULT_OUTPUT_KEY, .key = "a/b.jpg",
	                        .variant = &v, .format = IMGP_FMT_JPEG };
	char err[IMGP_ERRSIZE] = "", *key;
	enum imgp_status got;

	imgp_alloc_fail_after(0);
	got = imgp_naming_make(&nm, &key, err);
	imgp_alloc_fail_after(-1);
	cr_assert_eq(got, IMGP_E_NOMEM);
	cr_assert_null(key);
	cr_assert_str_eq(err, "out of memory");
}
