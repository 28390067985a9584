package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

func TestPrintStats(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := outbox.Stats{Depth: 3, Bytes: 1234, Oldest: now.Add(-90 * time.Second), Evictions: 1, DeadLetters: 2, DeadBytes: 99}
	var tbl, js bytes.Buffer
	if err := printStats(&tbl, st, false, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"items waiting  3", "bytes waiting  1234", "(1m30s ago)", "dead letters   2 (99 bytes)"} {
		if !strings.Contains(tbl.String(), want) {
			t.Errorf("table: got\n%s\nwant a line with %q", tbl.String(), want)
		}
	}
	if err := printStats(&js, st, true, now); err != nil {
		t.Fatal(err)
	}
	var got statsJSON
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("json: %v", err)
	}
	if got.Depth != 3 || got.OldestAgeSeconds != 90 || got.DeadLetters != 2 {
		t.Errorf("json: got %+v, want depth 3, oldest 90s, 2 dead letters", got)
	}
}

func TestPrintDeadLetters(t *testing.T) {
	dl := []outbox.DeadLetter{{
		Record: outbox.Record{ID: "01ABC", Size: 10, Item: wire.Item{Meta: wire.Meta{ItemID: "01ABC", Device: "pi", Seq: 7, Source: "DJI_0001.JPG"}}},
		Reason: wire.ReasonDigestMismatch, RejectedAt: time.Unix(0, 0),
	}}
	var tbl, js bytes.Buffer
	if err := printDeadLetters(&tbl, dl, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "01ABC") || !strings.Contains(tbl.String(), wire.ReasonDigestMismatch) {
		t.Errorf("table: got\n%s\nwant the item id and reason", tbl.String())
	}
	if err := printDeadLetters(&js, dl, true); err != nil {
		t.Fatal(err)
	}
	var got []deadLetterJSON
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got) != 1 || got[0].Seq != 7 || got[0].Source != "DJI_0001.JPG" {
		t.Errorf("json: got %+v (err %v), want one dead letter with seq 7", got, err)
	}
	var empty bytes.Buffer
	_ = printDeadLetters(&empty, nil, false)
	if !strings.Contains(empty.String(), "no dead letters") {
		t.Errorf("empty table: got %q", empty.String())
	}
}

// TestOutboxCommand runs the subcommands over a real outbox file.
func TestOutboxCommand(t *testing.T) {
	dir := t.TempDir()
	ob, err := outbox.Open(dir+"/"+outboxFile, outbox.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	it := wire.Item{Meta: wire.Meta{ItemID: "01ITEM", Device: "pi"}, Parts: []wire.Part{{Name: wire.PartImage, Data: []byte("x")}}}
	if err := ob.Put(t.Context(), it, outbox.Cursor{}); err != nil {
		t.Fatal(err)
	}
	if err := ob.Reject("01ITEM", "too_large"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"stats", "--data", dir, "--json"},
		{"dead-letters", "--data", dir},
		{"dead-letters", "--data", dir, "--replay", "01ITEM"},
	} {
		if err := outboxCommand.Exec(args); err != nil {
			t.Errorf("outbox %v: %v", args, err)
		}
	}
	ob, err = outbox.Open(dir+"/"+outboxFile, outbox.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if st, _ := ob.Stats(); st.Depth != 1 || st.DeadLetters != 0 {
		t.Errorf("after replay: got %+v, want 1 waiting, no dead letters", st)
	}
	if err := outboxCommand.Exec([]string{"stats"}); err == nil {
		t.Errorf("stats without --data: got nil error")
	}
	if err := outboxCommand.Exec([]string{"stats", "--data", t.TempDir()}); err == nil {
		t.Errorf("stats of a folder with no outbox: got nil error")
	}
}
