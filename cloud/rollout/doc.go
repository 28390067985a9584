// Package rollout is the cloud's side of desired state: it sets a model
// and/or agent config overrides for a set of devices in waves, states each
// device's desired document, delivers the model in chunks on request, and
// records what each device reports. The devices decide to apply and to
// roll back (agent/desired); the cloud only states what it wants and
// watches.
//
// A Service works on the database alone, so that the canopy-cloud rollout
// command and every receiver can use it at once: Create stores the model
// (in chunks, sync/wire's size) and the rollout; Step, run every second by
// every receiver, sends the first wave (a canary share), the next wave
// once the previous one has answered (or after the wave timeout), halts a
// rollout when more than its halt threshold of the devices sent have
// failed (and gives the devices not yet changed their documents back),
// and marks it done when every device has answered. Pause, Resume and
// Abort are the operator's. Every wave transition is a conditional update,
// so receivers stepping the same rollout at once do each step once.
// Revoked devices get nothing.
//
// A Server is a receiver's MQTT side of it: it publishes, retained, every
// desired document that changes (and all of them when it starts, so a
// device that was away a week converges when it comes back), answers
// devices' chunk requests through a shared subscription (any receiver
// answers any request; the chunks are in the database), and records the
// reported state from the devices' status messages.
//
// Audit: every operator action and automatic halt goes through
// Service.Audit, the one place an audit trail hooks in.
//
// Lifecycle: NewServer, then Run(ctx), which blocks until ctx ends. The
// Service's methods are safe for concurrent use.
package rollout
