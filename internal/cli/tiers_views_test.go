package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
)

// TestTierExplainDestination: explain --to a named destination (imds,
// aws:X, internet) evaluates the tiered policies in front of the
// NetworkPolicies: the EKS example's Admin Deny of 169.254.169.254/32 blocks
// IMDS for a pod no NetworkPolicy isolates, the rule is named with its
// file:line, and the profile is reported.
func TestTierExplainDestination(t *testing.T) {
	stdout, stderr, code := run(t, "", "explain", "-f", "examples/tiers/eks", "--from", "web/api", "--to", "imds", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var e engine.SetExplanation
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatal(err)
	}
	if strings.Join(e.NetworkPolicy.Blocked, ",") != "169.254.169.254/32" || e.TierProfile != "eks" {
		t.Errorf("IMDS: blocked %v, profile %q; want 169.254.169.254/32 blocked by the eks profile", e.NetworkPolicy.Blocked, e.TierProfile)
	}
	if !strings.Contains(strings.Join(e.NetworkPolicy.Rules, "\n"), "ClusterNetworkPolicy/deny-imds rule imds (examples/tiers/eks/policies.yaml:10) matches: Deny") {
		t.Errorf("the Deny is not named: %v", e.NetworkPolicy.Rules)
	}
	// ml's pods: the internet (IPv4) is denied at priority 40; S3's
	// addresses are unknown (the domainNames Accept at 30 may match them:
	// which ones DNS returns is not known), never allowed for sure.
	stdout, _, _ = run(t, "", "explain", "-f", "examples/tiers/eks", "--from", "ml/trainer", "--to", "aws:S3:us-east-1", "--port", "443", "-o", "json")
	e = engine.SetExplanation{}
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.NetworkPolicy.Allowed {
		if !strings.Contains(c, ":") {
			t.Errorf("IPv4 S3 prefix %s allowed for sure", c)
		}
	}
	if len(e.NetworkPolicy.Unknown) == 0 || !strings.Contains(strings.Join(e.NetworkPolicy.Missing, "\n"), "s3.us-east-1.amazonaws.com") {
		t.Errorf("S3's IPv4 prefixes are not unknown for the domain name: %+v", e.NetworkPolicy)
	}
	text, _, _ := run(t, "", "explain", "-f", "examples/tiers/eks", "--from", "ml/trainer", "--to", "internet", "--port", "443")
	if !strings.Contains(text, "tier profile: eks") || !strings.Contains(text, "ClusterNetworkPolicy/ml-no-internet rule internet") {
		t.Errorf("explain --to internet does not show the tier Deny:\n%.2000s", text)
	}
}

// TestTierIsolationViews: a pod that only tiered policies decide is not
// reported as open for sure: reach's openings to namespaces not in the
// inputs name the tiered policies, an Admin Accept from namespaces any new
// namespace may match is an opening of its own, and --default-action deny
// isolates every pod.
func TestTierIsolationViews(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.yaml")
	os.WriteFile(input, []byte(`apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: web}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: api:1, ports: [{containerPort: 8080}]}]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: scrapers}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - name: metrics
    action: Accept
    from: [{namespaces: {matchLabels: {role: monitoring}}}]
    protocols: [{tcp: {destinationPort: {number: 9100}}}]
`), 0o644)
	stdout, stderr, code := run(t, "", "reach", "-f", input, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Unknown []struct {
			Workload, Reason, Policy, Rule string
			Tiers                          []string
		} `json:"unknownPeers"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	var notIsolated, accept bool
	for _, o := range out.Unknown {
		switch {
		case o.Reason == "not-isolated" && o.Workload == "web/api":
			notIsolated = strings.Join(o.Tiers, ",") == "ClusterNetworkPolicy/scrapers"
		case o.Reason == "tier-accept" && o.Workload == "web/api":
			accept = o.Policy == "ClusterNetworkPolicy/scrapers" && o.Rule == "ingress[0] metrics"
		}
	}
	if !notIsolated || !accept {
		t.Errorf("openings to unknown namespaces: %+v (want web/api not isolated, naming the tiered policy, and the Accept of role=monitoring)", out.Unknown)
	}
	text, _, _ := run(t, "", "reach", "-f", input)
	if !strings.Contains(text, "ClusterNetworkPolicy/scrapers ingress[0] metrics") || !strings.Contains(text, "unless a Deny of the tiered policies ClusterNetworkPolicy/scrapers covers them") {
		t.Errorf("reach's text does not show the tier openings:\n%s", text)
	}
	// With the eks profile's default deny, nothing is open to a new
	// namespace but what the Accept admits.
	stdout, _, _ = run(t, "", "reach", "-f", input, "-o", "json", "--default-action", "deny")
	if strings.Contains(stdout, `"reason": "not-isolated"`) {
		t.Errorf("--default-action deny: web/api still reported not isolated:\n%s", stdout)
	}
}

// TestReportHTMLTierProfile: report -o html shows the profile tiered
// policies were evaluated with, in Chromium, and each workload's tiered
// policies in its details; without tiered policies there is no profile.
func TestReportHTMLTierProfile(t *testing.T) {
	html, stderr, code := run(t, "", "report", "-f", "examples/tiers/eks", "-o", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	p := openPage(t, html)
	if got := eval[string](t, p, `(document.getElementById('tier-profile') || {}).textContent || ''`); got != "tiered policies: profile eks, default action allow" {
		t.Errorf("the page shows %q", got)
	}
	html, _, _ = run(t, "", "report", "-f", "examples/tiers/eks", "-o", "html", "--tier-profile", "upstream")
	p = openPage(t, html)
	if got := eval[string](t, p, `(document.getElementById('tier-profile') || {}).textContent || ''`); got != "tiered policies: profile upstream, default action allow" {
		t.Errorf("with --tier-profile upstream the page shows %q", got)
	}
	m := reportModel(t, "-f", "examples/tiers/eks")
	found := false
	for _, n := range m.Nodes {
		for _, d := range n.Detail {
			found = found || n.Label == "trainer" && strings.Contains(d, "tiered policies: ingress ClusterNetworkPolicy/allow-monitoring") && strings.Contains(d, "egress ClusterNetworkPolicy/deny-imds")
		}
	}
	if !found {
		t.Errorf("ml/trainer's details do not list its tiered policies: %+v", m.Nodes)
	}
	if m := reportModel(t, "-f", "examples/ml-platform"); m.TierProfile != "" {
		t.Errorf("a world without tiered policies reports profile %q", m.TierProfile)
	}
}
