/*
 * resize.c: `imgpipe resize`, the local batch resizer: one more front end
 * of the job the trigger runs.
 *
 * It owns argv, the run (its inputs into refs are resize_plan.c's, the
 * workers the shared pool's), the progress line and the summary. Reading, naming, stamps, up-to-date, collisions
 * and atomic writes are the job's and the store's, exactly as on Lambda.
 *
 * Every input is attempted; a failure is printed as
 * "imgpipe: <input>: <reason>" and the others carry on. What is checked
 * before the first decode (options, config, the destination, credentials)
 * stops the run with exit 2 and one message.
 */
#include "handlers.h"
#include "resize.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "naming.h"
#include "pool.h"

static const char usage_text[] =
	"usage: imgpipe resize [--variants SPEC] [--config FILE] [-o DIR | -o s3://BUCKET/PREFIX/]\n"
	"                      [--output-key TMPL] [-j N] [--force] [--quiet] [--verbose]\n"
	"                      [--max-pixels N] [--max-bytes N] [--max-frames N] [--fail-on LEVEL]\n"
	"                      INPUT...\n"
	"\n"
	"Resize image files, every image in folders (walked recursively) and every\n"
	"object under s3://BUCKET/PREFIX/ into each variant of SPEC, through the same\n"
	"job as the Lambda trigger: the same names, metadata and idempotency.\n"
	"\n"
	"The variants of photos/2024/cat.jpg go to DIR/<variant>/photos/2024/cat.<ext>\n"
	"(the output key template, IMGPIPE_OUTPUT_KEY). A walk never enters DIR.\n"
	"Outputs carry their source's version and their settings' fingerprint: a\n"
	"second run skips what is current and renders what changed, source or spec.\n"
	"Each source's manifest (sizes, bytes, srcset, a placeholder) goes to\n"
	"DIR/manifest/photos/2024/cat.json ($IMGPIPE_MANIFEST_KEY; empty: none).\n"
	"\n"
	"options:\n"
	"      --variants SPEC    variants to make (default: $IMGPIPE_VARIANTS, else\n"
	"                         " IMGP_DEFAULT_VARIANTS ")\n"
	"  -c, --config FILE      variants and limits from a JSON file ($IMGPIPE_CONFIG);\n"
	"                         later sources win: file, $IMGPIPE_VARIANTS, --variants\n"
	"  -o, --output DIR       where variants go: a folder (default: resized) or\n"
	"                         s3://BUCKET/PREFIX/; DIR/TMPL (web/{dir}{stem}-{w}.{ext})\n"
	"                         is the folder and the key template at once\n"
	"      --output-key TMPL  key template ($IMGPIPE_OUTPUT_KEY; " IMGP_DEFAULT_OUTPUT_KEY ")\n"
	"  -j, --jobs N           images in parallel (default: the number of CPUs)\n"
	"  -f, --force            render and write every variant, current or not\n"
	"  -q, --quiet            print failures only, no progress or summary\n"
	"  -v, --verbose          one line per image (size, milliseconds per phase)\n"
	"                         and per skipped file, with the reason\n"
	"      --max-pixels N     refuse sources over N pixels (100000000)\n"
	"      --max-bytes N      refuse sources over N bytes (67108864)\n"
	"      --max-frames N     refuse an animation of over N frames where a variant\n"
	"                         keeps it (anim=keep; 100); else the first frame is used\n"
	"      --fail-on LEVEL    none, truncated, error or warning (warning); none renders\n"
	"                         what a truncated file holds\n"
	"  -h, --help             this text\n"
	"\n"
	"variant spec: variants separated by ';', each NAME=WxH then ,key=value\n"
	"options. 800x bounds the width only, x600 the height only.\n"
	"  fit=inside|cover|contain|fill   (default inside; sharp's meanings; cover,\n"
	"                                   contain and fill enlarge to the box)\n"
	"  format=auto|jpeg|webp|png|avif|best  (auto: JPEG when opaque, WebP with alpha;\n"
	"         best: the smallest of JPEG, WebP and AVIF; avif+webp+jpeg: one output each)\n"
	"  q=1-100 (JPEG, WebP " IMGP_STR(IMGP_DEFAULT_Q) "; AVIF " IMGP_STR(IMGP_AVIF_DEFAULT_Q)
	")  effort=0-9 (AVIF " IMGP_STR(IMGP_AVIF_DEFAULT_EFFORT) ")  lossless=yes\n"
	"  chroma=420|444 (JPEG, AVIF)  encoder=aom|svt|rav1e (AVIF)  progressive=yes\n"
	"  palette=yes"
	"  compression=0-9 (PNG)\n  crop=centre|attention|entropy (with fit=cover)\n"
	"  enlarge=yes|no  bg=#rrggbb (JPEG flatten, letterbox; white)  strip=no\n"
	"  anim=keep (animated GIF/WebP stay animated, as WebP)\n"
	"\n"
	"examples:\n"
	"  imgpipe resize -o web photos/\n"
	"  imgpipe resize --variants 'thumb=320x320,fit=cover;full=1600x,format=webp' a.jpg\n"
	"  imgpipe resize -o s3://variants/ s3://uploads/photos/\n"
	"\n"
	"exit status: 0 all inputs done, 1 some input failed, 2 usage or config error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imgpipe resize: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'imgpipe resize --help'\n");
	return IMGP_EXIT_USAGE;
}

/* --- tallies ------------------------------------------------------------ */

void imgp_resize_skip(struct run *r, enum tally t, const char *shown, const char *why)
{
	atomic_fetch_add(&r->tally[t], 1);
	if(r->verbose)
		imgp_resize_print(r, "skipped %s: %s\n", shown, why);
}

/* Files passed over so far (not images, imgpipe's own). */
size_t imgp_resize_skips(struct run *r)
{
	return atomic_load(&r->tally[T_NOTIMAGE]) + atomic_load(&r->tally[T_OURS]);
}

/* --- working ------------------------------------------------------------ */

/* One line under the lock, the progress line cleared first. */
void imgp_resize_print(struct run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->print_lock);
	if(r->tty && !r->quiet)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&r->print_lock);
}

/* --verbose: what one source cost, phase by phase. */
static void report_timings(struct run *r, const struct input *in,
                           const struct imgp_job_result *res)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%dx%d %s, get %.1f ms, decode %.1f ms (at %dx%d)",
	                 res->source.width, res->source.height, res->source.format, res->get_ms,
	                 res->decode_ms, res->decoded_width, res->decoded_height);

	for(size_t i = 0; i < res->noutputs && n > 0 && (size_t)n < sizeof(line); i++) {
		const struct imgp_job_output *o = &res->outputs[i];

		n += o->written ?
			snprintf(line + n, sizeof(line) - (size_t)n,
			         "; %s %dx%d %s resize %.1f ms encode %.1f ms %zu B", o->name, o->width,
			         o->height, imgp_format_name(o->format), o->resize_ms, o->encode_ms,
			         o->bytes) :
			snprintf(line + n, sizeof(line) - (size_t)n, "; %s current", o->name);
	}
	imgp_resize_print(r, "%s: %s\n", in->shown, line);
}

static void process(struct run *r, struct input *in)
{
	struct imgp_job_result res;
	enum imgp_status st = imgp_job_run(&r->jc, in->store, r->dst, &in->ref, 0, &res);

	if(!st && res.skip) {
		imgp_resize_skip(r, T_CURRENT, in->shown, "up to date");
	}
	else if(!st) {
		atomic_fetch_add(&r->tally[T_PROCESSED], 1);
		atomic_fetch_add(&r->bytes_in, res.bytes_in);
		atomic_fetch_add(&r->bytes_out, res.bytes_out);
		if(r->verbose)
			report_timings(r, in, &res);
	}
	else if(!in->explicit && (st == IMGP_E_NOT_IMAGE || st == IMGP_E_UNSUPPORTED))
		imgp_resize_skip(r, T_NOTIMAGE, in->shown, res.message);
	else if(!in->explicit && st == IMGP_E_LOOP)
		imgp_resize_skip(r, T_OURS, in->shown, res.message);
	else {
		atomic_fetch_add(&r->tally[T_FAILED], 1);
		imgp_resize_print(r, "imgpipe: %s: %s\n", in->shown, res.message);
	}
	imgp_job_result_release(&res);
}

/* One group of sources (a.jpg, a.png share names), on a worker of the pool. */
static void work_group(void *ctx, size_t g)
{
	struct run *r = ctx;

	for(size_t i = r->groups[g]; i < r->groups[g + 1]; i++) {
		process(r, &r->in[i]);
		atomic_fetch_add(&r->tally[T_DONE], 1);
	}
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

static void show_progress(struct run *r)
{
	size_t done = atomic_load(&r->tally[T_DONE]);
	double secs = (imgp_now_ms() - r->started_ms) / 1000, rate = secs > 0 ? done / secs : 0;
	double eta = rate > 0 ? (double)(r->n - done) / rate : -1;
	char left[32] = "--:--";

	if(eta >= 3600 && eta < 360000)
		snprintf(left, sizeof(left), "%d:%02d:%02d", (int)eta / 3600, (int)eta / 60 % 60,
		         (int)eta % 60);
	else if(eta >= 0 && eta < 3600)
		snprintf(left, sizeof(left), "%d:%02d", (int)eta / 60, (int)eta % 60);
	pthread_mutex_lock(&r->print_lock);
	fprintf(stderr, "\r\033[K%zu/%zu  %.1f images/s  ETA %s  failed %zu", done, r->n, rate,
	        left, atomic_load(&r->tally[T_FAILED]));
	fflush(stderr);
	pthread_mutex_unlock(&r->print_lock);
}

/* The progress line, while the pool works (a terminal, not --quiet). */
static void tick(void *ctx)
{
	struct run *r = ctx;

	if(r->tty && !r->quiet)
		show_progress(r);
}

static void print_summary(struct run *r)
{
	atomic_size_t *t = r->tally;
	char in[32], out[32];

	human_bytes(in, sizeof(in), atomic_load(&r->bytes_in));
	human_bytes(out, sizeof(out), atomic_load(&r->bytes_out));
	fprintf(stderr, "%sprocessed %zu, skipped %zu (%zu up to date, %zu not images, %zu imgpipe "
	        "outputs), failed %zu; %s in, %s out; %.2f s\n", r->tty ? "\r\033[K" : "",
	        atomic_load(&t[T_PROCESSED]),
	        atomic_load(&t[T_CURRENT]) + atomic_load(&t[T_NOTIMAGE]) + atomic_load(&t[T_OURS]),
	        atomic_load(&t[T_CURRENT]), atomic_load(&t[T_NOTIMAGE]), atomic_load(&t[T_OURS]),
	        atomic_load(&t[T_FAILED]), in, out, (imgp_now_ms() - r->started_ms) / 1000);
}

/* --- the command -------------------------------------------------------- */

/*
 * Everything that can be said before the first decode: the destination
 * (a folder made and writable, a bucket that exists), credentials when
 * S3 is used, and the template.
 */
static enum imgp_status prepare(struct run *r, const char *output, char *err)
{
	const struct imgp_store_scheme *out_scheme = imgp_store_scheme_of(output);
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE], *bucket = NULL, *prefix = NULL;
	enum imgp_status result = imgp_naming_check(r->jc.output_key, &r->jc.render, err);

	if(result)
		return result;
	if(out_scheme) {
		if(r->scheme && r->scheme != out_scheme)
			return imgp_fail(err, IMGP_E_USAGE, "-o %s: one store per run, and the inputs "
			                 "are %s URLs", output, r->scheme->noun);
		r->scheme = out_scheme;
		result = imgp_store_url_split(output, &bucket, &prefix, line);
		/* s3://BUCKET/ or s3://BUCKET/PREFIX/: a folder, as -o DIR is */
		if(result == IMGP_E_USAGE || (!result && (!strchr(output + strlen(out_scheme->scheme)
		                                                  + 3, '/') ||
		                                          (*prefix && prefix[strlen(prefix) - 1] != '/'))))
			result = imgp_fail(err, IMGP_E_USAGE, "-o %s: write %s://BUCKET/ or "
			                   "%s://BUCKET/PREFIX/ (a prefix ends in /)", output,
			                   out_scheme->scheme, out_scheme->scheme);
		else if(result)
			imgp_fail(err, result, "%s", line);
		/* -o's prefix, else IMGPIPE_DEST_PREFIX: where the trigger writes */
		if(!result && *prefix)
			result = imgp_job_config_set(&r->jc.dest_prefix, prefix, err);
	}
	if(!result && *r->jc.dest_prefix)
		result = imgp_naming_check_prefix(r->jc.dest_prefix, out_scheme ? "-o" :
		                                  "IMGPIPE_DEST_PREFIX", err);
	if(!result)
		result = imgp_store_open_folders(&r->files, err);
	/* IMGPIPE_STORE, when set, is where the URLs' buckets are (dir:PATH) */
	if(!result && r->scheme)
		result = imgp_store_open(r->jc.store ? r->jc.store : r->scheme->store, &r->remote, err);
	if(!result) {
		imgp_free(r->jc.dest_bucket);
		r->jc.dest_bucket = out_scheme ? bucket : imgp_strdup(output);
		bucket = NULL;
		if(!r->jc.dest_bucket)
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	imgp_free(bucket);
	imgp_free(prefix);
	if(result)
		return result;
	r->dst = out_scheme ? r->remote : r->files;
	if(r->remote && (result = imgp_store_warm(r->remote, err)))
		return result;
	if(imgp_store_check_bucket(r->dst, r->jc.dest_bucket, true, &e))
		return imgp_fail(err, IMGP_E_USAGE, "-o %s: %s", output, imgp_store_error_str(&e, line));
	return IMGP_OK;
}

int imgp_cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "variants", required_argument, NULL, 'V' }, { "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' }, { "output-key", required_argument, NULL, 'k' },
		{ "jobs", required_argument, NULL, 'j' }, { "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' },
		{ "max-pixels", required_argument, NULL, 'P' }, { "max-bytes", required_argument, NULL, 'B' },
		{ "max-frames", required_argument, NULL, 'F' }, { "fail-on", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct imgp_flags o = { 0 };
	const char *output = "resized";
	char *split_output = NULL;
	struct run r;
	char err[IMGP_ERRSIZE] = "", *end;
	int opt, nworkers = 0, status = IMGP_EXIT_OK, cpus = imgp_cpu_count();
	bool force = false;
	enum imgp_status result;

	memset(&r, 0, sizeof(r));
	opterr = 0;
	while((opt = getopt_long(argc, argv, ":c:o:j:fqvh", longopts, NULL)) != -1) {
		switch(opt) {
		case 'V': o.spec = optarg; break;
		case 'c': o.config_file = optarg; break;
		case 'o': output = optarg; break;
		case 'k': o.output_key = optarg; break;
		case 'f': force = true; break;
		case 'q': r.quiet = true; break;
		case 'v': r.verbose = true; break;
		case 'P': case 'B': case 'F': case 'L':
			/* the last of a repeated one wins */
			o.limits[strchr("PBFL", opt) - "PBFL"] = optarg;
			break;
		case 'j':
			nworkers = (int)strtol(optarg, &end, 10);
			if(*end || nworkers < 1 || nworkers > 256)
				return usage_error("-j %s: give a number of workers from 1 to 256", optarg);
			break;
		case 'h': fputs(usage_text, stdout); return IMGP_EXIT_OK;
		case ':': return usage_error("%s needs a value", argv[optind - 1]);
		default:
			imgp_unknown_option("resize", argv[optind - 1], longopts);
			return IMGP_EXIT_USAGE;
		}
	}
	if(optind >= argc)
		return usage_error("%s", "no INPUT given: name image files, folders or s3:// prefixes");
	/* -o 'web/{dir}{stem}-{w}.{ext}': the folder, then the key template */
	if(strchr(output, '{')) {
		const char *brace = strchr(output, '{'), *slash = brace;

		if(o.output_key)
			return usage_error("-o %s holds a key template and --output-key gives another: "
			                   "give one", output);
		while(slash > output && slash[-1] != '/')
			slash--;
		if(!(split_output = imgp_strndup(output, slash > output ? (size_t)(slash - output - 1)
		                                                         : 1)))
			return usage_error("%s", "out of memory");
		if(slash == output)
			split_output[0] = '.';
		o.output_key = slash;
		output = split_output;
	}
	/* the URLs' store: one per run */
	for(int i = optind; i < argc; i++) {
		const struct imgp_store_scheme *s = imgp_store_scheme_of(argv[i]);

		if(s && r.scheme && s != r.scheme) {
			status = usage_error("%s and %s: one store per run", r.scheme->scheme,
			                     s->scheme);
			goto out;
		}
		r.scheme = s ? s : r.scheme;
	}
	result = imgp_job_config_load(&r.jc, &o, err);
	r.jc.force = force;
	if(result || prepare(&r, output, err)) {
		fprintf(stderr, "imgpipe: %s\n", err);
		status = IMGP_EXIT_USAGE;
		goto out;
	}
	if(!nworkers)
		nworkers = cpus;
	/* CPUs are shared between workers and each image's libvips threads */
	/*
	 * libvips threads per worker: the CPUs shared out, and two at least
	 * where there are two: a worker waiting on its single-threaded decode
	 * or encode leaves its core idle, and two each kept 1.75 of 2 cores busy
	 * against 1.57 with one (bench/cores.py: 12.7 against 11.4 images/s)
	 */
	if(imgp_render_init(argv[0], cpus / nworkers > 1 ? cpus / nworkers : cpus > 1 ? 2 : 1, err) ||
	   imgp_render_check(&r.jc.render, err)) {
		fprintf(stderr, "imgpipe: %s\n", err);
		status = IMGP_EXIT_USAGE;
		goto out;
	}
	pthread_mutex_init(&r.print_lock, NULL);
	r.tty = isatty(STDERR_FILENO);
	r.started_ms = imgp_now_ms();
	for(int i = optind; i < argc && status == IMGP_EXIT_OK; i++) {
		size_t before = r.n, skipped = imgp_resize_skips(&r), failed = atomic_load(&r.tally[T_FAILED]);

		bool url = imgp_store_scheme_of(argv[i]) != NULL;

		if(url ? imgp_resize_plan_url(&r, argv[i], err) : imgp_resize_plan_local(&r, argv[i], err))
			status = IMGP_EXIT_USAGE;
		/* a folder or prefix with nothing in it says so, not "processed 0" */
		else if(r.n == before && imgp_resize_skips(&r) == skipped &&
		        atomic_load(&r.tally[T_FAILED]) == failed)
			fprintf(stderr, "imgpipe: %s: nothing there to resize (%s)\n", argv[i],
			        url ? "no object under this prefix" : "an empty folder");
	}
	if(status || imgp_resize_separate_same_keys(&r, err) || imgp_resize_plan_groups(&r, err)) {
		fprintf(stderr, "imgpipe: %s\n", err);
		status = IMGP_EXIT_USAGE;
	}
	else {
		imgp_pool_run(r.ngroups, nworkers, work_group, tick, &r);
		if(!r.quiet)
			print_summary(&r);
		status = atomic_load(&r.tally[T_FAILED]) ? IMGP_EXIT_FAILED : IMGP_EXIT_OK;
	}
	pthread_mutex_destroy(&r.print_lock);
	imgp_render_shutdown();
out:
	for(size_t i = 0; i < r.n; i++) {
		imgp_free(r.in[i].ref.bucket);
		imgp_free(r.in[i].ref.key);
		imgp_free(r.in[i].ref.etag);
		imgp_free(r.in[i].ref.version_id);
		imgp_free(r.in[i].shown);
	}
	imgp_free(r.in);
	imgp_free(r.groups);
	imgp_store_close(r.files);
	imgp_store_close(r.remote);
	imgp_job_config_release(&r.jc);
	imgp_free(split_output);
	return status;
}
