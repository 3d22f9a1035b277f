/*
 * test_runtime.c: the Lambda Runtime API client against rtemu, an emulator
 * of AWS's documented API. In process, imgp_runtime_loop runs test
 * handlers (trace id, deadline, error documents, payload limits, faults);
 * end to end, the real binary runs as `imgpipe lambda`, as `bootstrap` and
 * with no subcommand, and reports init errors. Every process a test
 * starts, teardown kills and reaps.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/fixture.h"
#include "lib/rtemu.h"
#include "lib/testutil.h"
#include "runtime.h"

FX_SUITE(runtime, NULL, true, .timeout = 60);

/* ---- the binary ---- */

/*
 * Start the binary as argv0 (its argv[0]) with one optional argument, in
 * the fixture's environment (fixture.h; AWS_LAMBDA_RUNTIME_API is the
 * emulator's) with a scratch IMGPIPE_STORE and a destination bucket (the
 * job refuses to start without one that keeps it out of the trigger's key
 * space), then env ("NAME=value" sets or replaces, a bare "NAME" removes).
 * stdout into fx.out_path, stderr into fx.err_path. Returns the
 * CLOCK_MONOTONIC ms just before the child was started.
 */
static double spawn(const char *argv0, const char *arg, const char *const *env)
{
	const char *args[] = { arg, NULL };
	char store[4200];
	const char *set[16] = { store, "IMGPIPE_DEST_BUCKET=imgpipe-test-sink" };
	size_t n = 2;

	snprintf(store, sizeof(store), "IMGPIPE_STORE=dir:%s", fx.scratch);
	for(; env && *env && n < 15; env++)
		set[n++] = *env;
	cr_assert_geq(fx_spawn(&fx, argv0, args, set), 0, "%s", fx.error);
	return fx.started_ms;
}

/* An error document as Lambda wants it; its errorType is returned (owned by doc). */
static const char *check_error_document(const struct rtemu_result *r, json_t **doc)
{
	json_error_t jerr;
	json_t *type, *message, *trace;

	*doc = json_loadb(r->body, r->len, 0, &jerr);
	cr_assert_not_null(*doc, "error body is not JSON: %s", jerr.text);
	type = json_object_get(*doc, "errorType");
	message = json_object_get(*doc, "errorMessage");
	trace = json_object_get(*doc, "stackTrace");
	cr_assert(json_is_string(type) && json_string_length(type) > 0);
	cr_assert(json_is_string(message));
	cr_assert(json_is_array(trace) && json_array_size(trace) == 0);
	cr_assert_not_null(r->error_type, "no Lambda-Runtime-Function-Error-Type header");
	cr_assert_str_eq(r->error_type, json_string_value(type));
	return json_string_value(type);
}

/*
 * However Lambda starts it, the binary asks /next and the handler's
 * outcome reaches the API: with the placeholder handler, an error whose
 * type is in the header and the body alike.
 */
Test(runtime, start_modes)
{
	static const struct { const char *argv0, *arg, *why; } modes[] = {
		{ "imgpipe", "lambda", "the subcommand" },
		{ "bootstrap", NULL, "argv[0] is bootstrap" },
		{ "imgpipe", NULL, "no subcommand, AWS_LAMBDA_RUNTIME_API set" },
	};
	const char *env[] = { "IMGPIPE_MAX_INVOCATIONS=1", NULL };

	for(size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		static const char event[] = "{\"not\":\"an upload event\"}";
		struct rtemu_result r;
		char id[RTEMU_ID_SIZE];
		json_t *doc = NULL;
		int status;

		cr_assert_eq(rtemu_push(fx.emu, event, sizeof(event) - 1, 30000, NULL, id), 0);
		spawn(modes[i].argv0, modes[i].arg, env);
		cr_assert_eq(rtemu_wait(fx.emu, id, 10000, &r), 0, "%s: no outcome posted", modes[i].why);
		/* the upload handler refuses an event of no known shape, saying so */
		cr_assert_eq(r.kind, RTEMU_ERROR, "%s: an unknown event was answered as a success",
		             modes[i].why);
		cr_assert_str_eq(check_error_document(&r, &doc), "UsageError", "%s", modes[i].why);
		json_decref(doc);
		rtemu_result_release(&r);
		status = fx_wait(&fx, 10000);
		cr_assert_eq(status, 0, "%s: exit %d after IMGPIPE_MAX_INVOCATIONS=1", modes[i].why, status);
	}
	struct rtemu_stats st;
	rtemu_stats(fx.emu, &st);
	cr_assert_eq(st.nexts, 3);
	cr_assert_eq(st.refused, 0, "the runtime made a request the API refused");
}

/* Cold start: ms from fork to the first /next, logged, not asserted. Then
 * the API goes away under a parked /next: the binary retries, gives up and
 * says so. */
Test(runtime, cold_start_then_api_gone)
{
	double started;
	char *out;
	int status;

	started = spawn("bootstrap", NULL, NULL);
	cr_assert_eq(rtemu_wait_nexts(fx.emu, 1, 10000), 0, "no /next within 10 s");
	cr_log_info("cold start: %.1f ms from fork to the first /next",
	            rtemu_first_next_ms(fx.emu) - started);
	rtemu_stop(fx.emu);
	fx.emu = NULL;
	status = fx_wait(&fx, 10000);
	out = fx_read_stderr(&fx);
	cr_assert_eq(status, 1, "exit %d; output:\n%s", status, out);
	cr_assert(strstr(out, "gave up after"), "output:\n%s", out);
	free(out);
}

Test(runtime, missing_or_bad_api)
{
	static const struct { const char *env, *says; } cases[] = {
		{ "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_RUNTIME_API is not set" },
		{ "AWS_LAMBDA_RUNTIME_API=", "AWS_LAMBDA_RUNTIME_API is not set" },
		{ "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001/x?y", "is not a host:port" },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { cases[i].env, NULL };
		char *out;
		int status;

		spawn("imgpipe", "lambda", env);
		status = fx_wait(&fx, 10000);
		out = fx_read_stderr(&fx);
		cr_assert_eq(status, 2, "case %zu: exit %d", i, status);
		cr_assert(strstr(out, cases[i].says), "case %zu: output:\n%s", i, out);
		free(out);
	}
}

/* A bad configuration is reported to /init/error before any /next, and
 * the process exits non-zero. */
Test(runtime, init_error)
{
	static const struct { const char *env[6], *type, *says; } cases[] = {
		{ { "IMGPIPE_VARIANTS=bad" }, "ConfigError", "variant \"bad\"" },
		{ { "IMGPIPE_MAX_INVOCATIONS=lots" }, "ConfigError", "IMGPIPE_MAX_INVOCATIONS=lots" },
		/* S3 with no credential anywhere: said at start, not at the first upload */
		{ { "IMGPIPE_STORE=s3", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		    "AWS_CONFIG_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
		    "AWS_ACCESS_KEY_ID=" }, "AccessDenied", "credential" },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rtemu_result r;
		struct rtemu_stats st;
		json_t *doc;
		int status;

		if(i) {    /* one init error per emulator, as per sandbox */
			rtemu_stop(fx.emu);
			fx.emu = NULL;
			cr_assert_eq(rtemu_start(&fx.emu), 0);
		}
		spawn("imgpipe", "lambda", cases[i].env);
		cr_assert_eq(rtemu_init_error(fx.emu, 10000, &r), 0, "%s: no /init/error", cases[i].env[0]);
		cr_assert_str_eq(check_error_document(&r, &doc), cases[i].type);
		cr_assert(strstr(json_string_value(json_object_get(doc, "errorMessage")), cases[i].says),
		          "%s", r.body);
		json_decref(doc);
		rtemu_result_release(&r);
		status = fx_wait(&fx, 10000);
		cr_assert_eq(status, 2, "%s: exit %d", cases[i].env[0], status);
		rtemu_stats(fx.emu, &st);
		cr_assert_eq(st.nexts, 0, "/next called after a failed init");
	}
}

/* ---- in process ---- */

struct seen {
	char trace[600];
	bool has_trace;
	struct imgp_invocation inv;
	int64_t remaining_ms;
	char event[256];
	int calls;
};

static enum imgp_status recording_handler(void *ctx, const struct imgp_invocation *inv,
                                          const char *event, size_t len,
                                          char **reply, char *err)
{
	/* ctx is an array; its first element counts the calls */
	struct seen *seen = (struct seen *)ctx + ((struct seen *)ctx)->calls++;
	const char *trace = getenv("_X_AMZN_TRACE_ID");

	seen->has_trace = trace != NULL;
	snprintf(seen->trace, sizeof(seen->trace), "%s", trace ? trace : "");
	seen->inv = *inv;
	seen->remaining_ms = imgp_invocation_remaining_ms(inv);
	snprintf(seen->event, sizeof(seen->event), "%.*s", (int)len, event);
	*reply = imgp_asprintf("{\"seen\":%zu}", len);
	return IMGP_OK;
}

static struct imgp_runtime *open_runtime(void)
{
	struct imgp_runtime *rt;
	char err[IMGP_ERRSIZE];

	cr_assert_eq(imgp_runtime_open(rtemu_api(fx.emu), &rt, err), IMGP_OK, "%s", err);
	return rt;
}

/* _X_AMZN_TRACE_ID follows each invocation's Lambda-Runtime-Trace-Id, and
 * is gone when an invocation has none; the deadline is the API's. */
Test(runtime, trace_id_and_deadline)
{
	static const char trace[] = "Root=1-5759e988-bd862e3fe1be46a994272793;"
	                            "Parent=53995c3f42cd8ad8;Sampled=1";
	static const char *const events[] = { "{\"n\":1}", "{\"n\":22}" };
	static const long budgets[] = { 3000, 60000 };
	struct seen seen[2] = { 0 };
	char ids[2][RTEMU_ID_SIZE], err[IMGP_ERRSIZE];
	struct imgp_runtime *rt = open_runtime();
	struct timespec now;
	int64_t epoch;

	cr_assert_eq(rtemu_push(fx.emu, events[0], strlen(events[0]), budgets[0], trace, ids[0]), 0);
	cr_assert_eq(rtemu_push(fx.emu, events[1], strlen(events[1]), budgets[1], NULL, ids[1]), 0);
	setenv("_X_AMZN_TRACE_ID", "stale", 1);
	cr_assert_eq(imgp_runtime_loop(rt, recording_handler, seen, 2, err), IMGP_OK, "%s", err);
	imgp_runtime_close(rt);
	clock_gettime(CLOCK_REALTIME, &now);
	epoch = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;

	cr_assert_eq(seen[0].calls, 2);
	cr_assert(seen[0].has_trace);
	cr_assert_str_eq(seen[0].trace, trace);
	cr_assert_str_eq(seen[0].inv.trace_id, trace);
	cr_assert_not(seen[1].has_trace, "_X_AMZN_TRACE_ID left over: %s", seen[1].trace);
	for(int i = 0; i < 2; i++) {
		struct rtemu_result r;
		char want[32];

		cr_assert_str_eq(seen[i].inv.request_id, ids[i]);
		cr_assert_str_eq(seen[i].inv.function_arn, RTEMU_ARN);
		cr_assert_str_eq(seen[i].event, events[i]);
		cr_assert_null(seen[i].inv.client_context);
		cr_assert(seen[i].remaining_ms > budgets[i] - 2000 && seen[i].remaining_ms <= budgets[i],
		          "remaining %lld of a %ld ms budget", (long long)seen[i].remaining_ms, budgets[i]);
		cr_assert(llabs(seen[i].inv.deadline_ms - (epoch + budgets[i])) < 2000);
		cr_assert_eq(rtemu_wait(fx.emu, ids[i], 5000, &r), 0);
		cr_assert_eq(r.kind, RTEMU_RESPONSE);
		snprintf(want, sizeof(want), "{\"seen\":%zu}", strlen(events[i]));
		cr_assert_str_eq(r.body, want);
		cr_assert_str_eq(r.content_type, "application/json");
		cr_assert_null(r.error_type);
		rtemu_result_release(&r);
	}
	struct imgp_invocation none = { .deadline_ms = 0 };
	cr_assert_eq(imgp_invocation_remaining_ms(&none), INT64_MAX);
}

/* What handlers return as errors, and what must reach /error. */
static const struct {
	enum imgp_status status;        /* what the handler returns ... */
	const char *message;            /* ... and says */
	bool reply;                     /* it also wrote a reply */
	const char *want_type;          /* header and errorType */
	const char *want_message;
} error_cases[] = {
	{ IMGP_E_NOT_IMAGE, "bytes are not an image", false, "NotAnImage",
	  "bytes are not an image" },
	/* not UTF-8: still a valid JSON document */
	{ IMGP_E_CORRUPT, "bad byte \xff here", false, "CorruptImage", "bad byte ? here" },
	/* a reply beside a failure is not posted (nor leaked) */
	{ IMGP_E_SERVER, "s3 said 503", true, "ServerError", "s3 said 503" },
	/* a status outside the table still gives a token */
	{ (enum imgp_status)999, "x", false, "Unknown", "x" },
	/* a handler that says nothing */
	{ IMGP_OK, "", false, "InternalError",
	  "the handler returned neither a reply nor an error" },
};

static enum imgp_status failing_handler(void *ctx, const struct imgp_invocation *inv,
                                        const char *event, size_t len,
                                        char **reply, char *err)
{
	int *calls = ctx;
	int i = (*calls)++;

	if(error_cases[i].reply)
		*reply = imgp_strdup("{\"results\":[]}");
	strcpy(err, error_cases[i].message);
	return error_cases[i].status;
}

Test(runtime, handler_errors)
{
	const size_t n = sizeof(error_cases) / sizeof(error_cases[0]);
	char ids[sizeof(error_cases) / sizeof(error_cases[0])][RTEMU_ID_SIZE];
	struct imgp_runtime *rt = open_runtime();
	char err[IMGP_ERRSIZE];
	int calls = 0;

	for(size_t i = 0; i < n; i++)
		cr_assert_eq(rtemu_push(fx.emu, "{}", 2, 10000, NULL, ids[i]), 0);
	cr_assert_eq(imgp_runtime_loop(rt, failing_handler, &calls, (long)n, err), IMGP_OK, "%s", err);
	imgp_runtime_close(rt);
	for(size_t i = 0; i < n; i++) {
		struct rtemu_result r;
		json_t *doc;

		cr_assert_eq(rtemu_wait(fx.emu, ids[i], 5000, &r), 0);
		cr_assert_eq(r.kind, RTEMU_ERROR);
		cr_assert_str_eq(check_error_document(&r, &doc), error_cases[i].want_type);
		cr_assert_str_eq(json_string_value(json_object_get(doc, "errorMessage")),
		                 error_cases[i].want_message);
		json_decref(doc);
		rtemu_result_release(&r);
	}
}

static enum imgp_status echo_size_handler(void *ctx, const struct imgp_invocation *inv,
                                          const char *event, size_t len,
                                          char **reply, char *err)
{
	int *calls = ctx;
	char *big;

	(*calls)++;
	if(strcmp(event, "\"big reply\"")) {
		*reply = imgp_asprintf("{\"len\":%zu}", len);
		return IMGP_OK;
	}
	/* a JSON string one byte over the limit */
	big = imgp_malloc(IMGP_RUNTIME_MAX_PAYLOAD + 2);
	memset(big, 'a', IMGP_RUNTIME_MAX_PAYLOAD + 1);
	big[0] = big[IMGP_RUNTIME_MAX_PAYLOAD] = '"';
	big[IMGP_RUNTIME_MAX_PAYLOAD + 1] = '\0';
	*reply = big;
	return IMGP_OK;
}

/* Lambda's 6 MB: an event over it is an error without a handler call, a
 * reply over it is an error instead of a refused POST; exactly 6 MB is fine. */
Test(runtime, payload_limits)
{
	const size_t limit = IMGP_RUNTIME_MAX_PAYLOAD;
	char ids[3][RTEMU_ID_SIZE], err[IMGP_ERRSIZE];
	struct imgp_runtime *rt = open_runtime();
	struct rtemu_result r;
	char *big = malloc(limit + 2);
	int calls = 0;

	memset(big, ' ', limit + 1);
	big[0] = '{';
	big[limit - 1] = '}';           /* exactly the limit: allowed */
	cr_assert_eq(rtemu_push(fx.emu, big, limit, 10000, NULL, ids[0]), 0);
	big[limit] = ' ';               /* one byte over */
	cr_assert_eq(rtemu_push(fx.emu, big, limit + 1, 10000, NULL, ids[1]), 0);
	cr_assert_eq(rtemu_push(fx.emu, "\"big reply\"", 11, 10000, NULL, ids[2]), 0);
	free(big);
	cr_assert_eq(imgp_runtime_loop(rt, echo_size_handler, &calls, 3, err), IMGP_OK, "%s", err);
	imgp_runtime_close(rt);
	cr_assert_eq(calls, 2, "the handler saw an event over the limit");

	cr_assert_eq(rtemu_wait(fx.emu, ids[0], 5000, &r), 0);
	cr_assert_eq(r.kind, RTEMU_RESPONSE);
	cr_assert_str_eq(r.body, "{\"len\":6291456}");
	rtemu_result_release(&r);
	for(int i = 1; i < 3; i++) {
		cr_assert_eq(rtemu_wait(fx.emu, ids[i], 5000, &r), 0);
		cr_assert_eq(r.kind, RTEMU_ERROR);
		cr_assert_str_eq(r.error_type, "OverLimit");
		rtemu_result_release(&r);
	}
}

/* A malformed 404 and a dropped connection on /next, and a malformed 404
 * to a POST: the loop retries, logs, and serves on. */
Test(runtime, survives_faults)
{
	char ids[2][RTEMU_ID_SIZE], err[IMGP_ERRSIZE];
	struct imgp_runtime *rt = open_runtime();
	struct seen seen[2] = { 0 };
	struct rtemu_result r;
	struct rtemu_stats st;

	rtemu_fault(fx.emu, RTEMU_FAULT_NEXT_404);
	rtemu_fault(fx.emu, RTEMU_FAULT_NEXT_DROP);
	rtemu_fault(fx.emu, RTEMU_FAULT_POST_404);
	cr_assert_eq(rtemu_push(fx.emu, "{}", 2, 10000, NULL, ids[0]), 0);
	cr_assert_eq(rtemu_push(fx.emu, "[]", 2, 10000, NULL, ids[1]), 0);
	cr_assert_eq(imgp_runtime_loop(rt, recording_handler, seen, 2, err), IMGP_OK, "%s", err);
	imgp_runtime_close(rt);
	cr_assert_eq(seen[0].calls, 2);
	cr_assert_neq(rtemu_wait(fx.emu, ids[0], 0, &r), 0, "the refused outcome was recorded");
	cr_assert_eq(rtemu_wait(fx.emu, ids[1], 5000, &r), 0);
	cr_assert_eq(r.kind, RTEMU_RESPONSE);
	rtemu_result_release(&r);
	rtemu_stats(fx.emu, &st);
	cr_assert_eq(st.nexts, 4);
	cr_assert_eq(st.refused, 0);
}

/* No API at all: a few attempts with backoff, then a clear failure. */
Test(runtime, gives_up_without_api)
{
	char api[64], err[IMGP_ERRSIZE];
	struct imgp_runtime *rt;
	enum imgp_status result;
	double started;

	snprintf(api, sizeof(api), "%s", rtemu_api(fx.emu));
	rtemu_stop(fx.emu);
	fx.emu = NULL;
	cr_assert_eq(imgp_runtime_open(api, &rt, err), IMGP_OK, "%s", err);
	started = rtemu_now_ms();
	result = imgp_runtime_loop(rt, recording_handler, NULL, 0, err);
	imgp_runtime_close(rt);
	cr_assert_eq(result, IMGP_E_NETWORK, "%s: %s", imgp_status_str(result), err);
	cr_assert(strstr(err, "gave up after 5 attempts"), "%s", err);
	cr_assert(rtemu_now_ms() - started < 5000);
	cr_assert_eq(imgp_runtime_open("", &rt, err), IMGP_E_CONFIG);
	cr_assert_eq(imgp_runtime_open("h:1/../x", &rt, err), IMGP_E_CONFIG);
}

/* ---- the emulator itself ---- */

/* One request on a fresh connection; the status, and the request id
 * header into id when there is one. */
static int raw(const char *method, const char *path, const char *body, char id[RTEMU_ID_SIZE])
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(rtemu_port(fx.emu)) };
	struct timeval tv = { 5, 0 };
	char req[1024], resp[4096] = "";
	const char *h;
	size_t got = 0;
	int fd, status = -1, n;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	n = snprintf(req, sizeof(req), "%s /2018-06-01/runtime/%s HTTP/1.1\r\nHost: x\r\n"
	             "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
	             method, path, strlen(body), body);
	cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	while(got < sizeof(resp) - 1) {
		ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if(r <= 0)
			break;
		got += (size_t)r;
	}
	resp[got] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.1 %d", &status);
	if(id && (h = strstr(resp, "Lambda-Runtime-Aws-Request-Id: ")))
		sscanf(h + 31, "%63[^\r]", id);
	return status;
}

Test(runtime, emulator_follows_the_api)
{
	char id[RTEMU_ID_SIZE], got[RTEMU_ID_SIZE] = "", path[128];

	cr_assert_eq(raw("GET", "nope", "", NULL), 404);
	cr_assert_eq(raw("POST", "invocation/no-such-id/response", "{}", NULL), 400);
	cr_assert_eq(raw("POST", "init/error", "{}", NULL), 202);
	cr_assert_eq(raw("POST", "init/error", "{}", NULL), 403);
	cr_assert_eq(rtemu_push(fx.emu, "{}", 2, 1000, NULL, id), 0);
	snprintf(path, sizeof(path), "invocation/%s/response", id);
	cr_assert_eq(raw("POST", path, "{}", NULL), 400, "an id not handed out yet");
	cr_assert_eq(raw("GET", "invocation/next", "", got), 200);
	cr_assert_str_eq(got, id);
	cr_assert_eq(raw("GET", path, "", NULL), 405);
	cr_assert_eq(raw("POST", path, "{}", NULL), 202);
	cr_assert_eq(raw("POST", path, "{}", NULL), 403, "a second outcome for one id");
	snprintf(path, sizeof(path), "invocation/%s/error", id);
	cr_assert_eq(raw("POST", path, "{}", NULL), 403);
	cr_assert_eq(raw("POST", "init/error", "{}", NULL), 403, "init error after /next");
}
