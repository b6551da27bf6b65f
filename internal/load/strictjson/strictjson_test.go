package strictjson

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// embedded exercises promoted fields and name dominance.
type embedded struct {
	Inner `json:",inline"`
	Name  string            `json:"name"`
	Tags  map[string]string `json:"tags"`
	Items []string          `json:"items"`
	Count *int32            `json:"count"`
	Ratio float32           `json:"ratio"`
	Size  uint8             `json:"size"`
	Raw   []byte            `json:"raw"`
	Any   any               `json:"any"`
}

type Inner struct {
	Name  string `json:"name"` // hidden by the outer name
	Depth int    `json:"depth"`
}

// targets are the types the property is checked on: Kubernetes types the
// loader decodes, and a local one with the corners.
var targets = []func() any{
	func() any { return new(appsv1.Deployment) },
	func() any { return new(networkingv1.NetworkPolicy) },
	func() any { return new(corev1.Service) },
	func() any { return new(corev1.Pod) },
	func() any { return new(metav1.ObjectMeta) },
	func() any { return new(embedded) },
}

// check holds Unmarshal to sigs.k8s.io/json on data for every target:
// where it reports true, the old decoder must succeed without strict
// errors and give a deep-equal value.
func check(t *testing.T, data []byte) (taken int) {
	for _, newValue := range targets {
		for _, mode := range []Unknown{Strict, Ignore} {
			fast, old := newValue(), newValue()
			if !Unmarshal(data, fast, mode) {
				continue
			}
			taken++
			var err error
			if mode == Strict {
				var strict []error
				strict, err = kjson.UnmarshalStrict(data, old)
				if len(strict) > 0 {
					t.Fatalf("%T %s: taken, but sigs.k8s.io/json warns %v", fast, data, strict)
				}
			} else {
				err = kjson.UnmarshalCaseSensitivePreserveInts(data, old)
			}
			if err != nil {
				t.Fatalf("%T %s: taken, but sigs.k8s.io/json fails: %v", fast, data, err)
			}
			if !reflect.DeepEqual(fast, old) {
				t.Fatalf("%T %s (unknown ignored %v):\nfast %#v\nold  %#v", fast, data, mode, fast, old)
			}
		}
	}
	return taken
}

func TestCorners(t *testing.T) {
	for _, c := range []struct {
		json  string
		taken bool // by the embedded target in Strict mode
	}{
		{`{"name":"a","depth":3,"tags":{"k":"v","e":""},"items":["x",null],"count":5,"ratio":1.5,"size":7}`, true},
		{`{"name":"a","name":"b"}`, false},    // set twice
		{`{"Name":"a"}`, false},               // names are case-sensitive
		{`{"nope":1}`, false},                 // unknown
		{`{"tags":{"k":"v","k":"w"}}`, false}, // a key twice
		{`{"tags":null,"items":null,"count":null}`, true},
		{`{"tags":{},"items":[]}`, true}, // empty, not nil
		{`{"tags":{"k":null}}`, true},
		{`{"name":null}`, true},
		{`{"depth":1.0}`, false}, // not an int
		{`{"depth":"1"}`, false},
		{`{"size":256}`, false}, // overflow
		{`{"count":2147483648}`, false},
		{`{"ratio":1e39}`, false},
		{`{"name":"a\u00e9\n"}`, true}, // escapes
		{`{"name":"\ud800"}`, true},    // a lone surrogate
		{`{"name":"a"} x`, false},      // trailing data
		{`{"name":"a",}`, false},
		{` { "name" : "a" , "items" : [ "b" , "c" ] } `, true},
		{`{"raw":"YQ=="}`, false}, // base64: encoding/json's
		{`{"any":1}`, false},
		{`{"items":[01]}`, false},
		{`{"depth":-0}`, true},
		{`[]`, false},
		{`{"name":"` + "\xff" + `"}`, false}, // invalid UTF-8
	} {
		var e embedded
		if got := Unmarshal([]byte(c.json), &e, Strict); got != c.taken {
			t.Errorf("%s: taken %v, want %v", c.json, got, c.taken)
		}
		check(t, []byte(c.json))
	}
	// Kubernetes corners: int-or-string ports, quantities, null
	// timestamps, unknown fields deep inside.
	for _, c := range []struct {
		json  string
		taken bool
	}{
		{`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","creationTimestamp":null,"labels":{"app":"a"}},"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}],"resources":{"limits":{"nvidia.com/gpu":"1","cpu":"100m"}}}]}}}}`, true},
		{`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"template":{"spec":{"containers":[{"name":"c","imagee":"i"}]}}}}`, false},
		{`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"template":{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1x"}}}]}}}}`, false},
	} {
		var d appsv1.Deployment
		if got := Unmarshal([]byte(c.json), &d, Strict); got != c.taken {
			t.Errorf("%s: taken %v, want %v", c.json, got, c.taken)
		}
		check(t, []byte(c.json))
	}
	np := `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":"http"},{"port":80,"endPort":90,"protocol":"UDP"}],"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}]}]}}`
	var p networkingv1.NetworkPolicy
	if !Unmarshal([]byte(np), &p, Strict) {
		t.Errorf("a plain NetworkPolicy is not taken")
	}
	if check(t, []byte(np)) == 0 {
		t.Errorf("nothing taken")
	}
}

// FuzzUnmarshal: whatever the input, a value Unmarshal takes is the one
// sigs.k8s.io/json gives, without an error or a strict error.
func FuzzUnmarshal(f *testing.F) {
	// The seed corpus (testdata/fuzz/FuzzUnmarshal) holds example objects.
	f.Add([]byte(`{"name":"a","depth":3,"tags":{"k":"v"},"items":["x"],"count":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
	})
}

// TestDeepNesting: input nested deeper than this decoder reads is left to
// sigs.k8s.io/json (which refuses it past 10,000 levels), whether the
// value is known or skipped.
func TestDeepNesting(t *testing.T) {
	deep := func(n int) string {
		return strings.Repeat("[", n) + strings.Repeat("]", n)
	}
	var m metav1.ObjectMeta
	if !Unmarshal([]byte(`{"name":"a","x":`+deep(100)+`}`), &m, Ignore) || m.Name != "a" {
		t.Fatalf("a skipped value nested 100 deep was not taken")
	}
	for _, n := range []int{maxDepth, 20000} {
		if Unmarshal([]byte(`{"name":"a","x":`+deep(n)+`}`), new(metav1.ObjectMeta), Ignore) {
			t.Errorf("nested %d deep: taken", n)
		}
	}
}

// TestStringsOwnTheirBytes holds the shared string blocks (keep) sound:
// every string keeps its value when the input is overwritten afterwards,
// when a decode needs several blocks, and when strings of two decodes
// are read together.
func TestStringsOwnTheirBytes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"name":"n1","tags":{`)
	want := map[string]string{}
	for i := range 200 {
		k, v := fmt.Sprintf("key-%03d", i), strings.Repeat(string(rune('a'+i%26)), i)
		want[k] = v
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", k, v)
	}
	b.WriteString(`},"items":["x","yy",""]}`)
	data := []byte(b.String())
	var first, second embedded
	if !Unmarshal(data, &first, Strict) {
		t.Fatal("not decoded")
	}
	other := []byte(strings.ReplaceAll(string(data), `"n1"`, `"n2"`))
	if !Unmarshal(other, &second, Strict) {
		t.Fatal("not decoded")
	}
	for i := range data {
		data[i], other[i] = '#', '#'
	}
	if first.Name != "n1" || second.Name != "n2" || !reflect.DeepEqual(first.Tags, want) || !reflect.DeepEqual(second.Tags, want) ||
		!reflect.DeepEqual(first.Items, []string{"x", "yy", ""}) {
		t.Errorf("strings changed with the input or each other: %q %q %v", first.Name, second.Name, first.Items)
	}
}

// TestSmallInt holds smallInt to strconv.ParseInt.
func TestSmallInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-7", "2147483647", "2147483648", "-2147483649", "999999999999999999",
		"-999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808", "1.5", "1e3", "-", ""} {
		n, small := smallInt([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if small && (err != nil || n != want) {
			t.Errorf("smallInt(%q) = %d, ParseInt gives %d, %v", s, n, want, err)
		}
		if !small && len(strings.TrimPrefix(s, "-")) <= 18 && err == nil {
			t.Errorf("smallInt(%q) declined a short integer", s)
		}
	}
}
