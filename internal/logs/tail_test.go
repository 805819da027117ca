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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rotatedLogs writes count lines "line <i>\n", one record per file, with
// files files kept, and returns the current file.
func rotatedLogs(t *testing.T, count, files int) string {
	t.Helper()
	w, path := newWriter(t, Options{MaxSize: recordLen("line 00\n") * 3, MaxFile: files})
	s := w.Stream(StreamStdout)
	for i := range count {
		write(t, s, fmt.Sprintf("line %02d\n", i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantLines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %02d\n", i))
	}
	return out
}

func TestTailAcrossRotatedFiles(t *testing.T) {
	// 3 records a file, 4 files: 18 and 19 in the current file, then
	// 15..17, 12..14 and 9..11.
	path := rotatedLogs(t, 20, 4)
	if _, err := os.Stat(path + ".3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int
		want []string
	}{
		{1, wantLines(19, 20)},
		{2, wantLines(18, 20)},
		{3, wantLines(17, 20)},
		{5, wantLines(15, 20)},
		{10, wantLines(10, 20)},
		{11, wantLines(9, 20)},
		{12, wantLines(9, 20)},
		{100, wantLines(9, 20)},
		{-1, wantLines(9, 20)},
		{0, nil},
	} {
		lines, err := Tail(path, c.n)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("Tail(%d)", c.n), logs(lines), c.want)
		for _, l := range lines {
			if l.Stream != StreamStdout || l.Time.IsZero() {
				t.Fatalf("Tail(%d): %+v", c.n, l)
			}
		}
	}
}

func TestTailLargeFile(t *testing.T) {
	// Several read blocks: long lines, in one file.
	w, path := newWriter(t, Options{MaxSize: 1 << 30, MaxFile: 1})
	s := w.Stream(StreamStderr)
	var all []string
	for i := range 400 {
		l := fmt.Sprintf("%d %s\n", i, strings.Repeat("z", i*7))
		all = append(all, l)
		write(t, s, l)
	}
	for _, n := range []int{1, 7, 150, 399, 400, 401, -1} {
		lines, err := Tail(path, n)
		if err != nil {
			t.Fatal(err)
		}
		want := all
		if n >= 0 && n < len(all) {
			want = all[len(all)-n:]
		}
		equal(t, fmt.Sprintf("Tail(%d)", n), logs(lines), want)
	}
}

func TestTailSkipsIncompleteLastLine(t *testing.T) {
	w, path := newWriter(t, DefaultOptions())
	write(t, w.Stream(StreamStdout), "a\nb\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"log":"being writ`); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	for _, n := range []int{1, 2, 3, -1} {
		lines, err := Tail(path, n)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a\n", "b\n"}
		if n == 1 {
			want = want[1:]
		}
		equal(t, fmt.Sprintf("Tail(%d)", n), logs(lines), want)
	}
}

func TestTailCurrentFileMissing(t *testing.T) {
	// Between the rename and the new file of a rotation.
	path := rotatedLogs(t, 6, 3)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	lines, err := Tail(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Tail", logs(lines), wantLines(0, 6)[:3])
}

func TestTailErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Tail(filepath.Join(dir, "none.log"), 10)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.log")
	if err := os.WriteFile(bad, []byte("{\"log\":\"ok\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05.000000000Z\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Tail(bad, 10); err == nil || !strings.Contains(err.Error(), `bad record "not json"`) {
		t.Fatalf("malformed record: %v", err)
	}
	lines, err := Tail(filepath.Join(dir, "bad.log"), -1)
	if err == nil {
		t.Fatalf("malformed record: %v", lines)
	}
}
