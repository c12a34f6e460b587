package server

import (
	"net/http"

	"github.com/imgclf/serving/internal/reqinfo"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// RequestID keeps a caller's X-Request-Id (so one id follows a request
// across services) or makes a new one, echoes it in the response and puts
// it in the context for logs (reqinfo.ID).
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !reqinfo.ValidID(id) {
			id = reqinfo.NewID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(reqinfo.WithID(r.Context(), id)))
	})
}
