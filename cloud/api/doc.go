// Package api is canopy-cloud's HTTP server: the read API over stored images
// (GET /v1/images, GET /v1/images/{id}), health (/healthz, /readyz) and
// Prometheus metrics (/metrics).
//
// Server holds its dependencies in Options; every route is declared in one
// place, routes.go, with the standard library's method-and-path patterns
// (Go 1.22 ServeMux). Handlers live in one file per resource (images.go,
// health.go). Errors are JSON: {"error": "..."} with a 4xx or 5xx status.
//
// EnableV1 adds uploads, scans, devices and the dashboard, and asks every
// /v1 request for a bearer token (auth.go): a missing, unknown, expired or
// revoked token gets 401 (logged), a read token that writes 403. A token
// bound to a device may upload only for that device; a token bound to none
// only images that name no device (uploadDevice).
//
// Run serves until its context ends, then shuts down with a short deadline.
// Handler and the handlers are safe for concurrent use.
package api
