package render

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/report"
)

// Colours shared with the HTML page's legend.
var (
	verdictColor = map[string]string{
		report.Allowed: "#e0283e", report.OneLayer: "#f0a020", report.Denied: "#a9b0ba", report.Unknown: "#7c4dcc",
	}
	verdictStyle = map[string]string{
		report.Allowed: "solid", report.OneLayer: "dashed", report.Denied: "dotted", report.Unknown: "dashed",
	}
	severityHex = map[string]string{
		"critical": "#b4232c", "high": "#e0592a", "medium": "#c48a06", "low": "#2f6fdb", "info": "#6b7380",
	}
)

// ReportDOT writes the report's graph for Graphviz: the internet and the
// entries on the left, the workloads in one cluster per namespace, the
// outside destinations on the right; edges coloured by verdict as in the
// HTML legend. In-cluster connections are left out (ringfence reach -o dot
// draws them). Output is sorted, so it is the same for the same inputs.
func ReportDOT(w io.Writer, r *report.Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "// %s: %s. Edges: red solid = allowed by both layers, orange dashed = one layer only, grey dotted = denied, purple dashed = a layer unknown.\n", r.Title, countsText(r.Summary))
	fmt.Fprintln(bw, "digraph ringfence {")
	fmt.Fprintln(bw, `  graph [rankdir=LR, ranksep=1.4, nodesep=0.2, fontname="Helvetica", fontsize=12, newrank=true];`)
	fmt.Fprintln(bw, `  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#c4cad3", fontname="Helvetica", fontsize=11];`)
	fmt.Fprintln(bw, `  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];`)
	byLane := map[string][]report.Node{}
	for _, n := range r.Nodes {
		byLane[n.Lane] = append(byLane[n.Lane], n)
	}
	for _, ns := range byLane {
		sort.Slice(ns, func(i, j int) bool { return ns[i].ID < ns[j].ID })
	}
	dark := `fillcolor="#111827", fontcolor="#ffffff", color="#111827"`
	for _, n := range byLane[report.LaneSource] {
		fmt.Fprintf(bw, "  { rank=source; %s [label=%s, %s]; }\n", dotID(n.ID), dotID(n.Label), dark)
	}
	for _, n := range byLane[report.LaneEntry] {
		fmt.Fprintf(bw, "  %s [label=%s, fillcolor=\"#fff7ed\", color=%s%s];\n", dotID(n.ID), dotID(n.Label+"\n"+n.Namespace), dotID(orColor(n.Severity, "#fdba74")), penwidth(n.Severity))
	}
	namespaces := map[string][]report.Node{}
	var names []string
	for _, n := range byLane[report.LaneWorkload] {
		if namespaces[n.Namespace] == nil {
			names = append(names, n.Namespace)
		}
		namespaces[n.Namespace] = append(namespaces[n.Namespace], n)
	}
	sort.Strings(names)
	for _, ns := range names {
		fmt.Fprintf(bw, "  subgraph %s {\n    label=%s; style=\"rounded,filled\"; fillcolor=\"#eef1f5\"; color=\"#eef1f5\";\n", dotID("cluster_"+ns), dotID("namespace "+ns))
		for _, n := range namespaces[ns] {
			kind := n.Kind
			if n.ML {
				kind = "ML · " + kind
			}
			fmt.Fprintf(bw, "    %s [label=%s, color=%s%s];\n", dotID(n.ID), dotID(n.Label+"\n"+kind), dotID(orColor(n.Severity, "#c4cad3")), penwidth(n.Severity))
		}
		fmt.Fprintln(bw, "  }")
	}
	if len(byLane[report.LaneDestination]) > 0 {
		fmt.Fprintln(bw, "  { rank=sink;")
		for _, n := range byLane[report.LaneDestination] {
			fmt.Fprintf(bw, "    %s [label=%s, %s];\n", dotID(n.ID), dotID(n.Label), dark)
		}
		fmt.Fprintln(bw, "  }")
	}
	lanes := map[string]string{}
	for _, n := range r.Nodes {
		lanes[n.ID] = n.Lane
	}
	for _, e := range r.Edges {
		if lanes[e.From] == report.LaneWorkload && lanes[e.To] == report.LaneWorkload {
			continue
		}
		fmt.Fprintf(bw, "  %s -> %s [color=%s, style=%s, tooltip=%s];\n", dotID(e.From), dotID(e.To), dotID(verdictColor[e.Verdict]), verdictStyle[e.Verdict], dotID(e.Verdict+": "+e.Label))
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func countsText(s report.Summary) string {
	var parts []string
	for _, c := range s.Severities {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Severity))
	}
	return fmt.Sprintf("%d findings (%s)", s.Total, strings.Join(parts, ", "))
}

func orColor(severity, def string) string {
	if c, ok := severityHex[severity]; ok {
		return c
	}
	return def
}

func penwidth(severity string) string {
	if severity == "" {
		return ""
	}
	return ", penwidth=2"
}

// dotID quotes a string as a DOT ID: backslashes and quotes escaped,
// newlines as DOT's centred line breaks.
func dotID(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return `"` + s + `"`
}
