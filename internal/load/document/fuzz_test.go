package document

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addExamples seeds a fuzz target with the example manifests.
func addExamples(f *testing.F) {
	files, _ := filepath.Glob("../../../examples/*/*/*.yaml")
	more, _ := filepath.Glob("../../../examples/*/*.yaml")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzRead: any input gives objects or a positioned error, never a panic;
// every object is a JSON object with a line inside the input; and the List
// fast path never disagrees with the ordinary path.
func FuzzRead(f *testing.F) {
	addExamples(f)
	for _, s := range []string{
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n- apiVersion: v1\n  kind: B\n",
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"A\"},{\"kind\":\"List\",\"items\":[]}]}",
		"a: &x [1]\nb: *x\n---\n- 1\n",
		"kind: List\nitems:\n-\n  - a\n",
		"--- # c\n...\n",
		"\x00",
		// Typed Lists, JSON followed by YAML, a byte order mark: the
		// kept corpus in testdata/fuzz/FuzzRead has more.
		"apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: a}\n",
		"{\"apiVersion\": \"v1\", \"kind\": \"A\"}\n---\nkind: B\n",
		"\ufeff{\"kind\": \"PodList\", \"apiVersion\": \"v1\", \"items\": [{}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Read("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not positioned: %v", err, err)
			}
			return
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, o := range objs {
			// An item of a typed List has the List's kind without "List"
			// when it names none; an object never ends up a List itself.
			if !o.NotObject && strings.HasSuffix(o.Kind, "List") && o.Kind != "List" && bytes.Contains(o.JSON, []byte(`"items"`)) {
				var h head
				if json.Unmarshal(o.JSON, &h) == nil && h.Items != nil {
					t.Fatalf("List %s left unflattened", o.Kind)
				}
			}
			var m map[string]any
			if o.NotObject {
				if !json.Valid(o.JSON) {
					t.Fatalf("document is not JSON: %s", o.JSON)
				}
			} else if json.Unmarshal(o.JSON, &m) != nil {
				t.Fatalf("object is not a JSON object: %s", o.JSON)
			}
			if o.Source.Line < 1 || o.Source.Line > lines {
				t.Fatalf("line %d outside 1..%d", o.Source.Line, lines)
			}
		}
		docs, err := split("fuzz.yaml", data)
		if err != nil {
			t.Fatalf("Read succeeded but split failed: %v", err)
		}
		for _, d := range docs {
			list, items, ok := d.listItems()
			if !ok {
				continue
			}
			j, err := d.toJSON()
			if err != nil {
				t.Fatalf("fast path accepted a List the ordinary path rejects: %v", err)
			}
			slow, err := flatten(&Object{Source: d.src, JSON: bytes.TrimSpace(j)}, 0, head{})
			if err != nil {
				continue // nested trouble below the top level is found by both paths
			}
			var fast []*Object
			for _, it := range items {
				objs, err := flatten(it, 1, list)
				if err != nil {
					t.Fatalf("fast path item failed where the ordinary path did not: %v", err)
				}
				fast = append(fast, objs...)
			}
			if len(fast) != len(slow) {
				t.Fatalf("fast path: %d objects, ordinary: %d", len(fast), len(slow))
			}
			for i := range fast {
				if !jsonEqual(fast[i].JSON, slow[i].JSON) {
					t.Fatalf("object %d: fast %s, ordinary %s", i, fast[i].JSON, slow[i].JSON)
				}
			}
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
