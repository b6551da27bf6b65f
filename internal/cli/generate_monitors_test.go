package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type needJSON struct{ Of, Kind, What, Why, Status, Note string }

func generatedNeeds(t *testing.T, args ...string) []needJSON {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"generate", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("generate %v: exit %d: %s", args, code, stderr)
	}
	var g struct{ Needs []needJSON }
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatal(err)
	}
	return g.Needs
}

func findNeed(needs []needJSON, of, kind string) *needJSON {
	for i, n := range needs {
		if n.Of == of && n.Kind == kind {
			return &needs[i]
		}
	}
	return nil
}

// Scrapers come from ServiceMonitors and PodMonitors: the Prometheus
// objects that select them (serviceMonitorSelector, podMonitorSelector and
// their namespace selectors) scrape the ports they name, and generate keeps
// those scrapes (verified through the engine: generate exits 0 only when
// the Prometheus pods reach the port). A Prometheus that does not select
// the monitor is no scraper; without any Prometheus object, the Prometheus
// pods of the monitoring namespace are assumed, and the need says so.
func TestGenerateMonitorScrapes(t *testing.T) {
	fences := "testdata/needs/monitoring-fences.yaml"
	needs := generatedNeeds(t, "-f", "testdata/monitoring", "-f", fences)
	g := findNeed(needs, "monitoring/Deployment/grafana", "scrapes")
	if g == nil || g.Status != "kept" || g.What != "TCP 3000 from Prometheus (monitoring/Prometheus/k8s)" || !strings.Contains(g.Why, "ServiceMonitor monitoring/grafana selects it") {
		t.Errorf("grafana's scrape: %+v", g)
	}
	a := findNeed(needs, "monitoring/Alertmanager/main", "scrapes")
	if a == nil || a.Status != "kept" || a.What != "TCP 9093 from Prometheus (monitoring/Prometheus/k8s)" || !strings.Contains(a.Why, "PodMonitor monitoring/alertmanager-main selects it") {
		t.Errorf("alertmanager's scrape: %+v", a)
	}
	stdout, _, _ := run(t, "", "generate", "-f", "testdata/monitoring", "-f", fences)
	if !strings.Contains(stdout, "name: ringfence-grafana") || !strings.Contains(stdout, "- port: 3000") {
		t.Errorf("no policy admits the scrape:\n%.3000s", stdout)
	}

	// A Prometheus whose selector does not select the monitors scrapes
	// nothing: the needs are unseen, with what to declare.
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/monitoring/monitoring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(b), "  serviceMonitorSelector: {}\n", "  serviceMonitorSelector: {matchLabels: {release: other}}\n", 1)
	other = strings.Replace(other, "  podMonitorNamespaceSelector: {}\n", "  podMonitorNamespaceSelector: {matchLabels: {team: none}}\n", 1)
	if other == string(b) {
		t.Fatal("the Prometheus selectors moved")
	}
	os.WriteFile(filepath.Join(dir, "monitoring.yaml"), []byte(other), 0o644)
	needs = generatedNeeds(t, "-f", dir, "-f", fences)
	for _, of := range []string{"monitoring/Deployment/grafana", "monitoring/Alertmanager/main"} {
		if n := findNeed(needs, of, "scrapes"); n == nil || n.Status != "unseen" || !strings.Contains(n.Note, "no Prometheus object of the inputs selects") {
			t.Errorf("%s: %+v", of, n)
		}
	}

	// No Prometheus object: the monitoring namespace's Prometheus pods are
	// assumed to scrape a PodMonitor's targets, and the need says so.
	os.WriteFile(filepath.Join(dir, "monitoring.yaml"), []byte(`apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: training, namespace: ml-workloads}
spec:
  selector:
    matchExpressions: [{key: training.kubeflow.org/job-name, operator: Exists}]
  podMetricsEndpoints: [{portNumber: 8000}]
`), 0o644)
	needs = generatedNeeds(t, append([]string{"-f", "examples/fences", "-f", dir}, needsInputs...)...)
	n := findNeed(needs, "ml-workloads/PyTorchJob/text-embed-finetune", "scrapes")
	if n == nil || n.Status != "kept" || n.What != "TCP 8000 from Prometheus (monitoring/StatefulSet/prometheus)" ||
		!strings.Contains(n.Why, "no Prometheus object in the inputs says which Prometheus selects the monitor, so its scraper is assumed to be monitoring/StatefulSet/prometheus") {
		t.Errorf("training's scrape: %+v", n)
	}
	// Annotation-based scraping stays: the model server's.
	if m := findNeed(needs, "ml-workloads/Deployment/model-server", "scrapes"); m == nil || m.Status != "kept" || !strings.Contains(m.Why, "prometheus.io/scrape") {
		t.Errorf("model server's annotated scrape: %+v", m)
	}
}
