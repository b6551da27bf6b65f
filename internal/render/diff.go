package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/diff"
	"github.com/ringfence/ringfence/internal/model"
)

// DiffText writes the change for a terminal: a verdict line, then each
// changed connection with the layers and the causes, exposures, openings
// to unknown namespaces and findings.
func DiffText(w io.Writer, d *diff.Diff) error {
	fmt.Fprintln(w, diffVerdict(d))
	if len(d.Connections) > 0 {
		fmt.Fprintf(w, "\nConnections (%d added, %d removed, %d changed):\n", d.Summary.ConnectionsAdded, d.Summary.ConnectionsRemoved, d.Summary.ConnectionsChanged)
		for _, c := range d.Connections {
			fmt.Fprintf(w, "%s %s => %s : %s%s\n", mark(c.Change), c.Src, c.Dst, portsChange(c), selfNote(c))
			for _, l := range c.Layers {
				fmt.Fprintf(w, "    %s: %s -> %s\n", l.Layer, l.Before, l.After)
			}
			for _, cause := range c.Causes {
				fmt.Fprintf(w, "    %s\n", cause)
			}
		}
	}
	if len(d.Exposures) > 0 {
		fmt.Fprintf(w, "\nExposures (%d added, %d removed, %d changed):\n", d.Summary.ExposuresAdded, d.Summary.ExposuresRemoved, d.Summary.ExposuresChanged)
		for _, e := range d.Exposures {
			fmt.Fprintf(w, "%s %s (%s) -> %s: %s\n", mark(e.Change), e.Entry, e.Source, strings.Join(e.Backends, ","), exposureVerdict(e))
			for _, h := range e.Hops {
				fmt.Fprintf(w, "    %s\n", h)
			}
		}
	}
	if len(d.Unseen) > 0 {
		fmt.Fprintf(w, "\nOpen to namespaces not in the inputs (%d added, %d removed):\n", d.Summary.UnknownPeersAdded, d.Summary.UnknownPeersRemoved)
		for _, u := range d.Unseen {
			fmt.Fprintf(w, "%s %s\n", mark(u.Change), u.Opening)
		}
	}
	if len(d.Findings) > 0 {
		fmt.Fprintf(w, "\nFindings (%d introduced, %d resolved, %d changed):\n", d.Summary.FindingsIntroduced, d.Summary.FindingsResolved, d.Summary.FindingsChanged)
		for _, f := range d.Findings {
			sup := ""
			if f.Suppressed != nil {
				sup = " (suppressed: " + f.Suppressed.Reason + ")"
			}
			fmt.Fprintf(w, "%s %s %s %s (%s): %s%s\n", mark(f.Change), f.Rule, f.Severity, f.Object, f.Source, f.Message, sup)
			if f.Was != "" {
				fmt.Fprintf(w, "    was: %s\n", f.Was)
			}
		}
	}
	return nil
}

func selfNote(c diff.Connection) string {
	if c.Self {
		return " (a pod to itself: undefined upstream, most CNIs allow it whatever the policies say)"
	}
	return ""
}

func mark(change string) string {
	switch change {
	case diff.Added:
		return "+"
	case diff.Removed:
		return "-"
	}
	return "~"
}

func diffVerdict(d *diff.Diff) string {
	if d.Opens {
		return "This change OPENS access: " + summaryLine(d)
	}
	if summaryLine(d) == "" {
		return "No change in who can reach whom, exposures or findings."
	}
	return "This change opens nothing: " + summaryLine(d)
}

func summaryLine(d *diff.Diff) string {
	s := d.Summary
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.ConnectionsAdded, "connections added")
	add(s.ConnectionsRemoved, "connections removed")
	add(s.ConnectionsChanged, "connections changed")
	add(s.ExposuresAdded, "exposures added")
	add(s.ExposuresRemoved, "exposures removed")
	add(s.ExposuresChanged, "exposures changed")
	add(s.UnknownPeersAdded, "openings to unknown namespaces added")
	add(s.UnknownPeersRemoved, "openings to unknown namespaces removed")
	add(s.FindingsIntroduced, "findings introduced")
	add(s.FindingsResolved, "findings resolved")
	add(s.FindingsChanged, "findings changed")
	return strings.Join(parts, ", ")
}

// portsChange says what a connection gained and lost.
func portsChange(c diff.Connection) string {
	switch c.Change {
	case diff.Added:
		return c.After.String()
	case diff.Removed:
		return "was " + c.Before.String()
	}
	var parts []string
	if !c.Opened.IsEmpty() {
		parts = append(parts, "opens "+c.Opened.String())
	}
	if !c.Closed.IsEmpty() {
		parts = append(parts, "closes "+c.Closed.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "same ports, a layer's verdict changed")
	}
	return strings.Join(parts, ", ") + " (was " + c.Before.String() + ", now " + c.After.String() + ")"
}

func exposureVerdict(e diff.Exposure) string {
	switch {
	case e.Change == diff.Removed:
		return "removed"
	case e.Before != nil && e.Before.Internet != e.Internet && e.Internet:
		return "now REACHABLE FROM THE INTERNET"
	case e.Before != nil && e.Before.Internet != e.Internet:
		return "no longer reachable from the internet"
	case e.Internet:
		return "REACHABLE FROM THE INTERNET"
	}
	return "not reachable from the internet"
}

// DiffMarkdown writes a pull-request comment: the verdict and a summary
// table first, each section's details folded.
func DiffMarkdown(w io.Writer, d *diff.Diff) error {
	icon := "✅"
	if d.Opens {
		icon = "⚠️"
	}
	fmt.Fprintf(w, "### ringfence diff\n\n%s %s\n\n", icon, mdEscape(diffVerdict(d)))
	s := d.Summary
	fmt.Fprintln(w, "| | added | removed | changed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	fmt.Fprintf(w, "| connections | %d | %d | %d |\n", s.ConnectionsAdded, s.ConnectionsRemoved, s.ConnectionsChanged)
	fmt.Fprintf(w, "| exposures from outside | %d | %d | %d |\n", s.ExposuresAdded, s.ExposuresRemoved, s.ExposuresChanged)
	fmt.Fprintf(w, "| openings to unknown namespaces | %d | %d | |\n", s.UnknownPeersAdded, s.UnknownPeersRemoved)
	fmt.Fprintf(w, "| audit findings | %d | %d | %d |\n", s.FindingsIntroduced, s.FindingsResolved, s.FindingsChanged)
	if len(d.Connections) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Connections (%d)</summary>\n\n", len(d.Connections))
		fmt.Fprintln(w, "| | source | destination | ports | why |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, c := range d.Connections {
			var why []string
			for _, l := range c.Layers {
				why = append(why, fmt.Sprintf("%s: %s → %s", l.Layer, l.Before, l.After))
			}
			why = append(why, c.Causes...)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mark(c.Change), mdCell(c.Src), mdCell(c.Dst), mdCell(portsChange(c)+selfNote(c)), mdCell(strings.Join(why, "\n")))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	if len(d.Exposures) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Exposures (%d)</summary>\n\n", len(d.Exposures))
		fmt.Fprintln(w, "| | entry | backends | verdict | what changed | source |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, e := range d.Exposures {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mark(e.Change), mdCell(e.Entry), mdCell(strings.Join(e.Backends, ", ")), mdCell(exposureVerdict(e)), mdCell(strings.Join(e.Hops, "\n")), mdCell(e.Source.String()))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	if len(d.Unseen) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Openings to namespaces not in the inputs (%d)</summary>\n\n", len(d.Unseen))
		for _, u := range d.Unseen {
			fmt.Fprintf(w, "- %s %s\n", mark(u.Change), mdEscape(u.Opening.String()))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	if len(d.Findings) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Audit findings (%d)</summary>\n\n", len(d.Findings))
		fmt.Fprintln(w, "| | rule | severity | object | message | source |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, f := range d.Findings {
			msg := f.Message
			if f.Was != "" {
				msg += "\n(was: " + f.Was + ")"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mark(f.Change), f.Rule, f.Severity, mdCell(f.Object.String()), mdCell(msg), mdCell(f.Source.String()))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	return nil
}

// mdCell keeps a value inside one table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdEscape(s), "\n", "<br>")
}

// DiffRule is the SARIF rule under which a diff reports what a change
// opens; introduced findings keep their own rules.
var DiffRule = &check.Rule{
	ID: "RFDIFF", Title: "The change opens network access", Severity: check.Medium,
	Rationale:   "A connection, port, exposure from outside the cluster or opening to namespaces not in the inputs exists after the change and not before.",
	Remediation: "Check that the change means to open it; if not, tighten the NetworkPolicy or security group rule the explanation names.",
}

// DiffSARIF writes the findings the change introduces, and one result per
// connection, exposure or opening it adds, as a SARIF 2.1.0 log.
func DiffSARIF(w io.Writer, d *diff.Diff, rules []*check.Rule, version string) error {
	var findings []check.Finding
	for _, f := range d.Findings {
		if f.Change == diff.Added {
			findings = append(findings, f.Finding)
		}
	}
	opened := func(obj, msg string, src model.Source) {
		findings = append(findings, check.Finding{Rule: DiffRule.ID, Severity: DiffRule.Severity, Object: model.Ref{Kind: "Connection", Name: obj}, Source: src, Message: msg, Remediation: DiffRule.Remediation})
	}
	for _, c := range d.Connections {
		if !c.Opened.IsEmpty() {
			// The rule or policy that opened it: the head's first cause
			// with a position (a removed policy's is in the base).
			var at model.Source
			if len(c.Sources) > 0 {
				at = c.Sources[0]
			}
			opened(c.Src+" => "+c.Dst, fmt.Sprintf("%s => %s: opens %s\n%s", c.Src, c.Dst, c.Opened, strings.Join(c.Causes, "\n")), at)
		}
	}
	for _, e := range d.Exposures {
		if e.Opens {
			opened(e.Entry, fmt.Sprintf("%s -> %s: %s", e.Entry, strings.Join(e.Backends, ","), exposureVerdict(e)), e.Source)
		}
	}
	for _, u := range d.Unseen {
		if u.Change == diff.Added {
			opened(u.Workload, u.Opening.String(), model.Source{})
		}
	}
	return AuditSARIF(w, NewAuditReport(findings, ""), append(append([]*check.Rule{}, rules...), DiffRule), version)
}
