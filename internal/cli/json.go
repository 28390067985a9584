package cli

import (
	"encoding/json"
	"io"
)

// PrintJSON writes v to w as indented JSON, the form the commands print
// with --json.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
