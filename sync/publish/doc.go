// Package publish drains the outbox to an MQTT broker: the device side of
// protocol v1 (see sync/wire and docs/protocol.md).
//
// A Publisher reads records from a sync/outbox in order, as the chunk
// frames the outbox stored (chunked here only when Config.ChunkSize is
// smaller), and a writer goroutine publishes them at QoS 1 on
// <root>/v1/<device>/item while Run's goroutine reads the next records and
// takes acks, keeping up to Config.Window items (Config.WindowBytes bytes)
// in flight. An item leaves the outbox only when the cloud acknowledges it
// on <root>/v1/<device>/ack: "stored" calls Outbox.Ack (acks that come
// within 25 ms share one commit, Outbox.AckMany), "rejected" calls
// Outbox.Reject. The MQTT client's own delivery token is never taken as proof
// of delivery (paho.mqtt.golang issue 563: a token can report success for a
// message lost across a reconnect). Items not acknowledged within
// Config.AckTimeout, and every item in flight after a reconnect, are sent
// again; the receiver is idempotent by item id.
//
// The client keeps a persistent session (CleanSession false, a stable client
// id), so acks published while the device was offline are delivered when it
// comes back. It subscribes to its acks on every connection and sends at
// once; a refused subscription ends the session. Failed connection attempts
// are counted (Stats.ConnectFailures). A retained status message on <root>/v1/<device>/status says
// "online" with the outbox depth on connect and every Config.StatusInterval;
// a retained last will says "offline".
//
// Lifecycle: New, then Run(ctx), which blocks, reconnects with exponential
// backoff and full jitter (Config.MinBackoff to Config.MaxBackoff, at most
// one attempt a second) and returns nil once ctx is cancelled and the last
// acks had a short flush deadline (Config.FlushTimeout). Stats, InFlight and
// Drained are safe to call from any goroutine while Run runs.
package publish
