/*
 * serve_http.c: imgpipe serve's requests: what each one is answered (the
 * statuses serve.c's opening comment lists), the bearer token compared in
 * constant time, and the work of one event on a thread of its own, so the
 * connection's thread can answer when the work is done, its deadline
 * passes, or the shutdown's grace runs out.
 */
#include "serve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "log.h"

/* ---- answers ------------------------------------------------------------ */

/* Queue an answer: body (JSON text, copied) with the status, and
 * Retry-After when retry; Connection: close while draining. */
static enum MHD_Result answer(struct server *s, struct MHD_Connection *c, unsigned status,
                              const char *body, bool retry)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if(!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	if(retry)
		MHD_add_response_header(r, "Retry-After", RETRY_AFTER_S);
	if(s->draining)
		MHD_add_response_header(r, "Connection", "close");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* {"error": message, "status": name} with the HTTP status. */
static enum MHD_Result answer_error(struct server *s, struct MHD_Connection *c,
                                    unsigned status, enum imgp_status st,
                                    const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static enum MHD_Result answer_error(struct server *s, struct MHD_Connection *c,
                                    unsigned status, enum imgp_status st,
                                    const char *request_id, const char *fmt, ...)
{
	char msg[IMGP_ERRSIZE + 128], *text;
	enum MHD_Result ok;
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	doc = json_pack("{s:s, s:s}", "error", msg, "status", imgp_status_str(st));
	if(doc && request_id)
		json_object_set_new(doc, "request_id", json_string(request_id));
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	ok = answer(s, c, status, text ? text : "{\"error\":\"out of memory\"}",
	            status == 429 || status == 503);
	free(text);
	return ok;
}

/*
 * The upload handler's reply as the answer: 200 with the reply, which
 * carries its "outcome" (done, or failed: every failure in it is
 * permanent, so the platform must not deliver it again) and the request
 * id, or 503 for a temporary failure.
 */
static enum MHD_Result answer_work(struct server *s, struct MHD_Connection *c,
                                   struct work *w)
{
	if(!w->reply)
		return answer_error(s, c, imgp_status_temporary(w->status) ? 503 : 500, w->status,
		                    w->request_id, "%s", w->message);
	return answer(s, c, 200, w->reply, false);
}

/* ---- the work of one event ------------------------------------------------ */

static void work_free(struct work *w)
{
	imgp_event_release(&w->ev);
	imgp_free(w->reply);
	imgp_free(w);
}

static void *work_main(void *arg)
{
	struct work *w = arg;
	struct server *s = w->s;
	bool free_it;

	w->status = imgp_upload_handle_event(&s->up, w->request_id, w->deadline_ms, &w->ev,
	                                     true, &w->reply, w->message);
	pthread_mutex_lock(&s->lock);
	w->done = true;
	s->busy--;
	free_it = w->abandoned;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if(free_it)
		work_free(w);
	return NULL;
}

void imgp_serve_abstime(int64_t epoch_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(epoch_ms / 1000);
	ts->tv_nsec = (long)(epoch_ms % 1000) * 1000000L;
}

/*
 * Run w on a thread of its own and wait for it, at most until its
 * deadline and a little, or the shutdown's grace. Answers the request.
 */
static enum MHD_Result run_work(struct server *s, struct MHD_Connection *c, struct work *w)
{
	enum MHD_Result ok;
	pthread_attr_t attr;
	pthread_t t;
	int64_t until = w->deadline_ms + ANSWER_SLACK_MS;
	bool started, done;

	pthread_mutex_lock(&s->lock);
	if(s->draining) {
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 503, IMGP_E_SERVER, w->request_id,
		                  "shutting down: deliver it again");
		work_free(w);
		return ok;
	}
	if(s->busy >= s->o.concurrency) {
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 429, IMGP_E_THROTTLED, w->request_id,
		                  "%ld events are already at work (IMGPIPE_SERVE_CONCURRENCY): "
		                  "try again after Retry-After", s->o.concurrency);
		work_free(w);
		return ok;
	}
	s->busy++;
	s->answering++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	started = !pthread_create(&t, &attr, work_main, w);
	pthread_attr_destroy(&attr);
	if(!started) {
		s->busy--;
		s->answering--;
		pthread_mutex_unlock(&s->lock);
		ok = answer_error(s, c, 503, IMGP_E_NOMEM, w->request_id,
		                  "no thread for the event: deliver it again");
		work_free(w);
		return ok;
	}
	while(!w->done) {
		struct timespec ts;
		int64_t limit = s->draining && s->drain_deadline < until ? s->drain_deadline : until;

		if(imgp_epoch_ms() >= limit)
			break;
		imgp_serve_abstime(limit, &ts);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	done = w->done;
	if(!done)
		w->abandoned = true;    /* the job thread frees it when it ends */
	pthread_mutex_unlock(&s->lock);
	if(done) {
		ok = answer_work(s, c, w);
		work_free(w);
	}
	else
		ok = answer_error(s, c, 503, IMGP_E_DEADLINE, w->request_id, "%s",
		                  s->draining ? "shutting down before the event was done: "
		                  "deliver it again" : "not done within IMGPIPE_SERVE_TIMEOUT: "
		                  "deliver it again");
	pthread_mutex_lock(&s->lock);
	s->answering--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- requests --------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Compare without leaking where they differ (the token is a secret). */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for(size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return !d;
}

/* The bearer token, or the same token as the URL's ?token= (Event Grid
 * sends no header of ours: its subscription's URL carries it). */
static bool authorized(const struct server *s, struct MHD_Connection *c)
{
	const char *auth = header(c, "Authorization");
	const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");

	if(!s->o.token)
		return true;
	return (auth && !strncasecmp(auth, "Bearer ", 7) && same_secret(auth + 7, s->o.token)) ||
	       (query && same_secret(query, s->o.token));
}

/*
 * CloudEvents' webhook abuse protection, as Event Grid asks it before
 * delivering in CloudEvents schema: OPTIONS with WebHook-Request-Origin,
 * answered with that origin allowed, at any rate.
 */
static enum MHD_Result answer_handshake(struct server *s, struct MHD_Connection *c)
{
	const char *origin = header(c, "WebHook-Request-Origin");
	struct MHD_Response *r;
	enum MHD_Result ok;

	(void)s;
	r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if(!r)
		return MHD_NO;
	MHD_add_response_header(r, "Allow", "POST, OPTIONS");
	MHD_add_response_header(r, "WebHook-Allowed-Origin", origin);
	MHD_add_response_header(r, "WebHook-Allowed-Rate", "*");
	ok = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ok;
}

/* A printable origin of at most 255 characters (it goes back in a header). */
static bool origin_ok(const char *origin)
{
	size_t n = origin ? strlen(origin) : 0;

	if(!n || n > 255)
		return false;
	for(size_t i = 0; i < n; i++)
		if(origin[i] < 0x21 || origin[i] > 0x7e)
			return false;
	return true;
}

/* The event in the body: a CloudEvent in binary mode when ce-specversion
 * is there, else whatever shape the JSON is. */
static enum imgp_status parse_event(struct MHD_Connection *c, const struct req *r,
                                    struct imgp_event *ev, char *err)
{
	struct imgp_cloudevent ce = {
		.specversion = header(c, "ce-specversion"), .type = header(c, "ce-type"),
		.source = header(c, "ce-source"), .id = header(c, "ce-id"),
		.subject = header(c, "ce-subject"), .datacontenttype = header(c, "Content-Type"),
	};

	if(ce.specversion)
		return imgp_event_parse_cloudevent(&ce, imgp_dbuf_str(&r->body), r->body.len, ev, err);
	return imgp_event_parse(imgp_dbuf_str(&r->body), r->body.len, ev, err);
}

/* The whole body is in: parse it, then run it (or say why not). */
static enum MHD_Result handle_event(struct server *s, struct MHD_Connection *c, struct req *r)
{
	struct work *w;
	char err[IMGP_ERRSIZE];
	enum imgp_status st;
	unsigned long n;

	if(r->too_large) {
		imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL, "refused a body over %ld bytes (413)",
		              s->o.max_body);
		return answer_error(s, c, 413, IMGP_E_TOO_LARGE, NULL, "the body is over %ld bytes "
		                    "(IMGPIPE_SERVE_MAX_BODY)", s->o.max_body);
	}
	if(!(w = imgp_calloc(1, sizeof(*w))))
		return answer_error(s, c, 503, IMGP_E_NOMEM, NULL, "out of memory");
	w->s = s;
	n = atomic_fetch_add(&s->seq, 1) + 1;
	st = parse_event(c, r, &w->ev, err);
	if(st) {
		imgp_free(w);
		imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL, "refused: %s", err);
		return answer_error(s, c, st == IMGP_E_NOMEM ? 503 : 400, st, NULL, "%s", err);
	}
	if(w->ev.event_id)
		snprintf(w->request_id, sizeof(w->request_id), "%s", w->ev.event_id);
	else
		snprintf(w->request_id, sizeof(w->request_id), "serve-%d-%lu", (int)getpid(), n);
	w->deadline_ms = imgp_epoch_ms() + s->o.timeout_s * 1000;
	return run_work(s, c, w);
}

enum MHD_Result imgp_serve_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	if(!r) {
		const char *cl;

		if(!strcmp(url, "/healthz") && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
			return s->draining
				? answer_error(s, c, 503, IMGP_E_SERVER, NULL, "shutting down")
				: answer(s, c, 200, "{\"status\":\"ok\"}", false);
		/* an Azure Functions custom handler is POSTed /FUNCTION_NAME */
		if(strcmp(url, "/") && !(s->o.functions && url[0] == '/' && url[1] &&
		                         !strchr(url + 1, '/')))
			return answer_error(s, c, 404, IMGP_E_NOT_FOUND, NULL, "no such path: events "
			                    "are POSTed to /, and GET /healthz says whether it is up");
		if(!strcmp(method, "OPTIONS") && origin_ok(header(c, "WebHook-Request-Origin"))) {
			if(!authorized(s, c))
				return answer_error(s, c, 401, IMGP_E_ACCESS, NULL, "this server wants "
				                    "IMGPIPE_SERVE_TOKEN's token");
			imgp_log_line(s->up.log, IMGP_LOG_INFO, NULL, "webhook handshake: allowed "
			              "deliveries from %.255s", header(c, "WebHook-Request-Origin"));
			return answer_handshake(s, c);
		}
		if(strcmp(method, "POST")) {
			struct MHD_Response *resp;
			enum MHD_Result ok;
			static const char body[] = "{\"error\":\"events are POSTed to /\","
			                           "\"status\":\"UsageError\"}";

			resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
			                                       MHD_RESPMEM_PERSISTENT);
			if(!resp)
				return MHD_NO;
			MHD_add_response_header(resp, "Allow", "POST");
			MHD_add_response_header(resp, "Content-Type", "application/json");
			ok = MHD_queue_response(c, 405, resp);
			MHD_destroy_response(resp);
			return ok;
		}
		if(!authorized(s, c)) {
			imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL,
			              "refused a request without the bearer token (401)");
			return answer_error(s, c, 401, IMGP_E_ACCESS, NULL, "this server wants "
			                    "'Authorization: Bearer' with IMGPIPE_SERVE_TOKEN's token, "
			                    "or the same token as the URL's ?token=");
		}
		if(s->draining)
			return answer_error(s, c, 503, IMGP_E_SERVER, NULL,
			                    "shutting down: deliver it again");
		cl = header(c, "Content-Length");
		if(cl && strtoull(cl, NULL, 10) > (unsigned long long)s->o.max_body) {
			imgp_log_line(s->up.log, IMGP_LOG_WARN, NULL,
			              "refused a body of %.20s bytes, over %ld (413)", cl, s->o.max_body);
			return answer_error(s, c, 413, IMGP_E_TOO_LARGE, NULL, "the body is %.20s bytes, "
			                    "over %ld (IMGPIPE_SERVE_MAX_BODY)", cl, s->o.max_body);
		}
		if(!(r = imgp_calloc(1, sizeof(*r))))
			return MHD_NO;
		imgp_dbuf_init(&r->body, (size_t)s->o.max_body + 1);
		*con_cls = r;
		return MHD_YES;
	}
	if(*size) {
		/* over the cap (chunked, or a Content-Length that lied): keep
		 * reading, keep nothing, answer 413 at the end */
		if(!r->too_large && imgp_dbuf_add(&r->body, data, *size)) {
			r->too_large = true;
			imgp_dbuf_release(&r->body);
		}
		*size = 0;
		return MHD_YES;
	}
	return handle_event(s, c, r);
}

void imgp_serve_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if(r) {
		imgp_dbuf_release(&r->body);
		imgp_free(r);
		*con_cls = NULL;
	}
}

void imgp_serve_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while(n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	imgp_log_diag(IMGP_LOG_WARN, "serve: http: %s", msg);
}

