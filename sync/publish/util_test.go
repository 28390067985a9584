package publish_test

import (
	"log/slog"
	"os"

	"github.com/canopy-forest/canopy/sync/outbox"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// slogLevel is Debug with CANOPY_TEST_DEBUG set, Warn otherwise.
func slogLevel() slog.Level {
	if os.Getenv("CANOPY_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

func outboxCursor() outbox.Cursor { return outbox.Cursor{} }
