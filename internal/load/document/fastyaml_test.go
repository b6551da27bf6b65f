package document

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ringfence/ringfence/internal/gencluster"
	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// fastCases are inputs inside the fast path's subset: each must take it
// and give exactly sigs.k8s.io/yaml's bytes.
var fastCases = []string{
	"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
	// keys out of order, nested blocks, a sequence at its key's column
	"b: 1\na:\n  z: x\n  w:\n  - 1\n  - two\n  x: []\nc: {}\n",
	// YAML 1.1 booleans and nulls as go-yaml v2 reads them, quoted ones stay strings
	"a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: null\nh: Null\ni: 'yes'\nj: \"on\"\nk:\nl: True\n",
	// quantities, decimals, zero
	"cpu: 100m\nmemory: 128Mi\nport: 8080\nzero: 0\nbig: 123456789012345678\n",
	// numbers as go-yaml v2 reads them: octal, hex, signs, 64-bit unsigned;
	// addresses and versions are strings
	"args:\n- -conf\n- --x=1\n- +y\n- -.nan\n- -1a\na: 0777\nb: 0x1F\nc: -1\nd: +5\ne: 18446744073709551615\nf: 10.0.0.0/8\ng: 2600:1f18::/33\nh: 1.24.1\ni: 0.0.0.0/0\nj: 0o17\n",
	// comments everywhere, trailing spaces, a comment cutting a plain scalar
	"# head\na: b # tail\n\n  # indented comment\nc:   d  \ne: # null value\nf: 'x' # c\ng: \"y\"  # c\n",
	// HTML characters and quotes escaped as encoding/json does
	"a: x<b> & \"c\"\nb: 'it''s'\nd: héllo \u00e9\u4e16\n",
	// compact mappings and sequences in sequences
	"- name: a\n  ports:\n  - 80\n  - 443\n-   name: b\n    x: y\n- - 1\n  - 2\n-\n  k: v\n-\n- last\n",
	// quoted keys, keys with dots, slashes and dashes
	"\"helm.sh/hook\": pre-install\n'a b': c\napp.kubernetes.io/name: x\nmy-key_2: /path/to\n_x: _y\n",
	// a root mapping that is indented
	"  a: 1\n  b: 2\n",
	// many keys (the duplicate check switches to a map)
	"k01: 1\nk02: 1\nk03: 1\nk04: 1\nk05: 1\nk06: 1\nk07: 1\nk08: 1\nk09: 1\nk10: 1\nk11: 1\nk12: 1\nk13: 1\nk14: 1\nk15: 1\nk16: 1\nk17: 1\nk18: 1\nk00: 1\n",
	"a: registry.example.com/ingest:1.24.1\nb: http://x/y?z=1#frag\nc: a,b[c]{d}\n",
	// the lines of spec's sequences' entries (policy rules): compact,
	// nested after a dash, null, after comments, a sequence at its key's
	// column, deeper sequences not recorded
	"kind: NetworkPolicy\nspec:\n  ingress: []\n  egress:\n  - to: []\n  -\n    ports: []\n  - # c\n\n    # d\n    ports: []\n  -\n  - x\n  podSelector:\n    matchExpressions:\n    - key: a\n  policyTypes:\n    - Ingress\n    - Egress\nstatus:\n  x:\n  - 1\n",
	"spec:\n- - 1\n",
}

// slowCases must leave the fast path (their meaning needs the full
// parser, or they are errors the ordinary path positions).
var slowCases = []string{
	"a: &x 1\nb: *x\n",                // anchors and aliases
	"base: &b {x: 1}\nm:\n  <<: *b\n", // merge keys
	"a: 1\na: 2\n",                    // duplicate keys
	"a: |\n  text\n",                  // block scalars
	"a: b\n  c\n",                     // a multi-line plain scalar
	"a: 1.5\n",                        // floats
	"a: 1e3\n",
	"a: 1_000\n", // underscores
	"a: 0b101\n", // binary
	"a: -.inf\n",
	"a: +.INF\n",
	"a: -.5\n",
	"a: - b\n",                  // infinities
	"a: 18446744073709551616\n", // beyond 64 bits: a float                        // exponent float
	"a: 2026-12-03\n",           // timestamps
	"a: {b: 1}\n",               // flow mappings
	"a: \"x\\ty\"\n",            // escapes
	"a: !!str 1\n",              // tags
	"yes: 1\n",                  // a key go-yaml reads as a boolean
	"1: a\n",                    // a key go-yaml reads as an int
	"a:\tb\n",                   // tabs
	"a: b\r\n",                  // carriage returns
	"a: b: c\n",                 // a mapping on a mapping's line
	"a: - b\n",                  // a sequence on a mapping's line
	"a:b\n",                     // one plain scalar
	"- a\nb: 1\n",               // a key after a root sequence
	"a:\n    b: 1\n  c: 2\n",    // bad indentation
	"plain\n",                   // a scalar document
	"a: \"unterminated\n",
	"a: ~\n",
	"A: A\u2028\u2029000", // line breaks to YAML 1.1 (found by FuzzFastYAML)
}

func TestFastYAML(t *testing.T) {
	for _, c := range fastCases {
		checkFastYAML(t, []byte(c))
		got, ok := fastYAMLToJSON([]byte(c))
		if !ok {
			t.Errorf("fast path refused %q", c)
			continue
		}
		want, err := yaml.YAMLToJSON([]byte(c))
		if err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\n fast %s\n want %s", c, got, want)
		}
	}
	for _, c := range slowCases {
		if got, ok := fastYAMLToJSON([]byte(c)); ok {
			t.Errorf("fast path took %q (gave %s)", c, got)
		}
	}
}

// TestFastYAMLExamples: the example manifests convert alike both ways, and
// the generator's kind of output takes the fast path.
func TestFastYAMLExamples(t *testing.T) {
	files, _ := filepath.Glob("../../../examples/*/*/*.yaml")
	more, _ := filepath.Glob("../../../examples/*/*.yaml")
	fast := 0
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := split(p, b)
		if err != nil {
			continue
		}
		for _, d := range docs {
			if d.json {
				continue
			}
			checkFastYAML(t, d.data)
			if _, ok := fastYAMLToJSON(d.data); ok {
				fast++
			}
		}
	}
	if fast == 0 {
		t.Fatal("no example document took the fast path")
	}
}

// checkFastYAML fails when the fast path takes data and disagrees with
// sigs.k8s.io/yaml (the converter kubectl uses; strict, as the API server
// reads YAML under field validation Strict) in any byte, or takes
// what it rejects.
func checkFastYAML(t *testing.T, data []byte) {
	t.Helper()
	got, ok := fastYAMLToJSON(data)
	if !ok {
		return
	}
	// Strict: what the ordinary path reads (a duplicate key is an error
	// there, so the fast path must never take one).
	want, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("fast path accepted what sigs.k8s.io/yaml (strict) rejects (%v): %q", err, data)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("fast path disagrees on %q:\n fast %s\n want %s", data, got, want)
	}
	if _, h, _ := fastYAMLToJSONHead(data); h.ok {
		var ref head
		if err := json.Unmarshal(got, &ref); err != nil || ref.APIVersion != h.apiVersion || ref.Kind != h.kind || ref.Items != nil {
			t.Fatalf("fast head %+v, flatten reads %+v (%v) from %s", h, ref, err, got)
		}
		// The metadata slice is exactly the root's metadata member.
		var members map[string]json.RawMessage
		if err := json.Unmarshal(got, &members); err != nil {
			t.Fatal(err)
		}
		if want, ok := members["metadata"]; ok != (h.metadata != nil) || !bytes.Equal(h.metadata, want) {
			t.Fatalf("fast head metadata %q, object's %q (present %v) in %s", h.metadata, want, ok, got)
		}
	}
	tree, ok := fastTree(data)
	if !ok {
		t.Fatalf("fastTree refused what fastYAMLToJSON took: %q", data)
	}
	// The lines of spec's sequence entries read on the way are the
	// tree's, and every such sequence is there.
	_, h, _ := fastYAMLToJSONHead(data)
	checkSpecLines(t, data, tree, h.specLines)
	var ref yaml3.Node
	if err := yaml3.Unmarshal(data, &ref); err != nil {
		return // positions then come from neither parser
	}
	if msg := sameTree(tree, &ref, "$"); msg != "" {
		t.Fatalf("fastTree disagrees with go.yaml.in/yaml/v3 on %q: %s", data, msg)
	}
}

// checkSpecLines fails unless lines holds exactly the sequences directly
// in the root's spec mapping of tree, with each entry's line.
func checkSpecLines(t *testing.T, data []byte, tree *yaml3.Node, lines []seqLines) {
	t.Helper()
	var want []seqLines
	if root := tree.Content[0]; root.Kind == yaml3.MappingNode {
		if spec := child(root, "spec"); spec != nil && spec.Kind == yaml3.MappingNode {
			for i := 0; i+1 < len(spec.Content); i += 2 {
				// An empty flow sequence ([]) has no entries to find:
				// the walk skips it.
				if seq := spec.Content[i+1]; seq.Kind == yaml3.SequenceNode && len(seq.Content) > 0 {
					s := seqLines{key: spec.Content[i].Value}
					for _, n := range seq.Content {
						s.lines = append(s.lines, n.Line)
					}
					want = append(want, s)
				}
			}
		}
	}
	// Compare as sets of keys (the walk meets them in input order, the
	// tree too; duplicates cannot occur on the fast path).
	if fmt.Sprint(want) != fmt.Sprint(lines) {
		t.Fatalf("spec sequence lines %v, the tree has %v, in %q", lines, want, data)
	}
}

// sameTree compares what positions reads of two node trees: kinds, lines,
// mapping keys and the shape.
func sameTree(a, b *yaml3.Node, path string) string {
	if a.Kind != b.Kind || a.Line != b.Line || len(a.Content) != len(b.Content) {
		return fmt.Sprintf("at %s: kind %v line %d with %d children, want kind %v line %d with %d", path, a.Kind, a.Line, len(a.Content), b.Kind, b.Line, len(b.Content))
	}
	for i := range a.Content {
		if a.Kind == yaml3.MappingNode && i%2 == 0 && a.Content[i].Value != b.Content[i].Value {
			return fmt.Sprintf("at %s: key %q, want %q", path, a.Content[i].Value, b.Content[i].Value)
		}
		if msg := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); msg != "" {
			return msg
		}
	}
	return ""
}

// FuzzFastYAML is the differential against sigs.k8s.io/yaml: whatever the
// fast path takes, it converts to the same bytes.
func FuzzFastYAML(f *testing.F) {
	addExamples(f)
	for _, c := range append(fastCases, slowCases...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastYAML(t, data)
	})
}

// TestFastYAMLGenerated: every document the cluster generator writes (the
// shape of kubectl and Helm output) takes the fast path, so the speed of
// BenchmarkReadGenerated is the fast path's.
func TestFastYAMLGenerated(t *testing.T) {
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 20, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	n := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := split(p, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			n++
			if _, ok := fastYAMLToJSON(d.data); !ok {
				t.Errorf("%s: document took the ordinary path:\n%s", d.src, d.data)
			}
			checkFastYAML(t, d.data)
		}
	}
	if n < 100 {
		t.Fatalf("only %d documents", n)
	}
}

// TestYAML11Word: the quick rejection in yaml11Word never rejects a word
// of yaml11Words.
func TestYAML11Word(t *testing.T) {
	for k, v := range yaml11Words {
		if w, ok := yaml11Word([]byte(k)); !ok || w != v {
			t.Errorf("%q: %q %v, want %q", k, w, ok, v)
		}
	}
	for _, s := range []string{"", "yess", "nul", "Falsey", "x", "o"} {
		if _, ok := yaml11Word([]byte(s)); ok {
			t.Errorf("%q taken", s)
		}
	}
}

// FuzzMayBeInt: mayBeInt only rules out strings neither strconv.ParseInt
// nor ParseUint (base 0) accepts, so skipping them never changes a value.
func FuzzMayBeInt(f *testing.F) {
	for _, s := range []string{"0", "-12", "+7", "0x1F", "0o17", "0b101", "017", "100m", "10.0.0.0/8", "1.24.1", "1e3", "18446744073709551615", "-0x8000000000000000", "1_000", "0X1f", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if mayBeInt([]byte(s)) {
			return
		}
		if _, err := strconv.ParseInt(s, 0, 64); err == nil {
			t.Fatalf("%q: ParseInt takes it", s)
		}
		if _, err := strconv.ParseUint(s, 0, 64); err == nil {
			t.Fatalf("%q: ParseUint takes it", s)
		}
	})
}

// FuzzPrintable: the eight-bytes-at-a-time test agrees with the byte loop.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"apiVersion: v1\nkind: A\n", "a\tb: c\r\n", "x\x7fyyyyyyyyyy", "héllo wörld\n", "\x00\x00\x00\x00\x00\x00\x00\x00", "abcdefg\x1f", "abcdefgh\u2028ijk", "\n\n\n\n\n\n\n\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := fastPrintable(b), printableFrom(b, 0); got != want {
			t.Fatalf("%q: %v, byte by byte %v", b, got, want)
		}
	})
}

// TestPrintableASCII8 tries every pair of ASCII bytes in every pair of
// positions of a word of otherwise printable bytes.
func TestPrintableASCII8(t *testing.T) {
	ok := func(c int) bool { return c >= 0x20 && c < 0x7f || c == '\n' }
	for p1 := 0; p1 < 8; p1++ {
		for p2 := p1 + 1; p2 < 8; p2++ {
			for c1 := 0; c1 < 0x80; c1++ {
				for c2 := 0; c2 < 0x80; c2++ {
					w := []byte("abcdefgh")
					w[p1], w[p2] = byte(c1), byte(c2)
					if got, want := printableASCII8(binary.LittleEndian.Uint64(w)), ok(c1) && ok(c2); got != want {
						t.Fatalf("%q: %v, want %v", w, got, want)
					}
				}
			}
		}
	}
}

// TestPlainDecimal holds the shortcut for plain decimals to resolveNumeric.
func TestPlainDecimal(t *testing.T) {
	for _, v := range []string{"0", "7", "9100", "2024", "123456789012345678", "1234567890123456789", "00", "0777", "0x1f", "+1", "-1", "1_000", "1.5", "100m", ""} {
		if !plainDecimal([]byte(v)) {
			continue
		}
		num, isString, ok := resolveNumeric([]byte(v))
		if !ok || isString || string(num) != v {
			t.Errorf("plainDecimal(%q), but resolveNumeric gives %q, %v, %v", v, num, isString, ok)
		}
	}
}
