package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Serve)
		want []string // substrings of the error; nil: valid
	}{
		{"defaults", func(*Serve) {}, nil},
		{"external", func(s *Serve) { s.Broker = "tcp://127.0.0.1:1883"; s.DatabaseURL = "postgres://x@h/db" }, nil},
		{"bad broker", func(s *Serve) { s.Broker = "localhost:1883" }, []string{"--broker"}},
		{"several", func(s *Serve) { s.HTTP = "nope"; s.LogLevel = "loud"; s.S3Endpoint = "ftp://x" }, []string{"--http", "--log-level", "--s3-endpoint"}},
		{"bad db", func(s *Serve) { s.DatabaseURL = "mysql://x" }, []string{"--database-url"}},
		{"share", func(s *Serve) { s.ShareGroup = "a/b" }, []string{"--share-group"}},
		{"no share ok", func(s *Serve) { s.ShareGroup = ""; s.NoShare = true }, nil},
		{"counting", func(s *Serve) { s.Method = "magic"; s.GSDDefault = 0 }, []string{"--method", "--gsd-default"}},
		{"learned", func(s *Serve) { s.Method = "learned"; s.Model = "m.onnx"; s.GSDDefault = 0.05 }, nil},
		{"ingest off needs no broker", func(s *Serve) { s.Ingest = IngestOff; s.MQTTListen = ""; s.Broker = "nonsense" }, nil},
		{"bad ingest", func(s *Serve) { s.Ingest = "maybe" }, []string{"--ingest"}},
		{"broker TLS", func(s *Serve) {
			s.Broker = "ssl://mq:8883"
			s.MQTTTLS = BrokerTLS{CA: "ca.pem", Cert: "r.crt", Key: "r.key"}
		}, nil},
		{"broker TLS, no key", func(s *Serve) { s.Broker = "ssl://mq:8883"; s.MQTTTLS.Cert = "r.crt" }, []string{"--mqtt-cert and --mqtt-key"}},
		{"broker TLS on tcp", func(s *Serve) { s.Broker = "tcp://mq:1883"; s.MQTTTLS.CA = "ca.pem" }, []string{"need a TLS broker URL"}},
		{"broker TLS, embedded", func(s *Serve) { s.MQTTTLS.CA = "ca.pem" }, []string{"external broker"}},
		{"https", func(s *Serve) { s.HTTPTLSCert, s.HTTPTLSKey = "c", "k"; s.MetricsListen = "127.0.0.1:9090" }, nil},
		{"https, no key", func(s *Serve) { s.HTTPTLSCert = "c" }, []string{"--http-tls-cert and --http-tls-key"}},
		{"metrics on the HTTP address", func(s *Serve) { s.MetricsListen = s.HTTP }, []string{"--metrics-listen"}},
		{"metrics address", func(s *Serve) { s.MetricsListen = "9090" }, []string{"--metrics-listen"}},
		{"retention", func(s *Serve) { s.RetainRaw = 720 * time.Hour }, nil},
		{"negative retention", func(s *Serve) { s.RetainRaw = -time.Hour }, []string{"--retain-raw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultServe()
			tt.mod(&s)
			err := s.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: got nil, want errors about %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %q does not mention %q", err, w)
				}
			}
		})
	}
}
