// Command go_noop is the Go framework-overhead baseline of make bench: plain
// net/http answering the no-model endpoint with a constant, as the original
// Go/Chi vs Flask comparison did. The predictor itself answers the same path
// through its middleware (request id, access log, recover).
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen-addr", "127.0.0.1:8501", "host:port to serve on")
	flag.Parse()
	live := []byte(`{"live":true}`)
	mux := http.NewServeMux()
	for _, path := range []string{"/v2/health/live", "/v2/health/ready"} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(live)
		})
	}
	log.Fatal(http.ListenAndServe(*addr, mux))
}
