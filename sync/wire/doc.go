// Package wire is protocol v1 between field devices and the cloud receiver:
// topics, the binary chunk frame, chunking and reassembly, acknowledgements
// and device status. Both sides import it; docs/protocol.md specifies it in
// prose for third parties.
package wire
