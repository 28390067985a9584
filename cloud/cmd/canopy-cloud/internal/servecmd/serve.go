package servecmd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/broker"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/compat"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/cloud/retain"
	"github.com/canopy-forest/canopy/cloud/rollout"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/flagfile"
	"github.com/canopy-forest/canopy/sync/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve is canopy-cloud serve.
var Serve = cli.Command{Name: "serve", Summary: "run the receiver: ingest, storage, counting workers, HTTP", Run: cmdServe}

func cmdServe(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-cloud serve [flags]\n\nWith no flags: the embedded setup (in-process MQTT broker, blob folder and\nSQLite under --data). Flags:")
	fs.StringVar(&c.Data, "data", c.Data, "data `folder`: SQLite database and blob folder of the embedded setup")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "HTTP listen `address`")
	fs.StringVar(&c.HTTPTLSCert, "http-tls-cert", c.HTTPTLSCert, "serve HTTPS with this certificate (PEM `file`, the chain); read again on SIGHUP")
	fs.StringVar(&c.HTTPTLSKey, "http-tls-key", c.HTTPTLSKey, "the key of --http-tls-cert (PEM `file`)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "serve GET /metrics with no token on this `address` of its own (\"\": only on --http, for a token of scope metrics)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.MQTTListen, "mqtt-listen", c.MQTTListen, "embedded MQTT broker listen `address` (ignored with --broker)")
	fs.BoolVar(&c.MQTTAllowRemote, "mqtt-allow-remote", c.MQTTAllowRemote, "embedded broker: accept clients from non-loopback addresses on --mqtt-listen (they still authenticate; prefer --mqtt-tls-listen)")
	fs.StringVar(&c.MQTTTLSListen, "mqtt-tls-listen", c.MQTTTLSListen, "embedded broker: TLS listener `address` for devices in the field (with --tls-cert, --tls-key)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "the embedded broker's TLS certificate (PEM `file`)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the embedded broker's TLS key (PEM `file`)")
	fs.StringVar(&c.MQTTClientCerts, "mqtt-client-certs", c.MQTTClientCerts, "TLS listener: off, optional or require client certificates signed by the cloud's device CA (device add --cert)")
	fs.StringVar(&c.Broker, "broker", c.Broker, "external MQTT broker `URL` (tcp://host:1883, ssl://host:8883); no embedded broker then. Credentials: $CANOPY_MQTT_USERNAME, $CANOPY_MQTT_PASSWORD, or a client certificate (--mqtt-cert)")
	brokerTLSFlags(fs, &c.MQTTTLS)
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "MQTT client `id` (default canopy-cloud-HOSTNAME-HTTPPORT, plus a random suffix with a clean session)")
	fs.StringVar(&c.Session, "mqtt-session", c.Session, "item receiver's MQTT session: clean (a receiver that dies gets no more items) or persistent (one receiver with --no-share only)")
	fs.DurationVar(&c.SpillAfter, "spill-after", c.SpillAfter, "how long an incomplete item waits in memory for its next chunk before its chunks are staged in the database, where any receiver can finish it")
	fs.Int64Var(&c.MaxHeldBytes, "max-held-bytes", c.MaxHeldBytes, "most chunk `bytes` of incomplete items held in memory; beyond, the oldest are staged in the database")
	fs.StringVar(&c.ShareGroup, "share-group", c.ShareGroup, "shared-subscription `group` ($share/GROUP/...): receivers in one group split the items")
	fs.BoolVar(&c.NoShare, "no-share", c.NoShare, "subscribe without $share (brokers without shared subscriptions; run one receiver only)")
	fs.StringVar(&c.TopicRoot, "topic-root", c.TopicRoot, "topic `root`: ROOT/v1/DEVICE/item")
	fs.IntVar(&c.MaxItemBytes, "max-item-bytes", c.MaxItemBytes, "largest item accepted, in `bytes`")
	fs.IntVar(&c.MaxInProgress, "max-in-progress", c.MaxInProgress, "most items being reassembled at once")
	fs.DurationVar(&c.ItemTimeout, "item-timeout", c.ItemTimeout, "time allowed between the chunks of an item")
	fs.IntVar(&c.MaxPixels, "max-pixels", c.MaxPixels, "largest image accepted, in pixels")
	fs.IntVar(&c.IngestWorkers, "ingest-workers", c.IngestWorkers, "items stored at once")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3 API `URL` (blob store in S3 instead of the data folder); credentials from the AWS chain ($AWS_ACCESS_KEY_ID, ...)")
	fs.StringVar(&c.S3Region, "s3-region", c.S3Region, "S3 signing region (default $AWS_REGION or us-east-1)")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", c.S3PathStyle, "S3 path-style addressing (MinIO, versitygw)")
	fs.StringVar(&c.S3BucketPrefix, "s3-bucket-prefix", c.S3BucketPrefix, "`prefix` of the bucket names (PREFIXraw, PREFIXprocessed)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... (PostgreSQL) or a SQLite file (default DATA/canopy.db)")
	fs.StringVar(&c.CompatTopic, "compat-topic", c.CompatTopic, "MQTT `topics` (comma-separated) of the earlier pipeline's JSON messages (\"\" turns it off)")
	fs.StringVar(&c.AMQPURL, "amqp-url", c.AMQPURL, "RabbitMQ `URL` of the compat queue (off when empty)")
	fs.StringVar(&c.AMQPQueue, "amqp-queue", c.AMQPQueue, "compat `queue` (its dead letters go to QUEUE.dead)")
	fs.IntVar(&c.Workers, "workers", c.Workers, "counting workers (with one or more, also a registrar of the scans they count)")
	fs.StringVar(&c.Method, "method", c.Method, "counting method: auto (the learned detector if its model is found and loads, else classical), learned or classical")
	fs.StringVar(&c.Model, "model", c.Model, "ONNX crown detector `file` (default: crown-detector.onnx beside the binary, in ../share/canopy/models or ./models)")
	fs.Float64Var(&c.GSDDefault, "gsd-default", c.GSDDefault, "ground sample distance (`metres` per pixel) of images that carry none (no GeoTIFF, camera data or height); their counts say gsd_source default")
	fs.StringVar(&c.Ingest, "ingest", c.Ingest, "on, or off: no broker and no inputs (a node that only counts and serves HTTP)")
	fs.DurationVar(&c.RetainRaw, "retain-raw", c.RetainRaw, "delete raw images this long after they were received, once counted (720h: 30 days); rows, counts, masks and annotated images stay. 0: keep them")
	registerAPIFlags(fs) // api.go: --auth, --max-upload-bytes
	configFile := fs.String("config", "", "YAML `file` of settings: its keys are these flags' names (http: 0.0.0.0:8080); flags given here win, then $CANOPY_MQTT_CA, _MQTT_CERT, _MQTT_KEY, _HTTP_TLS_CERT and _HTTP_TLS_KEY")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if err := readSecurityEnv(fs); err != nil {
		return err
	}
	if *configFile != "" {
		if err := flagfile.Load(fs, *configFile, "config"); err != nil {
			return err
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	log := site.Logger(c.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, c, log)
}

// services are what serve built: runWorkers (workers.go) and extendAPI
// (api.go) receive them.
type services struct {
	Config   config.Serve
	DB       *db.DB
	Blobs    blob.Store
	Saver    *ingest.Saver
	Metrics  *ingest.Metrics
	Registry *prometheus.Registry
	API      *api.Server
	Log      *slog.Logger
}

// serve runs everything until ctx ends or one part fails.
func serve(ctx context.Context, c config.Serve, log *slog.Logger) error {
	if err := os.MkdirAll(c.Data, 0o750); err != nil && (c.DatabaseURL == "" || c.S3Endpoint == "") {
		return fmt.Errorf("data folder: %w", err)
	}
	httpLn, err := api.Listen(c.HTTP)
	if err != nil {
		return err
	}
	defer httpLn.Close()
	var metricsLn net.Listener
	if c.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", c.MetricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer metricsLn.Close()
	}
	var httpCert *api.Certificate
	scheme := "http"
	if c.HTTPTLSCert != "" {
		if httpCert, err = api.LoadCertificate(c.HTTPTLSCert, c.HTTPTLSKey); err != nil {
			return fmt.Errorf("--http-tls-cert, --http-tls-key: %w", err)
		}
		scheme = "https"
	}
	mqttTLS, err := c.MQTTTLS.Config()
	if err != nil {
		return err
	}

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := db.Open(openCtx, c.DatabaseDSN(), log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer d.Close()
	blobs, err := site.OpenBlobs(openCtx, c)
	if err != nil {
		return err
	}
	if err := blob.EnsureBuckets(openCtx, blobs); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}

	// Identity: the cloud's keys (made on first start), and the registry
	// of devices, receivers and producers that the embedded broker checks.
	keys, err := identity.LoadKeys(openCtx, d)
	if err != nil {
		return fmt.Errorf("cloud keys: %w", err)
	}
	creds := identity.NewRegistry(d, log.With("component", "identity"))
	if _, err := creds.Refresh(openCtx); err != nil {
		return err
	}
	topics := wire.Topics{Root: c.TopicRoot}
	user, pass := os.Getenv("CANOPY_MQTT_USERNAME"), os.Getenv("CANOPY_MQTT_PASSWORD")

	var brk *broker.Broker
	brokerURL := c.Broker
	if c.EmbeddedBroker() {
		// This process's own receiver gets an identity that exists only
		// in memory.
		user, pass = "canopy-cloud-self-"+strings.ToLower(rand.Text()[:8]), identity.NewPassword()
		creds.AddInternal(user, pass, db.RoleReceiver)
		bc := broker.Config{Addr: c.MQTTListen, AllowRemote: c.MQTTAllowRemote, Registry: creds,
			Policy:  identity.Policy{Topics: topics, Compat: c.CompatTopics()},
			TLSAddr: c.MQTTTLSListen, ClientCerts: c.MQTTClientCerts, ClientCA: keys.CA.Pool()}
		if c.MQTTTLSListen != "" {
			cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
			if err != nil {
				return fmt.Errorf("--tls-cert, --tls-key: %w", err)
			}
			bc.TLSCert = &cert
		}
		if brk, err = broker.New(bc, log); err != nil {
			return err
		}
		brokerURL = brk.URL()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg)
	saver := ingest.NewSaver(blobs, d, ingest.ImageLimits{MaxBytes: c.MaxItemBytes, MaxPixels: c.MaxPixels})
	host, _ := os.Hostname()
	cidBase := c.ClientIDBase(ingest.SanitizeID(host))
	cid := cidBase // --client-id as given, or the default
	if c.ClientID == "" {
		cid = ingest.DefaultClientID(c.Session, cidBase)
	}
	var recv *ingest.Receiver // nil with --ingest off: no broker, no inputs
	if c.Ingest != config.IngestOff {
		recv, err = ingest.NewReceiver(ingest.Config{
			Broker: brokerURL, TLS: mqttTLS, ClientID: cid, Session: c.Session, Username: user, Password: pass,
			Topics: topics, ShareGroup: c.ShareGroup, NoShare: c.NoShare,
			Limits:  wire.Limits{MaxItemBytes: c.MaxItemBytes, MaxInProgress: c.MaxInProgress, Timeout: c.ItemTimeout},
			Workers: c.IngestWorkers,
			Staging: d, SpillAfter: c.SpillAfter, MaxHeldBytes: c.MaxHeldBytes,
			Signer: keys.Signer,
		}, saver, d, metrics, log)
		if err != nil {
			return err
		}
	}
	var rs *rollout.Server // desired state and rollouts, on the receiver's broker (rollout.go)
	if recv != nil {
		if rs, err = newRolloutServer(c, d, keys, brokerURL, cid, user, pass, reg, log); err != nil {
			return err
		}
	}
	ready := []api.Check{
		{Name: "database", Fn: func(ctx context.Context) error { return d.SQL().PingContext(ctx) }},
		{Name: "blob_store", Fn: func(ctx context.Context) error {
			_, err := blobs.Exists(ctx, blob.Raw, "readyz/probe")
			return err
		}},
	}
	if recv != nil {
		ready = append(ready, api.Check{Name: "broker", Fn: func(context.Context) error {
			if !recv.Connected() {
				return fmt.Errorf("not connected to %s", brokerURL)
			}
			return nil
		}})
	}

	s := &services{Config: c, DB: d, Blobs: blobs, Saver: saver, Metrics: metrics, Registry: reg, Log: log}
	s.API = api.New(api.Options{
		Images:  d,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Ready:   ready,
		Log:     log,
		TLS:     httpCert,
	})
	if err := extendAPI(s); err != nil {
		return err
	}

	var g group
	runCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	// The embedded broker stops last, after its clients have disconnected.
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	brokerDone := make(chan error, 1)
	if brk != nil {
		go func() {
			err := brk.Run(brokerCtx)
			if err != nil {
				stopAll()
			}
			brokerDone <- err
		}()
	} else {
		brokerDone <- nil
	}
	if recv != nil {
		g.Go("ingest", func() error { return recv.Run(runCtx) }, stopAll)
	}
	if rs != nil {
		g.Go("rollout", func() error { return rs.Run(runCtx) }, stopAll)
	}
	g.Go("identity", func() error {
		return creds.Run(runCtx, 2*time.Second, func(names []string) {
			log.Warn("identities revoked", "usernames", names)
			if brk != nil {
				brk.Revoke(names)
			}
		})
	}, stopAll)
	h := &compat.Handler{Saver: saver, Metrics: metrics, MaxBytes: c.MaxItemBytes, Log: log}
	if c.CompatTopic != "" && recv != nil {
		group := c.ShareGroup
		if c.NoShare {
			group = ""
		}
		cm, err := compat.NewMQTT(compat.MQTTConfig{Broker: brokerURL, TLS: mqttTLS, ClientID: cidBase + "-compat", Username: user, Password: pass, Topic: c.CompatTopic, ShareGroup: group}, h, log)
		if err != nil {
			return err
		}
		g.Go("compat_mqtt", func() error { return cm.Run(runCtx) }, stopAll)
	}
	if c.AMQPURL != "" && recv != nil {
		am, err := compat.NewAMQP(compat.AMQPConfig{URL: c.AMQPURL, Queue: c.AMQPQueue}, h, log)
		if err != nil {
			return err
		}
		g.Go("compat_amqp", func() error { return am.Run(runCtx) }, stopAll)
	}
	g.Go("workers", func() error { return runWorkers(runCtx, s, c.Workers) }, stopAll)
	// SIGHUP (systemctl reload) reads the HTTP certificate again; it never
	// ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go("reload", func() error { return reloadOn(runCtx, hup, httpCert, log) }, stopAll)
	if c.RetainRaw > 0 {
		r, err := retain.New(retain.Config{After: c.RetainRaw}, d, blobs, log)
		if err != nil {
			return err
		}
		g.Go("retention", func() error { return r.Run(runCtx) }, stopAll)
	}
	g.Go("http", func() error { return s.API.Run(runCtx, httpLn) }, stopAll)
	if metricsLn != nil {
		g.Go("metrics", func() error { return s.API.RunMetrics(runCtx, metricsLn) }, stopAll)
	}

	blobDesc := c.BlobDir()
	if c.S3Endpoint != "" {
		blobDesc = c.S3Endpoint
	}
	log.Info("canopy-cloud serving", "http", scheme+"://"+httpLn.Addr().String(), "mqtt", brokerURL, "mqtt_client_cert", c.MQTTTLS.Cert,
		"embedded_broker", brk != nil, "ingest", c.Ingest, "database", redact(c.DatabaseDSN()), "blobs", blobDesc,
		"cloud_key", keys.Public())
	status := "serving " + scheme + "://" + httpLn.Addr().String()
	if recv != nil {
		status += ", mqtt " + brokerURL
	}
	notifyDone := notifySystemd(runCtx, status, log)
	err = g.Wait()
	stopAll()
	<-notifyDone
	stopBroker()
	err = errors.Join(err, <-brokerDone)
	log.Info("canopy-cloud stopped")
	return err
}

// redact hides the password of a database URL.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// reloadOn reads the HTTP certificate (nil: none) again on every signal
// from hup (SIGHUP) until ctx ends; a failed reload is logged and the old
// certificate stays.
func reloadOn(ctx context.Context, hup <-chan os.Signal, cert *api.Certificate, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if cert == nil {
				log.Info("SIGHUP: nothing to reload (no --http-tls-cert)")
				continue
			}
			if err := cert.Reload(); err != nil {
				log.Error("SIGHUP: HTTP certificate not reloaded; the old one is served", "err", err)
				continue
			}
			leaf := cert.Leaf()
			log.Info("SIGHUP: HTTP certificate reloaded", "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16),
				"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
}
