package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TestDeviceDesiredAndReported: GET /v1/devices/{id} shows the desired
// document and what the device reports side by side; a rolled-back change
// leaves reported.model_sha256 at the model it runs, with the reason.
func TestDeviceDesiredAndReported(t *testing.T) {
	e := newV1(t, 0)
	ctx := t.Context()
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	if err := e.d.UpdateDevice(ctx, db.DeviceStatus{Device: "pi-1", Online: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.d.CreateRollout(ctx, db.Rollout{ID: "r1", State: db.RolloutRunning, Waves: 1, Canary: 1, HaltThreshold: 1},
		[]db.RolloutTarget{{Device: "pi-1", Wave: 1}, {Device: "pi-2", Wave: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.SendDesired(ctx, "r1", db.WaveMove{To: 1}, db.TargetSent, []string{"pi-1", "pi-2"}, func(dev string, cur *db.DesiredDoc, _ string) (db.DesiredDoc, error) {
		return db.DesiredDoc{Device: dev, Version: 4, Doc: `{"device":"` + dev + `","version":4,"model":{"sha256":"` + b + `"},"config":{"capture":{"fps":2}}}`, Payload: "x", Rollout: "r1"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateReported(ctx, db.Reported{Device: "pi-1", Version: 3, ModelSHA256: a, State: "rolled_back", FailedVersion: 4, LastError: "version 4 failed its check: load model"}); err != nil {
		t.Fatal(err)
	}
	w := e.do(t, "GET", "/v1/devices/pi-1", e.read, nil, "")
	if w.Code != 200 {
		t.Fatalf("GET /v1/devices/pi-1: %d %s", w.Code, w.Body)
	}
	var v struct {
		ID      string `json:"id"`
		Online  bool   `json:"online"`
		Desired struct {
			Version     int64           `json:"version"`
			ModelSHA256 string          `json:"model_sha256"`
			Config      json.RawMessage `json:"config"`
			Rollout     string          `json:"rollout"`
		} `json:"desired"`
		Reported struct {
			Version     int64  `json:"version"`
			ModelSHA256 string `json:"model_sha256"`
			LastError   string `json:"last_error"`
		} `json:"reported"`
		Sync string `json:"desired_sync"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != "pi-1" || !v.Online || v.Desired.Version != 4 || v.Desired.ModelSHA256 != b || v.Desired.Rollout != "r1" ||
		compact(v.Desired.Config) != `{"capture":{"fps":2}}` || v.Reported.ModelSHA256 != a || !strings.Contains(v.Reported.LastError, "failed its check") || v.Sync != SyncFailed {
		t.Errorf("GET /v1/devices/pi-1 = %s", w.Body)
	}
	// A device that has a desired document and has not reported yet.
	w = e.do(t, "GET", "/v1/devices", e.read, nil, "")
	var list struct {
		Devices []struct {
			ID       string          `json:"id"`
			Desired  map[string]any  `json:"desired"`
			Reported map[string]any  `json:"reported"`
			Sync     string          `json:"desired_sync"`
			Raw      json.RawMessage `json:"-"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Devices) != 2 {
		t.Fatalf("GET /v1/devices = %s, %v", w.Body, err)
	}
	d2 := list.Devices[1]
	if d2.ID != "pi-2" || d2.Sync != SyncBehind || d2.Desired["model_sha256"] != b || d2.Reported["model_sha256"] != "" {
		t.Errorf("pi-2: %+v", d2)
	}
	if w := e.do(t, "GET", "/v1/devices/pi-9", e.read, nil, ""); w.Code != 404 {
		t.Errorf("an unknown device: %d", w.Code)
	}
}

func compact(b []byte) string {
	var out bytes.Buffer
	_ = json.Compact(&out, b)
	return out.String()
}
