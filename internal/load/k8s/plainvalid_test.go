package k8s

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzPlainValidation: the hand-written checks loading uses before the
// API server's validators only ever accept what those accept, so skipping
// the validators never hides an error; and the common shapes are taken.
func FuzzPlainValidation(f *testing.F) {
	for _, s := range [][3]string{
		{"app", "web", "http"},
		{"app.kubernetes.io/name", "my_value.1", "metrics-9"},
		{"example.com/Key", "", "a"},
		{"a..b/c", "-x", "9090"},
		{"Example.com/x", "x-", "a--b"},
		{"/x", "x" + string(make([]byte, 63)), "-a"},
		{"a.b./c", "ok", "abcdefghijklmnop"},
		{"x/y/z", "UPPER", "UPPER"},
	} {
		f.Add(s[0], s[1], s[2], uint8(0))
	}
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist, "Gt"}
	f.Fuzz(func(t *testing.T, key, value, port string, op uint8) {
		if plainPortName(port) && len(validation.IsValidPortName(port)) > 0 {
			t.Fatalf("port name %q taken, the validator refuses it: %v", port, validation.IsValidPortName(port))
		}
		sels := []*metav1.LabelSelector{
			{MatchLabels: map[string]string{key: value}},
			{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: ops[int(op)%len(ops)]}}},
			{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: ops[int(op)%len(ops)], Values: []string{value}}}},
		}
		for _, s := range sels {
			if _, err := metav1.LabelSelectorAsSelector(s); plainSelector(s) && err != nil {
				t.Fatalf("selector %+v taken, the validator refuses it: %v", s, err)
			}
		}
	})
}

// TestPlainValidationTakesCommonShapes: the shortcut is taken for the
// keys, values and port names manifests commonly use (else it is useless).
func TestPlainValidationTakesCommonShapes(t *testing.T) {
	for _, k := range []string{"app", "app.kubernetes.io/name", "kubernetes.io/metadata.name", "tier", "team.example.com/owner"} {
		if !plainLabelKey(k) {
			t.Errorf("label key %q not taken", k)
		}
	}
	for _, v := range []string{"", "web", "v1.2.3", "my_value", "A-b"} {
		if !plainLabelValue(v) {
			t.Errorf("label value %q not taken", v)
		}
	}
	for _, p := range []string{"http", "metrics", "grpc-9090", "dns-tcp"} {
		if !plainPortName(p) {
			t.Errorf("port name %q not taken", p)
		}
	}
	for _, bad := range []string{"-a", "a-", "a..b/c", "A.b/c", "a/b/c", "/a", "a/"} {
		if plainLabelKey(bad) {
			t.Errorf("label key %q taken", bad)
		}
	}
}
