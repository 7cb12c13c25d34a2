package brokeringest

import (
	"fmt"
	"strings"
)

// SourcePrefix begins the CloudEvents source of every registry: the
// registry named civil-status sends as urn:registry:civil-status.
const SourcePrefix = "urn:registry:"

// Subjects is a NATS subject pattern with one "*" token where the
// registry's name stands, e.g. "registries.*.events".
type Subjects struct {
	tokens []string
	at     int
}

// ParseSubjects checks a pattern: dot-separated non-empty tokens, exactly
// one of them "*", none ">" or holding white space.
func ParseSubjects(pattern string) (Subjects, error) {
	tokens := strings.Split(pattern, ".")
	at := -1
	for i, t := range tokens {
		switch {
		case t == "*":
			if at >= 0 {
				return Subjects{}, fmt.Errorf("subject pattern %q: only one token may be *, the registry", pattern)
			}
			at = i
		case !validToken(t):
			return Subjects{}, fmt.Errorf("subject pattern %q: token %q is not a plain NATS subject token", pattern, t)
		}
	}
	if at < 0 {
		return Subjects{}, fmt.Errorf("subject pattern %q: one token must be *, where the registry's name stands", pattern)
	}
	return Subjects{tokens: tokens, at: at}, nil
}

// String is the pattern, the subject to subscribe to.
func (s Subjects) String() string { return strings.Join(s.tokens, ".") }

// Registry is the registry's name in a subject of the pattern.
func (s Subjects) Registry(subject string) (string, bool) {
	tokens := strings.Split(subject, ".")
	if len(tokens) != len(s.tokens) {
		return "", false
	}
	for i, t := range tokens {
		if i != s.at && t != s.tokens[i] {
			return "", false
		}
	}
	if !validToken(tokens[s.at]) {
		return "", false
	}
	return tokens[s.at], true
}

// Subject is the pattern's subject of one registry.
func (s Subjects) Subject(registry string) string {
	tokens := append([]string(nil), s.tokens...)
	tokens[s.at] = registry
	return strings.Join(tokens, ".")
}

// Source is the CloudEvents source of the registry of this name.
func Source(registry string) string { return SourcePrefix + registry }

// Registry is the name of the registry that sends as source, the token
// that stands for it in a subject.
func Registry(source string) (string, bool) {
	name, ok := strings.CutPrefix(source, SourcePrefix)
	if !ok || !validToken(name) {
		return "", false
	}
	return name, true
}

// validToken reports whether t is a plain subject token: not empty, no
// wildcard, dot or white space.
func validToken(t string) bool {
	if t == "" || t == "*" || t == ">" {
		return false
	}
	for _, r := range t {
		if r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
