/*
 * log.c: structured log lines and CloudWatch Embedded Metric Format.
 *
 * Lambda sends a function's stdout to CloudWatch Logs, and CloudWatch reads
 * an EMF record in a log line as metrics: one line per source says what
 * happened and feeds the dashboards, at no extra API call. This file must
 * never print an event body, a credential or a signature: it only sees refs
 * and results.
 */
#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "imgpipe.h"
#include "settings.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Lambda's advanced logging controls, which it hands a custom runtime as
 * AWS_LAMBDA_LOG_FORMAT (Text or JSON) and AWS_LAMBDA_LOG_LEVEL (TRACE ...
 * FATAL): imgpipe's lines below the level are not written, and with JSON
 * every line is a JSON object, diagnostics included. Set once at start
 * (imgp_log_from_env), read without a lock after.
 */
static const char *const level_names[] = { "trace", "debug", "info", "warn", "error", "fatal" };
static enum imgp_log_level threshold = IMGP_LOG_INFO;
static bool json_format;

static int parse_level(const char *name)
{
	for(size_t i = 0; name && i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if(!strcasecmp(name, level_names[i]))
			return (int)i;
	/* what some runtimes accept for WARN */
	return name && !strcasecmp(name, "warning") ? IMGP_LOG_WARN : -1;
}

void imgp_log_from_env(void)
{
	const char *format = imgp_env("AWS_LAMBDA_LOG_FORMAT");
	int level = parse_level(imgp_env("AWS_LAMBDA_LOG_LEVEL"));

	json_format = format && !strcasecmp(format, "json");
	threshold = level < 0 ? IMGP_LOG_INFO : (enum imgp_log_level)level;
}

bool imgp_log_enabled(enum imgp_log_level level)
{
	return level >= threshold;
}

/* Now as RFC 3339 with milliseconds, UTC, the way Lambda's JSON lines carry it. */
static void rfc3339(char out[64])
{
	int64_t ms = imgp_epoch_ms();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Peak resident set size of this process so far, in MB. */
static double peak_rss_mb(void)
{
	struct rusage ru;

	if(getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_maxrss / 1024.0;   /* Linux: kilobytes */
}

/*
 * Google Cloud Logging (Cloud Run, GKE) reads a JSON line's "severity";
 * imgp_log_platform_gcp turns it on, with JSON diagnostics, for serve.
 */
static bool severity_field;

void imgp_log_platform_gcp(void)
{
	severity_field = true;
	json_format = true;
}

static const char *severity_of(const char *level)
{
	static const char *const names[] = { "DEBUG", "DEBUG", "INFO", "WARNING", "ERROR",
	                                     "CRITICAL" };
	int i = parse_level(level);

	return i < 0 ? "DEFAULT" : names[i];
}

static void emit(FILE *to, json_t *line)
{
	char *text;

	if(severity_field)
		json_object_set_new(line, "severity", json_string(severity_of(
			json_string_value(json_object_get(line, "level")))));
	/* 15 digits: a value rounded to 0.1 prints as 6.6, not 6.5999999999999996 */
	text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(15));

	if(!text)
		return;
	pthread_mutex_lock(&log_lock);
	fputs(text, to);
	fputc('\n', to);
	fflush(to);
	pthread_mutex_unlock(&log_lock);
	free(text);
}

/* {"level", "message", "request_id"?} and, with the JSON format,
 * "timestamp" and "logger", written to `to`. */
static void write_line(FILE *to, enum imgp_log_level level, const char *request_id,
                       const char *msg)
{
	json_t *line = json_pack("{s:s, s:s}", "level", level_names[level], "message", msg);

	if(!line)
		return;
	if(request_id)
		json_object_set_new(line, "request_id", json_string(request_id));
	if(json_format) {
		char when[64];

		rfc3339(when);
		json_object_set_new(line, "timestamp", json_string(when));
		json_object_set_new(line, "logger", json_string("imgpipe"));
	}
	emit(to, line);
	json_decref(line);
}

void imgp_log_line(FILE *to, enum imgp_log_level level, const char *request_id,
                   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if(!imgp_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	write_line(to, level, request_id, msg);
}

void imgp_log_diag(enum imgp_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if(!imgp_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if(json_format) {
		write_line(stderr, level, NULL, msg);
		return;
	}
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "imgpipe: %s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

/* The metrics every line carries, with their CloudWatch units; counts and
 * bytes are whole numbers, the rest rounded to a tenth (0.1 ms, 0.1 MB). */
static const struct { const char *name, *unit; bool whole; } metrics[] = {
	{ "GetMs", "Milliseconds", false }, { "DecodeMs", "Milliseconds", false },
	{ "ResizeMs", "Milliseconds", false }, { "EncodeMs", "Milliseconds", false },
	{ "PutMs", "Milliseconds", false }, { "TotalMs", "Milliseconds", false },
	{ "BytesIn", "Bytes", true }, { "BytesOut", "Bytes", true },
	{ "Variants", "Count", true }, { "PeakRssMB", "Megabytes", false },
	{ "Failed", "Count", true },
};

void imgp_log_job(FILE *to, const char *ns, const char *request_id, enum imgp_trigger trigger,
                  const struct imgp_ref *ref, const struct imgp_job_result *res)
{
	double values[] = {
		res->get_ms, res->decode_ms, res->resize_ms, res->encode_ms, res->put_ms,
		res->total_ms, (double)res->bytes_in, (double)res->bytes_out,
		(double)res->variants, peak_rss_mb(), res->status ? 1 : 0,
	};
	enum imgp_log_level level = res->status ? IMGP_LOG_ERROR : IMGP_LOG_INFO;
	json_t *line, *defs = json_array();
	bool below;

	for(size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		json_array_append_new(defs, json_pack("{s:s, s:s}", "Name", metrics[i].name,
		                                      "Unit", metrics[i].unit));
	/*
	 * Below the log level: no log line, but the metrics still go. Lambda
	 * drops a JSON line under its level (and counts one without a level as
	 * INFO), so the record carries the level itself; its "record":
	 * "metrics" tells it from a real one.
	 */
	below = !imgp_log_enabled(level);
	line = json_pack("{s:s}", "level", level_names[below ? threshold : level]);
	if(!line) {
		json_decref(defs);
		return;
	}
	if(below)
		json_object_set_new(line, "record", json_string("metrics"));
	else {
		json_object_set_new(line, "bucket", json_string(ref->bucket));
		json_object_set_new(line, "key", json_string(ref->key));
		json_object_set_new(line, "status", json_string(imgp_status_str(res->status)));
		json_object_set_new(line, "message", json_string(res->message));
	}
	/* the EMF record: what every line is, whatever else it says */
	json_object_set_new(line, "Trigger", json_string(imgp_trigger_name(trigger)));
	json_object_set_new(line, "_aws", json_pack("{s:I, s:[{s:s, s:[[s]], s:o}]}",
		"Timestamp", (json_int_t)imgp_epoch_ms(),
		"CloudWatchMetrics", "Namespace", ns && *ns ? ns : "imgpipe",
		"Dimensions", "Trigger", "Metrics", defs));
	if(!below) {
		json_object_set_new(line, "skipped", json_boolean(res->skipped));
		if(request_id)
			json_object_set_new(line, "request_id", json_string(request_id));
		if(ref->version_id)
			json_object_set_new(line, "version_id", json_string(ref->version_id));
		if(res->source.width) {
			json_object_set_new(line, "source_format", json_string(res->source.format));
			json_object_set_new(line, "source_width", json_integer(res->source.width));
			json_object_set_new(line, "source_height", json_integer(res->source.height));
		}
	}
	for(size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		json_object_set_new(line, metrics[i].name, metrics[i].whole ?
		                    json_integer((json_int_t)values[i]) :
		                    json_real((double)(long long)(values[i] * 10 + 0.5) / 10));
	emit(to, line);
	json_decref(line);
}
