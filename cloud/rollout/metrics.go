package rollout

import "github.com/prometheus/client_golang/prometheus"

// Metrics are a Server's counters.
type Metrics struct {
	Published  prometheus.Counter // desired documents published (retained)
	Fetches    prometheus.Counter // chunk requests answered
	Chunks     prometheus.Counter // artifact chunks sent
	ChunkBytes prometheus.Counter // artifact chunk frame bytes sent (headers included)
	Reports    prometheus.Counter // reported states recorded
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "canopy", Subsystem: "rollout", Name: name, Help: help})
	}
	m := &Metrics{
		Published:  c("desired_published_total", "Desired documents published, retained, on devices' desired topics."),
		Fetches:    c("fetch_requests_total", "Devices' requests for artifact chunks answered."),
		Chunks:     c("chunks_sent_total", "Artifact chunks sent to devices."),
		ChunkBytes: c("chunk_bytes_sent_total", "Bytes of artifact chunk frames sent to devices, headers included."),
		Reports:    c("reports_total", "Reported desired states recorded from devices' status messages."),
	}
	if reg != nil {
		reg.MustRegister(m.Published, m.Fetches, m.Chunks, m.ChunkBytes, m.Reports)
	}
	return m
}
