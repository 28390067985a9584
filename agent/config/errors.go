package config

import "errors"

// ErrNoCloudKey is the refusal of a config with a broker and no cloud key:
// without the key the agent could not tell the cloud's receipts from
// forged acks, and would delete items on them.
var ErrNoCloudKey = errors.New("sync.cloud_key is required with sync.broker: without the cloud's key " +
	"anyone who can publish on this device's ack topic can make it delete items it has not delivered. " +
	"Get the key from the cloud: `canopy-cloud device add ID --broker URL --out DIR` writes it, with the " +
	"broker, username, password file and CA, into DIR/agent.d/ID.yaml (copy DIR to /etc/canopy/); it is also " +
	"the cloud_key that device add prints and that canopy-cloud serve logs at start. For a demo on a broker " +
	"nobody else reaches: --insecure-acks (sync.insecure_acks: true)")
