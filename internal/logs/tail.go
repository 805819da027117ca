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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Line is one record of a log file.
type Line struct {
	// Log is the text of the record: a line with its "\n", or, without
	// "\n", a piece of a line longer than MaxLineSize or the last line of
	// a stream that ended without newline.
	Log string `json:"log"`
	// Stream is "stdout" or "stderr".
	Stream string `json:"stream"`
	// Time is when the line was read.
	Time time.Time `json:"time"`
}

// Tail returns the last n records of the log file file and of its rotated
// files (<file>.1, <file>.2, …), oldest first, newest last. A negative n
// returns all of them. A last line that is not yet complete (still being
// written) is left out. It returns an error wrapping fs.ErrNotExist if
// neither file nor <file>.1 exists, and an error for a record that is not
// valid JSON.
//
// Tail does not lock out a concurrent rotation: a record can be missed or
// seen twice if the files rotate while it reads them.
func Tail(file string, n int) ([]Line, error) {
	if n == 0 {
		return nil, nil
	}
	// Newest first: file, file.1, file.2, … The current file can be
	// missing for a moment while it rotates.
	var chunks [][][]byte
	total := 0
	for k := 0; n < 0 || total < n; k++ {
		name := file
		if k > 0 {
			name = rotated(file, k)
		}
		want := -1
		if n > 0 {
			want = n - total
		}
		lines, err := lastLines(name, want)
		if errors.Is(err, fs.ErrNotExist) {
			if k == 0 {
				continue
			}
			if k == 1 && len(chunks) == 0 {
				return nil, fmt.Errorf("reading logs: %w", err)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading logs: %w", err)
		}
		chunks = append(chunks, lines)
		total += len(lines)
	}
	out := make([]Line, 0, total)
	for c := len(chunks) - 1; c >= 0; c-- {
		for _, raw := range chunks[c] {
			l, err := decode(file, raw)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// lastLines returns the last n complete lines (without their "\n") of the
// file, in file order, all of them if n < 0.
func lastLines(name string, n int) ([][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	lines, _, err := lastLinesOf(f, fi.Size(), n)
	return lines, err
}

// lastLinesOf returns the last n complete lines (without their "\n") of
// the first size bytes of f, in file order, all of them if n < 0, and the
// offset just past the last complete line. It reads the file backwards in
// growing blocks, so that a few lines of a large file are cheap.
func lastLinesOf(f *os.File, size int64, n int) ([][]byte, int64, error) {
	var data []byte // the last len(data) bytes of the file
	if n < 0 {
		data = make([]byte, size)
		if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
	} else {
		block := int64(64 << 10)
		for int64(len(data)) < size {
			// Enough once the data holds n newlines past the one that
			// ends the line before them (or the file's start).
			if bytes.Count(trimIncomplete(data), []byte{'\n'}) > n {
				break
			}
			read := min(block, size-int64(len(data)))
			buf := make([]byte, int(read)+len(data))
			off := size - int64(len(data)) - read
			if _, err := f.ReadAt(buf[:read], off); err != nil {
				return nil, 0, err
			}
			copy(buf[read:], data)
			data = buf
			block *= 2
		}
	}
	atStart := int64(len(data)) == size
	start := size - int64(len(data))
	data = trimIncomplete(data)
	end := start + int64(len(data))
	if !atStart {
		// The first bytes are the end of a line that starts earlier.
		data = data[bytes.IndexByte(data, '\n')+1:] // (no newline: data is empty)
	}
	if len(data) == 0 || n == 0 {
		return nil, end, nil
	}
	lines := bytes.Split(data[:len(data)-1], []byte{'\n'})
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, end, nil
}

// trimIncomplete drops the bytes after the last newline.
func trimIncomplete(b []byte) []byte {
	return b[:bytes.LastIndexByte(b, '\n')+1]
}
