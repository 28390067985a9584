// Package fleet is the fleet harness: many simulated devices (each with the
// real sync/outbox and sync/publish), a broker, several canopy-cloud
// receivers in one share group, PostgreSQL and an S3 server, with faults
// injected while items flow (receivers SIGKILLed and started again, the
// broker SIGKILLed and started again, device links cut in the middle of an
// item). Run waits until every outbox has drained, then compares what the
// devices had confirmed with the rows and objects in the cloud and reports
// what was confirmed, stored, duplicated and lost, and the time from put
// to ack.
//
// RunRollout rolls a model out to such devices instead (each also runs the
// real desired-state Manager of agent/desired), through one canopy-cloud
// receiver and canopy-cloud rollout create, with a real canopy-agent among
// them and, optionally, the faults of issue 23: a device offline during
// the rollout, the agent SIGKILLed mid-download, a corrupt model that must
// halt the rollout.
//
// scripts/fleet is its command (make bench runs it); the package's tests
// run a small fleet against the real services of make test.
package fleet
