/*
 * log.h: one JSON line per source, which is also a CloudWatch Embedded
 * Metric Format record, so logs and metrics are the same bytes. Never an
 * event body, a credential or a signature.
 */
#ifndef IMGP_LOG_H
#define IMGP_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "event.h"
#include "job.h"


/* Write the line for one ref to `to`, flushed. Thread-safe. ns: the EMF
 * namespace (jc->metrics_namespace). */
void imgp_log_job(FILE *to, const char *ns, const char *request_id, enum imgp_trigger trigger,
                  const struct imgp_ref *ref, const struct imgp_job_result *res);

enum imgp_log_level {
	IMGP_LOG_TRACE, IMGP_LOG_DEBUG, IMGP_LOG_INFO, IMGP_LOG_WARN, IMGP_LOG_ERROR, IMGP_LOG_FATAL
};

/*
 * Lambda's advanced logging controls: AWS_LAMBDA_LOG_LEVEL drops imgpipe's
 * lines below it (a good upload's line becomes a metrics-only EMF record);
 * AWS_LAMBDA_LOG_FORMAT=JSON makes every line JSON, stderr's too. Called
 * once at start, before any thread logs; without it: Text, INFO.
 */
void imgp_log_from_env(void);
bool imgp_log_enabled(enum imgp_log_level level);

/*
 * Google Cloud Logging's form (imgpipe serve on Cloud Run and GKE): every
 * JSON line also carries "severity" (DEBUG, INFO, WARNING, ERROR,
 * CRITICAL), which Cloud Logging reads, and diagnostics are JSON lines
 * too. Called once at start, after imgp_log_from_env.
 */
void imgp_log_platform_gcp(void);

/* A plain JSON log line: {"level", "message"} plus request id when given. */
void imgp_log_line(FILE *to, enum imgp_log_level level, const char *request_id,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A diagnostic on stderr: "imgpipe: MESSAGE", or with the JSON format
 * {"timestamp", "level", "logger": "imgpipe", "message"}. */
void imgp_log_diag(enum imgp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
