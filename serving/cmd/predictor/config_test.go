package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/predlog"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	configFile := filepath.Join(dir, "models.json")
	os.WriteFile(configFile, []byte(`{"models": [
		{"name": "a", "base_path": "gs://b/models/a", "version_policy": "latest:2", "version_labels": {"stable": 3}},
		{"name": "b", "base_path": "/m/b", "signature_name": "other"}]}`), 0o644)
	badFile := filepath.Join(dir, "bad.json")
	os.WriteFile(badFile, []byte(`{"models": [{"name": "a", "path": "/x"}]}`), 0o644)

	// models renders the parts of Models a test compares.
	models := func(c Config) string {
		var s []string
		for _, m := range c.Models {
			s = append(s, fmt.Sprintf("%s=%s %s %s %v", m.Name, m.BasePath, m.SignatureName, m.Policy, m.VersionLabels))
		}
		return strings.Join(s, "; ")
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantModels string
		check      func(Config) bool
		wantErr    string
	}{
		{name: "defaults", args: []string{"--model-base-path", "/models/imgclf"},
			wantModels: "imgclf=/models/imgclf serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.ListenAddr == ":8501" && c.GRPCListenAddr == ":8500" && c.MaxBodyBytes == 16<<20 && c.ShutdownTimeout == 10*time.Second &&
					!c.Batching && c.MaxBatchSize == 32 && c.MaxQueued == 128 && c.PollInterval == 10*time.Second &&
					c.UI && c.CORSOrigins == nil && c.MaxImages == 64 &&
					c.PredictionLog == PredictionLogConfig{SampleRate: 1, Inputs: predlog.InputsHash, TopK: 5,
						MaxFileBytes: 8 << 20, FlushInterval: time.Minute, QueueSize: 10000}
			}},
		{name: "prediction log", args: []string{"--model-base-path=/m/x", "--prediction-log-uri=gs://logs/predictions",
			"--prediction-log-sample-rate=0.25", "--prediction-log-inputs=bytes", "--prediction-log-top-k=3",
			"--prediction-log-max-file-bytes=1000", "--prediction-log-flush-interval=5s", "--prediction-log-queue=7"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.PredictionLog == PredictionLogConfig{URI: "gs://logs/predictions", SampleRate: 0.25,
					Inputs: predlog.InputsBytes, TopK: 3, MaxFileBytes: 1000, FlushInterval: 5 * time.Second, QueueSize: 7}
			}},
		{name: "prediction log from env", env: map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/m/x",
			"PREDICTOR_PREDICTION_LOG_URI": "/var/log/predictions", "PREDICTOR_PREDICTION_LOG_INPUTS": "none"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.PredictionLog.URI == "/var/log/predictions" && c.PredictionLog.Inputs == predlog.InputsNone
			}},
		{name: "prediction log sample rate over 1", args: []string{"--model-base-path=/m/x", "--prediction-log-sample-rate=1.5"},
			wantErr: "--prediction-log-sample-rate 1.5: want a fraction from 0 to 1"},
		{name: "prediction log negative sample rate", args: []string{"--model-base-path=/m/x", "--prediction-log-sample-rate=-0.1"},
			wantErr: "--prediction-log-sample-rate -0.1: want a fraction from 0 to 1"},
		{name: "prediction log sample rate not a number", args: []string{"--model-base-path=/m/x", "--prediction-log-sample-rate=half"},
			wantErr: `invalid value "half" for flag -prediction-log-sample-rate`},
		{name: "prediction log inputs", args: []string{"--model-base-path=/m/x", "--prediction-log-inputs=all"},
			wantErr: `--prediction-log-inputs "all": use none, hash or bytes`},
		{name: "prediction log top-k", args: []string{"--model-base-path=/m/x", "--prediction-log-top-k=0"},
			wantErr: "--prediction-log-top-k must be > 0"},
		{name: "prediction log file size", args: []string{"--model-base-path=/m/x", "--prediction-log-max-file-bytes=0"},
			wantErr: "--prediction-log-max-file-bytes must be > 0"},
		{name: "prediction log flush interval", args: []string{"--model-base-path=/m/x", "--prediction-log-flush-interval=0s"},
			wantErr: "--prediction-log-flush-interval must be > 0"},
		{name: "prediction log queue", args: []string{"--model-base-path=/m/x", "--prediction-log-queue=-1"},
			wantErr: "--prediction-log-queue must be > 0"},
		{name: "prediction log scheme", args: []string{"--model-base-path=/m/x", "--prediction-log-uri=az://logs/p"},
			wantErr: "--prediction-log-uri az://logs/p: az:// is not supported; use a local directory, gs://bucket/prefix or s3://bucket/prefix"},
		{name: "prediction log bucket", args: []string{"--model-base-path=/m/x", "--prediction-log-uri=s3:///p"},
			wantErr: "--prediction-log-uri s3:///p: no bucket name; use s3://bucket/prefix"},
		{name: "prediction log url", args: []string{"--model-base-path=/m/x", "--prediction-log-url=https://broker.example/ns/default"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.PredictionLog.URL == "https://broker.example/ns/default" && c.PredictionLog.URI == ""
			}},
		{name: "prediction log url from env", env: map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/m/x",
			"PREDICTOR_PREDICTION_LOG_URL": "http://127.0.0.1:8080/", "PREDICTOR_PREDICTION_LOG_URI": "/var/log/p"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.PredictionLog.URL == "http://127.0.0.1:8080/" && c.PredictionLog.URI == "/var/log/p"
			}},
		{name: "prediction log url scheme", args: []string{"--model-base-path=/m/x", "--prediction-log-url=gs://logs/p"},
			wantErr: `--prediction-log-url "gs://logs/p": want an http:// or https:// URL`},
		{name: "prediction log url without scheme", args: []string{"--model-base-path=/m/x", "--prediction-log-url=sink:8080/events"},
			wantErr: `--prediction-log-url "sink:8080/events": want an http:// or https:// URL`},
		{name: "prediction log url without host", args: []string{"--model-base-path=/m/x", "--prediction-log-url=http:///events"},
			wantErr: `--prediction-log-url "http:///events": want an http:// or https:// URL`},
		{name: "page off, CORS origins", args: []string{"--model-base-path=/m/x", "--ui=false", "--max-images=3",
			"--cors-allowed-origins=https://app.example.com/, http://localhost:3000"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return !c.UI && c.MaxImages == 3 && strings.Join(c.CORSOrigins, " ") == "https://app.example.com http://localhost:3000"
			}},
		{name: "CORS from env", env: map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/m/x", "PREDICTOR_CORS_ALLOWED_ORIGINS": "*"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check:      func(c Config) bool { return len(c.CORSOrigins) == 1 && c.CORSOrigins[0] == "*" }},
		{name: "bad CORS origin", args: []string{"--model-base-path=/m/x", "--cors-allowed-origins=app.example.com"},
			wantErr: `--cors-allowed-origins "app.example.com": want * or scheme://host[:port]`},
		{name: "CORS origin with a path", args: []string{"--model-base-path=/m/x", "--cors-allowed-origins=https://a.example/app"},
			wantErr: `--cors-allowed-origins "https://a.example/app"`},
		{name: "test faults", args: []string{"--model-base-path=/m/x", "--test-faults=version=3,delay=300ms,fail-every=4"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.TestFaults == TestFaults{Version: 3, Delay: 300 * time.Millisecond, FailEvery: 4}
			}},
		{name: "test faults from env", env: map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/m/x", "PREDICTOR_TEST_FAULTS": "version=2,fail-every=1"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check:      func(c Config) bool { return c.TestFaults == TestFaults{Version: 2, FailEvery: 1} }},
		{name: "test faults off by default", args: []string{"--model-base-path=/m/x"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check:      func(c Config) bool { return !c.TestFaults.On() }},
		{name: "test faults without version", args: []string{"--model-base-path=/m/x", "--test-faults=delay=1s"},
			wantErr: `--test-faults "delay=1s": version is required`},
		{name: "test faults unknown key", env: map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/m/x", "PREDICTOR_TEST_FAULTS": "version=2,errors=1"},
			wantErr: `--test-faults "version=2,errors=1": unknown key "errors"`},
		{name: "zero images", args: []string{"--model-base-path=/m/x", "--max-images=0"}, wantErr: "--max-images must be > 0"},
		{name: "gs base path names the model", args: []string{"--model-base-path=gs://bucket/models/imgclf/"},
			wantModels: "imgclf=gs://bucket/models/imgclf/ serving_default latest:1 map[]"},
		{name: "s3 base path names the model", args: []string{"--model-base-path=s3://bucket/models/digits"},
			wantModels: "digits=s3://bucket/models/digits serving_default latest:1 map[]"},
		{name: "file uri", args: []string{"-model-base-path=file:///models/imgclf/"},
			wantModels: "imgclf=file:///models/imgclf/ serving_default latest:1 map[]"},
		{name: "repeated --model and policy", args: []string{"--model=a=/m/a", "--model", "b=gs://x/b", "--model-version-policy=all", "--signature-name=s"},
			wantModels: "a=/m/a s all map[]; b=gs://x/b s all map[]"},
		{name: "config file", args: []string{"--model-config-file=" + configFile},
			wantModels: "a=gs://b/models/a serving_default latest:2 map[stable:3]; b=/m/b other latest:1 map[]"},
		{
			name: "all other flags",
			args: []string{"--listen-addr=127.0.0.1:9000", "--grpc-listen-addr=", "--model-base-path=/m/x", "--intra-op-threads=2", "--inter-op-threads=1",
				"--max-body-bytes=100", "--max-image-pixels=1000", "--batching", "--max-batch-size=8", "--batch-timeout=2ms",
				"--max-queued=5", "--batch-threads=3", "--poll-interval=1s", "--shutdown-timeout=3s", "--shutdown-delay=1s",
				"--read-timeout=5s", "--log-level=debug"},
			wantModels: "x=/m/x serving_default latest:1 map[]",
			check: func(c Config) bool {
				return c.ListenAddr == "127.0.0.1:9000" && c.GRPCListenAddr == "" && c.IntraOpThreads == 2 && c.InterOpThreads == 1 && c.MaxBodyBytes == 100 &&
					c.MaxImagePixels == 1000 && c.Batching && c.MaxBatchSize == 8 && c.BatchTimeout == 2*time.Millisecond &&
					c.MaxQueued == 5 && c.BatchThreads == 3 && c.PollInterval == time.Second && c.ShutdownTimeout == 3*time.Second &&
					c.ShutdownDelay == time.Second && c.ReadTimeout == 5*time.Second && c.LogLevel == slog.LevelDebug
			},
		},
		{
			name:       "env fallback",
			env:        map[string]string{"PREDICTOR_MODEL": "a=/m/a,b=/m/b", "PREDICTOR_BATCHING": "true", "PREDICTOR_LOG_LEVEL": "warn"},
			wantModels: "a=/m/a serving_default latest:1 map[]; b=/m/b serving_default latest:1 map[]",
			check:      func(c Config) bool { return c.Batching && c.LogLevel == slog.LevelWarn },
		},
		{
			name:       "flag beats env",
			args:       []string{"--model-base-path=/models/imgclf"},
			env:        map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/elsewhere/x"},
			wantModels: "imgclf=/models/imgclf serving_default latest:1 map[]",
		},
		{name: "missing base path", wantErr: "--model-base-path (or PREDICTOR_MODEL_BASE_PATH) is required"},
		{name: "two ways", args: []string{"--model-base-path=/m/x", "--model=a=/m/a"}, wantErr: "not several"},
		{name: "bad --model", args: []string{"--model=/m/a"}, wantErr: `--model "/m/a": want name=uri`},
		{name: "duplicate model", args: []string{"--model=a=/m/a", "--model=a=/m/b"}, wantErr: `model "a" is configured twice`},
		{name: "config file typo", args: []string{"--model-config-file=" + badFile}, wantErr: `unknown field "path"`},
		{name: "bad policy", args: []string{"--model-base-path=/m/x", "--model-version-policy=newest"}, wantErr: "--model-version-policy"},
		{name: "bad env value", env: map[string]string{"PREDICTOR_SHUTDOWN_TIMEOUT": "soon"}, wantErr: `PREDICTOR_SHUTDOWN_TIMEOUT="soon"`},
		{name: "bad listen addr", args: []string{"--model-base-path=/m/x", "--listen-addr=8501"}, wantErr: `--listen-addr "8501"`},
		{name: "bad grpc listen addr", args: []string{"--model-base-path=/m/x", "--grpc-listen-addr=8500"}, wantErr: `--grpc-listen-addr "8500"`},
		{name: "bad debug addr", args: []string{"--model-base-path=/m/x", "--debug-addr=6060"}, wantErr: `--debug-addr "6060"`},
		{name: "bad log level", args: []string{"--model-base-path=/m/x", "--log-level=loud"}, wantErr: `--log-level "loud"`},
		{name: "bad model name", args: []string{"--model-base-path=/m/x", "--model-name=a:b"}, wantErr: `--model-name "a:b"`},
		{name: "root dir has no name", args: []string{"--model-base-path=/"}, wantErr: `--model-name "."`},
		{name: "negative threads", args: []string{"--model-base-path=/m/x", "--inter-op-threads=-1"}, wantErr: "--inter-op-threads must be >= 0"},
		{name: "zero body", args: []string{"--model-base-path=/m/x", "--max-body-bytes=0"}, wantErr: "--max-body-bytes must be > 0"},
		{name: "zero queue", args: []string{"--model-base-path=/m/x", "--max-queued=0"}, wantErr: "--max-queued must be > 0"},
		{name: "positional", args: []string{"--model-base-path=/m/x", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"--port=1"}, wantErr: "flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "--prediction-log-url") && strings.Contains(err.Error(), "\n") {
					t.Errorf("error = %q, want one line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m := models(got); m != tt.wantModels {
				t.Errorf("models = %s\nwant     %s", m, tt.wantModels)
			}
			if tt.check != nil && !tt.check(got) {
				t.Errorf("config %+v fails the check", got)
			}
		})
	}
}

func TestHelpListsEveryFlagAndEnv(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"listen-addr", "grpc-listen-addr", "model-base-path", "model-name", "model", "model-config-file", "model-version-policy",
		"signature-name", "poll-interval", "download-dir", "intra-op-threads", "inter-op-threads", "max-body-bytes", "max-image-pixels",
		"batching", "max-batch-size", "batch-timeout", "max-queued", "batch-threads", "read-header-timeout", "read-timeout",
		"write-timeout", "idle-timeout", "shutdown-delay", "shutdown-timeout", "log-level", "debug-addr", "version",
		"prediction-log-uri", "prediction-log-sample-rate", "prediction-log-inputs", "prediction-log-top-k",
		"prediction-log-max-file-bytes", "prediction-log-flush-interval", "prediction-log-queue", "prediction-log-url", "test-faults"} {
		if !strings.Contains(out.String(), "--"+name+" ") || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("--help does not document --%s / %s:\n%s", name, envName(name), out.String())
		}
	}
}

func TestVersionFlag(t *testing.T) {
	if _, err := parseConfig([]string{"--version"}, func(string) string { return "" }, io.Discard); !errors.Is(err, errVersion) {
		t.Errorf("--version: err = %v, want errVersion", err)
	}
}
