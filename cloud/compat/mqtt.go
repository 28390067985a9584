package compat

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultTopic is the compat MQTT topic of the earlier pipeline; the
// protocol's own is wire.Topics.Compat ("canopy/v1/compat"). Serve listens
// on both by default.
const DefaultTopic = "canopy/compat/images"

// MQTTConfig configures the compat MQTT input.
type MQTTConfig struct {
	Broker     string      // "tcp://host:port", "ssl://..."
	TLS        *tls.Config // CA and client certificate for an ssl:// broker; nil: the system's roots
	ClientID   string      // stable, for the persistent session
	Username   string
	Password   string
	Topic      string // one topic or several separated by commas; "" means DefaultTopic
	ShareGroup string // subscribe through $share/<group>/ when set
}

// MQTT receives compat messages on an MQTT topic.
type MQTT struct {
	cfg    MQTTConfig
	h      *Handler
	log    *slog.Logger
	client mqtt.Client
	ctx    context.Context // only for the message handler, set by Run
}

// NewMQTT prepares the input; Run connects and serves.
func NewMQTT(c MQTTConfig, h *Handler, log *slog.Logger) (*MQTT, error) {
	if c.Broker == "" || c.ClientID == "" {
		return nil, errors.New("compat mqtt: broker and client id are required")
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &MQTT{cfg: c, h: h, log: log.With("component", "compat_mqtt")}
	opts := mqtt.NewClientOptions().AddBroker(c.Broker).SetClientID(c.ClientID).
		SetUsername(c.Username).SetPassword(c.Password).SetTLSConfig(c.TLS).
		SetCleanSession(false).SetOrderMatters(true).
		SetAutoAckDisabled(true). // PUBACK only once stored
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetDefaultPublishHandler(m.onMessage).
		SetOnConnectHandler(func(cl mqtt.Client) { go m.subscribe(cl) })
	m.client = mqtt.NewClient(opts)
	return m, nil
}

// Filters are the subscription filters, one per topic.
func (m *MQTT) Filters() []string {
	var out []string
	for _, t := range strings.Split(m.cfg.Topic, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if m.cfg.ShareGroup != "" {
			t = "$share/" + m.cfg.ShareGroup + "/" + t
		}
		out = append(out, t)
	}
	return out
}

// Connected reports whether the input is connected to the broker.
func (m *MQTT) Connected() bool { return m.client.IsConnectionOpen() }

func (m *MQTT) subscribe(cl mqtt.Client) {
	filters := map[string]byte{}
	for _, f := range m.Filters() {
		filters[f] = 1
	}
	tok := cl.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		m.log.Error("compat subscribe failed", "filters", m.Filters(), "err", tok.Error())
		return
	}
	m.log.Info("compat subscribed", "filters", m.Filters())
}

// Run serves until ctx ends.
func (m *MQTT) Run(ctx context.Context) error {
	m.ctx = ctx
	m.client.Connect()
	<-ctx.Done()
	m.client.Disconnect(250)
	return nil
}

// onMessage stores one message, then acknowledges it. A poison message is
// acknowledged too (MQTT has no dead letters): it was logged and counted.
func (m *MQTT) onMessage(_ mqtt.Client, msg mqtt.Message) {
	err := retry(m.ctx, m.log, func() error {
		_, err := m.h.Handle(m.ctx, "compat_mqtt", msg.Payload())
		return err
	})
	if err != nil && m.ctx.Err() != nil {
		return // not stored: the broker sends it again after we reconnect
	}
	msg.Ack()
}
