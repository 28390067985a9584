package countfn

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The recorded notifications name the objects they are about; other
// payloads are unknown events.
func TestObjects(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		r := strings.NewReplacer("{{.Bucket}}", "b-raw", "{{.Image}}", "d/2026/11/25/i1/image.jpg",
			"{{.Mask}}", "d/2026/11/25/i1/mask.png", "{{.Meta}}", "d/2026/11/25/i1/meta.json", "{{.Image2}}", "d/2026/11/25/i2/image.jpg")
		return []byte(r.Replace(string(b)))
	}
	tests := []struct {
		name    string
		payload []byte
		want    []object
		wantErr bool
	}{
		{"s3", read("s3-put.json"), []object{{"b-raw", "d/2026/11/25/i1/image.jpg"}, {"b-raw", "d/2026/11/25/i1/mask.png"}, {"b-raw", "d/2026/11/25/i1/meta.json"}}, false},
		{"eventbridge", read("eventbridge-object-created.json"), []object{{"b-raw", "d/2026/11/25/i1/image.jpg"}}, false},
		{"url-encoded key", []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"compat/a%2Bb/image+1.jpg"}}}]}`),
			[]object{{"b", "compat/a+b/image 1.jpg"}}, false},
		{"removed, not created", []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`), nil, false},
		{"sns delivery", []byte(`{"Records":[{"EventSource":"aws:sns","Sns":{"Type":"Notification","Message":"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Copy\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k/image.jpg\"}}}]}"}}]}`),
			[]object{{"b", "k/image.jpg"}}, false},
		{"test event", []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}`), nil, false},
		{"eventbridge other s3 event", []byte(`{"detail-type":"Object Deleted","source":"aws.s3","detail":{}}`), nil, false},
		{"eventbridge without key", []byte(`{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"}}}`), nil, true},
		{"bad escape", []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`), nil, true},
		{"nested too deep", []byte(`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{\\\"Type\\\":\\\"Notification\\\",\\\"Message\\\":\\\"{\\\\\\\"Type\\\\\\\":\\\\\\\"Notification\\\\\\\",\\\\\\\"Message\\\\\\\":\\\\\\\"{}\\\\\\\"}\\\"}\"}"}`), nil, true},
		{"array", []byte(`[]`), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := objects(tt.payload, 0)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownEvent) {
					t.Fatalf("objects: %v, want ErrUnknownEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("objects: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
		})
	}
}

// Payloads come from outside: nothing in them may panic the decoding.
func FuzzObjects(f *testing.F) {
	for _, name := range []string{"s3-put.json", "sqs-batch.json", "eventbridge-object-created.json", "scheduled.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Type":"Notification","Message":"{}"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		classify(b)
		objects(b, 0)
	})
}
