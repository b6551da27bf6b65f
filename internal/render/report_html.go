package render

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"

	"github.com/ringfence/ringfence/internal/report"
)

// The page is one file: its style and script are embedded here and
// inlined, the report's model goes in a JSON data block, and nothing is
// fetched (the Content-Security-Policy forbids it).
var (
	//go:embed assets/report.html.tmpl
	reportTemplate string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/report.js
	reportJS string
)

var reportPage = template.Must(template.New("report").Parse(reportTemplate))

// ReportHTML writes the report as one self-contained HTML page.
func ReportHTML(w io.Writer, r *report.Report, version string) error {
	// The data block is JSON from encoding/json, which escapes <, > and &
	// in strings, so no value can end the element.
	data, err := packReport(r)
	if err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	err = reportPage.Execute(w, struct {
		Title, Version string
		CSP            string
		CSS            template.CSS
		JS             template.JS
		Report         *report.Report
		Data           template.JS
	}{
		Title:   r.Title,
		Version: version,
		// Only the inline style and script, by their hashes; no
		// connections, no images, no fonts, no frames.
		CSP:    fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'", hash(reportCSS), hash(reportJS)),
		CSS:    template.CSS(reportCSS),
		JS:     template.JS(reportJS),
		Report: r,
		Data:   template.JS(data),
	})
	if err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	return nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
