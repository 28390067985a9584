package publish_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// fakeDownlink records what the publisher hands it.
type fakeDownlink struct {
	topics []string
	mu     sync.Mutex
	got    map[string][]byte
	links  chan publish.Link
	report wire.Reported
}

func (f *fakeDownlink) Topics() []string { return f.topics }
func (f *fakeDownlink) Message(topic string, payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[topic] = append([]byte(nil), payload...)
}
func (f *fakeDownlink) Connected(l publish.Link) { f.links <- l }
func (f *fakeDownlink) Report() *wire.Reported {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.report
	return &r
}
func (f *fakeDownlink) message(topic string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[topic]
}

// TestDownlink: the publisher's connection carries a Downlink: its topics
// are subscribed (a retained desired document arrives), it publishes
// through its Link, and its report is in the status, at once when it asks.
func TestDownlink(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			root, device := uniq("downlink"), uniq("dev")
			topics := wire.Topics{Root: root}
			forgetSession(t, tg.device, device)
			cloud := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(tg.cloud).SetClientID(uniq("cloud")))
			if tok := cloud.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			defer cloud.Disconnect(50)
			t.Cleanup(func() { cloud.Publish(topics.Desired(device), 1, true, []byte{}).WaitTimeout(5 * time.Second) })
			fetches := make(chan []byte, 4)
			statuses := make(chan wire.Status, 16)
			cloud.Subscribe(topics.Fetch(device), 1, func(_ mqtt.Client, m mqtt.Message) { fetches <- m.Payload() }).WaitTimeout(5 * time.Second)
			cloud.Subscribe(topics.Status(device), 1, func(_ mqtt.Client, m mqtt.Message) {
				if st, err := wire.DecodeStatus(m.Payload()); err == nil {
					statuses <- st
				}
			}).WaitTimeout(5 * time.Second)
			cloud.Publish(topics.Desired(device), 1, true, []byte("the desired document")).WaitTimeout(5 * time.Second)

			d := &fakeDownlink{topics: []string{topics.Desired(device), topics.Artifact(device)}, got: map[string][]byte{},
				links: make(chan publish.Link, 4), report: wire.Reported{Version: 1, State: wire.ReportApplied}}
			cfg := testConfig(tg.device, root, device)
			cfg.Downlink = d
			cfg.StatusInterval = time.Hour
			p := newPublisher(t, cfg, newMemOutbox())
			start(t, p)
			var l publish.Link
			select {
			case l = <-d.links:
			case <-time.After(10 * time.Second):
				t.Fatal("the downlink got no link")
			}
			deadline := time.Now().Add(10 * time.Second)
			for string(d.message(topics.Desired(device))) != "the desired document" && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := d.message(topics.Desired(device)); string(got) != "the desired document" {
				t.Fatalf("retained desired document: got %q", got)
			}
			if err := l.Publish(context.Background(), topics.Fetch(device), []byte("give me chunks")); err != nil {
				t.Fatal(err)
			}
			select {
			case b := <-fetches:
				if string(b) != "give me chunks" {
					t.Errorf("fetch: got %q", b)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the downlink's publish did not arrive")
			}
			cloud.Publish(topics.Artifact(device), 1, false, []byte("chunk")).WaitTimeout(5 * time.Second)
			deadline = time.Now().Add(10 * time.Second)
			for d.message(topics.Artifact(device)) == nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := d.message(topics.Artifact(device)); string(got) != "chunk" {
				t.Errorf("artifact: got %q", got)
			}
			// The report: in the first status, and again at once on ReportChanged.
			d.mu.Lock()
			d.report = wire.Reported{Version: 2, State: wire.ReportRolledBack, FailedVersion: 3, LastError: "check failed"}
			d.mu.Unlock()
			l.ReportChanged()
			deadline = time.Now().Add(10 * time.Second)
			for {
				select {
				case st := <-statuses:
					if st.Reported != nil && st.Reported.Version == 2 && strings.Contains(st.Reported.LastError, "check failed") {
						return
					}
				case <-time.After(time.Until(deadline)):
					t.Fatal("no status with the changed report")
				}
			}
		})
	}
}
