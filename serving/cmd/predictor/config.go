package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imgclf/serving/internal/lifecycle"
	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/signature"
	"github.com/imgclf/serving/internal/storage"
)

// errVersion is parseConfig's answer to --version.
var errVersion = errors.New("version requested")

// Config is the predictor's whole configuration, validated once.
type Config struct {
	ListenAddr        string
	GRPCListenAddr    string // empty: no gRPC
	DebugAddr         string
	Models            []ModelConfig
	PollInterval      time.Duration
	DownloadDir       string
	IntraOpThreads    int
	InterOpThreads    int
	MaxBodyBytes      int64
	MaxImagePixels    int64
	Batching          bool
	MaxBatchSize      int
	BatchTimeout      time.Duration
	MaxQueued         int
	BatchThreads      int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownDelay     time.Duration
	ShutdownTimeout   time.Duration
	LogLevel          slog.Level
	MaxImages         int
	UI                bool
	CORSOrigins       []string
	PredictionLog     PredictionLogConfig
	TestFaults        TestFaults // for tests only; zero: off
}

// PredictionLogConfig is the --prediction-log-* flags (predlog.Options).
type PredictionLogConfig struct {
	URI           string // files; "" = none
	URL           string // CloudEvents sink; "" = none
	SampleRate    float64
	Inputs        predlog.Inputs
	TopK          int
	MaxFileBytes  int64
	FlushInterval time.Duration
	QueueSize     int
}

// ModelConfig is one served model.
type ModelConfig struct {
	Name          string                  `json:"name"`
	BasePath      string                  `json:"base_path"`
	SignatureName string                  `json:"signature_name,omitempty"`
	Policy        lifecycle.VersionPolicy `json:"-"`
	PolicyText    string                  `json:"version_policy,omitempty"`
	VersionLabels map[string]int64        `json:"version_labels,omitempty"`
}

// modelConfigFile is --model-config-file's JSON.
type modelConfigFile struct {
	Models []ModelConfig `json:"models"`
}

// envName maps a flag to its environment fallback: model-base-path ->
// PREDICTOR_MODEL_BASE_PATH.
func envName(flagName string) string {
	return "PREDICTOR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// modelFlags collects repeated --model name=uri values (the environment
// variable takes them comma-separated).
type modelFlags []string

func (m *modelFlags) String() string { return strings.Join(*m, ",") }
func (m *modelFlags) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}

// parseConfig reads flags, falling back to PREDICTOR_* variables (flags win),
// and validates the result. It returns flag.ErrHelp for --help and
// errVersion for --version.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	cfg := Config{}
	var (
		logLevel                        = "info"
		basePath, modelName, configFile string
		signatureName                   string
		policy                          = "latest"
		models                          modelFlags
		showVersion                     bool
		predLogInputs                   = predlog.InputsHash.String()
		testFaults                      string
	)
	fs := flag.NewFlagSet("predictor", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.ListenAddr, "listen-addr", ":8501", "`host:port` to serve HTTP on (TF Serving's REST port)")
	fs.StringVar(&cfg.GRPCListenAddr, "grpc-listen-addr", ":8500", "`host:port` to serve gRPC on (TF Serving's gRPC port; TF Serving's and KServe v2's services); empty: no gRPC")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", "", "`host:port` for Go's profiler at /debug/pprof/ (off when empty; keep it off the public network, e.g. 127.0.0.1:6060)")
	fs.StringVar(&basePath, "model-base-path", "", "`uri` of one model: a directory, gs://bucket/prefix or s3://bucket/prefix holding version directories <N>/ (complete = saved_model.pb + _COMPLETE)")
	fs.StringVar(&modelName, "model-name", "", "`name` of that model in /v1/models/{name} (default: base name of --model-base-path)")
	fs.Var(&models, "model", "`name=uri` of a model to serve; repeat for several (instead of --model-base-path)")
	fs.StringVar(&configFile, "model-config-file", "", "JSON `file` {\"models\": [{\"name\", \"base_path\", \"version_policy\", \"signature_name\", \"version_labels\": {\"stable\": 1}}]} (instead of the flags above)")
	fs.StringVar(&policy, "model-version-policy", policy, "`policy` of which versions to serve: latest, latest:N, all or specific:V1,V2")
	fs.StringVar(&signatureName, "signature-name", signature.DefaultName, "SignatureDef to serve")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", 10*time.Second, "how often to look for new model versions")
	fs.StringVar(&cfg.DownloadDir, "download-dir", "", "`dir` for versions downloaded from gs:// or s3:// while they load (default: the system temp dir)")
	fs.IntVar(&cfg.IntraOpThreads, "intra-op-threads", 0, "TensorFlow threads per op (0 = the container's CPU limit, rounded up; without one TensorFlow's default, one per core)")
	fs.IntVar(&cfg.InterOpThreads, "inter-op-threads", 0, "TensorFlow ops run in parallel (0 = the container's CPU limit, rounded up; without one TensorFlow's default)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted; bigger ones get 413")
	fs.Int64Var(&cfg.MaxImagePixels, "max-image-pixels", server.DefaultMaxImagePixels, "largest width*height of an input image, read from its header before decoding; bigger ones get 413")
	fs.IntVar(&cfg.MaxImages, "max-images", server.DefaultMaxImages, "most image files in one :classify-image request; more get 413")
	fs.BoolVar(&cfg.UI, "ui", true, "serve the web page at / and /ui/ (it calls only the public API on this port, so it exposes nothing the API does not)")
	fs.Func("cors-allowed-origins", "comma-separated `origins` (https://app.example.com, or * for any) whose pages may call the API from a browser; none by default", func(v string) error {
		cfg.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
				cfg.CORSOrigins = append(cfg.CORSOrigins, o)
			}
		}
		return nil
	})
	fs.BoolVar(&cfg.Batching, "batching", false, "merge concurrent requests for a model version into one session run")
	fs.IntVar(&cfg.MaxBatchSize, "max-batch-size", 32, "most rows (images) in one batched run (with --batching)")
	fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", 5*time.Millisecond, "how long a partial batch waits for more requests (with --batching)")
	fs.IntVar(&cfg.MaxQueued, "max-queued", 128, "requests that may wait per model version; more are shed with 429 and Retry-After")
	fs.IntVar(&cfg.BatchThreads, "batch-threads", 0, "session runs in flight per model version (0 = number of CPUs, or the container's CPU limit rounded up)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read request headers (slow-client guard)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", time.Minute, "time to read a whole request, body included")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", 2*time.Minute, "time from the end of the request headers to the end of the response")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 2*time.Minute, "how long a keep-alive connection may idle")
	fs.DurationVar(&cfg.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long to keep accepting requests with readiness failing, so load balancers see it first")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to let in-flight requests finish on SIGINT/SIGTERM")
	pl := &cfg.PredictionLog
	fs.StringVar(&pl.URI, "prediction-log-uri", "", "`uri` to log sampled requests and answers to: a directory, gs://bucket/prefix or s3://bucket/prefix, as gzip JSON lines under <model>/<version>/date=YYYY-MM-DD/ (off when empty)")
	fs.StringVar(&pl.URL, "prediction-log-url", "", "http:// or https:// `url` to also POST each sampled record to as a CloudEvent (binary mode, type "+predlog.EventType+"), as KServe's logger does; with --prediction-log-uri empty, only there (off when empty)")
	fs.Float64Var(&pl.SampleRate, "prediction-log-sample-rate", 1, "`fraction` of requests to log, 0 to 1")
	fs.StringVar(&predLogInputs, "prediction-log-inputs", predLogInputs, "what to log of each input image besides its format, size and brightness: none, hash (SHA-256) or bytes (base64, and the hash)")
	fs.IntVar(&pl.TopK, "prediction-log-top-k", 5, "classes logged per image, best first")
	fs.Int64Var(&pl.MaxFileBytes, "prediction-log-max-file-bytes", 8<<20, "start a new log file when one reaches this many bytes uncompressed")
	fs.DurationVar(&pl.FlushInterval, "prediction-log-flush-interval", time.Minute, "start a new log file at least this often while records arrive")
	fs.IntVar(&pl.QueueSize, "prediction-log-queue", 10000, "records waiting to be written; more are dropped (and counted), never waited for")
	fs.StringVar(&testFaults, "test-faults", "", "for tests only, never in production: make one model version worse, so a canary rollout of it can be seen to fail; `faults` is version=N[,delay=D][,fail-every=K]: each predict to version N (of every model) first waits D, and every K-th one answers 500 (gRPC INTERNAL); off when empty")
	fs.StringVar(&logLevel, "log-level", logLevel, "`level` of JSON logs: debug, info, warn or error")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
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
	if showVersion {
		return Config{}, errVersion
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q; all settings are --flags (see --help)", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return Config{}, fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
	}
	var err error
	if cfg.PredictionLog.Inputs, err = predlog.ParseInputs(predLogInputs); err != nil {
		return Config{}, fmt.Errorf("--prediction-log-inputs %w", err)
	}
	if cfg.TestFaults, err = parseTestFaults(testFaults); err != nil {
		return Config{}, err
	}
	if cfg.Models, err = modelConfigs(basePath, modelName, models, configFile); err != nil {
		return Config{}, err
	}
	defaultPolicy, err := lifecycle.ParsePolicy(policy)
	if err != nil {
		return Config{}, fmt.Errorf("--model-version-policy: %w", err)
	}
	for i := range cfg.Models {
		m := &cfg.Models[i]
		if m.SignatureName == "" {
			m.SignatureName = signatureName
		}
		m.Policy = defaultPolicy
		if m.PolicyText != "" {
			if m.Policy, err = lifecycle.ParsePolicy(m.PolicyText); err != nil {
				return Config{}, fmt.Errorf("model %q: %w", m.Name, err)
			}
		}
	}
	return cfg, cfg.validate()
}

// modelConfigs reads the models from exactly one of the three ways to
// name them.
func modelConfigs(basePath, modelName string, models modelFlags, configFile string) ([]ModelConfig, error) {
	ways := 0
	for _, set := range []bool{basePath != "", len(models) > 0, configFile != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways == 0:
		return nil, fmt.Errorf("--model-base-path (or %s) is required: the directory, gs:// or s3:// URI holding version directories like 1/; or use --model name=uri or --model-config-file", envName("model-base-path"))
	case ways > 1:
		return nil, fmt.Errorf("use one of --model-base-path, --model or --model-config-file, not several")
	case modelName != "" && basePath == "":
		return nil, fmt.Errorf("--model-name goes with --model-base-path; --model takes name=uri")
	case basePath != "":
		if modelName == "" {
			trimmed := basePath
			if _, rest, ok := strings.Cut(basePath, "://"); ok {
				trimmed = rest // file://, gs://, s3://
			}
			trimmed = strings.TrimRight(trimmed, "/")
			modelName = filepath.Base(filepath.Clean(trimmed))
		}
		return []ModelConfig{{Name: modelName, BasePath: basePath}}, nil
	case len(models) > 0:
		var out []ModelConfig
		for _, m := range models {
			name, uri, ok := strings.Cut(m, "=")
			if !ok || name == "" || uri == "" {
				return nil, fmt.Errorf("--model %q: want name=uri, e.g. imgclf=gs://bucket/models/imgclf", m)
			}
			out = append(out, ModelConfig{Name: name, BasePath: uri})
		}
		return out, nil
	}
	b, err := os.ReadFile(configFile)
	if err != nil {
		return nil, fmt.Errorf("--model-config-file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var f modelConfigFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--model-config-file %s: %w", configFile, err)
	}
	if len(f.Models) == 0 {
		return nil, fmt.Errorf("--model-config-file %s lists no models", configFile)
	}
	return f.Models, nil
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	_, _, err := net.SplitHostPort(c.ListenAddr)
	check(err == nil, "--listen-addr %q: want host:port, e.g. :8501", c.ListenAddr)
	if c.GRPCListenAddr != "" {
		_, _, err = net.SplitHostPort(c.GRPCListenAddr)
		check(err == nil, "--grpc-listen-addr %q: want host:port, e.g. :8500, or empty for no gRPC", c.GRPCListenAddr)
	}
	if c.DebugAddr != "" {
		_, _, err = net.SplitHostPort(c.DebugAddr)
		check(err == nil, "--debug-addr %q: want host:port, e.g. 127.0.0.1:6060", c.DebugAddr)
	}
	seen := map[string]bool{}
	for _, m := range c.Models {
		check(validModelName(m.Name), "--model-name %q: use letters, digits, '.', '-' or '_'", m.Name)
		check(!seen[m.Name], "model %q is configured twice", m.Name)
		seen[m.Name] = true
		check(m.BasePath != "", "model %q has no base path", m.Name)
		check(m.SignatureName != "", "--signature-name must not be empty")
	}
	check(c.PollInterval > 0, "--poll-interval must be > 0")
	check(c.IntraOpThreads >= 0 && c.InterOpThreads >= 0, "--intra-op-threads and --inter-op-threads must be >= 0")
	check(c.MaxBodyBytes > 0, "--max-body-bytes must be > 0")
	check(c.MaxImagePixels > 0, "--max-image-pixels must be > 0")
	check(c.MaxImages > 0, "--max-images must be > 0")
	for _, o := range c.CORSOrigins {
		check(validOrigin(o), "--cors-allowed-origins %q: want * or scheme://host[:port], e.g. https://app.example.com", o)
	}
	check(c.MaxBatchSize > 0, "--max-batch-size must be > 0")
	check(c.BatchTimeout >= 0, "--batch-timeout must be >= 0")
	check(c.MaxQueued > 0, "--max-queued must be > 0")
	check(c.BatchThreads >= 0, "--batch-threads must be >= 0")
	check(c.ReadHeaderTimeout > 0 && c.ReadTimeout > 0 && c.WriteTimeout > 0 && c.IdleTimeout > 0,
		"--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must be > 0")
	check(c.ShutdownDelay >= 0, "--shutdown-delay must be >= 0")
	check(c.ShutdownTimeout > 0, "--shutdown-timeout must be > 0")
	pl := c.PredictionLog
	if err := storage.CheckURI(pl.URI, storage.Options{Role: "--prediction-log-uri"}); err != nil {
		errs = append(errs, err)
	}
	if pl.URL != "" {
		if err := predlog.CheckEventURL(pl.URL); err != nil {
			errs = append(errs, fmt.Errorf("--prediction-log-url %w", err))
		}
	}
	check(pl.SampleRate >= 0 && pl.SampleRate <= 1, "--prediction-log-sample-rate %v: want a fraction from 0 to 1", pl.SampleRate)
	check(pl.TopK > 0, "--prediction-log-top-k must be > 0")
	check(pl.MaxFileBytes > 0, "--prediction-log-max-file-bytes must be > 0")
	check(pl.FlushInterval > 0, "--prediction-log-flush-interval must be > 0")
	check(pl.QueueSize > 0, "--prediction-log-queue must be > 0")
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
	fmt.Fprintf(w, "Usage: predictor --model-base-path DIR|gs://BUCKET/PREFIX|s3://BUCKET/PREFIX [flags]\n")
	fmt.Fprintf(w, "       predictor --model NAME=URI [--model NAME=URI ...] [flags]\n")
	fmt.Fprintf(w, "       predictor --model-config-file FILE [flags]\n\n")
	fmt.Fprintf(w, "Serves TensorFlow SavedModels over TF Serving's REST API (/v1/models/...),\nKServe's v2 inference protocol (/v2/...), image classification\n(:classify-image), health probes (/v2/health/live, /v2/health/ready) and\nPrometheus metrics (/metrics).\n\nFlags (each also read from the environment variable shown; flags win):\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n    \t%s (env %s", f.Name, arg, help, envName(f.Name))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, ", default %s", f.DefValue)
		}
		fmt.Fprintf(w, ")\n")
	})
}

// validOrigin is "*" or a browser Origin: scheme://host[:port], nothing more.
func validOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}
