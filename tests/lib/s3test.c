/*
 * s3test.c: see s3test.h.
 */
#include "s3test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* --- s3rver ------------------------------------------------------------------ */

bool s3srv_start(struct s3srv *s, const char *const *buckets)
{
	return s3srv_start_script(s, "s3server.js", buckets);
}

bool s3srv_start_script(struct s3srv *s, const char *script_name, const char *const *buckets)
{
	int in[2], out[2];
	char line[128] = "", *script = NULL;
	size_t got = 0;
	const char *argv[32];
	int n = 0;

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	s->stdin_fd = -1;
	s->dir = tu_tempdir();
	if(asprintf(&script, "%s/tests/lib/%s", tu_srcdir(), script_name) < 0)
		return false;
	argv[n++] = "node";
	argv[n++] = script;
	argv[n++] = s->dir;
	for(int i = 0; buckets && buckets[i] && n < 30; i++)
		argv[n++] = buckets[i];
	argv[n] = NULL;
	if(pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		free(script);
		return false;
	}
	s->pid = fork();
	if(s->pid == 0) {
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execvp("node", (char *const *)argv);
		_exit(127);
	}
	free(script);
	close(in[0]);
	close(out[1]);
	s->stdin_fd = in[1];
	if(s->pid < 0) {
		close(out[0]);
		return false;
	}
	setpgid(s->pid, s->pid);
	/* "PORT n\n" within 20 s */
	while(got < sizeof(line) - 1 && !strchr(line, '\n')) {
		struct pollfd pfd = { out[0], POLLIN, 0 };
		ssize_t r;

		if(poll(&pfd, 1, 20000) <= 0)
			break;
		r = read(out[0], line + got, sizeof(line) - 1 - got);
		if(r <= 0)
			break;
		got += (size_t)r;
		line[got] = '\0';
	}
	close(out[0]);
	if(sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0) {
		fprintf(stderr, "s3test: s3rver did not start (got \"%s\"); "
		        "is tests/node_modules installed (make test runs npm ci)?\n", line);
		s3srv_stop(s);
		return false;
	}
	snprintf(s->endpoint, sizeof(s->endpoint), "http://127.0.0.1:%d", s->port);
	return true;
}

void s3srv_stop(struct s3srv *s)
{
	if(s->stdin_fd >= 0)
		close(s->stdin_fd);
	s->stdin_fd = -1;
	if(s->pid > 0) {
		kill(-s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
	if(s->dir) {
		tu_rmtree(s->dir);
		free(s->dir);
		s->dir = NULL;
	}
}

void s3test_env(const char *endpoint)
{
	setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
	setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/imgpipe-test/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/imgpipe-test/credentials", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("AWS_PAGER", "", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("IMGPIPE_S3_ADDRESSING");
	unsetenv("_X_AMZN_TRACE_ID");
}

/* --- loopback servers -------------------------------------------------------- */

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if(fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;   /* the kernel picks a free port */
	if(bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	   getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for fd to be readable, checking stop every 50 ms; false on stop. */
static bool wait_readable(struct netfake *p, int fd)
{
	while(!atomic_load(&p->stop)) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if(poll(&pfd, 1, 50) > 0)
			return true;
	}
	return false;
}

/*
 * Read one request: the head (NUL-ended in head) and, by Content-Length,
 * its body (dropped). False when the peer went away or we were stopped.
 */
static bool read_request(struct netfake *p, int fd, char *head, size_t size)
{
	size_t got = 0;
	long body = 0;
	char *end = NULL, *cl;

	while(!end) {
		ssize_t r;

		if(got >= size - 1 || !wait_readable(p, fd))
			return false;
		r = read(fd, head + got, size - 1 - got);
		if(r <= 0)
			return false;
		got += (size_t)r;
		head[got] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	cl = strcasestr(head, "\ncontent-length:");
	if(cl)
		body = strtol(cl + 16, NULL, 10);
	body -= (long)(got - (size_t)(end + 4 - head));
	end[2] = '\0';
	while(body > 0) {
		char sink[16384];
		ssize_t r;

		if(!wait_readable(p, fd))
			return false;
		r = read(fd, sink, sizeof(sink));
		if(r <= 0)
			return false;
		body -= r;
	}
	return true;
}

static void write_all(int fd, const char *data, size_t len)
{
	while(len) {
		ssize_t w = send(fd, data, len, MSG_NOSIGNAL);

		if(w <= 0)
			return;
		data += w;
		len -= (size_t)w;
	}
}

/* Copy bytes both ways until either side closes or we are stopped. */
static void pipe_both(struct netfake *p, int a, int b)
{
	char buf[65536];

	while(!atomic_load(&p->stop)) {
		struct pollfd pfd[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

		if(poll(pfd, 2, 50) <= 0)
			continue;
		for(int i = 0; i < 2; i++) {
			if(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(pfd[i].fd, buf, sizeof(buf));

				if(r <= 0)
					return;
				write_all(i ? a : b, buf, (size_t)r);
			}
		}
	}
}

struct conn {
	struct netfake *p;
	int fd;
};

static const char slowdown_body[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
	"<Message>Please reduce your request rate.</Message>"
	"<RequestId>FAKEPROXY503</RequestId></Error>";

static void send_slowdown(int fd)
{
	char head[256];

	snprintf(head, sizeof(head), "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
	         "x-amz-request-id: FAKEPROXY503\r\nConnection: close\r\n"
	         "Content-Length: %zu\r\n\r\n", strlen(slowdown_body));
	write_all(fd, head, strlen(head));
	write_all(fd, slowdown_body, strlen(slowdown_body));
}

static void proxy_conn(struct netfake *p, int fd)
{
	char head[65536];
	bool faulty = atomic_fetch_sub(&p->faults_left, 1) > 0;
	int up;

	if(faulty && p->fault != FAULT_NONE) {
		if(!read_request(p, fd, head, sizeof(head)))
			return;
		if(p->fault == FAULT_SLOWDOWN)
			send_slowdown(fd);
		else if(p->fault == FAULT_RESET) {
			struct linger lg = { 1, 0 };   /* close sends RST */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		else if(p->fault == FAULT_STALL) {
			char c;
			/* hold it open, silent, until the client gives up or we stop */
			while(wait_readable(p, fd) && recv(fd, &c, 1, MSG_PEEK) > 0)
				usleep(50000);
		}
		return;
	}
	up = connect_loopback(p->upstream_port);
	if(up < 0)
		return;
	pipe_both(p, fd, up);
	close(up);
}

/* Read until the head is whole and then its Content-Length of body; the
 * bytes (head and body) into *buf. False when the peer went away. */
static bool read_whole_request(struct netfake *p, int fd, char **buf, size_t *len,
                               size_t *head_len, long *body_len)
{
	size_t cap = 65536, got = 0;
	char *b = malloc(cap), *end = NULL, *cl;

	*buf = NULL;
	while(b && !end) {
		ssize_t r;

		if(got >= cap - 1 || !wait_readable(p, fd))
			break;
		r = read(fd, b + got, cap - 1 - got);
		if(r <= 0)
			break;
		got += (size_t)r;
		b[got] = '\0';
		end = strstr(b, "\r\n\r\n");
	}
	if(!end) {
		free(b);
		return false;
	}
	*head_len = (size_t)(end + 4 - b);
	cl = strcasestr(b, "\ncontent-length:");
	*body_len = cl && cl < end ? strtol(cl + 16, NULL, 10) : 0;
	while(got < *head_len + (size_t)*body_len) {
		ssize_t r;

		if(got + 1 >= cap) {
			char *grown = realloc(b, cap * 2);

			if(!grown)
				break;
			b = grown;
			cap *= 2;
		}
		if(!wait_readable(p, fd))
			break;
		r = read(fd, b + got, cap - 1 - got);
		if(r <= 0)
			break;
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	return got >= *head_len + (size_t)*body_len;
}

static void reset_close(int fd)
{
	struct linger lg = { 1, 0 };   /* close sends RST */

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Send the request upstream with "Connection: close" and read the whole
 * answer; NULL when upstream is not there. */
static char *upstream_exchange(struct netfake *p, const char *req, size_t len,
                               size_t *out_len)
{
	const char *eol = memchr(req, '\n', len);
	size_t cap = 65536, got = 0;
	char *resp = malloc(cap);
	int up = connect_loopback(p->upstream_port);

	if(up < 0 || !resp || !eol) {
		if(up >= 0)
			close(up);
		free(resp);
		return NULL;
	}
	write_all(up, req, (size_t)(eol + 1 - req));
	write_all(up, "Connection: close\r\n", 19);
	write_all(up, eol + 1, len - (size_t)(eol + 1 - req));
	for(;;) {
		ssize_t r;

		if(got == cap) {
			char *grown = realloc(resp, cap * 2);

			if(!grown)
				break;
			resp = grown;
			cap *= 2;
		}
		if(!wait_readable(p, up))
			break;
		r = read(up, resp + got, cap - got);
		if(r <= 0)
			break;
		got += (size_t)r;
	}
	close(up);
	*out_len = got;
	return resp;
}

static void match_conn(struct netfake *p, int fd)
{
	static const char body500[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
		"<Message>We encountered an internal error. Please try again.</Message>"
		"<RequestId>FAKEPROXY500</RequestId></Error>";
	char *req = NULL, *resp = NULL, line[256];
	size_t len = 0, head_len = 0, resp_len = 0;
	long body_len = 0;
	bool whole, faulty = false;
	const char *eol;

	whole = read_whole_request(p, fd, &req, &len, &head_len, &body_len);
	if(!req)
		return;
	eol = strstr(req, "\r\n");
	snprintf(line, sizeof(line), "%.*s", eol ? (int)(eol - req) : 0, req);
	if(strstr(line, p->match)) {
		atomic_fetch_add(&p->matched, 1);
		faulty = atomic_load(&p->faults_left) != 0;
		if(faulty && atomic_load(&p->faults_left) > 0)
			atomic_fetch_sub(&p->faults_left, 1);
	}
	if(!whole && !(faulty && p->fault == FAULT_RESET_REQUEST_BODY))
		goto out;
	if(faulty && p->fault == FAULT_RESET_REQUEST_BODY) {
		/* the body is cut: as if the server died half way through the upload */
		reset_close(fd);
		goto out;
	}
	if(faulty && p->fault == FAULT_500) {
		char head[256];

		snprintf(head, sizeof(head), "HTTP/1.1 500 Internal Server Error\r\n"
		         "Content-Type: application/xml\r\nx-amz-request-id: FAKEPROXY500\r\n"
		         "Connection: close\r\nContent-Length: %zu\r\n\r\n", strlen(body500));
		write_all(fd, head, strlen(head));
		write_all(fd, body500, strlen(body500));
		goto out;
	}
	resp = upstream_exchange(p, req, len, &resp_len);
	if(!resp)
		goto out;
	if(faulty && p->fault == FAULT_RESET_RESPONSE_BODY) {
		char *end = memmem(resp, resp_len, "\r\n\r\n", 4);
		size_t head_n = end ? (size_t)(end + 4 - resp) : resp_len;

		write_all(fd, resp, head_n + (resp_len - head_n) / 2);
		reset_close(fd);
	}
	else if(faulty && p->fault == FAULT_TRICKLE) {
		struct timespec tick = { 0, 20 * 1000000L };

		for(size_t at = 0; at < resp_len && !atomic_load(&p->stop); at += 512) {
			write_all(fd, resp + at, resp_len - at < 512 ? resp_len - at : 512);
			nanosleep(&tick, NULL);
		}
	}
	else
		write_all(fd, resp, resp_len);
out:
	free(req);
	free(resp);
}

static void responder_conn(struct netfake *p, int fd)
{
	char head[65536], method[16] = "", path[2048] = "", body[16384], *resp = NULL;
	int status = 404;

	while(read_request(p, fd, head, sizeof(head))) {
		body[0] = '\0';
		sscanf(head, "%15s %2047s", method, path);
		p->respond(p->ud, method, path, head, &status, body, sizeof(body));
		if(asprintf(&resp, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		            "Content-Length: %zu\r\n\r\n%s", status, strlen(body), body) < 0)
			return;
		write_all(fd, resp, strlen(resp));
		free(resp);
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	atomic_fetch_add(&c->p->connections, 1);
	if(c->p->respond)
		responder_conn(c->p, c->fd);
	else if(c->p->match[0])
		match_conn(c->p, c->fd);
	else
		proxy_conn(c->p, c->fd);
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct netfake *p = arg;

	while(wait_readable(p, p->fd)) {
		struct conn *c;
		pthread_t t;
		int fd = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC);

		if(fd < 0)
			continue;
		c = malloc(sizeof(*c));
		if(!c) {
			close(fd);
			continue;
		}
		c->p = p;
		c->fd = fd;
		pthread_mutex_lock(&p->lock);
		if(pthread_create(&t, NULL, conn_main, c) == 0) {
			pthread_t *grown = realloc(p->workers, (p->nworkers + 1) * sizeof(*grown));

			if(grown) {
				p->workers = grown;
				p->workers[p->nworkers++] = t;
			}
			else
				pthread_detach(t);
		}
		else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static bool netfake_start(struct netfake *p)
{
	p->fd = listen_loopback(&p->port);
	atomic_store(&p->stop, false);
	atomic_store(&p->connections, 0);
	pthread_mutex_init(&p->lock, NULL);
	p->workers = NULL;
	p->nworkers = 0;
	if(p->fd < 0)
		return false;
	if(pthread_create(&p->thread, NULL, accept_main, p)) {
		close(p->fd);
		p->fd = -1;
		return false;
	}
	return true;
}

bool proxy_start(struct netfake *p, int upstream_port, enum fault fault, int count)
{
	memset(p, 0, sizeof(*p));
	p->upstream_port = upstream_port;
	p->fault = fault;
	atomic_store(&p->faults_left, count);
	return netfake_start(p);
}

bool proxy_start_match(struct netfake *p, int upstream_port, enum fault fault, int count,
                       const char *match)
{
	memset(p, 0, sizeof(*p));
	p->upstream_port = upstream_port;
	p->fault = fault;
	snprintf(p->match, sizeof(p->match), "%s", match && *match ? match : " ");
	atomic_store(&p->faults_left, count);
	atomic_store(&p->matched, 0);
	return netfake_start(p);
}

bool responder_start(struct netfake *p,
                     void (*respond)(void *, const char *, const char *, const char *,
                                     int *, char *, size_t),
                     void *ud)
{
	memset(p, 0, sizeof(*p));
	p->respond = respond;
	p->ud = ud;
	return netfake_start(p);
}

void netfake_stop(struct netfake *p)
{
	if(p->fd < 0)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	close(p->fd);
	p->fd = -1;
	pthread_mutex_lock(&p->lock);
	for(size_t i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	free(p->workers);
	p->workers = NULL;
	p->nworkers = 0;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
}

/* --- awscli ---------------------------------------------------------------------- */

const char *s3test_aws(void)
{
	static char found[4096];
	const char *path = getenv("PATH");

	if(access("/usr/bin/aws", X_OK) == 0)
		return "/usr/bin/aws";
	/* tu_run wants a path: search PATH as a shell would */
	while(path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(found, sizeof(found), "%.*s/aws", (int)n, path);
		if(access(found, X_OK) == 0)
			return found;
		path += n + (path[n] == ':');
	}
	return "/usr/bin/aws";
}

int s3test_run_aws(const char *endpoint, const char *const *args, char **out, char **err)
{
	const char *argv[64];
	int n = 0;

	argv[n++] = s3test_aws();
	argv[n++] = "--endpoint-url";
	argv[n++] = endpoint;
	argv[n++] = "--no-cli-pager";
	for(int i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return tu_run(argv, out, err);
}
