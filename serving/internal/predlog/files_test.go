package predlog

import (
	"testing"
	"time"
)

func TestFileKey(t *testing.T) {
	start := time.Date(2026, 12, 6, 13, 34, 56, 789012000, time.FixedZone("CET", 3600))
	got := fileKey(partition{model: "faces", version: 3, date: "2026-12-06"}, start, "pod-7f9c", 42, 7)
	if want := "faces/3/date=2026-12-06/predictions-20261206T123456Z-pod-7f9c-42-000007.jsonl.gz"; got != want {
		t.Errorf("fileKey = %s\nwant      %s", got, want)
	}
	if got := fileNamePart("host name/x"); got != "host_name_x" {
		t.Errorf("fileNamePart = %s", got)
	}
}

// TestFileNeverSpansDates: records of two dates (and two versions) go to
// separate files even when they arrive interleaved.
func TestFileNeverSpansDates(t *testing.T) {
	var rolled []*rolledFile
	s := &fileSet{maxBytes: 1 << 20, host: "h", pid: 1, open: map[partition]*openFile{},
		rolled: func(f *rolledFile) { rolled = append(rolled, f) }}
	day1 := time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)
	day2 := day1.Add(2 * time.Second)
	s.add(partition{"m", 1, "2026-12-06"}, day1, []byte("a\n"))
	s.add(partition{"m", 1, "2026-12-07"}, day2, []byte("b\n"))
	s.add(partition{"m", 2, "2026-12-07"}, day2, []byte("c\n"))
	s.add(partition{"m", 1, "2026-12-06"}, day1, []byte("d\n"))
	s.rollAll()
	keys := map[string]int{}
	for _, f := range rolled {
		keys[f.key] = f.records
	}
	want := map[string]int{
		"m/1/date=2026-12-06/predictions-20261206T235959Z-h-1-000001.jsonl.gz": 2,
		"m/1/date=2026-12-07/predictions-20261207T000001Z-h-1-000002.jsonl.gz": 1,
		"m/2/date=2026-12-07/predictions-20261207T000001Z-h-1-000003.jsonl.gz": 1,
	}
	if len(keys) != len(want) {
		t.Fatalf("files %v, want %v", keys, want)
	}
	for k, n := range want {
		if keys[k] != n {
			t.Errorf("%s: %d records, want %d (all files: %v)", k, keys[k], n, keys)
		}
	}
}
