package blob

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Store is a bucketed object store. Implementations are safe for concurrent use.
type Store interface {
	// Put writes data under key, replacing any object already there.
	Put(ctx context.Context, bucket, key string, data []byte, contentType string) error
	// Get returns the object's bytes and content type; ErrNotFound if absent.
	Get(ctx context.Context, bucket, key string) ([]byte, string, error)
	// Exists reports whether the object is there.
	Exists(ctx context.Context, bucket, key string) (bool, error)
	// Delete removes the object; deleting an absent object is not an error.
	Delete(ctx context.Context, bucket, key string) error
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	// URL returns a presigned GET URL valid for ttl (S3), or "" when the
	// store has no URLs of its own (Local: the API serves the bytes itself).
	URL(ctx context.Context, bucket, key string, ttl time.Duration) (string, error)
}

// Bucket names.
const (
	Raw       = "raw"       // images and masks as received
	Processed = "processed" // annotated images and count masks
)

// Buckets are all the buckets the system uses.
var Buckets = []string{Raw, Processed}

// Object names used as the last element of a key.
const (
	NameImage     = "image.jpg"
	NameMask      = "mask.png"
	NameAnnotated = "annotated.jpg"
)

// Key is the object key of an item's file:
// "<device>/<yyyy>/<mm>/<dd>/<itemID>/<name>", the date in UTC.
func Key(device string, capturedAt time.Time, itemID, name string) string {
	t := capturedAt.UTC()
	return fmt.Sprintf("%s/%04d/%02d/%02d/%s/%s", device, t.Year(), int(t.Month()), t.Day(), itemID, name)
}

// bucketMaker is implemented by stores that can create their buckets.
type bucketMaker interface {
	MakeBucket(ctx context.Context, bucket string) error
}

// EnsureBuckets creates the buckets Raw and Processed in s if they are
// missing. Stores that cannot create buckets are left as they are.
func EnsureBuckets(ctx context.Context, s Store) error {
	m, ok := s.(bucketMaker)
	if !ok {
		return nil
	}
	for _, b := range Buckets {
		if err := m.MakeBucket(ctx, b); err != nil {
			return fmt.Errorf("ensure bucket %q: %w", b, err)
		}
	}
	return nil
}

// ValidKey reports why key cannot name an object, or nil. A key is 1..1024
// bytes of slash-separated elements, none empty, "." or "..", with no NUL,
// backslash or other control character, and does not start with a slash.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w: key longer than 1024 bytes", ErrInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w: %q has a control character or backslash", ErrInvalidKey, key)
		}
	}
	for _, el := range strings.Split(key, "/") {
		switch el {
		case "":
			return fmt.Errorf("%w: %q has an empty element or a leading or trailing slash", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q element", ErrInvalidKey, key, el)
		}
	}
	return nil
}

// validPrefix checks a List prefix: "" or a key prefix that cannot escape.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	// A prefix may end in "/" or in a partial element; check it as a key
	// with a harmless last element.
	if err := ValidKey(strings.TrimSuffix(prefix, "/") + "/x"); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	if strings.HasSuffix(prefix, "..") || strings.HasSuffix(prefix, "/.") || prefix == "." {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	return nil
}

// validBucket checks a bucket name: 3..63 of [a-z0-9.-] (S3's rules, less
// the finer points).
func validBucket(b string) error {
	if len(b) < 1 || len(b) > 63 {
		return fmt.Errorf("%w: %q", ErrInvalidBucket, b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%w: %q", ErrInvalidBucket, b)
		}
	}
	if b == "." || b == ".." || strings.HasPrefix(b, ".") {
		return fmt.Errorf("%w: %q", ErrInvalidBucket, b)
	}
	return nil
}
