package main

import (
	"log/slog"
	"runtime"

	"github.com/imgclf/serving/internal/cpulimit"
)

// sizeThreads fills the thread settings left at 0 from the container's CPU
// limit: TensorFlow would size its pools by the node's cores, and a pod
// limited to 2 CPUs on a 64-core node would spend its quota throttled. With
// no limit, TensorFlow keeps its own defaults and --batch-threads is the
// number of CPUs.
func sizeThreads(cfg Config, logger *slog.Logger) Config {
	cpus, limited, err := cpulimit.Read()
	if err != nil {
		logger.Warn("cannot read the cgroup CPU limit; TensorFlow sizes its threads by the machine's cores", "err", err)
	}
	cfg = threadsFor(cfg, cpus, limited && err == nil, runtime.NumCPU())
	logger.Info("threads", "cpu_limit", cpus, "cpu_limited", limited, "intra_op_threads", cfg.IntraOpThreads,
		"inter_op_threads", cfg.InterOpThreads, "batch_threads", cfg.BatchThreads)
	return cfg
}

// threadsFor is sizeThreads' decision: flags set by the user win; else
// a limit of cpus (when limited) or numCPU decides.
func threadsFor(cfg Config, cpus float64, limited bool, numCPU int) Config {
	n := numCPU
	if limited {
		n = min(numCPU, cpulimit.Threads(cpus))
		if cfg.IntraOpThreads == 0 {
			cfg.IntraOpThreads = n
		}
		if cfg.InterOpThreads == 0 {
			cfg.InterOpThreads = n
		}
	}
	if cfg.BatchThreads == 0 {
		cfg.BatchThreads = n
	}
	return cfg
}
