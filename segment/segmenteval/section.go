package segmenteval

import (
	"fmt"
	"os"
	"strings"
)

// ReplaceSection replaces the text between "<!-- section: NAME -->" and
// "<!-- /section: NAME -->" in the file at path with body.
func ReplaceSection(path, name, body string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("replace section %s: %w", name, err)
	}
	text := string(b)
	start, end := "<!-- section: "+name+" -->", "<!-- /section: "+name+" -->"
	i, j := strings.Index(text, start), strings.Index(text, end)
	if i < 0 || j < i {
		return fmt.Errorf("replace section %s: markers not found in %s", name, path)
	}
	text = text[:i] + start + "\n" + strings.TrimRight(body, "\n") + "\n" + text[j:]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("replace section %s: %w", name, err)
	}
	return nil
}
