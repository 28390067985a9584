package config

import (
	"fmt"
	"os"
)

// MinOutboxBytes is the least outbox bound OutboxMaxBytes returns: a few
// items always fit, however full the disk.
const MinOutboxBytes = 16 << 20

// OutboxMaxBytes is the outbox bound: Outbox.MaxBytes when set, else
// Outbox.DiskShare of the space free now on the file system of the state
// directory (created if missing), at least MinOutboxBytes.
func (c Config) OutboxMaxBytes() (int64, error) {
	if c.Outbox.MaxBytes > 0 {
		return c.Outbox.MaxBytes, nil
	}
	if err := os.MkdirAll(c.Data, 0o755); err != nil {
		return 0, fmt.Errorf("outbox size: %w", err)
	}
	free, err := freeBytes(c.Data)
	if err != nil {
		return 0, fmt.Errorf("outbox size: free space of %s: %w", c.Data, err)
	}
	return max(int64(float64(free)*c.Outbox.DiskShare), MinOutboxBytes), nil
}
