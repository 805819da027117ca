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

// Command firelensrouter stands in for Fluent Bit in the node tests' FireLens
// task (no Fluent Bit image can be had here): it reads the configuration
// the agent generated, in Fluent Bit's classic format, and does what Fluent
// Bit would with the parts the agent writes:
//
//   - [INPUT] forward (unix_path, or Listen and Port) and tcp (JSON lines,
//     Tag), the health-check input;
//   - [FILTER] grep (Regex and Exclude on a key) and record_modifier
//     (Record);
//   - [OUTPUT]: a record goes to every output whose Match matches its tag;
//     null drops it, any other plugin prints it on stdout as
//     "<plugin> <tag> <record as JSON>", so that the test reads what the
//     router received from the router's own log;
//   - @INCLUDE: the file must exist (Fluent Bit refuses to start otherwise).
//
// A configuration it does not understand makes it exit 1, as Fluent Bit
// does. On SIGTERM it goes on serving for a second (Fluent Bit's grace
// period), then exits 0.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/longshore-io/longshore/internal/logs/forwardtest"
)

type section struct {
	kind string // INPUT, FILTER, OUTPUT
	kv   [][2]string
}

func (s section) get(k string) string {
	for _, p := range s.kv {
		if strings.EqualFold(p[0], k) {
			return p[1]
		}
	}
	return ""
}

func (s section) all(k string) []string {
	var out []string
	for _, p := range s.kv {
		if strings.EqualFold(p[0], k) {
			out = append(out, p[1])
		}
	}
	return out
}

func parse(file string) ([]section, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []section
	for n, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case strings.HasPrefix(strings.ToUpper(t), "@INCLUDE "):
			inc, err := parse(strings.TrimSpace(t[len("@INCLUDE "):]))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: @INCLUDE: %w", file, n+1, err)
			}
			out = append(out, inc...)
		case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			out = append(out, section{kind: strings.ToUpper(t[1 : len(t)-1])})
		default:
			if len(out) == 0 {
				return nil, fmt.Errorf("%s:%d: %q outside a section", file, n+1, t)
			}
			k, v, _ := strings.Cut(t, " ")
			out[len(out)-1].kv = append(out[len(out)-1].kv, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return out, nil
}

// match is Fluent Bit's tag matching: * matches any run of characters.
func match(pattern, tag string) bool {
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(tag, "/", "\x00"))
	return ok
}

type filter struct {
	match string
	apply func(rec map[string]any) bool // false drops the record
}

func buildFilter(s section) (filter, error) {
	f := filter{match: s.get("Match")}
	switch strings.ToLower(s.get("Name")) {
	case "grep":
		type rule struct {
			key     string
			re      *regexp.Regexp
			exclude bool
		}
		var rules []rule
		for _, k := range []string{"Regex", "Exclude"} {
			for _, v := range s.all(k) {
				key, re, _ := strings.Cut(v, " ")
				r, err := regexp.Compile(strings.TrimSpace(re))
				if err != nil {
					return f, fmt.Errorf("grep %s %q: %w", k, v, err)
				}
				rules = append(rules, rule{key, r, k == "Exclude"})
			}
		}
		f.apply = func(rec map[string]any) bool {
			for _, r := range rules {
				v, _ := rec[r.key].(string)
				if r.re.MatchString(v) == r.exclude {
					return false
				}
			}
			return true
		}
	case "record_modifier":
		var add [][2]string
		for _, v := range s.all("Record") {
			k, val, _ := strings.Cut(v, " ")
			add = append(add, [2]string{k, strings.TrimSpace(val)})
		}
		f.apply = func(rec map[string]any) bool {
			for _, p := range add {
				rec[p[0]] = p[1]
			}
			return true
		}
	default:
		return f, fmt.Errorf("filter %q is not one this stand-in knows", s.get("Name"))
	}
	return f, nil
}

type router struct {
	filters []filter
	outputs []section
	mu      sync.Mutex
}

func (r *router) handle(e forwardtest.Event) {
	rec := e.Record
	for _, f := range r.filters {
		if match(f.match, e.Tag) && !f.apply(rec) {
			return
		}
	}
	b, _ := json.Marshal(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.outputs {
		if name := o.get("Name"); match(o.get("Match"), e.Tag) && !strings.EqualFold(name, "null") {
			fmt.Printf("%s %s %s\n", name, e.Tag, b)
		}
	}
}

func main() {
	conf := flag.String("c", "/fluent-bit/etc/fluent-bit.conf", "configuration file")
	flag.Parse()
	if err := run(*conf); err != nil {
		fmt.Fprintln(os.Stderr, "firelensrouter:", err)
		os.Exit(1)
	}
}

func run(conf string) error {
	sections, err := parse(conf)
	if err != nil {
		return err
	}
	r := &router{}
	var listeners []net.Listener
	serve := func(l net.Listener, handle func(net.Listener)) {
		listeners = append(listeners, l)
		go handle(l)
	}
	bad := func(err error) { fmt.Fprintln(os.Stderr, "firelensrouter:", err) }
	for _, s := range sections {
		switch s.kind {
		case "INPUT":
			switch strings.ToLower(s.get("Name")) {
			case "forward":
				network, addr := "tcp", net.JoinHostPort(s.get("Listen"), s.get("Port"))
				if p := s.get("unix_path"); p != "" {
					network, addr = "unix", p
					_ = os.Remove(p)
				}
				l, err := net.Listen(network, addr)
				if err != nil {
					return fmt.Errorf("forward input: %w", err)
				}
				serve(l, func(l net.Listener) { _ = forwardtest.Serve(l, r.handle, bad) })
			case "tcp": // JSON lines, tagged
				tag := s.get("Tag")
				l, err := net.Listen("tcp", net.JoinHostPort(s.get("Listen"), s.get("Port")))
				if err != nil {
					return fmt.Errorf("tcp input: %w", err)
				}
				serve(l, func(l net.Listener) {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						go func() {
							defer func() { _ = c.Close() }()
							sc := bufio.NewScanner(c)
							for sc.Scan() {
								rec := map[string]any{}
								if json.Unmarshal(sc.Bytes(), &rec) == nil {
									r.handle(forwardtest.Event{Tag: tag, Time: time.Now(), Record: rec})
								}
							}
						}()
					}
				})
			default:
				return fmt.Errorf("input %q is not one this stand-in knows", s.get("Name"))
			}
		case "FILTER":
			f, err := buildFilter(s)
			if err != nil {
				return err
			}
			r.filters = append(r.filters, f)
		case "OUTPUT":
			r.outputs = append(r.outputs, s)
		case "SERVICE":
		default:
			return fmt.Errorf("section [%s] is not one this stand-in knows", s.kind)
		}
	}
	fmt.Fprintf(os.Stderr, "firelensrouter: %d inputs, %d filters, %d outputs\n", len(listeners), len(r.filters), len(r.outputs))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	time.Sleep(time.Second) // grace: what is in flight still arrives
	for _, l := range listeners {
		_ = l.Close()
	}
	return nil
}
