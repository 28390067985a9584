package publish_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestForgedAcksIgnored: with the cloud's key configured, an item leaves
// the outbox only on the cloud's signed receipt. Unsigned acks (the
// mosquitto_pub of the issue), acks signed with another key, acks for other
// content and receipts of another item replayed for this one are logged,
// counted and ignored; the item stays until the real receiver acks it.
func TestForgedAcksIgnored(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("forged"), uniq("dev")
	ob := newMemOutbox()
	it := newItem(t, device, 1, 20<<10)
	ob.put(it)
	other := newItem(t, device, 2, 1000)
	cfg := testConfig(b.URL(), root, device)
	cfg.AckTimeout = time.Hour // no retransmission during the test
	p := newPublisher(t, cfg, ob)
	stop := start(t, p)
	// Wait until the item is in flight: it went to a broker with no receiver.
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Published == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sum := wire.BodyDigest(it)
	_, wrongKey, _ := ed25519.GenerateKey(nil)
	forged := []wire.Ack{
		{ItemID: it.Meta.ItemID, Status: wire.AckStored},                                                                                  // unsigned
		wire.SignAck(wrongKey, device, wire.Ack{ItemID: it.Meta.ItemID, Status: wire.AckStored, SHA256: sum}),                             // wrong key
		wire.SignAck(testreceiver.Key, device, wire.Ack{ItemID: it.Meta.ItemID, Status: wire.AckStored, SHA256: strings.Repeat("0", 64)}), // wrong item hash
		replay(wire.SignAck(testreceiver.Key, device, wire.Ack{ItemID: other.Meta.ItemID, Status: wire.AckStored, SHA256: wire.BodyDigest(other)}), it.Meta.ItemID),
		wire.SignAck(testreceiver.Key, "another-device", wire.Ack{ItemID: it.Meta.ItemID, Status: wire.AckStored, SHA256: sum}), // another device's receipt
		{ItemID: it.Meta.ItemID, Status: wire.AckRejected, Reason: "bad_item"},                                                  // an unsigned rejection
	}
	attacker := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.CloudURL()).SetClientID(uniq("attacker")))
	if tok := attacker.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer attacker.Disconnect(50)
	for _, a := range forged {
		raw, _ := json.Marshal(a)
		attacker.Publish(wire.Topics{Root: root}.Ack(device), 1, false, raw).WaitTimeout(5 * time.Second)
	}
	deadline = time.Now().Add(10 * time.Second)
	for p.Stats().BadAcks < int64(len(forged)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := p.Stats(); st.BadAcks != int64(len(forged)) || st.Acked != 0 || st.Rejected != 0 {
		t.Fatalf("after forged acks: %+v, want %d bad acks and nothing acked or rejected", st, len(forged))
	}
	if st, _ := ob.Stats(); st.Depth != 1 {
		t.Fatalf("outbox depth %d after forged acks, want 1: a forged ack removed the item", st.Depth)
	}
	// The real receiver's signed receipt removes it.
	stop()
	testreceiver.Start(t, b.CloudURL(), root)
	p2 := newPublisher(t, testConfig(b.URL(), root, device), ob)
	start(t, p2)
	waitDrained(t, p2, 20*time.Second)
	if st := p2.Stats(); st.Acked != 1 || st.BadAcks != 0 {
		t.Errorf("with the real receiver: %+v, want 1 acked, no bad acks", st)
	}
}

func replay(a wire.Ack, id string) wire.Ack {
	a.ItemID = id
	return a
}
