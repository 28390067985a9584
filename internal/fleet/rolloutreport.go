package fleet

import (
	"fmt"
	"io"
	"time"
)

// RolloutReport is what a rollout run did.
type RolloutReport struct {
	Devices    int   // simulated devices and the real agent
	ModelBytes int64 // the model's size
	Waves      []int // devices per wave
	// Reached is the time from rollout create until every device online
	// had applied the model; Elapsed until the rollout was done.
	Reached, Elapsed time.Duration
	// ModelBytesSent are the chunk bytes sent (payload, copies included),
	// FrameBytes the chunk frames' bytes (headers included); for every
	// device, FrameBytes / (ModelBytes * Devices) is the wire's overhead.
	ModelBytesSent, FrameBytes int64
	// Offline is the device that was away during the rollout, Converged
	// whether it applied the model when it came back.
	Offline   string
	Converged bool
	// Killed is the device SIGKILLed mid-download, KilledAt the bytes it
	// had staged then, Resent the bytes sent to it beyond the model's size.
	Killed           string
	KilledAt, Resent int64
	// AgentRSSBefore and AgentRSSAfter are the real agent's peak resident
	// memory (VmHWM, bytes) before the rollout and once it runs the new
	// model (the process that downloaded and swapped it); AgentRSSFetch
	// the most resident memory (VmRSS) seen while it downloaded.
	AgentRSSBefore, AgentRSSFetch, AgentRSSAfter int64
	// The corrupt rollout: halted, why, the devices of its first wave,
	// those that rolled back from it, those of the other waves left alone.
	Halted                      bool
	HaltReason                  string
	CorruptWave1, RolledBack    int
	Untouched, CorruptOtherWave int
	// The real agent at the end, through GET /v1/devices/{id}.
	AgentModel, AgentLastError string
	Rollout, CorruptRollout    string
}

// Print writes the report as a table.
func (r RolloutReport) Print(w io.Writer) {
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	lines := [][2]string{
		{"devices, waves", fmt.Sprintf("%d, %v", r.Devices, r.Waves)},
		{"model", mb(r.ModelBytes)},
		{"reached every online device", fmt.Sprintf("%.1f s", r.Reached.Seconds())},
		{"rollout done", fmt.Sprintf("%.1f s", r.Elapsed.Seconds())},
		{"model bytes sent / devices x model", fmt.Sprintf("%s / %s (%.4f)", mb(r.ModelBytesSent), mb(r.ModelBytes*int64(r.Devices)), float64(r.ModelBytesSent)/float64(max(1, r.ModelBytes*int64(r.Devices))))},
		{"chunk frame bytes / devices x model", fmt.Sprintf("%s (%.4f)", mb(r.FrameBytes), float64(r.FrameBytes)/float64(max(1, r.ModelBytes*int64(r.Devices))))},
	}
	if r.Offline != "" {
		lines = append(lines, [2]string{"offline device converged", fmt.Sprintf("%s: %v", r.Offline, r.Converged)})
	}
	if r.Killed != "" {
		lines = append(lines, [2]string{"killed mid-download, bytes sent again", fmt.Sprintf("%s at %s staged: %d", r.Killed, mb(r.KilledAt), r.Resent)})
	}
	if r.AgentRSSAfter > 0 {
		lines = append(lines, [2]string{"agent RSS: peak before, most while fetching, peak after the swap",
			fmt.Sprintf("%s, %s, %s", mb(r.AgentRSSBefore), mb(r.AgentRSSFetch), mb(r.AgentRSSAfter))})
	}
	if r.CorruptRollout != "" {
		lines = append(lines, [2]string{"corrupt model", fmt.Sprintf("halted %v (%s); wave 1: %d of %d rolled back; other waves: %d of %d untouched",
			r.Halted, r.HaltReason, r.RolledBack, r.CorruptWave1, r.Untouched, r.CorruptOtherWave)})
	}
	if r.AgentModel != "" {
		lines = append(lines, [2]string{"real agent reports", fmt.Sprintf("model %.12s, last_error %q", r.AgentModel, r.AgentLastError)})
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-40s %s\n", l[0], l[1])
	}
}
