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
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// DefaultMaxSize is the max-size used when a task does not set one: 10m.
	DefaultMaxSize int64 = 10 << 20
	// DefaultMaxFile is the max-file used when a task does not set one.
	DefaultMaxFile = 5
)

// Options are the json-file options of a container's logConfiguration.
type Options struct {
	// MaxSize is the size in bytes a log file may reach before it is
	// rotated. It must be positive.
	MaxSize int64
	// MaxFile is the number of files kept, the current one included. It
	// must be at least 1.
	MaxFile int
	// Forward, when set, sends every record to a FireLens log router as
	// well (see [Forward]).
	Forward *Forward
}

// DefaultOptions returns the options used when none are set: max-size 10m
// and max-file 5.
func DefaultOptions() Options {
	return Options{MaxSize: DefaultMaxSize, MaxFile: DefaultMaxFile}
}

// Validate reports whether the options can be used by a [Writer].
func (o Options) Validate() error {
	if o.MaxSize <= 0 {
		return fmt.Errorf("max-size must be positive, got %d", o.MaxSize)
	}
	if o.MaxFile < 1 {
		return fmt.Errorf("max-file must be at least 1, got %d", o.MaxFile)
	}
	if o.Forward != nil {
		return o.Forward.Validate()
	}
	return nil
}

// ParseOptions parses the max-size and max-file options of the json-file
// log driver as they appear in an ECS logConfiguration. An empty string
// selects the default (10m, 5).
//
// max-size is a number of bytes, optionally with a fractional part and a
// binary unit as Docker accepts them: "k", "m", "g" or "t" (1024, 1024²…),
// in either case, optionally followed by "b" or "ib" ("512k", "10m", "10MiB",
// "1.5g", "1048576"). It must be at least one byte. max-file is a decimal
// integer, at least 1.
func ParseOptions(maxSize, maxFile string) (Options, error) {
	opts := DefaultOptions()
	if maxSize != "" {
		n, err := ParseSize(maxSize)
		if err != nil {
			return Options{}, fmt.Errorf("max-size: %w", err)
		}
		opts.MaxSize = n
	}
	if maxFile != "" {
		n, err := strconv.Atoi(maxFile)
		if err != nil {
			return Options{}, fmt.Errorf("max-file: %q is not a decimal integer", maxFile)
		}
		if n < 1 {
			return Options{}, fmt.Errorf("max-file: must be at least 1, got %d", n)
		}
		opts.MaxFile = n
	}
	return opts, nil
}

// ParseSize parses a size as accepted by the max-size option (see
// [ParseOptions]) and returns it in bytes.
func ParseSize(s string) (int64, error) {
	num := s
	// Unit suffix: [kmgt] then optional "i" then optional "b", or just "b".
	lower := strings.ToLower(s)
	var mult float64 = 1
	suffix := 0
	switch {
	case strings.HasSuffix(lower, "ib"):
		suffix = 2
	case strings.HasSuffix(lower, "b"):
		suffix = 1
	}
	unitAt := len(lower) - suffix - 1
	if unitAt >= 0 {
		switch lower[unitAt] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		default:
			if suffix == 2 { // "ib" needs a unit before it
				return 0, fmt.Errorf("%q is not a size: want a number with an optional unit k, m, g or t (as in 10m)", s)
			}
			unitAt++ // no unit letter
		}
		num = s[:unitAt]
	}
	num = strings.TrimSuffix(num, " ") // Docker allows one space: "10 m"
	if num == "" || !isDecimal(num) {
		return 0, fmt.Errorf("%q is not a size: want a number with an optional unit k, m, g or t (as in 10m)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %w", s, err)
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if v < 1 {
		return 0, fmt.Errorf("%q must be at least one byte", s)
	}
	return int64(v), nil
}

// isDecimal reports whether s is digits with at most one '.' between digits.
func isDecimal(s string) bool {
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0 && i > 0 && i < len(s)-1:
			dot = i
		default:
			return false
		}
	}
	return true
}
