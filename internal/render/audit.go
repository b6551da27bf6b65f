package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/ranges"
)

// AuditReport is the stable shape of `ringfence audit -o json`.
type AuditReport struct {
	Findings []check.Finding `json:"findings"`
	Summary  AuditSummary    `json:"summary"`
	// RangesSyncToken is the AWS ip-ranges publication ipBlocks were
	// compared with.
	RangesSyncToken string `json:"rangesSyncToken"`
	// Ranges says which publication that is and how old.
	Ranges *RangesAge `json:"ranges,omitempty"`
	// Verbose lists suppressed findings in the table and Markdown.
	Verbose bool `json:"-"`
	// Color marks severities with ANSI colours (on a terminal only).
	Color bool `json:"-"`
}

var severityColor = map[check.Severity]string{
	check.Critical: "\033[1;31m", check.High: "\033[31m", check.Medium: "\033[33m", check.Low: "\033[36m", check.Info: "\033[2m",
}

// AuditSummary counts findings by severity.
type AuditSummary struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
	Total    int `json:"total"`
	// Suppressed counts the findings an annotation or the config accepts;
	// they are not in the other counts.
	Suppressed int `json:"suppressed"`
}

// StaleRangesDays is the age past which the audit warns that the AWS
// ip-ranges it compares with are old: AWS publishes several times a week.
const StaleRangesDays = 30

// RangesAge is the AWS ip-ranges publication an audit used, and its age.
type RangesAge struct {
	Source    string `json:"source"`
	SyncToken string `json:"syncToken"`
	// Created is the publication's createDate (UTC, RFC 3339).
	Created string `json:"created"`
	AgeDays int    `json:"ageDays"`
	// Warning is set when the publication is older than StaleRangesDays.
	Warning string `json:"warning,omitempty"`
}

// NewRangesAge says how old a publication is at now.
func NewRangesAge(d *ranges.Document, now time.Time) *RangesAge {
	age := int(now.Sub(d.Created).Hours() / 24)
	r := &RangesAge{Source: d.Source, SyncToken: d.SyncToken, Created: d.Created.UTC().Format(time.RFC3339), AgeDays: age}
	if age > StaleRangesDays {
		r.Warning = fmt.Sprintf("the AWS ip-ranges publication is %d days old (over %d): ipBlock checks may miss ranges AWS added since; run ringfence ranges refresh, or pass --ranges-file with a current ip-ranges.json", age, StaleRangesDays)
	}
	return r
}

func (r *RangesAge) String() string {
	return fmt.Sprintf("AWS ip-ranges: %s, syncToken %s, published %s (%d days ago)", r.Source, r.SyncToken, r.Created[:10], r.AgeDays)
}

// header writes the publication line, and its warning when it is old.
func (r *AuditReport) header(w io.Writer, prefix string) {
	if r.Ranges == nil {
		return
	}
	fmt.Fprintf(w, "%s%s\n", prefix, r.Ranges)
	if r.Ranges.Warning != "" {
		fmt.Fprintf(w, "%sWARNING: %s\n", prefix, r.Ranges.Warning)
	}
}

// NewAuditReport counts the findings.
func NewAuditReport(findings []check.Finding, syncToken string) *AuditReport {
	r := &AuditReport{Findings: findings, RangesSyncToken: syncToken}
	if r.Findings == nil {
		r.Findings = []check.Finding{}
	}
	for _, f := range findings {
		if f.Suppressed != nil {
			r.Summary.Suppressed++
			continue
		}
		switch f.Severity {
		case check.Critical:
			r.Summary.Critical++
		case check.High:
			r.Summary.High++
		case check.Medium:
			r.Summary.Medium++
		case check.Low:
			r.Summary.Low++
		default:
			r.Summary.Info++
		}
		r.Summary.Total++
	}
	return r
}

func (s AuditSummary) String() string {
	out := fmt.Sprintf("%d findings: %d critical, %d high, %d medium, %d low, %d info", s.Total, s.Critical, s.High, s.Medium, s.Low, s.Info)
	if s.Suppressed > 0 {
		out += fmt.Sprintf(" (%d suppressed)", s.Suppressed)
	}
	return out
}

// AuditTable writes the findings grouped by severity, then a summary line.
// A finding whose cause puts several objects at risk is written once, with
// the objects it affects.
func AuditTable(w io.Writer, r *AuditReport) error {
	r.header(w, "")
	var last check.Severity = -1
	for _, f := range r.shown() {
		if f.Severity != last {
			title := strings.ToUpper(f.Severity.String())
			if r.Color {
				title = severityColor[f.Severity] + title + "\033[0m"
			}
			fmt.Fprintf(w, "\n%s\n", title)
			last = f.Severity
		}
		fmt.Fprintf(w, "  %s  %s%s\n", f.Rule, possibleMark(f), f.Message)
		fmt.Fprintf(w, "         object: %s (%s)\n", f.Object, f.Source)
		for _, a := range f.Assumptions {
			fmt.Fprintf(w, "         assumes: %s\n", a)
		}
		for _, p := range f.Path {
			fmt.Fprintf(w, "         path:   %s\n", p)
		}
		for _, a := range f.Affected {
			fmt.Fprintf(w, "         affects: %s\n", affectedText(a))
		}
		fmt.Fprintf(w, "         fix:    %s\n", f.Remediation)
		if f.Suppressed != nil {
			fmt.Fprintf(w, "         SUPPRESSED by %s: %s\n", f.Suppressed.By, f.Suppressed.Reason)
		}
	}
	_, err := fmt.Fprintf(w, "\n%s (AWS ranges syncToken %s)\n", r.Summary, r.RangesSyncToken)
	return err
}

// possibleMark prefixes the message of a finding that rests on an
// assumption.
func possibleMark(f check.Finding) string {
	if f.Certain() {
		return ""
	}
	return "(possible) "
}

func affectedText(a check.Affected) string {
	s := fmt.Sprintf("%s (%s)", a.Object, a.Source)
	if a.Detail != "" {
		s += ": " + a.Detail
	}
	return s
}

// AuditMarkdown writes the findings for a pull-request comment.
func AuditMarkdown(w io.Writer, r *AuditReport) error {
	fmt.Fprintf(w, "### ringfence audit: %s\n\n", r.Summary)
	if r.Ranges != nil {
		r.header(w, "> ")
		fmt.Fprintln(w)
	}
	if len(r.shown()) == 0 {
		_, err := fmt.Fprintln(w, "No findings.")
		return err
	}
	fmt.Fprintln(w, "| severity | confidence | rule | object | finding | affects | where |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, f := range r.shown() {
		fmt.Fprintf(w, "| %s | %s | %s | `%s` | %s | %s | `%s` |\n", f.Severity, f.Confidence, f.Rule, f.Object, mdEscape(f.Message), affectedCell(f.Affected), f.Source)
	}
	fmt.Fprintln(w, "\n<details><summary>Paths and fixes</summary>")
	for _, f := range r.shown() {
		fmt.Fprintf(w, "\n**%s** `%s`: %s\n\n", f.Rule, f.Object, mdEscape(f.Message))
		for _, a := range f.Assumptions {
			fmt.Fprintf(w, "- assumes: %s\n", mdEscape(a))
		}
		for _, p := range f.Path {
			fmt.Fprintf(w, "- %s\n", mdEscape(p))
		}
		for _, a := range f.Affected {
			fmt.Fprintf(w, "- affects %s\n", mdEscape(affectedText(a)))
		}
		fmt.Fprintf(w, "\nFix: %s\n", mdEscape(f.Remediation))
	}
	_, err := fmt.Fprintln(w, "\n</details>")
	return err
}

// affectedCell lists the objects a finding affects, in a table cell.
func affectedCell(list []check.Affected) string {
	if len(list) == 0 {
		return ""
	}
	// A workload listed once per role is named once.
	var names []string
	seen := map[string]bool{}
	for _, a := range list {
		if n := "`" + a.Object.String() + "`"; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return strings.Join(names, "<br>")
}

// RulesMarkdown writes the rule catalogue (docs/rules.md).
func RulesMarkdown(w io.Writer, rules []*check.Rule) error {
	fmt.Fprintln(w, "# Audit rules")
	fmt.Fprintln(w, "\nGenerated by `ringfence rules -o markdown`; do not edit by hand.")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "\n| ID | severity | title |")
	fmt.Fprintln(tw, "|---|---|---|")
	for _, r := range rules {
		fmt.Fprintf(tw, "| [%s](#%s) | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Severity, mdEscape(r.Title))
	}
	tw.Flush()
	for _, r := range rules {
		fmt.Fprintf(w, "\n## %s\n\n**%s** (%s)\n\n%s\n\n**Remediation.** %s\n", r.ID, r.Title, r.Severity, r.Rationale, r.Remediation)
		for _, l := range r.Links {
			fmt.Fprintf(w, "\n- <%s>\n", l)
		}
	}
	return nil
}

// shown are the findings the table and Markdown list: the unsuppressed
// ones, and the suppressed ones too when verbose.
func (r *AuditReport) shown() []check.Finding {
	var out []check.Finding
	for _, f := range r.Findings {
		if f.Suppressed == nil || r.Verbose {
			out = append(out, f)
		}
	}
	return out
}
