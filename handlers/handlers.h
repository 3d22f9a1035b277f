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
 * An option getopt did not know, said with the nearest real one:
 * "imgpipe resize: unknown option --varients (did you mean --variants?)".
 * longopts ends with a zeroed entry.
 */
struct option;
void imgp_unknown_option(const char *command, const char *arg,
                         const struct option *longopts);

/*
 * `imgpipe lambda`, also run as `bootstrap` or with no subcommand while
 * AWS_LAMBDA_RUNTIME_API is set (main.c).
 */
int imgp_cmd_lambda(int argc, char **argv);

/*
 * `imgpipe serve`: the upload handler behind HTTP (Cloud Run, Knative,
 * webhooks). Also what `imgpipe lambda` and no subcommand run when $PORT
 * is set and AWS_LAMBDA_RUNTIME_API is not (main.c).
 */
int imgp_cmd_serve(int argc, char **argv);

#endif
