package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/signature"
)

// Config is the predictor's whole configuration, validated once.
type Config struct {
	ListenAddr      string
	ModelBasePath   string
	ModelName       string
	SignatureName   string
	IntraOpThreads  int
	InterOpThreads  int
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
}

// envName maps a flag to its environment fallback: model-base-path ->
// PREDICTOR_MODEL_BASE_PATH.
func envName(flagName string) string {
	return "PREDICTOR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags, falling back to PREDICTOR_* variables (flags win),
// and validates the result. It returns flag.ErrHelp for --help.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	var cfg Config
	logLevel := "info"
	fs := flag.NewFlagSet("predictor", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.ListenAddr, "listen-addr", ":8501", "`host:port` to serve HTTP on (TF Serving's REST port)")
	fs.StringVar(&cfg.ModelBasePath, "model-base-path", "", "`dir` holding numeric version directories <N>/ (required); the latest complete one (with saved_model.pb and _COMPLETE) is served")
	fs.StringVar(&cfg.ModelName, "model-name", "", "`name` in /v1/models/{name} (default: base name of --model-base-path)")
	fs.StringVar(&cfg.SignatureName, "signature-name", signature.DefaultName, "SignatureDef to serve")
	fs.IntVar(&cfg.IntraOpThreads, "intra-op-threads", 0, "TensorFlow threads per op (0 = one per core)")
	fs.IntVar(&cfg.InterOpThreads, "inter-op-threads", 0, "TensorFlow ops run in parallel (0 = TensorFlow's default)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted; bigger ones get 413")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to let in-flight requests finish on SIGINT/SIGTERM")
	fs.StringVar(&logLevel, "log-level", logLevel, "`level` of JSON logs: debug, info, warn or error")
	fs.Usage = func() { usage(fs) }

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q; all settings are --flags (see --help)", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return Config{}, fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
	}
	if cfg.ModelName == "" && cfg.ModelBasePath != "" {
		cfg.ModelName = filepath.Base(filepath.Clean(strings.TrimPrefix(cfg.ModelBasePath, "file://")))
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.ModelBasePath != "", "--model-base-path (or %s) is required: the directory holding version directories like 1/", envName("model-base-path"))
	_, _, err := net.SplitHostPort(c.ListenAddr)
	check(err == nil, "--listen-addr %q: want host:port, e.g. :8501", c.ListenAddr)
	check(c.ModelBasePath == "" || validModelName(c.ModelName), "--model-name %q: use letters, digits, '.', '-' or '_'", c.ModelName)
	check(c.SignatureName != "", "--signature-name must not be empty")
	check(c.IntraOpThreads >= 0 && c.InterOpThreads >= 0, "--intra-op-threads and --inter-op-threads must be >= 0")
	check(c.MaxBodyBytes > 0, "--max-body-bytes must be > 0")
	check(c.ShutdownTimeout > 0, "--shutdown-timeout must be > 0")
	return errors.Join(errs...)
}

// validModelName keeps names that fit in a URL path segment unescaped and
// cannot be confused with the ":predict" verb or a "/versions" segment.
func validModelName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// usage prints --flag names (the flag package accepts one or two dashes)
// with their environment variables.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: predictor --model-base-path DIR [flags]\n\n")
	fmt.Fprintf(w, "Serves a TensorFlow SavedModel over TF Serving's REST API (/v1/models/...)\nwith /v2/health/live and /v2/health/ready probes.\n\nFlags (each also read from the environment variable shown; flags win):\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n    \t%s (env %s", f.Name, arg, help, envName(f.Name))
		if f.DefValue != "" && f.DefValue != "0" {
			fmt.Fprintf(w, ", default %s", f.DefValue)
		}
		fmt.Fprintf(w, ")\n")
	})
}
