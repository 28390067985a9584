package api

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dashboard
var dashboardFiles embed.FS

// dashboardHandler serves the embedded dashboard (plain HTML, CSS and JS,
// no external resources) at /.
func dashboardHandler() http.Handler {
	sub, err := fs.Sub(dashboardFiles, "dashboard")
	if err != nil {
		panic(err)
	}
	return http.FileServerFS(sub)
}
