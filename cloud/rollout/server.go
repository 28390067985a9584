package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	Broker, ClientID   string
	Username, Password string
	Topics             wire.Topics
	ShareGroup         string // the receivers' share group ("" = "canopy")
	NoShare            bool   // subscribe to chunk requests without $share (one receiver)
	// StepEvery is how often rollouts are stepped and changed documents
	// published (0: a second).
	StepEvery time.Duration
	Metrics   *Metrics // nil: not counted
}

// Server is a receiver's MQTT side of desired state (see the package
// documentation).
type Server struct {
	cfg    ServerConfig
	svc    *Service
	log    *slog.Logger
	client mqtt.Client

	fetches chan fetch
	reports chan db.Reported
	resync  chan struct{} // publish every document again (a new connection)

	// Owned by Run's goroutine.
	published map[string]int64 // device -> version published
	since     time.Time
}

type fetch struct {
	device string
	req    wire.FetchRequest
}

// resyncOverlap: documents changed this long before the last look are
// looked at again (clocks of the writers may differ a little).
const resyncOverlap = time.Minute

// NewServer prepares a Server over svc; Run connects and serves.
func NewServer(c ServerConfig, svc *Service, log *slog.Logger) (*Server, error) {
	if c.Broker == "" || svc == nil || svc.DB == nil || len(svc.Key) == 0 {
		return nil, errors.New("rollout server: broker, database and signing key are needed")
	}
	if c.ShareGroup == "" {
		c.ShareGroup = "canopy"
	}
	if c.StepEvery <= 0 {
		c.StepEvery = time.Second
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: c, svc: svc, log: log.With("component", "rollout"),
		fetches: make(chan fetch, 256), reports: make(chan db.Reported, 1024), resync: make(chan struct{}, 1),
		published: map[string]int64{}}
	o := mqtt.NewClientOptions().AddBroker(c.Broker).SetClientID(c.ClientID).SetUsername(c.Username).SetPassword(c.Password).
		SetCleanSession(true).SetOrderMatters(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(s.onMessage).
		SetOnConnectHandler(func(cl mqtt.Client) { go s.subscribe(cl) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { s.log.Warn("broker connection lost", "err", err) })
	s.client = mqtt.NewClient(o)
	return s, nil
}

func (s *Server) fetchFilter() string {
	if s.cfg.NoShare {
		return s.cfg.Topics.FetchFilter()
	}
	return "$share/" + s.cfg.ShareGroup + "/" + s.cfg.Topics.FetchFilter()
}

func (s *Server) subscribe(cl mqtt.Client) {
	tok := cl.SubscribeMultiple(map[string]byte{s.fetchFilter(): 1, s.cfg.Topics.StatusFilter(): 1}, nil)
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		s.log.Error("subscribe failed", "err", tok.Error())
		return
	}
	s.log.Info("subscribed", "fetch_filter", s.fetchFilter(), "status_filter", s.cfg.Topics.StatusFilter())
	select { // the broker may have lost retained documents: publish them all again
	case s.resync <- struct{}{}:
	default:
	}
}

// onMessage is paho's handler, called in order (a device's statuses must
// be recorded in the order it sent them): it never blocks for long.
func (s *Server) onMessage(_ mqtt.Client, m mqtt.Message) {
	dev, kind, ok := s.cfg.Topics.Parse(m.Topic())
	if !ok {
		return
	}
	switch kind {
	case wire.KindFetch:
		req, err := wire.DecodeFetch(m.Payload())
		if err != nil {
			s.log.Warn("bad fetch request", "device", dev, "err", err)
			return
		}
		select {
		case s.fetches <- fetch{device: dev, req: req}:
		default:
			s.log.Warn("fetch request dropped: queue full (the device asks again)", "device", dev)
		}
	case wire.KindStatus:
		if len(m.Payload()) == 0 {
			return
		}
		st, err := wire.DecodeStatus(m.Payload())
		if err != nil || st.Reported == nil || st.Device != dev {
			return
		}
		p := st.Reported
		r := db.Reported{Device: dev, Version: p.Version, ModelSHA256: p.ModelSHA256, State: p.State, PendingVersion: p.Pending,
			FailedVersion: p.FailedVersion, LastError: p.LastError, FetchedBytes: p.Fetched, FetchSize: p.FetchSize}
		select {
		case s.reports <- r:
		default:
			s.log.Warn("reported state dropped: queue full", "device", dev)
		}
	}
}

// Run connects (retrying), publishes desired documents, steps rollouts,
// answers chunk requests and records reported states until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	tok := s.client.Connect()
	go func() {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				s.log.Error("connect to broker", "err", err)
			}
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case f := <-s.fetches:
					s.serveFetch(ctx, f)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case r := <-s.reports:
				if err := s.svc.DB.UpdateReported(ctx, r); err != nil {
					s.log.Warn("record reported state", "device", r.Device, "err", err)
				} else {
					s.cfg.Metrics.Reports.Inc()
				}
			case <-ctx.Done():
				return
			}
		}
	})
	tick := time.NewTicker(s.cfg.StepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.client.Disconnect(250)
			return nil
		case <-s.resync:
			s.since = time.Time{}
			clear(s.published)
			s.publishDesired(ctx)
		case <-tick.C:
			if err := s.svc.Step(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("step rollouts", "err", err)
			}
			s.publishDesired(ctx)
		}
	}
}

// publishDesired publishes, retained, the desired documents changed since
// the last look (all of them the first time).
func (s *Server) publishDesired(ctx context.Context) {
	if !s.client.IsConnectionOpen() {
		return
	}
	look := time.Now()
	docs, err := s.svc.DB.ListDesired(ctx, s.since)
	if err != nil {
		s.log.Warn("list desired documents", "err", err)
		return
	}
	for _, d := range docs {
		if s.published[d.Device] == d.Version {
			continue
		}
		tok := s.client.Publish(s.cfg.Topics.Desired(d.Device), 1, true, []byte(d.Payload))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			s.log.Warn("desired document not published; again on the next look", "device", d.Device, "version", d.Version, "err", tok.Error())
			return
		}
		s.published[d.Device] = d.Version
		s.cfg.Metrics.Published.Inc()
		s.log.Debug("desired document published", "device", d.Device, "version", d.Version, "rollout", d.Rollout)
	}
	s.since = look.Add(-resyncOverlap)
}

// serveFetch answers one chunk request: only for the model of the
// device's own desired document.
func (s *Server) serveFetch(ctx context.Context, f fetch) {
	log := s.log.With("device", f.device, "model_sha256", f.req.SHA256)
	cur, err := s.svc.DB.GetDesired(ctx, f.device)
	if err != nil {
		log.Warn("fetch request from a device without a desired document", "err", err)
		return
	}
	var d wire.Desired
	if err := json.Unmarshal([]byte(cur.Doc), &d); err != nil || d.Model == nil || d.Model.SHA256 != f.req.SHA256 {
		log.Warn("fetch request for a model its desired document does not name: ignored")
		return
	}
	chunks, err := s.svc.DB.ArtifactChunks(ctx, f.req.SHA256, f.req.Chunks)
	if err != nil {
		log.Warn("read artifact chunks", "err", err)
		return
	}
	topic := s.cfg.Topics.Artifact(f.device)
	var toks []mqtt.Token
	var n, sent, data int64
	for _, i := range f.req.Chunks {
		b, ok := chunks[i]
		if !ok {
			log.Warn("fetch request for a chunk the model does not have", "chunk", i)
			continue
		}
		frame, err := wire.AppendArtifactChunk(nil, wire.ArtifactChunk{SHA256: f.req.SHA256, Chunk: i,
			Offset: int64(i) * int64(d.Model.ChunkSize), Size: d.Model.Size, Data: b})
		if err != nil {
			log.Error("encode artifact chunk", "chunk", i, "err", err)
			continue
		}
		toks = append(toks, s.client.Publish(topic, 1, false, frame))
		n++
		sent += int64(len(frame))
		data += int64(len(b))
	}
	for _, t := range toks {
		if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
			log.Warn("artifact chunk not confirmed by the broker (the device asks again)", "err", t.Error())
		}
	}
	s.cfg.Metrics.Fetches.Inc()
	s.cfg.Metrics.Chunks.Add(float64(n))
	s.cfg.Metrics.ChunkBytes.Add(float64(sent))
	if err := s.svc.DB.AddDelivery(ctx, f.device, f.req.SHA256, int(n), data); err != nil {
		log.Warn("count delivery", "err", err)
	}
	log.Debug("chunks sent", "chunks", n, "bytes", sent)
}

// Connected reports whether the server is connected to the broker.
func (s *Server) Connected() bool { return s.client.IsConnectionOpen() }
