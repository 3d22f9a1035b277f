/*
 * fixture.h: one test's world for running the real `imgpipe` binary as a
 * child process against real parts: s3rver with its buckets (s3test.h),
 * the Runtime API emulator (rtemu.h), an optional fault proxy in front of
 * s3rver, a scratch folder, and the child itself with its stdout and
 * stderr in files. A test (or a suite's .init) calls fx_start, and
 * fx_stop (the suite's .fini) kills and reaps the child and ends all the
 * rest; FX_SUITE writes that suite for a Criterion file. One child at a
 * time. Nothing here asserts: helpers return a bool or a status, say why
 * in f->error, and the tests assert (FX_SUITE's .init, in the test file,
 * asserts that fx_start succeeded).
 *
 * The environment a child gets (fx_env, fx_spawn), one policy for every
 * test: the test process's own environment, less what would change
 * imgpipe's behaviour behind the test's back
 *     IMGPIPE_*, AWS_LAMBDA_*, _X_AMZN_TRACE_ID, AWS_ENDPOINT_URL*,
 *     LD_PRELOAD, MALLOC_*
 * plus
 *     AWS_EC2_METADATA_DISABLED=true   (no test may reach an instance
 *                                       metadata address)
 *     AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT   while the emulator runs
 *     AWS_ENDPOINT_URL_S3=http://127.0.0.1:PORT   the proxy's, while the
 *                                       test runs one; else s3rver's,
 *                                       while it runs
 * then the test's `set`, in order: "NAME=value" sets or replaces, a bare
 * "NAME" removes, and a later entry for a name wins over an earlier one
 * (so a helper's defaults can come first and a test's own after them).
 * Sanitizer options (ASAN_OPTIONS, LSAN_OPTIONS, UBSAN_OPTIONS) pass
 * through unless `set` replaces them. Credentials and the rest of AWS_*
 * come from the test's environment: fx_start with buckets points it at
 * s3rver (s3test_env), which is what the child then inherits.
 *
 * A child that must see nothing of the host's environment (a container
 * stand-in) is started with fx_exec and an environment of its own.
 */
#ifndef IMGP_FIXTURE_H
#define IMGP_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

#include "s3test.h"
#include "testutil.h"

struct imgp_store;
struct rtemu;

struct fx {
	bool started;              /* fx_start ran; fx_stop leaves a zeroed fx alone */
	struct s3srv srv;          /* s3rver, when buckets were asked for (srv.pid > 0 while it runs) */
	struct netfake proxy;      /* proxy_start(&f->proxy, f->srv.port, ...) by the test; fd -1 when none */
	struct rtemu *emu;         /* the Runtime API emulator, when asked for */
	struct imgp_store *st;     /* an "s3" store on srv, for the test's own puts and heads */
	char *scratch;             /* a temporary folder, removed by fx_stop */
	pid_t child;               /* the child, -1 when none */
	double started_ms;         /* rtemu_now_ms() just before the child was started */
	char out_path[4200], err_path[4200];    /* its stdout and stderr, in scratch */
	char error[1024];          /* why the last helper that failed failed */
};

/*
 * Start what a test needs: s3rver with buckets (NULL-terminated; NULL: no
 * s3rver, no store) with this process's AWS_* pointed at it and the store
 * f->st opened on it; the emulator when runtime; the scratch folder
 * always. false with f->error when something did not start; what did is
 * stopped again.
 */
bool fx_start(struct fx *f, const char *const *buckets, bool runtime);
/* Kill and reap the child, stop the proxy, the emulator and s3rver, close
 * the store, remove scratch. Idempotent; a zeroed fx is left alone. */
void fx_stop(struct fx *f);

/* The child's environment (see above) as a NULL-ended array in one
 * allocation: free() it. Its entries from this process's environment are
 * that environment's own strings: use it before the next setenv. */
const char **fx_env(const struct fx *f, const char *const *set);

/*
 * Start path as argv with exactly envp (NULL: this process's environment),
 * stdout into f->out_path and stderr into f->err_path (both truncated).
 * A child of f still running is killed first. Returns its pid (also in
 * f->child), or -1 with f->error.
 */
pid_t fx_exec(struct fx *f, const char *path, const char *const *argv,
              const char *const *envp);
/* Start the imgpipe under test (tu_bin()) as argv0 with args (NULL-ended,
 * NULL for none) in fx_env(f, set); as fx_exec. */
pid_t fx_spawn(struct fx *f, const char *argv0, const char *const *args,
               const char *const *set);
/* Wait up to timeout_ms for the child: its exit status, 128 + the signal
 * that ended it, or -1 when it still runs (or there is none). */
int fx_wait(struct fx *f, long timeout_ms);
/* SIGKILL the child and reap it; nothing when there is none. */
void fx_kill(struct fx *f);
/* What the child wrote so far: malloc'd, "" when nothing. */
char *fx_read_stdout(const struct fx *f);
char *fx_read_stderr(const struct fx *f);

/* Put the file at path as bucket/key through f->st with content_type;
 * false with f->error ("put KEY: why", "cannot read PATH"). */
bool fx_put_file(struct fx *f, const char *bucket, const char *key, const char *path,
                 const char *content_type);
/* The same for a generated test image, rel under IMGPIPE_TESTDATA (tu_data). */
bool fx_put_testdata(struct fx *f, const char *bucket, const char *key, const char *rel,
                     const char *content_type);

/*
 * In a Criterion test file: the file's fixture `fx` and a suite whose
 * every test gets a fresh one: .init starts libvips and
 * fx_start(&fx, buckets, runtime), asserting that it did; .fini is
 * fx_stop(&fx). The arguments after runtime are TestSuite's (.timeout).
 */
#define FX_SUITE(suite, buckets, runtime, ...)                                   \
	static struct fx fx;                                                     \
	static void fx_suite_init(void)                                          \
	{                                                                        \
		tu_vips_start();                                                 \
		cr_assert(fx_start(&fx, (buckets), (runtime)), "%s", fx.error);  \
	}                                                                        \
	static void fx_suite_fini(void)                                          \
	{                                                                        \
		fx_stop(&fx);                                                    \
	}                                                                        \
	TestSuite(suite, .init = fx_suite_init, .fini = fx_suite_fini, __VA_ARGS__)

#endif
