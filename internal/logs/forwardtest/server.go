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

// Package forwardtest is the receiving end of the Fluent forward protocol
// (v1: Message, Forward, PackedForward and CompressedPackedForward modes,
// integer and EventTime timestamps, chunk acknowledgements), for tests and
// for the test log router the node tests run as a FireLens container. It
// is written from the protocol specification, independently of the
// client library the logger uses, so that a disagreement between the two
// shows.
package forwardtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// Event is one record received.
type Event struct {
	Tag    string
	Time   time.Time
	Record map[string]any
}

// Serve accepts connections on l and calls handle for every event, from
// one goroutine per connection, until l is closed. A malformed message
// closes its connection and is reported to bad (which may be nil).
func Serve(l net.Listener, handle func(Event), bad func(error)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = c.Close() }()
			if err := ServeConn(c, handle); err != nil && bad != nil {
				bad(err)
			}
		}()
	}
}

// ServeConn reads messages from c until it ends.
func ServeConn(c io.ReadWriter, handle func(Event)) error {
	r := msgp.NewReader(bufio.NewReader(c))
	for {
		if _, err := r.NextType(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		events, chunk, err := readMessage(r)
		if err != nil {
			return fmt.Errorf("forward protocol: %w", err)
		}
		for _, e := range events {
			handle(e)
		}
		if chunk != "" {
			w := msgp.NewWriter(c)
			if err := w.WriteMapHeader(1); err != nil {
				return err
			}
			if err := w.WriteString("ack"); err != nil {
				return err
			}
			if err := w.WriteString(chunk); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

func readMessage(r *msgp.Reader) ([]Event, string, error) {
	n, err := r.ReadArrayHeader()
	if err != nil {
		return nil, "", err
	}
	if n < 2 || n > 4 {
		return nil, "", fmt.Errorf("a message is an array of 2 to 4 elements, got %d", n)
	}
	tag, err := r.ReadString()
	if err != nil {
		return nil, "", fmt.Errorf("tag: %w", err)
	}
	typ, err := r.NextType()
	if err != nil {
		return nil, "", err
	}
	var events []Event
	rest := n - 2
	switch typ {
	case msgp.ArrayType: // Forward: [tag, [[time, record], ...], option?]
		m, err := r.ReadArrayHeader()
		if err != nil {
			return nil, "", err
		}
		for range m {
			e, err := readEntry(r, tag)
			if err != nil {
				return nil, "", err
			}
			events = append(events, e)
		}
	case msgp.BinType, msgp.StrType: // PackedForward: [tag, entries, option?]
		var packed []byte
		if typ == msgp.BinType {
			packed, err = r.ReadBytes(nil)
		} else {
			var s string
			s, err = r.ReadString()
			packed = []byte(s)
		}
		if err != nil {
			return nil, "", err
		}
		var opt map[string]any
		if rest > 0 {
			if opt, err = readOption(r); err != nil {
				return nil, "", err
			}
		}
		if opt["compressed"] == "gzip" {
			if packed, err = gunzip(packed); err != nil {
				return nil, "", fmt.Errorf("compressed entries: %w", err)
			}
		}
		pr := msgp.NewReader(bytes.NewReader(packed))
		for {
			if _, err := pr.NextType(); errors.Is(err, io.EOF) {
				break
			}
			e, err := readEntry(pr, tag)
			if err != nil {
				return nil, "", err
			}
			events = append(events, e)
		}
		chunk, _ := opt["chunk"].(string)
		return events, chunk, nil
	default: // Message: [tag, time, record, option?]
		if rest < 1 {
			return nil, "", errors.New("a message without a record")
		}
		t, err := readTime(r)
		if err != nil {
			return nil, "", err
		}
		rec, err := readRecord(r)
		if err != nil {
			return nil, "", err
		}
		events = append(events, Event{Tag: tag, Time: t, Record: rec})
		rest--
	}
	var chunk string
	if rest > 0 {
		opt, err := readOption(r)
		if err != nil {
			return nil, "", err
		}
		chunk, _ = opt["chunk"].(string)
	}
	return events, chunk, nil
}

func readEntry(r *msgp.Reader, tag string) (Event, error) {
	n, err := r.ReadArrayHeader()
	if err != nil {
		return Event{}, err
	}
	if n != 2 {
		return Event{}, fmt.Errorf("an entry is [time, record], got %d elements", n)
	}
	t, err := readTime(r)
	if err != nil {
		return Event{}, err
	}
	rec, err := readRecord(r)
	if err != nil {
		return Event{}, err
	}
	return Event{Tag: tag, Time: t, Record: rec}, nil
}

// readTime reads an integer (seconds) or an EventTime: extension type 0,
// 8 bytes, seconds and nanoseconds as big-endian uint32s.
func readTime(r *msgp.Reader) (time.Time, error) {
	typ, err := r.NextType()
	if err != nil {
		return time.Time{}, err
	}
	switch typ {
	case msgp.IntType, msgp.UintType:
		s, err := r.ReadInt64()
		return time.Unix(s, 0), err
	case msgp.ExtensionType:
		ext := &msgp.RawExtension{}
		if err := r.ReadExtension(ext); err != nil {
			return time.Time{}, fmt.Errorf("time: %w", err)
		}
		if ext.Type != 0 || len(ext.Data) != 8 {
			return time.Time{}, fmt.Errorf("time: extension type %d of %d bytes is not an EventTime", ext.Type, len(ext.Data))
		}
		return time.Unix(int64(binary.BigEndian.Uint32(ext.Data[:4])), int64(binary.BigEndian.Uint32(ext.Data[4:]))), nil
	}
	return time.Time{}, fmt.Errorf("time: a %s is neither an integer nor an EventTime", typ)
}

func readRecord(r *msgp.Reader) (map[string]any, error) {
	v, err := r.ReadIntf()
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("record: a %T, not a map", v)
	}
	for k, x := range m { // strings may come as bin
		if b, ok := x.([]byte); ok {
			m[k] = string(b)
		}
	}
	return m, nil
}

func readOption(r *msgp.Reader) (map[string]any, error) {
	v, err := r.ReadIntf()
	if err != nil {
		return nil, fmt.Errorf("option: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("option: a %T, not a map", v)
	}
	return m, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
