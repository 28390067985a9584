package ingest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// metaVersion is the version of the meta.json object format.
const metaVersion = 1

// metaObject is the meta.json object stored beside an item's image: enough
// to recreate the item's row (Reconcile does) if the row was never written.
type metaObject struct {
	Version       int       `json:"version"`
	ItemID        string    `json:"item_id"`
	Device        string    `json:"device"`
	Seq           uint64    `json:"seq"`
	CapturedAt    time.Time `json:"captured_at"`
	ClockSynced   bool      `json:"clock_synced"`
	Lat           *float64  `json:"lat,omitempty"`
	Lon           *float64  `json:"lon,omitempty"`
	Width         int       `json:"width"`
	Height        int       `json:"height"`
	ForestShare   float64   `json:"forest_share"`
	Segmenter     string    `json:"segmenter,omitempty"`
	Model         string    `json:"model,omitempty"`
	ModelSHA256   string    `json:"model_sha256,omitempty"`
	ScanID        string    `json:"scan_id,omitempty"`
	AddressID     string    `json:"address_id,omitempty"`
	TreeType      string    `json:"tree_type,omitempty"`
	Source        string    `json:"source,omitempty"`
	Origin        string    `json:"origin"`
	RawKey        string    `json:"raw_key"`         // "" when the device evicted the image
	State         string    `json:"state,omitempty"` // db.StateImageEvicted; "" = stored
	MaskKey       string    `json:"mask_key,omitempty"`
	ContentSHA256 string    `json:"content_sha256"`
	ReceivedAt    time.Time `json:"received_at"`
	db.Ground               // gsd_m, height_m, yaw_deg, gimbal_pitch_deg, georef, geo_note (issue 17)
}

func encodeMeta(img db.Image) ([]byte, error) {
	return json.MarshalIndent(metaObject{
		Version: metaVersion, ItemID: img.ItemID, Device: img.Device, Seq: img.Seq,
		CapturedAt: img.CapturedAt, ClockSynced: img.ClockSynced, Lat: img.Lat, Lon: img.Lon,
		Width: img.Width, Height: img.Height, ForestShare: img.ForestShare,
		Segmenter: img.Segmenter, Model: img.Model, ModelSHA256: img.ModelSHA256,
		ScanID: img.ScanID, AddressID: img.AddressID, TreeType: img.TreeType, Source: img.Source,
		Origin: img.Origin, RawKey: img.RawKey, MaskKey: img.MaskKey,
		ContentSHA256: img.ContentSHA256, ReceivedAt: img.ReceivedAt, State: evictedState(img.State),
		Ground: img.Ground,
	}, "", "  ")
}

// evictedState is the meta.json state of an image in state.
func evictedState(state string) string {
	if state == db.StateImageEvicted {
		return state
	}
	return ""
}

func decodeMeta(b []byte) (db.Image, error) {
	var m metaObject
	if err := json.Unmarshal(b, &m); err != nil {
		return db.Image{}, fmt.Errorf("decode meta.json: %w", err)
	}
	evicted := m.State == db.StateImageEvicted
	if m.Version != metaVersion || m.ItemID == "" || (m.Device == "" && m.Origin == OriginDevice) || (m.RawKey == "" && !evicted) {
		return db.Image{}, fmt.Errorf("decode meta.json: version %d, item %q, device %q, raw key %q: incomplete", m.Version, m.ItemID, m.Device, m.RawKey)
	}
	img := db.Image{
		ItemID: m.ItemID, Device: m.Device, Seq: m.Seq, CapturedAt: m.CapturedAt,
		ClockSynced: m.ClockSynced, Lat: m.Lat, Lon: m.Lon, Width: m.Width, Height: m.Height,
		ForestShare: m.ForestShare, Segmenter: m.Segmenter, Model: m.Model, ModelSHA256: m.ModelSHA256,
		ScanID: m.ScanID, AddressID: m.AddressID, TreeType: m.TreeType, Source: m.Source,
		Origin: m.Origin, RawKey: m.RawKey, MaskKey: m.MaskKey, ContentSHA256: m.ContentSHA256,
		State: db.StateStored, ReceivedAt: m.ReceivedAt, Ground: m.Ground,
	}
	if evicted {
		img.State = db.StateImageEvicted
	}
	return img, nil
}
