package predlog

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"
)

// partition is what one file holds records of: a file never spans two
// model versions or two dates.
type partition struct {
	model   string
	version int64
	date    string // YYYY-MM-DD, UTC
}

// openFile is a file being written: gzip-compressed JSON lines in memory.
type openFile struct {
	key     string
	opened  time.Time
	buf     bytes.Buffer
	gz      *gzip.Writer
	size    int64 // uncompressed bytes
	records int
}

// rolledFile is a complete file waiting for the store.
type rolledFile struct {
	key     string
	data    []byte
	records int
}

// fileSet holds the open files, one per partition; only the encoder
// goroutine uses it.
type fileSet struct {
	maxBytes int64
	host     string
	pid      int
	seq      int // files opened so far
	open     map[partition]*openFile
	rolled   func(*rolledFile) // takes each rolled file (the uploader)
}

// add appends a line to p's file, opening one named after at (the first
// record's time) when there is none, and rolls the file once it reaches
// maxBytes.
func (s *fileSet) add(p partition, at time.Time, line []byte) {
	f := s.open[p]
	if f == nil {
		s.seq++
		f = &openFile{key: fileKey(p, at, s.host, s.pid, s.seq), opened: time.Now()}
		f.gz = gzip.NewWriter(&f.buf)
		s.open[p] = f
	}
	f.gz.Write(line) // writes to memory: cannot fail
	f.size += int64(len(line))
	f.records++
	if f.size >= s.maxBytes {
		s.roll(p)
	}
}

// rollOlderThan rolls the files opened before t.
func (s *fileSet) rollOlderThan(t time.Time) {
	for p, f := range s.open {
		if f.opened.Before(t) {
			s.roll(p)
		}
	}
}

// rollAll rolls every open file.
func (s *fileSet) rollAll() {
	for p := range s.open {
		s.roll(p)
	}
}

func (s *fileSet) roll(p partition) {
	f := s.open[p]
	delete(s.open, p)
	f.gz.Close()
	s.rolled(&rolledFile{key: f.key, data: f.buf.Bytes(), records: f.records})
}

// fileKey is where a file goes under the store's base:
// <model>/<version>/date=YYYY-MM-DD/predictions-<start>-<host>-<pid>-<seq>.jsonl.gz,
// start being the first record's time in UTC (20261206T123456Z). Host, pid
// and seq keep the names of every replica's files apart.
func fileKey(p partition, start time.Time, host string, pid, seq int) string {
	return fmt.Sprintf("%s/%d/date=%s/predictions-%s-%s-%d-%06d.jsonl.gz",
		p.model, p.version, p.date, start.UTC().Format("20060102T150405Z"), host, pid, seq)
}

// fileNamePart keeps letters, digits, '.', '-' and '_' of s (a hostname),
// replacing anything else with '_'.
func fileNamePart(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
