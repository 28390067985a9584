package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

// go test -run '^$' -bench . ./cloud/db/ (PostgreSQL with .cache/test.env)

func BenchmarkSQLite(b *testing.B) {
	benchmarks(b, func(b *testing.B) string { return b.TempDir() + "/canopy.db" })
}

func BenchmarkPostgres(b *testing.B) {
	benchmarks(b, func(b *testing.B) string { return dbtest.PostgresSchemaURL(b) })
}

func benchmarks(b *testing.B, dsn func(b *testing.B) string) {
	b.Run("PutImage", func(b *testing.B) {
		d := openB(b, dsn(b))
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := d.PutImage(ctx, benchImage(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ClaimComplete", func(b *testing.B) {
		d := openB(b, dsn(b))
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			if _, err := d.PutImage(ctx, benchImage(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j, err := d.ClaimJob(ctx, "w", time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 3, Method: "classical"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListImages", func(b *testing.B) {
		d := openB(b, dsn(b))
		ctx := context.Background()
		for i := 0; i < 500; i++ {
			if _, err := d.PutImage(ctx, benchImage(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := d.ListImages(ctx, db.ImageQuery{Device: "dev-1", Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchImage(i int) db.Image {
	return db.Image{
		ItemID: fmt.Sprintf("b%09d", i), Device: "dev-1", CapturedAt: time.Unix(int64(1_700_000_000+i), 0),
		RawKey: fmt.Sprintf("dev-1/b%09d/image.jpg", i), ScanID: "s",
	}
}

func openB(b *testing.B, dsn string) *db.DB {
	d, err := db.Open(context.Background(), dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}
