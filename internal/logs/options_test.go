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
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		size, file string
		want       Options
	}{
		{"", "", Options{MaxSize: 10 << 20, MaxFile: 5}},
		{"10m", "3", Options{MaxSize: 10 << 20, MaxFile: 3}},
		{"512k", "", Options{MaxSize: 512 << 10, MaxFile: 5}},
		{"1g", "1", Options{MaxSize: 1 << 30, MaxFile: 1}},
		{"2t", "", Options{MaxSize: 2 << 40, MaxFile: 5}},
		{"1048576", "", Options{MaxSize: 1 << 20, MaxFile: 5}},
		{"1", "", Options{MaxSize: 1, MaxFile: 5}},
		{"10M", "", Options{MaxSize: 10 << 20, MaxFile: 5}},
		{"10mb", "", Options{MaxSize: 10 << 20, MaxFile: 5}},
		{"10MiB", "", Options{MaxSize: 10 << 20, MaxFile: 5}},
		{"10 m", "", Options{MaxSize: 10 << 20, MaxFile: 5}},
		{"100b", "", Options{MaxSize: 100, MaxFile: 5}},
		{"1.5k", "", Options{MaxSize: 1536, MaxFile: 5}},
		{"", "100", Options{MaxSize: 10 << 20, MaxFile: 100}},
	}
	for _, c := range cases {
		got, err := ParseOptions(c.size, c.file)
		if err != nil {
			t.Errorf("ParseOptions(%q, %q): %v", c.size, c.file, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseOptions(%q, %q) = %+v, want %+v", c.size, c.file, got, c.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%+v: %v", got, err)
		}
	}
}

func TestParseOptionsErrors(t *testing.T) {
	cases := []struct {
		size, file string
		want       string // the whole error message
	}{
		{"10x", "", `max-size: "10x" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"m", "", `max-size: "m" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"-1", "", `max-size: "-1" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"1e3", "", `max-size: "1e3" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{" 10m", "", `max-size: " 10m" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"10ib", "", `max-size: "10ib" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"1.k", "", `max-size: "1.k" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"1.2.3", "", `max-size: "1.2.3" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{"0", "", `max-size: "0" must be at least one byte`},
		{"0.5", "", `max-size: "0.5" must be at least one byte`},
		{"0k", "", `max-size: "0k" must be at least one byte`},
		{"9000000t", "", `max-size: "9000000t" is too large`},
		{"99999999999999999999", "", `max-size: "99999999999999999999" is too large`},
		{"", "0", `max-file: must be at least 1, got 0`},
		{"", "-2", `max-file: must be at least 1, got -2`},
		{"", "five", `max-file: "five" is not a decimal integer`},
		{"", "1.5", `max-file: "1.5" is not a decimal integer`},
		{"", " 3", `max-file: " 3" is not a decimal integer`},
		{"", "99999999999999999999", `max-file: "99999999999999999999" is not a decimal integer`},
	}
	for _, c := range cases {
		got, err := ParseOptions(c.size, c.file)
		if err == nil {
			t.Errorf("ParseOptions(%q, %q) = %+v, want error %q", c.size, c.file, got, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("ParseOptions(%q, %q): error %q, want %q", c.size, c.file, err, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{MaxSize: 0, MaxFile: 1}, {MaxSize: -1, MaxFile: 1}, {MaxSize: 1, MaxFile: 0}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		} else if !strings.Contains(err.Error(), "max-") {
			t.Errorf("%+v: error %q does not name the option", o, err)
		}
	}
}
