// Package cpulimit reads the CPU limit of the container the process runs in:
// cgroup v2's cpu.max or cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us,
// the lowest along the path from the process's cgroup up to the mount root.
//
// TensorFlow sizes its thread pools by the machine's cores and ignores this
// limit, so a pod limited to 2 CPUs on a 64-core node would run 64 threads
// and spend its quota being throttled.
package cpulimit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
)

// Read returns the CPU limit in CPUs (e.g. 1.5), or ok=false when the
// process has none (or cgroups are not mounted, as outside Linux).
func Read() (cpus float64, ok bool, err error) {
	return read(os.DirFS("/"))
}

// Threads is the thread count that fits a limit: cpus rounded up, at least 1.
func Threads(cpus float64) int {
	return max(1, int(math.Ceil(cpus)))
}

// read works on fsys rooted at "/" (paths without the leading slash).
func read(fsys fs.FS) (float64, bool, error) {
	groups, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v1Path, v2Path, hasV1, hasV2 := parseCgroups(string(groups))
	mounts, err := fsys.Open("proc/self/mountinfo")
	if err != nil {
		return 0, false, err
	}
	defer mounts.Close()
	v1Mount, v2Mount, err := findMounts(mounts)
	if err != nil {
		return 0, false, err
	}
	switch {
	case hasV1 && v1Mount.point != "":
		return lowest(fsys, v1Mount, v1Path, readV1)
	case hasV2 && v2Mount.point != "":
		return lowest(fsys, v2Mount, v2Path, readV2)
	}
	return 0, false, nil
}

// parseCgroups reads /proc/self/cgroup ("id:controllers:path" lines): the
// path of the v1 hierarchy holding the cpu controller, and the v2 path.
func parseCgroups(s string) (v1Path, v2Path string, hasV1, hasV2 bool) {
	for _, line := range strings.Split(s, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path, hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				v1Path, hasV1 = parts[2], true
			}
		}
	}
	return v1Path, v2Path, hasV1, hasV2
}

// mount is where a cgroup hierarchy is mounted and which of its
// directories the mount shows (not "/" inside many containers).
type mount struct {
	root, point string
}

// findMounts reads /proc/self/mountinfo for the v1 cpu hierarchy and the v2
// hierarchy. A line is "id parent major:minor root point options [tags] -
// fstype source superoptions".
func findMounts(r fs.File) (v1, v2 mount, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+3 >= len(fields) {
			continue
		}
		m := mount{root: fields[3], point: fields[4]}
		switch fstype, super := fields[sep+1], fields[sep+3]; {
		case fstype == "cgroup2" && v2.point == "":
			v2 = m
		case fstype == "cgroup" && v1.point == "" && hasOption(super, "cpu"):
			v1 = m
		}
	}
	return v1, v2, sc.Err()
}

func hasOption(options, want string) bool {
	for _, o := range strings.Split(options, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// lowest reads the limit in every directory from the process's cgroup up
// to the mount's root and returns the lowest.
func lowest(fsys fs.FS, m mount, cgroupPath string, limitIn func(fs.FS, string) (float64, bool, error)) (float64, bool, error) {
	rel := cgroupPath
	if m.root != "/" {
		var found bool
		if rel, found = strings.CutPrefix(cgroupPath, m.root); !found {
			return 0, false, nil // our cgroup is outside what the mount shows
		}
	}
	best, limited := 0.0, false
	for dir := path.Clean("/" + rel); ; dir = path.Dir(dir) {
		cpus, ok, err := limitIn(fsys, strings.TrimPrefix(path.Join(m.point, dir), "/"))
		if err != nil {
			return 0, false, err
		}
		if ok && (!limited || cpus < best) {
			best, limited = cpus, true
		}
		if dir == "/" {
			return best, limited, nil
		}
	}
}

// readV2 reads cpu.max: "max 100000" (no limit) or "<quota> <period>".
func readV2(fsys fs.FS, dir string) (float64, bool, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "cpu.max"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil // the root cgroup has no cpu.max
	}
	if err != nil {
		return 0, false, err
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, false, fmt.Errorf("%s/cpu.max: unexpected %q", dir, b)
	}
	if fields[0] == "max" {
		return 0, false, nil
	}
	return ratio(dir+"/cpu.max", fields[0], fields[1])
}

// readV1 reads cpu.cfs_quota_us (-1: no limit) and cpu.cfs_period_us.
func readV1(fsys fs.FS, dir string) (float64, bool, error) {
	quota, err := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_quota_us"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	q := strings.TrimSpace(string(quota))
	if q == "-1" {
		return 0, false, nil
	}
	period, err := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0, false, err
	}
	return ratio(dir+"/cpu.cfs_quota_us", q, strings.TrimSpace(string(period)))
}

func ratio(file, quota, period string) (float64, bool, error) {
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false, fmt.Errorf("%s: quota %q / period %q are not positive integers", file, quota, period)
	}
	return float64(q) / float64(p), true, nil
}
