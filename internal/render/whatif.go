package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/whatif"
)

// WhatifText writes what would break, for people.
func WhatifText(w io.Writer, r *whatif.Report) error {
	broken := r.Counts[whatif.Breaks]
	switch {
	case len(r.Broken) == 0 && (len(r.Ambiguous) > 0 || len(r.Unknown) > 0):
		fmt.Fprintf(w, "No flow certainly breaks, but some may (below).\n")
	case len(r.Broken) == 0:
		fmt.Fprintf(w, "Nothing would break: every observed flow allowed today is allowed by the proposal.\n")
	default:
		fmt.Fprintf(w, "%s would break (%s), in %s:\n", counted(broken.Flows, "flow", "flows"), counted(int(broken.Records), "record", "records"), counted(len(r.Broken), "workload-destination pair", "workload-destination pairs"))
	}
	for _, g := range r.Broken {
		fmt.Fprintf(w, "\n%s -> %s  (%s)\n", g.Source, g.Destination, counted(int(g.Records), "record", "records"))
		for _, f := range g.Flows {
			fmt.Fprintf(w, "  %s  %s\n", flowWhat(f), counted(int(f.Records), "record", "records"))
			fmt.Fprintf(w, "    e.g. %s (%s)\n", f.Example, f.First)
			if f.Ambiguous != "" {
				fmt.Fprintf(w, "    ambiguous: %s\n", f.Ambiguous)
			}
			if f.Direction != "" {
				fmt.Fprintf(w, "    opened by: %s\n", f.Direction)
			}
			for _, d := range f.Proposed.Denials {
				fmt.Fprintf(w, "    denied by %s %s of %s: %s\n", d.Layer, d.Direction, d.Of, strings.Join(d.By, "; "))
			}
			for _, n := range f.Proposed.Notes {
				fmt.Fprintf(w, "    note: %s\n", n)
			}
		}
	}
	if len(r.Ambiguous) > 0 {
		t := r.Counts[whatif.Ambiguous]
		fmt.Fprintf(w, "\n%s would break depending on which side opened the connection, which the log does not say (%s):\n", counted(t.Flows, "flow", "flows"), counted(int(t.Records), "record", "records"))
		for _, f := range r.Ambiguous {
			fmt.Fprintf(w, "\n%s -> %s  %s  %s\n", f.Source, f.Destination, flowWhat(f), counted(int(f.Records), "record", "records"))
			fmt.Fprintf(w, "    e.g. %s (%s)\n", f.Example, f.First)
			fmt.Fprintf(w, "    ambiguous: %s\n", f.Ambiguous)
			for _, d := range f.Proposed.Denials {
				fmt.Fprintf(w, "    denied by %s %s of %s: %s\n", d.Layer, d.Direction, d.Of, strings.Join(d.By, "; "))
			}
		}
	}
	if len(r.Unknown) > 0 {
		t := r.Counts[whatif.Unknown]
		fmt.Fprintf(w, "\n%s may break: the proposal's verdict depends on policies ringfence does not evaluate or could not read (%s):\n", counted(t.Flows, "flow", "flows"), counted(int(t.Records), "record", "records"))
		for _, f := range r.Unknown {
			fmt.Fprintf(w, "\n%s -> %s  %s  %s\n", f.Source, f.Destination, flowWhat(f), counted(int(f.Records), "record", "records"))
			fmt.Fprintf(w, "    e.g. %s (%s)\n", f.Example, f.First)
			for _, why := range f.Proposed.Reasons {
				fmt.Fprintf(w, "    unknown: %s\n", why)
			}
		}
	}
	fmt.Fprintf(w, "\nToday: %s. Proposal: %s.\n", r.Today, r.Proposed)
	from := strings.Join(r.Inputs, ", ")
	if r.Files > len(r.Inputs) {
		from += fmt.Sprintf(" (%s)", counted(r.Files, "file", "files"))
	}
	fmt.Fprintf(w, "Read %s from %s: %s, %s.\n", counted(int(r.Records), "record", "records"), from,
		counted(r.Distinct, "distinct flow", "distinct flows"), counted(int(r.Replies), "reply record judged with its connection", "reply records judged with their connections"))
	for _, st := range []string{whatif.Breaks, whatif.Ambiguous, whatif.Unknown, whatif.Kept, whatif.DeniedToday, whatif.Opened, whatif.NotJudged} {
		t := r.Counts[st]
		if (st == whatif.Ambiguous || st == whatif.Unknown) && t.Flows == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-13s %s (%s)\n", st+":", counted(t.Flows, "flow", "flows"), counted(int(t.Records), "record", "records"))
	}
	fmt.Fprintf(w, "Which side opened each connection, told by:\n")
	for _, c := range r.Classified {
		fmt.Fprintf(w, "  %s: %s\n", c.Rule, counted(int(c.Records), "record", "records"))
	}
	for _, f := range r.NotJudged {
		fmt.Fprintf(w, "  not judged: %s -> %s %s, %s: %s\n", f.Source, f.Destination, flowWhat(f), counted(int(f.Records), "record", "records"), f.Reason)
	}
	for _, sk := range r.Skipped {
		fmt.Fprintf(w, "  skipped: %s %s, first at %s\n", counted(int(sk.Count), "record", "records"), sk.Reason, sk.First)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}

// flowWhat is the protocol, port, Service and addresses of a flow.
func flowWhat(f whatif.Flow) string {
	s := f.Protocol
	if f.Port != 0 {
		s += fmt.Sprintf(" %d", f.Port)
	}
	if f.Service != "" {
		s += " via Service " + f.Service
	}
	if len(f.Addresses) > 0 {
		s += " to " + strings.Join(f.Addresses, ",")
	}
	return s
}

// WhatifMarkdown writes what would break as a Markdown pull-request
// comment.
func WhatifMarkdown(w io.Writer, r *whatif.Report) error {
	broken := r.Counts[whatif.Breaks]
	fmt.Fprintf(w, "## ringfence whatif\n\n")
	switch {
	case len(r.Broken) == 0 && len(r.Ambiguous) > 0:
		fmt.Fprintf(w, "No flow certainly breaks, but %d may: the log does not say which side opened them (below).\n\n", len(r.Ambiguous))
	case len(r.Broken) == 0:
		fmt.Fprintf(w, "Nothing would break: every observed flow allowed today is allowed by the proposal.\n\n")
	default:
		fmt.Fprintf(w, "**%s would break** (%s).\n\n", counted(broken.Flows, "flow", "flows"), counted(int(broken.Records), "record", "records"))
		fmt.Fprintf(w, "| workload | destination | flow | records | denied by | example |\n|---|---|---|---|---|---|\n")
		for _, g := range r.Broken {
			for _, f := range g.Flows {
				var by []string
				for _, d := range f.Proposed.Denials {
					by = append(by, fmt.Sprintf("%s %s: %s", d.Layer, d.Direction, strings.Join(d.By, "; ")))
				}
				if f.Ambiguous != "" {
					by = append(by, "ambiguous: "+f.Ambiguous)
				}
				fmt.Fprintf(w, "| `%s` | `%s` | %s | %d | %s | `%s` (%s) |\n", g.Source, g.Destination, mdEscape(flowWhat(f)), f.Records, mdEscape(strings.Join(by, "<br>")), f.Example, mdEscape(f.First))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Today: %s. Proposal: %s. %s read, %s.\n\n", r.Today, r.Proposed, counted(int(r.Records), "record", "records"), counted(r.Distinct, "distinct flow", "distinct flows"))
	fmt.Fprintf(w, "| status | flows | records |\n|---|---|---|\n")
	statuses := []string{whatif.Breaks, whatif.Ambiguous, whatif.Kept, whatif.DeniedToday, whatif.Opened, whatif.NotJudged}
	for _, st := range statuses {
		t := r.Counts[st]
		if st == whatif.Ambiguous && t.Flows == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d |\n", st, t.Flows, t.Records)
	}
	for _, f := range r.Ambiguous {
		fmt.Fprintf(w, "\n- ambiguous: `%s` -> `%s` %s, %s: %s (e.g. `%s`, %s)", f.Source, f.Destination, mdEscape(flowWhat(f)), counted(int(f.Records), "record", "records"), mdEscape(f.Ambiguous), f.Example, mdEscape(f.First))
	}
	if len(r.Ambiguous) > 0 {
		fmt.Fprintln(w)
	}
	if len(r.Classified) > 0 {
		fmt.Fprintf(w, "\nWhich side opened each connection, told by: ")
		var parts []string
		for _, c := range r.Classified {
			parts = append(parts, fmt.Sprintf("%s (%d)", mdEscape(c.Rule), c.Records))
		}
		fmt.Fprintf(w, "%s.\n", strings.Join(parts, "; "))
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w)
		for _, sk := range r.Skipped {
			fmt.Fprintf(w, "- skipped %s: %s (first at %s)\n", counted(int(sk.Count), "record", "records"), sk.Reason, sk.First)
		}
	}
	return nil
}

// counted is n with its noun, e.g. "1 flow", "3 flows".
func counted(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

// LearnText writes what learn would add, and why.
func LearnText(w io.Writer, l *whatif.Learned) error {
	if len(l.Additions) == 0 {
		fmt.Fprintf(w, "Nothing to add: the inputs allow every observed flow.\n")
	}
	for _, a := range l.Additions {
		fmt.Fprintf(w, "%s %s to %s on %s (%s, %s)\n", a.Workload, a.Direction, a.Peer, strings.Join(a.Ports, ", "), counted(a.Flows, "flow", "flows"), counted(int(a.Records), "record", "records"))
		if len(a.CIDRs) > 0 {
			fmt.Fprintf(w, "  ipBlocks: %s\n", strings.Join(a.CIDRs, ", "))
		}
		for _, why := range a.Why {
			fmt.Fprintf(w, "  because %s\n", why)
		}
		if a.Warning != "" {
			fmt.Fprintf(w, "  warning: %s\n", a.Warning)
		}
	}
	for _, r := range l.Refused {
		fmt.Fprintf(w, "not learned: %s\n", r)
	}
	for _, r := range l.Unresolved {
		fmt.Fprintf(w, "still broken with these additions: %s\n", r)
	}
	return nil
}
