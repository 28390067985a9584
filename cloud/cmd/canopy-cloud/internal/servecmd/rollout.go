package servecmd

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/cloud/rollout"
	"github.com/canopy-forest/canopy/sync/wire"
)

// newRolloutServer is serve's rollout server: on the receiver's broker,
// with its identity and share group.
func newRolloutServer(c config.Serve, d *db.DB, keys *identity.Keys, broker, clientID, user, pass string, reg prometheus.Registerer, log *slog.Logger) (*rollout.Server, error) {
	svc := &rollout.Service{DB: d, Key: keys.Signer, Log: log, Audit: site.RolloutAudit(d, "serve:"+clientID, log)}
	return rollout.NewServer(rollout.ServerConfig{
		Broker: broker, ClientID: clientID + "-rollout", Username: user, Password: pass,
		Topics: wire.Topics{Root: c.TopicRoot}, ShareGroup: c.ShareGroup, NoShare: c.NoShare,
		Metrics: rollout.NewMetrics(reg), StepEvery: time.Second,
	}, svc, log)
}
