package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
)

// ReachText writes one line per connection: `src => dst : TCP 80,443; UDP
// 53` or `All Connections`; then self traffic and notes, marked so that a
// reader of the connections never mistakes them for pairs.
func ReachText(w io.Writer, r *engine.Result) error {
	for _, c := range r.Connections {
		if _, err := fmt.Fprintf(w, "%s => %s : %s\n", c.Src, c.Dst, c.Allow); err != nil {
			return err
		}
	}
	if len(r.Self) > 0 {
		fmt.Fprintf(w, "\n# A pod to itself (undefined upstream; most CNIs allow it whatever the policies say). What the policies allow:\n")
		for _, c := range r.Self {
			fmt.Fprintf(w, "# %s => itself : %s\n", c.Src, c.Allow)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "# note: %s\n", n)
		}
	}
	return nil
}

// ReachCSV writes src,dst,allow rows with a header.
func ReachCSV(w io.Writer, r *engine.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"src", "dst", "allow"}); err != nil {
		return err
	}
	for _, c := range r.Connections {
		if err := cw.Write([]string{c.Src, c.Dst, c.Allow.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReachMarkdown writes the connections as a Markdown table.
func ReachMarkdown(w io.Writer, r *engine.Result) error {
	fmt.Fprintln(w, "| source | destination | allowed |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, c := range r.Connections {
		fmt.Fprintf(w, "| %s | %s | %s |\n", mdEscape(c.Src), mdEscape(c.Dst), mdEscape(c.Allow.String()))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\n> %s\n", mdEscape(n))
	}
	return nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// ReachDot writes a Graphviz digraph: namespaces as clusters, external
// ranges as boxes, edges labelled with what they allow.
func ReachDot(w io.Writer, r *engine.Result) error {
	fmt.Fprintln(w, "digraph reach {")
	fmt.Fprintln(w, `  rankdir=LR; node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];`)
	byNS := map[string][]*engine.Peer{}
	var namespaces []string
	for _, p := range r.Peers {
		if p.Kind == engine.KindExternal {
			fmt.Fprintf(w, "  %q [shape=box, style=dashed, label=%q];\n", p.ID, wrapCIDRs(p.CIDRs))
			continue
		}
		if _, ok := byNS[p.Namespace]; !ok {
			namespaces = append(namespaces, p.Namespace)
		}
		byNS[p.Namespace] = append(byNS[p.Namespace], p)
	}
	for i, ns := range namespaces {
		fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%q;\n", i, ns)
		for _, p := range byNS[ns] {
			fmt.Fprintf(w, "    %q [label=%q];\n", p.ID, p.Kind+"\n"+p.Name)
		}
		fmt.Fprintln(w, "  }")
	}
	for _, c := range r.Connections {
		fmt.Fprintf(w, "  %q -> %q [label=%q];\n", c.Src, c.Dst, c.Allow.String())
	}
	fmt.Fprintln(w, "}")
	return nil
}

// wrapCIDRs keeps box labels of large ranges readable.
func wrapCIDRs(cidrs []string) string {
	const most = 6
	if len(cidrs) > most {
		return strings.Join(cidrs[:most], "\n") + fmt.Sprintf("\n(+%d more)", len(cidrs)-most)
	}
	return strings.Join(cidrs, "\n")
}
