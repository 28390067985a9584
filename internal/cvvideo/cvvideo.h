#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvv_capture cvv_capture;

/* Loads libopencv_videoio (once); 0, or -1 with a message in err. */
int cvv_load(char *err, size_t errlen);
/* OpenCV's version string (from the linked core). */
const char *cvv_version(void);
/* Opens a device index or a file, URL or pipeline name with api; NULL with
   a message in err when the capture is not opened. */
cvv_capture *cvv_open_index(int index, int api, char *err, size_t errlen);
cvv_capture *cvv_open_name(const char *name, int api, char *err, size_t errlen);
int cvv_set(cvv_capture *c, int prop, double value);
int cvv_grab(cvv_capture *c);
/* Reads the next frame into the capture's buffer: 1 with its size, or 0 at
   the end or on a failure. */
int cvv_read(cvv_capture *c, int *w, int *h);
/* Converts the frame read last into RGBA rows of dst (w x h, stride). */
int cvv_rgba(cvv_capture *c, unsigned char *dst, int w, int h, int stride, char *err, size_t errlen);
void cvv_close(cvv_capture *c);

#ifdef __cplusplus
}
#endif
