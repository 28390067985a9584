// Package broker is the embedded MQTT broker of canopy-cloud's embedded
// defaults: github.com/mochi-mqtt/server/v2 on one TCP listener, with
// retained messages and shared subscriptions ($share/<group>/...).
//
// New binds the listener at once, so that a port already in use (1883 is
// often taken by a system Mosquitto) is reported before anything else starts,
// with a message that says what to do. Run serves until its context ends.
//
// Identity: every client authenticates, on loopback too, as an identity of
// the registry (cloud/identity: devices, receivers and producers registered
// with `canopy-cloud device add`, and the receiver of this process), by
// username and password or, on the TLS listener, by a client certificate
// signed by the cloud's device CA (its common name is the identity). Each
// identity may use only the topics of its role (identity.Policy): a device
// publishing on another device's topic is disconnected, a subscription to
// another device's acks is refused. Revoke disconnects revoked identities.
// Clients on the plain listener must come from a loopback address unless
// Config.AllowRemote is set; the TLS listener (Config.TLSAddr) is for
// devices in the field. Config.Anonymous (tests of other packages only)
// lets every loopback client in.
package broker
