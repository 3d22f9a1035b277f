/*
 * fixture.c: see fixture.h.
 */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "rtemu.h"
#include "testutil.h"

extern char **environ;

static bool fail(struct fx *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
	return false;
}

bool fx_start(struct fx *f, const char *const *buckets, bool runtime)
{
	char err[IMGP_ERRSIZE] = "";

	memset(f, 0, sizeof(*f));
	f->started = true;
	f->srv.pid = -1;
	f->srv.stdin_fd = -1;
	f->proxy.fd = -1;
	f->child = -1;
	f->scratch = tu_tempdir();
	snprintf(f->out_path, sizeof(f->out_path), "%s/child.stdout", f->scratch);
	snprintf(f->err_path, sizeof(f->err_path), "%s/child.stderr", f->scratch);
	if(runtime && rtemu_start(&f->emu)) {
		fail(f, "rtemu_start: %s", strerror(errno));
		goto failed;
	}
	if(buckets) {
		if(!s3srv_start(&f->srv, buckets)) {
			fail(f, "s3rver did not start");
			goto failed;
		}
		s3test_env(f->srv.endpoint);
		if(imgp_store_open("s3", &f->st, err)) {
			fail(f, "the test's S3 store: %s", err);
			goto failed;
		}
	}
	return true;
failed:
	fx_stop(f);
	return false;
}

void fx_stop(struct fx *f)
{
	if(!f->started)
		return;
	fx_kill(f);
	netfake_stop(&f->proxy);
	rtemu_stop(f->emu);
	f->emu = NULL;
	imgp_store_close(f->st);
	f->st = NULL;
	s3srv_stop(&f->srv);    /* fx_start made it safe to stop unstarted */
	if(f->scratch)
		tu_rmtree(f->scratch);
	free(f->scratch);
	f->scratch = NULL;
}

/* ---- the child's environment --------------------------------------------- */

/* Dropped from the test's environment; a trailing '*' matches a prefix. */
static const char *const dropped[] = {
	"IMGPIPE_*", "AWS_LAMBDA_*", "_X_AMZN_TRACE_ID", "AWS_ENDPOINT_URL*",
	"LD_PRELOAD", "MALLOC_*", NULL,
};

static size_t name_len(const char *entry)
{
	return strcspn(entry, "=");
}

static bool same_name(const char *a, const char *b)
{
	size_t n = name_len(a);

	return name_len(b) == n && !strncmp(a, b, n);
}

static bool is_dropped(const char *entry)
{
	size_t n = name_len(entry);

	for(const char *const *d = dropped; *d; d++) {
		size_t k = strlen(*d);

		if((*d)[k - 1] == '*' ? n >= k - 1 && !strncmp(entry, *d, k - 1)
		                      : n == k && !strncmp(entry, *d, k))
			return true;
	}
	return false;
}

/* Is entry's name given in set (any form)? */
static bool in_set(const char *entry, const char *const *set)
{
	for(; set && *set; set++)
		if(same_name(entry, *set))
			return true;
	return false;
}

const char **fx_env(const struct fx *f, const char *const *set)
{
	char ours[3][128];
	size_t n = 0, nours = 0, k = 0, strings = 0;
	const char **envp;
	char *store;

	snprintf(ours[nours++], sizeof(ours[0]), "AWS_EC2_METADATA_DISABLED=true");
	if(f->emu)
		snprintf(ours[nours++], sizeof(ours[0]), "AWS_LAMBDA_RUNTIME_API=%s",
		         rtemu_api(f->emu));
	if(f->proxy.fd >= 0)
		snprintf(ours[nours++], sizeof(ours[0]), "AWS_ENDPOINT_URL_S3=http://127.0.0.1:%d",
		         f->proxy.port);
	else if(f->srv.pid > 0)
		snprintf(ours[nours++], sizeof(ours[0]), "AWS_ENDPOINT_URL_S3=%s", f->srv.endpoint);

	for(char **e = environ; *e; e++)
		n++;
	for(const char *const *s = set; s && *s; s++)
		n++;
	for(size_t i = 0; i < nours; i++)
		strings += strlen(ours[i]) + 1;
	/* the pointers, then our strings after them: one free() */
	envp = malloc((n + nours + 1) * sizeof(*envp) + strings);
	if(!envp)
		return NULL;
	store = (char *)(envp + n + nours + 1);

	for(char **e = environ; *e; e++)
		if(!is_dropped(*e) && !in_set(*e, set))
			envp[k++] = *e;
	for(size_t i = 0; i < nours; i++)
		if(!in_set(ours[i], set)) {
			envp[k++] = strcpy(store, ours[i]);
			store += strlen(ours[i]) + 1;
		}
	/* set: the last entry of a name is the one that counts */
	for(const char *const *s = set; s && *s; s++)
		if(strchr(*s, '=') && !in_set(*s, s + 1))
			envp[k++] = *s;
	envp[k] = NULL;
	return envp;
}

/* ---- the child ------------------------------------------------------------ */

pid_t fx_exec(struct fx *f, const char *path, const char *const *argv,
              const char *const *envp)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	fx_kill(f);
	if((rc = posix_spawn_file_actions_init(&fa)))
		return fail(f, "posix_spawn_file_actions_init: %s", strerror(rc)), -1;
	rc = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, f->out_path,
	                                      O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if(!rc)
		rc = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, f->err_path,
		                                      O_WRONLY | O_CREAT | O_TRUNC, 0600);
	f->started_ms = rtemu_now_ms();
	if(!rc)
		rc = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv,
		                 envp ? (char *const *)envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	if(rc)
		return fail(f, "cannot start %s: %s", path, strerror(rc)), -1;
	f->child = pid;
	return pid;
}

pid_t fx_spawn(struct fx *f, const char *argv0, const char *const *args,
               const char *const *set)
{
	const char *argv[32];
	const char **envp = fx_env(f, set);
	size_t n = 0;
	pid_t pid;

	if(!envp)
		return fail(f, "fx_env: out of memory"), -1;
	argv[n++] = argv0;
	for(; args && *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fx_exec(f, tu_bin(), argv, envp);
	free(envp);
	return pid;
}

int fx_wait(struct fx *f, long timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000000L };
	int status;

	for(long waited = 0; f->child > 0 && waited <= timeout_ms; waited += 10) {
		if(waitpid(f->child, &status, WNOHANG) == f->child) {
			f->child = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if(waited < timeout_ms)
			nanosleep(&tick, NULL);
	}
	return -1;
}

void fx_kill(struct fx *f)
{
	if(f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	f->child = -1;
}

static char *read_text(const char *path)
{
	size_t len;
	char *text = tu_read(path, &len);

	return text ? text : strdup("");
}

char *fx_read_stdout(const struct fx *f)
{
	return read_text(f->out_path);
}

char *fx_read_stderr(const struct fx *f)
{
	return read_text(f->err_path);
}

/* ---- objects -------------------------------------------------------------- */

bool fx_put_file(struct fx *f, const char *bucket, const char *key, const char *path,
                 const char *content_type)
{
	struct imgp_put_opts opts = { content_type, NULL, NULL, 0 };
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];
	size_t len;
	void *data = tu_read(path, &len);
	bool ok;

	if(!data)
		return fail(f, "cannot read %s", path);
	ok = imgp_store_put(f->st, bucket, key, data, len, &opts, &e) == IMGP_OK;
	free(data);
	return ok || fail(f, "put %s: %s", key, imgp_store_error_str(&e, line));
}

bool fx_put_testdata(struct fx *f, const char *bucket, const char *key, const char *rel,
                     const char *content_type)
{
	char *path = tu_data(rel);
	bool ok = fx_put_file(f, bucket, key, path, content_type);

	free(path);
	return ok;
}
