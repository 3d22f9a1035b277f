/*
 * geometry.c: where each variant's pixels come from: the scale and sizes
 * of sharp's fits (inside, cover, contain, fill) and of enlarge, the JPEG
 * DCT shrink that still covers a size, and the order variants are made in.
 * Pure arithmetic: no libvips, no I/O.
 */
#include "render.h"
#include "render_impl.h"

#include <math.h>
#include <string.h>

int imgp_geometry_scaled(int n, double s)
{
	long r = lround(n * s);
	return r < 1 ? 1 : r > IMGP_MAX_DIMENSION * 8 ? IMGP_MAX_DIMENSION * 8 : (int)r;
}

/* sharp's meanings of fit; enlarge as imgp_variant_enlarges says. W x H as displayed. */
struct imgp_geometry imgp_geometry_plan(const struct imgp_variant *v, int W, int H)
{
	double bw = v->width ? (double)v->width / W : HUGE_VAL;
	double bh = v->height ? (double)v->height / H : HUGE_VAL;
	bool both = v->width && v->height;
	struct imgp_geometry g;
	double sx, sy;

	if(v->fit == IMGP_FIT_FILL && both) {
		sx = bw;
		sy = bh;
	}
	else if(v->fit == IMGP_FIT_COVER && both)
		sx = sy = bw > bh ? bw : bh;
	else
		sx = sy = bw < bh ? bw : bh;
	if(!imgp_variant_enlarges(v)) {
		sx = sx > 1 ? 1 : sx;
		sy = sy > 1 ? 1 : sy;
	}
	g.sx = sx;
	g.sy = sy;
	g.rw = imgp_geometry_scaled(W, sx);
	g.rh = imgp_geometry_scaled(H, sy);
	g.cw = g.rw;
	g.ch = g.rh;
	if(both && v->fit == IMGP_FIT_COVER) {
		g.cw = g.rw < v->width ? g.rw : v->width;
		g.ch = g.rh < v->height ? g.rh : v->height;
	}
	else if(both && v->fit == IMGP_FIT_CONTAIN) {
		g.cw = v->width;
		g.ch = v->height;
	}
	return g;
}

void imgp_render_size(const struct imgp_variant *v, const struct imgp_probe *probe,
                      int *width, int *height)
{
	struct imgp_geometry g = imgp_geometry_plan(v, probe->width, probe->height);

	*width = g.cw;
	*height = g.ch;
}

/* The JPEG DCT scale (1, 2, 4, 8) that still leaves at least rw x rh. */
int imgp_geometry_jpeg_shrink(const struct imgp_probe *probe, int rw, int rh)
{
	double f = (double)probe->width / rw;

	if((double)probe->height / rh < f)
		f = (double)probe->height / rh;
	if(strcmp(probe->format, "jpeg"))
		return 1;
	return f >= 8 ? 8 : f >= 4 ? 4 : f >= 2 ? 2 : 1;
}

/* Indexes of plans, largest scale first (stable: ties keep cfg's order). */
void imgp_geometry_order(const struct imgp_geometry *plans, size_t n, size_t *order)
{
	for(size_t i = 0; i < n; i++) {
		double si = plans[i].sx > plans[i].sy ? plans[i].sx : plans[i].sy;
		size_t j = i;

		for(; j > 0; j--) {
			const struct imgp_geometry *p = &plans[order[j - 1]];
			if((p->sx > p->sy ? p->sx : p->sy) >= si)
				break;
			order[j] = order[j - 1];
		}
		order[j] = i;
	}
}

/*
 * The one decode, the order, and where each variant's pixels start from,
 * planned from every variant of cfg. A cascade variant (one frame, one
 * scale for both axes) leaves its resize before the crop as a base; a
 * later one starts from the smallest base made so far that covers it.
 * render.c follows this plan whatever subset it encodes, so a variant's
 * pixels never depend on which others were skipped, and the job stamps
 * the plan into each variant's fingerprint.
 */
void imgp_geometry_render_plan(const struct imgp_config *cfg, const struct imgp_probe *probe,
                               bool animated, struct imgp_render_plan *rp)
{
	int bw[IMGP_MAX_VARIANTS + 1], bh[IMGP_MAX_VARIANTS + 1], bi[IMGP_MAX_VARIANTS + 1];
	size_t nb = 0;
	double s = 0;

	memset(rp, 0, sizeof(*rp));
	rp->frames = animated ? probe->frames : 1;
	/* the decode takes the largest variant's own rounded size, so the
	 * variant that sets the scale is not resampled a second time */
	for(size_t i = 0; i < cfg->nvariants; i++) {
		struct imgp_geometry *g = &rp->g[i];
		double si;

		*g = imgp_geometry_plan(&cfg->variants[i], probe->width, probe->height);
		si = g->sx > g->sy ? g->sx : g->sy;
		if(si <= s)
			continue;
		s = si;
		if(s >= 1) {
			/* enlarging is done per variant, from the full size */
			rp->dw = probe->width;
			rp->dh = probe->height;
		}
		else if(g->sx == g->sy) {
			rp->dw = g->rw;
			rp->dh = g->rh;
		}
		else {
			rp->dw = imgp_geometry_scaled(probe->width, s);
			rp->dh = imgp_geometry_scaled(probe->height, s);
		}
	}
	imgp_geometry_order(rp->g, cfg->nvariants, rp->order);
	bw[nb] = rp->dw;
	bh[nb] = rp->dh;
	bi[nb++] = -1;
	for(size_t k = 0; k < cfg->nvariants; k++) {
		size_t i = rp->order[k];
		const struct imgp_geometry *g = &rp->g[i];
		int fw = rp->dw;

		rp->from[i] = -1;
		rp->cascade[i] = rp->frames == 1 && g->sx == g->sy;
		if(!rp->cascade[i])
			continue;
		for(size_t b = 0; b < nb; b++)
			if(bw[b] >= g->rw && bh[b] >= g->rh && bw[b] <= fw) {
				fw = bw[b];
				rp->from[i] = bi[b];
			}
		bw[nb] = g->rw;
		bh[nb] = g->rh;
		bi[nb++] = (int)i;
	}
	/* the placeholder: from the smallest whole picture made that is still
	 * wide enough (a base before its crop, or the decode) */
	rp->placeholder_from = -1;
	for(size_t b = 1, fw = (size_t)rp->dw; rp->frames == 1 && b < nb; b++)
		if((size_t)bw[b] < fw && bw[b] >= PLACEHOLDER_FROM && bh[b] >= PLACEHOLDER_FROM / 4) {
			fw = (size_t)bw[b];
			rp->placeholder_from = bi[b];
		}
}
