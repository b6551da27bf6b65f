package render

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"

	"github.com/ringfence/ringfence/internal/report"
)

// The page's data block is the report with each repeated text written once
// (docs/report.md, "Size"). A 1,000-namespace cluster has 60,000 edges whose
// layers repeat the same few explanations, and node IDs and file names that
// recur in every edge and finding: written out, that was a 24-38 MB page.
// The block is
//
//	{"s": [text...], "r": report, "l": [layers...], "e": [edge...]}
//
// where every string of r and l that recurs is "~" and its index in s in
// base 36, the most frequent first (a string that itself starts with "~"
// gets one more "~", so "~" alone and "~T" never occur as text); an array
// of objects is a table ["~T", [keys], [values]...], a member an object
// lacks being "~"; l holds the distinct layer lists, and each edge is an
// array [from, to, verdict, label, addresses, ports, layers]: from and to
// are indexes in r.nodes (or the ID, when an edge names no node), layers an
// index in l. The page's script (unpack in report.js) rebuilds the report;
// readPack does the same in Go for the tests.
type pack struct {
	Strings []string       `json:"s"`
	Report  any            `json:"r"`
	Layers  any            `json:"l"`
	Edges   [][7]any       `json:"e"`
	strs    map[string]int // occurrences, then index in Strings
	order   []string       // strings in the order first met
}

// table is an array of objects written as rows of values under one list of
// keys (a 1,000-namespace report has 8,000 nodes: their keys alone were
// half a megabyte).
type table struct {
	keys []string
	rows [][]any
}

func (t *table) MarshalJSON() ([]byte, error) {
	out := make([]any, 0, len(t.rows)+2)
	out = append(out, "~T", t.keys)
	for _, r := range t.rows {
		out = append(out, r)
	}
	return json.Marshal(out)
}

// absent stands in a table's row for a member the object lacks.
type absent struct{}

func (absent) MarshalJSON() ([]byte, error) { return []byte(`"~"`), nil }

// tabulate turns every array of two or more objects in v into a table.
func tabulate(v any) any {
	switch v := v.(type) {
	case []any:
		objects := len(v) > 1
		for i := range v {
			v[i] = tabulate(v[i])
			if _, ok := v[i].(map[string]any); !ok {
				objects = false
			}
		}
		if !objects {
			return v
		}
		seen := map[string]bool{}
		t := &table{}
		for _, o := range v {
			for k := range o.(map[string]any) {
				if !seen[k] {
					seen[k] = true
					t.keys = append(t.keys, k)
				}
			}
		}
		sort.Strings(t.keys)
		for _, o := range v {
			row := make([]any, len(t.keys))
			for i, k := range t.keys {
				if x, ok := o.(map[string]any)[k]; ok {
					row[i] = x
				} else {
					row[i] = absent{}
				}
			}
			t.rows = append(t.rows, row)
		}
		return t
	case map[string]any:
		for k, x := range v {
			v[k] = tabulate(x)
		}
	}
	return v
}

// packReport writes r as the page's data block.
func packReport(r *report.Report) ([]byte, error) {
	rest := *r
	rest.Edges = nil
	generic, err := toGeneric(&rest)
	if err != nil {
		return nil, err
	}
	generic = tabulate(generic)
	p := &pack{strs: map[string]int{}}
	nodes := make(map[string]int, len(r.Nodes))
	for i, n := range r.Nodes {
		nodes[n.ID] = i
	}
	layerIndex := map[string]int{}
	layers := []any{}
	edges := make([][7]any, len(r.Edges))
	for i, e := range r.Edges {
		key, err := json.Marshal(e.Layers)
		if err != nil {
			return nil, err
		}
		li, ok := layerIndex[string(key)]
		if !ok {
			g, err := toGeneric(e.Layers)
			if err != nil {
				return nil, err
			}
			li = len(layers)
			layerIndex[string(key)] = li
			layers = append(layers, tabulate(g))
		}
		edges[i] = [7]any{endpoint(nodes, e.From), endpoint(nodes, e.To), e.Verdict, e.Label, e.Addresses, e.Ports, li}
	}
	// Count, then intern what recurs, in the order it is first met.
	p.walk(generic, p.count)
	p.walk(layers, p.count)
	for i := range edges {
		for _, v := range edges[i][:6] {
			p.walk(v, p.count)
		}
	}
	// The most frequent get the shortest references.
	var shared []string
	for _, s := range p.order {
		if p.strs[s] > 1 {
			shared = append(shared, s)
		}
	}
	sort.SliceStable(shared, func(i, j int) bool { return p.strs[shared[i]] > p.strs[shared[j]] })
	clear(p.strs)
	for i, s := range shared {
		p.strs[s] = i
	}
	p.Strings = shared
	intern := func(v any) any { return p.walk(v, p.ref) }
	p.Report = intern(generic)
	p.Layers = intern(tabulate(layers))
	for i := range edges {
		for j := range 6 {
			edges[i][j] = intern(edges[i][j])
		}
	}
	p.Edges = edges
	if p.Strings == nil {
		p.Strings = []string{}
	}
	return json.Marshal(p)
}

func endpoint(nodes map[string]int, id string) any {
	if i, ok := nodes[id]; ok {
		return i
	}
	return id
}

// toGeneric turns a value into JSON's generic form (numbers kept exact).
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var g any
	err = d.Decode(&g)
	return g, err
}

// walk replaces every string of v by f's answer, visiting object members in
// key order so the table's order does not depend on map iteration.
func (p *pack) walk(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case []any:
		for i := range v {
			v[i] = p.walk(v[i], f)
		}
	case *table:
		for _, r := range v.rows {
			p.walk(r, f)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v[k] = p.walk(v[k], f)
		}
	}
	return v
}

// count notes an occurrence of a string worth sharing.
func (p *pack) count(s string) string {
	if len(s) > 3 {
		if p.strs[s] == 0 {
			p.order = append(p.order, s)
		}
		p.strs[s]++
	}
	return s
}

// ref is a string as the block writes it: a reference when it recurs.
func (p *pack) ref(s string) string {
	i, ok := p.strs[s]
	if !ok {
		if len(s) > 0 && s[0] == '~' {
			return "~" + s
		}
		return s
	}
	return "~" + strconv.FormatInt(int64(i), 36)
}
