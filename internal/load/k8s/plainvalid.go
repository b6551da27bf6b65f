package k8s

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The API server's validators of label keys, values and port names match
// regular expressions and build selectors; on the common shapes below
// (checked by hand, a subset of what they accept) loading skips them.
// They answer only "certainly valid": anything else goes to the
// validators, which give the verdict and the message
// (FuzzPlainValidation holds the subset inside them).

// selectorError is metav1.LabelSelectorAsSelector's error, nil for a
// selector it accepts.
func selectorError(ps *metav1.LabelSelector) error {
	if plainSelector(ps) {
		return nil
	}
	_, err := metav1.LabelSelectorAsSelector(ps)
	return err
}

// portNameErrors is validation.IsValidPortName.
func portNameErrors(name string) []string {
	if plainPortName(name) {
		return nil
	}
	return validation.IsValidPortName(name)
}

func plainSelector(ps *metav1.LabelSelector) bool {
	if ps == nil {
		return true
	}
	for k, v := range ps.MatchLabels {
		if !plainLabelKey(k) || !plainLabelValue(v) {
			return false
		}
	}
	for _, e := range ps.MatchExpressions {
		if !plainLabelKey(e.Key) {
			return false
		}
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				return false
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				return false
			}
		default:
			return false
		}
		for _, v := range e.Values {
			if !plainLabelValue(v) {
				return false
			}
		}
	}
	return true
}

// plainLabelKey: a name, or a DNS-1123 subdomain, '/' and a name.
func plainLabelKey(k string) bool {
	prefix, name, cut := strings.Cut(k, "/")
	if !cut {
		return plainLabelName(k)
	}
	return plainSubdomain(prefix) && plainLabelName(name)
}

// plainLabelValue: empty or a name.
func plainLabelValue(v string) bool {
	return v == "" || plainLabelName(v)
}

// plainLabelName: 1 to 63 characters of [A-Za-z0-9_.-], beginning and
// ending with a letter or digit.
func plainLabelName(s string) bool {
	if len(s) == 0 || len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// plainSubdomain: at most 253 characters, dot-separated labels of
// [a-z0-9-], each beginning and ending with a lower-case letter or digit.
func plainSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for s != "" {
		label, rest, _ := strings.Cut(s, ".")
		if len(label) == 0 || !lowerAlnum(label[0]) || !lowerAlnum(label[len(label)-1]) {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !lowerAlnum(c) && c != '-' {
				return false
			}
		}
		if len(rest) == 0 && len(label) < len(s) {
			return false // a trailing dot
		}
		s = rest
	}
	return true
}

// plainPortName: 1 to 15 characters of [a-z0-9-] with a letter, no "--",
// not beginning or ending with '-'.
func plainPortName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return letter
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lowerAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
