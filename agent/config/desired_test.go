package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApplyOverrides(t *testing.T) {
	base := Default()
	base.Device, base.Sync.CloudKey = "pi-1", "ed25519:hPSdqn4Y2cAzGtiCq8oeOPDMzXAO7ya3ZLlrtMkKh5E="
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string // "" = applies
		check   func(Config) bool
	}{
		{"none", ``, "", func(c Config) bool { return c.Select.MinShare == base.Select.MinShare }},
		{"threshold and fps", `{"select":{"min_share":0.25},"capture":{"fps":2}}`, "", func(c Config) bool {
			return c.Select.MinShare == 0.25 && c.Capture.FPS == 2 && c.Select.Duplicates == base.Select.Duplicates
		}},
		{"duration", `{"select":{"min_interval":"3s"}}`, "", func(c Config) bool { return c.Select.MinInterval.D() == 3*time.Second }},
		{"broker", `{"sync":{"broker":"tcp://10.0.0.2:1883"}}`, "", func(c Config) bool {
			return c.Sync.Broker == "tcp://10.0.0.2:1883" && c.Sync.CloudKey == base.Sync.CloudKey
		}},
		{"unknown key", `{"select":{"min_shar":0.25}}`, "not found", nil},
		{"wrong type", `{"capture":{"fps":"fast"}}`, "cannot unmarshal", nil},
		{"invalid value", `{"encode":{"jpeg_quality":0}}`, "jpeg_quality", nil},
		{"device", `{"device":"pi-2"}`, "device", nil},
		{"cloud key", `{"sync":{"cloud_key":"ed25519:AAAA"}}`, "sync.cloud_key", nil},
		{"cloud key cleared", `{"sync":{"cloud_key":null}}`, "sync.cloud_key", nil},
		{"sync section cleared", `{"sync":null}`, "sync", nil},
		{"model file", `{"segmenter":{"model":"/tmp/x.onnx"}}`, "segmenter.model", nil},
		{"desired mode", `{"desired":{"mode":"off"}}`, "desired.mode", nil},
		{"not an object", `[1]`, "not a JSON object", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			err := ApplyOverrides(&c, json.RawMessage(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ApplyOverrides(%s): %v", tc.in, err)
				}
				if !tc.check(c) {
					t.Errorf("ApplyOverrides(%s) gave %+v", tc.in, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ApplyOverrides(%s) = %v, want an error about %q", tc.in, err, tc.wantErr)
			}
			if c.Select != base.Select || c.Sync != base.Sync || c.Device != base.Device || c.Encode != base.Encode {
				t.Errorf("a refused override changed the config")
			}
		})
	}
	c := base
	if err := ApplyOverrides(&c, json.RawMessage(`{"data":"/tmp"}`)); !errors.Is(err, ErrLocalOnly) {
		t.Errorf("data: %v, want ErrLocalOnly", err)
	}
}
