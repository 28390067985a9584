// Package browser holds the dashboard's end-to-end test: canopy-cloud
// serve, a token, an upload counted by the workers, and headless Chromium
// showing the image, its count and the scan total.
package browser
