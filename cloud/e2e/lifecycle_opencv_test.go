//go:build opencv

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// uploadPNG posts frame (a PNG file) as an image of device in scan and
// returns its item id.
func uploadPNG(t *testing.T, base, frame, device, scan string) string {
	t.Helper()
	return upload(t, base, frame, map[string]string{"scan_id": scan, "device": device, "address_id": "farm"})
}

// run runs canopy-cloud with args and returns its standard output.
func run(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("canopy-cloud %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func getBytes(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// stop stops serve (SIGTERM) and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := wait(t, p, 20*time.Second); err != nil {
		t.Fatalf("serve did not stop: %v", err)
	}
}

// clean is what reconcile prints when it finds nothing.
const clean = "reconcile: 0 linked, 0 deleted, 0 orphans left, 0 missing objects"

// TestBackupRestoreServes: a backup taken while serving, restored into a
// new database and blob store, serves the same scan and the same raw
// bytes, and reconcile finds nothing: SQLite and the blob folder, and
// PostgreSQL and S3.
func TestBackupRestoreServes(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) (args, env []string)
	}{
		{"sqlite+folder", func(t *testing.T) ([]string, []string) { return []string{"--data", t.TempDir()}, nil }},
		{"postgres+s3", func(t *testing.T) ([]string, []string) {
			u, c := dbtest.PostgresURL(t), blobtest.S3Config(t)
			blobtest.S3With(t, c) // its buckets, removed at the end
			return []string{"--data", t.TempDir(), "--database-url", u, "--s3-endpoint", c.Endpoint, "--s3-path-style", "--s3-bucket-prefix", c.Prefix},
				[]string{"AWS_ACCESS_KEY_ID=" + c.AccessKey, "AWS_SECRET_ACCESS_KEY=" + c.SecretKey, "AWS_REGION=us-east-1"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, env := tc.store(t)
			httpAddr := e2etest.FreeAddr(t)
			serveArgs := func(store []string, addr string) []string {
				return append([]string{"serve", "--http", addr, "--mqtt-listen", e2etest.FreeAddr(t), "--auth=off", "--method", "classical"}, store...)
			}
			cloud := start(t, env, bin, serveArgs(from, httpAddr)...)
			waitReady(t, httpAddr, cloud)
			base := "http://" + httpAddr
			fr := frames(t, 2)
			ids := []string{uploadPNG(t, base, filepath.Join(fr, "frame_000.png"), "cam-1", "s"), uploadPNG(t, base, filepath.Join(fr, "frame_001.png"), "cam-1", "s")}
			for _, id := range ids {
				counted(t, base, id)
			}
			var want api.ScanView
			getJSON(t, base+"/v1/scans/s", &want)
			_, wantRaw := getBytes(t, base+"/v1/images/"+ids[0]+"/raw")
			dir := t.TempDir()
			if out := run(t, bin, env, append([]string{"backup", "--out", dir}, from...)...); !strings.Contains(out, "4 raw, 4 processed objects") { // while serving
				t.Errorf("backup: %s; want 2 images and 2 meta.json, 2 annotated images and 2 masks", out)
			}
			cloud.stop(t)

			to, _ := tc.store(t)
			run(t, bin, env, append([]string{"restore", "--from", dir}, to...)...)
			httpAddr = e2etest.FreeAddr(t)
			restored := start(t, env, bin, serveArgs(to, httpAddr)...)
			waitReady(t, httpAddr, restored)
			base = "http://" + httpAddr
			var got api.ScanView
			getJSON(t, base+"/v1/scans/s", &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("restored scan:\n got %+v\nwant %+v", got, want)
			}
			if code, raw := getBytes(t, base+"/v1/images/"+ids[0]+"/raw"); code != 200 || !bytes.Equal(raw, wantRaw) {
				t.Errorf("restored raw image: %d, %d bytes; want the %d bytes served before", code, len(raw), len(wantRaw))
			}
			if out := run(t, bin, env, append([]string{"reconcile", "--dry-run"}, to...)...); !strings.Contains(out, clean) {
				t.Errorf("reconcile after the restore:\n%s", out)
			}
		})
	}
}

// TestLettingGo: recount a scan with the shipped model (each image keeps
// both counts), serve --retain-raw deletes the raw images and keeps the
// rest, device purge deletes one device's everything; reconcile finds
// nothing after each.
func TestLettingGo(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	data := t.TempDir()
	store := []string{"--data", data}
	serve := func(extra ...string) (*proc, string) {
		addr := e2etest.FreeAddr(t)
		p := start(t, nil, bin, append([]string{"serve", "--data", data, "--http", addr, "--mqtt-listen", e2etest.FreeAddr(t), "--auth=off", "--method", "classical"}, extra...)...)
		waitReady(t, addr, p)
		return p, "http://" + addr
	}
	cloud, base := serve()
	fr := frames(t, 3)
	ids := []string{
		uploadPNG(t, base, filepath.Join(fr, "frame_000.png"), "cam-1", "north"),
		uploadPNG(t, base, filepath.Join(fr, "frame_001.png"), "cam-1", "north"),
		uploadPNG(t, base, filepath.Join(fr, "frame_002.png"), "cam-2", "south"),
	}
	for _, id := range ids {
		counted(t, base, id)
	}

	// Recount scan north with the shipped detector: the workers fetch it
	// from the blob store.
	model := filepath.Join("..", "..", "models", "crown-detector.onnx")
	var rc struct {
		ModelSHA256 string `json:"model_sha256"`
		db.Recounted
	}
	if err := json.Unmarshal([]byte(run(t, bin, nil, append([]string{"recount", "--scan", "north", "--model", model, "--json"}, store...)...)), &rc); err != nil ||
		rc.Queued != 2 || len(rc.ModelSHA256) != 64 {
		t.Fatalf("recount: %+v, %v", rc, err)
	}
	for _, id := range ids[:2] {
		deadline := time.Now().Add(time.Minute)
		for {
			var cl api.CountList
			getJSON(t, base+"/v1/images/"+id+"/counts", &cl)
			if len(cl.Counts) == 2 {
				if cl.Counts[0].ModelSHA256 != rc.ModelSHA256 || cl.Counts[0].Method != "learned" || cl.Counts[1].Method != "classical" {
					t.Errorf("counts of %s: %+v", id, cl.Counts)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not recounted: %+v", id, cl.Counts)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	var old db.Image
	getJSON(t, base+"/v1/images/"+ids[0]+"?model=classical", &old)
	if old.Count == nil || old.Count.Method != "classical" {
		t.Errorf("?model=classical: %+v", old.Count)
	}
	if out := run(t, bin, nil, append([]string{"reconcile", "--dry-run"}, store...)...); !strings.Contains(out, clean) {
		t.Errorf("reconcile after the recount:\n%s", out)
	}
	cloud.stop(t)

	// Raw images are let go after a second.
	cloud, base = serve("--retain-raw", "1s")
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			var img db.Image
			getJSON(t, base+"/v1/images/"+id, &img)
			if !img.RawDeletedAt.IsZero() {
				if img.Count == nil {
					t.Errorf("%s lost its count", id)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: raw image not deleted", id)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, _ := getBytes(t, base+"/v1/images/"+id+"/raw"); code != http.StatusGone {
			t.Errorf("raw of %s: %d, want 410", id, code)
		}
		if code, _ := getBytes(t, base+"/v1/images/"+id+"/annotated"); code != 200 {
			t.Errorf("annotated of %s: %d, want 200", id, code)
		}
	}
	cloud.stop(t)
	if out := run(t, bin, nil, append([]string{"reconcile", "--dry-run"}, store...)...); !strings.Contains(out, clean) {
		t.Errorf("reconcile after retention:\n%s", out)
	}

	// Purge cam-1: refused without the confirmation, then everything goes.
	cmd := exec.Command(bin, append([]string{"device", "purge", "cam-1"}, store...)...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes-delete-everything") {
		t.Errorf("purge without confirmation: %v %s", err, out)
	}
	out := run(t, bin, nil, append([]string{"device", "purge", "cam-1", "--yes-delete-everything"}, store...)...)
	if !strings.Contains(out, "2 images") {
		t.Errorf("purge: %s", out)
	}
	if out := run(t, bin, nil, append([]string{"reconcile", "--dry-run"}, store...)...); !strings.Contains(out, clean) {
		t.Errorf("reconcile after the purge:\n%s", out)
	}
	for _, b := range []string{"raw", "processed"} {
		if ents, err := os.ReadDir(filepath.Join(data, "blobs", b, "cam-1")); err == nil && len(ents) > 0 {
			t.Errorf("%s/cam-1 still holds %d entries", b, len(ents))
		}
	}
	cloud, base = serve()
	var list api.ScanList
	getJSON(t, base+"/v1/scans", &list)
	if len(list.Scans) != 1 || list.Scans[0].ScanID != "south" {
		t.Errorf("scans after the purge: %+v", list.Scans)
	}
	cloud.stop(t)
}
