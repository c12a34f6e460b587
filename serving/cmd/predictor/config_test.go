package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	defaults := Config{
		ListenAddr: ":8501", ModelBasePath: "/models/imgclf", ModelName: "imgclf",
		SignatureName: "serving_default", MaxBodyBytes: 16 << 20, ShutdownTimeout: 10 * time.Second,
	}
	with := func(f func(*Config)) Config { c := defaults; f(&c); return c }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "defaults", args: []string{"--model-base-path", "/models/imgclf"}, want: defaults},
		{name: "trailing slash and file://", args: []string{"-model-base-path=file:///models/imgclf/"}, want: with(func(c *Config) { c.ModelBasePath = "file:///models/imgclf/" })},
		{
			name: "all flags",
			args: []string{"--listen-addr=127.0.0.1:9000", "--model-base-path=/m/x", "--model-name=clf", "--signature-name=s",
				"--intra-op-threads=2", "--inter-op-threads=1", "--max-body-bytes=100", "--shutdown-timeout=3s", "--log-level=debug"},
			want: Config{ListenAddr: "127.0.0.1:9000", ModelBasePath: "/m/x", ModelName: "clf", SignatureName: "s",
				IntraOpThreads: 2, InterOpThreads: 1, MaxBodyBytes: 100, ShutdownTimeout: 3 * time.Second, LogLevel: slog.LevelDebug},
		},
		{
			name: "env fallback",
			env:  map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/models/imgclf", "PREDICTOR_INTRA_OP_THREADS": "4", "PREDICTOR_LOG_LEVEL": "warn"},
			want: with(func(c *Config) { c.IntraOpThreads = 4; c.LogLevel = slog.LevelWarn }),
		},
		{
			name: "flag beats env",
			args: []string{"--model-base-path=/models/imgclf"},
			env:  map[string]string{"PREDICTOR_MODEL_BASE_PATH": "/elsewhere/x"},
			want: defaults,
		},
		{name: "missing base path", wantErr: "--model-base-path (or PREDICTOR_MODEL_BASE_PATH) is required"},
		{name: "bad env value", env: map[string]string{"PREDICTOR_SHUTDOWN_TIMEOUT": "soon"}, wantErr: `PREDICTOR_SHUTDOWN_TIMEOUT="soon"`},
		{name: "bad listen addr", args: []string{"--model-base-path=/m/x", "--listen-addr=8501"}, wantErr: `--listen-addr "8501"`},
		{name: "bad log level", args: []string{"--model-base-path=/m/x", "--log-level=loud"}, wantErr: `--log-level "loud"`},
		{name: "bad model name", args: []string{"--model-base-path=/m/x", "--model-name=a:b"}, wantErr: `--model-name "a:b"`},
		{name: "root dir has no name", args: []string{"--model-base-path=/"}, wantErr: `--model-name "/"`},
		{name: "negative threads", args: []string{"--model-base-path=/m/x", "--inter-op-threads=-1"}, wantErr: "--inter-op-threads must be >= 0"},
		{name: "zero body", args: []string{"--model-base-path=/m/x", "--max-body-bytes=0"}, wantErr: "--max-body-bytes must be > 0"},
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
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
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
	for _, name := range []string{"listen-addr", "model-base-path", "model-name", "signature-name", "intra-op-threads",
		"inter-op-threads", "max-body-bytes", "shutdown-timeout", "log-level"} {
		if !strings.Contains(out.String(), "--"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("--help does not document --%s / %s:\n%s", name, envName(name), out.String())
		}
	}
}
