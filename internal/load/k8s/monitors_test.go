package k8s

import (
	"strings"
	"testing"
)

// ServiceMonitors and PodMonitors are read with their selectors, the
// namespaces they look in and their ports; a Prometheus keeps its monitor
// selectors beside its workload (null selects none, {} all); a bad port
// or selector is a positioned error, a port-less endpoint a warning.
func TestMonitors(t *testing.T) {
	w, r := build(t, "", `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: grafana, namespace: monitoring, labels: {release: x}}
spec:
  namespaceSelector: {matchNames: [apps]}
  selector: {matchLabels: {app: grafana}}
  endpoints: [{port: http}, {targetPort: 3000}, {interval: 15s}]
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: jobs, namespace: monitoring}
spec:
  namespaceSelector: {any: true}
  selector: {matchExpressions: [{key: training.kubeflow.org/job-name, operator: Exists}]}
  podMetricsEndpoints: [{portNumber: 8000}]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec:
  serviceMonitorSelector: {matchLabels: {release: x}}
  podMonitorNamespaceSelector: {}
`)
	if len(w.Monitors) != 2 || len(w.Prometheuses) != 1 || workload(t, w, "Prometheus", "k8s") == nil {
		t.Fatalf("monitors %+v, prometheuses %+v", w.Monitors, w.Prometheuses)
	}
	sm, pm := w.Monitors[0], w.Monitors[1] // by name
	if sm.Kind != "ServiceMonitor" || len(sm.Endpoints) != 2 || sm.Endpoints[0].Port != "http" || sm.Endpoints[1].TargetPort != "3000" ||
		!sm.MonitorNamespaces("apps") || sm.MonitorNamespaces("monitoring") {
		t.Errorf("ServiceMonitor %+v", sm)
	}
	if pm.Kind != "PodMonitor" || len(pm.Endpoints) != 1 || pm.Endpoints[0].PortNumber != 8000 || !pm.MonitorNamespaces("anything") {
		t.Errorf("PodMonitor %+v", pm)
	}
	p := w.Prometheuses[0]
	if p.Kind != "Prometheus" || p.ServiceMonitorSelector == nil || p.ServiceMonitorSelector.MatchLabels["release"] != "x" || p.PodMonitorSelector != nil ||
		p.PodMonitorNamespaceSelector == nil || p.ServiceMonitorNamespaceSelector != nil {
		t.Errorf("Prometheus selectors %+v", p)
	}
	warned := false
	for _, n := range r.Warnings {
		warned = warned || (strings.Contains(n.Msg, "spec.endpoints[2] names no port") && n.Source.Line > 0)
	}
	if !warned {
		t.Errorf("no warning for the port-less endpoint: %+v", r.Warnings)
	}
	for _, bad := range []string{
		"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: p, namespace: m}\nspec:\n  selector: {}\n  podMetricsEndpoints: [{portNumber: 70000}]\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: s, namespace: m}\nspec:\n  selector: {matchExpressions: [{key: a, operator: Near}]}\n",
	} {
		if _, _, err := tryBuild("", bad); err == nil || !strings.Contains(err.Error(), "in.yaml:") {
			t.Errorf("no positioned error for:\n%s(%v)", bad, err)
		}
	}
}
