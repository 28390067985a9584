package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// Audit is the audit trail (db.DB has it): changes are appended, and read
// back by GET /v1/audit.
type Audit interface {
	Audit(ctx context.Context, e db.AuditEntry) error
	ListAudit(ctx context.Context, q db.AuditQuery) ([]db.AuditEntry, error)
}

// auditTrail is V1Options.Audit, else the Store when it has the trail;
// nil when there is none.
func (s *Server) auditTrail() Audit {
	if s.v1.Audit != nil {
		return s.v1.Audit
	}
	if a, ok := s.v1.Store.(Audit); ok {
		return a
	}
	return nil
}

// Who names the maker of a request in the audit trail: "token:<id>
// (<name>)", or "anonymous (--auth=off) <remote address>".
func Who(r *http.Request) string {
	t, ok := tokenFrom(r.Context())
	if !ok {
		return "anonymous (--auth=off) " + r.RemoteAddr
	}
	return "token:" + t.ID() + quotedName(t.Name)
}

// audit records a change the request made. A failure is logged: the change
// is done and its answer stands.
func (s *Server) audit(r *http.Request, action, subject, detail string) {
	a := s.auditTrail()
	if a == nil {
		return
	}
	if err := a.Audit(r.Context(), db.AuditEntry{Who: Who(r), Action: action, Subject: subject, Detail: detail}); err != nil {
		s.log.Error("audit trail: entry not recorded", "action", action, "subject", subject, "err", err)
	}
}

// AuditList is the body of GET /v1/audit.
type AuditList struct {
	Entries []db.AuditEntry `json:"entries"`
}

// listAudit: GET /v1/audit?since=RFC3339|DURATION&limit=N, oldest first
// (admin scope, checked by the auth middleware).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	a := s.auditTrail()
	if a == nil {
		writeError(w, http.StatusServiceUnavailable, "no audit trail configured")
		return
	}
	q := db.AuditQuery{Limit: 1000}
	if v := r.URL.Query().Get("since"); v != "" {
		since, err := ParseSince(v, time.Now())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		q.Since = since
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to 10000", v))
			return
		}
		q.Limit = n
	}
	es, err := a.ListAudit(r.Context(), q)
	if err != nil {
		s.log.Error("list audit", "err", err)
		writeError(w, http.StatusInternalServerError, "list audit failed")
		return
	}
	writeJSON(w, http.StatusOK, AuditList{Entries: es})
}

// ParseSince reads a start time: an RFC 3339 time, or a duration back from
// now (24h, 90m, or days: 7d).
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if days, ok := cutDays(v); ok {
		d, err = time.Duration(days)*24*time.Hour, nil
	}
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time (2026-05-01T00:00:00Z) or a duration back from now (24h, 7d)", v)
	}
	return now.Add(-d), nil
}

// cutDays reads "7d" as 7.
func cutDays(v string) (int, bool) {
	if len(v) < 2 || v[len(v)-1] != 'd' {
		return 0, false
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	return n, err == nil && n >= 0 && n <= 36500
}
