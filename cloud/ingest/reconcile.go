package ingest

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// ReconcileBlobs is what Reconcile needs of a blob store.
type ReconcileBlobs interface {
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	Get(ctx context.Context, bucket, key string) ([]byte, string, error)
	Delete(ctx context.Context, bucket, key string) error
}

// ReconcileDB is what Reconcile needs of the database.
type ReconcileDB interface {
	HasRawKey(ctx context.Context, key string) (bool, error)
	HasImage(ctx context.Context, itemID string) (bool, error)
	PutImage(ctx context.Context, img db.Image) (created bool, err error)
}

// ReconcileOptions says what Reconcile may do.
type ReconcileOptions struct {
	Prefix string // only objects under this prefix ("" = all)
	Delete bool   // remove the objects of items that cannot be linked
	DryRun bool   // report only: change nothing
}

// Action is one thing Reconcile did (or would do, in a dry run).
type Action struct {
	Op     string   // "linked", "deleted", "orphan" (left as it is)
	ItemID string   // when known
	Keys   []string // the item's objects
	Detail string
}

// Reconcile finds items in the raw bucket that have objects but no row (the
// receiver stopped between the two writes). An item whose meta.json object
// is there gets its row again (db.PutImage, which also queues its count); the
// others are removed when o.Delete is set and reported otherwise.
//
// Run it while no receiver is storing when o.Delete is set: an item being
// stored at that instant has objects but no meta.json and no row yet.
func Reconcile(ctx context.Context, blobs ReconcileBlobs, images ReconcileDB, o ReconcileOptions) ([]Action, error) {
	keys, err := blobs.List(ctx, blob.Raw, o.Prefix)
	if err != nil {
		return nil, fmt.Errorf("reconcile: list raw objects: %w", err)
	}
	groups := map[string][]string{}
	for _, k := range keys {
		dir := path.Dir(k)
		groups[dir] = append(groups[dir], k)
	}
	dirs := make([]string, 0, len(groups))
	for d := range groups {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)

	var actions []Action
	for _, dir := range dirs {
		objs := groups[dir]
		var imageKey, metaKey string
		for _, k := range objs {
			switch name := path.Base(k); {
			case strings.HasPrefix(name, "image."):
				imageKey = k
			case name == ObjectMeta:
				metaKey = k
			}
		}
		if imageKey != "" {
			ok, err := images.HasRawKey(ctx, imageKey)
			if err != nil {
				return actions, fmt.Errorf("reconcile: look up %s: %w", imageKey, err)
			}
			if ok {
				continue
			}
		} else {
			// No image object: is any key of the group referenced?
			// (A mask or meta left behind by a crash before the image.)
			linked := false
			for _, k := range objs {
				ok, err := images.HasRawKey(ctx, k)
				if err != nil {
					return actions, fmt.Errorf("reconcile: look up %s: %w", k, err)
				}
				linked = linked || ok
			}
			if linked {
				continue
			}
		}
		a := Action{ItemID: path.Base(dir), Keys: objs}
		img, why := linkable(ctx, blobs, imageKey, metaKey)
		if why == "" && img.State == db.StateImageEvicted {
			// An item whose image the device evicted has no image object;
			// its meta.json says so. Linked when its row is there.
			ok, err := images.HasImage(ctx, img.ItemID)
			if err != nil {
				return actions, fmt.Errorf("reconcile: look up %s: %w", img.ItemID, err)
			}
			if ok {
				continue
			}
		}
		switch {
		case why == "":
			a.Op, a.ItemID = "linked", img.ItemID
			if !o.DryRun {
				if _, err := images.PutImage(ctx, img); err != nil {
					return actions, fmt.Errorf("reconcile: link %s: %w", img.ItemID, err)
				}
			}
		case o.Delete:
			a.Op, a.Detail = "deleted", why
			if !o.DryRun {
				for _, k := range objs {
					if err := blobs.Delete(ctx, blob.Raw, k); err != nil {
						return actions, fmt.Errorf("reconcile: delete %s: %w", k, err)
					}
				}
			}
		default:
			a.Op, a.Detail = "orphan", why
		}
		actions = append(actions, a)
	}
	return actions, nil
}

// linkable reads the item's meta.json; why says why it cannot be linked.
func linkable(ctx context.Context, blobs ReconcileBlobs, imageKey, metaKey string) (db.Image, string) {
	if metaKey == "" {
		if imageKey == "" {
			return db.Image{}, "no image object"
		}
		return db.Image{}, "no meta.json object"
	}
	b, _, err := blobs.Get(ctx, blob.Raw, metaKey)
	if err != nil {
		return db.Image{}, fmt.Sprintf("read meta.json: %v", err)
	}
	img, err := decodeMeta(b)
	if err != nil {
		return db.Image{}, err.Error()
	}
	switch {
	case img.State == db.StateImageEvicted && imageKey != "":
		return db.Image{}, fmt.Sprintf("meta.json says the image was evicted, but %s is there", imageKey)
	case img.State == db.StateImageEvicted:
	case imageKey == "":
		return db.Image{}, "no image object"
	case img.RawKey != imageKey:
		return db.Image{}, fmt.Sprintf("meta.json names %s, not %s", img.RawKey, imageKey)
	}
	return img, ""
}
