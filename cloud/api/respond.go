package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/canopy-forest/canopy/cloud/db"
)

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{Error: msg})
}

// lookupFailed answers a failed lookup of one record: 404 when there is
// none, 500 (logged) otherwise. what names the record ("image", "scan"),
// attr is the log key of its id ("item" for an image, as on every log line
// about an item).
func (s *Server) lookupFailed(w http.ResponseWriter, err error, what, attr, id string) {
	if errors.Is(err, db.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no %s %q", what, id))
		return
	}
	s.log.Error("get "+what, attr, id, "err", err)
	writeError(w, http.StatusInternalServerError, "get "+what+" failed")
}
