// Package sdnotify speaks systemd's notify protocol (sd_notify(3)) without
// cgo or extra modules: one datagram on the unix socket named by
// $NOTIFY_SOCKET per message.
//
// A service with Type=notify calls Ready once it serves, Stopping when it
// begins to shut down, and, under WatchdogSec=, runs a Watchdog that sends
// WATCHDOG=1 every half of $WATCHDOG_USEC while its health check passes.
// When the process is not started by systemd ($NOTIFY_SOCKET unset) every
// call does nothing and returns nil.
//
// A Notifier is safe for concurrent use. Watchdog.Run blocks until its
// context ends and returns nil then.
package sdnotify
