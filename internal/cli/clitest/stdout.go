package clitest

import (
	"os"
	"strings"
	"testing"
)

// CaptureStdout runs f with os.Stdout going to a pipe and returns what it
// wrote; an error from f fails the test.
func CaptureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- b.String()
	}()
	ferr := f()
	os.Stdout = old
	w.Close()
	s := <-done
	if ferr != nil {
		t.Fatalf("%v", ferr)
	}
	return s
}
