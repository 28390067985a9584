package publish

import (
	"context"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Downlink is a client of the device's downlink topics (desired state and
// artifacts) that rides on the publisher's MQTT connection, so that a
// device keeps one connection and one persistent session.
type Downlink interface {
	// Topics are subscribed to (QoS 1) on every connection.
	Topics() []string
	// Message is called with every message on them, from the MQTT
	// client's goroutine, in order: it must not block.
	Message(topic string, payload []byte)
	// Connected is called once the topics are subscribed, with a Link
	// that publishes on this connection until it is lost.
	Connected(Link)
	// Report is what the device runs, for every status message (nil:
	// nothing to report).
	Report() *wire.Reported
}

// Link publishes on one connection of the publisher.
type Link interface {
	// Publish sends payload on topic at QoS 1 (not retained) and waits
	// for the broker's PUBACK, ctx or the loss of the connection.
	Publish(ctx context.Context, topic string, payload []byte) error
	// ReportChanged asks for a status message at once (the Downlink's
	// Report changed).
	ReportChanged()
}

// link is a Link over conn c.
type link struct {
	p *Publisher
	c *conn
}

func (l link) Publish(ctx context.Context, topic string, payload []byte) error {
	return waitToken(ctx, l.c.client.Publish(topic, 1, false, payload), l.c.lost)
}

func (l link) ReportChanged() {
	select {
	case l.p.reportNow <- struct{}{}:
	default:
	}
}

// subscribeDownlink subscribes the downlink's topics on c and hands it a
// Link (no-op without a Downlink).
func (p *Publisher) subscribeDownlink(ctx context.Context, c *conn, handler mqtt.MessageHandler) error {
	d := p.cfg.Downlink
	if d == nil {
		return nil
	}
	filters := map[string]byte{}
	for _, t := range d.Topics() {
		filters[t] = 1
	}
	if len(filters) > 0 {
		if err := waitToken(ctx, c.client.SubscribeMultiple(filters, handler), c.lost); err != nil {
			return err
		}
	}
	d.Connected(link{p: p, c: c})
	return nil
}
