package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// DeviceStates is what the device endpoints need of desired state; the
// Store has it when it is a *db.DB (without it they show none).
type DeviceStates interface {
	DeviceStates(ctx context.Context) (map[string]db.DeviceState, error)
}

// How a device stands against its desired document (DeviceView.Sync).
const (
	SyncNone    = "none"    // no desired document
	SyncCurrent = "current" // it runs the desired version (or a newer one)
	SyncBehind  = "behind"  // it has not applied the desired version yet
	SyncFailed  = "failed"  // it refused or rolled back the desired version
)

// DeviceView is a device in GET /v1/devices and GET /v1/devices/{id}:
// its status, its desired document and what it reports it runs, side by
// side.
type DeviceView struct {
	db.Device
	Desired  DesiredView `json:"desired"`
	Reported db.Reported `json:"reported"`
	Sync     string      `json:"desired_sync"`
}

// DesiredView is a device's desired document in a DeviceView.
type DesiredView struct {
	Version     int64           `json:"version"`
	ModelSHA256 string          `json:"model_sha256"`
	Config      json.RawMessage `json:"config,omitempty"`
	Rollout     string          `json:"rollout,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at,omitzero"`
}

// DeviceList is the body of GET /v1/devices.
type DeviceList struct {
	Devices []DeviceView `json:"devices"`
}

// deviceViews returns every device with its desired and reported state:
// the devices that reported, and those that only have a desired document.
func (s *Server) deviceViews(ctx context.Context) ([]DeviceView, error) {
	ds, err := s.v1.Store.ListDevices(ctx)
	if err != nil {
		return nil, err
	}
	states := map[string]db.DeviceState{}
	if st, ok := s.v1.Store.(DeviceStates); ok {
		if states, err = st.DeviceStates(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]DeviceView, 0, len(ds))
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.ID] = true
		out = append(out, deviceView(d, states[d.ID]))
	}
	for id, st := range states {
		if !seen[id] {
			out = append(out, deviceView(db.Device{ID: id}, st))
		}
	}
	slices.SortFunc(out, func(a, b DeviceView) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func deviceView(d db.Device, st db.DeviceState) DeviceView {
	v := DeviceView{Device: d, Sync: SyncNone}
	if p := st.Reported; p != nil {
		v.Reported = *p
	}
	if x := st.Desired; x != nil {
		var doc struct {
			Config json.RawMessage `json:"config"`
			Model  *struct {
				SHA256 string `json:"sha256"`
			} `json:"model"`
		}
		_ = json.Unmarshal([]byte(x.Doc), &doc)
		v.Desired = DesiredView{Version: x.Version, Config: doc.Config, Rollout: x.Rollout, UpdatedAt: x.UpdatedAt}
		if doc.Model != nil {
			v.Desired.ModelSHA256 = doc.Model.SHA256
		}
		switch {
		case v.Reported.Version >= x.Version:
			v.Sync = SyncCurrent
		case v.Reported.FailedVersion >= x.Version:
			v.Sync = SyncFailed
		default:
			v.Sync = SyncBehind
		}
	}
	return v
}

// listDevices: GET /v1/devices, last seen, online, outbox depth, and the
// desired and reported state.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	vs, err := s.deviceViews(r.Context())
	if err != nil {
		s.log.Error("list devices", "err", err)
		writeError(w, http.StatusInternalServerError, "list devices failed")
		return
	}
	writeJSON(w, http.StatusOK, DeviceList{Devices: vs})
}

// getDevice: GET /v1/devices/{id}, one device.
func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	vs, err := s.deviceViews(r.Context())
	if err != nil {
		s.log.Error("get device", "device", id, "err", err)
		writeError(w, http.StatusInternalServerError, "get device failed")
		return
	}
	for _, v := range vs {
		if v.ID == id {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeError(w, http.StatusNotFound, "device "+id+" not found")
}
