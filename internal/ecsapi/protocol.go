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

// Package ecsapi serves the Amazon ECS API (the AWS JSON 1.1 protocol of
// the service AmazonEC2ContainerServiceV20141113) over Longshore's
// objects: every call is authenticated with SigV4 against an access key
// kept in a Secret, then translated to Kubernetes calls made impersonating
// the key's identity, so that RBAC decides what the key may do. The
// component keeps no state of its own.
package ecsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TargetPrefix is the X-Amz-Target prefix of every ECS action.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// ContentType is the AWS JSON 1.1 media type.
const ContentType = "application/x-amz-json-1.1"

// Error is an ECS error response: its __type, message and HTTP status.
type Error struct {
	Type    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func newError(typ string, status int, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

// The ECS exceptions (the service model's error shapes) and the common
// AWS ones the component answers with.
func clientError(format string, args ...any) *Error {
	return newError("ClientException", http.StatusBadRequest, format, args...)
}

func invalidParameter(format string, args ...any) *Error {
	return newError("InvalidParameterException", http.StatusBadRequest, format, args...)
}

func clusterNotFound(format string, args ...any) *Error {
	return newError("ClusterNotFoundException", http.StatusBadRequest, format, args...)
}

func resourceNotFound(format string, args ...any) *Error {
	return newError("ResourceNotFoundException", http.StatusBadRequest, format, args...)
}

func accessDenied(format string, args ...any) *Error {
	return newError("AccessDeniedException", http.StatusBadRequest, format, args...)
}

func serverError(format string, args ...any) *Error {
	return newError("ServerException", http.StatusInternalServerError, format, args...)
}

func unrecognizedClient(format string, args ...any) *Error {
	return newError("UnrecognizedClientException", http.StatusBadRequest, format, args...)
}

func invalidSignature(format string, args ...any) *Error {
	return newError("InvalidSignatureException", http.StatusBadRequest, format, args...)
}

func missingToken() *Error {
	return newError("MissingAuthenticationTokenException", http.StatusBadRequest, "Missing Authentication Token")
}

// writeError answers e as AWS JSON 1.1 does: the type in the body's
// __type and in X-Amzn-ErrorType.
func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	_, _ = w.Write(b)
}

// writeResult answers v, encoded with Encode.
func writeResult(w http.ResponseWriter, v any) {
	b, err := Encode(v)
	if err != nil {
		writeError(w, serverError("encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// decode reads an action's input into in (an SDK input type): member
// names match case-insensitively as encoding/json does; a member the
// input type does not have is refused, naming it, rather than dropped.
func decode(body []byte, in any) *Error {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return newError("SerializationException", http.StatusBadRequest, "the request body is not a JSON object: %v", err)
	}
	t := reflect.TypeOf(in).Elem()
	for k := range raw {
		if _, ok := fieldByJSONName(t, k); !ok {
			return invalidParameter("%s is not a member of %s", k, strings.TrimSuffix(t.Name(), "Input"))
		}
	}
	if err := json.Unmarshal(body, in); err != nil {
		return newError("SerializationException", http.StatusBadRequest, "the request does not match the %s shape: %v", strings.TrimSuffix(t.Name(), "Input"), err)
	}
	return nil
}

// fieldByJSONName finds the exported field of struct t whose lowerCamel
// name is name.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && memberName(f.Name) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// memberName is the wire name of an SDK field: the Go name with its first
// letter lower-cased (ClusterArn → clusterArn).
func memberName(goName string) string {
	r, n := utf8.DecodeRuneInString(goName)
	return string(unicode.ToLower(r)) + goName[n:]
}

var timeType = reflect.TypeOf(time.Time{})

// Encode writes v (an SDK output type, or any struct of the same kind) as
// the AWS JSON 1.1 protocol does: members in lowerCamel, nil pointers,
// slices and maps left out, timestamps as epoch seconds (with a
// fraction), enums as their strings. Unexported fields (the SDK's
// metadata) are skipped. Numbers and booleans that the SDK holds by value
// are written even when zero, as ECS writes them ("cpu": 0,
// "runningTasksCount": 0); enums it holds by value are left out when
// empty.
func Encode(v any) ([]byte, error) {
	out, err := encodeValue(reflect.ValueOf(v))
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	return json.Marshal(out)
}

func encodeValue(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return encodeValue(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			return json.Number(formatEpoch(t)), nil
		}
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			fv := v.Field(i)
			if (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.IsNil() {
				continue
			}
			if fv.Kind() == reflect.String && fv.Len() == 0 {
				continue // an enum the SDK leaves unset ("" is never a value)
			}
			e, err := encodeValue(fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if e == nil {
				continue
			}
			m[memberName(f.Name)] = e
		}
		return m, nil
	case reflect.Slice, reflect.Array:
		s := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			e, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			if e == nil {
				e = map[string]any{}
			}
			s = append(s, e)
		}
		return s, nil
	case reflect.Map:
		m := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			e, err := encodeValue(iter.Value())
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(iter.Key().Interface())] = e
		}
		return m, nil
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	default:
		return nil, fmt.Errorf("cannot encode a %s", v.Type())
	}
}

// formatEpoch is t in epoch seconds with milliseconds, as AWS writes
// timestamps (1700000000.123).
func formatEpoch(t time.Time) string {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	if frac == 0 {
		return fmt.Sprintf("%d", sec)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%03d", sec, frac), "0")
}
