package broker

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func start(t *testing.T) *Broker {
	t.Helper()
	b, err := New(Config{Addr: "127.0.0.1:0", Anonymous: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b
}

func connect(t *testing.T, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond))
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func TestAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, err = New(Config{Addr: ln.Addr().String(), Anonymous: true}, nil)
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("New on a taken port: got %v, want ErrAddrInUse", err)
	}
	for _, want := range []string{"already in use", "--mqtt-listen", "--broker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v on a taken port; want an immediate failure", d)
	}
}

// TestSharedAndRetained checks the two broker features ingest relies on:
// $share groups split the messages, and retained messages reach late subscribers.
func TestSharedAndRetained(t *testing.T) {
	b := start(t)
	pub := connect(t, b.URL(), "pub")
	var mu sync.Mutex
	got := map[string]int{}
	for _, id := range []string{"r1", "r2"} {
		c := connect(t, b.URL(), id)
		tok := c.Subscribe("$share/g/canopy/v1/+/item", 1, func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			got[string(m.Payload())]++
			mu.Unlock()
		})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	const n = 20
	for i := range n {
		tok := pub.Publish("canopy/v1/d1/item", 1, false, []byte{byte('a' + i)})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		total := 0
		for _, v := range got {
			total += v
		}
		mu.Unlock()
		if total >= n || time.Now().After(deadline) {
			if total != n {
				t.Fatalf("shared subscription: got %d deliveries, want %d (each message once)", total, n)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	tok := pub.Publish("canopy/v1/d1/status", 1, true, []byte(`{"state":"online"}`))
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish retained: %v", tok.Error())
	}
	late := connect(t, b.URL(), "late")
	ch := make(chan string, 1)
	late.Subscribe("canopy/v1/+/status", 1, func(_ mqtt.Client, m mqtt.Message) { ch <- string(m.Payload()) })
	select {
	case s := <-ch:
		if s != `{"state":"online"}` {
			t.Errorf("retained: got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retained status not delivered to a late subscriber")
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		remote string
		want   bool
	}{
		{"127.0.0.1:5000", true},
		{"[::1]:5000", true},
		{"192.168.1.4:5000", false},
		{"[::ffff:127.0.0.1]:1", true},
		{"pipe", true},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.remote); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
}
