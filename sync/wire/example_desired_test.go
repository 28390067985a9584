package wire_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/canopy-forest/canopy/sync/wire"
)

// The cloud signs a desired document; the device opens it with the
// cloud's public key and its own id.
func ExampleOpenDesired() {
	pub, key, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	payload, err := wire.SignDesired(key, wire.Desired{
		Device: "pi-1", Version: 7, Config: json.RawMessage(`{"capture":{"fps":2}}`),
		Model: &wire.ModelRef{SHA256: strings.Repeat("ab", 32), Size: 300_000, ChunkSize: wire.DefaultArtifactChunk},
	})
	if err != nil {
		panic(err)
	}
	d, err := wire.OpenDesired(payload, pub, "pi-1")
	fmt.Println(d.Version, d.Model.Chunks(), string(d.Config), err)
	_, err = wire.OpenDesired(payload, pub, "pi-2")
	fmt.Println(err)
	// Output:
	// 7 3 {"capture":{"fps":2}} <nil>
	// desired document is for another device: it names "pi-1"
}
