package metrics

import (
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
)

// Pipeline is what the capture pipeline has done (agent.Stats).
type Pipeline struct {
	FramesRead int64
	Kept       int64            // selected by the policy
	Skipped    map[string]int64 // by reason
	ItemsPut   int64            // stored in the outbox
}

// Sources are the counters the metrics read at scrape time. A nil field
// leaves its metrics out (Publisher without a broker, say).
type Sources struct {
	Pipeline func() Pipeline
	Outbox   func() (outbox.Stats, error)
	// MaxBytes is the outbox's bound.
	MaxBytes int64
	// Refused counts the items refused because the outbox was full.
	Refused   func() int64
	Publisher func() publish.Stats
	Latency   func() publish.Latency
}

// Default settings of the fill estimate.
const (
	DefaultSampleEvery = 15 * time.Second
	DefaultWindow      = 10 * time.Minute
)

// Metrics is the agent's registry.
type Metrics struct {
	src   Sources
	reg   *prometheus.Registry
	every time.Duration
	fill  *fill
	// statsErrs counts scrapes and samples that could not read the outbox.
	statsErrs atomic.Int64
}

// New registers the agent's metrics (and the process and Go runtime
// collectors) on a registry of their own.
func New(src Sources) *Metrics {
	m := &Metrics{src: src, reg: prometheus.NewRegistry(), every: DefaultSampleEvery, fill: newFill(DefaultWindow)}
	m.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(), m)
	return m
}

// Registry is where the metrics are registered, for tests and for other
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descFramesRead = prometheus.NewDesc("canopy_agent_frames_read_total", "Frames read from the source.", nil, nil)
	descFramesKept = prometheus.NewDesc("canopy_agent_frames_kept_total", "Frames the selection policy kept (to be encoded and stored).", nil, nil)
	descSkipped    = prometheus.NewDesc("canopy_agent_frames_skipped_total", "Frames not stored, by reason (low_share, interval, duplicate, segment_error, encode_error, outbox_full, and the capture gates' gate_*).", []string{"reason"}, nil)
	descItemsPut   = prometheus.NewDesc("canopy_agent_items_put_total", "Items stored in the outbox.", nil, nil)
	descRefused    = prometheus.NewDesc("canopy_agent_outbox_refused_total", "Items refused because the outbox was full (after evicting what it could).", nil, nil)

	descOutboxItems   = prometheus.NewDesc("canopy_agent_outbox_items", "Items waiting in the outbox for the cloud's ack.", nil, nil)
	descOutboxBytes   = prometheus.NewDesc("canopy_agent_outbox_bytes", "Bytes of the items waiting in the outbox.", nil, nil)
	descOutboxMax     = prometheus.NewDesc("canopy_agent_outbox_max_bytes", "The outbox's bound in bytes: beyond it, images are evicted, then items refused.", nil, nil)
	descOutboxOldest  = prometheus.NewDesc("canopy_agent_outbox_oldest_age_seconds", "Age of the oldest item waiting (0 when none).", nil, nil)
	descOutboxGrowth  = prometheus.NewDesc("canopy_agent_outbox_growth_bytes_per_second", "Net growth of the outbox's bytes (put minus acknowledged) over the last minutes.", nil, nil)
	descOutboxFullIn  = prometheus.NewDesc("canopy_agent_outbox_seconds_until_full", "Seconds until the outbox reaches its bound at the current net growth (+Inf while it is not growing).", nil, nil)
	descEvictions     = prometheus.NewDesc("canopy_agent_outbox_evictions_total", "Images the outbox dropped to stay within its bound (their records are kept).", nil, nil)
	descDeadLetters   = prometheus.NewDesc("canopy_agent_outbox_dead_letters", "Items the cloud rejected, kept as dead letters.", nil, nil)
	descOutboxErrors  = prometheus.NewDesc("canopy_agent_outbox_stats_errors_total", "Scrapes that could not read the outbox's stats.", nil, nil)
	descPublished     = prometheus.NewDesc("canopy_agent_items_published_total", "Items sent to the broker, sends again included.", nil, nil)
	descAcked         = prometheus.NewDesc("canopy_agent_items_acked_total", "Items the cloud acknowledged as stored.", nil, nil)
	descRejected      = prometheus.NewDesc("canopy_agent_items_rejected_total", "Items the cloud (or the publisher) rejected; they are dead letters.", nil, nil)
	descRetransmitted = prometheus.NewDesc("canopy_agent_items_retransmitted_total", "Items sent again (ack overdue, or in flight over a lost connection).", nil, nil)
	descInFlight      = prometheus.NewDesc("canopy_agent_items_in_flight", "Items sent and not yet acknowledged.", nil, nil)
	descConnected     = prometheus.NewDesc("canopy_agent_mqtt_connected", "1 while connected to the broker.", nil, nil)
	descReconnects    = prometheus.NewDesc("canopy_agent_mqtt_reconnects_total", "Connections to the broker made after the first.", nil, nil)
	descLatency       = prometheus.NewDesc("canopy_agent_publish_latency_seconds", "From an item's last chunk published to the cloud's ack of it.", nil, nil)
)

// Describe sends the descriptors of the agent's own metrics.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFramesRead, descFramesKept, descSkipped, descItemsPut, descRefused,
		descOutboxItems, descOutboxBytes, descOutboxMax, descOutboxOldest, descOutboxGrowth, descOutboxFullIn,
		descEvictions, descDeadLetters, descOutboxErrors, descPublished, descAcked, descRejected, descRetransmitted,
		descInFlight, descConnected, descReconnects, descLatency} {
		ch <- d
	}
}

// Collect reads the sources.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	if m.src.Pipeline != nil {
		p := m.src.Pipeline()
		counter(descFramesRead, float64(p.FramesRead))
		counter(descFramesKept, float64(p.Kept))
		counter(descItemsPut, float64(p.ItemsPut))
		for reason, n := range p.Skipped {
			counter(descSkipped, float64(n), reason)
		}
	}
	if m.src.Refused != nil {
		counter(descRefused, float64(m.src.Refused()))
	}
	if m.src.Outbox != nil {
		st, err := m.src.Outbox()
		if err != nil {
			m.statsErrs.Add(1)
		} else {
			now := time.Now()
			m.fill.add(now, st.Bytes)
			gauge(descOutboxItems, float64(st.Depth))
			gauge(descOutboxBytes, float64(st.Bytes))
			gauge(descOutboxMax, float64(m.src.MaxBytes))
			age := 0.0
			if !st.Oldest.IsZero() {
				age = max(0, now.Sub(st.Oldest).Seconds())
			}
			gauge(descOutboxOldest, age)
			rate := m.fill.rate()
			gauge(descOutboxGrowth, rate)
			gauge(descOutboxFullIn, untilFull(st.Bytes, m.src.MaxBytes, rate))
			counter(descEvictions, float64(st.Evictions))
			gauge(descDeadLetters, float64(st.DeadLetters))
		}
		counter(descOutboxErrors, float64(m.statsErrs.Load()))
	}
	if m.src.Publisher != nil {
		s := m.src.Publisher()
		counter(descPublished, float64(s.Published))
		counter(descAcked, float64(s.Acked))
		counter(descRejected, float64(s.Rejected))
		counter(descRetransmitted, float64(s.Retransmitted))
		gauge(descInFlight, float64(s.InFlight))
		connected := 0.0
		if s.Connected {
			connected = 1
		}
		gauge(descConnected, connected)
		counter(descReconnects, float64(s.Reconnects))
	}
	if m.src.Latency != nil {
		l := m.src.Latency()
		buckets := make(map[float64]uint64, len(publish.LatencyBuckets))
		for i, b := range publish.LatencyBuckets {
			if i < len(l.Counts) {
				buckets[b] = l.Counts[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(descLatency, l.Count, l.Sum, buckets)
	}
}

// untilFull is the seconds until bytes reach max at rate bytes a second:
// 0 when already there, +Inf when not growing or unbounded.
func untilFull(bytes, max int64, rate float64) float64 {
	switch {
	case max <= 0 || rate <= 0:
		return math.Inf(1)
	case bytes >= max:
		return 0
	}
	return float64(max-bytes) / rate
}
