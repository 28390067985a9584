//go:build opencv

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestTokensOverHTTP: tokens made, listed and revoked with the built
// canopy-cloud while it serves, and used against its HTTP API: a token bound
// to a device uploads for that device only, an unbound write token only
// images that name no device; a revoked and an expired token get 401 with
// a reason, and the cloud logs the refusal.
func TestTokensOverHTTP(t *testing.T) {
	cloudBin := e2etest.Bin(t, "canopy-cloud")
	data := t.TempDir()
	tok := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		cmd := exec.Command(cloudBin, append(append([]string{"token"}, args...), "--data", data)...)
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("canopy-cloud token %q: %v\n%s", args, err, e.String())
		}
		return strings.TrimSpace(o.String())
	}
	pi := tok("create", "--scope", "write", "--name", "pi-07", "--device", "pi-07", "--expires", "90d")
	ci := tok("create", "--scope", "write", "--name", "ci")
	// Expires while the test runs (the receiver takes longer than this to
	// start); a later request is checked until it is refused.
	brief := tok("create", "--scope", "read", "--name", "brief", "--expires", "2s")

	httpAddr := e2etest.FreeAddr(t)
	cloud := start(t, nil, cloudBin, "serve", "--data", data, "--http", httpAddr, "--mqtt-listen", e2etest.FreeAddr(t), "--workers", "0")
	waitReady(t, httpAddr, cloud)
	base := "http://" + httpAddr

	upload := func(token, meta string) (int, string) {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		iw, _ := mw.CreateFormFile("image", "tile.png")
		if err := png.Encode(iw, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
			t.Fatal(err)
		}
		mw.WriteField("metadata", meta)
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/v1/images", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		return do(t, req)
	}
	get := func(token, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return do(t, req)
	}

	cases := []struct {
		name, token, meta string
		status            int
		msg               string
	}{
		{"device token, its device", pi, `{"scan_id":"s1","device":"pi-07"}`, 202, ""},
		{"device token, no device", pi, `{"scan_id":"s1"}`, 202, ""},
		{"device token, another device", pi, `{"scan_id":"s1","device":"pi-08"}`, 403, `bound to device \"pi-07\"`},
		{"unbound token, a device", ci, `{"scan_id":"s1","device":"pi-07"}`, 403, "bound to no device"},
		{"unbound token, no device", ci, `{"scan_id":"s1"}`, 202, ""},
	}
	for _, c := range cases {
		if code, body := upload(c.token, c.meta); code != c.status || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.status, c.msg)
		}
	}
	var list struct {
		Images []struct {
			Device string `json:"device"`
		} `json:"images"`
	}
	code, body := get(ci, "/v1/images?scan_id=s1")
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("list: %d %s", code, body)
	}
	devices := map[string]int{}
	for _, i := range list.Images {
		devices[i.Device]++
	}
	if devices["pi-07"] != 2 || devices[""] != 1 || len(list.Images) != 3 {
		t.Errorf("stored images by device %v, want pi-07: 2, none: 1", devices)
	}
	if code, _ := get(pi, "/v1/devices"); code != 200 {
		t.Errorf("device token reads /v1/devices: %d, want 200", code)
	}

	// Revoked while the receiver runs: refused from the next request on.
	tok("revoke", "pi-07")
	if code, body := upload(pi, `{"scan_id":"s1","device":"pi-07"}`); code != 401 || !strings.Contains(body, "was revoked at") {
		t.Errorf("revoked token: %d %s, want 401 'was revoked at'", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := get(brief, "/v1/images")
		if code == 401 && strings.Contains(body, "expired at") {
			break
		}
		if code != 200 || time.Now().After(deadline) {
			t.Fatalf("token past its expiry: %d %s, want 401 'expired at'", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The cloud's log reaches the test through a pipe: give it a moment.
	var log string
	for _, want := range []string{"reason=revoked", "reason=expired", "upload refused"} {
		deadline := time.Now().Add(5 * time.Second)
		for log = cloud.log.String(); !strings.Contains(log, want) && time.Now().Before(deadline); log = cloud.log.String() {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(log, want) {
			t.Errorf("cloud log lacks %q:\n%s", want, tail(log, 3000))
		}
	}
	for _, secret := range []string{pi, ci, brief} {
		if strings.Contains(log, secret) {
			t.Error("a token's secret is in the cloud log")
		}
	}

	var views []struct {
		Name       string     `json:"name"`
		State      string     `json:"state"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
	if err := json.Unmarshal([]byte(tok("list", "--json")), &views); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pi-07": "revoked", "ci": "active", "brief": "expired"}
	for _, v := range views {
		if v.State != want[v.Name] {
			t.Errorf("token %s listed %s, want %s", v.Name, v.State, want[v.Name])
		}
		if v.Name != "brief" && v.LastUsedAt == nil { // brief may have expired before the receiver was ready
			t.Errorf("token %s listed with no last use", v.Name)
		}
	}
	if len(views) != 3 {
		t.Errorf("token list: %d tokens, want 3", len(views))
	}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
