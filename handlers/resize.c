/*
 * resize.c: `imgpipe resize`, the local batch resizer.
 *
 * It owns argv, the walk over files and folders, output paths, skipping
 * what is up to date, worker threads, the progress line and the summary.
 * Pixels are render.c's business: this file never calls libvips.
 *
 * Every input is attempted; a failure is printed as
 * "imgpipe: <input>: <reason>" and the others carry on. Outputs are written
 * to a temporary file and renamed, so no reader ever sees half an image.
 */
#include "handlers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "render.h"
#include "store.h"

/* One source file and where its variants go. */
struct job {
	char *path;             /* as the user can find it: a path or s3://bucket/key */
	char *bucket, *key;     /* an S3 source (through the store); NULL for a file */
	char *rel;              /* output path below DIR/<variant>/, without extension */
	off_t size;
	struct timespec mtime;
	bool sniffed_image;     /* an allowed loader recognised the bytes */
	bool explicit;          /* named on the command line, not found in a folder */
};

struct joblist {
	struct job *v;
	size_t n, cap;
};

struct totals {
	atomic_size_t done, processed, uptodate, notimage, failed;
	atomic_ullong bytes_in, bytes_out;
};

struct run {
	const struct imgp_config *cfg;
	const char *outdir;     /* a folder, or the key prefix of out_bucket */
	char *out_bucket;       /* -o s3://bucket/prefix/: written through the store */
	struct imgp_store *store;
	struct joblist *jobs;
	bool force, quiet, tty, verbose;
	atomic_size_t next;
	struct totals totals;
	pthread_mutex_t print_lock;
	double started_ms;
};

static const char usage_text[] =
	"usage: imgpipe resize [--variants SPEC | --config FILE] [-o DIR] [-j N]\n"
	"                      [--force] [--quiet] [--verbose] INPUT...\n"
	"\n"
	"Resize image files, and every image in folders (walked recursively), into\n"
	"each variant of SPEC. The format is read from the bytes, never the name;\n"
	"files in folders that are not images are skipped and counted.\n"
	"\n"
	"The variants of photos/2024/cat.jpg go to DIR/<variant>/photos/2024/cat.<ext>:\n"
	"the folder you name is kept, with everything below it. Outputs are written\n"
	"to a temporary file and renamed, so a crash never leaves half an image.\n"
	"When two sources would share an output (a.jpg and a.png), both keep their\n"
	"own extension in the name (a.jpg.jpg, a.png.jpg).\n"
	"\n"
	"options:\n"
	"  -v, --variants SPEC  variants to make (default: $IMGPIPE_VARIANTS, else\n"
	"                       " IMGP_DEFAULT_VARIANTS ")\n"
	"  -c, --config FILE    variants and limits from a JSON file ($IMGPIPE_CONFIG)\n"
	"  -o, --output DIR     where variants go (default: resized)\n"
	"  -j, --jobs N         images in parallel (default: the number of CPUs)\n"
	"  -f, --force          redo outputs that are newer than their source\n"
	"  -q, --quiet          print failures only, no progress or summary\n"
	"      --verbose        one line per image: size, and milliseconds spent\n"
	"                       decoding, resizing and encoding each variant\n"
	"  -h, --help           this text\n"
	"\n"
	"variant spec: variants separated by ';', each NAME=WxH then ,key=value\n"
	"options. 800x bounds the width only, x600 the height only.\n"
	"  fit=inside|cover|contain|fill   (default inside; sharp's meanings)\n"
	"  format=auto|jpeg|webp|png|avif  (auto: JPEG when opaque, WebP with alpha)\n"
	"  q=1-100 (80)  effort=0-9  lossless=yes  progressive=yes  palette=yes\n"
	"  compression=0-9 (PNG)  crop=centre|attention|entropy (with fit=cover)\n"
	"  enlarge=yes  bg=#rrggbb (JPEG flatten, letterbox; white)  strip=no\n"
	"  anim=keep (animated GIF/WebP stay animated, as WebP)\n"
	"\n"
	"limits (environment): IMGPIPE_MAX_PIXELS (100000000), IMGPIPE_MAX_BYTES\n"
	"(67108864), IMGPIPE_MAX_FRAMES (100), IMGPIPE_FAIL_ON (warning).\n"
	"\n"
	"examples:\n"
	"  imgpipe resize -o web photos/\n"
	"  imgpipe resize --variants 'thumb=320x320,fit=cover,crop=attention;full=1600x,format=webp,q=75' -o out a.jpg b.png\n"
	"\n"
	"exit status: 0 all inputs done, 1 some input failed, 2 usage or config error.\n";

static void usage_error(const char *reason)
{
	fprintf(stderr, "imgpipe resize: %s\nsee 'imgpipe resize --help'\n", reason);
}

/* --- planning ---------------------------------------------------------- */

static enum imgp_status joblist_grow(struct joblist *list, char *err)
{
	if(list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct job *v = imgp_realloc(list->v, cap * sizeof(*v));

		if(!v)
			return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		list->v = v;
		list->cap = cap;
	}
	memset(&list->v[list->n], 0, sizeof(list->v[0]));
	return IMGP_OK;
}

/* An S3 source. Its bytes are not sniffed before they are fetched. */
static enum imgp_status joblist_add_s3(struct joblist *list, const char *bucket,
                                       const char *key, const char *rel, uint64_t size,
                                       time_t mtime, bool explicit, char *err)
{
	struct job *job;

	if(joblist_grow(list, err))
		return IMGP_E_NOMEM;
	job = &list->v[list->n];
	job->path = imgp_asprintf("s3://%s/%s", bucket, key);
	job->bucket = imgp_strdup(bucket);
	job->key = imgp_strdup(key);
	job->rel = imgp_strdup(rel);
	if(!job->path || !job->bucket || !job->key || !job->rel) {
		imgp_free(job->path);
		imgp_free(job->bucket);
		imgp_free(job->key);
		imgp_free(job->rel);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	job->size = (off_t)size;
	job->mtime.tv_sec = mtime;
	job->sniffed_image = true;
	job->explicit = explicit;
	list->n++;
	return IMGP_OK;
}

static enum imgp_status joblist_add(struct joblist *list, const char *path,
                                    const char *rel, const struct stat *st,
                                    bool explicit, char *err)
{
	struct job *job;

	if(joblist_grow(list, err))
		return IMGP_E_NOMEM;
	job = &list->v[list->n];
	job->path = imgp_strdup(path);
	job->rel = imgp_strdup(rel);
	if(!job->path || !job->rel) {
		imgp_free(job->path);
		imgp_free(job->rel);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	job->size = st->st_size;
	job->mtime = st->st_mtim;
	job->explicit = explicit;
	/* sniff a few bytes now: collisions only matter between images */
	job->sniffed_image = imgp_render_sniff_file(path);
	list->n++;
	return IMGP_OK;
}

static void joblist_release(struct joblist *list)
{
	for(size_t i = 0; i < list->n; i++) {
		imgp_free(list->v[i].path);
		imgp_free(list->v[i].bucket);
		imgp_free(list->v[i].key);
		imgp_free(list->v[i].rel);
	}
	imgp_free(list->v);
	memset(list, 0, sizeof(*list));
}

/* Strip the extension from the last path component of rel, in place. */
static void strip_ext(char *rel)
{
	char *slash = strrchr(rel, '/');
	char *dot = strrchr(slash ? slash + 1 : rel, '.');

	if(dot && dot != (slash ? slash + 1 : rel))
		*dot = '\0';
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk a folder; rel is the output path of the folder itself ("" for none). */
static enum imgp_status walk(struct joblist *list, const char *dir, const char *rel,
                             int depth, char *err)
{
	enum imgp_status result = IMGP_OK;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if(depth > 64)
		return IMGP_OK;     /* bind mounts can loop even without symlinks */
	if(!(d = opendir(dir))) {
		fprintf(stderr, "imgpipe: %s: %s\n", dir, strerror(errno));
		return IMGP_OK;
	}
	while((de = readdir(d))) {
		if(de->d_name[0] == '.')
			continue;       /* hidden files, ., .., our own temporaries */
		if(n == cap) {
			char **v = imgp_realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*v));
			if(!v) {
				result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
				goto out;
			}
			names = v;
		}
		if(!(names[n] = imgp_strdup(de->d_name))) {
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	/* sorted, so that runs, outputs and collision names are repeatable */
	qsort(names, n, sizeof(*names), compare_names);
	for(size_t i = 0; i < n && !result; i++) {
		char *path = imgp_asprintf("%s/%s", dir, names[i]);
		char *sub = imgp_asprintf("%s%s%s", rel, *rel ? "/" : "", names[i]);
		struct stat st;

		if(!path || !sub)
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		else if(lstat(path, &st))
			fprintf(stderr, "imgpipe: %s: %s\n", path, strerror(errno));
		else if(S_ISDIR(st.st_mode))
			result = walk(list, path, sub, depth + 1, err);
		else if(S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && !stat(path, &st) &&
		                                S_ISREG(st.st_mode))) {
			strip_ext(sub);
			result = joblist_add(list, path, sub, &st, false, err);
		}
		imgp_free(path);
		imgp_free(sub);
	}
out:
	for(size_t i = 0; i < n; i++)
		imgp_free(names[i]);
	imgp_free(names);
	closedir(d);
	return result;
}

/* The name a folder or file keeps under DIR/<variant>/: its last component. */
static char *input_rel(const char *input)
{
	char *copy = imgp_strdup(input), *base, *rel;
	size_t len;

	if(!copy)
		return NULL;
	len = strlen(copy);
	while(len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	base = strrchr(copy, '/');
	base = base ? base + 1 : copy;
	if(!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		*base = '\0';      /* "resize ." keeps no folder name */
	rel = imgp_strdup(base);
	imgp_free(copy);
	return rel;
}

/*
 * Two images that would write the same output (a.jpg and a.png) both keep
 * their extension in the name instead: nobody's variant is overwritten and
 * the name says which source it came from.
 */
static enum imgp_status resolve_collisions(struct joblist *list, char *err)
{
	size_t *order;

	if(list->n < 2)
		return IMGP_OK;
	if(!(order = imgp_malloc(list->n * sizeof(*order))))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(size_t i = 0; i < list->n; i++)
		order[i] = i;
	/* n is small enough for an insertion sort by rel; keeps it simple */
	for(size_t i = 1; i < list->n; i++)
		for(size_t j = i; j > 0 && strcmp(list->v[order[j - 1]].rel, list->v[order[j]].rel) > 0; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for(size_t i = 0; i < list->n;) {
		size_t j = i + 1, images = 0;

		while(j < list->n && !strcmp(list->v[order[i]].rel, list->v[order[j]].rel))
			j++;
		for(size_t k = i; k < j; k++)
			images += list->v[order[k]].sniffed_image;
		for(size_t k = i; j - i > 1 && images > 1 && k < j; k++) {
			struct job *job = &list->v[order[k]];
			const char *base = strrchr(job->path, '/');
			const char *dot = strrchr(base ? base + 1 : job->path, '.');
			char *rel;

			if(!job->sniffed_image || !dot)
				continue;
			if(!(rel = imgp_asprintf("%s%s", job->rel, dot))) {
				imgp_free(order);
				return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
			}
			imgp_free(job->rel);
			job->rel = rel;
		}
		i = j;
	}
	imgp_free(order);
	return IMGP_OK;
}

/* --- writing ----------------------------------------------------------- */

static int mkdirs(char *path)
{
	for(char *p = path + 1; *p; p++) {
		if(*p != '/')
			continue;
		*p = '\0';
		if(mkdir(path, 0777) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static char *output_path(const struct run *run, const struct job *job,
                         const struct imgp_variant *v, enum imgp_format format)
{
	if(run->out_bucket)
		return imgp_asprintf("%s%s/%s.%s", run->outdir, v->name, job->rel,
		                     imgp_format_ext(format));
	return imgp_asprintf("%s/%s/%s.%s", run->outdir, v->name, job->rel,
	                     imgp_format_ext(format));
}

/* "2024-05-01T12:34:56.000Z" (listings) or an HTTP date (HEAD); 0 if neither. */
static time_t parse_time(const char *text)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if(!text)
		return 0;
	if(strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) ||
	   strptime(text, "%a, %d %b %Y %H:%M:%S", &tm))
		return timegm(&tm);
	return 0;
}

/* Write data to path through a temporary file in the same folder. */
static enum imgp_status write_atomic(char *path, const void *data, size_t len, char *err)
{
	char *tmp = NULL, *slash;
	enum imgp_status result = IMGP_OK;
	int fd = -1;

	if(mkdirs(path))
		return imgp_fail(err, IMGP_E_IO, "cannot create the folder of %s: %s",
		                 path, strerror(errno));
	slash = strrchr(path, '/');
	tmp = imgp_asprintf("%.*s.%s.tmp-XXXXXX", (int)(slash ? slash - path + 1 : 0),
	                    path, slash ? slash + 1 : path);
	if(!tmp)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	if((fd = mkstemp(tmp)) < 0) {
		result = imgp_fail(err, IMGP_E_IO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	for(size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if(w < 0 && errno == EINTR)
			continue;
		if(w <= 0) {
			result = imgp_fail(err, IMGP_E_IO, "cannot write %s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	fchmod(fd, 0644);
	if(close(fd)) {
		fd = -1;
		result = imgp_fail(err, IMGP_E_IO, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if(rename(tmp, path))
		result = imgp_fail(err, IMGP_E_IO, "cannot rename into %s: %s", path, strerror(errno));
out:
	if(fd >= 0)
		close(fd);
	if(result)
		unlink(tmp);
	imgp_free(tmp);
	return result;
}

static bool newer_or_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* Every variant has an output at least as new as the source. */
static bool up_to_date(const struct run *run, const struct job *job)
{
	static const enum imgp_format autos[] = { IMGP_FMT_JPEG, IMGP_FMT_WEBP };

	for(size_t i = 0; i < run->cfg->nvariants; i++) {
		const struct imgp_variant *v = &run->cfg->variants[i];
		bool found = false;

		for(size_t k = 0; k < 2 && !found; k++) {
			enum imgp_format f = v->format == IMGP_FMT_AUTO ? autos[k] : v->format;
			char *path = output_path(run, job, v, f);
			struct stat st;

			if(path && run->out_bucket) {
				struct imgp_store_error e;
				struct imgp_object head;

				imgp_object_init(&head);
				found = !imgp_store_head(run->store, run->out_bucket, path, &head, &e) &&
				        parse_time(head.last_modified) >= job->mtime.tv_sec;
				imgp_object_release(&head);
			}
			else
				found = path && !stat(path, &st) && S_ISREG(st.st_mode) &&
				        newer_or_same(&st.st_mtim, &job->mtime);
			imgp_free(path);
			if(v->format != IMGP_FMT_AUTO)
				break;
		}
		if(!found)
			return false;
	}
	return true;
}

static enum imgp_status read_file(const struct job *job, uint64_t max,
                                  void **data, size_t *len, char *err)
{
	enum imgp_status result = IMGP_OK;
	int fd = open(job->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t off = 0;

	if(fd < 0)
		return imgp_fail(err, errno == ENOENT ? IMGP_E_NOT_FOUND : IMGP_E_IO,
		                 "%s", strerror(errno));
	if(fstat(fd, &st)) {
		result = imgp_fail(err, IMGP_E_IO, "%s", strerror(errno));
		goto out;
	}
	/* refuse before reading: the size limit is also a memory limit */
	if((uint64_t)st.st_size > max) {
		result = imgp_fail(err, IMGP_E_TOO_LARGE,
			"%lld bytes is over the limit of %llu bytes (max_bytes)",
			(long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	if(!(buf = imgp_malloc((size_t)st.st_size + 1))) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory reading %lld bytes",
		                   (long long)st.st_size);
		goto out;
	}
	while(off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if(r < 0 && errno == EINTR)
			continue;
		if(r < 0) {
			result = imgp_fail(err, IMGP_E_IO, "%s", strerror(errno));
			goto out;
		}
		if(r == 0)
			break;          /* shrank while we read: take what is there */
		off += (size_t)r;
	}
	*data = buf;
	*len = off;
	buf = NULL;
out:
	imgp_free(buf);
	close(fd);
	return result;
}

/* An S3 source's bytes, refused over max_bytes before the body is read. */
static enum imgp_status read_object(struct run *run, const struct job *job,
                                    void **data, size_t *len, char *err)
{
	struct imgp_store_error e;
	struct imgp_object obj;
	char line[IMGP_ERRSIZE];

	imgp_object_init(&obj);
	if(imgp_store_get(run->store, job->bucket, job->key, run->cfg->limits.max_bytes, &obj, &e)) {
		imgp_object_release(&obj);
		return imgp_fail(err, e.status, "%s", imgp_store_error_str(&e, line));
	}
	*data = obj.data;
	*len = obj.len;
	obj.data = NULL;
	imgp_object_release(&obj);
	return IMGP_OK;
}

/* One variant to S3, with its Content-Type and the metadata the Lambda
 * handler writes, so a backfill and the trigger make the same objects. */
static enum imgp_status put_object(struct run *run, const struct job *job,
                                   const struct imgp_output *o, const char *key, char *err)
{
	struct imgp_store_error e;
	struct imgp_meta meta[IMGP_VARIANT_META];
	char wh[2][16], line[IMGP_ERRSIZE];
	char *safe = imgp_meta_encode(job->key ? job->key : job->path);
	struct imgp_put_opts opts = {
		.content_type = imgp_format_mime(o->format),
		.cache_control = IMGP_DEFAULT_CACHE_CONTROL,
		.meta = meta,
	};
	enum imgp_status result;

	if(!safe)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	opts.nmeta = imgp_variant_meta(meta, wh, safe, NULL, NULL, o);
	result = imgp_store_put(run->store, run->out_bucket, key, o->data, o->len, &opts, &e);
	if(result)
		imgp_fail(err, result, "%s", imgp_store_error_str(&e, line));
	imgp_free(safe);
	return result;
}

/* --- workers ----------------------------------------------------------- */

static void clear_progress(const struct run *run)
{
	if(run->tty && !run->quiet)
		fputs("\r\033[K", stderr);
}

/* --verbose: what one source cost, phase by phase. */
static void report_timings(struct run *run, const struct job *job,
                           const struct imgp_render_result *res)
{
	char line[2048];
	int n;

	n = snprintf(line, sizeof(line), "%s: %dx%d %s, probe %.1f ms, decode %.1f ms (at %dx%d)",
	             job->path, res->probe.width, res->probe.height, res->probe.format,
	             res->probe_ms, res->decode_ms, res->decoded_width, res->decoded_height);
	for(size_t i = 0; i < res->noutputs && n > 0 && (size_t)n < sizeof(line); i++) {
		const struct imgp_output *o = &res->outputs[i];

		n += snprintf(line + n, sizeof(line) - (size_t)n,
		              "; %s %dx%d %s resize %.1f ms encode %.1f ms %zu B",
		              o->variant->name, o->width, o->height, imgp_format_name(o->format),
		              o->resize_ms, o->encode_ms, o->len);
	}
	pthread_mutex_lock(&run->print_lock);
	clear_progress(run);
	fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&run->print_lock);
}

static void report_failure(struct run *run, const struct job *job, const char *reason)
{
	pthread_mutex_lock(&run->print_lock);
	clear_progress(run);
	fprintf(stderr, "imgpipe: %s: %s\n", job->path, reason);
	pthread_mutex_unlock(&run->print_lock);
}

/* All of one source: read, render every variant, write them all. */
static void process(struct run *run, const struct job *job)
{
	char err[IMGP_ERRSIZE] = "";
	struct imgp_render_result res;
	enum imgp_status result;
	void *data = NULL;
	size_t len = 0, out_bytes = 0;
	char *paths[IMGP_MAX_VARIANTS] = { NULL };

	if(!job->sniffed_image && !job->explicit) {
		atomic_fetch_add(&run->totals.notimage, 1);
		return;
	}
	if(!run->force && up_to_date(run, job)) {
		atomic_fetch_add(&run->totals.uptodate, 1);
		return;
	}
	if(job->bucket)
		result = read_object(run, job, &data, &len, err);
	else
		result = read_file(job, run->cfg->limits.max_bytes, &data, &len, err);
	if(!result)
		result = imgp_render(run->cfg, data, len, &res, err);
	imgp_free(data);
	if((result == IMGP_E_NOT_IMAGE || result == IMGP_E_UNSUPPORTED) && !job->explicit) {
		/* an S3 listing is not sniffed before the GET: skip it now */
		atomic_fetch_add(&run->totals.notimage, 1);
		return;
	}
	if(result) {
		report_failure(run, job, err);
		atomic_fetch_add(&run->totals.failed, 1);
		return;
	}
	for(size_t i = 0; i < res.noutputs && !result; i++) {
		const struct imgp_output *o = &res.outputs[i];

		if(!(paths[i] = output_path(run, job, o->variant, o->format)))
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		else if(run->out_bucket)
			result = put_object(run, job, o, paths[i], err);
		else
			result = write_atomic(paths[i], o->data, o->len, err);
		out_bytes += o->len;
	}
	if(result) {
		report_failure(run, job, err);
		atomic_fetch_add(&run->totals.failed, 1);
	}
	else {
		if(run->verbose)
			report_timings(run, job, &res);
		atomic_fetch_add(&run->totals.processed, 1);
		atomic_fetch_add(&run->totals.bytes_in, len);
		atomic_fetch_add(&run->totals.bytes_out, out_bytes);
	}
	for(size_t i = 0; i < IMGP_MAX_VARIANTS; i++)
		imgp_free(paths[i]);
	imgp_render_result_release(&res);
}

static void *worker(void *arg)
{
	struct run *run = arg;
	size_t i;

	while((i = atomic_fetch_add(&run->next, 1)) < run->jobs->n) {
		process(run, &run->jobs->v[i]);
		atomic_fetch_add(&run->totals.done, 1);
	}
	/* libvips keeps per-thread buffers; give them back with the thread */
	imgp_render_thread_done();
	return NULL;
}

static void format_duration(char *buf, size_t size, double s)
{
	if(s < 0 || s > 359999)
		snprintf(buf, size, "--:--");
	else if(s >= 3600)
		snprintf(buf, size, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
	else
		snprintf(buf, size, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void show_progress(struct run *run)
{
	size_t done = atomic_load(&run->totals.done), total = run->jobs->n;
	double secs = (imgp_now_ms() - run->started_ms) / 1000;
	double rate = secs > 0 ? done / secs : 0;
	char eta[32];

	format_duration(eta, sizeof(eta), rate > 0 ? (total - done) / rate : -1);
	pthread_mutex_lock(&run->print_lock);
	fprintf(stderr, "\r\033[K%zu/%zu  %.1f images/s  ETA %s  failed %zu",
	        done, total, rate, eta, atomic_load(&run->totals.failed));
	fflush(stderr);
	pthread_mutex_unlock(&run->print_lock);
}

static void human_bytes(char *buf, size_t size, unsigned long long n)
{
	if(n >= 1000000)
		snprintf(buf, size, "%.1f MB", n / 1e6);
	else if(n >= 1000)
		snprintf(buf, size, "%.1f kB", n / 1e3);
	else
		snprintf(buf, size, "%llu B", n);
}

static void print_summary(struct run *run)
{
	struct totals *t = &run->totals;
	char in[32], out[32];

	human_bytes(in, sizeof(in), atomic_load(&t->bytes_in));
	human_bytes(out, sizeof(out), atomic_load(&t->bytes_out));
	clear_progress(run);
	fprintf(stderr,
		"processed %zu, skipped %zu (%zu up to date, %zu not images), failed %zu; "
		"%s in, %s out; %.2f s\n",
		atomic_load(&t->processed), atomic_load(&t->uptodate) + atomic_load(&t->notimage),
		atomic_load(&t->uptodate), atomic_load(&t->notimage), atomic_load(&t->failed),
		in, out, (imgp_now_ms() - run->started_ms) / 1000);
}

static void run_workers(struct run *run, int nworkers)
{
	pthread_t *threads = imgp_calloc((size_t)nworkers, sizeof(*threads));
	int started = 0;

	for(int i = 0; threads && i < nworkers; i++)
		if(!pthread_create(&threads[i], NULL, worker, run))
			started++;
	if(!started)
		worker(run);        /* no threads to be had: do the work here */
	while(started && atomic_load(&run->totals.done) < run->jobs->n) {
		if(run->tty && !run->quiet)
			show_progress(run);
		usleep(100 * 1000);
	}
	for(int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	imgp_free(threads);
}

/* --- the command ------------------------------------------------------- */

/* Split "s3://bucket/rest" into its bucket (malloc'd) and rest. */
static char *s3_url(const char *url, const char **rest)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t n = slash ? (size_t)(slash - b) : strlen(b);

	*rest = slash ? slash + 1 : "";
	return n ? imgp_strndup(b, n) : NULL;
}

struct listing {
	struct joblist *jobs;
	const char *bucket, *prefix, *base;
	enum imgp_status result;
	char *err;
};

static bool list_entry(void *ud, const struct imgp_list_entry *entry)
{
	struct listing *l = ud;
	const char *sub = entry->key + strlen(l->prefix);
	char *rel;

	if(!*sub || sub[strlen(sub) - 1] == '/')
		return true;        /* a "folder" marker object */
	rel = imgp_asprintf("%s%s%s", l->base, *l->base ? "/" : "", sub);
	if(!rel) {
		l->result = imgp_fail(l->err, IMGP_E_NOMEM, "out of memory");
		return false;
	}
	strip_ext(rel);
	l->result = joblist_add_s3(l->jobs, l->bucket, entry->key, rel, entry->size,
	                           parse_time(entry->last_modified), false, l->err);
	imgp_free(rel);
	return !l->result;
}

/*
 * s3://bucket/prefix/ (or s3://bucket) lists every key below, like a folder:
 * the prefix's last component is kept in the output layout. s3://bucket/key
 * is one object.
 */
static enum imgp_status plan_s3(struct run *run, struct joblist *jobs, const char *url,
                                size_t *missing, char *err)
{
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];
	const char *rest;
	char *bucket = s3_url(url, &rest), *rel = NULL;
	enum imgp_status result = IMGP_OK;

	if(!bucket) {
		fprintf(stderr, "imgpipe: %s: no bucket in this S3 URL\n", url);
		(*missing)++;
		return IMGP_OK;
	}
	if(!*rest || rest[strlen(rest) - 1] == '/') {
		struct listing l = { jobs, bucket, rest, NULL, IMGP_OK, err };

		if(!(rel = input_rel(*rest ? rest : ".")))
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		else {
			l.base = rel;
			if(imgp_store_list(run->store, bucket, rest, list_entry, &l, &e) && !l.result) {
				fprintf(stderr, "imgpipe: %s: %s\n", url, imgp_store_error_str(&e, line));
				(*missing)++;
			}
			result = l.result;
		}
	}
	else {
		struct imgp_object head;

		imgp_object_init(&head);
		if(imgp_store_head(run->store, bucket, rest, &head, &e)) {
			fprintf(stderr, "imgpipe: %s: %s\n", url, imgp_store_error_str(&e, line));
			(*missing)++;
		}
		else if(!(rel = input_rel(rest)))
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		else {
			strip_ext(rel);
			result = joblist_add_s3(jobs, bucket, rest, rel, head.len,
			                        parse_time(head.last_modified), true, err);
		}
		imgp_object_release(&head);
	}
	imgp_free(rel);
	imgp_free(bucket);
	return result;
}

static enum imgp_status plan_inputs(struct run *run, struct joblist *jobs, char **inputs,
                                    int n, size_t *missing, char *err)
{
	enum imgp_status result = IMGP_OK;

	for(int i = 0; i < n && !result; i++) {
		struct stat st;
		char *rel;

		if(!strncmp(inputs[i], "s3://", 5)) {
			result = plan_s3(run, jobs, inputs[i], missing, err);
			continue;
		}
		if(stat(inputs[i], &st)) {
			fprintf(stderr, "imgpipe: %s: %s\n", inputs[i], strerror(errno));
			(*missing)++;
			continue;
		}
		if(!(rel = input_rel(inputs[i])))
			return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		if(S_ISDIR(st.st_mode))
			result = walk(jobs, inputs[i], rel, 0, err);
		else {
			strip_ext(rel);
			result = joblist_add(jobs, inputs[i], rel, &st, true, err);
		}
		imgp_free(rel);
	}
	if(!result)
		result = resolve_collisions(jobs, err);
	return result;
}

/* Does anything on the command line need the object store? */
static bool wants_store(const char *outdir, char **inputs, int n)
{
	if(!strncmp(outdir, "s3://", 5))
		return true;
	for(int i = 0; i < n; i++)
		if(!strncmp(inputs[i], "s3://", 5))
			return true;
	return false;
}

int imgp_cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "variants", required_argument, NULL, 'v' },
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spec = NULL, *config_file = NULL;
	struct imgp_config cfg;
	struct joblist jobs = { 0 };
	struct run run;
	char err[IMGP_ERRSIZE];
	int opt, nworkers = 0, status = IMGP_EXIT_OK;
	size_t missing = 0;
	char *end;

	memset(&run, 0, sizeof(run));
	run.outdir = "resized";
	pthread_mutex_init(&run.print_lock, NULL);
	while((opt = getopt_long(argc, argv, "v:c:o:j:fqh", longopts, NULL)) != -1) {
		switch(opt) {
		case 'v': spec = optarg; break;
		case 'c': config_file = optarg; break;
		case 'o': run.outdir = optarg; break;
		case 'j':
			nworkers = (int)strtol(optarg, &end, 10);
			if(*end || nworkers < 1 || nworkers > 256) {
				usage_error("-j: give a number of workers from 1 to 256");
				return IMGP_EXIT_USAGE;
			}
			break;
		case 'f': run.force = true; break;
		case 'q': run.quiet = true; break;
		case 'V': run.verbose = true; break;
		case 'h': fputs(usage_text, stdout); return IMGP_EXIT_OK;
		default:
			fprintf(stderr, "see 'imgpipe resize --help'\n");
			return IMGP_EXIT_USAGE;
		}
	}
	if(optind >= argc) {
		usage_error("no INPUT given: name image files or folders");
		return IMGP_EXIT_USAGE;
	}
	if(spec && config_file) {
		usage_error("give --variants or --config, not both");
		return IMGP_EXIT_USAGE;
	}

	imgp_config_init(&cfg);
	if(imgp_config_from_env(&cfg, err) ||
	   (config_file && imgp_config_load_file(&cfg, config_file, err)) ||
	   (spec && imgp_config_parse_spec(&cfg, spec, err))) {
		fprintf(stderr, "imgpipe: %s\n", err);
		return IMGP_EXIT_USAGE;
	}
	if(!nworkers)
		nworkers = imgp_cpu_count();
	/* CPUs are shared between workers and each image's libvips threads */
	if(imgp_render_init(argv[0], imgp_cpu_count() / nworkers > 1 ? imgp_cpu_count() / nworkers : 1, err) ||
	   imgp_render_check(&cfg, err)) {
		fprintf(stderr, "imgpipe: %s\n", err);
		return IMGP_EXIT_USAGE;
	}

	if(wants_store(run.outdir, argv + optind, argc - optind)) {
		/* IMGPIPE_STORE=dir:PATH turns s3:// URLs into folders, as on Lambda */
		if(imgp_store_open(NULL, &run.store, err)) {
			fprintf(stderr, "imgpipe: %s\n", err);
			imgp_render_shutdown();
			return IMGP_EXIT_USAGE;
		}
	}
	if(!strncmp(run.outdir, "s3://", 5)) {
		const char *prefix;

		if(!(run.out_bucket = s3_url(run.outdir, &prefix)) ||
		   (*prefix && prefix[strlen(prefix) - 1] != '/')) {
			usage_error("-o s3://BUCKET/PREFIX/ needs a bucket, and a prefix that ends in /");
			status = IMGP_EXIT_USAGE;
			goto out;
		}
		run.outdir = prefix;
	}
	run.cfg = &cfg;
	run.jobs = &jobs;
	run.tty = isatty(STDERR_FILENO);
	run.started_ms = imgp_now_ms();
	if(plan_inputs(&run, &jobs, argv + optind, argc - optind, &missing, err)) {
		fprintf(stderr, "imgpipe: %s\n", err);
		status = IMGP_EXIT_FAILED;
		goto out;
	}
	if((size_t)nworkers > jobs.n)
		nworkers = jobs.n ? (int)jobs.n : 1;
	run_workers(&run, nworkers);
	atomic_fetch_add(&run.totals.failed, missing);
	if(!run.quiet)
		print_summary(&run);
	if(atomic_load(&run.totals.failed))
		status = IMGP_EXIT_FAILED;
out:
	joblist_release(&jobs);
	pthread_mutex_destroy(&run.print_lock);
	if(run.store)
		imgp_store_close(run.store);
	imgp_free(run.out_bucket);
	imgp_render_shutdown();
	return status;
}
