/*
 * jpegdec.c: a JPEG decoded straight with libjpeg-turbo, below libvips'
 * loader: the same DCT shrink by 2, 4 or 8 libvips would ask for, the
 * same pixels out, without libvips' region machinery around the decoder
 * (5 to 13 % of a whole render's CPU on camera photos, measured on
 * Debian 12).
 *
 * Only what it can do exactly as libvips would is done here: 8-bit YCbCr
 * or greyscale, decoded without a single warning. A CMYK or YCCK file, or
 * any libjpeg warning or error (a truncated or corrupt file), is handed
 * back to libvips' loader, so damaged files fail, or not, with libvips'
 * own fail_on rules and messages. The ICC profile and EXIF orientation go
 * on the image for the caller's colour and orientation handling.
 */
#include "render_impl.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

struct decoder {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

/* An error or a warning: stop, libvips will do it. */
static void on_error(j_common_ptr cinfo)
{
	longjmp(((struct decoder *)cinfo->err)->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	if(level < 0)
		longjmp(((struct decoder *)cinfo->err)->jump, 1);
}

static void free_pixels(VipsImage *image, void *pixels)
{
	g_free(pixels);
}

/*
 * The smallest M of 1/8, 2/8 and 4/8 whose output still covers want_w x
 * want_h. libjpeg scales by any M/8, but the scaled IDCTs other than the
 * powers of two cost quality where the decode lands at a variant's own
 * size (butteraugli 1.21 against 0.88 for a 2560 px photo decoded at 5/8
 * for its 1600 px variant, against a Lanczos reference): not worth the
 * 30 % of CPU they save. At the powers of two the output is libvips' own.
 */
static int scale_for(unsigned width, unsigned height, int want_w, int want_h)
{
	for(int m = 1; m < 8; m *= 2)
		if((width * (unsigned)m + 7) / 8 >= (unsigned)want_w &&
		   (height * (unsigned)m + 7) / 8 >= (unsigned)want_h)
			return m;
	return 8;
}

int imgp_jpeg_decode(const void *buf, size_t len, int want_w, int want_h, int orientation,
                     VipsImage **out)
{
	struct jpeg_decompress_struct cinfo;
	struct decoder dec;
	unsigned char *volatile pixels = NULL;
	JOCTET *volatile icc = NULL;
	JOCTET *profile = NULL;
	unsigned int icc_len = 0;
	VipsImage *image;
	size_t stride;
	int bands;

	*out = NULL;
	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_std_error(&dec.mgr);
	dec.mgr.error_exit = on_error;
	dec.mgr.emit_message = on_message;
	if(setjmp(dec.jump)) {
		jpeg_destroy_decompress(&cinfo);
		g_free(pixels);
		free(icc);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, buf, len);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);     /* ICC */
	jpeg_read_header(&cinfo, TRUE);
	if((cinfo.jpeg_color_space != JCS_YCbCr && cinfo.jpeg_color_space != JCS_GRAYSCALE) ||
	   cinfo.data_precision != 8 || cinfo.num_components > 3)
		longjmp(dec.jump, 1);       /* CMYK, YCCK, 12-bit: libvips' */
	bands = cinfo.jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
	cinfo.out_color_space = bands == 1 ? JCS_GRAYSCALE : JCS_RGB;
	/* want is as displayed; an orientation of 5-8 stores it turned */
	if(orientation >= 5)
		cinfo.scale_num = (unsigned)scale_for(cinfo.image_width, cinfo.image_height, want_h, want_w);
	else
		cinfo.scale_num = (unsigned)scale_for(cinfo.image_width, cinfo.image_height, want_w, want_h);
	cinfo.scale_denom = 8;
	jpeg_start_decompress(&cinfo);
	stride = (size_t)cinfo.output_width * (size_t)bands;
	pixels = g_malloc(stride * cinfo.output_height);
	while(cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[16];
		unsigned n = 0;

		for(; n < 16 && cinfo.output_scanline + n < cinfo.output_height; n++)
			rows[n] = pixels + (size_t)(cinfo.output_scanline + n) * stride;
		jpeg_read_scanlines(&cinfo, rows, n);
	}
	if(jpeg_read_icc_profile(&cinfo, &profile, &icc_len))
		icc = profile;
	/* a warning here (data after the end) is libvips' to judge too */
	jpeg_finish_decompress(&cinfo);
	image = vips_image_new_from_memory(pixels, stride * cinfo.output_height,
	                                   (int)cinfo.output_width, (int)cinfo.output_height,
	                                   bands, VIPS_FORMAT_UCHAR);
	jpeg_destroy_decompress(&cinfo);
	if(!image) {
		g_free(pixels);
		free(icc);
		return -1;
	}
	g_signal_connect(image, "postclose", G_CALLBACK(free_pixels), pixels);
	image->Type = bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
	if(icc)
		vips_image_set_blob_copy(image, VIPS_META_ICC_NAME, icc, icc_len);
	free(icc);
	vips_image_set_int(image, VIPS_META_ORIENTATION, orientation);
	*out = image;
	return 0;
}
