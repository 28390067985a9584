//go:build opencv

// VideoCapture without linking libopencv_videoio: the library is opened
// with dlopen beside libopencv_core, its constructor found with dlsym, and
// every other call goes through the object's virtual functions (open,
// isOpened, grab, read, set and the destructor are all virtual in
// cv::VideoCapture), so nothing of videoio is needed at link time.

#include <dlfcn.h>
#include <mutex>
#include <new>
#include <stdio.h>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "cvvideo.h"

struct cvv_capture {
	cv::VideoCapture *cap;
	cv::Mat frame;
};

namespace {

typedef void (*ctor_fn)(void *);

std::mutex load_mu;
ctor_fn ctor = nullptr;
std::string load_err;

// The default constructor cv::VideoCapture::VideoCapture().
const char kCtor[] = "_ZN2cv12VideoCaptureC1Ev";

void set_err(char *err, size_t errlen, const std::string &msg) {
	snprintf(err, errlen, "%s", msg.c_str());
}

// videoio_path is libopencv_videoio beside the libopencv_core this binary
// runs with, whatever the library's soname scheme (Debian's .so.406 or
// upstream's .so.4.6).
std::string videoio_path() {
	Dl_info info;
	if (dladdr(reinterpret_cast<void *>(&cv::getVersionString), &info) == 0 || info.dli_fname == nullptr) {
		return "";
	}
	std::string p(info.dli_fname);
	size_t i = p.rfind("opencv_core");
	if (i == std::string::npos) {
		return "";
	}
	return p.replace(i, 11, "opencv_videoio");
}

int load(char *err, size_t errlen) {
	std::lock_guard<std::mutex> lock(load_mu);
	if (ctor != nullptr) {
		return 0;
	}
	if (!load_err.empty()) {
		set_err(err, errlen, load_err);
		return -1;
	}
	std::string path = videoio_path();
	if (path.empty()) {
		load_err = "cannot tell where libopencv_core is loaded from";
		set_err(err, errlen, load_err);
		return -1;
	}
	void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
	if (h == nullptr) {
		const char *e = dlerror();
		load_err = "load " + path + ": " + (e ? e : "unknown error");
		set_err(err, errlen, load_err);
		return -1;
	}
	void *f = dlsym(h, kCtor);
	if (f == nullptr) {
		load_err = path + " has no cv::VideoCapture constructor (" + kCtor + ")";
		set_err(err, errlen, load_err);
		return -1;
	}
	ctor = reinterpret_cast<ctor_fn>(f);
	return 0;
}

cvv_capture *make(char *err, size_t errlen) {
	if (load(err, errlen) != 0) {
		return nullptr;
	}
	void *mem = ::operator new(sizeof(cv::VideoCapture), std::nothrow);
	if (mem == nullptr) {
		set_err(err, errlen, "out of memory");
		return nullptr;
	}
	try {
		ctor(mem);
	} catch (const std::exception &e) {
		::operator delete(mem);
		set_err(err, errlen, e.what());
		return nullptr;
	}
	cvv_capture *c = new (std::nothrow) cvv_capture;
	if (c == nullptr) {
		delete static_cast<cv::VideoCapture *>(mem);
		set_err(err, errlen, "out of memory");
		return nullptr;
	}
	c->cap = static_cast<cv::VideoCapture *>(mem);
	return c;
}

// open_capture makes a capture and opens src (a device index, or a file,
// URL or pipeline name) with api; NULL with a message in err when it is not
// opened.
template <typename Source>
cvv_capture *open_capture(const Source &src, int api, char *err, size_t errlen) {
	cvv_capture *c = make(err, errlen);
	if (c == nullptr) {
		return nullptr;
	}
	bool ok = false;
	try {
		ok = c->cap->open(src, api);
	} catch (const std::exception &e) {
		set_err(err, errlen, e.what());
		cvv_close(c);
		return nullptr;
	}
	if (ok && c->cap->isOpened()) {
		return c;
	}
	set_err(err, errlen, "not opened");
	cvv_close(c);
	return nullptr;
}

} // namespace

extern "C" {

int cvv_load(char *err, size_t errlen) { return load(err, errlen); }

const char *cvv_version(void) {
	static const std::string v = cv::getVersionString();
	return v.c_str();
}

cvv_capture *cvv_open_index(int index, int api, char *err, size_t errlen) {
	return open_capture(index, api, err, errlen);
}

cvv_capture *cvv_open_name(const char *name, int api, char *err, size_t errlen) {
	return open_capture(std::string(name), api, err, errlen);
}

int cvv_set(cvv_capture *c, int prop, double value) {
	try {
		return c->cap->set(prop, value) ? 1 : 0;
	} catch (...) {
		return 0;
	}
}

int cvv_grab(cvv_capture *c) {
	try {
		return c->cap->grab() ? 1 : 0;
	} catch (...) {
		return 0;
	}
}

int cvv_read(cvv_capture *c, int *w, int *h) {
	try {
		if (!c->cap->read(c->frame) || c->frame.empty()) {
			return 0;
		}
	} catch (...) {
		return 0;
	}
	*w = c->frame.cols;
	*h = c->frame.rows;
	return 1;
}

int cvv_rgba(cvv_capture *c, unsigned char *dst, int w, int h, int stride, char *err, size_t errlen) {
	const cv::Mat &f = c->frame;
	if (f.empty() || f.cols != w || f.rows != h || f.depth() != CV_8U) {
		set_err(err, errlen, "no 8-bit frame of that size");
		return -1;
	}
	int code;
	switch (f.channels()) {
	case 1:
		code = cv::COLOR_GRAY2RGBA;
		break;
	case 3:
		code = cv::COLOR_BGR2RGBA;
		break;
	case 4:
		code = cv::COLOR_BGRA2RGBA;
		break;
	default:
		set_err(err, errlen, "frame has " + std::to_string(f.channels()) + " channels");
		return -1;
	}
	// dst wraps the caller's buffer: cvtColor writes into it in place
	// (same size and type, so it does not reallocate).
	cv::Mat out(h, w, CV_8UC4, dst, (size_t)stride);
	try {
		cv::cvtColor(f, out, code);
	} catch (const std::exception &e) {
		set_err(err, errlen, e.what());
		return -1;
	}
	if (out.data != dst) {
		set_err(err, errlen, "cvtColor reallocated the destination");
		return -1;
	}
	return 0;
}

void cvv_close(cvv_capture *c) {
	if (c == nullptr) {
		return;
	}
	try {
		delete c->cap; // virtual: videoio's destructor, through the vtable
	} catch (...) {
	}
	delete c;
}

} // extern "C"
