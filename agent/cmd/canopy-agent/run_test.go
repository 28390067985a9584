package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestRunAll(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name        string
		once        bool
		pipeline    func(context.Context) error
		runner      func(context.Context) error
		cancelAfter time.Duration
		wantErr     error
		wantWaited  bool
	}{
		{name: "once: pipeline ends, runner stopped, waitDone called", once: true,
			pipeline: func(context.Context) error { return nil },
			runner:   func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, wantWaited: true},
		{name: "not once: runs until cancelled", cancelAfter: 20 * time.Millisecond,
			pipeline: func(context.Context) error { return nil },
			runner:   func(ctx context.Context) error { <-ctx.Done(); return nil }},
		{name: "runner fails: pipeline stopped", wantErr: boom,
			pipeline: func(ctx context.Context) error { <-ctx.Done(); return nil },
			runner:   func(context.Context) error { return boom }},
		{name: "pipeline fails", once: true, wantErr: boom,
			pipeline: func(context.Context) error { return boom },
			runner:   func(ctx context.Context) error { <-ctx.Done(); return nil }},
		{name: "no runners, not once: returns when the source ends",
			pipeline: func(context.Context) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelAfter > 0 {
				time.AfterFunc(tc.cancelAfter, cancel)
			}
			var runners []func(context.Context) error
			if tc.runner != nil {
				runners = append(runners, tc.runner)
			}
			waited := false
			err := runAll(ctx, tc.pipeline, runners, tc.once, func(context.Context) error { waited = true; return nil }, log)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if waited != tc.wantWaited {
				t.Fatalf("waitDone called: got %v, want %v", waited, tc.wantWaited)
			}
		})
	}
}
