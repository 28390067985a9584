package desired

import "errors"

// Reasons a document is refused, besides the wire's (wire.ErrDesiredUnsigned,
// wire.ErrDesiredBadSignature, wire.ErrDesiredOtherDevice).
var (
	// ErrReplay: the document's version is older than one the agent has
	// already seen.
	ErrReplay = errors.New("replayed desired document")
	// ErrDigestMismatch: the model's bytes are not the ones whose SHA-256
	// the document signed.
	ErrDigestMismatch = errors.New("model sha256 differs from the signed document")
	// ErrNoCloudKey: the agent has no cloud key to verify documents with.
	ErrNoCloudKey = errors.New("no sync.cloud_key: desired documents cannot be verified")
)
