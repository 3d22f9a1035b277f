/*
 * matrix.c: the format matrix (matrix.h). One resize run over matrix/
 * with a variant per output format, then every cell checked from the
 * files it wrote, decoded with this process's libvips.
 */
#include "matrix.h"

#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "testutil.h"

#define FRAMES 5

/* The inputs: name, format as --version says it, colour tolerance, frames. */
static const struct input {
	const char *file, *format;
	int tolerance, frames;
	bool icc;                   /* inks: libvips' own ICC transform of this file */
} inputs[] = {
	{ "quad.jpg", "jpeg", 40, 1, false },
	{ "quad-progressive.jpg", "jpeg", 40, 1, false },
	/* sRGB green is outside the CMYK gamut: the inks are what the file's
	 * profile says, as libvips' own transform of it reads them */
	{ "quad-cmyk.jpg", "jpeg", 30, 1, true },
	{ "quad-orient6.jpg", "jpeg", 40, 1, false },
	{ "quad.png", "png", 40, 1, false },
	{ "quad-16.png", "png", 40, 1, false },
	{ "quad-palette.png", "png", 40, 1, false },
	{ "quad-lossy.webp", "webp", 40, 1, false },
	{ "quad-lossless.webp", "webp", 40, 1, false },
	{ "anim.webp", "webp", 40, FRAMES, false },
	{ "quad.gif", "gif", 40, 1, false },
	{ "anim.gif", "gif", 40, FRAMES, false },
	{ "quad.tif", "tiff", 40, 1, false },
	{ "quad.heic", "heic", 40, 1, false },
	{ "quad.avif", "avif", 48, 1, false },
};

/* The outputs: the variant, its spec, the format --version names, its
 * extension and magic, and whether it keeps an animation. */
static const struct output {
	const char *variant, *spec, *format, *ext;
	bool anim;
} outputs[] = {
	{ "j", "j=80x60,format=jpeg", "jpeg", "jpg", false },
	{ "p", "p=80x60,format=png", "png", "png", false },
	{ "w", "w=80x60,format=webp", "webp", "webp", false },
	{ "a", "a=80x60,format=avif", "avif", "avif", false },
	{ "k", "k=80x60,format=webp,anim=keep", "webp", "webp", true },
};

static const double quad_ink[4][3] = {
	{ 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 },
};
static const double frame_ink[FRAMES][3] = {
	{ 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 0 }, { 255, 0, 255 },
};

struct out {
	GString *text;
	int failed, passed, expected_missing;
};

static void line(struct out *o, bool ok, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void line(struct out *o, bool ok, const char *fmt, ...)
{
	va_list ap;

	g_string_append(o->text, ok ? "  ok    " : "  FAIL  ");
	va_start(ap, fmt);
	g_string_append_vprintf(o->text, fmt, ap);
	va_end(ap);
	g_string_append_c(o->text, '\n');
	if(ok)
		o->passed++;
	else
		o->failed++;
}

/* Run prefix + args; out and err captured. */
static int run(const struct matrix_run *m, const char *const *args, char **out, char **err)
{
	const char *argv[64];
	int n = 0;

	for(const char *const *p = m->prefix; *p && n < 40; p++)
		argv[n++] = *p;
	for(const char *const *p = args; *p && n < 63; p++)
		argv[n++] = *p;
	argv[n] = NULL;
	return tu_run(argv, out, err);
}

/* Is word one of the formats listed after "reads" (or "writes") in caps? */
static bool listed(const char *caps, const char *which, const char *word)
{
	const char *p = strstr(caps, which), *end;
	char padded[32];

	if(!p)
		return false;
	end = strchr(p, ';');
	snprintf(padded, sizeof(padded), " %s", word);
	for(const char *q = p; (q = strstr(q, padded)) && (!end || q < end); q += strlen(padded))
		if(q[strlen(padded)] == ' ' || q[strlen(padded)] == ';' || q[strlen(padded)] == '\n' ||
		   !q[strlen(padded)])
			return true;
	return false;
}

/* What the bytes say they are. */
static const char *sniff(const unsigned char *b, size_t n)
{
	if(n >= 3 && !memcmp(b, "\xFF\xD8\xFF", 3))
		return "jpeg";
	if(n >= 8 && !memcmp(b, "\x89PNG\r\n\x1A\n", 8))
		return "png";
	if(n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
		return "webp";
	if(n >= 12 && !memcmp(b + 4, "ftypavif", 8))
		return "avif";
	return "unknown";
}

/* Pixel (x, y) against ink; the worst band's difference. */
static double off(VipsImage *im, int x, int y, const double ink[3])
{
	double *px = NULL, worst = 0;
	int n = 0;

	if(vips_getpoint(im, &px, &n, x, y, NULL) || n < 3) {
		g_free(px);
		vips_error_clear();
		return 999;
	}
	for(int b = 0; b < 3; b++)
		if(fabs(px[b] - ink[b]) > worst)
			worst = fabs(px[b] - ink[b]);
	g_free(px);
	return worst;
}

/* The four quadrants' inks of a CMYK input, as libvips' ICC transform of
 * the file through its embedded profile gives them. */
static bool icc_inks(const struct matrix_run *m, const struct input *in, double ink[4][3])
{
	char *path = g_strdup_printf("%s/%s", m->in_host, in->file);
	VipsImage *src = vips_image_new_from_file(path, NULL), *srgb = NULL;
	bool ok = src && !vips_icc_transform(src, &srgb, "srgb", "embedded", TRUE, NULL);

	for(int q = 0; ok && q < 4; q++) {
		double *px = NULL;
		int n = 0;

		ok = !vips_getpoint(srgb, &px, &n, 40 + 80 * (q % 2), 30 + 60 * (q / 2), NULL) &&
		     n >= 3;
		for(int b = 0; ok && b < 3; b++)
			ink[q][b] = px[b];
		g_free(px);
	}
	vips_error_clear();
	if(srgb)
		g_object_unref(srgb);
	if(src)
		g_object_unref(src);
	g_free(path);
	return ok;
}

/* One cell: the output of input in through output o, checked. */
static void check_cell(const struct matrix_run *m, const struct input *in,
                       const struct output *o, struct out *rep)
{
	double inks[4][3];
	char stem[64], *path;
	const char *dot = strrchr(in->file, '.');
	unsigned char *bytes;
	size_t len;
	VipsImage *im;
	int frames = o->anim ? in->frames : 1, page_h;
	double worst = 0;

	snprintf(stem, sizeof(stem), "%.*s", (int)(dot - in->file), in->file);
	path = g_strdup_printf("%s/%s/matrix/%s.%s", m->out_host, o->variant, stem, o->ext);
	bytes = tu_read(path, &len);
	if(!bytes) {
		line(rep, false, "%-20s -> %-13s not written (%s)", in->file, o->spec, path);
		g_free(path);
		return;
	}
	if(strcmp(sniff(bytes, len), o->format)) {
		line(rep, false, "%-20s -> %-13s written as %s, not %s", in->file, o->spec,
		     sniff(bytes, len), o->format);
		free(bytes);
		g_free(path);
		return;
	}
	im = o->anim ? vips_image_new_from_buffer(bytes, len, "", "n", -1, NULL)
	             : vips_image_new_from_buffer(bytes, len, "", NULL);
	if(!im) {
		line(rep, false, "%-20s -> %-13s does not decode: %s", in->file, o->spec,
		     vips_error_buffer());
		vips_error_clear();
		free(bytes);
		g_free(path);
		return;
	}
	page_h = vips_image_get_page_height(im);
	if(im->Xsize != 80 || page_h != 60 || im->Ysize != 60 * frames) {
		line(rep, false, "%-20s -> %-13s is %dx%d in frames of %d rows, want %d frame%s of 80x60",
		     in->file, o->spec, im->Xsize, im->Ysize, page_h, frames, frames > 1 ? "s" : "");
		goto out;
	}
	/* colours, and with them orientation: each quadrant where it belongs,
	 * or each frame its colour */
	if(in->frames > 1)
		for(int f = 0; f < frames; f++) {
			double d = off(im, 40, 30 + 60 * f, frame_ink[f]);
			worst = d > worst ? d : worst;
		}
	else {
		memcpy(inks, quad_ink, sizeof(inks));
		if(in->icc && !icc_inks(m, in, inks)) {
			line(rep, false, "%-20s -> %-13s: libvips cannot transform the source", in->file,
			     o->spec);
			goto out;
		}
		for(int q = 0; q < 4; q++) {
			double d = off(im, 20 + 40 * (q % 2), 15 + 30 * (q / 2), inks[q]);
			worst = d > worst ? d : worst;
		}
	}
	line(rep, worst <= in->tolerance, "%-20s -> %-13s %s %dx%d%s, colours within %.0f (of %d)",
	     in->file, o->spec, o->format, im->Xsize, page_h, frames > 1 ? " x5 frames" : "",
	     worst, in->tolerance);
out:
	g_object_unref(im);
	free(bytes);
	g_free(path);
}

int matrix_check(const struct matrix_run *m, char **report)
{
	static const char *const version[] = { "--version", NULL };
	struct out rep = { g_string_new(""), 0, 0, 0 };
	GString *spec = g_string_new("");
	char *caps = NULL, *err = NULL, *out = NULL;
	const char *args[16];
	int status;

	*report = NULL;
	tu_vips_start();
	if(run(m, version, &caps, &err) || !strstr(caps, "reads") || !strstr(caps, "writes")) {
		*report = g_strdup_printf("imgpipe --version says nothing of its formats: %s %s",
		                          caps ? caps : "", err ? err : "");
		free(caps);
		free(err);
		g_string_free(spec, TRUE);
		g_string_free(rep.text, TRUE);
		return -1;
	}
	free(err);
	err = NULL;
	/* one run, a variant per output this build writes */
	for(size_t o = 0; o < G_N_ELEMENTS(outputs); o++)
		if(listed(caps, "writes", outputs[o].format))
			g_string_append_printf(spec, "%s%s", spec->len ? ";" : "", outputs[o].spec);
	args[0] = "resize";
	args[1] = "-q";
	args[2] = "-o";
	args[3] = m->out_arg;
	args[4] = "--variants";
	args[5] = spec->str;
	args[6] = m->in_arg;
	args[7] = NULL;
	status = run(m, args, &out, &err);
	line(&rep, status == 0 || status == 1, "resize over matrix/: exit %d", status);
	for(size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
		const struct input *in = &inputs[i];
		char named[128];

		snprintf(named, sizeof(named), "/%s: ", in->file);
		if(!listed(caps, "reads", in->format)) {
			/* said at start by --version; then each such file fails by name */
			line(&rep, strstr(err, named) != NULL, "%-20s cannot be read by this build, "
			     "and the run says so", in->file);
			rep.expected_missing++;
			continue;
		}
		if(strstr(err, named)) {
			const char *why = strstr(err, named) + strlen(named);

			line(&rep, false, "%-20s failed: %.*s", in->file, (int)strcspn(why, "\n"), why);
			continue;
		}
		for(size_t o = 0; o < G_N_ELEMENTS(outputs); o++)
			if(listed(caps, "writes", outputs[o].format))
				check_cell(m, in, &outputs[o], &rep);
	}
	/* what this build does not write is refused before any work */
	for(size_t o = 0; o < G_N_ELEMENTS(outputs); o++) {
		char *e2 = NULL;

		if(listed(caps, "writes", outputs[o].format))
			continue;
		args[5] = outputs[o].spec;
		status = run(m, args, NULL, &e2);
		line(&rep, status == 2 && strstr(e2, "is not available"), "%-13s cannot be written "
		     "by this build: exit %d, %s", outputs[o].spec, status, e2 ? e2 : "");
		rep.expected_missing++;
		free(e2);
	}
	g_string_append_printf(rep.text, "matrix: %d cells as they must be, %d failed, %d of them "
	                       "formats this build says it lacks; %s", rep.passed, rep.failed,
	                       rep.expected_missing, caps);
	*report = g_string_free(rep.text, FALSE);
	g_string_free(spec, TRUE);
	free(caps);
	free(out);
	free(err);
	return rep.failed;
}
