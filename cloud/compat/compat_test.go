package compat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/ingest"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	amqp "github.com/rabbitmq/amqp091-go"
)

func jpegBytes(t testing.TB, seed byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for i := range img.Pix {
		img.Pix[i] = byte(i) + seed
	}
	img.Set(0, 0, color.RGBA{seed, 0, 0, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func message(img []byte, name string) []byte {
	b, _ := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(img), "image_metadata": map[string]string{"image_name": name}})
	return b
}

func TestDecode(t *testing.T) {
	img := jpegBytes(t, 1)
	tests := []struct {
		name, in, reason, wantName string
	}{
		{"valid", string(message(img, "DCIM/100/IMG_1.JPG")), "", "IMG_1.JPG"},
		{"data url", `{"image":"data:image/jpeg;base64,` + base64.StdEncoding.EncodeToString(img) + `"}`, "", ""},
		{"raw base64", `{"image":"` + base64.RawStdEncoding.EncodeToString(img) + `","image_metadata":{}}`, "", ""},
		{"bad json", `{"image":`, ReasonBadJSON, ""},
		{"trailing", string(message(img, "a")) + `{}`, ReasonBadJSON, ""},
		{"no image", `{"image_metadata":{"image_name":"x"}}`, ReasonBadJSON, ""},
		{"bad base64", `{"image":"!!!not base64!!!"}`, ReasonBadBase64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.in), 0)
			if tt.reason != "" {
				rej, ok := ingest.IsReject(err)
				if !ok || rej.Reason != tt.reason {
					t.Fatalf("Decode: got %v, want rejection %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(m.Image, img) || m.Name != tt.wantName {
				t.Errorf("Decode: got %d bytes, name %q; want %d bytes, name %q", len(m.Image), m.Name, len(img), tt.wantName)
			}
		})
	}
	if _, err := Decode(message(img, "a"), 10); err == nil {
		t.Error("Decode over the limit: got nil error")
	}
}

func TestCleanName(t *testing.T) {
	tests := map[string]string{
		"../../etc/passwd":       "passwd",
		`C:\photos\tree 1.jpg`:   "tree_1.jpg",
		"..":                     "",
		".hidden":                "hidden",
		"ünïcode.png":            "_n_code.png",
		strings.Repeat("a", 300): strings.Repeat("a", 128),
	}
	for in, want := range tests {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(message(jpegBytes(f, 1), "x.jpg"))
	f.Add([]byte(`{"image":"data:,"}`))
	f.Add([]byte(`{"image":"AAAA","image_metadata":{"image_name":"../a"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, 1<<20)
		if err != nil {
			if _, ok := ingest.IsReject(err); !ok {
				t.Fatalf("Decode error is not a RejectError: %v", err)
			}
			return
		}
		if len(m.Image) == 0 || len(m.Name) > maxNameLen || strings.ContainsAny(m.Name, `/\`) {
			t.Fatalf("Decode: bad message %d bytes, name %q", len(m.Image), m.Name)
		}
	})
}

func newHandler(t *testing.T, store blob.Store, d *db.DB) *Handler {
	return &Handler{Saver: ingest.NewSaver(store, d, ingest.ImageLimits{})}
}

func TestHandlerIdempotent(t *testing.T) {
	ctx := context.Background()
	store, d := blobtest.Local(t), dbtest.SQLite(t)
	h := newHandler(t, store, d)
	img := jpegBytes(t, 3)
	s1, err := h.Handle(ctx, "test", message(img, "../../evil/../x.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := h.Handle(ctx, "test", message(img, "other-name.jpg"))
	if err != nil || !s2.Duplicate || s2.Image.RawKey != s1.Image.RawKey {
		t.Fatalf("redelivery: %+v, %v; want a duplicate on %s", s2.Image.RawKey, err, s1.Image.RawKey)
	}
	if !strings.HasPrefix(s1.Image.RawKey, "compat/"+s1.Image.ItemID+"/") || s1.Image.Source != "x.jpg" || s1.Image.Device != Device {
		t.Errorf("row: key %s, source %q, device %q", s1.Image.RawKey, s1.Image.Source, s1.Image.Device)
	}
	if _, err := h.Handle(ctx, "test", message([]byte("not an image"), "a")); err == nil {
		t.Error("not an image: got nil error")
	}
	keys, _ := store.List(ctx, blob.Raw, "")
	if len(keys) != 2 {
		t.Errorf("objects: got %v, want image and meta.json", keys)
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasImage(t *testing.T, d *db.DB, img []byte) func() bool {
	id := Item(Message{Image: img}, time.Now()).Meta.ItemID
	return func() bool {
		_, err := d.GetImage(context.Background(), id)
		return err == nil
	}
}

func TestMQTTInput(t *testing.T) {
	broker := os.Getenv("CANOPY_TEST_MQTT")
	if broker == "" {
		t.Skip("CANOPY_TEST_MQTT is not set: no Mosquitto to test against")
	}
	d := dbtest.SQLite(t)
	topic := fmt.Sprintf("test-compat-%d/images", time.Now().UnixNano())
	cid := fmt.Sprintf("test-compat-%d", time.Now().UnixNano())
	defer func() { // remove the persistent session from Mosquitto
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(cid).SetCleanSession(true))
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(50)
		}
	}()
	in, err := NewMQTT(MQTTConfig{Broker: broker, ClientID: cid, Topic: topic + ", " + topic + "/second"}, newHandler(t, blobtest.Local(t), d), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "compat input connected", in.Connected)
	time.Sleep(200 * time.Millisecond) // the subscription follows the connection

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-pub-%d", time.Now().UnixNano())))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	img := jpegBytes(t, 9)
	pub.Publish(topic, 1, false, []byte("poison")).Wait()
	pub.Publish(topic, 1, false, message(img, "a.jpg")).Wait()
	waitFor(t, "compat image stored", hasImage(t, d, img))
	img2 := jpegBytes(t, 10)
	pub.Publish(topic+"/second", 1, false, message(img2, "b.jpg")).Wait()
	waitFor(t, "compat image on the second topic stored", hasImage(t, d, img2))
}

func TestAMQPInput(t *testing.T) {
	url := os.Getenv("CANOPY_TEST_AMQP")
	if url == "" {
		t.Skip("CANOPY_TEST_AMQP is not set: no RabbitMQ to test against")
	}
	queue := fmt.Sprintf("test.compat.%d", time.Now().UnixNano())
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ch.QueueDelete(queue, false, false, false)
		ch.QueueDelete(DeadLetterQueue(queue), false, false, false)
		ch.ExchangeDelete(deadLetterExchange(queue), false, false)
	}()
	if err := Declare(ch, queue); err != nil {
		t.Fatal(err)
	}
	img := jpegBytes(t, 11)
	for _, body := range [][]byte{message(img, "ok.jpg"), []byte(`{"image":"%%%"}`), message([]byte("text, not an image"), "x")} {
		if err := ch.PublishWithContext(context.Background(), "", queue, false, false, amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent}); err != nil {
			t.Fatal(err)
		}
	}
	d := dbtest.SQLite(t)
	in, err := NewAMQP(AMQPConfig{URL: url, Queue: queue}, newHandler(t, blobtest.Local(t), d), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "AMQP image stored", hasImage(t, d, img))
	waitFor(t, "2 poison messages in the dead-letter queue, main queue empty", func() bool {
		dq, err1 := ch.QueueDeclarePassive(DeadLetterQueue(queue), true, false, false, false, nil)
		q, err2 := ch.QueueDeclarePassive(queue, true, false, false, false, amqp.Table{"x-dead-letter-exchange": deadLetterExchange(queue)})
		return err1 == nil && err2 == nil && dq.Messages == 2 && q.Messages == 0
	})
}
