package dbtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// testAudit: entries read back in order with their time, Since and Limit
// select, bad entries are refused, and the database itself refuses to
// update or delete an entry.
func testAudit(t *testing.T, d *db.DB) {
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	want := []db.AuditEntry{
		{Who: "cli:root@host", Action: db.AuditDeviceAdd, Subject: "pi-07", Detail: "role device"},
		{Who: "token:0123456789ab (ci)", Action: db.AuditUpload, Subject: "01HX", Detail: "scan s1"},
	}
	for _, e := range want {
		if err := d.Audit(ctx, e); err != nil {
			t.Fatalf("Audit(%+v): %v", e, err)
		}
	}
	got, err := d.ListAudit(ctx, db.AuditQuery{})
	if err != nil || len(got) != len(want) {
		t.Fatalf("ListAudit = %+v, %v; want %d entries", got, err, len(want))
	}
	for i, e := range got {
		w := want[i]
		if e.Who != w.Who || e.Action != w.Action || e.Subject != w.Subject || e.Detail != w.Detail || e.ID == 0 ||
			e.At.Before(before) || e.At.After(time.Now().Add(time.Second)) {
			t.Errorf("entry %d = %+v, want %+v at about now", i, e, w)
		}
	}
	if got[1].ID <= got[0].ID {
		t.Errorf("ids %d, %d: want increasing", got[0].ID, got[1].ID)
	}
	if n, _ := d.ListAudit(ctx, db.AuditQuery{Since: time.Now().Add(time.Hour)}); len(n) != 0 {
		t.Errorf("ListAudit(since an hour ahead) = %d entries, want 0", len(n))
	}
	if n, _ := d.ListAudit(ctx, db.AuditQuery{Limit: 1}); len(n) != 1 || n[0].ID != got[0].ID {
		t.Errorf("ListAudit(limit 1) = %+v, want the oldest entry", n)
	}
	for _, bad := range []db.AuditEntry{{Action: db.AuditUpload}, {Who: "cli:x"}} {
		if err := d.Audit(ctx, bad); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("Audit(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	for _, q := range []string{`UPDATE audit SET who = 'someone else'`, `DELETE FROM audit`} {
		if _, err := d.SQL().ExecContext(ctx, q); err == nil {
			t.Errorf("%s: succeeded, want the database to refuse it", q)
		}
	}
	if after, _ := d.ListAudit(ctx, db.AuditQuery{}); len(after) != len(want) || after[0].Who != want[0].Who {
		t.Errorf("after UPDATE and DELETE: %+v, want the entries unchanged", after)
	}
}
