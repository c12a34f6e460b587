package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// Recover turns a panic in a handler into a logged stack trace and a 500
// JSON reply, so one bad request cannot take the server down.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler { // net/http's deliberate abort
					panic(p)
				}
				logger.Error("panic serving request", "request_id", reqinfo.ID(r.Context()),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.wroteHeader() {
					return // too late for an error reply; the client sees a cut response
				}
				rest.WriteError(rec, r, serving.Errorf(serving.Internal, "internal error (request id %s); the server logged the details", reqinfo.ID(r.Context())))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
