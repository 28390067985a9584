package fleet

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// receiver is one canopy-cloud serve process of the share group.
type receiver struct {
	proc
	http string // its HTTP address
}

// receiverSet starts, kills and restarts the receivers.
type receiverSet struct {
	rs []*receiver
}

// startReceivers starts n receivers against broker, the database dsn and
// the blob store, and waits until each is ready (/readyz).
func startReceivers(ctx context.Context, c Config, n int, broker, dsn, root, bucketPrefix string) (*receiverSet, error) {
	set := &receiverSet{}
	for i := range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r := &receiver{http: "127.0.0.1:" + strconv.Itoa(port)}
		data := filepath.Join(c.Dir, fmt.Sprintf("receiver-%d", i))
		if c.S3Endpoint == "" {
			data = filepath.Join(c.Dir, "cloud") // one blob folder for all
		}
		args := []string{c.CloudBin, "serve", "--broker", broker}
		if c.Embedded { // the receiver's own broker listens there
			args = []string{c.CloudBin, "serve", "--mqtt-listen", strings.TrimPrefix(broker, "tcp://")}
		}
		args = append(args, "--database-url", dsn, "--data", data, "--http", r.http,
			"--topic-root", root, "--workers", "0", "--compat-topic", "", "--auth", "off",
			"--log-level", "info")
		if c.IngestWorkers > 0 {
			args = append(args, "--ingest-workers", strconv.Itoa(c.IngestWorkers))
		}
		var env []string
		if c.S3Endpoint != "" {
			args = append(args, "--s3-endpoint", c.S3Endpoint, "--s3-path-style", "--s3-bucket-prefix", bucketPrefix)
			env = []string{"AWS_ACCESS_KEY_ID=" + c.S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + c.S3SecretKey, "AWS_REGION=us-east-1"}
		}
		r.proc = proc{name: fmt.Sprintf("receiver-%d", i), args: args, env: env,
			log: filepath.Join(c.Dir, fmt.Sprintf("receiver-%d.log", i))}
		if err := r.start(); err != nil {
			set.stop()
			return nil, err
		}
		set.rs = append(set.rs, r)
	}
	for _, r := range set.rs {
		if err := r.waitReady(ctx, 60*time.Second); err != nil {
			set.stop()
			return nil, err
		}
	}
	return set, nil
}

// waitReady polls /readyz (database, blob store and broker connection).
func (r *receiver) waitReady(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %v (see %s)", r.name, within, r.log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kill SIGKILLs receiver i.
func (s *receiverSet) kill(i int) { s.rs[i].kill(syscall.SIGKILL) }

// restart starts receiver i again.
func (s *receiverSet) restart(i int) error { return s.rs[i].start() }

// stop stops every receiver cleanly.
func (s *receiverSet) stop() {
	for _, r := range s.rs {
		r.kill(syscall.SIGTERM)
	}
}
