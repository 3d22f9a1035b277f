/*
 * placeholder.c: ThumbHash and BlurHash encoders and base64; see
 * placeholder.h.
 *
 * Each encoder repeats its reference (rgbaToThumbHash in thumbhash.js, and
 * encode.ts of the blurhash TypeScript package) operation for operation in
 * doubles, in the same order, so that the same pixels give the same bytes:
 * the expressions below keep the references' association on purpose. Only
 * libm can still differ (glibc's cos and pow against V8's, by one unit in
 * the last place now and then), which moves a hash only where a value sits
 * exactly on a rounding boundary. The build is ISO C (-std=c11), where gcc
 * fuses no multiply-add, so no FMA changes a sum either.
 *
 * Never does I/O, never touches libvips, keeps no state between calls.
 */
#include "placeholder.h"

#include "imgpipe.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* JavaScript's Math.round: the nearest integer, a tie towards +infinity
 * (C's round() takes ties away from zero). x - floor(x) is exact. */
static double js_round(double x)
{
	double r = floor(x);

	return x - r >= 0.5 ? r + 1 : r;
}

/* The bits of a JavaScript `|` or `<<` operand (ToInt32 of a small integer
 * value), as unsigned, so that shifting is defined in C. */
static uint32_t js_bits(double x)
{
	return (uint32_t)(int32_t)x;
}

/* --- ThumbHash --------------------------------------------------------- */

/* The most AC terms one channel has: L at 7x7 (no alpha) is 28 terms, the
 * DC among them. */
#define TH_MAX_AC 27

struct th_channel {
	double dc, scale;
	double ac[TH_MAX_AC];
	int nac;
};

/*
 * The DCT of one channel (w*h doubles) into its DC term and its AC terms
 * normalised into 0..1, keeping the terms of the triangle cx*ny < nx*(ny-cy)
 * as the reference does. fx holds w doubles of scratch.
 */
static void th_encode_channel(const double *channel, int w, int h, int nx, int ny,
                              double *fx, struct th_channel *out)
{
	const double pi = M_PI;

	out->dc = 0;
	out->scale = 0;
	out->nac = 0;
	for(int cy = 0; cy < ny; cy++) {
		for(int cx = 0; cx * ny < nx * (ny - cy); cx++) {
			double f = 0;

			for(int x = 0; x < w; x++)
				fx[x] = cos(pi / w * cx * (x + 0.5));
			for(int y = 0; y < h; y++) {
				double fy = cos(pi / h * cy * (y + 0.5));
				const double *row = channel + (size_t)y * w;

				for(int x = 0; x < w; x++)
					f += row[x] * fx[x] * fy;
			}
			f /= w * h;
			if(cx || cy) {
				/* the triangle never holds more than TH_MAX_AC */
				out->ac[out->nac++] = f;
				out->scale = fmax(out->scale, fabs(f));
			}
			else
				out->dc = f;
		}
	}
	if(out->scale)
		for(int i = 0; i < out->nac; i++)
			out->ac[i] = 0.5 + 0.5 / out->scale * out->ac[i];
}

/* Append a channel's AC terms to the hash, two 4-bit values a byte, low
 * nibble first. */
static void th_put_ac(unsigned char *hash, int *index, const struct th_channel *c)
{
	for(int i = 0; i < c->nac; i++, (*index)++)
		hash[*index >> 1] |= (unsigned char)(js_bits(js_round(15 * c->ac[i])) << ((*index & 1) << 2));
}

size_t imgp_thumbhash_encode(const unsigned char *rgba, int w, int h,
                             unsigned char out[IMGP_THUMBHASH_MAX])
{
	double avg_r = 0, avg_g = 0, avg_b = 0, avg_a = 0;
	double *l, *p, *q, *a, *fx;
	struct th_channel lc, pc, qc, ac;
	int n, lx, ly, ac_start, ac_index = 0;
	bool has_alpha, landscape;
	uint32_t header24, header16;
	size_t len;

	if(!rgba || !out || w < 1 || h < 1 || w > 100 || h > 100)
		return 0;
	n = w * h;
	/* l, p, q, a: one image each; fx: one row of cosines */
	l = imgp_malloc(sizeof(double) * ((size_t)n * 4 + (size_t)w));
	if(!l)
		return 0;
	p = l + n;
	q = p + n;
	a = q + n;
	fx = a + n;

	/* the average colour, weighted by alpha */
	for(int i = 0, j = 0; i < n; i++, j += 4) {
		double alpha = rgba[j + 3] / 255.0;

		avg_r += alpha / 255 * rgba[j];
		avg_g += alpha / 255 * rgba[j + 1];
		avg_b += alpha / 255 * rgba[j + 2];
		avg_a += alpha;
	}
	if(avg_a) {
		avg_r /= avg_a;
		avg_g /= avg_a;
		avg_b /= avg_a;
	}

	has_alpha = avg_a < n;
	{
		/* fewer luminance terms when alpha needs the room */
		int l_limit = has_alpha ? 5 : 7, longest = w > h ? w : h;

		lx = (int)fmax(1, js_round((double)(l_limit * w) / longest));
		ly = (int)fmax(1, js_round((double)(l_limit * h) / longest));
	}

	/* RGBA to LPQA, composited over the average colour */
	for(int i = 0, j = 0; i < n; i++, j += 4) {
		double alpha = rgba[j + 3] / 255.0;
		double r = avg_r * (1 - alpha) + alpha / 255 * rgba[j];
		double g = avg_g * (1 - alpha) + alpha / 255 * rgba[j + 1];
		double b = avg_b * (1 - alpha) + alpha / 255 * rgba[j + 2];

		l[i] = (r + g + b) / 3;
		p[i] = (r + g) / 2 - b;
		q[i] = r - g;
		a[i] = alpha;
	}

	th_encode_channel(l, w, h, lx > 3 ? lx : 3, ly > 3 ? ly : 3, fx, &lc);
	th_encode_channel(p, w, h, 3, 3, fx, &pc);
	th_encode_channel(q, w, h, 3, 3, fx, &qc);
	if(has_alpha)
		th_encode_channel(a, w, h, 5, 5, fx, &ac);
	imgp_free(l);

	landscape = w > h;
	header24 = js_bits(js_round(63 * lc.dc))
	         | js_bits(js_round(31.5 + 31.5 * pc.dc)) << 6
	         | js_bits(js_round(31.5 + 31.5 * qc.dc)) << 12
	         | js_bits(js_round(31 * lc.scale)) << 18
	         | (uint32_t)has_alpha << 23;
	header16 = (uint32_t)(landscape ? ly : lx)
	         | js_bits(js_round(63 * pc.scale)) << 3
	         | js_bits(js_round(63 * qc.scale)) << 9
	         | (uint32_t)landscape << 15;

	ac_start = has_alpha ? 6 : 5;
	len = (size_t)ac_start + (size_t)(lc.nac + pc.nac + qc.nac + (has_alpha ? ac.nac : 0) + 1) / 2;
	memset(out, 0, IMGP_THUMBHASH_MAX);
	out[0] = header24 & 255;
	out[1] = (header24 >> 8) & 255;
	out[2] = (header24 >> 16) & 255;
	out[3] = header16 & 255;
	out[4] = (header16 >> 8) & 255;
	if(has_alpha)
		out[5] = (js_bits(js_round(15 * ac.dc)) | js_bits(js_round(15 * ac.scale)) << 4) & 255;

	th_put_ac(out + ac_start, &ac_index, &lc);
	th_put_ac(out + ac_start, &ac_index, &pc);
	th_put_ac(out + ac_start, &ac_index, &qc);
	if(has_alpha)
		th_put_ac(out + ac_start, &ac_index, &ac);
	return len;
}

/* --- BlurHash ---------------------------------------------------------- */

static const char base83_digits[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/* value as `length` base-83 digits, most significant first; returns the
 * end of what was written */
static char *base83(char *dst, int value, int length)
{
	int divisor = 1;

	for(int i = 1; i < length; i++)
		divisor *= 83;
	for(; length > 0; length--, divisor /= 83)
		*dst++ = base83_digits[(value / divisor) % 83];
	return dst;
}

static double srgb_to_linear(int value)
{
	double v = value / 255.0;

	return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static int linear_to_srgb(double value)
{
	double v = fmax(0, fmin(1, value));

	if(v <= 0.0031308)
		return (int)trunc(v * 12.92 * 255 + 0.5);
	return (int)trunc((1.055 * pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

static double sign_pow(double value, double exp)
{
	return (value < 0 ? -1 : 1) * pow(fabs(value), exp);
}

/* One AC term, each channel quantised to 0..18 around 9 (zero). */
static int blurhash_ac(const double rgb[3], double maximum)
{
	int quant[3];

	for(int c = 0; c < 3; c++)
		quant[c] = (int)fmax(0, fmin(18, floor(sign_pow(rgb[c] / maximum, 0.5) * 9 + 9.5)));
	return quant[0] * 19 * 19 + quant[1] * 19 + quant[2];
}

size_t imgp_blurhash_encode(const unsigned char *px, int w, int h, size_t stride, int bands,
                            int xc, int yc, char out[IMGP_BLURHASH_MAX])
{
	const double pi = M_PI;
	double factors[81][3] = { { 0 } }, linear[256], maximum, *cos_y;
	int nac = xc * yc - 1;
	char *end;

	if(!px || !out || w < 1 || h < 1 || (bands != 3 && bands != 4) ||
	   xc < 1 || xc > 9 || yc < 1 || yc > 9 || stride / (size_t)bands < (size_t)w)
		return 0;
	/* cos_y[j * h + y]: the vertical basis, reused by every column */
	cos_y = imgp_malloc(sizeof(double) * (size_t)yc * (size_t)h);
	if(!cos_y)
		return 0;
	for(int j = 0; j < yc; j++)
		for(int y = 0; y < h; y++)
			cos_y[j * h + y] = cos(pi * j * y / h);
	for(int v = 0; v < 256; v++)
		linear[v] = srgb_to_linear(v);

	/*
	 * One pass over the pixels for every component at once, in the
	 * reference's order (columns outer, rows inner), so that each sum
	 * adds the same terms in the same order as its own pass would.
	 */
	for(int x = 0; x < w; x++) {
		double cos_x[9];

		for(int i = 0; i < xc; i++)
			cos_x[i] = cos(pi * i * x / w);
		for(int y = 0; y < h; y++) {
			const unsigned char *pixel = px + (size_t)y * stride + (size_t)x * bands;
			double r = linear[pixel[0]], g = linear[pixel[1]], b = linear[pixel[2]];

			for(int j = 0; j < yc; j++) {
				for(int i = 0; i < xc; i++) {
					double *f = factors[j * xc + i];
					double basis = (i == 0 && j == 0 ? 1 : 2) * cos_x[i] * cos_y[j * h + y];

					f[0] += basis * r;
					f[1] += basis * g;
					f[2] += basis * b;
				}
			}
		}
	}
	imgp_free(cos_y);
	{
		double scale = 1 / ((double)w * h);

		for(int k = 0; k <= nac; k++)
			for(int c = 0; c < 3; c++)
				factors[k][c] *= scale;
	}

	end = base83(out, (xc - 1) + (yc - 1) * 9, 1);
	if(nac > 0) {
		double actual = 0;
		int quantised;

		for(int k = 1; k <= nac; k++)
			for(int c = 0; c < 3; c++)
				actual = fmax(actual, fabs(factors[k][c]));
		quantised = (int)fmax(0, fmin(82, floor(actual * 166 - 0.5)));
		maximum = (quantised + 1) / 166.0;
		end = base83(end, quantised, 1);
	}
	else {
		maximum = 1;
		end = base83(end, 0, 1);
	}
	end = base83(end, (linear_to_srgb(factors[0][0]) << 16) +
	                  (linear_to_srgb(factors[0][1]) << 8) + linear_to_srgb(factors[0][2]), 4);
	for(int k = 1; k <= nac; k++)
		end = base83(end, blurhash_ac(factors[k], maximum), 2);
	*end = '\0';
	return (size_t)(end - out);
}

/* --- base64 ------------------------------------------------------------ */

size_t imgp_base64(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	size_t i = 0;

	for(; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = digits[(v >> 6) & 63];
		*o++ = digits[v & 63];
	}
	if(i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}
