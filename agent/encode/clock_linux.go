//go:build linux

package encode

import "golang.org/x/sys/unix"

// kernelSynced asks the kernel (adjtimex) whether NTP, chrony or
// systemd-timesyncd has synchronised the clock: STA_UNSYNC is clear. Any
// error counts as not synchronised.
func kernelSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil || state == unix.TIME_ERROR {
		return false
	}
	return tx.Status&unix.STA_UNSYNC == 0
}
