package site

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/rollout"
)

// Who names the person at the command line in the audit trail:
// "cli:<user>@<host>" (SUDO_USER, when set, is the user behind sudo).
func Who() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = os.Getenv("USER")
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}

// Audit records a change made from the command line. Call it once the
// change is done; adding an audited command is one line:
//
//	if err := site.Audit(ctx, d, db.AuditRolloutCreate, id, "model x.onnx to 12 devices"); err != nil { return err }
func Audit(ctx context.Context, d *db.DB, action, subject, detail string) error {
	if err := d.Audit(ctx, db.AuditEntry{Who: Who(), Action: action, Subject: subject, Detail: detail}); err != nil {
		return fmt.Errorf("%s %s is done, but its audit entry was not written: %w", action, subject, err)
	}
	return nil
}

// rolloutActions names each rollout event in the audit trail.
var rolloutActions = map[string]string{
	"create": db.AuditRolloutCreate, "abort": db.AuditRolloutAbort, "pause": db.AuditRolloutPause,
	"resume": db.AuditRolloutResume, "halt": db.AuditRolloutHalt,
}

// RolloutAudit writes each rollout event to the audit trail as who (Who,
// or serve's name for the halts it decides); an entry that cannot be
// written is logged (the change is done by then).
func RolloutAudit(d *db.DB, who string, log *slog.Logger) func(context.Context, rollout.Event) {
	return func(ctx context.Context, e rollout.Event) {
		action, ok := rolloutActions[e.Action]
		if !ok {
			action = "rollout." + e.Action
		}
		if err := d.Audit(ctx, db.AuditEntry{Who: who, Action: action, Subject: e.Rollout, Detail: e.Detail}); err != nil {
			log.Error("audit entry not written", "action", action, "rollout", e.Rollout, "err", err)
		}
	}
}
