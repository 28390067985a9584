package wire

import "strings"

// Topic kinds, the last level of a topic.
const (
	KindItem   = "item"
	KindAck    = "ack"
	KindStatus = "status"
	// The downlink of desired state (docs/protocol.md, "Desired state"):
	// the cloud's signed desired document (retained), the device's requests
	// for artifact chunks, and the chunks.
	KindDesired  = "desired"
	KindFetch    = "fetch"
	KindArtifact = "artifact"
)

// DefaultRoot is the topic root when Topics.Root is empty.
const DefaultRoot = "canopy"

// Topics names the MQTT topics of protocol v1 under Root:
// <root>/v1/<device>/item|ack|status.
type Topics struct {
	Root string // "" means DefaultRoot; may contain '/', never '+' or '#'
}

func (t Topics) root() string {
	if t.Root == "" {
		return DefaultRoot
	}
	return strings.TrimSuffix(t.Root, "/")
}

func (t Topics) topic(device, kind string) string { return t.root() + "/v1/" + device + "/" + kind }

// Item is where device publishes its chunk frames (QoS 1).
func (t Topics) Item(device string) string { return t.topic(device, KindItem) }

// Ack is where the receiver publishes acks for device (QoS 1).
func (t Topics) Ack(device string) string { return t.topic(device, KindAck) }

// Status is device's retained status topic, also its last will (QoS 1).
func (t Topics) Status(device string) string { return t.topic(device, KindStatus) }

// Desired is where the cloud publishes device's signed desired document
// (QoS 1, retained).
func (t Topics) Desired(device string) string { return t.topic(device, KindDesired) }

// Fetch is where device asks for artifact chunks (QoS 1).
func (t Topics) Fetch(device string) string { return t.topic(device, KindFetch) }

// Artifact is where the cloud sends device the artifact chunks it asked
// for (QoS 1).
func (t Topics) Artifact(device string) string { return t.topic(device, KindArtifact) }

// FetchFilter matches every device's fetch topic.
func (t Topics) FetchFilter() string { return t.topic("+", KindFetch) }

// ItemFilter matches every device's item topic.
func (t Topics) ItemFilter() string { return t.topic("+", KindItem) }

// StatusFilter matches every device's status topic.
func (t Topics) StatusFilter() string { return t.topic("+", KindStatus) }

// SharedItemFilter is ItemFilter as an MQTT 5 / Mosquitto shared
// subscription of group, so that several receivers split the items.
func (t Topics) SharedItemFilter(group string) string {
	return "$share/" + group + "/" + t.ItemFilter()
}

// Compat is the topic of the compatibility input: JSON messages
// {"image": "<base64>", "image_metadata": {"image_name": "..."}}.
func (t Topics) Compat() string { return t.root() + "/v1/compat" }

// Parse splits a topic of protocol v1 into its device and kind.
func (t Topics) Parse(topic string) (device, kind string, ok bool) {
	rest, found := strings.CutPrefix(topic, t.root()+"/v1/")
	if !found {
		return "", "", false
	}
	device, kind, found = strings.Cut(rest, "/")
	if !found || ValidDevice(device) != nil {
		return "", "", false
	}
	switch kind {
	case KindItem, KindAck, KindStatus, KindDesired, KindFetch, KindArtifact:
		return device, kind, true
	}
	return "", "", false
}
