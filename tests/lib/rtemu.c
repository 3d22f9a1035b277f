/*
 * rtemu.c: see rtemu.h. One thread polls the listening socket, a wake-up
 * pipe and every connection; all state is under one mutex, which the
 * thread holds while it handles what poll() returned and never while it
 * waits. A /next with nothing queued parks its connection; rtemu_push
 * wakes the thread, which hands the event to the oldest parked /next.
 *
 * It must never listen beyond 127.0.0.1, never block a test for longer
 * than the test asked, and never leak a descriptor into a spawned process
 * (everything is opened close-on-exec).
 */
#include "rtemu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "/2018-06-01/runtime/"
#define MAX_PAYLOAD (6u * 1024 * 1024)
#define MAX_HEAD (64 * 1024)

enum state { EV_QUEUED, EV_SENT, EV_DONE };

struct event {
	char id[RTEMU_ID_SIZE];
	char *body;
	size_t len;
	long budget_ms;
	char *trace_id;
	enum state state;
	struct rtemu_result result;
	struct event *next;
};

struct conn {
	int fd;
	char *in;
	size_t len, cap;
	bool parked;            /* a /next waits here for an event */
	bool continued;         /* 100 Continue sent for the request in progress */
	bool close_after;       /* the parked /next asked for Connection: close */
	bool dead;
	struct conn *next;
};

struct rtemu {
	int lfd, wake[2], port;
	char api[32];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct event *events, **tail;
	struct conn *conns;
	unsigned seq, rng;
	bool have_init_error;
	struct rtemu_result init_error;
	double first_next_ms;
	struct rtemu_stats stats;
	int faults[3];
};

/* A request as parsed from the connection's buffer. */
struct request {
	char method[8];
	char path[512];
	char *head;             /* the header block, NUL ended (a copy) */
	const char *body;
	size_t len;
};

double rtemu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static long long epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if(p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while(len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if(n < 0 && errno == EINTR)
			continue;
		if(n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* One whole reply; extra is more header lines, each ending in CR LF. */
static bool reply(struct conn *c, int status, const char *reason,
                  const char *extra, const char *body, size_t len)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n%s\r\n", status, reason, len,
	                 extra ? extra : "");

	if(n < 0 || (size_t)n >= sizeof(head))
		return false;
	return send_all(c->fd, head, (size_t)n) && send_all(c->fd, body, len);
}

/* An API refusal, with the error document AWS sends. */
static bool refuse(struct rtemu *emu, struct conn *c, int status,
                   const char *reason, const char *type, const char *message)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}",
	                 message, type);

	emu->stats.refused++;
	return reply(c, status, reason, NULL, body, (size_t)n);
}

/* A 404 whose body is not the JSON it claims to be; with junk, also a
 * header line without a colon (which curl refuses outright). */
static bool malformed_404(struct conn *c, bool junk)
{
	static const char head[] =
		"HTTP/1.1 404 Not Found\r\n"
		"Content-Type: application/json\r\n";
	static const char rest[] =
		"Content-Length: 13\r\n"
		"\r\n"
		"<html>\x01{\"oops";
	static const char line[] = "this header line has no colon\r\n";

	return send_all(c->fd, head, sizeof(head) - 1) &&
	       (!junk || send_all(c->fd, line, sizeof(line) - 1)) &&
	       send_all(c->fd, rest, sizeof(rest) - 1);
}

/* A header's value from a request's header block, trimmed, into out;
 * false when absent. */
static bool header(const char *head, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);

	for(const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		const char *p = line + 2, *end = strstr(p, "\r\n");
		size_t vlen;

		if(!end)
			end = p + strlen(p);
		if((size_t)(end - p) <= nlen || p[nlen] != ':' || strncasecmp(p, name, nlen))
			continue;
		p += nlen + 1;
		while(*p == ' ' || *p == '\t')
			p++;
		while(end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		vlen = (size_t)(end - p);
		if(vlen >= size)
			vlen = size - 1;
		memcpy(out, p, vlen);
		out[vlen] = '\0';
		return true;
	}
	return false;
}

static struct event *find_event(struct rtemu *emu, const char *id)
{
	for(struct event *ev = emu->events; ev; ev = ev->next)
		if(!strcmp(ev->id, id))
			return ev;
	return NULL;
}

/* Record a POSTed outcome into r. */
static bool record(struct rtemu_result *r, enum rtemu_kind kind, const struct request *req)
{
	char value[256];

	r->kind = kind;
	r->len = req->len;
	r->body = dup_n(req->body, req->len);
	r->error_type = header(req->head, "Lambda-Runtime-Function-Error-Type", value, sizeof(value))
	                ? strdup(value) : NULL;
	r->content_type = header(req->head, "Content-Type", value, sizeof(value))
	                  ? strdup(value) : NULL;
	return r->body != NULL;
}

static bool accepted(struct rtemu *emu, struct conn *c)
{
	static const char ok[] = "{\"status\":\"OK\"}";

	emu->stats.accepted++;
	pthread_cond_broadcast(&emu->cond);
	return reply(c, 202, "Accepted", NULL, ok, sizeof(ok) - 1);
}

/* POST invocation/{id}/response or /error; rest is what follows "invocation/". */
static bool handle_outcome(struct rtemu *emu, struct conn *c, const struct request *req,
                           const char *rest)
{
	const char *slash = strchr(rest, '/');
	char id[RTEMU_ID_SIZE];
	enum rtemu_kind kind;
	struct event *ev;
	size_t idlen;

	if(!slash)
		return refuse(emu, c, 404, "Not Found", "NotFound", "no such resource");
	if(!strcmp(slash, "/response"))
		kind = RTEMU_RESPONSE;
	else if(!strcmp(slash, "/error"))
		kind = RTEMU_ERROR;
	else
		return refuse(emu, c, 404, "Not Found", "NotFound", "no such resource");
	if(strcmp(req->method, "POST"))
		return refuse(emu, c, 405, "Method Not Allowed", "MethodNotAllowed", "use POST");
	idlen = (size_t)(slash - rest);
	if(!idlen || idlen >= sizeof(id))
		return refuse(emu, c, 400, "Bad Request", "InvalidRequestID", "Invalid request ID");
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	ev = find_event(emu, id);
	if(!ev || ev->state == EV_QUEUED)
		return refuse(emu, c, 400, "Bad Request", "InvalidRequestID", "Invalid request ID");
	if(ev->state == EV_DONE)
		return refuse(emu, c, 403, "Forbidden", "InvalidStateTransition",
		              "State transition from ResponseSent to Response* failed");
	if(emu->faults[RTEMU_FAULT_POST_404]) {
		emu->faults[RTEMU_FAULT_POST_404]--;
		return malformed_404(c, false);
	}
	if(!record(&ev->result, kind, req))
		return false;
	ev->state = EV_DONE;
	return accepted(emu, c);
}

static bool handle_init_error(struct rtemu *emu, struct conn *c, const struct request *req)
{
	if(strcmp(req->method, "POST"))
		return refuse(emu, c, 405, "Method Not Allowed", "MethodNotAllowed", "use POST");
	if(emu->stats.nexts || emu->have_init_error)
		return refuse(emu, c, 403, "Forbidden", "InvalidStateTransition",
		              "State transition from Ready to InitError failed");
	if(!record(&emu->init_error, RTEMU_INIT_ERROR, req))
		return false;
	emu->have_init_error = true;
	return accepted(emu, c);
}

static bool handle_next(struct rtemu *emu, struct conn *c, const struct request *req)
{
	if(strcmp(req->method, "GET"))
		return refuse(emu, c, 405, "Method Not Allowed", "MethodNotAllowed", "use GET");
	if(!emu->stats.nexts++)
		emu->first_next_ms = rtemu_now_ms();
	pthread_cond_broadcast(&emu->cond);
	if(emu->faults[RTEMU_FAULT_NEXT_DROP]) {
		emu->faults[RTEMU_FAULT_NEXT_DROP]--;
		return false;
	}
	if(emu->faults[RTEMU_FAULT_NEXT_404]) {
		emu->faults[RTEMU_FAULT_NEXT_404]--;
		return malformed_404(c, true);
	}
	c->parked = true;       /* answered by dispatch() */
	return true;
}

/* One complete request; false to close the connection. */
static bool handle(struct rtemu *emu, struct conn *c, const struct request *req)
{
	const char *rest = req->path + strlen(PREFIX);

	if(strncmp(req->path, PREFIX, strlen(PREFIX)))
		return refuse(emu, c, 404, "Not Found", "NotFound", "no such resource");
	if(!strcmp(rest, "invocation/next"))
		return handle_next(emu, c, req);
	if(!strcmp(rest, "init/error"))
		return handle_init_error(emu, c, req);
	if(!strncmp(rest, "invocation/", 11))
		return handle_outcome(emu, c, req, rest + 11);
	return refuse(emu, c, 404, "Not Found", "NotFound", "no such resource");
}

/* Handle every complete request in c's buffer; false to close. */
static bool drain_requests(struct rtemu *emu, struct conn *c)
{
	while(!c->parked) {
		char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
		char value[64], version[16];
		struct request req = { 0 };
		size_t headlen, clen = 0;
		bool ok, keep;

		if(!end) {
			if(c->len <= MAX_HEAD)
				return true;
			(void)refuse(emu, c, 431, "Request Header Fields Too Large",
			             "BadRequest", "header too large");
			return false;
		}
		headlen = (size_t)(end - c->in) + 4;
		req.head = dup_n(c->in, headlen - 2);
		if(!req.head)
			return false;
		if(sscanf(req.head, "%7s %511s %15s", req.method, req.path, version) != 3 ||
		   strncmp(version, "HTTP/1.", 7)) {
			free(req.head);
			(void)refuse(emu, c, 400, "Bad Request", "BadRequest", "bad request line");
			return false;
		}
		if(header(req.head, "Transfer-Encoding", value, sizeof(value))) {
			free(req.head);
			(void)refuse(emu, c, 411, "Length Required", "BadRequest",
			             "send a Content-Length");
			return false;
		}
		if(header(req.head, "Content-Length", value, sizeof(value)))
			clen = strtoul(value, NULL, 10);
		if(clen > MAX_PAYLOAD) {
			free(req.head);
			(void)refuse(emu, c, 413, "Payload Too Large", "RequestEntityTooLarge",
			             "request entity too large");
			return false;
		}
		if(c->len < headlen + clen) {
			if(!c->continued && header(req.head, "Expect", value, sizeof(value)) &&
			   !strcasecmp(value, "100-continue")) {
				c->continued = true;
				ok = send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			}
			else
				ok = true;
			free(req.head);
			return ok;
		}
		req.body = c->in + headlen;
		req.len = clen;
		keep = !(header(req.head, "Connection", value, sizeof(value)) &&
		         !strcasecmp(value, "close"));
		ok = handle(emu, c, &req);
		free(req.head);
		memmove(c->in, c->in + headlen + clen, c->len - headlen - clen);
		c->len -= headlen + clen;
		c->continued = false;
		if(!ok)
			return false;
		if(!keep) {
			if(!c->parked)
				return false;
			c->close_after = true;
		}
	}
	return true;
}

/* Hand queued events to parked /next requests, oldest first. */
static void dispatch(struct rtemu *emu)
{
	for(struct conn *c = emu->conns; c; c = c->next) {
		struct event *ev = emu->events;
		char extra[1024];
		int n;

		if(c->dead || !c->parked)
			continue;
		while(ev && ev->state != EV_QUEUED)
			ev = ev->next;
		if(!ev)
			return;
		n = snprintf(extra, sizeof(extra),
		             "Lambda-Runtime-Aws-Request-Id: %s\r\n"
		             "Lambda-Runtime-Deadline-Ms: %lld\r\n"
		             "Lambda-Runtime-Invoked-Function-Arn: " RTEMU_ARN "\r\n"
		             "%s%s%s",
		             ev->id, epoch_ms() + ev->budget_ms,
		             ev->trace_id ? "Lambda-Runtime-Trace-Id: " : "",
		             ev->trace_id ? ev->trace_id : "", ev->trace_id ? "\r\n" : "");
		ev->state = EV_SENT;
		c->parked = false;
		if(n < 0 || (size_t)n >= sizeof(extra) ||
		   !reply(c, 200, "OK", extra, ev->body, ev->len) || c->close_after ||
		   !drain_requests(emu, c))
			c->dead = true;
	}
}

/* Read what c has; false when it is gone or broke the protocol. */
static bool conn_read(struct rtemu *emu, struct conn *c)
{
	ssize_t n;

	if(c->cap - c->len < 64 * 1024) {
		size_t cap = c->cap ? c->cap * 2 : 128 * 1024;
		char *in;

		if(cap > MAX_PAYLOAD + 2 * MAX_HEAD)
			cap = MAX_PAYLOAD + 2 * MAX_HEAD;
		if(cap - c->len == 0)
			return false;
		if(!(in = realloc(c->in, cap)))
			return false;
		c->in = in;
		c->cap = cap;
	}
	n = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
	if(n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if(n <= 0)
		return false;
	c->len += (size_t)n;
	return drain_requests(emu, c);
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c->in);
	free(c);
}

static void accept_conn(struct rtemu *emu)
{
	struct timeval tv = { 5, 0 };
	struct conn *c, **at;
	int fd = accept4(emu->lfd, NULL, NULL, SOCK_CLOEXEC);

	if(fd < 0)
		return;
	if(!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	/* a client that stops reading must not hang the emulator */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	for(at = &emu->conns; *at; at = &(*at)->next)
		;
	*at = c;
	emu->stats.connections++;
}

static void sweep(struct rtemu *emu)
{
	for(struct conn **at = &emu->conns; *at;) {
		struct conn *c = *at;

		if(c->dead) {
			*at = c->next;
			conn_free(c);
		}
		else
			at = &c->next;
	}
}

static void *run(void *arg)
{
	struct rtemu *emu = arg;
	struct pollfd *pfds = NULL;
	struct conn **which = NULL;
	size_t n, cap = 0;

	pthread_mutex_lock(&emu->lock);
	while(!emu->stopping) {
		n = 2;
		for(struct conn *c = emu->conns; c; c = c->next)
			n++;
		if(n > cap) {
			free(pfds);
			free(which);
			cap = n * 2;
			pfds = calloc(cap, sizeof(*pfds));
			which = calloc(cap, sizeof(*which));
			if(!pfds || !which)
				abort();
		}
		pfds[0] = (struct pollfd){ .fd = emu->wake[0], .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = emu->lfd, .events = POLLIN };
		n = 2;
		for(struct conn *c = emu->conns; c; c = c->next, n++) {
			pfds[n] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			which[n] = c;
		}
		pthread_mutex_unlock(&emu->lock);
		if(poll(pfds, n, -1) < 0 && errno != EINTR)
			abort();
		pthread_mutex_lock(&emu->lock);
		if(pfds[0].revents) {
			char drain[64];
			while(read(emu->wake[0], drain, sizeof(drain)) > 0)
				;
		}
		for(size_t i = 2; i < n; i++)
			if(pfds[i].revents && !conn_read(emu, which[i]))
				which[i]->dead = true;
		if(pfds[1].revents)
			accept_conn(emu);
		dispatch(emu);
		sweep(emu);
	}
	/* closing is the point: a client parked in /next sees the drop */
	for(struct conn *c = emu->conns; c; c = c->next)
		c->dead = true;
	sweep(emu);
	close(emu->lfd);
	emu->lfd = -1;
	pthread_mutex_unlock(&emu->lock);
	free(pfds);
	free(which);
	return NULL;
}

static void wake(struct rtemu *emu)
{
	ssize_t n;

	do
		n = write(emu->wake[1], "x", 1);
	while(n < 0 && errno == EINTR);
}

int rtemu_start(struct rtemu **out)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	pthread_condattr_t cattr;
	struct rtemu *emu;
	int one = 1;

	*out = NULL;
	if(!(emu = calloc(1, sizeof(*emu))))
		return -1;
	emu->tail = &emu->events;
	emu->rng = (unsigned)getpid() ^ (unsigned)epoch_ms();
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	emu->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if(emu->lfd < 0 ||
	   setsockopt(emu->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	   bind(emu->lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	   listen(emu->lfd, 16) ||
	   getsockname(emu->lfd, (struct sockaddr *)&addr, &alen) ||
	   pipe2(emu->wake, O_CLOEXEC | O_NONBLOCK))
		goto fail;
	emu->port = ntohs(addr.sin_port);
	snprintf(emu->api, sizeof(emu->api), "127.0.0.1:%d", emu->port);
	pthread_mutex_init(&emu->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&emu->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if(pthread_create(&emu->thread, NULL, run, emu)) {
		pthread_mutex_destroy(&emu->lock);
		pthread_cond_destroy(&emu->cond);
		close(emu->wake[0]);
		close(emu->wake[1]);
		goto fail;
	}
	*out = emu;
	return 0;

fail:
	if(emu->lfd >= 0)
		close(emu->lfd);
	free(emu);
	return -1;
}

int rtemu_port(const struct rtemu *emu)
{
	return emu->port;
}

const char *rtemu_api(const struct rtemu *emu)
{
	return emu->api;
}

int rtemu_push(struct rtemu *emu, const char *event, size_t len, long budget_ms,
               const char *trace_id, char id[RTEMU_ID_SIZE])
{
	struct event *ev = calloc(1, sizeof(*ev));
	unsigned a, b, seq;

	if(!ev || !(ev->body = dup_n(event, len)) ||
	   (trace_id && !(ev->trace_id = strdup(trace_id)))) {
		if(ev)
			free(ev->body);
		free(ev);
		return -1;
	}
	ev->len = len;
	ev->budget_ms = budget_ms;
	pthread_mutex_lock(&emu->lock);
	seq = ++emu->seq;
	a = (unsigned)rand_r(&emu->rng);
	b = (unsigned)rand_r(&emu->rng);
	/* shaped like Lambda's: a version 4 UUID */
	snprintf(ev->id, sizeof(ev->id), "%08x-%04x-4%03x-%04x-%012x",
	         a, seq & 0xffff, b & 0xfff, 0x8000 | ((b >> 12) & 0x3fff), seq);
	memcpy(id, ev->id, RTEMU_ID_SIZE);
	*emu->tail = ev;
	emu->tail = &ev->next;
	pthread_mutex_unlock(&emu->lock);
	wake(emu);
	return 0;
}

/* An absolute CLOCK_MONOTONIC time timeout_ms from now. */
static struct timespec deadline_in(long timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if(ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void copy_result(const struct rtemu_result *from, struct rtemu_result *to)
{
	to->kind = from->kind;
	to->len = from->len;
	to->body = dup_n(from->body, from->len);
	to->error_type = from->error_type ? strdup(from->error_type) : NULL;
	to->content_type = from->content_type ? strdup(from->content_type) : NULL;
}

int rtemu_wait(struct rtemu *emu, const char *id, long timeout_ms, struct rtemu_result *out)
{
	struct timespec until = deadline_in(timeout_ms);
	struct event *ev;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&emu->lock);
	while(!((ev = find_event(emu, id)) && ev->state == EV_DONE) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&emu->cond, &emu->lock, &until);
	if(ev && ev->state == EV_DONE)
		copy_result(&ev->result, out);
	pthread_mutex_unlock(&emu->lock);
	return out->kind == RTEMU_NONE ? -1 : 0;
}

int rtemu_init_error(struct rtemu *emu, long timeout_ms, struct rtemu_result *out)
{
	struct timespec until = deadline_in(timeout_ms);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&emu->lock);
	while(!emu->have_init_error && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&emu->cond, &emu->lock, &until);
	if(emu->have_init_error)
		copy_result(&emu->init_error, out);
	pthread_mutex_unlock(&emu->lock);
	return out->kind == RTEMU_NONE ? -1 : 0;
}

int rtemu_wait_nexts(struct rtemu *emu, long n, long timeout_ms)
{
	struct timespec until = deadline_in(timeout_ms);
	int rc = 0;
	bool ok;

	pthread_mutex_lock(&emu->lock);
	while(emu->stats.nexts < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&emu->cond, &emu->lock, &until);
	ok = emu->stats.nexts >= n;
	pthread_mutex_unlock(&emu->lock);
	return ok ? 0 : -1;
}

void rtemu_result_release(struct rtemu_result *r)
{
	free(r->body);
	free(r->error_type);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}

double rtemu_first_next_ms(struct rtemu *emu)
{
	double ms;

	pthread_mutex_lock(&emu->lock);
	ms = emu->first_next_ms;
	pthread_mutex_unlock(&emu->lock);
	return ms;
}

void rtemu_fault(struct rtemu *emu, enum rtemu_fault fault)
{
	pthread_mutex_lock(&emu->lock);
	emu->faults[fault]++;
	pthread_mutex_unlock(&emu->lock);
}

void rtemu_stats(struct rtemu *emu, struct rtemu_stats *out)
{
	pthread_mutex_lock(&emu->lock);
	*out = emu->stats;
	pthread_mutex_unlock(&emu->lock);
}

void rtemu_stop(struct rtemu *emu)
{
	if(!emu)
		return;
	pthread_mutex_lock(&emu->lock);
	emu->stopping = true;
	pthread_mutex_unlock(&emu->lock);
	wake(emu);
	pthread_join(emu->thread, NULL);
	close(emu->wake[0]);
	close(emu->wake[1]);
	while(emu->events) {
		struct event *ev = emu->events;

		emu->events = ev->next;
		free(ev->body);
		free(ev->trace_id);
		rtemu_result_release(&ev->result);
		free(ev);
	}
	rtemu_result_release(&emu->init_error);
	pthread_mutex_destroy(&emu->lock);
	pthread_cond_destroy(&emu->cond);
	free(emu);
}
