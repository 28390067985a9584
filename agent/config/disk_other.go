//go:build !unix

package config

import "errors"

func freeBytes(dir string) (uint64, error) {
	return 0, errors.New("free disk space unknown on this system: set outbox.max_bytes")
}
