// Package boards holds the board profiles (profiles/*.yaml, embedded): the
// camera, ONNX Runtime execution provider, threads, JPEG quality and outbox
// size that suit each board the agent runs on.
package boards
