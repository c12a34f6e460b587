package server

import "net/http"

// closeWhenDraining answers with "Connection: close" once Drain was called,
// so keep-alive clients open their next connection to another replica
// instead of writing a request into a connection that shutdown is about to
// close.
func (s *Server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
