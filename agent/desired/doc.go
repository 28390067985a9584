// Package desired is the agent's side of the cloud's desired state: it
// takes the signed desired document that the cloud publishes, retained, on
// the device's desired topic, fetches the model it names in chunks,
// checks what it would change, tries it, and keeps it or rolls back by
// itself. The cloud only states what it wants; the agent decides, and
// reports what it runs and why in its status (wire.Reported).
//
// A document is refused, with a log line and a report, when it is not
// signed with the cloud's key (sync.cloud_key), when it names another
// device, when its version is older than one the agent has seen (a
// replay), when its config overrides do not validate or set local-only
// keys, and when the model's bytes do not match the SHA-256 it signed.
//
// A model is fetched chunk by chunk (wire.FetchRequest, answered with
// artifact chunk frames), at most Options.FetchWindow chunks asked for at
// once, into a staging file on disk: memory holds a few chunks, never the
// model. What has arrived is recorded beside it after an fsync, so a
// download resumes after a restart or a lost link with the chunks that are
// missing. A complete file is checked against its SHA-256 and renamed into
// Dir/models: the swap is atomic.
//
// A change is tried in three steps: Options.Check (the config validates;
// the model loads, runs on a frame and gives a sane mask), then a trial
// (the host restarts with the new settings, Options.Restart), then the
// health window: the change is kept once Options.Healthy reports the
// agent connected to the cloud and capturing, and rolled back (the
// previous settings, kept on disk, run again) when the window ends first
// or when the agent restarts twice during the trial. Everything is
// recorded in Dir/state.json (written atomically), so a restart at any
// point resumes or rolls back.
//
// Lifecycle: Open, then Run(ctx) in a goroutine; the host gives the
// Manager to the publisher as its Downlink (sync/publish), and asks
// Current for the settings to run at every (re)start. Message, Connected,
// Report, Current, SetRunning and TrialFailed are safe to call from any
// goroutine.
package desired
