package render

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/model"
)

// SARIF 2.1.0, as much of it as code scanning reads: the rules with their
// help, and results pointing at the lines of the inputs.

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// sarifLevel maps severities to SARIF levels; GitHub ranks security alerts
// by the security-severity property.
func sarifLevel(s check.Severity) (level, securitySeverity string) {
	switch s {
	case check.Critical:
		return "error", "9.5"
	case check.High:
		return "error", "8.0"
	case check.Medium:
		return "warning", "5.5"
	case check.Low:
		return "note", "3.0"
	}
	return "note", "1.0"
}

// AuditSARIF writes the findings as a SARIF 2.1.0 log. Findings from a live
// cluster have no file: they carry no location.
func AuditSARIF(w io.Writer, r *AuditReport, rules []*check.Rule, version string) error {
	driver := sarifDriver{Name: "ringfence", InformationURI: "https://github.com/ringfence/ringfence", Version: version}
	index := map[string]int{}
	for i, rule := range rules {
		level, sev := sarifLevel(rule.Severity)
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: rule.ID, Name: rule.ID,
			ShortDescription:     sarifText{Text: rule.Title},
			FullDescription:      sarifText{Text: rule.Rationale},
			Help:                 sarifText{Text: rule.Remediation, Markdown: fmt.Sprintf("**%s**\n\n%s\n\n**Remediation.** %s", rule.Title, rule.Rationale, rule.Remediation)},
			DefaultConfiguration: sarifConfig{Level: level},
			Properties:           map[string]any{"security-severity": sev, "tags": []string{"security", "network"}},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	seen := map[string]int{}
	for _, f := range r.Findings {
		level, _ := sarifLevel(f.Severity)
		text := possibleMark(f) + f.Message
		for _, a := range f.Assumptions {
			text += "\n- assumes: " + a
		}
		for _, p := range f.Path {
			text += "\n- " + p
		}
		if len(f.Affected) > 0 {
			text += fmt.Sprintf("\nAffects %d:", len(f.Affected))
			for _, a := range f.Affected {
				text += "\n- " + affectedText(a)
			}
		}
		text += "\nFix: " + f.Remediation
		// One result per location: the cause, then each object it
		// affects, so code scanning shows the alert where each is
		// written. The fingerprint names the rule, the cause and the
		// location's object, never a line, so alerts survive edits.
		cause := f.Rule + ":" + f.Object.String()
		if f.Key != "" {
			cause += ":" + f.Key
		}
		type location struct {
			object string
			src    model.Source
			text   string
		}
		locs := []location{{object: f.Object.String(), src: f.Source, text: text}}
		// A workload listed once per role (a job's master and workers)
		// is one location: its result gives each role's detail.
		details := map[model.Ref][]string{}
		var order []check.Affected
		for _, a := range f.Affected {
			if a.Object == f.Object {
				continue
			}
			if _, ok := details[a.Object]; !ok {
				order = append(order, a)
			}
			details[a.Object] = append(details[a.Object], a.Detail)
		}
		for _, a := range order {
			t := fmt.Sprintf("%s%s: %s affected.", possibleMark(f), f.Message, a.Object)
			for _, d := range details[a.Object] {
				if d != "" {
					t += " " + d
				}
			}
			t += fmt.Sprintf("\nCause: %s (%s).\nFix: %s", f.Object, f.Source, f.Remediation)
			locs = append(locs, location{object: a.Object.String(), src: a.Source, text: t})
		}
		for _, l := range locs {
			fp := cause + ":" + l.object
			seen[fp]++
			if n := seen[fp]; n > 1 {
				fp += fmt.Sprintf("#%d", n)
			}
			res := sarifResult{
				RuleID: f.Rule, RuleIndex: index[f.Rule], Level: level, Message: sarifText{Text: l.text},
				PartialFingerprints: map[string]string{"ringfence/v2": fp},
				Properties:          map[string]any{"confidence": string(f.Confidence)},
			}
			if f.Suppressed != nil {
				kind := "external"
				if strings.HasPrefix(f.Suppressed.By, "annotation") {
					kind = "inSource"
				}
				res.Suppressions = []sarifSuppression{{Kind: kind, Justification: f.Suppressed.Reason}}
			}
			if l.src.File != "" && l.src.File != "-" {
				loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(l.src.File)}}}
				if l.src.Line > 0 {
					loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.src.Line}
				}
				res.Locations = []sarifLocation{loc}
			}
			run.Results = append(run.Results, res)
		}
	}
	return JSON(w, sarifLog{Version: "2.1.0", Schema: "https://json.schemastore.org/sarif-2.1.0.json", Runs: []sarifRun{run}})
}
