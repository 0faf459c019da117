package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// The filter grammar's parser allocates heavily (a few hundred microseconds for
// `userName eq "…"`), and identity providers send the same few filter shapes with
// different values: Entra ID looks each user up by userName before creating it. So a
// filter is parsed once per shape: its string literals are replaced by their ordinal
// ("0", "1", …), the parsed template is kept, and each request's values are bound when
// the template is compiled.

var templates parseCache[fp.Expression]

// literals replaces the content of every string literal of a filter (as the lenient
// pass leaves it: values quoted, escapes kept) by its ordinal, and returns the contents.
// ok is false for an unterminated literal, which the parser then reports.
func literals(s string) (template string, values []string, ok bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' {
				j++
			}
		}
		if j >= len(s) {
			return "", nil, false
		}
		b.WriteByte('"')
		b.WriteString(strconv.Itoa(len(values)))
		b.WriteByte('"')
		values = append(values, s[i+1:j])
		i = j
	}
	return b.String(), values, true
}

// parseTemplate returns the parsed template of a rewritten filter and its literals.
func parseTemplate(res *schema.Resource, rewritten string) (fp.Expression, []string, error) {
	template, values, ok := literals(rewritten)
	if ok {
		// A literal the grammar itself would refuse (a raw control character, a bad
		// escape) must be refused as before: parse such a filter as it is.
		for _, v := range values {
			if !grammarString(v) {
				ok = false
				break
			}
		}
	}
	if !ok {
		expr, err := parseSafely(func() (fp.Expression, error) { return fp.ParseFilterNumber([]byte(rewritten)) })
		return expr, nil, err
	}
	key := parseKey{res: res, text: template}
	if expr, hit := templates.Get(key); hit {
		return expr, values, nil
	}
	expr, err := parseSafely(func() (fp.Expression, error) { return fp.ParseFilterNumber([]byte(template)) })
	if err != nil {
		return nil, nil, err
	}
	templates.Put(key, expr)
	return expr, values, nil
}

// bind is a comparison's value: the request's literal for a template's ordinal.
func bind(values []string, v any) any {
	s, ok := v.(string)
	if !ok || values == nil {
		return v
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(values) {
		return values[i]
	}
	return v
}

// grammarString says whether the filter grammar accepts s between quotes: unescaped
// characters from U+0020 except '"' and '\\', and the escapes \" \\ \/ \b \f \n \r \t
// and \u with four digits or upper-case hex letters (the grammar takes no lower case).
func grammarString(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\\':
			if i >= len(s) {
				return false
			}
			switch e := s[i]; {
			case strings.IndexByte(`"\\/bfnrt`, e) >= 0:
				i++
			case e == 'u':
				if i+5 > len(s) {
					return false
				}
				for _, h := range []byte(s[i+1 : i+5]) {
					if !('0' <= h && h <= '9' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 5
			default:
				return false
			}
		case r < 0x20 || r == '"':
			return false
		}
	}
	return true
}
