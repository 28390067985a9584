// Package agent runs the field agent's pipeline: capture → segment →
// select → encode → sink.
//
// An Agent is built with New and run once with Run(ctx), which opens the
// capture source (resuming after the sink's recorded cursor when the sink
// keeps one), runs three stages connected by small channels (capture;
// segment and select; encode and put), and returns nil when the source has
// ended and every frame has been handled, or when ctx is cancelled. On
// cancellation it stops the capture first, then drains the frames already
// read within Options.DrainTimeout.
//
// Items go to a Sink, declared here: DirSink writes them to a folder;
// OutboxSink puts them in the durable outbox (sync/outbox), the production
// sink. Every log line about an item carries its id under the key "item".
// NewSegmenter picks the segmenter (DefaultSegmenter: the shipped ONNX
// model when found, else classical).
//
// Stats and Health may be called concurrently with Run.
package agent
