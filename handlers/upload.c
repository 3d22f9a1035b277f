/*
 * upload.c: the upload handler. Event JSON in, reply JSON out; between them
 * the refs of the event go through the job on a few threads, each logged as
 * one JSON line. It owns the parallelism of one invocation and nothing
 * about pixels or HTTP.
 */
#include "upload.h"

#include "handlers.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "runtime.h"
#include "settings.h"

/* Lambda gives one vCPU per 1,769 MB of memory. */
#define LAMBDA_MB_PER_VCPU 1769

enum imgp_status imgp_upload_init(struct imgp_upload *u, FILE *log, char *err)
{
	enum imgp_status result;
	int cpus = imgp_cpu_count();

	memset(u, 0, sizeof(*u));
	u->log = log;
	/* imgpipe invoke and serve: a trace id the caller's environment gives
	 * (imgpipe lambda sets each invocation's) */
	imgp_store_set_trace(imgp_env("_X_AMZN_TRACE_ID"));
	result = imgp_job_config_from_env(&u->jc, NULL, err);
	if(result)
		return result;
	if(u->jc.memory_mb) {
		/* the CPU share is what the bill pays for, not what nproc says */
		int share = u->jc.memory_mb / LAMBDA_MB_PER_VCPU;
		cpus = share < 1 ? 1 : share < cpus ? share : cpus;
	}
	u->workers = cpus;
	/* one source on a 2-vCPU function still gets both; several share them */
	result = imgp_job_config_check_trigger(&u->jc, err);
	if(!result)
		result = imgp_render_init("imgpipe", cpus, err);
	if(!result)
		result = imgp_render_check(&u->jc.render, err);
	if(!result)
		result = imgp_store_open(u->jc.store ? u->jc.store : "s3", &u->store, err);
	/* credentials now: INIT pays for them, and their absence is an init error */
	if(!result && (result = imgp_store_warm(u->store, err))) {
		imgp_store_close(u->store);
		u->store = NULL;
	}
	if(result)
		imgp_job_config_release(&u->jc);
	return result;
}

void imgp_upload_release(struct imgp_upload *u)
{
	if(u->store)
		imgp_store_close(u->store);
	imgp_job_config_release(&u->jc);
	imgp_render_shutdown();
	memset(u, 0, sizeof(*u));
}

struct batch {
	struct imgp_upload *u;
	const struct imgp_event *ev;
	struct imgp_job_result *results;
	const char *request_id;
	int64_t deadline_ms;
};

/* One ref of the invocation, on a worker of the pool. */
static void batch_work(void *ctx, size_t i)
{
	struct batch *b = ctx;
	const struct imgp_ref *ref = &b->ev->refs[i];

	imgp_job_run(&b->u->jc, b->u->store, b->u->store, ref, b->deadline_ms, &b->results[i]);
	imgp_log_job(b->u->log, b->u->jc.metrics_namespace, b->request_id, b->ev->trigger, ref,
	             &b->results[i]);
}

/*
 * HTTP's answer says whether the event is done for good: "outcome" is
 * "failed" when a listed object failed (every such failure is permanent:
 * a temporary one fails the whole reply), else "done".
 */
static json_t *http_extra(const struct imgp_event *ev, const struct imgp_job_result *results,
                          const char *request_id)
{
	bool failed = false;
	char id[200];

	for(size_t i = 0; i < ev->nrefs && ev->trigger != IMGP_TRIGGER_SQS &&
	                  ev->trigger != IMGP_TRIGGER_BATCH; i++)
		failed |= results[i].status != IMGP_OK;
	/* the request id is the event's (a CloudEvent's ce-id): only printable
	 * ASCII goes into the answer */
	snprintf(id, sizeof(id), "%s", request_id);
	for(char *c = id; *c; c++)
		if(*c < 0x20 || *c > 0x7E)
			*c = '?';
	return json_pack("{s:s, s:s}", "outcome", failed ? "failed" : "done", "request_id", id);
}

enum imgp_status imgp_upload_handle_event(struct imgp_upload *u, const char *request_id,
                                          int64_t deadline_ms, const struct imgp_event *ev,
                                          bool http, char **reply, char *err)
{
	json_t *extra = NULL;
	struct imgp_job_result *results = NULL;
	struct imgp_ref_result *replies = NULL;
	enum imgp_status status = IMGP_OK;
	struct batch b;

	*reply = NULL;
	results = imgp_calloc(ev->nrefs ? ev->nrefs : 1, sizeof(*results));
	replies = imgp_calloc(ev->nrefs ? ev->nrefs : 1, sizeof(*replies));
	if(!results || !replies) {
		status = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	b = (struct batch){ u, ev, results, request_id, deadline_ms };
	imgp_pool_run(ev->nrefs, u->workers, batch_work, NULL, &b);
	for(size_t i = 0; i < ev->nrefs; i++)
		replies[i] = (struct imgp_ref_result){ results[i].status, results[i].message,
		                                       results[i].detail };
	if(http && !(extra = http_extra(ev, results, request_id)))
		status = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	else
		status = imgp_event_reply_extra(ev, replies, extra, reply, err);
	json_decref(extra);
out:
	for(size_t i = 0; results && i < ev->nrefs; i++)
		imgp_job_result_release(&results[i]);
	imgp_free(results);
	imgp_free(replies);
	return status;
}

enum imgp_status imgp_upload_handle(struct imgp_upload *u, const char *request_id,
                                    int64_t deadline_ms, const char *event, size_t len,
                                    char **reply, char *err)
{
	struct imgp_event ev;
	enum imgp_status status;

	*reply = NULL;
	status = imgp_event_parse(event, len, &ev, err);
	if(status) {
		imgp_log_line(u->log, IMGP_LOG_ERROR, request_id, "%s", err);
		return status;
	}
	status = imgp_upload_handle_event(u, request_id, deadline_ms, &ev, false, reply, err);
	imgp_event_release(&ev);
	return status;
}
