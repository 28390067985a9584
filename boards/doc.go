// Package boards holds the board profiles (profiles/*.yaml, embedded): the
// camera, ONNX Runtime execution provider, threads, JPEG quality and outbox
// size that suit each board the agent runs on.
//
// Profiles are data. Lookup finds one by name (the agent's --board flag);
// Detect picks one from /proc/device-tree/model, or the default profile of
// the running architecture. The agent applies a profile as a layer between
// its built-in defaults and its config file. Code branches on a profile's
// fields (its provider, its camera source), never on its name.
//
// Everything here is read-only after init and safe for concurrent use. The
// systemd unit, Debian package templates and cross-build notes live beside
// this package (boards/systemd, boards/deb, docs/deploy.md).
package boards
