package servecmd

import (
	"context"
	"log/slog"

	"github.com/canopy-forest/canopy/internal/sdnotify"
)

// notifySystemd tells systemd (Type=notify, $NOTIFY_SOCKET) that serve is
// ready, with status as the STATUS= line, and that it is stopping once ctx
// ends. Outside systemd it does nothing. The returned channel closes after
// STOPPING=1 is sent.
func notifySystemd(ctx context.Context, status string, log *slog.Logger) <-chan struct{} {
	n := sdnotify.FromEnv()
	if err := n.Notify(sdnotify.MsgReady, "STATUS="+status); err != nil {
		log.Warn("systemd notify", "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		if err := n.Stopping(); err != nil {
			log.Warn("systemd notify", "err", err)
		}
	}()
	return done
}
