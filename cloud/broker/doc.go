// Package broker is the embedded MQTT broker of canopy-cloud's embedded
// defaults: github.com/mochi-mqtt/server/v2 on one TCP listener, with
// retained messages and shared subscriptions ($share/<group>/...).
//
// New binds the listener at once, so that a port already in use (1883 is
// often taken by a system Mosquitto) is reported before anything else starts,
// with a message that says what to do. Run serves until its context ends.
//
// Authentication: by default every client connecting from a loopback address
// is allowed, and clients from any other address are refused. Set
// Config.AllowRemote to accept every client (only on a trusted network: there
// is no password check). Production setups use an external broker (--broker)
// with its own authentication and TLS.
package broker
