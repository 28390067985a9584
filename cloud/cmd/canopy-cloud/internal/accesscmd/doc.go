// Package accesscmd holds the commands of canopy-cloud that say who may
// do what: device (the registry of devices, receivers and producers, and
// purging a device), token (API tokens), broker-config (Mosquitto's files
// from the registry) and audit (the trail of these changes).
package accesscmd
