/*
 * s3test.h: the real parts the store tests run against, all on 127.0.0.1:
 *  - s3rver (npm, tests/package-lock.json) through tests/lib/s3server.js,
 *    which adds a real SigV4 check; one per test, on a port the kernel picks;
 *  - a fault proxy in front of it that answers 503 SlowDown, resets or
 *    stalls the first N connections, then forwards;
 *  - a tiny HTTP server whose answers a test writes (metadata services);
 *  - awscli (Debian's /usr/bin/aws) with a throwaway config.
 * Every helper that starts something has a stop that ends it; servers
 * started as processes live in their own process group and also exit when
 * the test process dies (their stdin closes). Nothing here asserts.
 */
#ifndef IMGP_S3TEST_H
#define IMGP_S3TEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

struct s3srv {
	pid_t pid;
	int port;
	int stdin_fd;           /* closing it ends the server */
	char *dir;              /* its data folder */
	char endpoint[64];      /* http://127.0.0.1:PORT */
};

/* Start s3rver with the given buckets (NULL-terminated list). */
bool s3srv_start(struct s3srv *s, const char *const *buckets);
/* The same with another script of tests/lib that speaks its protocol
 * (args: folder, buckets; "PORT n" on stdout): gcsserver.js. */
bool s3srv_start_script(struct s3srv *s, const char *script_name, const char *const *buckets);
void s3srv_stop(struct s3srv *s);

/*
 * Point imgpipe's store (and awscli) at endpoint with s3rver's keys
 * S3RVER/S3RVER; no profile files, no metadata services, no proxies.
 */
void s3test_env(const char *endpoint);

enum fault {
	FAULT_NONE,
	FAULT_SLOWDOWN,         /* answer 503 SlowDown and close */
	FAULT_RESET,            /* read the request, then reset the connection */
	FAULT_STALL,            /* read the request, then say nothing */
	/* per request, for the requests proxy_start_match picks: */
	FAULT_RESET_REQUEST_BODY,   /* read half the request body, then reset */
	FAULT_RESET_RESPONSE_BODY,  /* forward, relay half the answer's body, reset */
	FAULT_TRICKLE,              /* forward, relay the answer 512 bytes per 20 ms */
	FAULT_500,                  /* answer 500 InternalError and close */
};

/* A loopback server run by threads of the test process. */
struct netfake {
	int fd;
	int port;
	pthread_t thread;
	atomic_bool stop;
	/* proxy */
	int upstream_port;
	enum fault fault;
	atomic_int faults_left;
	atomic_int connections;
	char match[128];        /* proxy_start_match: request line substring */
	atomic_int matched;     /* requests that matched (faulted or not) */
	/* responder: fills status, content type and body for a request */
	void (*respond)(void *ud, const char *method, const char *path,
	                const char *head, int *status, char *body, size_t bodysize);
	void *ud;
	pthread_mutex_t lock;
	pthread_t *workers;
	size_t nworkers;
};

/* Start a proxy to 127.0.0.1:upstream_port; its first `count` connections get `fault`. */
bool proxy_start(struct netfake *p, int upstream_port, enum fault fault, int count);
/*
 * Start a proxy that reads each request whole and judges it alone: one
 * whose request line contains match ("PUT /web/medium/") gets fault while
 * `count` remain (count < 0: always); every other request is forwarded.
 * One request per connection (the proxy closes after the answer), so a
 * client's kept-alive connection never carries a fault to another request.
 */
bool proxy_start_match(struct netfake *p, int upstream_port, enum fault fault, int count,
                       const char *match);
/* Start a responder that answers every request through respond(). */
bool responder_start(struct netfake *p,
                     void (*respond)(void *ud, const char *method, const char *path,
                                     const char *head, int *status, char *body,
                                     size_t bodysize),
                     void *ud);
/* Stop either: close the listener, end and join every connection's thread. */
void netfake_stop(struct netfake *p);

/* The awscli to use: Debian's /usr/bin/aws if there, else `aws` on PATH. */
const char *s3test_aws(void);
/* Run awscli with args (NULL-terminated, after the program name) against endpoint. */
int s3test_run_aws(const char *endpoint, const char *const *args, char **out, char **err);

#endif
