package identity

import (
	"strings"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Principal is an authenticated MQTT identity.
type Principal struct {
	Name string // the device id, for a device
	Role string // db.RoleDevice, db.RoleReceiver, db.RoleProducer
}

// Policy is who may publish and subscribe where, for one topic root.
type Policy struct {
	Topics wire.Topics
	// Compat lists the compatibility topics (producers publish there,
	// receivers read them).
	Compat []string
}

// Allow reports whether p may write (publish) or read (subscribe to, and
// receive) topic, which may be a filter with wildcards and a $share prefix
// for subscriptions.
//
//   - a device writes only <root>/v1/<itself>/item, .../status and
//     .../fetch (its requests for artifact chunks), and reads only
//     <root>/v1/<itself>/ack, .../desired and .../artifact;
//   - a receiver reads <root>/v1/+/item, <root>/v1/+/status and
//     <root>/v1/+/fetch (or those of one device) and the compat topics, and
//     writes <root>/v1/<device>/ack, .../desired and .../artifact;
//   - a producer writes only the compat topics.
//
// Nobody reads or writes anything else ($SYS included).
func (pol Policy) Allow(p Principal, topic string, write bool) bool {
	if !write {
		topic = unshare(topic)
	}
	dev, kind, ok := pol.parse(topic)
	switch p.Role {
	case db.RoleDevice:
		if !ok || dev != p.Name {
			return false
		}
		if write {
			return kind == wire.KindItem || kind == wire.KindStatus || kind == wire.KindFetch
		}
		return kind == wire.KindAck || kind == wire.KindDesired || kind == wire.KindArtifact
	case db.RoleReceiver:
		if ok && write {
			return (kind == wire.KindAck || kind == wire.KindDesired || kind == wire.KindArtifact) && dev != "+"
		}
		if ok && !write {
			return kind == wire.KindItem || kind == wire.KindStatus || kind == wire.KindFetch
		}
		return !write && pol.isCompat(topic)
	case db.RoleProducer:
		return write && pol.isCompat(topic)
	}
	return false
}

// parse splits <root>/v1/<device>/<kind>; the device may be "+" (a filter).
func (pol Policy) parse(topic string) (device, kind string, ok bool) {
	root := pol.Topics.Root
	if root == "" {
		root = "canopy"
	}
	rest, found := strings.CutPrefix(topic, root+"/v1/")
	if !found {
		return "", "", false
	}
	device, kind, found = strings.Cut(rest, "/")
	if !found || strings.Contains(kind, "/") {
		return "", "", false
	}
	if device != "+" && wire.ValidDevice(device) != nil {
		return "", "", false
	}
	return device, kind, true
}

func (pol Policy) isCompat(topic string) bool {
	for _, c := range pol.Compat {
		if topic == c {
			return true
		}
	}
	return false
}

// unshare strips "$share/<group>/" from a subscription filter.
func unshare(filter string) string {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			return f
		}
	}
	return filter
}
