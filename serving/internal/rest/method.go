package rest

import (
	"net/http"

	"github.com/imgclf/serving"
)

// AllowMethod answers 405 unless r uses want (HEAD passes for GET).
func AllowMethod(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Method == want || (want == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", want)
	WriteError(w, r, serving.Errorf(serving.MethodNotAllowed, "%s %s is not allowed; use %s", r.Method, r.URL.Path, want))
	return false
}
