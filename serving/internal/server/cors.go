package server

import (
	"net/http"
	"slices"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// CORS lets pages served from the listed origins call the API from a
// browser (TF Serving's --rest_api_enable_cors_support, but per origin).
// "*" allows any origin. No origins (the default) means no CORS headers at
// all, so browsers keep other sites' scripts out, as before.
//
// A preflight (OPTIONS with Access-Control-Request-Method) from an allowed
// origin gets 204 with the methods and headers the API takes; from any
// other origin it gets 403. Credentials are never allowed: the API has no
// cookies to protect, and "*" with credentials would be unsafe.
func CORS(allowedOrigins []string) func(http.Handler) http.Handler {
	anyOrigin := slices.Contains(allowedOrigins, "*")
	allowed := func(origin string) bool { return anyOrigin || slices.Contains(allowedOrigins, origin) }
	return func(next http.Handler) http.Handler {
		if len(allowedOrigins) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if !allowed(origin) {
				if preflight {
					reqinfo.Annotate(r.Context(), "", registry.Latest, "cors_preflight")
					rest.WriteError(w, r, serving.Errorf(serving.Forbidden, "origin %q is not in --cors-allowed-origins", origin))
					return
				}
				next.ServeHTTP(w, r) // no CORS headers: the browser withholds the answer
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			if !preflight {
				h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
				next.ServeHTTP(w, r)
				return
			}
			reqinfo.Annotate(r.Context(), "", registry.Latest, "cors_preflight")
			h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST")
			h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		})
	}
}

// corsAllowedHeaders are the request headers the API reads.
const corsAllowedHeaders = "Content-Type, X-Request-Id, Inference-Header-Content-Length"
