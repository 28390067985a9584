package compat

import (
	"context"
	"errors"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultTopic is the compat MQTT topic.
const DefaultTopic = "canopy/compat/images"

// MQTTConfig configures the compat MQTT input.
type MQTTConfig struct {
	Broker     string // "tcp://host:port"
	ClientID   string // stable, for the persistent session
	Username   string
	Password   string
	Topic      string // "" means DefaultTopic
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
		SetUsername(c.Username).SetPassword(c.Password).
		SetCleanSession(false).SetOrderMatters(true).
		SetAutoAckDisabled(true). // PUBACK only once stored
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetDefaultPublishHandler(m.onMessage).
		SetOnConnectHandler(func(cl mqtt.Client) { go m.subscribe(cl) })
	m.client = mqtt.NewClient(opts)
	return m, nil
}

// Filter is the subscription filter.
func (m *MQTT) Filter() string {
	if m.cfg.ShareGroup != "" {
		return "$share/" + m.cfg.ShareGroup + "/" + m.cfg.Topic
	}
	return m.cfg.Topic
}

// Connected reports whether the input is connected to the broker.
func (m *MQTT) Connected() bool { return m.client.IsConnectionOpen() }

func (m *MQTT) subscribe(cl mqtt.Client) {
	tok := cl.Subscribe(m.Filter(), 1, nil)
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		m.log.Error("compat subscribe failed", "filter", m.Filter(), "err", tok.Error())
		return
	}
	m.log.Info("compat subscribed", "filter", m.Filter())
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
