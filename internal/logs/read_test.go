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
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func readAll(t *testing.T, file string, opts ReadOptions) []Line {
	t.Helper()
	var out []Line
	if err := Read(context.Background(), file, opts, func(l Line) error { out = append(out, l); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadTailAcrossRotatedFiles(t *testing.T) {
	path := rotatedLogs(t, 20, 4) // 9..19 kept
	for _, c := range []struct {
		n    int
		want []string
	}{
		{-1, wantLines(9, 20)},
		{0, nil},
		{1, wantLines(19, 20)},
		{4, wantLines(16, 20)},
		{100, wantLines(9, 20)},
	} {
		equal(t, fmt.Sprintf("Read(tail %d)", c.n), logs(readAll(t, path, ReadOptions{Tail: c.n})), c.want)
	}
}

func TestReadSinceAndUntil(t *testing.T) {
	w, path := newWriter(t, Options{MaxSize: recordLen("line 00\n") * 3, MaxFile: 10})
	s := w.Stream(StreamStdout)
	var marks []time.Time
	for i := range 10 {
		marks = append(marks, time.Now())
		write(t, s, fmt.Sprintf("line %02d\n", i))
		time.Sleep(2 * time.Millisecond)
	}
	equal(t, "since line 04", logs(readAll(t, path, ReadOptions{Tail: -1, Since: marks[4]})), wantLines(4, 10))
	equal(t, "since 04, tail 2", logs(readAll(t, path, ReadOptions{Tail: 2, Since: marks[4]})), wantLines(8, 10))
	equal(t, "until line 03", logs(readAll(t, path, ReadOptions{Tail: -1, Until: marks[3]})), wantLines(0, 3))
	equal(t, "02 to 06, tail 2", logs(readAll(t, path, ReadOptions{Tail: 2, Since: marks[2], Until: marks[6]})), wantLines(4, 6))
}

func TestReadMissingFile(t *testing.T) {
	err := Read(context.Background(), filepath.Join(t.TempDir(), "none.log"), ReadOptions{Tail: -1}, func(Line) error { return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want fs.ErrNotExist, got %v", err)
	}
}

// collector gathers what a follower emits.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) emit(l Line) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l.Log)
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.lines...)
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadFollowAcrossRotations(t *testing.T) {
	// 3 records a file, 3 files: the follower must see every record even
	// though the files rotate under it, as long as it keeps up.
	w, path := newWriter(t, Options{MaxSize: recordLen("line 00\n") * 3, MaxFile: 3})
	s := w.Stream(StreamStdout)
	for i := range 2 {
		write(t, s, fmt.Sprintf("line %02d\n", i))
	}
	var c collector
	done := make(chan struct{})
	errC := make(chan error, 1)
	go func() {
		errC <- Read(context.Background(), path, ReadOptions{Tail: 1, Follow: true, Done: done, Poll: 2 * time.Millisecond}, c.emit)
	}()
	equal(t, "tail 1", c.waitFor(t, 1), wantLines(1, 2))
	for i := 2; i < 30; i++ {
		write(t, s, fmt.Sprintf("line %02d\n", i))
		// Slower than the poll: the follower keeps up with rotations.
		time.Sleep(10 * time.Millisecond)
	}
	equal(t, "followed", c.waitFor(t, 29), wantLines(1, 30))
	write(t, s, "line 30\n")
	close(done)
	if err := <-errC; err != nil {
		t.Fatal(err)
	}
	equal(t, "after done", c.waitFor(t, 30), wantLines(1, 31))
}

func TestReadFollowTruncatedInPlace(t *testing.T) {
	// max-file 1: the writer truncates the file instead of rotating it.
	w, path := newWriter(t, Options{MaxSize: recordLen("line 00\n") * 2, MaxFile: 1})
	s := w.Stream(StreamStdout)
	var c collector
	ctx, cancel := context.WithCancel(context.Background())
	errC := make(chan error, 1)
	go func() {
		errC <- Read(ctx, path, ReadOptions{Tail: -1, Follow: true, Poll: 2 * time.Millisecond}, c.emit)
	}()
	for i := range 7 {
		write(t, s, fmt.Sprintf("line %02d\n", i))
		time.Sleep(15 * time.Millisecond)
	}
	equal(t, "followed", c.waitFor(t, 7), wantLines(0, 7))
	cancel()
	if err := <-errC; err != nil {
		t.Fatal(err)
	}
}

func TestReadFollowWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ns", "task", "app.log")
	var c collector
	done := make(chan struct{})
	errC := make(chan error, 1)
	go func() {
		errC <- Read(context.Background(), path, ReadOptions{Tail: -1, Follow: true, Done: done, Poll: 2 * time.Millisecond}, c.emit)
	}()
	time.Sleep(20 * time.Millisecond)
	w, err := NewWriter(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	write(t, w.Stream(StreamStderr), "hello\n")
	equal(t, "followed", c.waitFor(t, 1), []string{"hello\n"})
	close(done)
	if err := <-errC; err != nil {
		t.Fatal(err)
	}
}

func TestReadEmitErrorStops(t *testing.T) {
	path := rotatedLogs(t, 5, 2)
	boom := errors.New("client gone")
	err := Read(context.Background(), path, ReadOptions{Tail: -1, Follow: true}, func(Line) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("want the emit error, got %v", err)
	}
}
