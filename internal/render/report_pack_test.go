package render

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/report"
)

// readPack rebuilds the report from a data block as the page's unpack
// (report.js) does, line for line, so the tests can check the format.
func readPack(t testing.TB, block []byte) *report.Report {
	t.Helper()
	var p struct {
		S []string `json:"s"`
		R any      `json:"r"`
		L any      `json:"l"`
		E [][7]any `json:"e"`
	}
	d := json.NewDecoder(bytes.NewReader(block))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		t.Fatalf("the data block is not JSON: %v", err)
	}
	str := func(v string) string {
		if len(v) == 0 || v[0] != '~' {
			return v
		}
		if len(v) > 1 && v[1] == '~' {
			return v[1:]
		}
		i, err := strconv.ParseInt(v[1:], 36, 64)
		if err != nil || int(i) >= len(p.S) {
			t.Fatalf("bad reference %q", v)
		}
		return p.S[i]
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return str(v)
		case []any:
			if len(v) > 1 && v[0] == "~T" {
				var keys []string
				for _, k := range v[1].([]any) {
					keys = append(keys, k.(string))
				}
				out := []any{}
				for _, row := range v[2:] {
					o := map[string]any{}
					for i, x := range row.([]any) {
						if x != "~" {
							o[keys[i]] = walk(x)
						}
					}
					out = append(out, o)
				}
				return out
			}
			for i := range v {
				v[i] = walk(v[i])
			}
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x)
			}
		}
		return v
	}
	r := walk(p.R).(map[string]any)
	layers := walk(p.L).([]any)
	nodes, _ := r["nodes"].([]any)
	end := func(v any) any {
		if n, ok := v.(json.Number); ok {
			i, _ := n.Int64()
			return nodes[i].(map[string]any)["id"]
		}
		return str(v.(string))
	}
	edges := []any{}
	for _, a := range p.E {
		e := map[string]any{"from": end(a[0]), "to": end(a[1]), "verdict": str(a[2].(string))}
		for i, k := range []string{"label", "addresses", "ports"} {
			if s := str(a[3+i].(string)); s != "" {
				e[k] = s
			}
		}
		n, _ := a[6].(json.Number).Int64()
		e["layers"] = layers[n]
		edges = append(edges, e)
	}
	r["edges"] = edges
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

// tricky is a report whose strings look like the block's own notation:
// references, the table marker, the absent marker, texts that recur and
// texts that do not, an edge to a node that is not in the graph.
func tricky(s string) *report.Report {
	texts := []string{"~", "~T", "~0", "~~", "~~T", "~zz", "", "abc", "abcd", s, s + s, "~" + s}
	nodes := []report.Node{{ID: "source:internet", Lane: report.LaneSource, Label: "internet", Kind: "~T"}}
	var edges []report.Edge
	var findings []report.Finding
	for i, x := range texts {
		nodes = append(nodes, report.Node{ID: "workload:" + x + strconv.Itoa(i), Lane: report.LaneWorkload, Label: x, Kind: "Deployment", Namespace: x, ML: i%2 == 0, Detail: []string{x, "recurring detail"}})
		edges = append(edges,
			report.Edge{From: nodes[0].ID, To: nodes[i+1].ID, Verdict: report.Allowed, Label: x, Addresses: x, Ports: "TCP 443",
				Layers: []report.Layer{{Name: "NetworkPolicy", Verdict: "allows", Detail: []string{x}}, {Name: "security groups", Verdict: x}}},
			report.Edge{From: nodes[i+1].ID, To: "destination:" + x, Verdict: report.Denied, Layers: []report.Layer{{Name: "NetworkPolicy", Verdict: "denies"}}})
		findings = append(findings, report.Finding{Finding: check.Finding{Rule: "RF001", Severity: check.High, Object: model.Ref{Kind: "Deployment", Namespace: x, Name: x},
			Message: x, Path: []string{x, x}}, Title: x, Namespace: x, Nodes: []string{nodes[i+1].ID, "source:internet"}})
	}
	return &report.Report{Title: s, Inputs: texts, Namespaces: texts, Headlines: []report.Headline{{Severity: "high", Text: s, Subject: "~T", Nodes: []string{}}},
		Findings: findings, Nodes: nodes, Edges: edges, Notes: texts}
}

// The data block reads back as the report, whatever its strings.
func TestReportPackRoundTrip(t *testing.T) {
	for _, r := range []*report.Report{tricky("recurring"), tricky("~1"), hostile(), {Title: "empty", Findings: []report.Finding{}, Nodes: []report.Node{}, Edges: []report.Edge{}}} {
		checkRoundTrip(t, r)
	}
}

func checkRoundTrip(t testing.TB, r *report.Report) {
	t.Helper()
	block, err := packReport(r)
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON once, as the page gets it: invalid UTF-8 becomes U+FFFD.
	var norm report.Report
	b, _ := json.Marshal(r)
	if err := json.Unmarshal(b, &norm); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(&norm)
	got, _ := json.Marshal(readPack(t, block))
	if !bytes.Equal(want, got) {
		t.Errorf("the block does not read back:\n got %s\nwant %s\nblock %s", got, want, block)
	}
}

// Recurring text is written once: 1,000 edges with the same layers cost
// little more than one.
func TestReportPackShares(t *testing.T) {
	r := tricky("x")
	one, _ := packReport(r)
	for i := range 1000 {
		e := r.Edges[0]
		e.From = r.Nodes[1+i%len(r.Nodes[1:])].ID
		r.Edges = append(r.Edges, e)
	}
	many, _ := packReport(r)
	full, _ := json.Marshal(r)
	if per := (len(many) - len(one)) / 1000; per > 40 {
		t.Errorf("%d bytes an edge in the block (%d written out); want at most 40", per, len(full)/len(r.Edges))
	}
}

func FuzzReportPack(f *testing.F) {
	for _, s := range []string{"recurring", "~", "~T", "~~0", "</script>", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, tricky(s))
	})
}
