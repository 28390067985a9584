package fleet

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procSample is what /proc says of a process at one moment.
type procSample struct {
	CPU time.Duration // user and system time so far
	RSS int64         // resident bytes now
	HWM int64         // peak resident bytes
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// sampleProc reads /proc/PID/stat and /proc/PID/status.
func sampleProc(pid int) (procSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// The command name (2nd field) may hold spaces: fields count from
	// after its closing parenthesis, at the 3rd field (state).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	s := procSample{CPU: time.Duration(utime+stime) * clockTick}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	for _, line := range strings.Split(string(st), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.RSS = kb << 10
		case "VmHWM":
			s.HWM = kb << 10
		}
	}
	return s, nil
}

// Usage is what one process (a receiver, the harness's broker) took in a
// run without receiver kills.
type Usage struct {
	RSSStartMiB float64 // resident before the devices connected
	RSSIdleMiB  float64 // with every device connected, before the puts
	RSSPeakMiB  float64 // its peak over the run
	// PerDeviceKiB is (RSSIdle - RSSStart) / devices: the memory a
	// connected device costs it.
	PerDeviceKiB float64
	// IdleCPU is the CPU it took while every device was connected and
	// idle (status messages, keepalives), in seconds a second.
	IdleCPU float64
	// BusyCPUSeconds is its CPU from the first put to the last outbox
	// drained; CPUPerItemMs that over the items put.
	BusyCPUSeconds float64
	CPUPerItemMs   float64
}

// usageMeter follows processes (one, or the device hosts together)
// through the phases of a run.
type usageMeter struct {
	pids                     func() []int
	start, idle0, idle1, end procSample
	idleFor                  time.Duration
}

func (m *usageMeter) sample(dst *procSample) {
	var sum procSample
	for _, pid := range m.pids() {
		if s, err := sampleProc(pid); err == nil {
			sum.CPU += s.CPU
			sum.RSS += s.RSS
			sum.HWM += s.HWM
		}
	}
	*dst = sum
}

func (m *usageMeter) usage(devices, items int) Usage {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	u := Usage{RSSStartMiB: mib(m.start.RSS), RSSIdleMiB: mib(m.idle1.RSS), RSSPeakMiB: mib(max(m.end.HWM, m.idle1.HWM))}
	if devices > 0 {
		u.PerDeviceKiB = float64(m.idle1.RSS-m.start.RSS) / 1024 / float64(devices)
	}
	if m.idleFor > 0 {
		u.IdleCPU = (m.idle1.CPU - m.idle0.CPU).Seconds() / m.idleFor.Seconds()
	}
	u.BusyCPUSeconds = (m.end.CPU - m.idle1.CPU).Seconds()
	if items > 0 {
		u.CPUPerItemMs = u.BusyCPUSeconds * 1000 / float64(items)
	}
	return u
}

// machineCPU reads /proc/stat's first line: the time all cores have been
// busy (not idle or waiting for I/O) and in all, in clock ticks.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
