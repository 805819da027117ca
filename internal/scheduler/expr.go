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
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file implements the subset of the ECS cluster query language that
// memberOf placement constraints use:
//
//	expr      = or
//	or        = and { ("or" | "||") and }
//	and       = unary { ("and" | "&&") unary }
//	unary     = ("not" | "!") "(" expr ")" | "(" expr ")" | predicate
//	predicate = subject ( "exists" | "!exists"
//	                    | ("in" | "!in") "[" value { "," value } "]"
//	                    | cmp value )
//	cmp       = "==" | "!=" | ">" | ">=" | "<" | "<=" | "=~" | "!~"
//	subject   = "attribute:" name | "ec2InstanceId" | "runningTasksCount" | "task:group"
//
// The ECS word spellings of the operators (equals, not_equals,
// greater_than, greater_than_equal, less_than, less_than_equal, matches,
// not_matches, not_in, not_exists) are accepted too; and, or and not are
// case-insensitive. A value is a quoted string ("…" or '…', where \" \'
// and \\ are escapes and any other backslash is kept, so "\d+" is the
// regular expression \d+) or a bare run of characters up to white space,
// ')', ']', ',', "&&" or "||" — a regular expression containing those
// must be quoted. Positions in errors are byte offsets from 0.

// maxDepth bounds the nesting of parentheses and not so that a hostile
// expression cannot exhaust the stack.
const maxDepth = 100

// ParseError is a syntax or semantic error in a memberOf expression, at
// byte offset Pos of Expr.
type ParseError struct {
	// Expr is the whole expression.
	Expr string
	// Pos is the byte offset of the offending token (len(Expr) at the end).
	Pos int
	// Msg says what is wrong, e.g. "expected a value".
	Msg string
}

// Error renders `memberOf expression "x ==": at position 4: expected a value`.
func (e *ParseError) Error() string {
	return fmt.Sprintf("memberOf expression %q: at position %d: %s", e.Expr, e.Pos, e.Msg)
}

// Expr is a parsed cluster query language expression.
type Expr interface {
	// Match reports whether the instance satisfies the expression.
	Match(in *Instance) bool
	// String renders the expression in canonical form; parsing it again
	// yields an equivalent expression with the same String.
	String() string
}

// ---------------------------------------------------------------------------
// Tokenizer

type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokWord               // bare word: subject, keyword, operator word, value
	tokString             // quoted string (text is unescaped)
	tokOp                 // == != > >= < <= =~ !~
	tokLParen             // (
	tokRParen             // )
	tokLBracket           // [
	tokRBracket           // ]
	tokComma              // ,
	tokAnd                // &&
	tokOr                 // ||
	tokNot                // ! (before a parenthesis)
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of expression"
	case tokWord:
		return "word"
	case tokString:
		return "string"
	case tokOp:
		return "operator"
	case tokLParen:
		return "("
	case tokRParen:
		return ")"
	case tokLBracket:
		return "["
	case tokRBracket:
		return "]"
	case tokComma:
		return ","
	case tokAnd:
		return "&&"
	case tokOr:
		return "||"
	case tokNot:
		return "!"
	}
	return "?"
}

type token struct {
	kind tokenKind
	text string
	pos  int
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokWord, tokOp:
		return strconv.Quote(t.text)
	case tokString:
		return "quoted string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.kind.String())
}

// lexer splits an expression into tokens. It has two modes: next reads
// structure (subjects, operators, keywords, punctuation); value reads one
// operand, which may contain characters that are operators elsewhere (a
// regular expression such as ^m5\..*$, a group such as service:web).
type lexer struct {
	src string
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// endsWord reports whether a bare word in structure mode stops at src[i].
func (l *lexer) endsWord(i int) bool {
	c := l.src[i]
	switch c {
	case '(', ')', '[', ']', ',', '"', '\'', '=', '<', '>', '!':
		return true
	case '&', '|':
		return i+1 < len(l.src) && l.src[i+1] == c
	}
	return isSpace(c)
}

// endsValue reports whether a bare value stops at src[i].
func (l *lexer) endsValue(i int) bool {
	c := l.src[i]
	switch c {
	case ')', ']', ',':
		return true
	case '&', '|':
		return i+1 < len(l.src) && l.src[i+1] == c
	}
	return isSpace(c)
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
}

func (l *lexer) errorf(pos int, format string, args ...any) *ParseError {
	return &ParseError{Expr: l.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// next reads one structure token.
func (l *lexer) next() (token, error) {
	l.skipSpace()
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[start]
	two := ""
	if start+1 < len(l.src) {
		two = l.src[start : start+2]
	}
	single := func(k tokenKind) (token, error) {
		l.pos++
		return token{kind: k, text: l.src[start:l.pos], pos: start}, nil
	}
	switch {
	case c == '(':
		return single(tokLParen)
	case c == ')':
		return single(tokRParen)
	case c == '[':
		return single(tokLBracket)
	case c == ']':
		return single(tokRBracket)
	case c == ',':
		return single(tokComma)
	case two == "&&":
		l.pos += 2
		return token{kind: tokAnd, text: two, pos: start}, nil
	case two == "||":
		l.pos += 2
		return token{kind: tokOr, text: two, pos: start}, nil
	case two == "==" || two == "!=" || two == "=~" || two == "!~" || two == ">=" || two == "<=":
		l.pos += 2
		return token{kind: tokOp, text: two, pos: start}, nil
	case c == '>' || c == '<':
		return single(tokOp)
	case c == '"' || c == '\'':
		return l.quoted()
	case c == '!':
		// "!in", "!exists" are operator words; a lone "!" negates.
		i := start + 1
		for i < len(l.src) && !l.endsWord(i) {
			i++
		}
		if i == start+1 {
			return single(tokNot)
		}
		l.pos = i
		return token{kind: tokWord, text: l.src[start:i], pos: start}, nil
	case c == '=':
		return token{}, l.errorf(start, "unexpected \"=\" (use == to compare)")
	}
	i := start
	for i < len(l.src) && !l.endsWord(i) {
		i++
	}
	l.pos = i
	return token{kind: tokWord, text: l.src[start:i], pos: start}, nil
}

// value reads one operand: a quoted string or a bare value.
func (l *lexer) value() (token, error) {
	l.skipSpace()
	start := l.pos
	if start >= len(l.src) {
		return token{}, l.errorf(start, "expected a value")
	}
	if c := l.src[start]; c == '"' || c == '\'' {
		return l.quoted()
	}
	i := start
	for i < len(l.src) && !l.endsValue(i) {
		i++
	}
	if i == start {
		return token{}, l.errorf(start, "expected a value")
	}
	l.pos = i
	return token{kind: tokWord, text: l.src[start:i], pos: start}, nil
}

// quoted reads a string in single or double quotes starting at l.pos.
func (l *lexer) quoted() (token, error) {
	start := l.pos
	q := l.src[start]
	var b strings.Builder
	for i := start + 1; i < len(l.src); i++ {
		c := l.src[i]
		switch {
		case c == q:
			l.pos = i + 1
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case c == '\\' && i+1 < len(l.src) && (l.src[i+1] == '"' || l.src[i+1] == '\'' || l.src[i+1] == '\\'):
			b.WriteByte(l.src[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return token{}, l.errorf(start, "unterminated quoted string")
}

// ---------------------------------------------------------------------------
// Syntax tree

type subjectKind int

const (
	subjAttribute subjectKind = iota + 1
	subjInstanceID
	subjRunningTasks
	subjTaskGroup
)

type operator int

const (
	opEq operator = iota + 1
	opNe
	opGt
	opGe
	opLt
	opLe
	opMatch
	opNotMatch
	opIn
	opNotIn
	opExists
	opNotExists
)

var opSymbols = map[operator]string{
	opEq: "==", opNe: "!=", opGt: ">", opGe: ">=", opLt: "<", opLe: "<=",
	opMatch: "=~", opNotMatch: "!~", opIn: "in", opNotIn: "!in",
	opExists: "exists", opNotExists: "!exists",
}

// operators maps every accepted spelling to its operator.
var operators = map[string]operator{
	"==": opEq, "equals": opEq,
	"!=": opNe, "not_equals": opNe,
	">": opGt, "greater_than": opGt,
	">=": opGe, "greater_than_equal": opGe,
	"<": opLt, "less_than": opLt,
	"<=": opLe, "less_than_equal": opLe,
	"=~": opMatch, "matches": opMatch,
	"!~": opNotMatch, "not_matches": opNotMatch,
	"in":  opIn,
	"!in": opNotIn, "not_in": opNotIn,
	"exists":  opExists,
	"!exists": opNotExists, "not_exists": opNotExists,
}

// negative operators hold when the positive one does not; they are true
// for an instance that lacks the attribute.
func (o operator) negative() bool {
	return o == opNe || o == opNotMatch || o == opNotIn || o == opNotExists
}

// positive returns the operator that o negates (o itself when positive).
func (o operator) positive() operator {
	switch o {
	case opNe:
		return opEq
	case opNotMatch:
		return opMatch
	case opNotIn:
		return opIn
	case opNotExists:
		return opExists
	}
	return o
}

type binaryExpr struct {
	and  bool
	l, r Expr
}

func (e *binaryExpr) Match(in *Instance) bool {
	if e.and {
		return e.l.Match(in) && e.r.Match(in)
	}
	return e.l.Match(in) || e.r.Match(in)
}

func (e *binaryExpr) String() string {
	if !e.and {
		return e.l.String() + " or " + e.r.String()
	}
	return andOperand(e.l) + " and " + andOperand(e.r)
}

// andOperand parenthesizes an "or" below an "and".
func andOperand(e Expr) string {
	if b, ok := e.(*binaryExpr); ok && !b.and {
		return "(" + b.String() + ")"
	}
	return e.String()
}

type notExpr struct{ x Expr }

func (e *notExpr) Match(in *Instance) bool { return !e.x.Match(in) }
func (e *notExpr) String() string          { return "not (" + e.x.String() + ")" }

// predicate is one comparison: subject op value(s).
type predicate struct {
	subject subjectKind
	attr    string // attribute name for subjAttribute
	op      operator
	values  []string  // one for comparisons, one or more for in/!in, none for exists
	nums    []float64 // numeric form of values; isNum[i] tells which parsed
	isNum   []bool
	re      *regexp.Regexp // anchored, for =~ and !~
}

func (p *predicate) subjectString() string {
	switch p.subject {
	case subjAttribute:
		return "attribute:" + p.attr
	case subjInstanceID:
		return "ec2InstanceId"
	case subjRunningTasks:
		return "runningTasksCount"
	case subjTaskGroup:
		return "task:group"
	}
	return "?"
}

func (p *predicate) String() string {
	var b strings.Builder
	b.WriteString(p.subjectString())
	b.WriteByte(' ')
	b.WriteString(opSymbols[p.op])
	switch p.op {
	case opExists, opNotExists:
	case opIn, opNotIn:
		b.WriteString(" [")
		for i, v := range p.values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteValue(v))
		}
		b.WriteByte(']')
	default:
		b.WriteByte(' ')
		b.WriteString(quoteValue(p.values[0]))
	}
	return b.String()
}

// quoteValue renders v so that the value lexer reads it back unchanged.
func quoteValue(v string) string {
	plain := v != "" && v[0] != '"' && v[0] != '\''
	for i := 0; plain && i < len(v); i++ {
		switch c := v[i]; c {
		case ')', ']', ',':
			plain = false
		case '&', '|':
			plain = i+1 >= len(v) || v[i+1] != c
		default:
			plain = !isSpace(c)
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		// The lexer unescapes \" \' and \\ only, so a backslash needs
		// escaping only before those or before the closing quote.
		if v[i] == '"' || (v[i] == '\\' && (i+1 == len(v) || v[i+1] == '"' || v[i+1] == '\'' || v[i+1] == '\\')) {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Match evaluates the predicate on one instance.
//
//   - attribute:<name>: the attribute's value; an instance without the
//     attribute matches only the negative operators (!=, !in, !~, !exists).
//   - ec2InstanceId: the instance name.
//   - runningTasksCount: the number of non-stopped tasks on the instance.
//   - task:group: true for ==, in, =~ when the instance runs a non-stopped
//     task whose group matches; !=, !in, !~ are their negations (the
//     instance runs no such task).
//
// Comparisons are numeric when both sides are numbers, else on strings;
// =~ matches the whole value (the pattern is anchored, as ECS does).
func (p *predicate) Match(in *Instance) bool {
	switch p.subject {
	case subjAttribute:
		v, ok := in.Attributes[p.attr]
		if !ok {
			return p.op.negative()
		}
		switch p.op {
		case opExists:
			return true
		case opNotExists:
			return false
		}
		return p.compare(v)
	case subjInstanceID:
		return p.compare(in.Name)
	case subjRunningTasks:
		return p.compareNum(float64(in.RunningTasks))
	case subjTaskGroup:
		found := false
		pos := p.op.positive()
		for g, n := range in.Groups {
			if n > 0 && p.holds(pos, g) {
				found = true
				break
			}
		}
		return found != p.op.negative()
	}
	return false
}

// compare applies the operator to a string value.
func (p *predicate) compare(v string) bool {
	pos := p.op.positive()
	return p.holds(pos, v) != p.op.negative()
}

// holds applies a positive operator to v.
func (p *predicate) holds(op operator, v string) bool {
	switch op {
	case opMatch:
		return p.re.MatchString(v)
	case opIn:
		for i := range p.values {
			if p.cmp(i, v) == 0 {
				return true
			}
		}
		return false
	}
	c := p.cmp(0, v)
	switch op {
	case opEq:
		return c == 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

// cmp compares v with values[i]: numerically when both are numbers.
func (p *predicate) cmp(i int, v string) int {
	if p.isNum[i] {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return cmpFloat(f, p.nums[i])
		}
	}
	return strings.Compare(v, p.values[i])
}

func (p *predicate) compareNum(f float64) bool {
	pos := p.op.positive()
	var ok bool
	if pos == opIn {
		for i := range p.nums {
			if f == p.nums[i] {
				ok = true
				break
			}
		}
	} else {
		c := cmpFloat(f, p.nums[0])
		switch pos {
		case opEq:
			ok = c == 0
		case opGt:
			ok = c > 0
		case opGe:
			ok = c >= 0
		case opLt:
			ok = c < 0
		case opLe:
			ok = c <= 0
		}
	}
	return ok != p.op.negative()
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------------
// Parser

// ParseExpression parses a memberOf expression of the cluster query
// language (see the grammar at the top of this file).
func ParseExpression(s string) (Expr, error) {
	p := &parser{lex: lexer{src: s}}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.lex.errorf(t.pos, "unexpected \")\" without a matching \"(\"")
		}
		return nil, p.lex.errorf(t.pos, "expected and, or or the end of the expression, found %s", t.describe())
	}
	return e, nil
}

type parser struct {
	lex    lexer
	peeked *token
}

func (p *parser) next() (token, error) {
	if p.peeked != nil {
		t := *p.peeked
		p.peeked = nil
		return t, nil
	}
	return p.lex.next()
}

func (p *parser) peek() (token, error) {
	if p.peeked == nil {
		t, err := p.lex.next()
		if err != nil {
			return t, err
		}
		p.peeked = &t
	}
	return *p.peeked, nil
}

func isKeyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

func (p *parser) parseOr(depth int) (Expr, error) { return p.parseBinary(depth, false) }

// parseBinary parses operands joined by one operator, left-associative:
// "or" (the lowest precedence) joins "and" expressions, which join unary
// ones.
func (p *parser) parseBinary(depth int, and bool) (Expr, error) {
	operand, tok, kw := func() (Expr, error) { return p.parseBinary(depth, true) }, tokOr, "or"
	if and {
		operand, tok, kw = func() (Expr, error) { return p.parseUnary(depth) }, tokAnd, "and"
	}
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tok && !isKeyword(t, kw) {
			return l, nil
		}
		p.peeked = nil
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{and: and, l: l, r: r}
	}
}

func (p *parser) parseUnary(depth int) (Expr, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if depth >= maxDepth && (t.kind == tokLParen || t.kind == tokNot || isKeyword(t, "not")) {
		return nil, p.lex.errorf(t.pos, "expression nested more than %d levels deep", maxDepth)
	}
	switch {
	case t.kind == tokNot || isKeyword(t, "not"):
		open, err := p.next()
		if err != nil {
			return nil, err
		}
		if open.kind != tokLParen {
			return nil, p.lex.errorf(open.pos, "expected \"(\" after %s, found %s", t.text, open.describe())
		}
		x, err := p.parenthesized(depth, open)
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	case t.kind == tokLParen:
		return p.parenthesized(depth, t)
	case t.kind == tokWord && !isKeyword(t, "and") && !isKeyword(t, "or"):
		return p.parsePredicate(t)
	}
	return nil, p.lex.errorf(t.pos, "expected attribute:<name>, ec2InstanceId, runningTasksCount, task:group or \"(\", found %s", t.describe())
}

// parenthesized parses "expr )" after the opening parenthesis open.
func (p *parser) parenthesized(depth int, open token) (Expr, error) {
	x, err := p.parseOr(depth + 1)
	if err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokRParen {
		if t.kind == tokEOF {
			return nil, p.lex.errorf(t.pos, "expected \")\" to close the \"(\" at position %d", open.pos)
		}
		return nil, p.lex.errorf(t.pos, "expected and, or or \")\", found %s", t.describe())
	}
	return x, nil
}

// parsePredicate parses "op value" after the subject word subj. Syntax is
// checked first, then whether subject, operator and values fit together.
func (p *parser) parsePredicate(subj token) (Expr, error) {
	ot, err := p.next()
	if err != nil {
		return nil, err
	}
	op, ok := operator(0), false
	if ot.kind == tokOp || ot.kind == tokWord {
		op, ok = operators[ot.text]
	}
	if !ok {
		return nil, p.lex.errorf(ot.pos, "expected an operator (== != > >= < <= =~ !~ in !in exists !exists) after %q, found %s", subj.text, ot.describe())
	}
	pr := &predicate{op: op}
	var valTokens []token
	switch op {
	case opExists, opNotExists:
	case opIn, opNotIn:
		open, err := p.next()
		if err != nil {
			return nil, err
		}
		if open.kind != tokLBracket {
			return nil, p.lex.errorf(open.pos, "expected \"[\" after %s, found %s", ot.text, open.describe())
		}
		for {
			v, err := p.lex.value()
			if err != nil {
				return nil, err
			}
			valTokens = append(valTokens, v)
			sep, err := p.next()
			if err != nil {
				return nil, err
			}
			if sep.kind == tokRBracket {
				break
			}
			if sep.kind != tokComma {
				return nil, p.lex.errorf(sep.pos, "expected \",\" or \"]\" in the list, found %s", sep.describe())
			}
		}
	default:
		v, err := p.lex.value()
		if err != nil {
			return nil, err
		}
		valTokens = append(valTokens, v)
	}

	// Semantics: the subject and what it can be compared with.
	switch name := subj.text; {
	case strings.HasPrefix(name, "attribute:"):
		pr.subject, pr.attr = subjAttribute, strings.TrimPrefix(name, "attribute:")
		if pr.attr == "" {
			return nil, p.lex.errorf(subj.pos+len("attribute:"), "expected an attribute name after \"attribute:\"")
		}
	case name == "ec2InstanceId":
		pr.subject = subjInstanceID
	case name == "runningTasksCount":
		pr.subject = subjRunningTasks
	case name == "task:group":
		pr.subject = subjTaskGroup
	default:
		return nil, p.lex.errorf(subj.pos, "unknown subject %q: want attribute:<name>, ec2InstanceId, runningTasksCount or task:group", name)
	}
	if (op == opExists || op == opNotExists) && pr.subject != subjAttribute {
		return nil, p.lex.errorf(ot.pos, "%s applies to attribute:<name> only", ot.text)
	}
	if pr.subject == subjRunningTasks && (op == opMatch || op == opNotMatch) {
		return nil, p.lex.errorf(ot.pos, "runningTasksCount is a number: use == != > >= < <= in !in")
	}
	if pr.subject == subjTaskGroup {
		switch op {
		case opGt, opGe, opLt, opLe:
			return nil, p.lex.errorf(ot.pos, "task:group takes == != in !in =~ !~, not %s", ot.text)
		}
	}
	for _, v := range valTokens {
		pr.values = append(pr.values, v.text)
		f, err := strconv.ParseFloat(v.text, 64)
		isNum := err == nil
		if pr.subject == subjRunningTasks {
			n, err := strconv.ParseInt(v.text, 10, 64)
			if err != nil || n < 0 {
				return nil, p.lex.errorf(v.pos, "runningTasksCount compares with a whole number, not %q", v.text)
			}
			f, isNum = float64(n), true
		}
		pr.nums = append(pr.nums, f)
		pr.isNum = append(pr.isNum, isNum)
	}
	if op == opMatch || op == opNotMatch {
		// Validate the pattern on its own first so that wrapping it in an
		// anchored group cannot change its meaning ("a)|(b").
		if _, err := regexp.Compile(pr.values[0]); err != nil {
			return nil, p.lex.errorf(valTokens[0].pos, "invalid regular expression: %s",
				strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		pr.re = regexp.MustCompile("^(?:" + pr.values[0] + ")$")
	}
	return pr, nil
}
