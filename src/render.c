/*
 * render.c: the libvips pipeline. Bytes in, encoded variants out.
 *
 * It owns the single decode per source, colour, alpha and each variant's
 * pixels; sniffing, the loader allow-list and the header's limits are
 * probe.c's, each variant's size and the plan geometry.c's, the savers and
 * metadata encode.c's, libvips' process-wide state (start, the lock, the
 * error buffer) vips.c's, the surgery on saved bytes strip.c's. It must never do I/O (a libvips saver writing to a path, a curl
 * call) and never keep state between sources but the read-only profile
 * made at init.
 *
 * Decode once: all variants are planned first; the source is decoded with
 * shrink-on-load by vips_thumbnail to the largest size any variant needs
 * (colour-managed to sRGB, orientation applied) into memory, and every
 * variant is resized from that. N variants cost one decode, not N.
 */
#include "render.h"
#include "render_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>


/* Decode JPEGs with libjpeg directly (jpegdec.c); off only to measure it
 * (imgpipe-bench --jpeg-decoder libvips) and in its test. */
bool imgp_render_direct_jpeg = true;



/* --- pixels ------------------------------------------------------------ */

/*
 * To 8-bit sRGB with alpha kept. vips_colourspace passes extra bands through
 * unscaled, so a 16-bit alpha is scaled here by hand.
 */
static int to_srgb8(VipsImage *in, VipsImage **out)
{
	VipsImage *t[4] = { NULL };
	int result = -1;
	bool alpha = vips_image_hasalpha(in);
	bool wide = in->BandFmt == VIPS_FORMAT_USHORT;

	if(!alpha) {
		if(vips_colourspace(in, &t[0], VIPS_INTERPRETATION_sRGB, NULL) ||
		   vips_cast(t[0], out, VIPS_FORMAT_UCHAR, NULL))
			goto out;
		result = 0;
		goto out;
	}
	if(vips_extract_band(in, &t[0], 0, "n", in->Bands - 1, NULL) ||
	   vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_sRGB, NULL) ||
	   vips_extract_band(in, &t[2], in->Bands - 1, NULL))
		goto out;
	if(wide) {
		VipsImage *a;
		if(vips_linear1(t[2], &a, 1.0 / 257.0, 0, NULL))
			goto out;
		g_object_unref(t[2]);
		t[2] = a;
	}
	if(vips_cast(t[1], &t[3], VIPS_FORMAT_UCHAR, NULL))
		goto out;
	g_object_unref(t[1]);
	t[1] = NULL;
	if(vips_cast(t[2], &t[1], VIPS_FORMAT_UCHAR, NULL) ||
	   vips_bandjoin2(t[3], t[1], out, NULL))
		goto out;
	result = 0;
out:
	for(int i = 0; i < 4; i++)
		if(t[i])
			g_object_unref(t[i]);
	return result;
}

/*
 * The one decode: shrink-on-load to rw x rh (as displayed), orientation
 * applied, colour to sRGB through the embedded profile (or libvips' CMYK
 * profile for CMYK without one), 8 bits, into memory.
 */
/* Whether any variant keeps EXIF and XMP (strip=no): jpegdec.c reads only
 * the ICC profile, so those sources go through libvips' loader. */
static bool keeps_metadata(const struct imgp_config *cfg)
{
	for(size_t i = 0; i < cfg->nvariants; i++)
		if(!cfg->variants[i].strip)
			return true;
	return false;
}

static enum imgp_status decode(const struct imgp_config *cfg, const void *buf, size_t len,
                               const struct imgp_probe *probe, bool animated,
                               int rw, int rh, VipsImage **out, char *err)
{
	enum imgp_status result = IMGP_OK;
	VipsImage *header = NULL, *loaded = NULL, *thumb = NULL, *srgb = NULL;
	char options[64];
	bool has_icc, cmyk;
	int shrink;

	header = vips_image_new_from_buffer(buf, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if(!header)
		return imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot read the image header");
	has_icc = vips_image_get_typeof(header, VIPS_META_ICC_NAME) != 0;
	cmyk = header->Type == VIPS_INTERPRETATION_CMYK;
	g_object_unref(header);

	snprintf(options, sizeof(options), "fail_on=%s%s",
	         imgp_fail_on_name(cfg->limits.fail_on), animated ? ",n=-1" : "");
	shrink = imgp_geometry_jpeg_shrink(probe, rw, rh);
	if(!strcmp(probe->format, "jpeg") && !cmyk && imgp_render_direct_jpeg && !keeps_metadata(cfg) &&
	   !imgp_jpeg_decode(buf, len, rw, rh, probe->orientation, &loaded)) {
		/*
		 * libjpeg scaled it in the DCT by M/8, the smallest that covers
		 * the size (jpegdec.c): thumbnail turns it upright and resizes
		 * the rest of the way, colour-managed as below
		 */
		if(vips_thumbnail_image(loaded, &thumb, rw, "height", rh, "size", VIPS_SIZE_FORCE,
		                        "export_profile", has_icc ? "srgb" : NULL, NULL)) {
			result = imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot decode the image");
			goto out;
		}
	}
	else if(shrink > 1) {
		/*
		 * libvips' thumbnail leaves a factor of two for its own resize and
		 * so decodes a 4000 px JPEG in full for a 1600 px box; sharp's
		 * fastShrinkOnLoad (its default) lets libjpeg scale by 2 in the DCT,
		 * a quarter of the pixels to decode and resize. Same here.
		 */
		if(vips_jpegload_buffer((void *)buf, len, &loaded, "shrink", shrink,
		                        "fail_on", (VipsFailOn)cfg->limits.fail_on,
		                        "access", VIPS_ACCESS_SEQUENTIAL, NULL) ||
		   vips_thumbnail_image(loaded, &thumb, rw, "height", rh,
		                        "size", VIPS_SIZE_FORCE,
		                        "import_profile", cmyk && !has_icc ? "cmyk" : NULL,
		                        "export_profile", has_icc || cmyk ? "srgb" : NULL,
		                        NULL)) {
			result = imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot decode the image");
			goto out;
		}
	}
	/* an untagged RGB image is taken as sRGB: no transform, no cost */
	else if(vips_thumbnail_buffer((void *)buf, len, &thumb, rw,
	                              "height", rh,
	                              "size", VIPS_SIZE_FORCE,
	                              "option_string", options,
	                              "import_profile", cmyk && !has_icc ? "cmyk" : NULL,
	                              "export_profile", has_icc || cmyk ? "srgb" : NULL,
	                              NULL)) {
		result = imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot decode the image");
		goto out;
	}
	if(to_srgb8(thumb, &srgb)) {
		result = imgp_vips_fail(err, IMGP_E_UNSUPPORTED, "cannot convert the image to sRGB");
		goto out;
	}
	/* pixels are computed here: a truncated or corrupt file fails now */
	if(!(*out = vips_image_copy_memory(srgb))) {
		result = imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot decode the image");
		goto out;
	}
out:
	if(loaded)
		g_object_unref(loaded);
	if(thumb)
		g_object_unref(thumb);
	if(srgb)
		g_object_unref(srgb);
	return result;
}

static bool format_has_alpha(enum imgp_format format)
{
	return format != IMGP_FMT_JPEG;
}

/* Resize to exactly w x h, premultiplied when there is alpha. */
static int resize_to(VipsImage *in, VipsImage **out, int w, int h)
{
	VipsImage *t[4] = { NULL };
	double hs = (double)w / in->Xsize, vs = (double)h / in->Ysize;
	int result = -1;

	if(in->Xsize == w && in->Ysize == h) {
		g_object_ref(in);
		*out = in;
		return 0;
	}
	if(vips_image_hasalpha(in)) {
		if(vips_premultiply(in, &t[0], NULL) ||
		   vips_resize(t[0], &t[1], hs, "vscale", vs, NULL) ||
		   vips_unpremultiply(t[1], &t[2], NULL) ||
		   vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL))
			goto out;
	}
	else if(vips_resize(in, &t[3], hs, "vscale", vs, NULL))
		goto out;
	/* vips_resize rounds; make the size exact */
	if(t[3]->Xsize != w || t[3]->Ysize != h) {
		if(vips_gravity(t[3], out, VIPS_COMPASS_DIRECTION_CENTRE, w, h,
		                "extend", VIPS_EXTEND_COPY, NULL))
			goto out;
	}
	else {
		*out = t[3];
		t[3] = NULL;
	}
	result = 0;
out:
	for(int i = 0; i < 4; i++)
		if(t[i])
			g_object_unref(t[i]);
	return result;
}

/* One frame through one variant: resize, crop or letterbox, flatten. */
static int frame_pipeline(VipsImage *in, VipsImage **out, const struct imgp_variant *v,
                          const struct imgp_geometry *g, enum imgp_format format,
                          bool animated, VipsImage **keep)
{
	static const VipsInteresting interesting[] = {
		VIPS_INTERESTING_CENTRE, VIPS_INTERESTING_ATTENTION, VIPS_INTERESTING_ENTROPY
	};
	VipsImage *cur, *next;
	bool alpha = vips_image_hasalpha(in);
	bool keep_alpha = alpha && format_has_alpha(format);

	if(resize_to(in, &cur, g->rw, g->rh))
		return -1;
	if(keep) {
		/* computed once into memory: the next smaller variant starts here */
		if(!(next = vips_image_copy_memory(cur)))
			goto fail;
		g_object_unref(cur);
		cur = next;
		g_object_ref(cur);
		*keep = cur;
	}
	if(g->cw < g->rw || g->ch < g->rh) {
		/* a crop that moves between frames would make an animation jitter */
		if(vips_smartcrop(cur, &next, g->cw, g->ch, "interesting",
		                  animated ? VIPS_INTERESTING_CENTRE : interesting[v->crop], NULL))
			goto fail;
		g_object_unref(cur);
		cur = next;
	}
	if(alpha && !keep_alpha) {
		VipsArrayDouble *bg = vips_array_double_newv(3,
			(double)v->bg[0], (double)v->bg[1], (double)v->bg[2]);
		int r = vips_flatten(cur, &next, "background", bg, NULL);

		vips_area_unref(VIPS_AREA(bg));
		if(r)
			goto fail;
		g_object_unref(cur);
		cur = next;
		if(vips_cast(cur, &next, VIPS_FORMAT_UCHAR, NULL))
			goto fail;
		g_object_unref(cur);
		cur = next;
	}
	if(g->cw > cur->Xsize || g->ch > cur->Ysize) {
		/* letterbox: transparent where alpha survives, else the bg colour */
		VipsArrayDouble *bg = keep_alpha ?
			vips_array_double_newv(4, 0.0, 0.0, 0.0, 0.0) :
			vips_array_double_newv(3, (double)v->bg[0], (double)v->bg[1], (double)v->bg[2]);
		int r = vips_gravity(cur, &next, VIPS_COMPASS_DIRECTION_CENTRE, g->cw, g->ch,
		                     "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);

		vips_area_unref(VIPS_AREA(bg));
		if(r)
			goto fail;
		g_object_unref(cur);
		cur = next;
	}
	*out = cur;
	return 0;
fail:
	g_object_unref(cur);
	return -1;
}

/* Carry an animation's timing from the decode to the output. */
static void copy_animation(VipsImage *from, VipsImage *to, int page_height)
{
	int *delay, n, loop;

	vips_image_set_int(to, VIPS_META_PAGE_HEIGHT, page_height);
	if(vips_image_get_typeof(from, "delay") &&
	   !vips_image_get_array_int(from, "delay", &delay, &n))
		vips_image_set_array_int(to, "delay", delay, n);
	if(vips_image_get_typeof(from, "loop") && !vips_image_get_int(from, "loop", &loop))
		vips_image_set_int(to, "loop", loop);
}

/*
 * Build one variant's image from `decoded` (or a larger variant's resize of
 * it), computed into memory. keep, when not NULL, receives the resized
 * image before any crop, for smaller variants to start from.
 */
static int build_variant(VipsImage *decoded, int frames, const struct imgp_variant *v,
                         const struct imgp_geometry *g, enum imgp_format format,
                         VipsImage **out, VipsImage **keep)
{
	int page_h = decoded->Ysize / frames;
	VipsImage **pieces, *joined = NULL, *copy = NULL;
	int result = -1, n;
	bool animated = frames > 1 && v->anim_keep && format == IMGP_FMT_WEBP;

	n = animated ? frames : 1;
	if(n == 1 && frames == 1 && decoded->Xsize == g->rw && decoded->Ysize == g->rh &&
	   g->cw == g->rw && g->ch == g->rh &&
	   !(vips_image_hasalpha(decoded) && !format_has_alpha(format))) {
		/* the variant that set the decode size is the decode: share its
		 * pixels, a new header for the metadata */
		if(vips_copy(decoded, &copy, NULL))
			return -1;
		vips_image_remove(copy, VIPS_META_PAGE_HEIGHT);
		imgp_render_set_metadata(copy, v->strip);
		*out = copy;
		if(keep) {
			/* its resize is the decode: the base a smaller variant starts from */
			g_object_ref(decoded);
			*keep = decoded;
		}
		return 0;
	}
	pieces = g_new0(VipsImage *, n);
	for(int i = 0; i < n; i++) {
		VipsImage *frame;

		if(vips_crop(decoded, &frame, 0, i * page_h, decoded->Xsize, page_h, NULL))
			goto out;
		if(frame_pipeline(frame, &pieces[i], v, g, format, animated, n == 1 ? keep : NULL)) {
			g_object_unref(frame);
			goto out;
		}
		g_object_unref(frame);
	}
	if(n == 1) {
		joined = pieces[0];
		g_object_ref(joined);
	}
	else if(vips_arrayjoin(pieces, &joined, n, "across", 1, NULL))
		goto out;
	if(!(copy = vips_image_copy_memory(joined)))
		goto out;
	if(animated)
		copy_animation(decoded, copy, g->ch);
	else
		vips_image_remove(copy, VIPS_META_PAGE_HEIGHT);
	imgp_render_set_metadata(copy, v->strip);
	*out = copy;
	result = 0;
out:
	for(int i = 0; i < n; i++)
		if(pieces[i])
			g_object_unref(pieces[i]);
	g_free(pieces);
	if(joined)
		g_object_unref(joined);
	return result;
}

/*
 * One variant's encode: every candidate format of it, the smallest kept.
 * Run on a thread of its own while the next variant is resized (encodes
 * are one thread each in libjpeg, libwebp and, mostly, libaom), or inline.
 */
struct encode_task {
	VipsImage *image;           /* owned: unreffed when done */
	const struct imgp_variant *v;
	enum imgp_format cand[IMGP_MAX_CANDIDATES];
	size_t ncand;
	struct imgp_output *o;
	enum imgp_status result;
	char err[IMGP_ERRSIZE];
	pthread_t thread;
	bool started;
};

static void *encode_task_run(void *arg)
{
	struct encode_task *t = arg;
	double t0 = imgp_now_ms();

	t->result = IMGP_OK;
	for(size_t c = 0; c < t->ncand && !t->result; c++) {
		void *data = NULL;
		size_t size = 0;

		t->result = imgp_render_encode(t->image, t->v, t->cand[c], &data, &size, t->err);
		if(t->result)
			break;
		if(!t->o->data || size < t->o->len) {
			g_free(t->o->data);
			t->o->data = data;
			t->o->len = size;
			t->o->format = t->cand[c];
		}
		else
			g_free(data);
	}
	t->o->encode_ms = imgp_now_ms() - t0;
	g_object_unref(t->image);
	t->image = NULL;
	return NULL;
}

/* Wait for the encodes on threads; the first failure's status and reason. */
static enum imgp_status encode_join(struct encode_task *tasks, size_t n, char *err)
{
	enum imgp_status result = IMGP_OK;

	for(size_t i = 0; i < n; i++) {
		if(tasks[i].started) {
			pthread_join(tasks[i].thread, NULL);
			tasks[i].started = false;
		}
		if(tasks[i].result && !result) {
			result = tasks[i].result;
			snprintf(err, IMGP_ERRSIZE, "%s", tasks[i].err);
		}
	}
	return result;
}

static enum imgp_status render_once(const struct imgp_config *cfg, const bool *want,
                                    const void *buf, size_t len,
                                    struct imgp_render_result *res, char *err)
{
	enum imgp_status result;
	struct imgp_render_plan rp;
	size_t ncand;
	enum imgp_format cand[IMGP_MAX_CANDIDATES];
	VipsImage *decoded = NULL, *bases[IMGP_MAX_VARIANTS] = { NULL };
	bool need[IMGP_MAX_VARIANTS] = { false };
	struct encode_task tasks[IMGP_MAX_VARIANTS];
	double t0 = imgp_now_ms();
	int frames, busy = 0, spare = vips_concurrency_get() - 1;
	size_t ntasks = 0;

	memset(res, 0, sizeof(*res));
	result = imgp_probe_header(cfg, buf, len, &res->probe, err);
	res->probe_ms = imgp_now_ms() - t0;
	if(result)
		return result;

	/*
	 * Plan every variant of the set, wanted or not, then decode once at
	 * the largest scale any needs: what a variant is made from never
	 * depends on which others are encoded this time.
	 */
	imgp_geometry_render_plan(cfg, &res->probe,
	                          res->probe.frames > 1 && imgp_wants_animation(cfg), &rp);
	/* a variant not wanted is made only as the base of one that is */
	for(size_t k = cfg->nvariants; k-- > 0;) {
		size_t i = rp.order[k];

		need[i] = !want || want[i] || (cfg->placeholders && rp.placeholder_from == (int)i);
		for(size_t j = 0; j < cfg->nvariants && !need[i]; j++)
			need[i] = need[j] && rp.from[j] == (int)i;
	}

	t0 = imgp_now_ms();
	result = decode(cfg, buf, len, &res->probe, rp.frames > 1, rp.dw, rp.dh, &decoded, err);
	res->decode_ms = imgp_now_ms() - t0;
	if(result)
		return result;
	frames = rp.frames;
	res->decoded_width = decoded->Xsize;
	res->decoded_height = decoded->Ysize / frames;
	if(decoded->Ysize % frames) {
		/* a frame count the decoder did not honour: keep the first frame */
		frames = 1;
	}

	/*
	 * Largest first, each variant resized from the base the plan gives it
	 * (the decode, or a larger variant's resize before its crop): 320 px
	 * comes from 800 px, not from 1600 px again. Outputs stay in the order
	 * of cfg; one not wanted holds no data.
	 */
	res->noutputs = cfg->nvariants;
	for(size_t k = 0; k < cfg->nvariants; k++) {
		size_t i = rp.order[k];
		const struct imgp_variant *v = &cfg->variants[i];
		struct imgp_output *o = &res->outputs[i];
		const struct imgp_geometry *g = &rp.g[i];
		VipsImage *image = NULL, *from = rp.from[i] < 0 ? decoded : bases[rp.from[i]];

		o->variant = v;
		o->format = imgp_render_format(v, &res->probe);
		o->width = g->cw;
		o->height = g->ch;
		if(!need[i])
			continue;
		ncand = imgp_render_candidates(v, &res->probe, cand);
		t0 = imgp_now_ms();
		if(build_variant(from, frames, v, g, cand[0], &image,
		                 rp.cascade[i] && frames == 1 ? &bases[i] : NULL)) {
			char ignored[IMGP_ERRSIZE];

			result = imgp_vips_fail(err, IMGP_E_CORRUPT, "cannot resize the image");
			encode_join(tasks, ntasks, ignored);
			goto fail;
		}
		o->resize_ms = imgp_now_ms() - t0;
		o->width = image->Xsize;
		o->height = vips_image_get_page_height(image);
		o->frames = image->Ysize / o->height;
		if(want && !want[i]) {
			g_object_unref(image);
			continue;
		}
		/*
		 * best: every candidate (the same pixels: they agree on alpha),
		 * the smallest kept. With libvips' concurrency above one, the
		 * encode goes to a thread of its own while this one resizes the
		 * next variant (or, every spare thread busy, encodes it here): on
		 * two cores the 1600 px encode no longer waits for 800 and 320.
		 */
		struct encode_task *t = &tasks[ntasks++];

		*t = (struct encode_task){ .image = image, .v = v, .ncand = ncand, .o = o };
		memcpy(t->cand, cand, sizeof(cand));
		if(busy < spare && !pthread_create(&t->thread, NULL, encode_task_run, t)) {
			t->started = true;
			busy++;
		}
		else
			encode_task_run(t);
		if(!t->started && t->result)
			break;
	}
	if((result = encode_join(tasks, ntasks, err)))
		goto fail;
	if(cfg->placeholders) {
		/*
		 * From the smallest whole picture made (a variant's pixels before
		 * its crop, or the decode): shrinking 320 px to 100 costs a tenth
		 * of a millisecond, 1600 px to 100 twenty-five (measured)
		 */
		VipsImage *from = frames == 1 && rp.placeholder_from >= 0 &&
		                  bases[rp.placeholder_from] ? bases[rp.placeholder_from] : decoded;

		t0 = imgp_now_ms();
		if((result = imgp_render_placeholder(from, from == decoded ? frames : 1,
		                                     &res->placeholder, err)))
			goto fail;
		res->has_placeholder = true;
		res->placeholder.ms = imgp_now_ms() - t0;
	}
	for(size_t b = 0; b < IMGP_MAX_VARIANTS; b++)
		if(bases[b])
			g_object_unref(bases[b]);
	g_object_unref(decoded);
	return IMGP_OK;
fail:
	for(size_t b = 0; b < IMGP_MAX_VARIANTS; b++)
		if(bases[b])
			g_object_unref(bases[b]);
	g_object_unref(decoded);
	imgp_render_result_release(res);
	return result;
}

void imgp_render_lineage(const struct imgp_config *cfg, const struct imgp_probe *probe,
                         size_t i, char *text, size_t size)
{
	struct imgp_render_plan rp;
	int at;

	imgp_geometry_render_plan(cfg, probe, probe->frames > 1 && imgp_wants_animation(cfg), &rp);
	at = snprintf(text, size, "decode=%dx%d,%d,%s,%d", rp.dw, rp.dh, rp.frames,
	              keeps_metadata(cfg) ? "meta" : "strip", (int)imgp_render_direct_jpeg);
	for(int f = rp.from[i]; f >= 0 && at > 0 && (size_t)at < size; f = rp.from[f])
		at += snprintf(text + at, size - (size_t)at, "<%dx%d", rp.g[f].rw, rp.g[f].rh);
}

enum imgp_status imgp_render(const struct imgp_config *cfg, const void *buf, size_t len,
                             struct imgp_render_result *res, char *err)
{
	return imgp_render_some(cfg, NULL, buf, len, res, err);
}

enum imgp_status imgp_render_some(const struct imgp_config *cfg, const bool *want,
                                  const void *buf, size_t len,
                                  struct imgp_render_result *res, char *err)
{
	enum imgp_status result;

	imgp_render_heif(buf, len);
	/* format=best asks whether AVIF is written; the first ask encodes a
	 * sample holding the lock alone, which must not happen inside it */
	for(size_t i = 0; i < cfg->nvariants; i++)
		if(cfg->variants[i].format == IMGP_FMT_BEST)
			imgp_render_can_write(IMGP_FMT_AVIF);
	imgp_vips_lock(false);
	result = render_once(cfg, want, buf, len, res, err);
	imgp_vips_unlock();
	if(!result)
		return IMGP_OK;
	imgp_vips_lock(true);
	result = render_once(cfg, want, buf, len, res, err);
	imgp_vips_unlock();
	return result;
}

void imgp_render_result_release(struct imgp_render_result *res)
{
	for(size_t i = 0; i < res->noutputs; i++) {
		g_free(res->outputs[i].data);
		res->outputs[i].data = NULL;
	}
	if(res->has_placeholder) {
		g_free(res->placeholder.data_uri);
		res->placeholder.data_uri = NULL;
		res->has_placeholder = false;
	}
	res->noutputs = 0;
}

enum imgp_status imgp_render_check(const struct imgp_config *cfg, char *err)
{
	for(size_t i = 0; i < cfg->nvariants; i++) {
		const struct imgp_variant *v = &cfg->variants[i];
		const char *why = imgp_caps_write_failure(v->format);

		if(*why)
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": format=%s is not available in this build (%s, %s): %s",
				v->name, imgp_format_name(v->format), imgp_render_version(),
				imgp_render_capabilities(), why);
		if(*(why = imgp_caps_encoder_failure(v->encoder)))
			return imgp_fail(err, IMGP_E_CONFIG,
				"variant \"%s\": encoder=%s is not available in this build (%s): %s",
				v->name, imgp_encoder_name(v->encoder), imgp_render_version(), why);
	}
	return IMGP_OK;
}
