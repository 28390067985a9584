package worker_test

import (
	"testing"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/register"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// TestRegistrarAfterCounting: counting a scan's photos marks it changed;
// the registrar claims it once, records what it found (in a build
// without OpenCV: that registration is unavailable, the scan merged by
// position), and finds nothing more to do.
func TestRegistrarAfterCounting(t *testing.T) {
	backends(t, func(t *testing.T, d *db.DB) {
		bs := setup(t, d, 3)
		p := worker.New(worker.Config{}, d, bs, &fakeCounter{}, nil)
		for i := 0; i < 3; i++ {
			if did, err := p.Once(t.Context(), "w"); !did || err != nil {
				t.Fatal(did, err)
			}
		}
		r := worker.NewRegistrar(worker.RegistrarConfig{Settle: -1}, d, bs, nil)
		if did, err := r.Once(t.Context()); !did || err != nil {
			t.Fatalf("registrar: %v, %v", did, err)
		}
		reg, err := d.GetRegistration(t.Context(), "scan1")
		if err != nil {
			t.Fatal(err)
		}
		want := db.RegDone
		if register.Available() != nil {
			want = db.RegUnavailable
		}
		// The photos are 32 x 32 pixels of grey: nothing to register.
		if reg.State != want || reg.Pending || reg.Stats.Photos != 3 || reg.Stats.Registered != 0 || reg.Stats.Unregistered != 3 ||
			reg.Note == "" {
			t.Errorf("registration %+v", reg)
		}
		if did, err := r.Once(t.Context()); did || err != nil {
			t.Errorf("registrar again: %v, %v; want nothing to do", did, err)
		}
	})
}
