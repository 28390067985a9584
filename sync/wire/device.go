package wire

import "fmt"

// ValidDevice checks a device id: 1 to 64 characters of [A-Za-z0-9._-].
// Device ids appear in topics and object keys, so nothing else is allowed.
func ValidDevice(id string) error {
	if !validName(id) {
		return fmt.Errorf("device id %q: want 1 to 64 characters of A-Z a-z 0-9 . _ -", id)
	}
	return nil
}

// ValidItemID checks an item id: 1 to 64 characters of [A-Za-z0-9._-]
// (devices use ULIDs, internal/ulid).
func ValidItemID(id string) error {
	if !validName(id) {
		return fmt.Errorf("item id %q: want 1 to 64 characters of A-Z a-z 0-9 . _ -", id)
	}
	return nil
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
