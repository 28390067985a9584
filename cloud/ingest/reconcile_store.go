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

// StoreRefs is what CheckStore needs of the database (db.DB has it).
type StoreRefs interface {
	EachObjectRef(ctx context.Context, fn func(db.ObjectRef) error) error
	ModelInUse(ctx context.Context, sha256 string) (bool, error)
}

// CheckStore compares the objects with the rows, past what Reconcile does
// for the raw bucket: an object of the processed bucket that no count (nor
// a kept count, nor a recount's model) names is an orphan, removed when
// o.Delete is set; an object that a row names and the store lacks is
// reported as "missing" (Detail: the bucket). Only keys under o.Prefix are
// looked at.
func CheckStore(ctx context.Context, blobs ReconcileBlobs, refs StoreRefs, o ReconcileOptions) ([]Action, error) {
	have := map[string]map[string]bool{}
	for _, b := range blob.Buckets {
		keys, err := blobs.List(ctx, b, o.Prefix)
		if err != nil {
			return nil, fmt.Errorf("check store: list %s objects: %w", b, err)
		}
		have[b] = make(map[string]bool, len(keys))
		for _, k := range keys {
			have[b][k] = true
		}
	}
	named := map[string]bool{} // processed keys that rows name
	var actions []Action
	err := refs.EachObjectRef(ctx, func(r db.ObjectRef) error {
		if !strings.HasPrefix(r.Key, o.Prefix) {
			return nil
		}
		if r.Bucket == blob.Processed {
			named[r.Key] = true
		}
		if !have[r.Bucket][r.Key] {
			actions = append(actions, Action{Op: "missing", ItemID: r.ItemID, Keys: []string{r.Key},
				Detail: "a row names it; no such object in bucket " + r.Bucket})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check store: %w", err)
	}
	var orphans []string
	for k := range have[blob.Processed] {
		if named[k] {
			continue
		}
		if sha, ok := blob.ModelSHA(k); ok {
			used, err := refs.ModelInUse(ctx, sha)
			if err != nil {
				return actions, fmt.Errorf("check store: %w", err)
			}
			if used {
				continue
			}
		}
		orphans = append(orphans, k)
	}
	sort.Strings(orphans)
	for _, k := range orphans {
		a := Action{Op: "orphan", ItemID: path.Base(path.Dir(k)), Keys: []string{k}, Detail: "processed bucket: no count names it"}
		if o.Delete {
			a.Op = "deleted"
			if !o.DryRun {
				if err := blobs.Delete(ctx, blob.Processed, k); err != nil {
					return actions, fmt.Errorf("check store: delete %s: %w", k, err)
				}
			}
		}
		actions = append(actions, a)
	}
	return actions, nil
}
