// Package telemetry gives each frame the state of the vehicle that carried
// the camera: where it was, how high above home, and how it and its camera
// pointed, from the flight controller's MAVLink telemetry
// (github.com/bluenviron/gomavlib/v3, dialect ardupilotmega).
//
// Open takes a spec (ParseSpec): a live link, udp://HOST:PORT (listen),
// tcp://HOST:PORT (connect) or serial:DEVICE[:BAUD], or a recorded log,
// tlog:FILE. A Buffer keeps the vehicle's GLOBAL_POSITION_INT, ATTITUDE,
// gimbal attitude (GIMBAL_DEVICE_ATTITUDE_STATUS, MOUNT_STATUS), HEARTBEAT
// (armed), GPS_RAW_INT and SYSTEM_TIME indexed by time, and At interpolates
// the state at any time inside it; a time farther than the largest gap
// from every position sample has none, and the error says why.
//
// Times: a log's messages are stamped with their record's time (the 8-byte
// stamp before each frame); a live link's messages are put on the board's
// clock through their time since the vehicle's boot (the least delay seen
// over the last 20 s), so that link jitter does not move them, and
// SYSTEM_TIME tells how far the vehicle's UTC is from the board's clock.
//
// Lifecycle: Open reads a log whole, or starts a link; Run takes the link's
// messages until its context is done (a link that drops, such as a serial
// port that vanishes, is reopened every 2 s); Close is idempotent. A Buffer
// and an Input are safe for concurrent use: one writer, any readers.
//
// LogReader reads a log record by record (skipping bytes that are not
// records, and reporting a log cut in the middle of one), Replay sends a
// log to a link as a flight controller would, and Gate holds back frames
// while the flight is not worth capturing (disarmed, too low, camera off
// nadir, too near the last frame).
package telemetry
