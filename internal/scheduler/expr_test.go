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

package scheduler

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExpression(t *testing.T) {
	cases := map[string]struct {
		in   string
		want string // canonical String()
	}{
		"equality":           {in: "attribute:ecs.os-type == linux", want: "attribute:ecs.os-type == linux"},
		"no spaces":          {in: "attribute:a==b&&attribute:c!=d||runningTasksCount<3", want: "attribute:a == b and attribute:c != d or runningTasksCount < 3"},
		"in list":            {in: "attribute:ecs.availability-zone in [us-east-1a,us-east-1b]", want: "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		"not in list":        {in: "ec2InstanceId !in [i-1, 'i 2']", want: `ec2InstanceId !in [i-1, "i 2"]`},
		"exists":             {in: "attribute:gpu exists", want: "attribute:gpu exists"},
		"not exists":         {in: "attribute:gpu !exists", want: "attribute:gpu !exists"},
		"word operators":     {in: "attribute:a equals b and attribute:c not_exists or runningTasksCount greater_than_equal 2", want: "attribute:a == b and attribute:c !exists or runningTasksCount >= 2"},
		"more word ops":      {in: "attribute:a matches x.* AND attribute:b not_in [1] Or task:group not_matches y", want: "attribute:a =~ x.* and attribute:b !in [1] or task:group !~ y"},
		"ordering":           {in: "runningTasksCount <= 10 and attribute:cores > 2 and attribute:cores >= 2 and attribute:cores less_than 64", want: "runningTasksCount <= 10 and attribute:cores > 2 and attribute:cores >= 2 and attribute:cores < 64"},
		"task group":         {in: "task:group == service:web", want: "task:group == service:web"},
		"not call":           {in: "not(task:group == database)", want: "not (task:group == database)"},
		"bang":               {in: "!(task:group == db) && ec2InstanceId =~ 'i-0.*'", want: "not (task:group == db) and ec2InstanceId =~ i-0.*"},
		"parentheses kept":   {in: "attribute:x == \"a b\" and (attribute:y == 1 or attribute:z == 2)", want: `attribute:x == "a b" and (attribute:y == 1 or attribute:z == 2)`},
		"redundant parens":   {in: "((attribute:y == 1)) or (attribute:z == 2 and attribute:w == 3)", want: "attribute:y == 1 or attribute:z == 2 and attribute:w == 3"},
		"regex backslash":    {in: `attribute:a =~ "\d+"`, want: `attribute:a =~ \d+`},
		"regex with parens":  {in: `attribute:ecs.instance-type =~ "m5\.(large|xlarge)"`, want: `attribute:ecs.instance-type =~ "m5\.(large|xlarge)"`},
		"escaped quote":      {in: `attribute:a == "say \"hi\""`, want: `attribute:a == "say \"hi\""`},
		"empty quoted value": {in: `attribute:a == ""`, want: `attribute:a == ""`},
		"value with pipe":    {in: "attribute:a =~ x|y", want: "attribute:a =~ x|y"},
		"value stops at ||":  {in: "attribute:a == x||attribute:b == y", want: "attribute:a == x or attribute:b == y"},
		"white space":        {in: "\tattribute:a\n==\r b ", want: "attribute:a == b"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := ParseExpression(tc.in)
			if err != nil {
				t.Fatalf("ParseExpression(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			again, err := ParseExpression(e.String())
			if err != nil {
				t.Fatalf("re-parsing %q: %v", e.String(), err)
			}
			if again.String() != e.String() {
				t.Errorf("round trip: %q became %q", e.String(), again.String())
			}
		})
	}
}

func TestParseExpressionErrors(t *testing.T) {
	cases := map[string]struct {
		in   string
		want ParseError
	}{
		"missing value":       {in: "x ==", want: ParseError{Pos: 4, Msg: "expected a value"}},
		"unknown subject":     {in: "x == a", want: ParseError{Pos: 0, Msg: `unknown subject "x": want attribute:<name>, ec2InstanceId, runningTasksCount or task:group`}},
		"empty":               {in: "", want: ParseError{Pos: 0, Msg: `expected attribute:<name>, ec2InstanceId, runningTasksCount, task:group or "(", found end of expression`}},
		"dangling and":        {in: "attribute:a == b and ", want: ParseError{Pos: 21, Msg: `expected attribute:<name>, ec2InstanceId, runningTasksCount, task:group or "(", found end of expression`}},
		"keyword as subject":  {in: "and", want: ParseError{Pos: 0, Msg: `expected attribute:<name>, ec2InstanceId, runningTasksCount, task:group or "(", found "and"`}},
		"unclosed paren":      {in: "(attribute:a == 1", want: ParseError{Pos: 17, Msg: `expected ")" to close the "(" at position 0`}},
		"stray paren":         {in: "attribute:a == 1)", want: ParseError{Pos: 16, Msg: `unexpected ")" without a matching "("`}},
		"empty list":          {in: "attribute:a in []", want: ParseError{Pos: 16, Msg: "expected a value"}},
		"open list":           {in: "attribute:a in [a,", want: ParseError{Pos: 18, Msg: "expected a value"}},
		"list separator":      {in: "attribute:a in [a b]", want: ParseError{Pos: 18, Msg: `expected "," or "]" in the list, found "b"`}},
		"in without list":     {in: "attribute:a in a", want: ParseError{Pos: 15, Msg: `expected "[" after in, found "a"`}},
		"empty attribute":     {in: "attribute: == 1", want: ParseError{Pos: 10, Msg: `expected an attribute name after "attribute:"`}},
		"count not a number":  {in: "runningTasksCount > x", want: ParseError{Pos: 20, Msg: `runningTasksCount compares with a whole number, not "x"`}},
		"count regex":         {in: "runningTasksCount =~ 1", want: ParseError{Pos: 18, Msg: "runningTasksCount is a number: use == != > >= < <= in !in"}},
		"group ordering":      {in: "task:group > a", want: ParseError{Pos: 11, Msg: "task:group takes == != in !in =~ !~, not >"}},
		"exists on id":        {in: "ec2InstanceId exists", want: ParseError{Pos: 14, Msg: "exists applies to attribute:<name> only"}},
		"bad regex":           {in: "attribute:a =~ '('", want: ParseError{Pos: 15, Msg: "invalid regular expression: missing closing ): `(`"}},
		"unterminated string": {in: "attribute:a == 'abc", want: ParseError{Pos: 15, Msg: "unterminated quoted string"}},
		"single equals":       {in: "attribute:a = b", want: ParseError{Pos: 12, Msg: `unexpected "=" (use == to compare)`}},
		"unknown operator":    {in: "attribute:a ~~ b", want: ParseError{Pos: 12, Msg: `expected an operator (== != > >= < <= =~ !~ in !in exists !exists) after "attribute:a", found "~~"`}},
		"missing operator":    {in: "attribute:a", want: ParseError{Pos: 11, Msg: `expected an operator (== != > >= < <= =~ !~ in !in exists !exists) after "attribute:a", found end of expression`}},
		"trailing word":       {in: "attribute:a == b c", want: ParseError{Pos: 17, Msg: `expected and, or or the end of the expression, found "c"`}},
		"not without paren":   {in: "not attribute:a == b", want: ParseError{Pos: 4, Msg: `expected "(" after not, found "attribute:a"`}},
		"inner junk":          {in: "(attribute:a == b c)", want: ParseError{Pos: 18, Msg: `expected and, or or ")", found "c"`}},
		"too deep":            {in: strings.Repeat("(", 101) + "attribute:a == b" + strings.Repeat(")", 101), want: ParseError{Pos: 100, Msg: "expression nested more than 100 levels deep"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := ParseExpression(tc.in)
			if err == nil {
				t.Fatalf("ParseExpression(%q) = %v, want an error", tc.in, e)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, want *ParseError", err, err)
			}
			tc.want.Expr = tc.in
			if diff := cmp.Diff(&tc.want, pe); diff != "" {
				t.Errorf("ParseError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := ParseExpression("x ==")
	want := `memberOf expression "x ==": at position 4: expected a value`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// exprInstances are the instances the evaluation tests match against.
func exprInstances() []*Instance {
	return []*Instance{
		{Name: "i-a", RunningTasks: 1, Groups: map[string]int{"service:web": 1, "service:gone": 0},
			Attributes: map[string]string{"ecs.availability-zone": "a", "ecs.os-type": "linux", "cores": "4", "gpu": ""}},
		{Name: "i-b", RunningTasks: 2, Groups: map[string]int{"service:db": 2},
			Attributes: map[string]string{"ecs.availability-zone": "b", "ecs.os-type": "linux", "cores": "16"}},
		{Name: "i-c", Attributes: map[string]string{"ecs.availability-zone": "c", "ecs.os-type": "windows", "version": "v10"}},
	}
}

func TestExprMatch(t *testing.T) {
	cases := map[string]struct {
		expr string
		want []string
	}{
		"attribute ==":              {expr: "attribute:ecs.availability-zone == a", want: []string{"i-a"}},
		"attribute quoted":          {expr: `attribute:ecs.os-type == "linux"`, want: []string{"i-a", "i-b"}},
		"attribute !=":              {expr: "attribute:ecs.availability-zone != a", want: []string{"i-b", "i-c"}},
		"attribute in":              {expr: "attribute:ecs.availability-zone in [a, c]", want: []string{"i-a", "i-c"}},
		"attribute !in":             {expr: "attribute:ecs.availability-zone !in [a, c]", want: []string{"i-b"}},
		"numeric >":                 {expr: "attribute:cores > 8", want: []string{"i-b"}},
		"numeric <=":                {expr: "attribute:cores <= 4", want: []string{"i-a"}},
		"numeric == spelled apart":  {expr: "attribute:cores == 4.0", want: []string{"i-a"}},
		"missing is != anything":    {expr: "attribute:cores != 4", want: []string{"i-b", "i-c"}},
		"string ordering":           {expr: "attribute:version >= v1", want: []string{"i-c"}},
		"exists (empty value too)":  {expr: "attribute:gpu exists", want: []string{"i-a"}},
		"!exists":                   {expr: "attribute:gpu !exists", want: []string{"i-b", "i-c"}},
		"regex is anchored":         {expr: "attribute:ecs.os-type =~ lin", want: nil},
		"regex":                     {expr: "attribute:ecs.os-type =~ lin.*", want: []string{"i-a", "i-b"}},
		"regex negated":             {expr: "attribute:ecs.os-type !~ win.*", want: []string{"i-a", "i-b"}},
		"regex alternation":         {expr: "attribute:ecs.availability-zone =~ a|c", want: []string{"i-a", "i-c"}},
		"missing attribute regex":   {expr: "attribute:nope =~ .*", want: nil},
		"missing attribute !~":      {expr: "attribute:nope !~ x", want: []string{"i-a", "i-b", "i-c"}},
		"instance id":               {expr: "ec2InstanceId == i-b", want: []string{"i-b"}},
		"instance id in":            {expr: "ec2InstanceId in [i-a, i-c, i-z]", want: []string{"i-a", "i-c"}},
		"instance id regex":         {expr: "ec2InstanceId =~ 'i-[ab]'", want: []string{"i-a", "i-b"}},
		"running tasks ==":          {expr: "runningTasksCount == 0", want: []string{"i-c"}},
		"running tasks <":           {expr: "runningTasksCount < 2", want: []string{"i-a", "i-c"}},
		"running tasks in":          {expr: "runningTasksCount in [1, 2]", want: []string{"i-a", "i-b"}},
		"running tasks !in":         {expr: "runningTasksCount !in [1, 2]", want: []string{"i-c"}},
		"task group":                {expr: "task:group == service:web", want: []string{"i-a"}},
		"task group zero count":     {expr: "task:group == service:gone", want: nil},
		"task group !=":             {expr: "task:group != service:web", want: []string{"i-b", "i-c"}},
		"task group regex":          {expr: "task:group =~ service:.*", want: []string{"i-a", "i-b"}},
		"task group !~":             {expr: "task:group !~ service:.*", want: []string{"i-c"}},
		"task group in":             {expr: "task:group in [service:db, x]", want: []string{"i-b"}},
		"task group !in":            {expr: "task:group !in [service:db, service:web]", want: []string{"i-c"}},
		"not":                       {expr: "not(task:group == service:db)", want: []string{"i-a", "i-c"}},
		"and binds tighter than or": {expr: "attribute:ecs.availability-zone == a or attribute:ecs.availability-zone == c and attribute:cores > 8", want: []string{"i-a"}},
		"parentheses":               {expr: "(attribute:ecs.availability-zone == a or attribute:ecs.availability-zone == b) and attribute:cores > 8", want: []string{"i-b"}},
		"symbols":                   {expr: "attribute:ecs.os-type == linux && (runningTasksCount > 1 || task:group == service:web)", want: []string{"i-a", "i-b"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := ParseExpression(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range exprInstances() {
				if e.Match(in) {
					got = append(got, in.Name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s matched (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func FuzzParseExpression(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.availability-zone in [a, b]",
		"attribute:a==b&&attribute:c!=d||runningTasksCount<3",
		"not(task:group == database) and ec2InstanceId =~ 'i-0.*'",
		`attribute:x == "a \"b\"" or (attribute:y exists and attribute:z !exists)`,
		"x ==", "((((", "attribute:a in [", `'\`, "!!in", "a||b&&c", "attribute:a == b||",
	} {
		f.Add(s)
	}
	instances := exprInstances()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpression(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, want *ParseError", err, err)
			}
			if pe.Pos < 0 || pe.Pos > len(s) {
				t.Fatalf("error position %d outside 0..%d", pe.Pos, len(s))
			}
			return
		}
		printed := e.String()
		again, err := ParseExpression(printed)
		if err != nil {
			t.Fatalf("%q printed as %q which does not parse: %v", s, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("round trip of %q: %q became %q", s, printed, again.String())
		}
		for _, in := range instances {
			if e.Match(in) != again.Match(in) {
				t.Fatalf("%q and its printed form %q disagree on %s", s, printed, in.Name)
			}
		}
	})
}
