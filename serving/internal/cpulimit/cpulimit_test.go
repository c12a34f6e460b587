package cpulimit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	v1Mounts = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n" +
		"32 31 0:29 %s /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n" +
		"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	v2Mounts = "28 23 0:26 %s /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		want   float64
		wantOK bool
	}{
		{
			name: "v2 limit",
			files: map[string]string{
				"proc/self/cgroup":                       "0::/kubepods/pod1/c1\n",
				"proc/self/mountinfo":                    fmt.Sprintf(v2Mounts, "/"),
				"sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "150000 100000\n",
				"sys/fs/cgroup/kubepods/pod1/cpu.max":    "max 100000\n",
			},
			want: 1.5, wantOK: true,
		},
		{
			name: "v2 parent lower than leaf",
			files: map[string]string{
				"proc/self/cgroup":                       "0::/kubepods/pod1/c1\n",
				"proc/self/mountinfo":                    fmt.Sprintf(v2Mounts, "/"),
				"sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n",
				"sys/fs/cgroup/kubepods/pod1/cpu.max":    "50000 100000\n",
			},
			want: 0.5, wantOK: true,
		},
		{
			name: "v2 no limit",
			files: map[string]string{
				"proc/self/cgroup":    "0::/\n",
				"proc/self/mountinfo": fmt.Sprintf(v2Mounts, "/"),
			},
		},
		{
			name: "v2 inside a cgroup namespace",
			files: map[string]string{
				"proc/self/cgroup":      "0::/\n",
				"proc/self/mountinfo":   fmt.Sprintf(v2Mounts, "/"),
				"sys/fs/cgroup/cpu.max": "200000 100000\n",
			},
			want: 2, wantOK: true,
		},
		{
			name: "v1 container: the mount shows the pod's own directory",
			files: map[string]string{
				"proc/self/cgroup":                            "12:memory:/kubepods/pod1/c1\n4:cpu,cpuacct:/kubepods/pod1/c1\n",
				"proc/self/mountinfo":                         fmt.Sprintf(v1Mounts, "/kubepods/pod1/c1"),
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "250000\n",
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
			},
			want: 2.5, wantOK: true,
		},
		{
			name: "v1 no quota",
			files: map[string]string{
				"proc/self/cgroup":                            "4:cpu,cpuacct:/\n",
				"proc/self/mountinfo":                         fmt.Sprintf(v1Mounts, "/"),
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "-1\n",
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
			},
		},
		{
			name:  "no cgroups (not Linux)",
			files: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, ok, err := read(fsys)
			if err != nil || ok != tt.wantOK || got != tt.want {
				t.Errorf("read() = %v, %v, %v; want %v, %v, nil", got, ok, err, tt.want, tt.wantOK)
			}
		})
	}
}

func TestReadRejectsGarbage(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/cgroup":        {Data: []byte("0::/a\n")},
		"proc/self/mountinfo":     {Data: []byte(fmt.Sprintf(v2Mounts, "/"))},
		"sys/fs/cgroup/a/cpu.max": {Data: []byte("lots 100000\n")},
	}
	if _, _, err := read(fsys); err == nil || !strings.Contains(err.Error(), "cpu.max") {
		t.Errorf("read() error = %v, want one naming cpu.max", err)
	}
}

func TestThreads(t *testing.T) {
	for cpus, want := range map[float64]int{0.25: 1, 1: 1, 1.5: 2, 2: 2, 7.01: 8} {
		if got := Threads(cpus); got != want {
			t.Errorf("Threads(%v) = %d, want %d", cpus, got, want)
		}
	}
}

// TestReadInRealCgroup puts a process into a real cgroup with a CPU quota
// of 1.5 CPUs and checks that Read, run inside it, reports 1.5. It needs a
// writable cgroup v1 cpu hierarchy or cgroup v2 (root, as in CI).
func TestReadInRealCgroup(t *testing.T) {
	if dir := os.Getenv("CPULIMIT_HELPER_CGROUP"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Printf("CANNOT MOVE %v\n", err)
			return
		}
		cpus, ok, err := Read()
		fmt.Printf("LIMIT %v %v %v\n", cpus, ok, err)
		return
	}
	dir, quota := realCgroup(t)
	if err := os.WriteFile(filepath.Join(dir, quota.file), []byte(quota.value), 0o644); err != nil {
		t.Skipf("cannot set a CPU quota: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadInRealCgroup$", "-test.v")
	cmd.Env = append(os.Environ(), "CPULIMIT_HELPER_CGROUP="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "CANNOT MOVE") {
		t.Skipf("cannot move a process into %s:\n%s", dir, out)
	}
	if !strings.Contains(string(out), "LIMIT 1.5 true <nil>") {
		t.Errorf("inside a cgroup limited to 1.5 CPUs, Read reported:\n%s", out)
	}
}

type quotaFile struct{ file, value string }

// realCgroup makes a child cgroup to test in, removed at the end, or skips.
func realCgroup(t *testing.T) (string, quotaFile) {
	name := fmt.Sprintf("cpulimit-test-%d", os.Getpid())
	for _, c := range []struct {
		parent string
		quota  quotaFile
	}{
		{"/sys/fs/cgroup/cpu", quotaFile{"cpu.cfs_quota_us", "150000"}},
		{"/sys/fs/cgroup/cpu,cpuacct", quotaFile{"cpu.cfs_quota_us", "150000"}},
		{"/sys/fs/cgroup", quotaFile{"cpu.max", "150000 100000"}},
	} {
		if _, err := os.Stat(filepath.Join(c.parent, c.quota.file)); err != nil && c.quota.file != "cpu.max" {
			continue
		}
		dir := filepath.Join(c.parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		t.Cleanup(func() { os.Remove(dir) })
		if _, err := os.Stat(filepath.Join(dir, c.quota.file)); err != nil {
			continue
		}
		return dir, c.quota
	}
	t.Skip("no writable cgroup with a CPU controller here")
	return "", quotaFile{}
}
