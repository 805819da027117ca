/*
Copyright 2026 The Longshore Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// recordRE is the exact shape of a record.
var recordRE = regexp.MustCompile(`^\{"log":"(?:[^"\\]|\\.)*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"\}$`)

// readRecords reads every record of one file, checking its shape.
func readRecords(t *testing.T, path string) []Line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var out []Line
	for _, raw := range strings.Split(string(data[:len(data)-1]), "\n") {
		if !recordRE.MatchString(raw) {
			t.Fatalf("%s: malformed record %q", path, raw)
		}
		var l Line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("%s: %q: %v", path, raw, err)
		}
		out = append(out, l)
	}
	return out
}

func logs(lines []Line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Log
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records %q, want %d %q", what, len(got), shorten(got), len(want), shorten(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: record %d: got %q, want %q", what, i, shorten([]string{got[i]}), shorten([]string{want[i]}))
		}
	}
}

func shorten(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		if len(v) > 60 {
			v = fmt.Sprintf("%s…(%d bytes)", v[:40], len(v))
		}
		out[i] = v
	}
	return out
}

func newWriter(t *testing.T, opts Options) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ns", "task", "app.log")
	w, err := NewWriter(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, path
}

func write(t *testing.T, s *StreamWriter, data string) {
	t.Helper()
	if n, err := s.Write([]byte(data)); err != nil || n != len(data) {
		t.Fatalf("Write: %d, %v", n, err)
	}
}

func TestRecordFormat(t *testing.T) {
	before := time.Now().UTC()
	w, path := newWriter(t, DefaultOptions())
	out, errw := w.Stream(StreamStdout), w.Stream(StreamStderr)
	write(t, out, "hello\n")
	write(t, errw, "wor")
	write(t, errw, "ld\n\n")
	write(t, out, "quote\" back\\slash <tag> & tab\t cr\r bell\a é \xff\n")
	write(t, out, "no newline")
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := errw.Close(); err != nil { // nothing left: no record
		t.Fatal(err)
	}
	after := time.Now().UTC()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The exact bytes, with the times masked.
	masked := regexp.MustCompile(`"time":"[^"]*"`).ReplaceAllString(string(data), `"time":"T"`)
	want := `{"log":"hello\n","stream":"stdout","time":"T"}
{"log":"world\n","stream":"stderr","time":"T"}
{"log":"\n","stream":"stderr","time":"T"}
{"log":"quote\" back\\slash \u003ctag\u003e \u0026 tab\t cr\r bell\u0007 é \ufffd\n","stream":"stdout","time":"T"}
{"log":"no newline","stream":"stdout","time":"T"}
`
	if masked != want {
		t.Fatalf("file content:\n%s\nwant:\n%s", masked, want)
	}
	lines := readRecords(t, path)
	for i, l := range lines {
		if l.Time.Before(before) || l.Time.After(after) {
			t.Errorf("record %d: time %v not within [%v, %v]", i, l.Time, before, after)
		}
		if i > 0 && l.Time.Before(lines[i-1].Time) {
			t.Errorf("record %d: time goes backwards", i)
		}
	}
	if lines[3].Log != "quote\" back\\slash <tag> & tab\t cr\r bell\a é \uFFFD\n" {
		t.Errorf("decoded log: %q", lines[3].Log)
	}
}

func TestFileAndDirectoryModes(t *testing.T) {
	old := syscall.Umask(0o077) // the modes must not depend on the umask
	defer syscall.Umask(old)
	root := t.TempDir()
	path, err := Path(root, "ns", "task", "app")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(root, "ns"), os.ModeDir | 0o750},
		{filepath.Join(root, "ns", "task"), os.ModeDir | 0o750},
		{path, 0o640},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	// Rotated-to files get the mode too.
	w2, err := NewWriter(path, Options{MaxSize: 1, MaxFile: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w2.Close() }()
	s := w2.Stream(StreamStdout)
	write(t, s, "a\nb\n")
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", p, fi.Mode())
		}
	}
}

func TestAppendsToExistingFile(t *testing.T) {
	w, path := newWriter(t, DefaultOptions())
	write(t, w.Stream(StreamStdout), "one\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stream(StreamStdout).Write([]byte("late\n")); err != ErrWriterClosed {
		t.Fatalf("write after Close: %v, want ErrWriterClosed", err)
	}
	w2, err := NewWriter(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w2.Close() }()
	write(t, w2.Stream(StreamStderr), "two\n")
	equal(t, "file", logs(readRecords(t, path)), []string{"one\n", "two\n"})
}

func TestLongLinesAreSplit(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	const M = MaxLineSize
	euro := "€" // 3 bytes
	cases := []struct {
		name  string
		input string
		want  []string
	}{
		{"exactly max", a(M) + "\n", []string{a(M) + "\n"}},
		{"max plus one", a(M+1) + "\n", []string{a(M), "a\n"}},
		{"two and a half", a(2*M+100) + "\n" + "next\n", []string{a(M), a(M), a(100) + "\n", "next\n"}},
		{"unterminated", a(2*M + 1), []string{a(M), a(M), "a"}},
		{"unterminated exact", a(M), []string{a(M)}},
		// A character straddling the cut moves to the next record.
		{"utf8 straddle", a(M-1) + euro + "b\n", []string{a(M - 1), euro + "b\n"}},
		{"utf8 straddle at end", a(M-2) + euro + "\n", []string{a(M - 2), euro + "\n"}},
		{"utf8 fits", a(M-3) + euro + "b\n", []string{a(M-3) + euro, "b\n"}},
		{"invalid utf8 is cut at max", a(M-1) + "\xe2\x82" + "b\n", []string{a(M-1) + "\ufffd", "\ufffd" + "b\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The records must not depend on how the stream is chunked.
			for _, chunk := range []int{len(c.input), 1, 7, 4096, M + 1} {
				w, path := newWriter(t, DefaultOptions())
				s := w.Stream(StreamStdout)
				for in := c.input; len(in) > 0; {
					n := min(chunk, len(in))
					write(t, s, in[:n])
					in = in[n:]
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				got := logs(readRecords(t, path))
				equal(t, fmt.Sprintf("chunks of %d", chunk), got, c.want)
				for i, g := range got {
					// (U+FFFD, 3 bytes, stands for one invalid byte)
					if len(strings.ReplaceAll(strings.TrimSuffix(g, "\n"), "\ufffd", "?")) > M {
						t.Errorf("record %d is %d bytes long", i, len(g))
					}
				}
			}
		})
	}
}

// recordLen is the length of the record of a log text on stdout.
func recordLen(log string) int64 {
	return int64(len(appendRecord(nil, []byte(log), StreamStdout, time.Now())))
}

func TestRotationAtExactBoundary(t *testing.T) {
	L := recordLen("line\n")
	t.Run("fills to max-size exactly", func(t *testing.T) {
		w, path := newWriter(t, Options{MaxSize: 3 * L, MaxFile: 5})
		s := w.Stream(StreamStdout)
		write(t, s, "line\nline\nline\n")
		if fi, err := os.Stat(path); err != nil || fi.Size() != 3*L {
			t.Fatalf("size after 3 records: %v %v, want %d", fi.Size(), err, 3*L)
		}
		if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
			t.Fatalf("rotated before the file was full: %v", err)
		}
		write(t, s, "line\n")
		if fi, err := os.Stat(path + ".1"); err != nil || fi.Size() != 3*L {
			t.Fatalf(".1 after 4 records: %v, want %d bytes", err, 3*L)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != L {
			t.Fatalf("current after 4 records: %v, want %d bytes", err, L)
		}
	})
	t.Run("one byte short", func(t *testing.T) {
		w, path := newWriter(t, Options{MaxSize: 3*L - 1, MaxFile: 5})
		s := w.Stream(StreamStdout)
		for range 3 { // one at a time and in one write give the same
			write(t, s, "line\n")
		}
		if n := len(readRecords(t, path+".1")); n != 2 {
			t.Fatalf(".1 has %d records, want 2", n)
		}
		if n := len(readRecords(t, path)); n != 1 {
			t.Fatalf("current has %d records, want 1", n)
		}
	})
	t.Run("record larger than max-size", func(t *testing.T) {
		w, path := newWriter(t, Options{MaxSize: 10, MaxFile: 5})
		s := w.Stream(StreamStdout)
		write(t, s, "first\nsecond\n")
		equal(t, ".1", logs(readRecords(t, path+".1")), []string{"first\n"})
		equal(t, "current", logs(readRecords(t, path)), []string{"second\n"})
	})
	t.Run("reopened file counts its size", func(t *testing.T) {
		w, path := newWriter(t, Options{MaxSize: 2 * L, MaxFile: 5})
		write(t, w.Stream(StreamStdout), "line\n")
		_ = w.Close()
		w2, err := NewWriter(path, Options{MaxSize: 2 * L, MaxFile: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = w2.Close() }()
		write(t, w2.Stream(StreamStdout), "line\nline\n")
		if n := len(readRecords(t, path+".1")); n != 2 {
			t.Fatalf(".1 has %d records, want 2", n)
		}
	})
}

func TestMaxFilePruning(t *testing.T) {
	L := recordLen("line 0\n")
	w, path := newWriter(t, Options{MaxSize: L, MaxFile: 3})
	s := w.Stream(StreamStdout)
	for i := range 10 {
		write(t, s, fmt.Sprintf("line %d\n", i))
	}
	equal(t, ".2", logs(readRecords(t, path+".2")), []string{"line 7\n"})
	equal(t, ".1", logs(readRecords(t, path+".1")), []string{"line 8\n"})
	equal(t, "current", logs(readRecords(t, path)), []string{"line 9\n"})
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d files, want 3: %v", len(entries), entries)
	}

	// A lower max-file on the next run removes the files beyond it.
	_ = w.Close()
	w2, err := NewWriter(path, Options{MaxSize: L, MaxFile: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w2.Close() }()
	if _, err := os.Stat(path + ".2"); !os.IsNotExist(err) {
		t.Fatalf(".2 kept with max-file 2: %v", err)
	}
	write(t, w2.Stream(StreamStdout), "line A\n")
	equal(t, ".1", logs(readRecords(t, path+".1")), []string{"line 9\n"})
	equal(t, "current", logs(readRecords(t, path)), []string{"line A\n"})
	if _, err := os.Stat(path + ".2"); !os.IsNotExist(err) {
		t.Fatalf(".2 created with max-file 2: %v", err)
	}
}

func TestMaxFileOneTruncates(t *testing.T) {
	L := recordLen("line 0\n")
	w, path := newWriter(t, Options{MaxSize: 2 * L, MaxFile: 1})
	s := w.Stream(StreamStdout)
	for i := range 5 {
		write(t, s, fmt.Sprintf("line %d\n", i))
	}
	equal(t, "current", logs(readRecords(t, path)), []string{"line 4\n"})
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Fatalf(".1 exists with max-file 1: %v", err)
	}
}

func TestConcurrentStreams(t *testing.T) {
	const perStream = 3000
	// Small files, and enough of them to keep everything.
	opts := Options{MaxSize: 4096, MaxFile: 1000}
	w, path := newWriter(t, opts)
	var wg sync.WaitGroup
	for _, name := range []string{StreamStdout, StreamStderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := w.Stream(name)
			rnd := rand.New(rand.NewSource(int64(len(name))))
			var buf []byte
			for i := range perStream {
				buf = fmt.Appendf(buf, "%s %d %s\n", name, i, strings.Repeat("x", rnd.Intn(100)))
				if rnd.Intn(4) == 0 || i == perStream-1 { // several lines per write, split anywhere
					cut := rnd.Intn(len(buf) + 1)
					if _, err := s.Write(buf[:cut]); err != nil {
						t.Error(err)
					}
					if _, err := s.Write(buf[cut:]); err != nil {
						t.Error(err)
					}
					buf = buf[:0]
				}
			}
		}()
	}
	wg.Wait()

	lines, err := Tail(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l.Log)
		if !strings.HasSuffix(l.Log, "\n") || len(f) < 2 || len(f) > 3 || f[0] != l.Stream {
			t.Fatalf("bad record %q", l.Log)
		}
		i, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("bad record %q", l.Log)
		}
		if i != next[l.Stream] {
			t.Fatalf("%s: got line %d, want %d", l.Stream, i, next[l.Stream])
		}
		next[l.Stream]++
	}
	if next[StreamStdout] != perStream || next[StreamStderr] != perStream {
		t.Fatalf("got %v lines, want %d of each", next, perStream)
	}
	// Every file is within max-size and holds whole records.
	files, _ := filepath.Glob(path + "*")
	if len(files) < 10 {
		t.Fatalf("only %d files: no rotation happened", len(files))
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > opts.MaxSize {
			t.Errorf("%s: %d bytes > max-size %d", f, fi.Size(), opts.MaxSize)
		}
		readRecords(t, f)
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", "\x00\x01\x1f\x7f", "\b\f\n\r\t\"\\/", "<>&", "\u2028\u2029", "é€😀", "\xff\xfe", "a\xe2\x82", "\xed\xa0\x80"}
	rnd := rand.New(rand.NewSource(1))
	for range 2000 {
		b := make([]byte, rnd.Intn(20))
		for i := range b {
			switch rnd.Intn(3) {
			case 0:
				b[i] = byte(rnd.Intn(0x80))
			default:
				b[i] = byte(rnd.Intn(0x100))
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		want, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, []byte(in)); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestCutPointNeverSplitsValidRunes(t *testing.T) {
	for _, r := range []string{"é", "€", "😀"} {
		for pad := MaxLineSize - 4; pad <= MaxLineSize; pad++ {
			line := strings.Repeat("a", pad) + r + strings.Repeat("b", 8)
			n := cutPoint([]byte(line))
			if n > MaxLineSize || !utf8.ValidString(line[:n]) || !utf8.ValidString(line[n:]) {
				t.Errorf("%q after %d bytes: cut at %d", r, pad, n)
			}
		}
	}
}

func TestPath(t *testing.T) {
	p, err := Path("", "default", "web-1", "app")
	if err != nil || p != "/var/log/longshore/tasks/default/web-1/app.log" {
		t.Fatalf("Path: %q, %v", p, err)
	}
	p, err = Path("/srv/logs", "ns", "t", "c")
	if err != nil || p != "/srv/logs/ns/t/c.log" {
		t.Fatalf("Path: %q, %v", p, err)
	}
	for _, bad := range [][3]string{
		{"", "t", "c"}, {"ns", "", "c"}, {"ns", "t", ""},
		{"..", "t", "c"}, {"ns", ".", "c"}, {"ns", "a/b", "c"}, {"ns", "t", "c\x00"},
	} {
		if p, err := Path("/r", bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Path(%q): %q, want an error", bad, p)
		}
	}
	_, err = Path("/r", "ns", "../x", "c")
	if err == nil || !strings.Contains(err.Error(), `task name "../x"`) {
		t.Errorf("error %v does not name the task name", err)
	}
}

func TestNewWriterErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(filepath.Join(file, "c.log"), DefaultOptions()); err == nil {
		t.Error("NewWriter under a regular file: no error")
	}
	if _, err := NewWriter(dir, DefaultOptions()); err == nil {
		t.Error("NewWriter on a directory: no error")
	}
	if _, err := NewWriter(filepath.Join(dir, "c.log"), Options{MaxSize: 0, MaxFile: 1}); err == nil {
		t.Error("NewWriter with max-size 0: no error")
	}
	if _, err := NewWriter(filepath.Join(dir, "c.log"), Options{MaxSize: 1, MaxFile: 0}); err == nil {
		t.Error("NewWriter with max-file 0: no error")
	}
}
