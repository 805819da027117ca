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

// Command ecsdetector is a client of the ECS task endpoints that nobody
// here wrote, run inside a task by the node tests:
//
//	ecsdetector detect       runs the OpenTelemetry Go ECS resource detector
//	                         and prints the attributes it found, as JSON
//	ecsdetector get URL      prints the status code and body of GET URL
//	ecsdetector put URL BODY prints the status code and body of PUT URL
//
// It is built into a task image the way test/node/firelensrouter is.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/detectors/aws/ecs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ecsdetector detect | get URL | put URL BODY")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch os.Args[1] {
	case "detect":
		res, err := ecs.NewResourceDetector().Detect(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ECS resource detector:", err)
			os.Exit(1)
		}
		out := map[string]string{}
		if res != nil {
			for _, kv := range res.Attributes() {
				out[string(kv.Key)] = kv.Value.String()
			}
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	case "get", "put":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: ecsdetector get URL | put URL BODY")
			os.Exit(2)
		}
		method, body := http.MethodGet, io.Reader(nil)
		if os.Args[1] == "put" {
			method = http.MethodPut
			body = strings.NewReader(strings.Join(os.Args[3:], " "))
		}
		req, err := http.NewRequestWithContext(ctx, method, os.Args[2], body)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s\n", resp.StatusCode, b)
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
