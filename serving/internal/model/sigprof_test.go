package model

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sigprofBit is SIGPROF (27 on Linux) in /proc's SigBlk mask.
const sigprofBit = uint64(1) << (27 - 1)

// TestTensorFlowThreadsBlockSIGPROF checks that the threads TensorFlow
// starts to run ops (named tf_Compute) block SIGPROF, so Go's CPU profiler
// never interrupts them: with it unblocked, profiling under ResNet50 load
// crashed the predictor (glibc heap corruption). Go's own threads leave it
// unblocked, so without the mask they would inherit an empty one.
func TestTensorFlowThreadsBlockSIGPROF(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs Linux /proc")
	}
	m, dir := loadFixture(t)
	img := anyImage(t, dir)
	if _, err := m.Predict(context.Background(), images(img, img)); err != nil {
		t.Fatal(err)
	}
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	compute := 0
	for _, task := range tasks {
		comm, err := os.ReadFile(filepath.Join(task, "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "tf_Compute") {
			continue // gone since the Glob, or not one of TensorFlow's op threads
		}
		compute++
		if blocked := sigBlk(t, task); blocked&sigprofBit == 0 {
			t.Errorf("thread %s (%s) does not block SIGPROF: SigBlk %x", filepath.Base(task), strings.TrimSpace(string(comm)), blocked)
		}
	}
	if compute == 0 {
		t.Fatal("no tf_Compute thread after a session run: the check above checked nothing")
	}
}

func sigBlk(t *testing.T, task string) uint64 {
	t.Helper()
	status, err := os.ReadFile(filepath.Join(task, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s/status has no SigBlk", task)
	return 0
}
