// Package testreceiver holds test doubles of the cloud side of protocol v1
// for the device's tests: Broker, an in-process MQTT broker (mochi-mqtt) on
// 127.0.0.1 that can be stopped and started again on the same port; Receiver,
// a subscriber that reassembles items with sync/wire, keeps them in memory
// and acknowledges them; and Proxy, a TCP proxy that cuts connections after a
// number of bytes. The real receiver is cloud/ingest.
package testreceiver
