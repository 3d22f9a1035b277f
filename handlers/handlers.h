/*
 * handlers.h: the entry points main.c dispatches to. Each takes argv as its
 * own (argv[0] is the subcommand) and returns the process exit status.
 */
#ifndef IMGP_HANDLERS_H
#define IMGP_HANDLERS_H

#include "imgpipe.h"

/* Exit statuses shared by every command. */
#define IMGP_EXIT_OK 0
#define IMGP_EXIT_FAILED 1   /* some input failed; the others were processed */
#define IMGP_EXIT_USAGE 2    /* usage or configuration error: nothing was done */

int imgp_cmd_resize(int argc, char **argv);
int imgp_cmd_invoke(int argc, char **argv);

/*
 * `imgpipe lambda`, also run as `bootstrap` or with no subcommand while
 * AWS_LAMBDA_RUNTIME_API is set (main.c).
 */
int imgp_cmd_lambda(int argc, char **argv);

/*
 * The job behind `imgpipe lambda`. handlers/lambda.c defines weak
 * placeholders that fail every invocation ("no handler linked"); a file
 * that defines these three functions replaces them at link time, without
 * a change to lambda.c.
 *  - imgp_lambda_job_init: once per sandbox, after cfg is loaded from the
 *    environment and before the first /next; make the expensive clients
 *    here. A failure goes to /init/error with imgp_status_str(result) as
 *    its type, and the process exits.
 *  - imgp_lambda_job_handle: the imgp_runtime_handler (src/runtime.h) of
 *    every invocation; ctx is what init set.
 *  - imgp_lambda_job_release: undo init.
 */
struct imgp_config;
struct imgp_invocation;
enum imgp_status imgp_lambda_job_init(const struct imgp_config *cfg,
                                      void **ctx /* OUT */, char *err);
char *imgp_lambda_job_handle(void *ctx, const struct imgp_invocation *inv,
                             const char *event, size_t len,
                             char *error_type, char *error_message);
void imgp_lambda_job_release(void *ctx);

#endif
