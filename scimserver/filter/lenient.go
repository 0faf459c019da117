package filter

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// lenient rewrites the filter spellings real clients send that the RFC 7644 grammar
// (and so the parser) does not accept, into their grammatical equivalents:
//
//   - unquoted comparison values, as Microsoft documents (`externalId eq jyoung`) and
//     tests (`meta.created gt 2015-10-10T14:38:21.8617979-07:00`);
//   - a sub-attribute after a value filter (`emails[type eq "work"].value eq "x"`,
//     which Entra ID uses for matching), rewritten to
//     `emails[type eq "work" and value eq "x"]`;
//     (only in filters: in a PATCH path the grammar has the sub-attribute);
//   - the pre-2018 Entra spelling of extension attributes with '.' after the URN.
//
// It only moves tokens; the parser still decides what is valid.
func lenient(s string, fold bool, fixURN func(string) string) (string, error) {
	// Every lookup goes through here: its tokens stay on the stack, and a filter that
	// needs no rewriting (most) is returned as it came.
	var toksStack, outStack [16]token
	toks, err := tokenize(s, toksStack[:0])
	if err != nil {
		return "", err
	}
	out := outStack[:0]
	var brackets []int // indexes in out of unmatched '['
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokWord && isCompareOp(t.text) && i+2 < len(toks) && toks[i+1].kind == tokSpace:
			out = append(out, t, toks[i+1])
			i += 2
			v := toks[i]
			if v.kind == tokWord {
				v = quoteBare(v)
			}
			out = append(out, v)
			continue
		case t.kind == tokWord:
			t.text = fixURN(t.text)
		case t.kind == tokOpen && t.text == "[":
			brackets = append(brackets, len(out))
		case t.kind == tokClose && t.text == "]":
			open := -1
			if n := len(brackets); n > 0 {
				open, brackets = brackets[n-1], brackets[:n-1]
			}
			if fold && open >= 0 && i+1 < len(toks) && toks[i+1].kind == tokWord && strings.HasPrefix(toks[i+1].text, ".") {
				// Fold "].sub op value" into the bracket: attr[(f) and sub op value].
				inner := groupForAnd(out[open+1:])
				inner = append(inner, token{tokSpace, " "}, token{tokWord, "and"}, token{tokSpace, " "}, token{tokWord, toks[i+1].text[1:]})
				out = append(out[:open+1], inner...)
				i += 2
				if i+1 < len(toks) && toks[i].kind == tokSpace && toks[i+1].kind == tokWord {
					op := toks[i+1]
					out = append(out, toks[i], op)
					i += 2
					if isCompareOp(op.text) && i+1 < len(toks) && toks[i].kind == tokSpace {
						v := toks[i+1]
						if v.kind == tokWord {
							v = quoteBare(v)
						}
						out = append(out, toks[i], v)
						i += 2
					}
				}
				out = append(out, token{tokClose, "]"})
				i--
				continue
			}
		}
		out = append(out, t)
	}
	if spells(s, out) {
		return s, nil
	}
	var b strings.Builder
	for _, t := range out {
		b.WriteString(t.text)
	}
	return b.String(), nil
}

// spells: the tokens, one after the other, are s.
func spells(s string, toks []token) bool {
	for _, t := range toks {
		if !strings.HasPrefix(s, t.text) {
			return false
		}
		s = s[len(t.text):]
	}
	return s == ""
}

// groupForAnd makes a value filter safe to extend with "and …". The parser takes no
// plain parentheses inside brackets, but "not (not (f))" is f grouped.
func groupForAnd(f []token) []token {
	hasOr := false
	for _, t := range f {
		hasOr = hasOr || t.kind == tokWord && strings.EqualFold(t.text, "or")
	}
	out := append([]token(nil), f...)
	if !hasOr {
		return out
	}
	out = append([]token{{tokWord, "not"}, {tokSpace, " "}, {tokOpen, "("}, {tokWord, "not"}, {tokSpace, " "}, {tokOpen, "("}}, out...)
	return append(out, token{tokClose, ")"}, token{tokClose, ")"})
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokSpace
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string
}

// tokenize appends the tokens of s to toks.
func tokenize(s string, toks []token) ([]token, error) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, errUnterminated
			}
			toks = append(toks, token{tokString, s[i : j+1]})
			i = j + 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
				j++
			}
			toks = append(toks, token{tokSpace, " "})
			i = j
		case c == '(' || c == '[':
			toks = append(toks, token{tokOpen, s[i : i+1]})
			i++
		case c == ')' || c == ']':
			toks = append(toks, token{tokClose, s[i : i+1]})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		}
	}
	return toks, nil
}

func isCompareOp(s string) bool {
	switch strings.ToLower(s) {
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
		return true
	}
	return false
}

// quoteBare turns an unquoted comparison value into a JSON string unless it is a
// literal the grammar knows (true, false, null, a number).
func quoteBare(t token) token {
	switch lower := strings.ToLower(t.text); lower {
	case "true", "false", "null":
		return token{tokWord, lower}
	}
	if isJSONNumber(t.text) {
		return t
	}
	q, _ := json.Marshal(t.text)
	return token{tokString, string(q)}
}

func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || unicode.IsDigit(rune(s[0]))) {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
