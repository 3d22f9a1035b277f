/*
 * upload.h: the upload handler, shared by `imgpipe lambda` and
 * `imgpipe invoke`: one event in, one reply out, every ref through the job.
 */
#ifndef IMGP_UPLOAD_H
#define IMGP_UPLOAD_H

#include <stdio.h>

#include "job.h"

struct imgp_upload {
	struct imgp_job_config jc;
	struct imgp_store *store;
	int workers;                /* sources of one invocation at once */
	FILE *log;                  /* where the JSON lines go */
};

/*
 * Everything expensive, once: config from the environment (refused when
 * it would write where the trigger listens), libvips, the store and its
 * credentials. workers from the CPU share the function has
 * (AWS_LAMBDA_FUNCTION_MEMORY_SIZE / 1,769 MB, at least one), else the CPUs.
 */
enum imgp_status imgp_upload_init(struct imgp_upload *u, FILE *log, char *err);
void imgp_upload_release(struct imgp_upload *u);

/*
 * Handle one event: IMGP_OK with the reply in *reply (imgp_free it), or
 * the status (temporary or not: imgp_status_temporary) and reason (err)
 * for which the invocation must fail as a whole, *reply NULL.
 * deadline_ms: epoch ms, 0 for none.
 */
enum imgp_status imgp_upload_handle(struct imgp_upload *u, const char *request_id,
                                    int64_t deadline_ms, const char *event, size_t len,
                                    char **reply /* OUT */, char *err);

/* The same for an event already parsed (imgpipe serve reads CloudEvents'
 * headers too); http adds serve's "outcome" and "request_id". */
enum imgp_status imgp_upload_handle_event(struct imgp_upload *u, const char *request_id,
                                          int64_t deadline_ms, const struct imgp_event *ev,
                                          bool http, char **reply /* OUT */, char *err);

#endif
