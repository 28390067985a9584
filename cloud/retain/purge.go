package retain

import (
	"context"
	"errors"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// PurgeRows is what PurgeDevice needs of the database (db.DB has it).
type PurgeRows interface {
	RevokeCredential(ctx context.Context, username string) error
	EachDeviceObjectRef(ctx context.Context, device string, fn func(db.ObjectRef) error) error
	PurgeDevice(ctx context.Context, device string) (db.Purged, error)
	ModelInUse(ctx context.Context, sha256 string) (bool, error)
}

// PurgeBlobs is what PurgeDevice needs of a blob store.
type PurgeBlobs interface {
	Deleter
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// Purged says what PurgeDevice deleted.
type Purged struct {
	Objects int `json:"objects"` // in both buckets
	db.Purged
}

// PurgeDevice deletes every object and row of a device: first it revokes
// its identity (a device still connected is refused from then on), then
// it deletes the objects its rows name and every object under its key
// prefix (<device>/) in both buckets, then its rows (db.PurgeDevice), then
// the recount models (blob.ModelKey) that no row names any more.
// Run again after a failure, it finishes the work; purging a device with
// nothing left is not an error.
func PurgeDevice(ctx context.Context, rows PurgeRows, blobs PurgeBlobs, device string) (Purged, error) {
	if err := db.ValidDevice(device); err != nil {
		return Purged{}, fmt.Errorf("purge device: %w", err)
	}
	if err := rows.RevokeCredential(ctx, device); err != nil && !errors.Is(err, db.ErrNotFound) {
		return Purged{}, fmt.Errorf("purge device %s: revoke: %w", device, err)
	}
	keys := map[[2]string]bool{}
	if err := rows.EachDeviceObjectRef(ctx, device, func(r db.ObjectRef) error {
		keys[[2]string{r.Bucket, r.Key}] = true
		return nil
	}); err != nil {
		return Purged{}, fmt.Errorf("purge device %s: %w", device, err)
	}
	for _, b := range blob.Buckets {
		ks, err := blobs.List(ctx, b, device+"/")
		if err != nil {
			return Purged{}, fmt.Errorf("purge device %s: list %s: %w", device, b, err)
		}
		for _, k := range ks {
			keys[[2]string{b, k}] = true
		}
	}
	var p Purged
	for k := range keys {
		if err := blobs.Delete(ctx, k[0], k[1]); err != nil {
			return p, fmt.Errorf("purge device %s: delete %s/%s: %w", device, k[0], k[1], err)
		}
		p.Objects++
	}
	r, err := rows.PurgeDevice(ctx, device)
	if err != nil {
		return p, err
	}
	p.Purged = r
	// A model that only the device's images were recounted with goes too.
	models, err := blobs.List(ctx, blob.Processed, blob.ModelPrefix)
	if err != nil {
		return p, fmt.Errorf("purge device %s: list models: %w", device, err)
	}
	for _, k := range models {
		sha, ok := blob.ModelSHA(k)
		if !ok {
			continue
		}
		used, err := rows.ModelInUse(ctx, sha)
		if err != nil {
			return p, fmt.Errorf("purge device %s: %w", device, err)
		}
		if !used {
			if err := blobs.Delete(ctx, blob.Processed, k); err != nil {
				return p, fmt.Errorf("purge device %s: delete %s: %w", device, k, err)
			}
			p.Objects++
		}
	}
	return p, nil
}
