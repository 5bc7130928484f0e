package spec

import (
	"fmt"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} in s with values from lookup;
// $$ stands for a literal $. The default applies when NAME is unset or empty.
// An unset NAME without a default is an error, never an empty string, and
// so is $NAME without braces: it is almost always a mistake, and silently
// keeping it literal would hide that. It returns the names it looked up.
func expand(s string, lookup func(string) (string, bool)) (string, []string, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var names []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i += 2
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("%s has no closing } (expected ${NAME} or ${NAME:-default}; write $$ for a literal $)", quote(s[i:]))
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDefault := strings.Cut(ref, ":-")
			if !isEnvName(name) {
				return "", nil, fmt.Errorf("%s is not a variable reference (expected ${NAME} or ${NAME:-default}, NAME made of letters, digits and _)", quote("${"+ref+"}"))
			}
			names = append(names, name)
			val, set := "", false
			if lookup != nil {
				val, set = lookup(name)
			}
			switch {
			case hasDefault && val == "":
				val = def
			case !set:
				return "", nil, fmt.Errorf("variable %s is not set (expected it in the environment, or a default: ${%s:-value})", name, name)
			}
			b.WriteString(val)
			i += 2 + end + 1
		case next == '_' || isLetter(next):
			j := i + 1
			for j < len(s) && (s[j] == '_' || isLetter(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			return "", nil, fmt.Errorf("%s is not expanded (expected ${%s}, or $$ for a literal $)", quote(s[i:j]), s[i+1:j])
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), names, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// secretSuffixes mark variables whose values are secrets: an env value that
// refers to one is never printed.
var secretSuffixes = []string{"_TOKEN", "_PASSWORD", "_SECRET", "_KEY"}

func isSecretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(upper, suffix) {
			return true
		}
	}
	return false
}
