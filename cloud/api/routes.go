package api

// routes declares every route of the server.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metrics())

	s.mux.HandleFunc("GET /v1/images", s.listImages)
	s.mux.HandleFunc("GET /v1/images/{id}", s.getImage)
}
