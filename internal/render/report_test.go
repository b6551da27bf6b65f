package render

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/report"
)

// hostile is a report whose strings try to break out of the page: a
// script end tag, HTML, quotes, line separators.
func hostile() *report.Report {
	evil := `</script><script>alert(1)</script><!-- "quoted" & 'single' ` + "\u2028\u2029"
	return &report.Report{
		Title:           "ringfence report",
		Inputs:          []string{evil},
		RangesSyncToken: "1",
		Summary:         report.Summary{Severities: []report.Count{{Severity: "critical", Count: 1}}, Total: 1},
		Headlines:       []report.Headline{{Severity: "critical", Text: evil, Subject: evil, Claim: evil, Nodes: []string{}}},
		Namespaces:      []string{evil},
		Findings: []report.Finding{{Finding: check.Finding{Rule: "RF001", Severity: check.Critical, Object: model.Ref{Kind: "Deployment", Namespace: evil, Name: evil},
			Message: evil, Path: []string{evil}, Remediation: evil}, Namespace: evil, Nodes: []string{"workload:" + evil}}},
		Nodes: []report.Node{{ID: "workload:" + evil, Lane: report.LaneWorkload, Label: evil, Kind: "Deployment", Namespace: evil}},
		Edges: []report.Edge{},
	}
}

// No value of the model can end the JSON block or inject markup, and the
// block reads back as the model.
func TestReportHTMLEscapes(t *testing.T) {
	r := hostile()
	var out bytes.Buffer
	if err := ReportHTML(&out, r, "test"); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	if n := strings.Count(page, "</script>"); n != 2 {
		t.Errorf("%d </script> tags, want 2 (the data block's and the script's)", n)
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<!-- \"quoted") {
		t.Error("a model string reached the page unescaped")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no data block")
	}
	back := readPack(t, []byte(m[1]))
	if back.Findings[0].Message != r.Findings[0].Message || back.Nodes[0].Label != r.Nodes[0].Label {
		t.Errorf("the data block does not read back: %q", back.Findings[0].Message)
	}
}

// The page allows only its own inline style and script, by hash, and
// fetches nothing: no URL in any src or href, no @import, no url().
func TestReportHTMLSelfContained(t *testing.T) {
	var out bytes.Buffer
	if err := ReportHTML(&out, hostile(), "test"); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	csp := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := html.UnescapeString(csp[1])
	for _, want := range []string{"default-src 'none'", "style-src '" + hash(reportCSS) + "'", "script-src '" + hash(reportJS) + "'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("CSP %q lacks %q", policy, want)
		}
	}
	if !strings.Contains(page, "<style>"+reportCSS+"</style>") || !strings.Contains(page, "<script>"+reportJS+"</script>") {
		t.Error("the inline style or script differs from what the CSP hashes")
	}
	for _, bad := range []string{"src=", "href=", "@import", "url(", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(page, "http://www.w3.org/2000/svg", ""), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
}

func TestReportDOTQuotes(t *testing.T) {
	var out bytes.Buffer
	if err := ReportDOT(&out, hostile()); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		// Every quote inside an ID is escaped: unescaped quotes pair up.
		if strings.Count(strings.ReplaceAll(line, `\"`, ""), `"`)%2 != 0 {
			t.Errorf("unbalanced quotes: %s", line)
		}
	}
}
