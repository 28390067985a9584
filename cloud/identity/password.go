package identity

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// hashIterations is the PBKDF2 iteration count of new hashes (Mosquitto's
// own tool uses 101; the format carries the count, and Mosquitto 2 reads it).
const hashIterations = 20000

// NewPassword returns a new random password: 24 bytes, URL-safe base64.
func NewPassword() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashPassword hashes pw as Mosquitto 2 does ("$7$": PBKDF2-SHA512, a
// 12-byte random salt), so that the hash can go into a Mosquitto password
// file as it is.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return hashWith(pw, salt, hashIterations)
}

func hashWith(pw string, salt []byte, iter int) (string, error) {
	key, err := pbkdf2.Key(sha512.New, pw, salt, iter, sha512.Size)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return fmt.Sprintf("$7$%d$%s$%s", iter, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key)), nil
}

// errBadHash: a stored hash this package cannot read.
var errBadHash = errors.New("password hash is not in the $7$ format")

// CheckPassword reports whether pw matches hash (constant time in the
// password). A malformed hash never matches.
func CheckPassword(hash, pw string) bool {
	f := strings.Split(hash, "$")
	// "", "7", iterations, salt, key
	if len(f) != 5 || f[0] != "" || f[1] != "7" {
		return false
	}
	iter, err := strconv.Atoi(f[2])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(f[3])
	want, err2 := base64.StdEncoding.DecodeString(f[4])
	if err1 != nil || err2 != nil || len(want) != sha512.Size {
		return false
	}
	got, err := pbkdf2.Key(sha512.New, pw, salt, iter, sha512.Size)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
