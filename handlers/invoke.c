/*
 * invoke.c: `imgpipe invoke [EVENT.json | -]`: the upload handler run once
 * on one event from a file or stdin, exactly as Lambda would run it, with
 * the reply on stdout and the JSON log lines on stderr.
 */
#include "handlers.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runtime.h"
#include "upload.h"

/* Events are at most 6 MB on Lambda; so here. */
#define MAX_EVENT (6u << 20)

static const char usage_text[] =
	"usage: imgpipe invoke [--force] [EVENT.json | -]\n"
	"\n"
	"Run the upload handler once on one event (a file, or - / nothing for\n"
	"stdin): the same code Lambda runs, configured by the same environment\n"
	"(IMGPIPE_STORE, IMGPIPE_DEST_BUCKET, IMGPIPE_VARIANTS, ...). The reply\n"
	"goes to stdout, one JSON log line per object to stderr.\n"
	"\n"
	"Events: S3 notifications, SQS, SNS, EventBridge, S3 Batch Operations,\n"
	"or {\"bucket\": \"...\", \"key\": \"...\"}.\n"
	"\n"
	"  -f, --force   render and write every variant, even those the stamps\n"
	"                of the source and the variant spec call current\n"
	"  -h, --help    this text\n"
	"\n"
	"  IMGPIPE_STORE=dir:PATH imgpipe invoke testdata/events/s3-put.json\n"
	"\n"
	"exit status: 0 the invocation succeeded (its reply may still report\n"
	"permanent failures), 1 it failed as a whole, 2 usage or configuration error.\n";

static char *read_all(FILE *f, size_t *len, char *err)
{
	char *buf = imgp_malloc(MAX_EVENT + 1);
	size_t n;

	if(!buf) {
		imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, MAX_EVENT + 1, f);
	if(ferror(f) || n > MAX_EVENT) {
		imgp_fail(err, IMGP_E_USAGE, ferror(f) ? "read error" : "the event is over 6 MB");
		imgp_free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int imgp_cmd_invoke(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "-";
	char err[IMGP_ERRSIZE];
	enum imgp_status result;
	struct imgp_upload up;
	char *event, *reply;
	size_t len = 0;
	bool force = false;
	FILE *f;
	int opt, status = IMGP_EXIT_OK;

	opterr = 0;
	while((opt = getopt_long(argc, argv, "+fh", longopts, NULL)) != -1) {
		switch(opt) {
		case 'f': force = true; break;
		case 'h': fputs(usage_text, stdout); return IMGP_EXIT_OK;
		default:
			imgp_unknown_option("invoke", argv[optind - 1], longopts);
			return IMGP_EXIT_USAGE;
		}
	}
	if(argc - optind > 1) {
		fprintf(stderr, "imgpipe invoke: one event at a time: %s and %s\n"
		        "see 'imgpipe invoke --help'\n", argv[optind], argv[optind + 1]);
		return IMGP_EXIT_USAGE;
	}
	if(optind < argc)
		path = argv[optind];
	/* the log controls Lambda would hand the function, as `lambda` reads them */
	imgp_log_from_env();
	f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if(!f) {
		imgp_log_diag(IMGP_LOG_ERROR, "%s: %s", path, strerror(errno));
		return IMGP_EXIT_USAGE;
	}
	event = read_all(f, &len, err);
	if(f != stdin)
		fclose(f);
	if(!event) {
		imgp_log_diag(IMGP_LOG_ERROR, "%s: %s", path, err);
		return IMGP_EXIT_USAGE;
	}
	if(imgp_upload_init(&up, stderr, err)) {
		imgp_log_diag(IMGP_LOG_FATAL, "%s", err);
		imgp_free(event);
		return IMGP_EXIT_USAGE;
	}
	up.jc.force = force;
	result = imgp_upload_handle(&up, "invoke", 0, event, len, &reply, err);
	if(result) {
		/* what Lambda would record: the runtime's /error body */
		size_t doclen;

		reply = imgp_runtime_error_document(result, err, &doclen);
		status = IMGP_EXIT_FAILED;
	}
	printf("%s\n", reply ? reply : "{}");
	imgp_free(reply);
	imgp_free(event);
	imgp_upload_release(&up);
	return status;
}
