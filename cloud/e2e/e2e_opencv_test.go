//go:build opencv

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/internal/e2etest"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// binDir is the folder of both built binaries.
func binDir(t *testing.T) string {
	e2etest.Bin(t, "canopy-agent")
	return filepath.Dir(e2etest.Bin(t, "canopy-cloud"))
}

func randName(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// frames writes n distinct synthetic frames (green crowns on soil).
func frames(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for y := range 240 {
			for x := range 320 {
				c := color.RGBA{150, 120, 90, 255}
				if (x/(16+i%7)+y/(20+i%5)+i)%3 == 0 {
					c = color.RGBA{30, uint8(100 + (x*y+i*37)%80), 40, 255}
				}
				img.Set(x, y, c)
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("frame_%03d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func agentConfig(t *testing.T, root string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	y := fmt.Sprintf("select:\n  min_share: 0\n  min_interval: \"0s\"\n  duplicates: keep\nsync:\n  topic_root: %s\n  ack_timeout: \"3s\"\n", root)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type proc struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(name), tail(log.String(), 3000))
		}
	})
	return p
}

// credentials are what canopy-cloud device add prints.
type credentials struct {
	Device   string `json:"device"`
	Username string `json:"username"`
	Password string `json:"password"`
	CloudKey string `json:"cloud_key"`
}

// env is the agent's environment for c.
func (c credentials) env() []string {
	return []string{"CANOPY_MQTT_USERNAME=" + c.Username, "CANOPY_MQTT_PASSWORD=" + c.Password}
}

// register runs canopy-cloud device add id with the database flags dbArgs.
func register(t *testing.T, bin, id string, dbArgs ...string) credentials {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "canopy-cloud"), append([]string{"device", "add", id}, dbArgs...)...).Output()
	if err != nil {
		t.Fatalf("device add %s: %v", id, err)
	}
	var c credentials
	if err := json.Unmarshal(out, &c); err != nil || c.Password == "" || c.CloudKey == "" {
		t.Fatalf("device add printed %q: %v", out, err)
	}
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// stored is the number of rows of device, through the HTTP API.
func stored(httpAddr, device string) (int, []string) {
	resp, err := http.Get("http://" + httpAddr + "/v1/images?limit=500&device=" + device)
	if err != nil {
		return -1, nil
	}
	defer resp.Body.Close()
	var body struct {
		Images []struct {
			Source string `json:"source"`
		} `json:"images"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return -1, nil
	}
	var src []string
	for _, i := range body.Images {
		src = append(src, i.Source)
	}
	return len(body.Images), src
}

func waitReady(t *testing.T, httpAddr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("canopy-cloud not ready within 30 s:\n%s", tail(p.log.String(), 2000))
}

func wait(t *testing.T, p *proc, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running after %v:\n%s", p.cmd.Path, d, tail(p.log.String(), 3000))
		return nil
	}
}

// TestAgentToServicesWithCloudKilled: agent → Mosquitto → canopy-cloud →
// S3 and PostgreSQL, the cloud killed with SIGKILL and started again during
// ingest; then every frame is stored exactly once and acknowledged.
func TestAgentToServicesWithCloudKilled(t *testing.T) {
	bin := binDir(t)
	mq, s3 := os.Getenv("CANOPY_TEST_MQTT"), os.Getenv("CANOPY_TEST_S3_ENDPOINT")
	if mq == "" || s3 == "" {
		t.Skip("CANOPY_TEST_MQTT or CANOPY_TEST_S3_ENDPOINT is not set")
	}
	dbURL := dbtest.PostgresURL(t)
	s3cfg := blobtest.S3Config(t)
	store := blobtest.S3With(t, s3cfg) // makes and removes the buckets
	const n = 40
	src := frames(t, n)
	root, device, httpAddr := randName("e2e-"), "e2e-dev", e2etest.FreeAddr(t)
	env := []string{"AWS_ACCESS_KEY_ID=" + os.Getenv("CANOPY_TEST_S3_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("CANOPY_TEST_S3_SECRET_KEY"), "AWS_REGION=us-east-1"}
	cloudID := randName("e2e-cloud-")
	t.Cleanup(func() { // remove the receiver's persistent sessions from Mosquitto
		for _, id := range []string{cloudID, cloudID + "-compat"} {
			c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq).SetClientID(id).SetCleanSession(true))
			if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				c.Disconnect(50)
			}
		}
	})
	cloudArgs := []string{"serve", "--broker", mq, "--s3-endpoint", s3cfg.Endpoint, "--s3-path-style", "--s3-bucket-prefix", s3cfg.Prefix,
		"--database-url", dbURL, "--http", httpAddr, "--topic-root", root, "--share-group", randName("g"),
		"--client-id", cloudID, "--compat-topic", "", "--data", t.TempDir(), "--auth=off"}
	cloud := start(t, env, filepath.Join(bin, "canopy-cloud"), cloudArgs...)
	waitReady(t, httpAddr, cloud)
	// Receipts on: the agent deletes an item only on an ack signed by this
	// cloud (Mosquitto here is anonymous; identity is the embedded
	// broker's and broker-config's business).
	cred := register(t, bin, device, "--database-url", dbURL)

	agent := start(t, nil, filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", agentConfig(t, root),
		"--source", src, "--data", t.TempDir(), "--broker", mq, "--device", device, "--segmenter", "classical",
		"--cloud-key", cred.CloudKey)

	// Kill the cloud once some, not all, items are in.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if got, _ := stored(httpAddr, device); got >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no items stored within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cloud.cmd.Process.Signal(syscall.SIGKILL)
	cloud.cmd.Wait()
	t.Log("cloud killed")
	time.Sleep(500 * time.Millisecond)
	cloud = start(t, env, filepath.Join(bin, "canopy-cloud"), cloudArgs...)
	waitReady(t, httpAddr, cloud)

	if err := wait(t, agent, 180*time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, tail(agent.log.String(), 3000))
	}
	if !strings.Contains(agent.log.String(), "outbox drained") {
		t.Errorf("agent log does not say the outbox drained")
	}
	got, sources := stored(httpAddr, device)
	seen := map[string]int{}
	for _, s := range sources {
		seen[s]++
	}
	if got != n || len(seen) != n {
		t.Errorf("rows: got %d (%d distinct sources), want %d", got, len(seen), n)
	}
	keys, err := store.List(context.Background(), blob.Raw, device+"/")
	if err != nil {
		t.Fatal(err)
	}
	images := 0
	for _, k := range keys {
		if strings.HasPrefix(filepath.Base(k), "image.") {
			images++
		}
	}
	if images != n {
		t.Errorf("image objects: got %d, want %d", images, n)
	}
	cloud.cmd.Process.Signal(os.Interrupt)
	if err := wait(t, cloud, 20*time.Second); err != nil {
		t.Errorf("cloud stop: %v", err)
	}
}

// TestEmbeddedDefaults: canopy-cloud serve with no configuration, the
// agent pointed at its embedded broker.
func TestEmbeddedDefaults(t *testing.T) {
	bin := binDir(t)
	const n = 5
	src := frames(t, n)
	httpAddr, mqttAddr, data := e2etest.FreeAddr(t), e2etest.FreeAddr(t), t.TempDir()
	cred := register(t, bin, "emb", "--data", data)
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", data, "--http", httpAddr, "--mqtt-listen", mqttAddr, "--auth=off")
	waitReady(t, httpAddr, cloud)
	agent := start(t, cred.env(), filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", agentConfig(t, "canopy"),
		"--source", src, "--data", t.TempDir(), "--broker", "tcp://"+mqttAddr, "--device", "emb", "--segmenter", "classical",
		"--cloud-key", cred.CloudKey)
	if err := wait(t, agent, 60*time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, tail(agent.log.String(), 3000))
	}
	if got, _ := stored(httpAddr, "emb"); got != n {
		t.Errorf("rows: got %d, want %d", got, n)
	}
	cloud.cmd.Process.Signal(os.Interrupt)
	if err := wait(t, cloud, 20*time.Second); err != nil {
		t.Errorf("cloud stop: %v", err)
	}
}
