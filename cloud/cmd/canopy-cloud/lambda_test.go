package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/internal/e2etest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// runtimeAPI is a stand-in for the Lambda service's side of the Runtime API
// (the HTTP interface a custom runtime polls), so that the real binary runs
// as it would in AWS: it hands out queued events and collects what the
// function answers.
type runtimeAPI struct {
	events  chan string
	answers chan answer
	n       int
}

type answer struct {
	kind string // "response", "error" or "init-error"
	body string
}

func newRuntimeAPI(t *testing.T) (*runtimeAPI, string) {
	r := &runtimeAPI{events: make(chan string, 8), answers: make(chan answer, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, req *http.Request) {
		select {
		case ev := <-r.events:
			r.n++
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("req-%d", r.n))
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(2*time.Minute).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:canopy-count")
			io.WriteString(w, ev)
		case <-req.Context().Done():
		}
	})
	collect := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			b, _ := io.ReadAll(req.Body)
			r.answers <- answer{kind, string(b)}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", collect("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", collect("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", collect("init-error"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return r, strings.TrimPrefix(srv.URL, "http://")
}

func (r *runtimeAPI) invoke(t *testing.T, event string) answer {
	t.Helper()
	r.events <- event
	select {
	case a := <-r.answers:
		return a
	case <-time.After(2 * time.Minute):
		t.Fatal("the function did not answer")
	}
	return answer{}
}

// bootstrap is the binary to run as the function: $CANOPY_LAMBDA_BOOTSTRAP
// (the bootstrap of the packaged function, scripts/test.d/package.sh), else
// the built canopy-cloud linked as "bootstrap".
func bootstrap(t *testing.T) string {
	if p := os.Getenv("CANOPY_LAMBDA_BOOTSTRAP"); p != "" {
		return p
	}
	link := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.Symlink(e2etest.Bin(t, "canopy-cloud"), link); err != nil {
		t.Fatal(err)
	}
	return link
}

// The built binary, started as AWS Lambda starts a provided.al2023
// function (named bootstrap, no arguments, configured by environment
// variables), counts the image a recorded S3 notification names, in the
// real S3 server and PostgreSQL, and answers a redelivery without counting
// again.
func TestLambdaRuntime(t *testing.T) {
	bin := bootstrap(t)
	dbURL := dbtest.PostgresSchemaURL(t)
	s3c := blobtest.S3Config(t)
	bs := blobtest.S3With(t, s3c)
	d, err := db.Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	saver := ingest.NewSaver(bs, d, ingest.ImageLimits{})
	saved, err := saver.Save(t.Context(), lambdaItem(t), ingest.SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := saved.Image

	api, addr := newRuntimeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+addr,
		"AWS_LAMBDA_FUNCTION_NAME=canopy-count",
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+s3c.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s3c.SecretKey,
		"CANOPY_DATABASE_URL="+dbURL,
		"CANOPY_S3_ENDPOINT="+s3c.Endpoint,
		"CANOPY_S3_PATH_STYLE=true",
		"CANOPY_S3_BUCKET_PREFIX="+s3c.Prefix,
	)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("function log:\n%s", logs.String())
		}
	}()

	prefix := strings.TrimSuffix(img.RawKey, "image.jpg")
	event := recorded(t, "s3-put.json", map[string]string{"Bucket": bs.Bucket(blob.Raw), "Image": img.RawKey, "Mask": prefix + "mask.png", "Meta": prefix + "meta.json"})
	for i, want := range []map[string]int{{"counted": 1, "ignored": 2}, {"already_counted": 1, "ignored": 2}} {
		a := api.invoke(t, event)
		var got map[string]int
		if a.kind != "response" || json.Unmarshal([]byte(a.body), &got) != nil {
			t.Fatalf("delivery %d: %s %s, want a response", i+1, a.kind, a.body)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("delivery %d: response %s, want %s = %d", i+1, a.body, k, v)
			}
		}
	}
	got, err := d.GetImage(t.Context(), img.ItemID)
	if err != nil || got.State != db.StateCounted || got.Count == nil {
		t.Fatalf("image after the function ran: %+v, %v; want counted", got, err)
	}
	if ok, _ := bs.Exists(t.Context(), blob.Processed, got.Count.AnnotatedKey); !ok {
		t.Errorf("no annotated image %s", got.Count.AnnotatedKey)
	}
	if !strings.Contains(logs.String(), `"item":"`+img.ItemID+`"`) || !strings.Contains(logs.String(), "lambda/req-1") {
		t.Errorf("the log does not name the item and the worker lambda/req-1:\n%s", logs.String())
	}
	t.Logf("counted %d trees with %s %s", got.Count.Count, got.Count.Method, got.Count.Model)

	// An unknown payload is an invocation error, and the function goes on.
	if a := api.invoke(t, `{"hello": "world"}`); a.kind != "error" || !strings.Contains(a.body, "unknown event") {
		t.Errorf("unknown payload: %s %s, want an error about an unknown event", a.kind, a.body)
	}
	if a := api.invoke(t, `{"action": "sweep"}`); a.kind != "response" {
		t.Errorf("sweep: %s %s, want a response", a.kind, a.body)
	}
}

func recorded(t *testing.T, name string, data map[string]string) string {
	t.Helper()
	tpl, err := template.ParseFiles(filepath.Join("..", "..", "countfn", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// lambdaItem is a device item with a 256x192 image of crowns on ground.
func lambdaItem(t *testing.T) wire.Item {
	img := image.NewRGBA(image.Rect(0, 0, 256, 192))
	for y := range 192 {
		for x := range 256 {
			c := color.RGBA{125, 105, 80, 255}
			for i := range 8 {
				cx, cy := 20+i*30, 40+(i*53)%120
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < 140 {
					c = color.RGBA{35, 115, 40, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return wire.Item{
		Meta: wire.Meta{
			ItemID: fmt.Sprintf("LAMBDA%d", time.Now().UnixNano()), Device: "drone-9", Seq: 1,
			CapturedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), ClockSynced: true,
			Width: 256, Height: 192, Segmenter: "classical",
		},
		Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg", Data: b.Bytes()}},
	}
}
