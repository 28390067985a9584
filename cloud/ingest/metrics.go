package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ingest counters, shared by the MQTT receiver and the
// compat inputs (label "input": "mqtt", "compat_mqtt", "amqp", "upload").
type Metrics struct {
	Received     *prometheus.CounterVec // items complete (reassembled or decoded), by input
	Stored       *prometheus.CounterVec // items stored and acknowledged (duplicates included), by input
	Rejected     *prometheus.CounterVec // items rejected, by input and reason
	Duplicates   *prometheus.CounterVec // items stored before, by input
	Failed       *prometheus.CounterVec // transient failures to store (no ack), by input
	AckLatency   prometheus.Histogram   // from the item complete to the ack published
	Reassembling prometheus.Gauge       // items with chunks received but not all of them
	StatusUpdate prometheus.Counter     // device status messages applied
	// StatusCoalesced counts status messages replaced by a newer one of
	// the same device before they were written (the latest wins).
	StatusCoalesced prometheus.Counter
	StatusDropped   prometheus.Counter // status messages dropped: too many devices waiting
	HeldBytes       prometheus.Gauge   // chunk bytes of incomplete items held in memory
	Staged          prometheus.Counter // chunks written to the shared staging
	FromStaging     prometheus.Counter // items assembled from staged chunks
	StagedExpired   prometheus.Counter // staged chunks removed because their item never completed
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_received_total",
			Help: "Items received complete (all chunks, or a whole compat message).",
		}, []string{"input"}),
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_stored_total",
			Help: "Items stored (objects and row) and acknowledged, duplicates included.",
		}, []string{"input"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_rejected_total",
			Help: "Items rejected as invalid, by reason; nothing of them is stored.",
		}, []string{"input", "reason"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_duplicate_total",
			Help: "Items received again after they had been stored (acknowledged again).",
		}, []string{"input"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_failed_total",
			Help: "Items that could not be stored for a transient reason (not acknowledged; the sender retries).",
		}, []string{"input"}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "ack_latency_seconds",
			Help:    "Time from an item received complete to its ack published.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		Reassembling: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_reassembling",
			Help: "Items with some but not all of their chunks received.",
		}),
		StatusUpdate: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "status_updates_total",
			Help: "Device status messages applied to the devices table.",
		}),
		StatusCoalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "status_coalesced_total",
			Help: "Device status messages replaced by a newer one of the same device before they were written.",
		}),
		StatusDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "status_dropped_total",
			Help: "Device status messages dropped because the statuses of too many devices were waiting for the database.",
		}),
		HeldBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "held_bytes",
			Help: "Chunk bytes of incomplete items held in this receiver's memory (bounded by --max-held-bytes).",
		}),
		Staged: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "chunks_staged_total",
			Help: "Chunks written to the staging shared by the receivers (items whose chunks reached several receivers).",
		}),
		FromStaging: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "items_from_staging_total",
			Help: "Items assembled by this receiver from staged chunks.",
		}),
		StagedExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "canopy", Subsystem: "ingest", Name: "staged_chunks_expired_total",
			Help: "Staged chunks removed because their item did not complete in time (the device sends it again).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.Stored, m.Rejected, m.Duplicates, m.Failed, m.AckLatency, m.Reassembling, m.StatusUpdate,
			m.StatusCoalesced, m.StatusDropped, m.HeldBytes, m.Staged, m.FromStaging, m.StagedExpired)
	}
	return m
}
