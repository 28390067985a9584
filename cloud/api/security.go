package api

import "net/http"

// ContentSecurityPolicy is sent with every answer. The dashboard loads its
// scripts and styles from this server only (no inline script or style);
// images come from here, from blob: URLs of images fetched with the token,
// from presigned object-store links and from the optional tile server, so
// img-src allows any http(s) origin; it may connect back to this server
// only, and nothing may frame it.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders adds the headers that keep a browser from running,
// sniffing or framing what it should not; with TLS, also HSTS.
func securityHeaders(next http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
