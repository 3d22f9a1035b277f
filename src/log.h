/*
 * log.h: one JSON line per source, which is also a CloudWatch Embedded
 * Metric Format record, so logs and metrics are the same bytes. Never an
 * event body, a credential or a signature.
 */
#ifndef IMGP_LOG_H
#define IMGP_LOG_H

#include <stdio.h>

#include "event.h"
#include "job.h"


/* Write the line for one ref to `to`, flushed. Thread-safe. ns: the EMF
 * namespace (jc->metrics_namespace). */
void imgp_log_job(FILE *to, const char *ns, const char *request_id, enum imgp_trigger trigger,
                  const struct imgp_ref *ref, const struct imgp_job_result *res);

/* A plain JSON log line: {"level", "msg"} plus request id when given. */
void imgp_log_line(FILE *to, const char *level, const char *request_id,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
