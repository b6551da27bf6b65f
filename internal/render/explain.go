package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
)

// ExplainText writes an explanation for a person: the verdict first, then
// each direction with the policies and rules that decide it.
func ExplainText(w io.Writer, e *engine.Explanation) error {
	what := "any port"
	if e.Port != 0 {
		what = fmt.Sprintf("%s %d", e.Protocol, e.Port)
	}
	fmt.Fprintf(w, "%s => %s, %s: %s\n", e.From, e.To, what, strings.ToUpper(e.Verdict))
	fmt.Fprintf(w, "allowed by both directions: %s\n", e.Allowed)
	if e.SelfNote != "" {
		fmt.Fprintf(w, "note: %s\n", e.SelfNote)
	}
	direction(w, "Egress of", e.Egress, "egress")
	direction(w, "Ingress of", e.Ingress, "ingress")
	return nil
}

func direction(w io.Writer, title string, d engine.Direction, field string) {
	fmt.Fprintf(w, "\n%s %s: ", title, d.Of)
	if !d.Isolated {
		fmt.Fprintf(w, "%s\n", d.Reason)
		return
	}
	fmt.Fprintf(w, "isolated by %d %s; allows %s\n", len(d.Policies), plural(len(d.Policies), "policy", "policies"), d.Allowed)
	for _, p := range d.Policies {
		fmt.Fprintf(w, "  NetworkPolicy %s/%s (%s)\n", p.Namespace, p.Name, p.Source)
		if len(p.Rules) == 0 {
			fmt.Fprintf(w, "    no %s rules: allows nothing\n", field)
		}
		for _, r := range p.Rules {
			verdict := "does not match"
			if r.Matches {
				verdict = "matches, allows " + r.Allowed.String()
			}
			fmt.Fprintf(w, "    %s[%d] (%s): %s: %s\n", field, r.Index, r.Source, r.Peers, verdict)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
