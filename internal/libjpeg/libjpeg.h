#include <stddef.h>

/* The size of a JPEG (srcw x srch) and of its decode at 1/denom (w x h). */
int cj_size(const unsigned char *buf, size_t len, int denom, int *srcw, int *srch, int *w, int *h, char *err, size_t errlen);
/* Decodes at 1/denom into RGBA rows of dst, which must be w x h (cj_size). */
int cj_decode(const unsigned char *buf, size_t len, int denom, unsigned char *dst, int w, int h, int stride, char *err, size_t errlen);
/* Encodes RGBA pixels; *out is malloc'd, the caller frees it. */
int cj_encode(const unsigned char *pix, int w, int h, int stride, int quality, unsigned char **out, unsigned long *outlen, char *err, size_t errlen);
