//go:build opencv

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "libjpeg.h"

/* Errors longjmp back to the call that set jb; warnings are counted, and a
   truncated file (JWRN_JPEG_EOF, which libjpeg only warns about and fills
   with grey) becomes an error. Nothing is printed. */
struct cj_ctx {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int eof;
	char msg[JMSG_LENGTH_MAX];
	union {
		struct jpeg_decompress_struct d;
		struct jpeg_compress_struct c;
	} u;
	unsigned char *out;
	unsigned long outlen;
};

static void cj_error_exit(j_common_ptr c) {
	struct cj_ctx *x = (struct cj_ctx *)c->err;
	(*c->err->format_message)(c, x->msg);
	longjmp(x->jb, 1);
}

static void cj_emit(j_common_ptr c, int level) {
	struct cj_ctx *x = (struct cj_ctx *)c->err;
	if (level < 0) {
		if (c->err->msg_code == JWRN_JPEG_EOF) {
			x->eof = 1;
		}
		c->err->num_warnings++;
	}
}

static void cj_silent(j_common_ptr c) { (void)c; }

static struct cj_ctx *cj_new(void) {
	struct cj_ctx *x = calloc(1, sizeof *x);
	if (x == NULL) {
		return NULL;
	}
	jpeg_std_error(&x->pub);
	x->pub.error_exit = cj_error_exit;
	x->pub.emit_message = cj_emit;
	x->pub.output_message = cj_silent;
	return x;
}

static void cj_fail(const char *msg, char *err, size_t errlen) {
	snprintf(err, errlen, "%s", msg);
}

/* cj_header starts a decompression of buf at 1/denom in x (set up and
   header read); the caller has set x->jb. */
static void cj_header(struct cj_ctx *x, const unsigned char *buf, size_t len, int denom) {
	x->u.d.err = &x->pub;
	jpeg_create_decompress(&x->u.d);
	jpeg_mem_src(&x->u.d, (unsigned char *)buf, (unsigned long)len);
	jpeg_read_header(&x->u.d, TRUE);
	x->u.d.scale_num = 1;
	x->u.d.scale_denom = (unsigned int)denom;
	x->u.d.out_color_space = JCS_EXT_RGBA;
	jpeg_calc_output_dimensions(&x->u.d);
}

int cj_size(const unsigned char *buf, size_t len, int denom, int *srcw, int *srch, int *w, int *h, char *err, size_t errlen) {
	struct cj_ctx *x = cj_new();
	if (x == NULL) {
		cj_fail("out of memory", err, errlen);
		return -1;
	}
	if (setjmp(x->jb)) {
		cj_fail(x->msg, err, errlen);
		jpeg_destroy_decompress(&x->u.d);
		free(x);
		return -1;
	}
	cj_header(x, buf, len, denom);
	*srcw = (int)x->u.d.image_width;
	*srch = (int)x->u.d.image_height;
	*w = (int)x->u.d.output_width;
	*h = (int)x->u.d.output_height;
	jpeg_destroy_decompress(&x->u.d);
	free(x);
	return 0;
}

int cj_decode(const unsigned char *buf, size_t len, int denom, unsigned char *dst, int w, int h, int stride, char *err, size_t errlen) {
	struct cj_ctx *x = cj_new();
	if (x == NULL) {
		cj_fail("out of memory", err, errlen);
		return -1;
	}
	if (setjmp(x->jb)) {
		cj_fail(x->msg, err, errlen);
		jpeg_destroy_decompress(&x->u.d);
		free(x);
		return -1;
	}
	cj_header(x, buf, len, denom);
	if ((int)x->u.d.output_width != w || (int)x->u.d.output_height != h) {
		snprintf(err, errlen, "decodes to %ux%u, not %dx%d", x->u.d.output_width, x->u.d.output_height, w, h);
		jpeg_destroy_decompress(&x->u.d);
		free(x);
		return -1;
	}
	jpeg_start_decompress(&x->u.d);
	JSAMPROW rows[16];
	while (x->u.d.output_scanline < x->u.d.output_height) {
		int n = 0;
		for (; n < 16 && x->u.d.output_scanline + n < x->u.d.output_height; n++) {
			rows[n] = dst + (size_t)(x->u.d.output_scanline + n) * (size_t)stride;
		}
		jpeg_read_scanlines(&x->u.d, rows, (JDIMENSION)n);
		if (x->eof) {
			break;
		}
	}
	if (!x->eof) {
		jpeg_finish_decompress(&x->u.d);
	}
	jpeg_destroy_decompress(&x->u.d);
	int eof = x->eof;
	free(x);
	if (eof) {
		cj_fail("premature end of JPEG data", err, errlen);
		return -1;
	}
	return 0;
}

int cj_encode(const unsigned char *pix, int w, int h, int stride, int quality, unsigned char **out, unsigned long *outlen, char *err, size_t errlen) {
	struct cj_ctx *x = cj_new();
	if (x == NULL) {
		cj_fail("out of memory", err, errlen);
		return -1;
	}
	if (setjmp(x->jb)) {
		cj_fail(x->msg, err, errlen);
		jpeg_destroy_compress(&x->u.c);
		free(x->out);
		free(x);
		return -1;
	}
	x->u.c.err = &x->pub;
	jpeg_create_compress(&x->u.c);
	jpeg_mem_dest(&x->u.c, &x->out, &x->outlen);
	x->u.c.image_width = (JDIMENSION)w;
	x->u.c.image_height = (JDIMENSION)h;
	x->u.c.input_components = 4;
	x->u.c.in_color_space = JCS_EXT_RGBA;
	jpeg_set_defaults(&x->u.c);
	jpeg_set_quality(&x->u.c, quality, TRUE);
	jpeg_start_compress(&x->u.c, TRUE);
	JSAMPROW rows[16];
	while (x->u.c.next_scanline < x->u.c.image_height) {
		int n = 0;
		for (; n < 16 && x->u.c.next_scanline + n < x->u.c.image_height; n++) {
			rows[n] = (JSAMPROW)(pix + (size_t)(x->u.c.next_scanline + n) * (size_t)stride);
		}
		jpeg_write_scanlines(&x->u.c, rows, (JDIMENSION)n);
	}
	jpeg_finish_compress(&x->u.c);
	jpeg_destroy_compress(&x->u.c);
	*out = x->out;
	*outlen = x->outlen;
	free(x);
	return 0;
}
