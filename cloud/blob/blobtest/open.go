package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
)

// Local makes a Local store in t.TempDir() with its buckets.
func Local(t *testing.T) blob.Store {
	t.Helper()
	s, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// S3Config is the configuration of the test S3 server
// ($CANOPY_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY) with a random bucket
// prefix ("t<hex>-"). The test is skipped when the endpoint is unset.
func S3Config(t *testing.T) blob.S3Config {
	t.Helper()
	ep := os.Getenv("CANOPY_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("CANOPY_TEST_S3_ENDPOINT is not set: no S3 server to test against")
	}
	var b [5]byte
	rand.Read(b[:])
	return blob.S3Config{
		Endpoint:  ep,
		Region:    "us-east-1",
		PathStyle: true,
		Prefix:    "t" + hex.EncodeToString(b[:]) + "-",
		AccessKey: os.Getenv("CANOPY_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("CANOPY_TEST_S3_SECRET_KEY"),
	}
}

// S3 makes an S3 store on the test server with buckets of its own, removed
// (objects and all) at the end of the test.
func S3(t *testing.T) blob.Store {
	t.Helper()
	return S3With(t, S3Config(t))
}

// S3With makes an S3 store from c, creates its buckets and removes them at
// the end of the test.
func S3With(t *testing.T, c blob.S3Config) *blob.S3 {
	t.Helper()
	ctx := context.Background()
	s, err := blob.NewS3(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(ctx, s); err != nil {
		t.Fatalf("create test buckets: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, b := range blob.Buckets {
			if err := s.RemoveBucket(ctx, b); err != nil {
				t.Errorf("remove test bucket %s: %v", s.Bucket(b), err)
			}
		}
	})
	return s
}
