package ingest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultShareGroup is the shared-subscription group of the receivers.
const DefaultShareGroup = "canopy"

// Devices is what the Receiver needs of the database for status messages.
type Devices interface {
	UpdateDevice(ctx context.Context, s db.DeviceStatus) error
}

// Sessions a receiver can ask of the broker (Config.Session).
const (
	// SessionClean (the default): the broker forgets the receiver when it
	// disconnects, so a receiver that dies stops getting a share of the
	// items at once; what was on its way to it is sent again by the devices.
	SessionClean = "clean"
	// SessionPersistent: the broker keeps the receiver's subscriptions and
	// queues its messages while it is away. Only for a single receiver
	// without a shared subscription: most brokers keep handing a shared
	// subscription's messages to a persistent member that is gone.
	SessionPersistent = "persistent"
)

// Defaults of the fields of Config that control staging.
const (
	DefaultSpillAfter   = 500 * time.Millisecond
	DefaultMaxHeldBytes = 64 << 20
)

// Config configures a Receiver.
type Config struct {
	Broker     string      // "tcp://host:port", "ssl://..."
	TLS        *tls.Config // CA and client certificate for an ssl:// broker; nil: the system's roots
	ClientID   string      // MQTT client id; "" means "canopy-cloud-<hostname>" (persistent) or that plus a random suffix (clean)
	Session    string      // SessionClean or SessionPersistent; "" means clean
	Username   string      // optional
	Password   string      // optional
	Topics     wire.Topics // topic root ("" = "canopy")
	ShareGroup string      // "" means DefaultShareGroup
	NoShare    bool        // subscribe without $share (brokers that lack shared subscriptions)
	Limits     wire.Limits // reassembly limits (zero fields: the wire defaults)
	Workers    int         // items stored at once; 0 means 4
	// WarnEvery is how often one kind of warning is logged at most (the
	// rest are counted); 0 means DefaultWarnEvery.
	WarnEvery time.Duration

	// Signer, when set, signs every ack (wire.SignAck): the cloud's
	// receipt, which devices given the public key verify.
	Signer ed25519.PrivateKey

	// Staging is the storage that receivers share for the chunks of items
	// that none of them got whole (the database). nil: no staging, which
	// is right only for a receiver that gets every chunk (one receiver).
	Staging Staging
	// SpillAfter is how long an incomplete item waits in memory for its
	// next chunk before its chunks go to Staging (0: DefaultSpillAfter).
	SpillAfter time.Duration
	// MaxHeldBytes bounds the chunk bytes held in memory; beyond it the
	// oldest incomplete items go to Staging at once (0: DefaultMaxHeldBytes).
	MaxHeldBytes int64
}

// Staging is shared, durable storage for chunks (*db.DB has it).
type Staging interface {
	StageChunks(ctx context.Context, cs []db.StagedChunk) (staged int, err error)
	TakeStaged(ctx context.Context, device, itemID string) ([]db.StagedChunk, error)
	ExpireStaged(ctx context.Context, before time.Time) (int64, error)
}

// Filter is the item subscription filter that c asks for.
func (c Config) Filter() string {
	if c.NoShare {
		return c.Topics.ItemFilter()
	}
	g := c.ShareGroup
	if g == "" {
		g = DefaultShareGroup
	}
	return "$share/" + g + "/" + c.Topics.ItemFilter()
}

// Receiver subscribes to the items and statuses of every device, stores the
// items through a Saver and acknowledges them.
type Receiver struct {
	cfg     Config
	saver   *Saver
	devices Devices
	metrics *Metrics
	log     *slog.Logger
	client  mqtt.Client
	warn    *warnLimiter // repeated warnings: once per interval, with a count

	mu      sync.Mutex // guards reasm and spilled
	reasm   *wire.Reassembler
	spilled map[spillKey]time.Time // items whose chunks go to Staging, until when

	work   chan job
	status *statusQueue
	stop   chan struct{}

	subscribed     chan struct{} // closed after the first subscription
	subscribedOnce sync.Once
}

// workQueue is how many complete items per storage worker may wait for
// one: paho hands this receiver's messages to onMessage one at a time and
// acknowledges each (PUBACK) when it returns, so a handler blocked on busy
// workers holds up every device's frames and statuses behind it. The queue
// absorbs bursts; the broker's flow control bounds the rest.
const workQueue = 8

// job is work for the storage workers: an item to store, or the chunks of
// an incomplete item to stage.
type job struct {
	device string // from the topic
	item   wire.Item
	stage  *wire.Partial // when set: stage these chunks (item is empty)
	done   time.Time     // when the last chunk arrived
}

type spillKey struct{ device, id string }

// NewReceiver prepares a Receiver; Run connects and serves.
func NewReceiver(c Config, saver *Saver, devices Devices, m *Metrics, log *slog.Logger) (*Receiver, error) {
	if c.Broker == "" {
		return nil, errors.New("ingest: no broker URL")
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	switch c.Session {
	case "":
		c.Session = SessionClean
	case SessionClean, SessionPersistent:
	default:
		return nil, fmt.Errorf("ingest: session %q: want %q or %q", c.Session, SessionClean, SessionPersistent)
	}
	if c.SpillAfter <= 0 {
		c.SpillAfter = DefaultSpillAfter
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if c.WarnEvery <= 0 {
		c.WarnEvery = DefaultWarnEvery
	}
	if c.ClientID == "" {
		host, _ := os.Hostname()
		c.ClientID = DefaultClientID(c.Session, "canopy-cloud-"+SanitizeID(host))
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ingest")
	r := &Receiver{
		cfg: c, saver: saver, devices: devices, metrics: m,
		log:     log,
		warn:    newWarnLimiter(log, c.WarnEvery),
		reasm:   wire.NewReassembler(c.Limits),
		spilled: map[spillKey]time.Time{},
		work:    make(chan job, workQueue*c.Workers),
		status:  newStatusQueue(),
		stop:    make(chan struct{}),

		subscribed: make(chan struct{}),
	}
	opts := mqtt.NewClientOptions().
		AddBroker(c.Broker).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(c.Session == SessionClean).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetTLSConfig(c.TLS).
		SetDefaultPublishHandler(r.onMessage).
		SetOnConnectHandler(func(cl mqtt.Client) { go r.subscribe(cl) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			r.log.Warn("broker connection lost", "broker", c.Broker, "err", err)
		})
	r.client = mqtt.NewClient(opts)
	return r, nil
}

// DefaultClientID is the client id of a receiver for session: base for a
// persistent session (it must stay the same across restarts), and base
// plus a random suffix for a clean one (so that receivers started with the
// same settings never take each other's place at the broker).
func DefaultClientID(session, base string) string {
	if session == SessionPersistent {
		return base
	}
	return base + "-" + strings.ToLower(rand.Text()[:8])
}

// Subscribed is closed once the receiver has subscribed for the first time.
func (r *Receiver) Subscribed() <-chan struct{} { return r.subscribed }

// Connected reports whether the receiver is connected to the broker now.
func (r *Receiver) Connected() bool { return r.client.IsConnectionOpen() }

func (r *Receiver) subscribe(cl mqtt.Client) {
	filters := map[string]byte{r.cfg.Filter(): 1, r.cfg.Topics.StatusFilter(): 1}
	tok := cl.SubscribeMultiple(filters, nil) // messages go to the default handler
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		r.log.Error("subscribe failed", "filters", keys(filters), "err", tok.Error())
		return
	}
	r.subscribedOnce.Do(func() { close(r.subscribed) })
	r.log.Info("subscribed", "broker", r.cfg.Broker, "item_filter", r.cfg.Filter(), "status_filter", r.cfg.Topics.StatusFilter(),
		"client_id", r.cfg.ClientID, "session", r.cfg.Session, "staging", r.cfg.Staging != nil)
}

// Run connects (retrying until ctx ends), receives and stores items until ctx
// ends, then disconnects and lets the items being stored finish.
func (r *Receiver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() { r.worker() })
	}
	statusDone := make(chan struct{})
	go func() { defer close(statusDone); r.statusLoop() }()

	tok := r.client.Connect() // with ConnectRetry it completes once connected
	r.log.Info("connecting to broker", "broker", r.cfg.Broker)
	go func() {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				r.log.Error("connect to broker", "broker", r.cfg.Broker, "err", err)
			}
		case <-ctx.Done():
		}
	}()

	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	spill := time.NewTicker(max(r.cfg.SpillAfter/4, 10*time.Millisecond))
	defer spill.Stop()
	janitor := time.NewTicker(r.janitorEvery())
	defer janitor.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-ticker.C:
			r.expire(now)
			r.warn.flush()
		case now := <-spill.C:
			r.spill(ctx, now)
		case now := <-janitor.C:
			r.expireStaged(now)
		}
	}
	// Stop the producer first, then drain.
	r.client.Disconnect(250)
	close(r.stop) // workers finish the item in hand; queued ones are sent again by their devices
	wg.Wait()
	<-statusDone
	r.log.Info("receiver stopped")
	return nil
}

func (r *Receiver) expire(now time.Time) {
	r.mu.Lock()
	ids := r.reasm.Expire(now)
	n := r.reasm.InProgress()
	r.mu.Unlock()
	r.metrics.Reassembling.Set(float64(n))
	for _, id := range ids {
		r.metrics.Rejected.WithLabelValues("mqtt", ReasonTimeout).Inc()
		r.warn.Warn("incomplete item expired", "item", id)
	}
}

// onMessage is paho's handler for every message (in order, one at a time).
// It must not block for long: it reassembles and hands items to the workers.
func (r *Receiver) onMessage(_ mqtt.Client, msg mqtt.Message) {
	device, kind, ok := r.cfg.Topics.Parse(msg.Topic())
	if !ok {
		r.log.Debug("message on unknown topic", "topic", msg.Topic())
		return
	}
	switch kind {
	case "item":
		r.onFrame(device, msg.Payload())
	case "status":
		r.onStatus(device, msg.Payload())
	}
}

func (r *Receiver) onFrame(device string, frame []byte) {
	now := time.Now()
	if p := r.spilledFrame(device, frame, now); p != nil {
		r.enqueue(job{device: device, stage: p, done: now}, r.stop)
		return
	}
	r.mu.Lock()
	it, err := r.reasm.Add(frame, now)
	n, held := r.reasm.InProgress(), r.reasm.Held()
	r.mu.Unlock()
	r.metrics.Reassembling.Set(float64(n))
	r.metrics.HeldBytes.Set(float64(held))
	if it := r.accept(device, it, err); it != nil {
		r.enqueue(job{device: device, item: *it, done: now}, r.stop)
	}
}

// accept handles the outcome of adding a frame from the topic of device:
// an error (the item rejected, or the frame ignored), nothing yet, or a
// complete item, which it returns for storing.
func (r *Receiver) accept(device string, it *wire.Item, err error) *wire.Item {
	if err != nil {
		var we *wire.RejectError
		if !errors.As(err, &we) {
			r.warn.Warn("frame not added", "device", device, "err", err)
			return nil
		}
		if ignorable(we) {
			r.log.Debug("frame ignored", "item", we.ItemID, "device", device, "reason", we.Reason)
			return nil
		}
		rej := fromWire(we)
		if we.Device != "" && we.Device != device {
			rej = reject(ReasonWrongDevice, fmt.Sprintf("topic device %q, header device %q", device, we.Device))
		}
		r.rejected(device, we.ItemID, we.SHA256, rej)
		return nil
	}
	if it == nil {
		return nil
	}
	r.metrics.Received.WithLabelValues("mqtt").Inc()
	if it.Meta.Device != device {
		r.rejected(device, it.Meta.ItemID, it.Digest, reject(ReasonWrongDevice, fmt.Sprintf("topic device %q, header device %q", device, it.Meta.Device)))
		return nil
	}
	return it
}

// enqueue hands j to the workers, waiting for room unless stop is closed.
func (r *Receiver) enqueue(j job, stop <-chan struct{}) {
	select {
	case r.work <- j:
	case <-stop:
	}
}

// ignorable reports reassembly errors that get no ack: a busy receiver
// (temporary), and the frames of an item sent again while a first copy is
// still arriving (the first copy is dropped or completes; a rejected ack
// would send a good item to the device's dead letters). The device sends
// again when no ack comes.
func ignorable(we *wire.RejectError) bool {
	return we.Temporary() || we.Reason == wire.ReasonDuplicateChunk || we.Reason == wire.ReasonHeaderMismatch
}

func (r *Receiver) onStatus(device string, payload []byte) {
	if len(payload) == 0 {
		return // a retained message cleared
	}
	st, err := wire.DecodeStatus(payload)
	if err != nil {
		r.warn.Warn("bad status message", "device", device, "err", err)
		return
	}
	if st.Device != "" && st.Device != device {
		r.warn.Warn("status for another device ignored", "device", device, "status_device", st.Device)
		return
	}
	st.Device = device
	replaced, added := r.status.put(st)
	switch {
	case !added:
		r.metrics.StatusDropped.Inc()
		r.warn.Warn("status update dropped: statuses of too many devices waiting for the database", "device", device, "waiting", maxStatusDevices)
	case replaced:
		r.metrics.StatusCoalesced.Inc()
	}
	r.log.Debug("device status", "device", device, "state", st.State, "outbox_depth", st.OutboxDepth)
}

func (r *Receiver) worker() {
	for {
		select {
		case j := <-r.work:
			if j.stage != nil {
				r.stage(j)
			} else {
				r.store(j)
			}
		case <-r.stop:
			return
		}
	}
}

func (r *Receiver) store(j job) {
	id := j.item.Meta.ItemID
	log := logItem(r.log, id, j.device)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	saved, err := r.saver.Save(ctx, j.item, SaveOptions{Origin: OriginDevice})
	cancel()
	if rej, ok := IsReject(err); ok {
		r.rejected(j.device, id, j.item.Digest, rej)
		return
	}
	if err != nil {
		r.metrics.Failed.WithLabelValues("mqtt").Inc()
		r.warn.Warn("item not stored; no ack, the device will send it again", "item", id, "device", j.device, "err", err)
		return
	}
	r.publishAck(j.device, wire.Ack{ItemID: id, Status: wire.AckStored, Duplicate: saved.Duplicate, SHA256: j.item.Digest})
	r.metrics.Stored.WithLabelValues("mqtt").Inc()
	if saved.Duplicate {
		r.metrics.Duplicates.WithLabelValues("mqtt").Inc()
	}
	r.metrics.AckLatency.Observe(time.Since(j.done).Seconds())
	log.Debug("item stored", "key", saved.Image.RawKey, "duplicate", saved.Duplicate)
}

// rejected counts, logs and (when the item id is known) acknowledges a
// rejection to the device of the topic.
func (r *Receiver) rejected(device, id, sha string, rej *RejectError) {
	r.metrics.Rejected.WithLabelValues("mqtt", rej.Reason).Inc()
	r.warn.Warn("item rejected", "item", id, "device", device, "reason", rej.Reason, "detail", rej.Detail)
	if id == "" {
		return
	}
	r.publishAck(device, wire.Ack{ItemID: id, Status: wire.AckRejected, Reason: rej.AckReason(), SHA256: sha})
}

// publishAck publishes an ack at QoS 1 without waiting in the caller: a
// worker that waits for the PUBACK while paho's ordered handler is blocked
// on the work queue would stall both, and Publish itself can block for the
// write timeout while the connection is down, which inside paho's message
// handler (rejections are acked from there) would hold up its reconnect.
func (r *Receiver) publishAck(device string, a wire.Ack) {
	if r.cfg.Signer != nil {
		a = wire.SignAck(r.cfg.Signer, device, a)
	}
	b, err := wire.EncodeAck(a)
	if err != nil {
		r.log.Error("encode ack", "item", a.ItemID, "err", err)
		return
	}
	go func() {
		tok := r.client.Publish(r.cfg.Topics.Ack(device), 1, false, b)
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			r.warn.Warn("ack not confirmed by the broker", "item", a.ItemID, "device", device, "err", tok.Error())
		}
	}()
}

func keys(m map[string]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// SanitizeID keeps the characters of s that are safe in an MQTT client id.
func SanitizeID(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "host"
	}
	return b.String()
}
