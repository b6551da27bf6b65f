package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/model"
)

func TestSuppress(t *testing.T) {
	w := &model.World{Workloads: []*model.Workload{{Meta: model.Meta{Kind: "Deployment", Namespace: "ml", Name: "a",
		Annotations: map[string]string{IgnoreAnnotation: "RF002=IMDSv2 enforced by an SCP; rf015 = needs the API"}}}}}
	findings := []Finding{
		{Rule: "RF002", Object: model.Ref{Kind: "Deployment", Namespace: "ml", Name: "a"}},
		{Rule: "RF015", Object: model.Ref{Kind: "Deployment", Namespace: "ml", Name: "a"}},
		{Rule: "RF001", Object: model.Ref{Kind: "Deployment", Namespace: "ml", Name: "a"}},
		{Rule: "RF007", Object: model.Ref{Kind: "SecurityGroup", Name: "sg-1"}},
		{Rule: "RF007", Object: model.Ref{Kind: "SecurityGroup", Name: "sg-2"}},
		{Rule: "RF003", Object: model.Ref{Kind: "Namespace", Name: "ml"}},
	}
	cfg := &Config{Suppressions: []ConfigSuppression{
		{Rule: "RF007", Object: "SecurityGroup/sg-1", Reason: "NAT firewall"},
		{Rule: "RF003", Object: "Namespace/*", Reason: "until migration", Expires: "2026-11-30"},
		{Rule: "RF001", Object: "Deployment/ml/*", Reason: "old", Expires: "2026-01-01"},
	}}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	out, expired := Suppress(findings, w, cfg, "cfg.yaml", now)
	var got []string
	for _, f := range out {
		if f.Suppressed != nil {
			got = append(got, f.Rule+" "+f.Object.String()+": "+f.Suppressed.Reason)
		}
	}
	want := []string{
		"RF002 Deployment/ml/a: IMDSv2 enforced by an SCP",
		"RF015 Deployment/ml/a: needs the API",
		"RF007 SecurityGroup/sg-1: NAT firewall",
		"RF003 Namespace/ml: until migration",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("suppressed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(expired) != 1 || !strings.Contains(expired[0], "RF001 on Deployment/ml/* expired on 2026-01-01") {
		t.Errorf("expired = %v", expired)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadConfig(write("suppressions:\n- rule: RF007\n  object: SecurityGroup/sg-1\n  reason: ok\n  expires: 2027-01-31\n")); err != nil {
		t.Errorf("valid config: %v", err)
	}
	for content, want := range map[string]string{
		"suppressions:\n- rule: RF007\n  object: x\n":                               "c.yaml:2: suppressions[0]: a reason is required",
		"suppressions:\n- rule: RF007\n  object: x\n  reason: r\n  expires: soon\n": "expires \"soon\" is not a date",
		"suppressions:\n- object: x\n  reason: r\n":                                 "rule and object are required",
		"suppression: []\n": "unknown field",
		"suppressions:\n- rule: RF007\n  object: \"[\"\n  reason: r\n": "object pattern",
	} {
		if _, err := LoadConfig(write(content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", content, err, want)
		}
	}
}
