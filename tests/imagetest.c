/*
 * imagetest.c: `make image-test`. The container image run as Lambda runs
 * it, against real parts on 127.0.0.1: s3rver (SigV4 checked) and the
 * Runtime API emulator of the tests, the container on the host's network
 * with a read-only root file system, as Lambda gives it.
 *
 *   imgpipe-image-test [--image IMAGE | --host | --bundle DIR] [--warm N]
 *                      [--soak N] [--memory MB] [--env NAME=VALUE]...
 *
 * An upload goes in (a 3000x2000 JPEG, then a HEIC as phones write them),
 * S3 ObjectCreated events are delivered through the emulator, and the
 * variants that come out are checked in the sink bucket (dimensions from
 * the decoded bytes, Content-Type, metadata). Then --warm N more uploads,
 * one invocation each, time the warm per-image path, and --soak N more
 * report the process's resident memory afterwards (the allocator
 * measurement). It prints the cold start: `create` (the container made from
 * the image) and start-to-first-/next (the container started, imgpipe's
 * INIT done, its first long poll at the emulator).
 *
 * --host runs IMGPIPE_BIN (build/imgpipe) instead of the container, with the
 * same environment, events and variants: the same per-image numbers on the
 * host, for comparison. --bundle DIR runs an unpacked `make dist` bundle
 * on the host as Lambda runs its .zip (DIR/bootstrap, make dist-test).
 * Each runs the format matrix (tests/lib/matrix.h) too.
 *
 * The last line is "image-test: N passed, N failed"; the exit status is 0
 * only when every check passed. Neither the container tool nor the image
 * being there is assumed: their absence is a failure that says so.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "lib/aztest.h"
#include "lib/events.h"
#include "lib/fixture.h"
#include "lib/rtemu.h"
#include "lib/matrix.h"
#include "lib/s3test.h"
#include "lib/servetest.h"
#include "lib/testutil.h"

#define SRC "uploads"
#define DST "web"
#define VARIANTS "thumb=320x320,fit=cover;medium=800x800,format=webp;large=1600x1600"
#define MAX_ENV 32

static struct {
	const char *image;
	bool host;                  /* a binary on this host: build/imgpipe, or... */
	const char *bundle;         /* ...a `make dist` bundle, unpacked here */
	int warm, soak;
	const char *memory;
	const char *env[MAX_ENV];
	int nenv;
	const char *arch;           /* --arch: what `uname -m` must say in it */
} opt = { "imgpipe:latest", false, NULL, 20, 0, "1769", { 0 }, 0, NULL };

/* The host's command: the bundle's start script, or build/imgpipe. */
static const char *host_command(const char *name)
{
	static char path[2][4200];
	int i = !strcmp(name, "bootstrap");

	if(!opt.bundle)
		return tu_bin();
	snprintf(path[i], sizeof(path[i]), "%s/%s", opt.bundle, name);
	return path[i];
}

static int passed, failed;
static struct fx fx;            /* s3rver, the emulator, the function's process */
static char container[64];

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("image-test: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("  %s  ", ok ? "ok  " : "FAIL");
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
	if(ok)
		passed++;
	else
		failed++;
	return ok;
}

/* The container tool wrapper (scripts/ctr) with args; exit status, output in *out. */
static int ctr(const char *const *args, char **out)
{
	const char *argv[64];
	char tool[4200], *err = NULL;
	int n = 0, status;

	snprintf(tool, sizeof(tool), "%s/scripts/ctr", tu_srcdir());
	argv[n++] = tool;
	for(; *args && n < 63; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = tu_run(argv, out, &err);
	if(status && err && *err)
		fprintf(stderr, "%s", err);
	free(err);
	return status;
}

static void stop_function(void)
{
	fx_kill(&fx);
	if(container[0]) {
		const char *rm[] = { "rm", "-f", "-t", "0", container, NULL };
		const char *rm_docker[] = { "rm", "-f", container, NULL };
		char *which = NULL;
		const char *w[] = { "--which", NULL };

		ctr(w, &which);
		ctr(which && !strncmp(which, "docker", 6) ? rm_docker : rm, NULL);
		free(which);
		container[0] = '\0';
	}
}

static void cleanup(void)
{
	stop_function();
	fx_stop(&fx);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int finish(void)
{
	cleanup();
	printf("image-test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

static _Noreturn void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("  FAIL  ");
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failed++;
	exit(finish());
}

/* ---- objects ------------------------------------------------------------ */

static void put_file(const char *path, const char *key, const char *type)
{
	if(!fx_put_file(&fx, SRC, key, path, type))
		fatal("%s", fx.error);
}

static char *s3_event(const char *key)
{
	struct imgp_object o;
	struct imgp_store_error e;
	char etag[64], *enc, *text;
	const char *t;

	if(imgp_store_head(fx.st, SRC, key, &o, &e))
		fatal("head %s: %s", key, e.msg);
	t = o.etag && *o.etag == '"' ? o.etag + 1 : o.etag ? o.etag : "";
	snprintf(etag, sizeof(etag), "%.*s", (int)strcspn(t, "\""), t);
	enc = tu_s3_key_encode(key);
	text = enc ? tu_s3_event(&(struct tu_object){ SRC, enc, etag, (long long)o.len }, 1)
	           : NULL;
	imgp_object_release(&o);
	free(enc);
	if(!text)
		fatal("the S3 event of %s cannot be made", key);
	return text;
}

/* ---- the function ------------------------------------------------------- */

/* Environment of the function, as Lambda and the template would set it. */
static int function_env(const char **env, int max, long invocations)
{
	static char api[96], s3[128], inv[64], mem[64];
	int n = 0;

	snprintf(api, sizeof(api), "AWS_LAMBDA_RUNTIME_API=%s", rtemu_api(fx.emu));
	snprintf(s3, sizeof(s3), "AWS_ENDPOINT_URL_S3=%s", fx.srv.endpoint);
	snprintf(inv, sizeof(inv), "IMGPIPE_MAX_INVOCATIONS=%ld", invocations);
	snprintf(mem, sizeof(mem), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%s", opt.memory);
	env[n++] = api;
	env[n++] = s3;
	env[n++] = "AWS_ACCESS_KEY_ID=S3RVER";
	env[n++] = "AWS_SECRET_ACCESS_KEY=S3RVER";
	env[n++] = "AWS_REGION=us-east-1";
	env[n++] = "AWS_EC2_METADATA_DISABLED=true";
	env[n++] = "AWS_LAMBDA_FUNCTION_NAME=imgpipe";
	env[n++] = mem;
	env[n++] = "IMGPIPE_VARIANTS=" VARIANTS;
	env[n++] = "IMGPIPE_DEST_BUCKET=" DST;
	env[n++] = "IMGPIPE_SOURCE_BUCKET=" SRC;
	env[n++] = inv;
	for(int i = 0; i < opt.nenv && n < max - 1; i++)
		env[n++] = opt.env[i];
	env[n] = NULL;
	return n;
}

/*
 * Start imgpipe with env (n entries): the host binary with only env and
 * PATH (a bundle as Lambda starts a .zip's: its bootstrap), or a container
 * from the image as Lambda runs it (a read-only root file system, a
 * writable /tmp, the host's network), named with tag. Returns the ms the
 * container tool took to create the container (0 on the host).
 */
static double launch(const char *const *env, int n, const char *tag)
{
	double t0, create_ms = 0;

	if(opt.host) {
		const char *argv[] = { host_command(opt.bundle ? "bootstrap" : "imgpipe"),
		                       opt.bundle ? NULL : "lambda", NULL };
		const char *envp[MAX_ENV + 20];
		int k = 0;

		for(int i = 0; i < n; i++)
			envp[k++] = env[i];
		envp[k++] = "PATH=/usr/local/bin:/usr/bin:/bin";
		envp[k] = NULL;
		if(fx_exec(&fx, argv[0], argv, envp) < 0)
			fatal("%s", fx.error);
	}
	else {
		const char *args[2 * MAX_ENV + 40];
		char tool[4200];
		int a = 0;

		snprintf(container, sizeof(container), "imgpipe-image-test-%s%ld", tag, (long)getpid());
		args[a++] = "create";
		args[a++] = "--name";
		args[a++] = container;
		args[a++] = "--network=host";
		args[a++] = "--read-only";
		args[a++] = "--tmpfs";
		args[a++] = "/tmp";
		for(int i = 0; i < n; i++) {
			args[a++] = "-e";
			args[a++] = env[i];
		}
		args[a++] = opt.image;
		args[a] = NULL;
		t0 = rtemu_now_ms();
		if(ctr(args, NULL)) {
			container[0] = '\0';
			fatal("the container tool could not create a container from %s "
			      "(did `make image` run?)", opt.image);
		}
		create_ms = rtemu_now_ms() - t0;
		snprintf(tool, sizeof(tool), "%s/scripts/ctr", tu_srcdir());
		{
			const char *argv[] = { tool, "start", "--attach", container, NULL };

			/* the container tool in this process's environment */
			if(fx_exec(&fx, tool, argv, NULL) < 0)
				fatal("%s", fx.error);
		}
	}
	return create_ms;
}

/*
 * Start the function; returns the ms from the start (the container's, or
 * the host process's exec) to the first /next; *create_ms is the time the
 * tool took to create the container (0 on the host).
 */
static double start_function(long invocations, double *create_ms)
{
	const char *env[MAX_ENV + 16];
	int nenv = function_env(env, MAX_ENV + 16, invocations);

	*create_ms = launch(env, nenv, "");
	if(rtemu_wait_nexts(fx.emu, 1, 60000)) {
		char *e = fx_read_stderr(&fx);
		fatal("the function made no /next within 60 s; its stderr:\n%s", e);
	}
	return rtemu_first_next_ms(fx.emu) - fx.started_ms;
}

/* The process that runs imgpipe: the child on the host, the container's
 * init process otherwise (a root podman or docker on this machine). */
static pid_t function_pid(void)
{
	const char *args[] = { "inspect", "--format", "{{.State.Pid}}", container, NULL };
	char *out = NULL;
	pid_t pid = 0;

	if(opt.host)
		return fx.child;
	if(!ctr(args, &out) && out)
		pid = (pid_t)atol(out);
	free(out);
	return pid;
}

/* VmRSS and VmHWM of pid in MB; false if it cannot be read. */
static bool rss_mb(pid_t pid, double *rss, double *hwm)
{
	char path[64], text[8192];
	const char *p;
	ssize_t got;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if(pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	/* a /proc file has no size: read until the end */
	while(len < sizeof(text) - 1 && (got = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	text[len] = '\0';
	if(!(p = strstr(text, "VmRSS:")))
		return false;
	*rss = atof(p + 6) / 1024;
	*hwm = (p = strstr(text, "VmHWM:")) ? atof(p + 6) / 1024 : 0;
	return true;
}

/* Deliver the ObjectCreated event of key; the reply's results[0] (a new
 * reference) and the ms from push to outcome. */
static json_t *invoke(const char *key, double *ms)
{
	struct rtemu_result r;
	char id[RTEMU_ID_SIZE], *event = s3_event(key);
	double t0 = rtemu_now_ms();
	json_t *reply, *res;

	if(rtemu_push(fx.emu, event, strlen(event), 60000, NULL, id))
		fatal("rtemu_push: out of memory");
	free(event);
	if(rtemu_wait(fx.emu, id, 90000, &r)) {
		char *e = fx_read_stderr(&fx);
		fatal("no outcome for %s within 90 s; the function's stderr:\n%s", key, e);
	}
	*ms = rtemu_now_ms() - t0;
	if(r.kind != RTEMU_RESPONSE) {
		check(false, "%s: a /response, not kind %d %s: %s", key, r.kind,
		      r.error_type ? r.error_type : "", r.body);
		rtemu_result_release(&r);
		return NULL;
	}
	reply = json_loadb(r.body, r.len, 0, NULL);
	res = reply ? json_array_get(json_object_get(reply, "results"), 0) : NULL;
	json_incref(res);
	json_decref(reply);
	if(!res)
		check(false, "%s: a reply with results[0]: %s", key, r.body);
	rtemu_result_release(&r);
	return res;
}

/* One variant in the sink: decoded dimensions within 1 px, Content-Type,
 * and the metadata naming its source. */
static void check_variant(const char *source, const char *key, int w, int h,
                          const char *type)
{
	struct imgp_object o;
	struct imgp_store_error e;
	VipsImage *im;

	imgp_store_error_clear(&e);
	if(!check(!imgp_store_get(fx.st, DST, key, 64 << 20, &o, &e), "%s/%s is in the sink%s%s", DST, key,
	          e.msg[0] ? ": " : "", e.msg))
		return;
	im = tu_decode(o.data, o.len);
	check(im && abs(vips_image_get_width(im) - w) <= 1 && abs(vips_image_get_height(im) - h) <= 1,
	      "  %s is %dx%d (expected %dx%d)", key, im ? vips_image_get_width(im) : 0,
	      im ? vips_image_get_height(im) : 0, w, h);
	check(o.content_type && !strcmp(o.content_type, type), "  %s has Content-Type %s (%s)",
	      key, type, o.content_type ? o.content_type : "none");
	check(imgp_object_meta(&o, "imgpipe-source") &&
	      !strcmp(imgp_object_meta(&o, "imgpipe-source"), source),
	      "  %s carries imgpipe-source: %s", key, source);
	if(im)
		g_object_unref(im);
	imgp_object_release(&o);
}

static void check_upload(const char *key, const char *stem, int w, int h)
{
	double ms;
	json_t *res = invoke(key, &ms);
	const char *status = res ? json_string_value(json_object_get(res, "status")) : NULL;
	char name[256];
	int lw = w, lh = h;

	check(status && !strcmp(status, "OK"), "%s: the reply says OK (%s), %.0f ms", key,
	      status ? status : "no status", ms);
	json_decref(res);
	/* thumb: cover 320x320; medium: inside 800x800 as WebP; large: inside
	 * 1600x1600, never enlarged */
	snprintf(name, sizeof(name), "thumb/%s.jpg", stem);
	check_variant(key, name, 320, 320, "image/jpeg");
	snprintf(name, sizeof(name), "medium/%s.webp", stem);
	check_variant(key, name, w >= h ? 800 : (int)(800.0 * w / h + 0.5),
	              w >= h ? (int)(800.0 * h / w + 0.5) : 800, "image/webp");
	if(w > 1600 || h > 1600) {
		lw = w >= h ? 1600 : (int)(1600.0 * w / h + 0.5);
		lh = w >= h ? (int)(1600.0 * h / w + 0.5) : 1600;
	}
	snprintf(name, sizeof(name), "large/%s.jpg", stem);
	check_variant(key, name, lw, lh, "image/jpeg");
}

/* What the image is, before it runs: its user, its entrypoint, and what
 * it carries (one libvips module, no compiler, no -dev package). */
/*
 * The image or bundle is for --arch, so that an arm64 run can never be an
 * x86_64 build tested by mistake: `uname -m` in the container (qemu-user
 * answers as the emulated CPU), the ELF machine of the bundle's binary.
 */
static void check_arch(void)
{
	char *out = NULL, got[80] = "?";

	if(opt.bundle) {
		char bin[4096];
		unsigned char h[20];
		FILE *f;

		snprintf(bin, sizeof(bin), "%s/lib/imgpipe.bin", opt.bundle);
		if((f = fopen(bin, "rb")) && fread(h, 1, sizeof(h), f) == sizeof(h)) {
			unsigned machine = h[18] | (unsigned)h[19] << 8;

			snprintf(got, sizeof(got), "%s", machine == 62 ? "x86_64" :
			         machine == 183 ? "aarch64" : "another machine");
		}
		if(f)
			fclose(f);
	} else if(!opt.host) {
		const char *uname[] = { "run", "--rm", "--network=none", "--entrypoint", "uname",
		                        opt.image, "-m", NULL };

		if(!ctr(uname, &out) && out) {
			out[strcspn(out, "\n")] = '\0';
			snprintf(got, sizeof(got), "%s", out);
		}
		free(out);
	} else {
		struct utsname u;

		if(!uname(&u))
			snprintf(got, sizeof(got), "%s", u.machine);
	}
	check(!strcmp(got, opt.arch), "it is built for %s (%s)", opt.arch, got);
}

static void check_image(void)
{
	const char *user[] = { "image", "inspect", "--format", "{{.Config.User}}", opt.image, NULL };
	const char *entry[] = { "image", "inspect", "--format", "{{json .Config.Entrypoint}}",
		opt.image, NULL };
	const char *look[] = { "run", "--rm", "--network=none", "--entrypoint", "/bin/sh", opt.image,
		"-c", "ls /usr/local/lib/imgpipe/; ls -d /usr/lib/*/vips-modules-* 2>/dev/null; "
		"for c in gcc cc c++ make; do command -v $c; done; "
		"dpkg-query -W -f '${Package}\\n' | grep -- '-dev$'; true", NULL };
	char *out = NULL;

	if(ctr(user, &out))
		fatal("%s is not in the container tool's store: run `make image` first", opt.image);
	out[strcspn(out, "\n")] = '\0';
	check(*out && strcmp(out, "0") && strcmp(out, "root"), "the image runs as a user who is "
	      "not root (%s)", *out ? out : "root, by default");
	free(out);
	out = NULL;
	if(ctr(entry, &out) || !out) {
		free(out);
		out = strdup("");
	}
	out[strcspn(out, "\n")] = '\0';
	check(strstr(out, "\"/usr/local/bin/imgpipe\",\"lambda\"") != NULL,
	      "its entrypoint is the Lambda loop (%s)", out);
	free(out);
	out = NULL;
	check(!ctr(look, &out) && out && !strcmp(out, "vips-heif.so\n"),
	      "it carries vips-heif (loaded when needed) as its only libvips module, no compiler, "
	      "no -dev package%s%s",
	      out && strcmp(out, "vips-heif.so\n") ? ":\n" : "",
	      out && strcmp(out, "vips-heif.so\n") ? out : "");
	free(out);
}

/*
 * The format matrix (tests/lib/matrix.h), run by the image's own imgpipe
 * (or the host's, with --host): every input format into every output,
 * each output decoded back here.
 */
static void check_formats(void)
{
	char *in = tu_data("matrix"), *out, *in_mount, *out_mount, *report = NULL, tool[4200];
	const char *host_prefix[] = { host_command("imgpipe"), NULL };
	const char *ctr_prefix[16];
	struct matrix_run m = { NULL, NULL, in, NULL, NULL };
	int n = 0, failures;

	if(asprintf(&out, "%s/matrix-out", fx.scratch) < 0 || mkdir(out, 0777) || chmod(out, 0777))
		fatal("cannot make %s/matrix-out", fx.scratch);
	if(asprintf(&in_mount, "%s:/in/matrix:ro", in) < 0 || asprintf(&out_mount, "%s:/out", out) < 0)
		fatal("out of memory");
	snprintf(tool, sizeof(tool), "%s/scripts/ctr", tu_srcdir());
	ctr_prefix[n++] = tool;
	ctr_prefix[n++] = "run";
	ctr_prefix[n++] = "--rm";
	ctr_prefix[n++] = "--network=none";
	ctr_prefix[n++] = "-v";
	ctr_prefix[n++] = in_mount;
	ctr_prefix[n++] = "-v";
	ctr_prefix[n++] = out_mount;
	ctr_prefix[n++] = "--entrypoint";
	ctr_prefix[n++] = "/usr/local/bin/imgpipe";
	ctr_prefix[n++] = opt.image;
	ctr_prefix[n] = NULL;
	m.prefix = opt.host ? host_prefix : ctr_prefix;
	m.in_arg = opt.host ? in : "/in/matrix";
	m.out_arg = opt.host ? out : "/out";
	m.out_host = out;
	failures = matrix_check(&m, &report);
	if(report)
		printf("%s\n", report);
	check(failures == 0, "the format matrix: every input format into every output%s",
	      failures < 0 ? ": it did not run" : "");
	if(!opt.host)
		check(report && strstr(report, "heic avif; writes") && strstr(report, " avif\n"),
		      "the image reads HEIC and AVIF and writes AVIF");
	free(report);
	free(in);
	free(out);
	free(in_mount);
	free(out_mount);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* TotalMs of the function's log lines for keys starting with prefix:
 * their median into *median; how many were found. */
static int log_total_ms(const char *prefix, double *median)
{
	char *text = fx_read_stdout(&fx), *line, *save = NULL;
	double *v = calloc(opt.warm + opt.soak + 1, sizeof(*v));
	int n = 0;

	for(line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);
		const char *key = doc ? json_string_value(json_object_get(doc, "key")) : NULL;

		if(key && !strncmp(key, prefix, strlen(prefix)) && n < opt.warm + opt.soak)
			v[n++] = json_number_value(json_object_get(doc, "TotalMs"));
		json_decref(doc);
	}
	if(n) {
		qsort(v, n, sizeof(*v), cmp_double);
		*median = v[n / 2];
	}
	free(v);
	free(text);
	return n;
}

/* Wait up to 60 s for serve's GET /healthz 200; the ms it took, or -1. */
static double wait_healthy(int port)
{
	double t0 = rtemu_now_ms();
	struct st_reply r;
	bool up = false;

	while(!up && rtemu_now_ms() - t0 < 60000) {
		up = st_request(port, "GET", "/healthz", NULL, NULL, 0, 2000, &r) == 200;
		st_reply_release(&r);
		if(!up)
			usleep(50 * 1000);
	}
	return up ? rtemu_now_ms() - t0 : -1;
}

/* Stop serve as Cloud Run, Kubernetes and Functions do (SIGTERM); its
 * exit status. */
static int stop_serve(void)
{
	if(opt.host)
		kill(fx.child, SIGTERM);
	else {
		const char *stop[] = { "stop", "-t", "10", container, NULL };

		ctr(stop, NULL);
	}
	return fx_wait(&fx, 20000);
}

/*
 * The same image as Cloud Run and Knative run it: its entrypoint with
 * $PORT set and no Runtime API is `imgpipe serve`. A Cloud Storage
 * CloudEvent in binary mode, as Eventarc posts it, and a MinIO webhook
 * record; their variants checked; SIGTERM, as the platforms stop it, and
 * exit 0.
 */
static void check_serve(void)
{
	static char port_env[32], s3[128];
	const char *env[MAX_ENV + 16], *h[8];
	char idbuf[96], *body;
	struct st_reply r;
	int n = 0, port = tu_free_port(), status;
	double up_ms;

	put_file(tu_data("samples/landscape.jpg"), "serve/eventarc.jpg", "image/jpeg");
	put_file(tu_data("samples/portrait.jpg"), "serve/minio one.jpg", "image/jpeg");
	snprintf(port_env, sizeof(port_env), "PORT=%d", port);
	snprintf(s3, sizeof(s3), "AWS_ENDPOINT_URL_S3=%s", fx.srv.endpoint);
	env[n++] = port_env;
	env[n++] = "IMGPIPE_LISTEN=127.0.0.1";   /* the host's network: loopback only */
	env[n++] = s3;
	env[n++] = "AWS_ACCESS_KEY_ID=S3RVER";
	env[n++] = "AWS_SECRET_ACCESS_KEY=S3RVER";
	env[n++] = "AWS_REGION=us-east-1";
	env[n++] = "AWS_EC2_METADATA_DISABLED=true";
	env[n++] = "IMGPIPE_VARIANTS=" VARIANTS;
	env[n++] = "IMGPIPE_DEST_BUCKET=" DST;
	env[n++] = "IMGPIPE_SOURCE_BUCKET=" SRC;
	env[n] = NULL;
	say("serve mode: PORT=%d, no Runtime API", port);
	launch(env, n, "serve-");
	up_ms = wait_healthy(port);
	if(!check(up_ms >= 0, "serve answers GET /healthz 200, %.0f ms after the start", up_ms)) {
		char *e = fx_read_stderr(&fx);
		printf("its stderr:\n%s\n", e);
		free(e);
		return;
	}
	st_binary_headers("google.cloud.storage.object.v1.finalized", "image-test-1", h, idbuf);
	body = st_gcs_object(&fx, SRC, "serve/eventarc.jpg", "1764490000000001");
	st_post(port, h, body, &r);
	check(r.status == 200 && strstr(r.body, "\"outcome\":\"done\""),
	      "an Eventarc CloudEvent: HTTP %ld, done (%.0f ms)", r.status, r.ms);
	st_reply_release(&r);
	free(body);
	check_variant("serve/eventarc.jpg", "thumb/serve/eventarc.jpg", 320, 320, "image/jpeg");
	check_variant("serve/eventarc.jpg", "medium/serve/eventarc.webp", 800, 533, "image/webp");
	body = st_minio_event(&fx, SRC, "serve/minio one.jpg");
	st_post(port, NULL, body, &r);
	check(r.status == 200 && strstr(r.body, "\"outcome\":\"done\""),
	      "a MinIO webhook record: HTTP %ld, done (%.0f ms)", r.status, r.ms);
	st_reply_release(&r);
	free(body);
	check_variant("serve/minio one.jpg", "thumb/serve/minio one.jpg", 320, 320, "image/jpeg");
	st_post(port, NULL, "{\"not\":\"an event\"}", &r);
	check(r.status == 400, "not an event: HTTP %ld", r.status);
	st_reply_release(&r);
	status = stop_serve();
	check(status == 0, "serve exits 0 on SIGTERM (%d)", status);
	stop_function();
}

/*
 * The same image on Azure: Blob Storage (Azurite on the host's loopback,
 * its Shared Key checked), started as the Functions host starts a custom
 * handler (FUNCTIONS_CUSTOMHANDLER_PORT set, no Runtime API: the
 * entrypoint runs `imgpipe serve`). An Event Grid delivery to POST /, and
 * an eventGridTrigger request to POST /ImgpipeEventGrid; the variants read
 * back with Microsoft's @azure/storage-blob.
 */
static void check_serve_azure(void)
{
	static const char *const containers[] = { SRC, DST, NULL };
	static char port_env[48], conn[600], conn_env[700];
	const char *env[MAX_ENV + 16];
	struct s3srv az;
	struct st_reply r;
	json_t *ev, *props;
	char *body, *path = tu_data("samples/landscape.jpg");
	int n = 0, port = tu_free_port(), status;
	double up_ms;

	if(!check(s3srv_start_script(&az, "azurite.js", containers), "Azurite started")) {
		free(path);
		return;
	}
	{
		const char *put1[] = { "put", SRC, "azure/event grid.jpg", path, "image/jpeg", NULL };
		const char *put2[] = { "put", SRC, "azure/function.jpg", path, "image/jpeg", NULL };
		char *out = NULL;

		check(!az_blob(az.port, &out, NULL, put1) && !az_blob(az.port, NULL, NULL, put2),
		      "two uploads put with @azure/storage-blob");
		free(out);
	}
	az_conn(az.port, conn, sizeof(conn));
	snprintf(conn_env, sizeof(conn_env), "AZURE_STORAGE_CONNECTION_STRING=%s", conn);
	snprintf(port_env, sizeof(port_env), "FUNCTIONS_CUSTOMHANDLER_PORT=%d", port);
	env[n++] = port_env;
	env[n++] = "IMGPIPE_LISTEN=127.0.0.1";
	env[n++] = "IMGPIPE_STORE=azure";
	env[n++] = conn_env;
	env[n++] = "IMGPIPE_VARIANTS=" VARIANTS;
	env[n++] = "IMGPIPE_DEST_BUCKET=" DST;
	env[n++] = "IMGPIPE_SOURCE_BUCKET=" SRC;
	env[n] = NULL;
	say("Azure: FUNCTIONS_CUSTOMHANDLER_PORT=%d, Blob Storage on Azurite", port);
	launch(env, n, "azure-");
	up_ms = wait_healthy(port);
	if(check(up_ms >= 0, "the custom handler answers GET /healthz 200, %.0f ms after the start",
	         up_ms)) {
		json_t *arr, *req;

		ev = az_event(az.port, "Microsoft.Storage.BlobCreated", SRC, "azure/event grid.jpg");
		arr = json_pack("[O]", ev);
		body = json_dumps(arr, JSON_COMPACT);
		st_post(port, NULL, body, &r);
		check(r.status == 200 && strstr(r.body, "\"outcome\":\"done\""),
		      "an Event Grid delivery: HTTP %ld, done (%.0f ms)", r.status, r.ms);
		st_reply_release(&r);
		free(body);
		json_decref(arr);
		json_decref(ev);
		props = az_props(az.port, DST, "thumb/azure/event grid.jpg");
		check(props && !strcmp(json_string_value(json_object_get(props, "contentType")),
		                       "image/jpeg") &&
		      json_object_get(json_object_get(props, "metadata"), "imgpipe_source"),
		      "its thumb in Blob Storage, stamped");
		json_decref(props);

		ev = az_event(az.port, "Microsoft.Storage.BlobCreated", SRC, "azure/function.jpg");
		req = json_pack("{s:{s:O}, s:{}}", "Data", "event", ev, "Metadata");
		body = json_dumps(req, JSON_COMPACT);
		st_request(port, "POST", "/ImgpipeEventGrid", NULL, body, strlen(body), 60000, &r);
		check(r.status == 200 && strstr(r.body, "\"ReturnValue\"") &&
		      strstr(r.body, "azure/function.jpg: OK"),
		      "a Functions eventGridTrigger request: HTTP %ld, OK (%.0f ms)", r.status, r.ms);
		st_reply_release(&r);
		free(body);
		json_decref(req);
		json_decref(ev);
		props = az_props(az.port, DST, "thumb/azure/function.jpg");
		check(props != NULL, "its thumb in Blob Storage");
		json_decref(props);
	}
	status = stop_serve();
	check(status == 0, "the custom handler exits 0 on SIGTERM (%d)", status);
	stop_function();
	s3srv_stop(&az);
	free(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: imgpipe-image-test [--image IMAGE | --host | --bundle DIR] [--warm N] "
	        "[--soak N] [--memory MB] [--arch x86_64|aarch64] [--env NAME=VALUE]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const buckets[] = { SRC, DST, NULL };
	char *jpeg, *heic, key[64];
	double create_ms, cold_ms, *warm_ms;
	int total, n_logged, status;
	double rss = 0, hwm = 0, median;

	for(int i = 1; i < argc; i++) {
		if(!strcmp(argv[i], "--image") && i + 1 < argc)
			opt.image = argv[++i];
		else if(!strcmp(argv[i], "--host"))
			opt.host = true;
		else if(!strcmp(argv[i], "--bundle") && i + 1 < argc)
			opt.host = true, opt.bundle = argv[++i];
		else if(!strcmp(argv[i], "--warm") && i + 1 < argc)
			opt.warm = atoi(argv[++i]);
		else if(!strcmp(argv[i], "--soak") && i + 1 < argc)
			opt.soak = atoi(argv[++i]);
		else if(!strcmp(argv[i], "--memory") && i + 1 < argc)
			opt.memory = argv[++i];
		else if(!strcmp(argv[i], "--arch") && i + 1 < argc)
			opt.arch = argv[++i];
		else if(!strcmp(argv[i], "--env") && i + 1 < argc && opt.nenv < MAX_ENV)
			opt.env[opt.nenv++] = argv[++i];
		else
			usage();
	}
	if(opt.warm < 1 || opt.soak < 0)
		usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	say("%s, variants %s, memory %s MB%s", opt.bundle ? opt.bundle :
	    opt.host ? "host binary" : opt.image, VARIANTS,
	    opt.memory, opt.nenv ? ", extra environment:" : "");
	for(int i = 0; i < opt.nenv; i++)
		say("  %s", opt.env[i]);
	tu_vips_start();
	/* s3rver (with this process's AWS_* pointed at it), the test's S3
	 * client, the emulator; the function's environment is its own
	 * (function_env), not the fixture's */
	if(!fx_start(&fx, buckets, true))
		fatal("%s (s3rver needs tests/node_modules: make image-test runs npm ci)", fx.error);

	if(opt.arch)
		check_arch();
	if(!opt.host)
		check_image();
	check_formats();

	/* the uploads: a camera-sized JPEG, a phone's HEIC, and copies of the
	 * JPEG under new keys for the warm runs (a redelivered key is skipped) */
	jpeg = tu_data("samples/landscape.jpg");
	if(asprintf(&heic, "%s/testdata/heic/phone.heic", tu_srcdir()) < 0)
		abort();
	put_file(jpeg, "camera/landscape.jpg", "image/jpeg");
	put_file(heic, "phone/IMG_0001.heic", "image/heic");
	total = opt.warm + opt.soak;
	for(int i = 0; i < total; i++) {
		snprintf(key, sizeof(key), "warm/%04d.jpg", i);
		put_file(jpeg, key, "image/jpeg");
	}

	/* the two checked uploads, the warm and soak ones, and a last one that
	 * finds its work done (after the memory is read) */
	cold_ms = start_function(3 + total, &create_ms);
	if(opt.host)
		say("cold start: exec to first /next %.0f ms", cold_ms);
	else
		say("cold start: container start to first /next %.0f ms (creating the "
		    "container from the image took %.0f ms before that)", cold_ms, create_ms);

	check_upload("camera/landscape.jpg", "camera/landscape", 3000, 2000);
	check_upload("phone/IMG_0001.heic", "phone/IMG_0001", 1024, 768);

	warm_ms = calloc(total + 1, sizeof(*warm_ms));
	for(int i = 0; i < total; i++) {
		json_t *res;

		snprintf(key, sizeof(key), "warm/%04d.jpg", i);
		res = invoke(key, &warm_ms[i]);
		status = res && json_string_value(json_object_get(res, "status")) &&
		         !strcmp(json_string_value(json_object_get(res, "status")), "OK");
		if(!status)
			check(false, "%s: status OK", key);
		json_decref(res);
		if(i + 1 == opt.warm) {
			double *sorted = calloc(opt.warm, sizeof(double));

			memcpy(sorted, warm_ms, opt.warm * sizeof(double));
			qsort(sorted, opt.warm, sizeof(double), cmp_double);
			say("warm per-image, event to reply: median %.1f ms, min %.1f, max %.1f "
			    "(%d invocations of a 3000x2000 JPEG into 3 variants)",
			    sorted[opt.warm / 2], sorted[0], sorted[opt.warm - 1], opt.warm);
			free(sorted);
		}
	}
	free(warm_ms);
	if(rss_mb(function_pid(), &rss, &hwm))
		say("memory after %d invocations: RSS %.1f MB, peak %.1f MB", 2 + total, rss, hwm);
	else
		say("memory after %d invocations: the function's /proc cannot be read here",
		    2 + total);

	{
		json_t *res = invoke("camera/landscape.jpg", &median);
		const char *st_last = res ? json_string_value(json_object_get(res, "status")) : NULL;

		check(st_last && !strcmp(st_last, "OK"), "a redelivered event: OK (%s), %.0f ms, "
		      "nothing redone", st_last ? st_last : "none", median);
		json_decref(res);
	}
	status = fx_wait(&fx, 60000);
	check(status == 0, "the function exits 0 after IMGPIPE_MAX_INVOCATIONS (%d)", status);
	n_logged = log_total_ms("warm/", &median);
	check(n_logged == total, "one log line per warm upload (%d of %d)", n_logged, total);
	if(n_logged)
		say("warm per-image, the function's own TotalMs (get, decode, resize, encode, "
		    "put): median %.1f ms", median);
	/* the same image behind HTTP (its stdout and stderr replace the above) */
	stop_function();
	if(!failed)
		check_serve();
	if(!failed)
		check_serve_azure();
	if(failed) {
		char *e = fx_read_stderr(&fx);
		printf("the function's stderr:\n%s\n", e);
		free(e);
	}
	free(jpeg);
	free(heic);
	return finish();
}
