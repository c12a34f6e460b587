// Command predictor serves TensorFlow SavedModels over TF Serving's REST
// API and KServe's v2 protocol. This file only wires: flags -> Config ->
// run -> exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/imgclf/serving/internal/model"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion is the -ldflags version, else the module or VCS version the
// Go toolchain recorded, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errVersion):
		fmt.Printf("predictor %s (TensorFlow %s)\n", buildVersion(), model.Version())
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "predictor: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger, nil); err != nil {
		// A JSON line like every other log line, so log pipelines see why it stopped.
		logger.Error("predictor stopped", "err", err.Error())
		os.Exit(1)
	}
}
