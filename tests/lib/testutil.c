/*
 * testutil.c: see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

char *tu_data(const char *rel)
{
	char *path = NULL;

	if(asprintf(&path, "%s/%s", env_or("IMGPIPE_TESTDATA", "build/testdata"), rel) < 0)
		abort();
	return path;
}

const char *tu_bin(void)
{
	return env_or("IMGPIPE_BIN", "build/imgpipe");
}

const char *tu_srcdir(void)
{
	return env_or("IMGPIPE_SRCDIR", ".");
}

void *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if(!f)
		return NULL;
	if(fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	   (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = '\0';
		*len = (size_t)size;
	}
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void mkparents(const char *path)
{
	char *copy = strdup(path);

	for(char *p = copy + 1; *p; p++)
		if(*p == '/') {
			*p = '\0';
			mkdir(copy, 0777);
			*p = '/';
		}
	free(copy);
}

bool tu_write(const char *path, const void *data, size_t len)
{
	FILE *f;
	bool ok;

	mkparents(path);
	if(!(f = fopen(path, "wb")))
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

bool tu_copy(const char *from, const char *to)
{
	size_t len;
	void *data = tu_read(from, &len);
	bool ok = data && tu_write(to, data, len);

	free(data);
	return ok;
}

bool tu_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

char *tu_tempdir(void)
{
	char *path = NULL;

	if(asprintf(&path, "%s/imgpipe-test-XXXXXX", env_or("TMPDIR", "/tmp")) < 0 || !mkdtemp(path))
		abort();
	return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void tu_rmtree(const char *path)
{
	if(path)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Read a whole fd into a string. */
static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t r;

	while((r = read(fd, buf + len, cap - len - 1)) > 0 || (r < 0 && errno == EINTR)) {
		if(r < 0)
			continue;
		len += (size_t)r;
		if(cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

int tu_run(const char *const argv[], char **out, char **err)
{
	char outpath[] = "/tmp/imgpipe-out-XXXXXX", errpath[] = "/tmp/imgpipe-err-XXXXXX";
	int ofd = mkstemp(outpath), efd = mkstemp(errpath), status = -1;
	pid_t pid;

	unlink(outpath);
	unlink(errpath);
	pid = fork();
	if(pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if(pid > 0 && waitpid(pid, &status, 0) == pid)
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	if(out)
		*out = slurp(ofd);
	if(err)
		*err = slurp(efd);
	close(ofd);
	close(efd);
	return status;
}

void tu_vips_start(void)
{
	static bool started;

	if(!started && !VIPS_INIT("imgpipe-tests")) {
		/* tests rewrite files under one name: never serve a cached open */
		vips_cache_set_max(0);
		started = true;
	}
}

VipsImage *tu_decode(const void *data, size_t len)
{
	VipsImage *image = vips_image_new_from_buffer(data, len, "", NULL), *mem;

	if(!image)
		return NULL;
	mem = vips_image_copy_memory(image);
	g_object_unref(image);
	return mem;
}

double tu_pixel(VipsImage *image, int x, int y, int band)
{
	double *vector = NULL;
	int n = 0;
	double v;

	if(vips_getpoint(image, &vector, &n, x, y, NULL) || band >= n)
		return -1;
	v = vector[band];
	g_free(vector);
	return v;
}

static const char *count_needle;
static int count_found;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if(flag == FTW_F && (!count_needle || strstr(path + ftw->base, count_needle)))
		count_found++;
	return 0;
}

int tu_count_files(const char *dir, const char *needle)
{
	count_needle = needle;
	count_found = 0;
	nftw(dir, count_entry, 16, FTW_PHYS);
	return count_found;
}

const char *tu_tail(const char *text, size_t n)
{
	size_t len = text ? strlen(text) : 0;
	const char *at;

	if(len <= n)
		return text ? text : "";
	at = text + len - n;
	while(*at && at[-1] != '\n')
		at++;
	return *at ? at : text + len - n;
}

int tu_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	   !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if(fd >= 0)
		close(fd);
	return port;
}

int tu_imgpipe(char **out, char **err, ...)
{
	const char *argv[24] = { tu_bin() };
	va_list ap;
	int n = 1;

	va_start(ap, err);
	while(n < 22 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, out, err);
}
