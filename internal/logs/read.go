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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ReadOptions select the records [Read] passes on.
type ReadOptions struct {
	// Tail is how many of the last records to start with; negative: all.
	// It counts the records that Since and Until let through.
	Tail int
	// Since, when set, skips the records written before it.
	Since time.Time
	// Until, when set, skips the records written at or after it (the
	// records of a container's earlier attempt, which end when the next
	// one starts).
	Until time.Time
	// Follow goes on passing records as they are written, across
	// rotations, until ctx ends or Done is closed.
	Follow bool
	// Done, when Follow, is closed once nothing more will be written
	// (the container exited and its logger is gone): Read then passes on
	// what the file holds and returns.
	Done <-chan struct{}
	// Poll is how often a follower looks for new records; default 100ms.
	Poll time.Duration
}

// Read passes the records of the log file file and of its rotated files
// (oldest first) that opts select to emit, and with opts.Follow the ones
// written later, as the writer appends and rotates them. It returns the
// first error of emit, an error wrapping fs.ErrNotExist when there is no
// log file (and not Follow), nil when ctx ends or opts.Done is closed.
//
// A follower keeps the file it reads open, so that the records written
// before a rotation are still read from the renamed file; one that falls
// more than one rotation behind misses the files in between.
func Read(ctx context.Context, file string, opts ReadOptions, emit func(Line) error) error {
	keep := func(l Line) bool {
		return (opts.Since.IsZero() || !l.Time.Before(opts.Since)) && (opts.Until.IsZero() || l.Time.Before(opts.Until))
	}
	f, err := os.Open(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading logs: %w", err)
	}
	var off int64
	if f != nil {
		defer func() { _ = f.Close() }()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		// The records up to the current end of the open file, then the
		// rotated files by name for more.
		want := opts.Tail
		if !opts.Until.IsZero() || !opts.Since.IsZero() {
			want = -1 // filtered first, counted after
		}
		lines, end, err := lastLinesOf(f, fi.Size(), want)
		if err != nil {
			return fmt.Errorf("reading logs: %w", err)
		}
		off = end
		chunks := [][][]byte{lines}
		total := len(lines)
		for k := 1; want < 0 || total < want; k++ {
			more := -1
			if want > 0 {
				more = want - total
			}
			older, err := lastLines(rotated(file, k), more)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return fmt.Errorf("reading logs: %w", err)
			}
			chunks = append(chunks, older)
			total += len(older)
		}
		var out []Line
		for c := len(chunks) - 1; c >= 0; c-- {
			for _, raw := range chunks[c] {
				l, err := decode(file, raw)
				if err != nil {
					return err
				}
				if keep(l) {
					out = append(out, l)
				}
			}
		}
		if opts.Tail >= 0 && len(out) > opts.Tail {
			out = out[len(out)-opts.Tail:]
		}
		for _, l := range out {
			if err := emit(l); err != nil {
				return err
			}
		}
	} else if !opts.Follow {
		if _, err := os.Stat(rotated(file, 1)); err != nil {
			return fmt.Errorf("reading logs: %w", err)
		}
		// Rotating right now: what the rotated files hold.
		lines, err := Tail(file, opts.Tail)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if keep(l) {
				if err := emit(l); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if !opts.Follow {
		return nil
	}
	poll := opts.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	fl := &follower{file: file, f: f, off: off, keep: keep, emit: emit}
	defer func() { fl.close() }()
	done := opts.Done
	for {
		n, err := fl.step()
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			// Whatever was written before Done: once more, to the end.
			for {
				n, err := fl.step()
				if err != nil || n == 0 {
					return err
				}
			}
		case <-time.After(poll):
		}
	}
}

// follower reads a log file from an offset on, and moves to the new
// current file when the writer rotates.
type follower struct {
	file string
	f    *os.File // nil until the file exists
	off  int64
	buf  []byte // the start of a record not complete yet
	keep func(Line) bool
	emit func(Line) error
}

func (fl *follower) close() {
	if fl.f != nil {
		_ = fl.f.Close()
	}
}

// step passes on what was appended since the last step and returns how
// many bytes it read; when there is nothing new and the file was rotated
// or truncated, it moves on to the current file.
func (fl *follower) step() (int, error) {
	if fl.f == nil {
		f, err := os.Open(fl.file)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		fl.f, fl.off, fl.buf = f, 0, nil
	}
	n, err := fl.readNew()
	if err != nil || n > 0 {
		return n, err
	}
	// Nothing new: still the current file, and not truncated?
	cur, err := os.Stat(fl.file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	mine, err := fl.f.Stat()
	if err != nil {
		return 0, err
	}
	switch {
	case cur != nil && os.SameFile(cur, mine):
		if mine.Size() < fl.off { // max-file 1: truncated in place
			fl.off, fl.buf = 0, nil
			return 1, nil
		}
		return 0, nil
	case cur == nil:
		return 0, nil // renamed, the new one not created yet
	default:
		// Rotated: the old file was read to its end above (the writer
		// renames it only after its last record); on to the new one.
		_ = fl.f.Close()
		fl.f, fl.off, fl.buf = nil, 0, nil
		return fl.step()
	}
}

// readNew reads what the file holds past off and passes on the complete
// records.
func (fl *follower) readNew() (int, error) {
	chunk := make([]byte, 64<<10)
	total := 0
	for {
		n, err := fl.f.ReadAt(chunk, fl.off)
		if n > 0 {
			total += n
			fl.off += int64(n)
			fl.buf = append(fl.buf, chunk[:n]...)
			for {
				i := bytes.IndexByte(fl.buf, '\n')
				if i < 0 {
					break
				}
				l, derr := decode(fl.file, fl.buf[:i])
				fl.buf = fl.buf[i+1:]
				if derr != nil {
					return total, derr
				}
				if fl.keep(l) {
					if err := fl.emit(l); err != nil {
						return total, err
					}
				}
			}
			fl.buf = append([]byte(nil), fl.buf...)
		}
		if errors.Is(err, io.EOF) || (err == nil && n < len(chunk)) {
			return total, nil
		}
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return total, err
		}
	}
}

func decode(file string, raw []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(raw, &l); err != nil {
		return Line{}, fmt.Errorf("reading logs of %s: bad record %q: %w", file, truncate(raw, 80), err)
	}
	return l, nil
}
