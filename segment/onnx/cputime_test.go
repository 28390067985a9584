//go:build onnx

package onnx

import (
	"syscall"
	"time"
	"unsafe"
)

// cpuTime is the CPU time the process has used (CLOCK_PROCESS_CPUTIME_ID:
// every thread, the garbage collector's included).
func cpuTime() time.Duration {
	var ts syscall.Timespec
	const clockProcessCPUTimeID = 2
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
