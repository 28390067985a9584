package blob

import (
	"encoding/hex"
	"strings"
)

// ModelPrefix is where ONNX models that recounts ask for live in the
// processed bucket: models/<sha256>.onnx.
const ModelPrefix = "models/"

// ModelKey is the key of the model with this SHA-256 (lower-case hex) in
// the processed bucket.
func ModelKey(sha256 string) string { return ModelPrefix + sha256 + ".onnx" }

// ModelSHA is the SHA-256 that key names when it is a ModelKey.
func ModelSHA(key string) (string, bool) {
	sha, ok := strings.CutPrefix(key, ModelPrefix)
	sha, ok2 := strings.CutSuffix(sha, ".onnx")
	return sha, ok && ok2 && ValidSHA256(sha)
}

// ValidSHA256 reports whether s is a SHA-256 in lower-case hex.
func ValidSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
