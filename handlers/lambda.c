/*
 * lambda.c: `imgpipe lambda`, which is also what AWS Lambda runs as
 * `bootstrap` (see main.c).
 *
 * It owns the life of the process in the sandbox: load the config, set the
 * job up once, then give the Runtime API loop the job's handler until the
 * sandbox goes away. Whatever fails before the first /next is reported to
 * /init/error, so that Lambda says why the function cannot start instead
 * of timing out. It never reads an event: that is the upload handler's
 * business (handlers/upload.c).
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "log.h"
#include "upload.h"
#include "settings.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: imgpipe lambda\n"
		"\n"
		"Serve AWS Lambda invocations: imgpipe is its own custom runtime and talks\n"
		"to the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API. Lambda starts it as\n"
		"'bootstrap'; run by hand it needs a Runtime API emulator. With $PORT set\n"
		"and no AWS_LAMBDA_RUNTIME_API (Cloud Run, Knative) it runs 'imgpipe serve'.\n"
		"\n"
		"environment:\n"
		"  AWS_LAMBDA_RUNTIME_API    host:port of the Runtime API (set by Lambda)\n"
		"  IMGPIPE_DEST_BUCKET       where the variants go (required; README, The upload handler)\n"
		"  IMGPIPE_DEST_PREFIX, IMGPIPE_OUTPUT_KEY, IMGPIPE_MANIFEST_KEY, IMGPIPE_SOURCE_BUCKET,\n"
		"  IMGPIPE_SOURCE_PREFIX, IMGPIPE_ON_DELETE, IMGPIPE_CACHE_CONTROL   see README\n"
		"  IMGPIPE_VARIANTS, IMGPIPE_CONFIG, IMGPIPE_MAX_*   as for 'imgpipe resize'\n"
		"  IMGPIPE_MAX_INVOCATIONS   exit after this many invocations (0: never)\n"
		"  AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL   Lambda's log controls (set by Lambda)\n");
}

/* The runtime's handler: every invocation through the upload handler. */
static enum imgp_status handle(void *ctx, const struct imgp_invocation *inv,
                               const char *event, size_t len, char **reply, char *err)
{
	/* this invocation's trace id on every S3 request (the runtime also
	 * exports it as _X_AMZN_TRACE_ID, the custom runtime's contract) */
	imgp_store_set_trace(inv->trace_id);
	return imgp_upload_handle(ctx, inv->request_id, inv->deadline_ms, event, len,
	                          reply, err);
}

int imgp_cmd_lambda(int argc, char **argv)
{
	struct imgp_runtime *rt = NULL;
	struct imgp_upload up;
	char err[IMGP_ERRSIZE], post_err[IMGP_ERRSIZE];
	enum imgp_status result;
	const char *api;

	if(argc > 1) {
		if(!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			usage(stdout);
			return IMGP_EXIT_OK;
		}
		usage(stderr);
		return IMGP_EXIT_USAGE;
	}
	imgp_log_from_env();
	api = imgp_env("AWS_LAMBDA_RUNTIME_API");
	if(!api || !*api) {
		imgp_log_diag(IMGP_LOG_FATAL, "lambda: AWS_LAMBDA_RUNTIME_API is not set; this "
		              "command runs inside AWS Lambda or against a Runtime API emulator");
		return IMGP_EXIT_USAGE;
	}
	if(imgp_runtime_open(api, &rt, err)) {
		imgp_log_diag(IMGP_LOG_FATAL, "lambda: AWS_LAMBDA_RUNTIME_API: %s", err);
		return IMGP_EXIT_USAGE;
	}
	/* CloudWatch gets a line as soon as it is written */
	setvbuf(stdout, NULL, _IOLBF, 0);

	result = imgp_upload_init(&up, stdout, err);
	if(result) {
		imgp_log_diag(IMGP_LOG_FATAL, "lambda: init: %s", err);
		if(imgp_runtime_init_error(rt, result, err, post_err))
			imgp_log_diag(IMGP_LOG_FATAL, "lambda: cannot report the init error: %s", post_err);
		imgp_runtime_close(rt);
		return IMGP_EXIT_USAGE;
	}
	result = imgp_runtime_loop(rt, handle, &up, up.jc.max_invocations, err);
	imgp_upload_release(&up);
	imgp_runtime_close(rt);
	if(result) {
		imgp_log_diag(IMGP_LOG_FATAL, "lambda: %s", err);
		return IMGP_EXIT_FAILED;
	}
	return IMGP_EXIT_OK;
}
