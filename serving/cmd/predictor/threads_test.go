package main

import "testing"

func TestThreadsFor(t *testing.T) {
	tests := []struct {
		name                string
		set                 Config // flags as given
		cpus                float64
		limited             bool
		numCPU              int
		intra, inter, batch int
	}{
		{name: "no limit: TensorFlow's defaults, one run per CPU", numCPU: 8, batch: 8},
		{name: "limit 1.5 on a 64-core node", cpus: 1.5, limited: true, numCPU: 64, intra: 2, inter: 2, batch: 2},
		{name: "limit below one CPU", cpus: 0.5, limited: true, numCPU: 64, intra: 1, inter: 1, batch: 1},
		{name: "limit above the cores", cpus: 16, limited: true, numCPU: 4, intra: 4, inter: 4, batch: 4},
		{name: "flags win", set: Config{IntraOpThreads: 3, InterOpThreads: 1, BatchThreads: 5}, cpus: 2, limited: true,
			numCPU: 64, intra: 3, inter: 1, batch: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := threadsFor(tt.set, tt.cpus, tt.limited, tt.numCPU)
			if got.IntraOpThreads != tt.intra || got.InterOpThreads != tt.inter || got.BatchThreads != tt.batch {
				t.Errorf("threadsFor = intra %d, inter %d, batch %d; want %d, %d, %d",
					got.IntraOpThreads, got.InterOpThreads, got.BatchThreads, tt.intra, tt.inter, tt.batch)
			}
		})
	}
}
