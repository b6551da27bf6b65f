package document

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want lists kind:line of each object, in order.
		want []string
	}{
		{
			name:  "single YAML object",
			input: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
			want:  []string{"Namespace:1"},
		},
		{
			name:  "multi-document with comments and empty documents",
			input: "# header\n---\n\n# c\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n...\n",
			want:  []string{"Namespace:5", "Service:10"},
		},
		{
			name:  "separator with trailing comment",
			input: "apiVersion: v1\nkind: A\n--- # next\napiVersion: v1\nkind: B\n",
			want:  []string{"A:1", "B:4"},
		},
		{
			name:  "YAML List with item lines",
			input: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n- apiVersion: v1\n  kind: B\n  metadata:\n    name: b\n",
			want:  []string{"A:4", "B:6"},
		},
		{
			name:  "List nested in a List is flattened",
			input: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Inner\n- apiVersion: v1\n  kind: Outer\n",
			want:  []string{"Inner:7", "Outer:9"},
		},
		{
			name:  "list kinds with items that name theirs",
			input: "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n",
			want:  []string{"Pod:4"},
		},
		{
			name:  "empty List",
			input: "apiVersion: v1\nkind: List\nitems: []\n",
			want:  nil,
		},
		{
			name:  "JSON object",
			input: "\n\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\"}",
			want:  []string{"Namespace:3"},
		},
		{
			name:  "JSON stream",
			input: "{\"apiVersion\": \"v1\", \"kind\": \"A\"}\n{\"apiVersion\": \"v1\",\n \"kind\": \"B\"}\n",
			want:  []string{"A:1", "B:2"},
		},
		{
			name:  "JSON List with item lines",
			input: "{\n \"apiVersion\": \"v1\",\n \"kind\": \"List\",\n \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"A\"},\n  {\n   \"apiVersion\": \"v1\", \"kind\": \"B\"}\n ]\n}\n",
			want:  []string{"A:5", "B:6"},
		},
		{
			name:  "kind without items is not a list",
			input: "apiVersion: example.com/v1\nkind: WatchList\nspec: {}\n",
			want:  []string{"WatchList:1"},
		},
		{
			name:  "only comments",
			input: "# nothing\n\n# here\n",
			want:  nil,
		},
		{
			// Scalars and sequences (a JSON patch) are documents without a
			// kind: the loader skips them with a warning, or fails with
			// --strict.
			name:  "scalar and sequence documents",
			input: "just a string\n---\n- op: add\n  path: /a\n",
			want:  []string{"!object:1", "!object:3"},
		},
		{
			name:  "typed Lists give their items their kind",
			input: "apiVersion: apps/v1\nkind: DeploymentList\nmetadata: {resourceVersion: \"7\"}\nitems:\n- metadata: {name: a}\n- kind: Other\n  metadata: {name: b}\n",
			want:  []string{"apps/v1 Deployment:5", "apps/v1 Other:6"},
		},
		{
			name:  "typed JSON List as the API server writes it",
			input: "{\"kind\":\"NetworkPolicyList\",\"apiVersion\":\"networking.k8s.io/v1\",\"metadata\":{},\"items\":[\n{\"metadata\":{\"name\":\"a\"}}]}",
			want:  []string{"networking.k8s.io/v1 NetworkPolicy:2"},
		},
		{
			name:  "untyped List items keep their own kind",
			input: "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n",
			want:  []string{":4"},
		},
		{
			name:  "JSON document followed by YAML documents",
			input: "{\"apiVersion\": \"v1\",\n \"kind\": \"A\"}\n---\napiVersion: v1\nkind: B\n---\n\n{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [\n {\"metadata\": {}}]}\n",
			want:  []string{"A:1", "B:4", "Pod:9"},
		},
		{
			name:  "byte order mark before JSON",
			input: "\ufeff{\"apiVersion\": \"v1\", \"kind\": \"A\"}\n",
			want:  []string{"A:1"},
		},
		{
			name:  "CRLF line endings",
			input: "apiVersion: v1\r\nkind: A\r\n---\r\napiVersion: v1\r\nkind: B\r\n",
			want:  []string{"A:1", "B:4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Read("in.yaml", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			var got []string
			for _, o := range objs {
				kind := o.Kind
				switch {
				case o.NotObject:
					kind = "!object"
				case strings.Contains(tt.name, "typed") && o.APIVersion != "":
					kind = o.APIVersion + " " + o.Kind
				}
				got = append(got, kind+":"+strconv.Itoa(o.Source.Line))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string // the full error message
	}{
		{"truncated YAML", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a, b\n", "in.yaml:4: invalid YAML: did not find expected ',' or ']'"},
		{"bad indentation in second document", "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n metadata: x\n", "in.yaml:6: invalid YAML: mapping values are not allowed in this context"},
		{"tab indentation", "apiVersion: v1\nkind: A\nmetadata:\n\tname: x\n", "in.yaml:4: invalid YAML: found character that cannot start any token"},
		{"binary", "apiVersion: v1\n\x00\x01\x02", "in.yaml:2: binary data (NUL byte): not a YAML or JSON file"},
		{"invalid UTF-8", "apiVersion: v1\nkind: \xff\xfe\n", "in.yaml:2: invalid UTF-8: not a YAML or JSON file"},
		{"truncated JSON", "{\"apiVersion\": \"v1\",\n \"kind\": \"A\",\n", "in.yaml:3: invalid JSON: unexpected end of JSON input (truncated file?)"},
		{"JSON syntax", "{\"apiVersion\": \"v1\",\n \"kind\": }\n", "in.yaml:2: invalid JSON: invalid character '}' looking for beginning of value"},
		{"content after separator", "apiVersion: v1\nkind: A\n--- kind: B\n", "in.yaml:3: content after the document separator \"---\" is not supported; put it on the next line"},
		{"list item not an object", "apiVersion: v1\nkind: List\nitems:\n- 1\n", "in.yaml:4: List item 0 is not an object"},
		// Duplicate keys are errors, as under the API server's strict
		// field validation (sigs.k8s.io/yaml's YAMLToJSONStrict), not last-wins.
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n    app: api\n",
			"in.yaml:9: Service/shop/web: duplicate key \"app\" is set twice in one mapping; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last"},
		{"duplicate key in second document", "kind: A\n---\n\n# c\nkind: B\nmetadata: {name: b}\nkind: C\n",
			"in.yaml:7: C/b: duplicate key \"kind\" is set twice in one mapping; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last"},
		{"duplicate key through a merge key", "kind: A\nx: &d {p: 1}\ny:\n  <<: *d\n  p: 2\n",
			"in.yaml:5: A: duplicate key \"p\" is set twice in one mapping (a merge key's values count); the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last"},
		{"duplicate key in a List item", "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata:\n    name: a\n    name: b\n",
			"in.yaml:7: List: duplicate key \"name\" is set twice in one mapping; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read("in.yaml", strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("Read succeeded, want an error")
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *document.Error: %v", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err.Error(), tt.want)
			}
		})
	}
}

func TestListNestingBound(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= maxListDepth; i++ {
		b.WriteString(`{"apiVersion":"v1","kind":"List","items":[`)
	}
	b.WriteString(`{"apiVersion":"v1","kind":"A"}`)
	for i := 0; i <= maxListDepth; i++ {
		b.WriteString("]}")
	}
	_, err := Read("deep.json", strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("err = %v, want a nesting error", err)
	}
}

func TestLineInsideObject(t *testing.T) {
	in := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  spec:\n    egress:\n    - to: []\n    - ports: []\n"
	objs, err := Read("p.yaml", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].Line("spec", "egress", 1); got != 9 {
		t.Errorf("line of spec.egress[1] = %d, want 9", got)
	}
	if got := objs[0].Line("spec", "missing"); got != 4 {
		t.Errorf("line of a missing path = %d, want the object's line 4", got)
	}
}

// slowObjects reads a document through the ordinary path only.
func slowObjects(t *testing.T, input string) []*Object {
	t.Helper()
	docs, err := split("in.yaml", []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	var out []*Object
	for _, d := range docs {
		j, err := d.toJSON()
		if err != nil {
			t.Fatal(err)
		}
		objs, err := flatten(&Object{Source: d.src, JSON: j, pos: lazyPositions(d.data, d.src.Line-leadingBlankLines(d.data))}, 0, head{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

// The List fast path gives exactly the objects and lines of the ordinary
// path, and falls back to it whenever the cut could be wrong.
func TestListFastPathMatchesOrdinaryPath(t *testing.T) {
	tests := map[string]string{
		"kubectl style, items at column 0": "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      note: |\n        - not an item\n        kind: B\n- apiVersion: v1\n  kind: B\nkind: List\nmetadata:\n  resourceVersion: \"\"\n",
		"items indented":                   "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: A\n  # a comment\n\n  - apiVersion: v1\n    kind: B\n",
		"wide dash spacing":                "kind: List\napiVersion: v1\nitems:\n-   apiVersion: v1\n    kind: A\n    spec: {x: 1}\n",
		"dash on its own line":             "kind: List\napiVersion: v1\nitems:\n-\n  apiVersion: v1\n  kind: A\n",
		"alias across items (fallback)":    "kind: List\napiVersion: v1\nitems:\n- apiVersion: v1\n  kind: A\n  metadata: &m {name: x}\n- apiVersion: v1\n  kind: B\n  metadata: *m\n",
		"flow items (fallback)":            "kind: List\napiVersion: v1\nitems: [{apiVersion: v1, kind: A}, {apiVersion: v1, kind: B}]\n",
		"quoted value over lines":          "kind: List\napiVersion: v1\nitems:\n- apiVersion: v1\n  kind: A\n  metadata: {name: \"a\n    b\"}\n",
		"nested list":                      "kind: List\napiVersion: v1\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: A\n- apiVersion: v1\n  kind: B\n",
		"JSON":                             "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"metadata\": {},\n \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"A\"},\n\n  {\"apiVersion\": \"v1\",\n   \"kind\": \"List\", \"items\": [{\"kind\": \"C\", \"apiVersion\": \"v1\"}]}]}",
		"not a List":                       "apiVersion: example.com/v1\nkind: Thing\nitems:\n- a\n- b\n",
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			fast, err := Read("in.yaml", strings.NewReader(input))
			if err != nil {
				t.Fatal(err)
			}
			slow := slowObjects(t, input)
			if len(fast) != len(slow) {
				t.Fatalf("fast path: %d objects, ordinary path: %d", len(fast), len(slow))
			}
			for i := range fast {
				if string(fast[i].JSON) != string(slow[i].JSON) || fast[i].Source != slow[i].Source || fast[i].Kind != slow[i].Kind {
					t.Errorf("object %d: fast %s %s, ordinary %s %s", i, fast[i].Source, fast[i].JSON, slow[i].Source, slow[i].JSON)
				}
			}
		})
	}
}

// shortLen says it holds fewer bytes than it does (a file that grew
// after its size was read).
type shortLen struct{ *bytes.Reader }

func (s shortLen) Len() int { return s.Reader.Len() / 2 }

// TestReadAll: the presized read gives the whole input whatever the
// reader says of its size.
func TestReadAll(t *testing.T) {
	want := bytes.Repeat([]byte("apiVersion: v1\n"), 1000)
	path := filepath.Join(t.TempDir(), "a.yaml")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, r := range map[string]io.Reader{
		"file":      f,
		"bytes":     bytes.NewReader(want),
		"no size":   io.MultiReader(bytes.NewReader(want)),
		"short Len": shortLen{bytes.NewReader(want)},
		"empty":     bytes.NewReader(nil),
	} {
		got, err := ReadAll(r)
		if name == "empty" {
			if err != nil || len(got) != 0 {
				t.Errorf("%s: %q, %v", name, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
}
