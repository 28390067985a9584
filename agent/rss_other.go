//go:build !linux

package agent

func peakRSS() int64 { return 0 }
