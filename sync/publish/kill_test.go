package publish_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Environment of the child process of TestKill.
const (
	envChild  = "CANOPY_PUBLISH_CHILD"
	envBroker = "CANOPY_PUBLISH_CHILD_BROKER"
	envRoot   = "CANOPY_PUBLISH_CHILD_ROOT"
	envDevice = "CANOPY_PUBLISH_CHILD_DEVICE"
	envPhotos = "CANOPY_PUBLISH_CHILD_PHOTOS"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChild); dir != "" {
		if err := child(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is the agent of TestKill: it takes the photos of a folder in name
// order, puts each in the outbox with the folder cursor in the same
// transaction, resumes after the cursor on start, publishes, and exits once
// every photo is put and acknowledged. It prints "put NAME ID" after each
// confirmed Put.
func child(dir string) error {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer ob.Close()
	device := os.Getenv(envDevice)
	cfg := testConfig(os.Getenv(envBroker), os.Getenv(envRoot), device)
	cfg.AckTimeout = 2 * time.Second
	p, err := publish.New(cfg, ob, nil)
	if err != nil {
		return err
	}
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(ctx) }()

	photos := os.Getenv(envPhotos)
	entries, err := os.ReadDir(photos)
	if err != nil {
		return err
	}
	after, err := ob.Cursor("folder")
	if err != nil {
		return err
	}
	for i, e := range entries { // ReadDir sorts by name
		if e.Name() <= after {
			continue
		}
		data, err := os.ReadFile(filepath.Join(photos, e.Name()))
		if err != nil {
			return err
		}
		id, err := ids.New(time.Now())
		if err != nil {
			return err
		}
		it := wire.Item{
			Meta:  wire.Meta{ItemID: id, Device: device, Seq: uint64(i + 1), CapturedAt: time.Now().UTC(), Segmenter: "test", Source: e.Name()},
			Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg", Data: data}},
		}
		if err := ob.Put(ctx, it, outbox.Cursor{Source: "folder", Position: e.Name()}); err != nil {
			return err
		}
		fmt.Printf("put %s %s\n", e.Name(), id)
		time.Sleep(3 * time.Millisecond)
	}
	for {
		ok, err := p.Drained()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("drained")
	cancel()
	return <-runDone
}

// TestKill kills the agent (a child process) with SIGKILL again and again
// while it puts and publishes: nothing that Put confirmed is lost, and no
// photo of the folder is skipped or repeated.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	b := testreceiver.StartBroker(t)
	root, device := uniq("kill"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	dir, photos := t.TempDir(), t.TempDir()
	const nPhotos = 300
	for i := range nPhotos {
		data := make([]byte, 4000+i*50)
		_, _ = rand.Read(data)
		if err := os.WriteFile(filepath.Join(photos, fmt.Sprintf("DJI_%04d.JPG", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu        sync.Mutex
		confirmed = map[string]string{} // photo -> item id, from "put" lines
	)
	run := func(kill time.Duration) (exited bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+dir, envBroker+"="+b.URL(), envRoot+"="+root,
			envDevice+"="+device, envPhotos+"="+photos)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		read := make(chan struct{})
		go func() {
			defer close(read)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == "put" {
					mu.Lock()
					if prev, ok := confirmed[f[1]]; ok {
						t.Errorf("photo %s put twice: %s and %s", f[1], prev, f[2])
					}
					confirmed[f[1]] = f[2]
					mu.Unlock()
				}
			}
		}()
		var timer <-chan time.Time
		if kill > 0 {
			timer = time.After(kill)
		} else {
			timer = time.After(60 * time.Second)
		}
		done := make(chan error, 1)
		go func() { <-read; done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			return true
		case <-timer:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			if kill == 0 {
				t.Fatalf("child did not drain within 60s")
			}
			return false
		}
	}
	kills := 0
	for range 10 {
		n, _ := rand.Int(rand.Reader, big.NewInt(400))
		if run(time.Duration(100+n.Int64()) * time.Millisecond) {
			break
		}
		kills++
	}
	run(0) // to the end
	mu.Lock()
	defer mu.Unlock()

	// Every photo is in the acknowledged set exactly once, under the item
	// id its confirmed Put printed.
	bySource := map[string][]string{}
	for _, id := range rc.Order() {
		it, _ := rc.Item(id)
		bySource[it.Meta.Source] = append(bySource[it.Meta.Source], id)
	}
	ob := openOutbox(t, dir)
	left, err := ob.Next("", nPhotos*2)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d items left in the outbox after the final run drained it", len(left))
	}
	var missing, repeated, lost []string
	for i := range nPhotos {
		name := fmt.Sprintf("DJI_%04d.JPG", i)
		switch got := bySource[name]; {
		case len(got) == 0:
			missing = append(missing, name)
		case len(got) > 1:
			repeated = append(repeated, name)
		}
		if id, ok := confirmed[name]; ok && !slices.Contains(bySource[name], id) {
			lost = append(lost, name)
		}
	}
	if len(missing)+len(repeated)+len(lost) > 0 {
		t.Errorf("photos missing %v, repeated %v, confirmed but lost %v", missing, repeated, lost)
	}
	t.Logf("fault sigkill: %d kills, %d photos, %d confirmed puts seen on stdout, %d stored once each, %d deliveries (duplicates %d)",
		kills, nPhotos, len(confirmed), rc.Len(), rc.Deliveries(), rc.Deliveries()-rc.Len())
}
