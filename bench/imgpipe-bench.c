/*
 * imgpipe-bench.c: imgpipe's side of `make bench`, and the floor.
 *
 *   imgpipe-bench [--variants SPEC] [--reps N] [--warmup N] [--threads N]
 *                 [--floor] [--out DIR] FILE
 *
 * One process per source, as one Lambda sandbox would see it: the file is
 * read once, imgp_render runs --warmup times untimed and then --reps times
 * timed (warm: libvips started, code paged in, allocator grown). Printed on
 * stdout as one JSON object: the median wall and CPU milliseconds of one
 * whole render, the median split into probe, decode, resize and encode, the
 * output sizes, and the process's peak RSS at the end.
 *
 * --floor measures, in the same process and after imgpipe, what no pipeline
 * can beat: one decode at the scale the largest variant needs (shrink-on-
 * load, into memory) plus the encode of every output from pixels that are
 * already at their size. The resizes are done outside the clock. The decode
 * is the faster of libvips' thumbnail and libjpeg's DCT shrink followed by
 * thumbnail (what render.c does), taken per repetition; no colour transform.
 *
 * --out DIR writes the outputs of the last repetition there, to compare
 * sizes and look at them. --jpeg-decoder libvips turns render's own JPEG
 * decoder (src/jpegdec.c) off, to measure what it brings.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <vips/vips.h>

#include "config.h"
#include "render.h"
#include "render_impl.h"

#define MAX_REPS 1000

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if(!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	buf = malloc(n ? n : 1);
	if(buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "imgpipe-bench: %s: %s\n", what, why);
	exit(1);
}

static void die_vips(const char *what)
{
	die(what, vips_error_buffer());
}

/* One decode to dw x dh into memory, the faster way this source allows. */
static VipsImage *floor_decode(const void *buf, size_t len, const struct imgp_probe *p,
                               int dw, int dh, int shrink)
{
	VipsImage *t = NULL, *l = NULL, *m;

	if(shrink > 1) {
		if(vips_jpegload_buffer((void *)buf, len, &l, "shrink", shrink,
		                        "access", VIPS_ACCESS_SEQUENTIAL, NULL) ||
		   vips_thumbnail_image(l, &t, dw, "height", dh, "size", VIPS_SIZE_FORCE, NULL))
			die_vips("floor decode");
		g_object_unref(l);
	}
	else if(vips_thumbnail_buffer((void *)buf, len, &t, dw, "height", dh,
	                              "size", VIPS_SIZE_FORCE, NULL))
		die_vips("floor decode");
	if(!(m = vips_image_copy_memory(t)))
		die_vips("floor decode");
	g_object_unref(t);
	return m;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "variants", required_argument, NULL, 'v' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{ "floor", no_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "jpeg-decoder", required_argument, NULL, 'j' },
		{ "placeholders", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spec = NULL, *outdir = NULL, *path;
	int reps = 10, warmup = 2, threads = 1, floor_too = 0, placeholders = 0, c;
	struct imgp_config cfg;
	struct imgp_render_result res;
	char err[IMGP_ERRSIZE];
	static double wall[MAX_REPS], cpu[MAX_REPS], probe[MAX_REPS], dec[MAX_REPS],
		rsz[MAX_REPS], enc[MAX_REPS], fdec[MAX_REPS], fenc[MAX_REPS], ph[MAX_REPS];
	size_t sizes[IMGP_MAX_VARIANTS] = { 0 }, len;
	int widths[IMGP_MAX_VARIANTS] = { 0 }, heights[IMGP_MAX_VARIANTS] = { 0 };
	int dw = 0, dh = 0;
	long rss_render;
	void *buf;

	while((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch(c) {
		case 'v': spec = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'f': floor_too = 1; break;
		case 'o': outdir = optarg; break;
		case 'j': imgp_render_direct_jpeg = strcmp(optarg, "libvips") != 0; break;
		case 'p': placeholders = 1; break;
		default: return 2;
		}
	}
	if(optind != argc - 1 || reps < 1 || reps > MAX_REPS || threads < 1) {
		fprintf(stderr, "usage: imgpipe-bench [--variants SPEC] [--reps N] [--warmup N] "
		        "[--threads N] [--floor] [--out DIR] [--jpeg-decoder libjpeg|libvips] "
		        "[--placeholders] FILE\n");
		return 2;
	}
	path = argv[optind];

	imgp_config_init(&cfg);
	if((spec && imgp_config_parse_spec(&cfg, spec, err)) ||
	   imgp_render_init(argv[0], threads, err) || imgp_render_check(&cfg, err))
		die("setup", err);
	/* the manifest's placeholder, as the handler makes it by default */
	cfg.placeholders = placeholders;
	if(!(buf = read_file(path, &len)))
		die(path, strerror(errno));

	for(int i = -warmup; i < reps; i++) {
		double w0 = imgp_now_ms(), c0 = cpu_ms(), r = 0, e = 0;

		if(imgp_render(&cfg, buf, len, &res, err))
			die(path, err);
		if(i < 0) {
			imgp_render_result_release(&res);
			continue;
		}
		wall[i] = imgp_now_ms() - w0;
		cpu[i] = cpu_ms() - c0;
		probe[i] = res.probe_ms;
		dec[i] = res.decode_ms;
		ph[i] = res.has_placeholder ? res.placeholder.ms : 0;
		for(size_t k = 0; k < res.noutputs; k++) {
			r += res.outputs[k].resize_ms;
			e += res.outputs[k].encode_ms;
			sizes[k] = res.outputs[k].len;
			widths[k] = res.outputs[k].width;
			heights[k] = res.outputs[k].height;
			if(outdir && i == reps - 1) {
				char name[4096];
				FILE *f;

				snprintf(name, sizeof(name), "%s/%s.%s", outdir,
				         res.outputs[k].variant->name,
				         imgp_format_ext(res.outputs[k].format));
				if(!(f = fopen(name, "wb")) ||
				   fwrite(res.outputs[k].data, 1, res.outputs[k].len, f) != res.outputs[k].len ||
				   fclose(f))
					die(name, strerror(errno));
			}
		}
		rsz[i] = r;
		enc[i] = e;
		dw = res.decoded_width;
		dh = res.decoded_height;
		imgp_render_result_release(&res);
	}
	rss_render = peak_rss_kb();

	printf("{\"file\": \"%s\", \"bytes\": %zu, \"threads\": %d, \"reps\": %d, "
	       "\"width\": %d, \"height\": %d, \"decoded\": [%d, %d], "
	       "\"wall_ms\": %.3f, \"cpu_ms\": %.3f, \"probe_ms\": %.3f, \"decode_ms\": %.3f, "
	       "\"resize_ms\": %.3f, \"encode_ms\": %.3f, \"placeholder_ms\": %.3f, "
	       "\"wall_min_ms\": %.3f, "
	       "\"peak_rss_kb\": %ld, \"outputs\": [",
	       path, len, threads, reps, res.probe.width, res.probe.height, dw, dh,
	       median(wall, reps), median(cpu, reps), median(probe, reps), median(dec, reps),
	       median(rsz, reps), median(enc, reps), median(ph, reps),
	       (qsort(wall, reps, sizeof(double), cmp_double), wall[0]),
	       rss_render);
	for(size_t k = 0; k < cfg.nvariants; k++)
		printf("%s{\"name\": \"%s\", \"bytes\": %zu, \"width\": %d, \"height\": %d}",
		       k ? ", " : "", cfg.variants[k].name, sizes[k], widths[k], heights[k]);
	printf("]");

	if(floor_too) {
		/* the decode imgpipe chose, and each output's size, from its own run */
		struct imgp_probe p;
		VipsImage *sized[IMGP_MAX_VARIANTS];
		enum imgp_format fmt[IMGP_MAX_VARIANTS];
		double f = 1;
		int shrink = 1;

		if(imgp_render_probe(&cfg, buf, len, &p, err))
			die(path, err);
		if(!strcmp(p.format, "jpeg")) {
			f = fmin((double)p.width / dw, (double)p.height / dh);
			shrink = f >= 8 ? 8 : f >= 4 ? 4 : f >= 2 ? 2 : 1;
		}
		{
			VipsImage *d = floor_decode(buf, len, &p, dw, dh, shrink);

			for(size_t k = 0; k < cfg.nvariants; k++) {
				VipsImage *t;

				fmt[k] = imgp_render_format(&cfg.variants[k], &p);
				if(vips_resize(d, &t, (double)widths[k] / d->Xsize,
				               "vscale", (double)heights[k] / d->Ysize, NULL) ||
				   !(sized[k] = vips_image_copy_memory(t)))
					die_vips("floor resize");
				g_object_unref(t);
			}
			g_object_unref(d);
		}
		for(int i = -warmup; i < reps; i++) {
			double t0 = imgp_now_ms(), best, e = 0;
			VipsImage *d;

			d = floor_decode(buf, len, &p, dw, dh, shrink);
			best = imgp_now_ms() - t0;
			g_object_unref(d);
			if(shrink > 1) {
				/* libvips' own thumbnail may win on some sources */
				t0 = imgp_now_ms();
				d = floor_decode(buf, len, &p, dw, dh, 1);
				best = fmin(best, imgp_now_ms() - t0);
				g_object_unref(d);
			}
			for(size_t k = 0; k < cfg.nvariants; k++) {
				void *out = NULL;
				size_t n;

				t0 = imgp_now_ms();
				/* render.c's own saver call: the floor encodes as imgpipe does */
				if(imgp_render_encode(sized[k], &cfg.variants[k], fmt[k], &out, &n, err))
					die("floor encode", err);
				e += imgp_now_ms() - t0;
				g_free(out);
			}
			if(i >= 0) {
				fdec[i] = best;
				fenc[i] = e;
			}
		}
		for(size_t k = 0; k < cfg.nvariants; k++)
			g_object_unref(sized[k]);
		printf(", \"floor\": {\"decode_ms\": %.3f, \"encode_ms\": %.3f, \"shrink\": %d}",
		       median(fdec, reps), median(fenc, reps), shrink);
	}
	printf(", \"libvips\": \"%s\"}\n", imgp_render_version());
	free(buf);
	imgp_render_shutdown();
	return 0;
}
