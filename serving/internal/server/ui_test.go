package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
	"github.com/imgclf/serving/internal/ui"
)

// recordingObserver keeps every observed request's endpoint and status.
type recordingObserver struct {
	mu   sync.Mutex
	seen []string
}

func (o *recordingObserver) ObserveRequest(model, version, endpoint string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, fmt.Sprintf("%s %s %s %d", model, version, endpoint, status))
}

func (o *recordingObserver) has(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.seen {
		if x == s {
			return true
		}
	}
	return false
}

func TestUIPages(t *testing.T) {
	obs := &recordingObserver{}
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{UI: true, Observer: obs})
	tests := []struct {
		method, path string
		status       int
		contentType  string
		want         string
	}{
		{"GET", "/", 200, "text/html", `<script src="/ui/assets/app.js"`},
		{"GET", "/ui/", 200, "text/html", `id="model-list"`},
		{"GET", "/ui", 200, "text/html", `id="model-list"`},
		{"GET", "/ui/models/imgclf", 200, "text/html", `id="card-accuracy"`},
		{"GET", "/ui/assets/app.js", 200, "text/javascript", `"use strict"`},
		{"GET", "/ui/assets/style.css", 200, "text/css", `.prediction`},
		{"GET", "/ui/models/nope", 404, "text/html", "404: not found"},
		{"GET", "/ui/models/imgclf/extra", 404, "text/html", "404: not found"},
		{"GET", "/ui/assets/notfound.html", 404, "text/html", "404: not found"},
		{"GET", "/ui/anything", 404, "text/html", "404: not found"},
		{"POST", "/", 405, "application/json", `"error"`},
		{"DELETE", "/ui/assets/app.js", 405, "application/json", "is not allowed"},
	}
	for _, tt := range tests {
		status, body, h := servertest.Do(t, tt.method, url+tt.path, "")
		if status != tt.status || !strings.HasPrefix(h.Get("Content-Type"), tt.contentType) || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s = %d %q %.80q; want %d %s containing %q", tt.method, tt.path, status, h.Get("Content-Type"), body, tt.status, tt.contentType, tt.want)
		}
		if h.Get("Content-Security-Policy") != ui.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: CSP %q nosniff %q; want both on every page response", tt.method, tt.path, h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"))
		}
	}
	if !obs.has("  ui 200") || !obs.has("  ui 404") {
		t.Errorf("page requests not in metrics as endpoint ui: %v", obs.seen)
	}

	// The ETag revalidates; HEAD has no body.
	_, _, h := servertest.Do(t, "GET", url+"/ui/assets/app.js", "")
	req, _ := http.NewRequest("GET", url+"/ui/assets/app.js", nil)
	req.Header.Set("If-None-Match", h.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
		t.Errorf("revalidation with the ETag: %v %v; want 304", resp, err)
	} else {
		resp.Body.Close()
	}
	if status, body, _ := servertest.Do(t, "HEAD", url+"/", ""); status != 200 || body != "" {
		t.Errorf("HEAD / = %d %q; want 200 without a body", status, body)
	}
}

// The CSP forbids inline script, so the page must have none: every script
// element loads a file, no element has an on* handler or a style attribute,
// and no javascript: URL appears.
func TestUIHasNoInlineScriptOrStyle(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{UI: true})
	for _, path := range []string{"/ui/", "/ui/models/nope"} {
		_, body, _ := servertest.Do(t, "GET", url+path, "")
		for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline script %q", path, m[0])
			}
		}
		for _, bad := range []string{`(?i)\son[a-z]+\s*=`, `(?i)\sstyle\s*=`, `(?i)<style`, `(?i)javascript:`, `(?i)https?://`} {
			if loc := regexp.MustCompile(bad).FindStringIndex(body); loc != nil {
				t.Errorf("%s: %s at %q", path, bad, body[max(0, loc[0]-20):min(len(body), loc[1]+20)])
			}
		}
	}
	if !strings.Contains(ui.ContentSecurityPolicy, "script-src 'self'") || strings.Contains(ui.ContentSecurityPolicy, "unsafe") {
		t.Errorf("CSP %q must allow only the page's own script", ui.ContentSecurityPolicy)
	}
	// The script builds elements with textContent only: a model name or a
	// file name must never become markup.
	_, js, _ := servertest.Do(t, "GET", url+"/ui/assets/app.js", "")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

func TestUIOff(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
	for _, path := range []string{"/", "/ui/", "/ui/assets/app.js"} {
		status, body, h := servertest.Do(t, "GET", url+path, "")
		if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, "no such path") {
			t.Errorf("--ui=false: GET %s = %d %s; want the API's 404", path, status, body)
		}
	}
}

func TestCORS(t *testing.T) {
	send := func(url, method, origin string, preflight bool) (int, http.Header) {
		req, _ := http.NewRequest(method, url, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	_, off := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
	if status, h := send(off+"/v1/models/imgclf", "GET", "https://app.example.com", false); status != 200 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins configured: %d ACAO %q; want no CORS headers", status, h.Get("Access-Control-Allow-Origin"))
	}
	if status, h := send(off+"/v1/models/imgclf:predict", "OPTIONS", "https://app.example.com", true); status != 405 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins configured, preflight: %d ACAO %q; want 405 and no CORS headers", status, h.Get("Access-Control-Allow-Origin"))
	}

	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{CORSOrigins: []string{"https://app.example.com"}})
	status, h := send(url+"/v1/models/imgclf", "GET", "https://app.example.com", false)
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Vary"), "Origin") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("allowed origin: %d %v", status, h)
	}
	status, h = send(url+"/v1/models/imgclf:classify-image", "OPTIONS", "https://app.example.com", true)
	if status != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("allowed preflight: %d %v", status, h)
	}
	if status, h := send(url+"/v1/models/imgclf", "GET", "https://evil.example", false); status != 200 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: %d ACAO %q; want no CORS headers", status, h.Get("Access-Control-Allow-Origin"))
	}
	if status, h := send(url+"/v1/models/imgclf:predict", "OPTIONS", "https://evil.example", true); status != 403 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin, preflight: %d %v; want 403", status, h)
	}

	_, anyURL := servertest.Start(t, servingtest.NewImageModel(), server.Options{CORSOrigins: []string{"*"}})
	if _, h := send(anyURL+"/v2/health/ready", "GET", "http://localhost:3000", false); h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("*: ACAO %q; want the request's origin", h.Get("Access-Control-Allow-Origin"))
	}
}

// FuzzUIRequest: any method and path under the page's routes answers a
// page, the 404 page or a 4xx JSON error, always with the CSP; never a 5xx.
func FuzzUIRequest(f *testing.F) {
	for _, p := range []string{"/", "/ui/", "/ui/models/imgclf", "/ui/models/%2e%2e", "/ui/assets/app.js", "/ui/assets/", "/ui//models"} {
		f.Add("GET", p)
	}
	f.Add("POST", "/ui/")
	f.Add("HEAD", "/ui/assets/style.css")
	reg := registry.New()
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel()})
	h := server.New(server.Options{UI: true, Registry: reg}).Handler()
	f.Fuzz(func(t *testing.T, method, path string) {
		req, err := http.NewRequest(method, "http://predictor"+"/ui/"+strings.TrimPrefix(path, "/"), nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s = %d %s", method, req.URL.Path, rec.Code, rec.Body)
		}
		if rec.Code < 300 && req.Method != "GET" && req.Method != "HEAD" {
			t.Fatalf("%s %s = %d; only GET and HEAD read the page", req.Method, req.URL.Path, rec.Code)
		}
		if strings.HasPrefix(req.URL.Path, "/ui/") && rec.Header().Get("Content-Security-Policy") == "" && rec.Code != 301 && rec.Code != 307 {
			t.Fatalf("%s %s = %d without a CSP", method, req.URL.Path, rec.Code)
		}
	})
}
