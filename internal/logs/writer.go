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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxLineSize is the longest line, without its newline, written as one
// record; longer lines are split into records of at most this many bytes.
const MaxLineSize = 16 << 10

const (
	// StreamStdout is the stream name of a container's standard output.
	StreamStdout = "stdout"
	// StreamStderr is the stream name of a container's standard error.
	StreamStderr = "stderr"

	fileMode = 0o640
	dirMode  = 0o750
)

// ErrWriterClosed is returned by writes to a [Writer] after Close.
var ErrWriterClosed = errors.New("log writer closed")

// Writer appends json-file records to a log file and rotates it. Records of
// any number of streams, each written through its own [StreamWriter], can be
// written from concurrent goroutines.
type Writer struct {
	path string
	opts Options

	mu   sync.Mutex
	f    *os.File
	size int64

	fwd *forwarder // nil unless opts.Forward
}

// NewWriter opens (appending to it if it exists) or creates the log file
// path, creating missing directories. Rotated files of a previous run with a
// higher max-file (<path>.<k> for k >= opts.MaxFile) are removed.
func NewWriter(path string, opts Options) (*Writer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("log file path is empty")
	}
	if err := mkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	for k := opts.MaxFile; ; k++ {
		if err := os.Remove(rotated(path, k)); err != nil {
			break // the first one missing ends the sequence
		}
	}
	w := &Writer{path: path, opts: opts, f: f, size: fi.Size()}
	if opts.Forward != nil {
		if w.fwd, err = newForwarder(*opts.Forward); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return w, nil
}

// Path returns the name of the current log file.
func (w *Writer) Path() string { return w.path }

// Stream returns a writer for the named stream (normally [StreamStdout] or
// [StreamStderr]). Each StreamWriter must be used by one goroutine at a
// time; different ones may be used concurrently.
func (w *Writer) Stream(name string) *StreamWriter {
	return &StreamWriter{w: w, stream: name}
}

// Close closes the log file, after the forward (if any) had its chance to
// send what it holds. It does not flush the partial lines of its
// StreamWriters: close those first.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	if w.fwd != nil {
		w.fwd.close()
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// writeRecords writes data, the concatenation of whole records, where ends
// holds the offset just past each record, rotating between records as
// needed. If rotating fails, the records go on to the current file and the
// error is returned after they are written.
func (w *Writer) writeRecords(data []byte, ends []int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return ErrWriterClosed
	}
	var rotateErr error
	start, prev := 0, 0 // data[start:prev] is accepted but not yet written
	for _, end := range ends {
		pending := w.size + int64(prev-start)
		if rotateErr == nil && pending > 0 && pending+int64(end-prev) > w.opts.MaxSize {
			if err := w.write(data[start:prev]); err != nil {
				return err
			}
			start = prev
			if err := w.rotate(); err != nil {
				rotateErr = fmt.Errorf("rotating %s: %w", w.path, err)
			}
		}
		prev = end
	}
	return errors.Join(w.write(data[start:prev]), rotateErr)
}

func (w *Writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	return err
}

// rotate shifts the files by one and starts a new, empty current file.
// With max-file 1 it truncates the current file.
func (w *Writer) rotate() error {
	if w.opts.MaxFile == 1 {
		if err := w.f.Truncate(0); err != nil {
			return err
		}
		w.size = 0
		return nil
	}
	if _, err := os.Lstat(w.path); errors.Is(err, fs.ErrNotExist) {
		// A previous rotation renamed the current file but could not
		// create the new one: only that is left to do.
		return w.reopen()
	}
	// Rotated files are <path>.1 … <path>.n without gaps; count them.
	n := 0
	for n < w.opts.MaxFile-1 {
		if _, err := os.Lstat(rotated(w.path, n+1)); err != nil {
			break
		}
		n++
	}
	if n == w.opts.MaxFile-1 {
		if err := os.Remove(rotated(w.path, n)); err != nil {
			return err
		}
		n--
	}
	for k := n; k >= 1; k-- {
		if err := os.Rename(rotated(w.path, k), rotated(w.path, k+1)); err != nil {
			return err
		}
	}
	if err := os.Rename(w.path, rotated(w.path, 1)); err != nil {
		return err
	}
	return w.reopen()
}

// reopen replaces the file being written by a new, empty current file. If
// that fails, writes go on to the old one (renamed to <path>.1) rather than
// being lost, and the next rotation tries again.
func (w *Writer) reopen() error {
	f, err := openLog(w.path)
	if err != nil {
		return err
	}
	old := w.f
	w.f, w.size = f, 0
	return old.Close()
}

// rotated returns the name of the k-th rotated file of path.
func rotated(path string, k int) string {
	return path + "." + strconv.Itoa(k)
}

// openLog opens path for appending, creating it with mode 0640.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
	if err == nil {
		if err := f.Chmod(fileMode); err != nil { // whatever the umask
			_ = f.Close()
			return nil, err
		}
		return f, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
}

// mkdirAll is os.MkdirAll that gives the directories it creates mode 0750
// whatever the umask, and leaves existing ones alone.
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, fs.ErrExist) { // created concurrently
			if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
				return nil
			}
		}
		return err
	}
	return os.Chmod(dir, dirMode)
}

// StreamWriter turns the bytes of one stream into records: it is an
// io.Writer that buffers an unfinished line until its newline arrives (or
// it grows past [MaxLineSize]). Close writes what is left of an unfinished
// line. A StreamWriter is not safe for concurrent use.
type StreamWriter struct {
	w      *Writer
	stream string
	line   []byte // unfinished line
	out    []byte // encoded records, reused
	ends   []int
	// partial numbers the records of a line being split, for the forward.
	partial *partialLine
}

// Write splits p into records and writes the complete ones. It always
// consumes all of p, returning len(p); a non-nil error reports that the log
// file could not be written (the records of that write are lost) or
// rotated (the records went on to the current file).
func (s *StreamWriter) Write(p []byte) (int, error) {
	s.line = append(s.line, p...)
	s.out, s.ends = s.out[:0], s.ends[:0]
	rest := s.line
	for {
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 && i <= MaxLineSize {
			s.encode(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		// Without a newline, wait for the bytes that decide where to cut
		// (see cutPoint), so that the records do not depend on how the
		// stream was chunked.
		if i > MaxLineSize || (i < 0 && len(rest) >= MaxLineSize+utf8.UTFMax-1) {
			n := cutPoint(rest)
			s.encodePart(rest[:n])
			rest = rest[n:]
			continue
		}
		break
	}
	s.line = s.line[:copy(s.line, rest)]
	if len(s.ends) == 0 {
		return len(p), nil
	}
	return len(p), s.w.writeRecords(s.out, s.ends)
}

// Close writes the unfinished line, if any, as a record without newline.
// It does not close the Writer.
func (s *StreamWriter) Close() error {
	if len(s.line) == 0 {
		return nil
	}
	s.out, s.ends = s.out[:0], s.ends[:0]
	rest := s.line
	for len(rest) > MaxLineSize {
		n := cutPoint(rest)
		s.encodePart(rest[:n])
		rest = rest[n:]
	}
	s.encode(rest)
	s.line = s.line[:0]
	return s.w.writeRecords(s.out, s.ends)
}

// cutPoint returns where to split a line longer than MaxLineSize: at
// MaxLineSize, or just before a valid UTF-8 character that would straddle
// it. It looks at b[MaxLineSize-3 : MaxLineSize+3] at most.
func cutPoint(b []byte) int {
	n := MaxLineSize
	for j := n; j > n-utf8.UTFMax && j > 0; j-- {
		if !utf8.RuneStart(b[j]) {
			continue
		}
		if j == n { // the next character starts right at the cut
			return n
		}
		if r, size := utf8.DecodeRune(b[j:]); r != utf8.RuneError && j+size > n {
			return j
		}
		return n
	}
	return n
}

// encode adds the record that ends a line (or the unfinished last line).
func (s *StreamWriter) encode(log []byte) { s.add(log, true) }

// encodePart adds a record of a line longer than MaxLineSize, not its last.
func (s *StreamWriter) encodePart(log []byte) { s.add(log, false) }

func (s *StreamWriter) add(log []byte, last bool) {
	now := time.Now()
	s.out = appendRecord(s.out, log, s.stream, now)
	s.ends = append(s.ends, len(s.out))
	if s.w.fwd == nil {
		return
	}
	// The router gets the parts of a split line numbered, as Docker's
	// fluentd driver sends them.
	if last && s.partial == nil {
		s.w.fwd.post(s.stream, log, now, nil)
		return
	}
	if s.partial == nil {
		s.partial = &partialLine{id: newPartialID()}
	}
	s.partial.ordinal++
	s.partial.last = last
	p := *s.partial
	s.w.fwd.post(s.stream, log, now, &p)
	if last {
		s.partial = nil
	}
}

// timeFormat is RFC 3339 with nanoseconds, always nine digits, as Docker
// writes it.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// appendRecord appends one json-file record, with its newline, to dst.
func appendRecord(dst, log []byte, stream string, t time.Time) []byte {
	dst = append(dst, `{"log":`...)
	dst = appendJSONString(dst, log)
	dst = append(dst, `,"stream":`...)
	dst = appendJSONString(dst, []byte(stream))
	dst = append(dst, `,"time":"`...)
	dst = t.UTC().AppendFormat(dst, timeFormat)
	return append(dst, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// encodes a string: HTML-safe, invalid UTF-8 replaced by U+FFFD, U+2028 and
// U+2029 escaped.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
