/*
 * test_torture.c: curl's "torture" test for a whole job. For N = 0, 1,
 * 2, ... the Nth allocation imgpipe makes itself fails (imgp_alloc_fail_after)
 * along one complete run in this process: the job config from the
 * environment, an S3 notification parsed into a ref, the job on the
 * local-folder store (get, probe, decode, two variants, two puts with
 * metadata), the reply. The sweep ends at the first N the run never
 * reaches. Every run must end in a clean outcome: IMGP_OK, or a failure
 * whose status and message say so; never a crash; never "done" with a
 * variant missing. Under LeakSanitizer (make SANITIZE=address,undefined,
 * ASAN_OPTIONS=detect_leaks=1, LSAN_OPTIONS=suppressions=tests/lsan.supp)
 * the sweep also asks for a leak check of the whole process at the end.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "job.h"
#include "lib/events.h"
#include "lib/testutil.h"

/* LeakSanitizer's interface, present only in a sanitizer build. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* an S3 notification with the source's ETag, so that the idempotency check
 * (a HEAD of the last variant) is on the path too */
#define KEY_IN_EVENT "photos/my+cat+%28%C3%BC%29.jpg"
#define KEY "photos/my cat (\xC3\xBC).jpg"
#define MAX_N 100000

static char *root;
static struct imgp_store *store;
static char *event;

static void setup(void)
{
	char err[IMGP_ERRSIZE], *spec, *path;
	struct imgp_store_error e;
	struct imgp_object head;
	const char *etag;
	char bare[128];
	void *data;
	size_t len;

	cr_assert_eq(imgp_render_init("imgpipe-tests", 1, err), IMGP_OK, "%s", err);
	root = tu_tempdir();
	if(asprintf(&spec, "dir:%s", root) < 0)
		abort();
	cr_assert_eq(imgp_store_open(spec, &store, err), IMGP_OK, "%s", err);
	free(spec);
	path = tu_data("orient/orient-6.jpg");
	data = tu_read(path, &len);
	cr_assert(data, "%s", path);
	cr_assert_eq(imgp_store_put(store, "uploads", KEY, data, len, NULL, &e), IMGP_OK, "%s", e.msg);
	imgp_object_init(&head);
	cr_assert_eq(imgp_store_head(store, "uploads", KEY, &head, &e), IMGP_OK, "%s", e.msg);
	etag = head.etag ? head.etag + (head.etag[0] == '"') : "";
	/* as S3 events carry it: without the quotes */
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(etag, "\""), etag);
	cr_assert(bare[0], "the store gave no ETag");
	event = tu_s3_event(&(struct tu_object){ "uploads", KEY_IN_EVENT, bare, (long long)len }, 1);
	cr_assert_not_null(event);
	imgp_object_release(&head);
	free(data);
	free(path);
	unsetenv("IMGPIPE_CONFIG");
	unsetenv("IMGPIPE_SOURCE_BUCKET");
	unsetenv("IMGPIPE_SOURCE_PREFIX");
	setenv("IMGPIPE_VARIANTS", "thumb=32x32,fit=cover;wide=48x,format=png", 1);
	setenv("IMGPIPE_DEST_BUCKET", "sink", 1);
	setenv("IMGPIPE_OUTPUT_KEY", "{variant}/{dir}{stem}-{w}x{h}.{ext}", 1);
}

static void teardown(void)
{
	imgp_alloc_fail_after(-1);
	imgp_store_close(store);
	tu_rmtree(root);
	free(root);
	free(event);
	unsetenv("IMGPIPE_VARIANTS");
	unsetenv("IMGPIPE_DEST_BUCKET");
	unsetenv("IMGPIPE_OUTPUT_KEY");
}

TestSuite(torture, .init = setup, .fini = teardown, .timeout = 600);

/* How many variants of KEY are in the sink now. */
static int variants_written(void)
{
	char *sink;
	int n;

	if(asprintf(&sink, "%s/sink", root) < 0)
		abort();
	n = tu_count_files(sink, "my cat");
	free(sink);
	return n;
}

static void empty_sink(void)
{
	char *sink;

	if(asprintf(&sink, "%s/sink", root) < 0)
		abort();
	tu_rmtree(sink);
	free(sink);
}

/*
 * One whole run with the (n+1)th allocation failing; returns true when it
 * got to the end without reaching that allocation.
 */
static bool run_once(long n, int *failures)
{
	struct imgp_job_config jc;
	struct imgp_event ev;
	struct imgp_job_result res;
	struct imgp_ref_result reply_in;
	enum imgp_status status, fail_status = IMGP_OK;
	char err[IMGP_ERRSIZE] = "";
	char *reply = NULL;
	bool reached;

	empty_sink();
	memset(&res, 0, sizeof(res));
	imgp_alloc_fail_after(n);
	status = imgp_job_config_from_env(&jc, NULL, err);
	if(status) {
		reached = imgp_alloc_count() > (unsigned long)n;
		imgp_alloc_fail_after(-1);
		cr_assert_eq(status, IMGP_E_NOMEM, "n=%ld: config: %s %s", n,
		             imgp_status_str(status), err);
		cr_assert(reached, "n=%ld: config failed without an allocation failing", n);
		++*failures;
		return false;
	}
	status = imgp_event_parse(event, strlen(event), &ev, err);
	if(status) {
		imgp_alloc_fail_after(-1);
		cr_assert_eq(status, IMGP_E_NOMEM, "n=%ld: event: %s %s", n,
		             imgp_status_str(status), err);
		imgp_job_config_release(&jc);
		++*failures;
		return false;
	}
	cr_assert_eq(ev.nrefs, 1);
	imgp_job_run(&jc, store, store, &ev.refs[0], 0, &res);
	reply_in = (struct imgp_ref_result){ res.status, res.message, res.detail };
	fail_status = imgp_event_reply(&ev, &reply_in, &reply, err);
	reached = imgp_alloc_count() > (unsigned long)n;
	imgp_alloc_fail_after(-1);

	/* a clean outcome, always with a reason when it is not OK */
	cr_assert_lt((int)res.status, IMGP_STATUS_COUNT, "n=%ld: status %d", n, res.status);
	if(res.status) {
		cr_assert(res.message[0], "n=%ld: %s without a message", n,
		          imgp_status_str(res.status));
		/* running out of memory is temporary: the trigger must retry it */
		cr_assert(imgp_status_temporary(res.status), "n=%ld: %s (%s) would never be retried",
		          n, imgp_status_str(res.status), res.message);
		cr_assert(reached, "n=%ld: failed (%s) with no allocation failing", n, res.message);
		++*failures;
	}
	else if(!res.skipped)
		cr_assert_eq(variants_written(), 3, "n=%ld: done with %d of 2 variants and the "
		             "manifest", n, variants_written());
	/* the reply: an S3 notification fails as a whole on a temporary failure */
	if(reply) {
		cr_assert_eq(res.status, IMGP_OK, "n=%ld: a reply for a failed ref: %s", n, reply);
		cr_assert(strstr(reply, "\"results\""), "n=%ld: %s", n, reply);
	}
	else {
		cr_assert(imgp_status_temporary(fail_status), "n=%ld: reply failed with %s", n,
		          imgp_status_str(fail_status));
		cr_assert(err[0], "n=%ld: reply failed without a reason", n);
		if(!res.status)
			++*failures;
	}
	imgp_free(reply);
	imgp_job_result_release(&res);
	imgp_event_release(&ev);
	imgp_job_config_release(&jc);
	return !reached;
}

Test(torture, every_allocation_of_a_whole_job_can_fail)
{
	int failures = 0;
	long n;

	for(n = 0; n < MAX_N; n++)
		if(run_once(n, &failures))
			break;
	cr_assert_lt(n, MAX_N, "the run never completed");
	cr_assert_gt(n, 20, "only %ld allocations in a whole job: is the hook bypassed?", n);
	/* the run that completed wrote both variants and the manifest */
	cr_assert_eq(variants_written(), 3);
	cr_log_info("torture: %ld allocation failures swept (N = 0..%ld), %d clean failures",
	            n, n - 1, failures);
	fprintf(stderr, "torture: %ld allocation failure points swept along one whole job\n", n);
	if(__lsan_do_recoverable_leak_check)
		cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
		             "LeakSanitizer found leaks (see above)");
}
