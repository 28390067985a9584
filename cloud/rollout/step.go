package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// Step advances every running rollout once: it records what the devices
// sent a change answered; when the current wave has answered (or timed
// out) it halts the rollout if more than its threshold of the devices sent
// so far failed, and else sends the next wave, or marks the rollout done
// when every device has answered. Receivers run it
// every second; several at once do each transition once.
func (s *Service) Step(ctx context.Context) error {
	rs, err := s.DB.ListRollouts(ctx, db.RolloutRunning)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if err := s.step(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("rollout %s: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) step(ctx context.Context, r db.Rollout) error {
	ts, err := s.DB.RolloutTargets(ctx, r.ID)
	if err != nil {
		return err
	}
	sent, failed := 0, 0
	for i := range ts {
		t := &ts[i]
		if t.State == db.TargetSent {
			if state, detail := answer(*t); state != t.State {
				if err := s.DB.SetTargetState(ctx, r.ID, t.Device, state, detail); err != nil {
					return err
				}
				t.State, t.Detail = state, detail
				s.log().Info("rollout device answered", "rollout", r.ID, "device", t.Device, "version", t.Version, "state", state, "detail", detail)
			}
		}
		switch t.State {
		case db.TargetSent, db.TargetApplied:
			sent++
		case db.TargetFailed:
			sent++
			failed++
		}
	}
	// A wave's verdict is taken when all its devices have answered, or at
	// its timeout: the next wave, or a halt.
	if r.Wave > 0 && !waveDone(ts, r.Wave) && time.Since(r.WaveStartedAt) < r.WaveTimeout {
		return nil
	}
	if failed > 0 && float64(failed) > r.HaltThreshold*float64(sent) {
		why := fmt.Sprintf("%d of the %d devices sent failed, more than the halt threshold of %.0f%%", failed, sent, 100*r.HaltThreshold)
		ok, err := s.DB.SetRolloutState(ctx, r.ID, []string{db.RolloutRunning}, db.RolloutHalted, why)
		if err != nil || !ok {
			return err
		}
		s.log().Warn("rollout halted", "rollout", r.ID, "reason", why)
		s.audit(ctx, Event{Rollout: r.ID, Action: "halt", Detail: why})
		return s.withdraw(ctx, r.ID, withdrawal{silent: true})
	}
	next := nextWave(ts, r.Wave)
	if next == 0 {
		if allAnswered(ts) {
			ok, err := s.DB.SetRolloutState(ctx, r.ID, []string{db.RolloutRunning}, db.RolloutDone, "")
			if err != nil || !ok {
				return err
			}
			s.log().Info("rollout done", "rollout", r.ID, "failed", failed)
			return s.withdraw(ctx, r.ID, withdrawal{})
		}
		return nil
	}
	var devs []string
	for _, t := range ts {
		if t.Wave != next || t.State != db.TargetPending {
			continue
		}
		if s.revoked(ctx, t.Device) { // since the rollout was created
			if err := s.DB.SetTargetState(ctx, r.ID, t.Device, db.TargetSkipped, "revoked"); err != nil {
				return err
			}
			continue
		}
		devs = append(devs, t.Device)
	}
	ok, err := s.sendWave(ctx, r, next, devs)
	if err == nil && ok {
		s.log().Info("rollout wave sent", "rollout", r.ID, "wave", next, "devices", len(devs))
	}
	return err
}

// answer is what t's report says of the version sent to it: applied,
// failed (refused or rolled back), or still sent.
func answer(t db.RolloutTarget) (state, detail string) {
	p := t.Reported
	switch {
	case p == nil:
		return db.TargetSent, ""
	case p.Version >= t.Version:
		return db.TargetApplied, ""
	case p.FailedVersion >= t.Version:
		return db.TargetFailed, p.LastError
	}
	return db.TargetSent, ""
}

// waveDone reports whether every device of wave w has answered.
func waveDone(ts []db.RolloutTarget, w int) bool {
	for _, t := range ts {
		if t.Wave == w && (t.State == db.TargetSent || t.State == db.TargetPending) {
			return false
		}
	}
	return true
}

func allAnswered(ts []db.RolloutTarget) bool {
	for _, t := range ts {
		if t.State == db.TargetSent || t.State == db.TargetPending {
			return false
		}
	}
	return true
}

// nextWave is the first wave after w with a device to send to (0: none);
// waves whose devices were all skipped are passed over.
func nextWave(ts []db.RolloutTarget, w int) int {
	next := 0
	for _, t := range ts {
		if t.Wave > w && t.State == db.TargetPending && (next == 0 || t.Wave < next) {
			next = t.Wave
		}
	}
	return next
}

// sendWave changes the desired documents of devs, wave w of r; false when
// another receiver sent it first.
func (s *Service) sendWave(ctx context.Context, r db.Rollout, w int, devs []string) (bool, error) {
	a, err := s.artifact(ctx, r)
	if err != nil {
		return false, err
	}
	return s.DB.SendDesired(ctx, r.ID, db.WaveMove{From: r.Wave, To: w}, db.TargetSent, devs, func(dev string, cur *db.DesiredDoc, _ string) (db.DesiredDoc, error) {
		return s.changed(dev, cur, r, a)
	})
}

// Which devices withdraw gives their documents back.
type withdrawal struct {
	silent  bool // those sent the change that have not answered (they become withdrawn)
	pending bool // mark those never sent it withdrawn
}

// withdraw gives back the documents they had before rollout id to its
// devices that were sent its change and failed it (they stay failed in
// the rollout), and to those w says.
func (s *Service) withdraw(ctx context.Context, id string, w withdrawal) error {
	ts, err := s.DB.RolloutTargets(ctx, id)
	if err != nil {
		return err
	}
	var silent, failed []string
	for _, t := range ts {
		switch {
		case t.State == db.TargetFailed:
			failed = append(failed, t.Device)
		case t.State == db.TargetSent && w.silent:
			silent = append(silent, t.Device)
		case t.State == db.TargetPending && w.pending:
			if err := s.DB.SetTargetState(ctx, id, t.Device, db.TargetWithdrawn, "never sent"); err != nil {
				return err
			}
		}
	}
	restore := func(dev string, cur *db.DesiredDoc, before string) (db.DesiredDoc, error) {
		return s.restored(dev, cur, before)
	}
	for _, g := range []struct {
		state string
		devs  []string
	}{{db.TargetWithdrawn, silent}, {db.TargetFailed, failed}} {
		if len(g.devs) == 0 {
			continue
		}
		if _, err := s.DB.SendDesired(ctx, id, db.WaveMove{}, g.state, g.devs, restore); err != nil {
			return err
		}
		s.log().Info("rollout withdrawn from devices", "rollout", id, "devices", len(g.devs), "state", g.state)
	}
	return nil
}
