// Package identity is who may speak for whom: the credentials of devices,
// receivers and compat producers (kept in the database, cloud/db), the
// cloud's own keys (an Ed25519 key that signs every ack, and a CA that signs
// device client certificates, made on first start and kept in the
// database so that every receiver shares them), and the MQTT policy that
// follows from them: a device may publish only on its own item and status
// topics and read only its own acks; receivers read items and statuses and
// publish acks; producers publish only on the compat topics.
//
// The embedded broker (cloud/broker) enforces the policy through a
// Registry, a cache of the credentials refreshed from the database; for
// external brokers, MosquittoFiles writes a password file and an ACL file
// with the same policy. Passwords are stored only as PBKDF2-SHA512 hashes
// in Mosquitto's "$7$" format, so the same hash serves both.
//
// Registry is safe for concurrent use.
package identity
