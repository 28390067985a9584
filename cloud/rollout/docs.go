package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// artifact is r's model (nil without one).
func (s *Service) artifact(ctx context.Context, r db.Rollout) (*db.Artifact, error) {
	if r.ModelSHA256 == "" {
		return nil, nil
	}
	a, err := s.DB.GetArtifact(ctx, r.ModelSHA256)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// changed is dev's next desired document with r's change: its current
// document (the rest of its desired state stays), r's model and r's
// config overrides merged into its own.
func (s *Service) changed(dev string, cur *db.DesiredDoc, r db.Rollout, a *db.Artifact) (db.DesiredDoc, error) {
	d, err := current(dev, cur)
	if err != nil {
		return db.DesiredDoc{}, err
	}
	d.Rollout = r.ID
	if a != nil {
		d.Model = &wire.ModelRef{SHA256: a.SHA256, Size: a.Size, ChunkSize: a.ChunkSize, Name: a.Name}
	}
	if r.Config != "" {
		merged, err := mergeJSON(d.Config, json.RawMessage(r.Config))
		if err != nil {
			return db.DesiredDoc{}, err
		}
		d.Config = merged
	}
	return s.sign(d)
}

// restored is dev's next desired document with the content of before (its
// document before a rollout; "" for none: the device's own settings).
func (s *Service) restored(dev string, cur *db.DesiredDoc, before string) (db.DesiredDoc, error) {
	d, err := current(dev, cur)
	if err != nil {
		return db.DesiredDoc{}, err
	}
	v := d.Version
	d = wire.Desired{}
	if before != "" {
		if err := json.Unmarshal([]byte(before), &d); err != nil {
			return db.DesiredDoc{}, fmt.Errorf("document before the rollout: %w", err)
		}
	}
	d.Device, d.Version = dev, v
	return s.sign(d)
}

// current is dev's current document with the next version, or a new one
// at version 1.
func current(dev string, cur *db.DesiredDoc) (wire.Desired, error) {
	d := wire.Desired{Device: dev}
	if cur != nil {
		if err := json.Unmarshal([]byte(cur.Doc), &d); err != nil {
			return d, fmt.Errorf("current desired document: %w", err)
		}
		d.Version = cur.Version
	}
	d.Version++
	return d, nil
}

// sign stamps, signs and encodes d.
func (s *Service) sign(d wire.Desired) (db.DesiredDoc, error) {
	d.Issued = time.Now().UTC().Truncate(time.Second)
	payload, err := wire.SignDesired(s.Key, d)
	if err != nil {
		return db.DesiredDoc{}, err
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return db.DesiredDoc{}, err
	}
	return db.DesiredDoc{Device: d.Device, Version: d.Version, Doc: string(doc), Payload: string(payload), Rollout: d.Rollout}, nil
}

// mergeJSON merges the object patch into base: keys of patch win, objects
// are merged key by key (RFC 7386 without deletions).
func mergeJSON(base, patch json.RawMessage) (json.RawMessage, error) {
	var b, p map[string]any
	if len(base) > 0 {
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, fmt.Errorf("config overrides: %w", err)
	}
	out, err := json.Marshal(merge(b, p))
	return out, err
}

func merge(b, p map[string]any) map[string]any {
	if b == nil {
		b = map[string]any{}
	}
	for k, v := range p {
		bv, bok := b[k].(map[string]any)
		pv, pok := v.(map[string]any)
		if bok && pok {
			b[k] = merge(bv, pv)
		} else {
			b[k] = v
		}
	}
	return b
}
