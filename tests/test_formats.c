/*
 * test_formats.c: the format matrix (tests/lib/matrix.h) on this host's
 * build: every input format imgpipe reads into every output it writes,
 * each output decoded back and checked. `make image-test` runs the same
 * matrix in the container image.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/matrix.h"
#include "lib/testutil.h"

Test(formats, every_input_into_every_output, .timeout = 240)
{
	const char *prefix[] = { tu_bin(), NULL };
	char *scratch = tu_tempdir(), *in = tu_data("matrix"), *out, *report = NULL;
	struct matrix_run m = { prefix, in, in, NULL, NULL };
	int failed;

	cr_assert(asprintf(&out, "%s/out", scratch) > 0);
	m.out_arg = m.out_host = out;
	failed = matrix_check(&m, &report);
	cr_log_info("%s", report ? report : "(no report)");
	cr_assert_eq(failed, 0, "%s", report ? report : "the matrix did not run");
	/* what every build of imgpipe must do, whatever else it lacks */
	cr_assert(strstr(report, "reads jpeg png webp gif tiff"), "%s", report);
	cr_assert(strstr(report, "writes jpeg webp png"), "%s", report);
	free(report);
	free(out);
	free(in);
	tu_rmtree(scratch);
	free(scratch);
}
