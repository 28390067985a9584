// Package ingest is the cloud end of the link: it receives items from
// devices over MQTT, stores them and acknowledges them.
//
// A Receiver subscribes to the item topics (through a shared subscription
// $share/<group>/<root>/v1/+/item, so that several receivers split the load),
// reassembles the chunks with sync/wire, and hands each complete item to a
// Saver. The Saver checks the item (the device in the topic must be the
// device in the header, the image and mask must decode within the pixel
// limits), stores the image, the mask and a meta.json object in the raw
// bucket under blob.Key, and then writes the row (db.PutImage, which also
// enqueues the counting job). Only then does the Receiver publish the ack.
//
// Every step is idempotent by item id: a redelivered item lands on the same
// object keys and the same row, and is acknowledged again with Duplicate set.
// A failure to store (object store or database) sends no ack, so the device
// sends the item again. Invalid items are acknowledged as rejected with a
// reason, counted and logged, and stored nowhere. Objects that were stored
// but have no row (the receiver died between the two) are found by Reconcile.
//
// The retained status messages of the devices update their rows.
//
// Saver is safe for concurrent use (the compat inputs and the HTTP upload
// share it). Receiver.Run owns its goroutines and returns after they end.
package ingest
