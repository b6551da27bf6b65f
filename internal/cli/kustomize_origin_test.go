package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineOf is the 1-based line of the first line of file that is s (leading
// and trailing spaces aside).
func lineOf(t *testing.T, file, s string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == s {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", file, s)
	return 0
}

// TestKustomizeSourcesMapToFiles renders an overlay of a base that
// includes a shared component (testdata/kustomize-repo) and checks that
// every object is reported at the file and line it was written at: the
// file of a base two levels down, the line of its document in a file of
// several; a rule at its own line where the overlay left it as written,
// at its policy's line where a patch changed it; and a generated object,
// which has no file, at its line of the rendered output.
func TestKustomizeSourcesMapToFiles(t *testing.T) {
	repo := "internal/cli/testdata/kustomize-repo"
	overlay := filepath.Join(repo, "apps/pipeline/overlays/prod")
	pipeline := filepath.Join(repo, "apps/pipeline/base/pipeline.yaml")
	deny := filepath.Join(repo, "common/default-deny/deny.yaml")
	at := func(file string, line int) string { return file + ":" + itoa(line) }

	stdout, stderr, code := run(t, "", "inventory", "-o", "json", "-k", overlay)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		renderedInventory
		Report struct {
			Unknown []struct {
				Kind  string
				First struct {
					File string
					Line int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range inv.Workloads {
		got[w.Namespace+"/"+w.Name] = w.Source
	}
	for _, s := range inv.Services {
		got["svc "+s.Namespace+"/"+s.Name] = s.Source
	}
	for _, p := range inv.Policies {
		got["netpol "+p.Namespace+"/"+p.Name] = p.Source
	}
	// Each object's document starts on the line after its "---".
	uiLine := lineOf(t, pipeline, "name: ml-pipeline-ui") - 3
	want := map[string]string{
		"kubeflow/ml-pipeline":                 at(pipeline, 6),
		"kubeflow/ml-pipeline-ui":              at(pipeline, uiLine),
		"svc kubeflow/ml-pipeline":             at(pipeline, lineOf(t, pipeline, "kind: Service")-1),
		"netpol kubeflow/ml-pipeline":          at(pipeline, lineOf(t, pipeline, "kind: NetworkPolicy")-1),
		"netpol kubeflow/default-deny-ingress": at(deny, 2), // after the comment
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: source %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("objects: %v", got)
	}
	// The overlay's replicas and patch are applied all the same.
	for _, w := range inv.Workloads {
		if w.Name == "ml-pipeline" && w.Pods[0].Replicas != 2 {
			t.Errorf("replicas not applied: %+v", w)
		}
		if w.Name == "ml-pipeline-ui" && len(w.Pods[0].Ports) != 2 {
			t.Errorf("strategic-merge patch not applied: %+v", w)
		}
	}
	// The generated ConfigMap has no file: the rendered output's line.
	if len(inv.Report.Unknown) != 1 || inv.Report.Unknown[0].Kind != "ConfigMap" ||
		inv.Report.Unknown[0].First.File != filepath.Join(overlay, "kustomization.yaml")+" (rendered)" || inv.Report.Unknown[0].First.Line == 0 {
		t.Errorf("generated object: %+v", inv.Report.Unknown)
	}

	// Rules: ingress[0] is as written, so at its own line; the overlay's
	// JSON patch removed a port of ingress[1], so the base's line for it
	// would show what is not applied: it is reported at the policy.
	out, errs, _ := run(t, "", "explain", "-k", overlay, "--from", "kubeflow/ml-pipeline-ui", "--to", "kubeflow/ml-pipeline", "--port", "8888")
	rule0 := "ingress[0] (" + at(pipeline, lineOf(t, pipeline, "# from the UI")+1) + "): pods {app=ml-pipeline-ui}"
	rule1 := "ingress[1] (" + want["netpol kubeflow/ml-pipeline"] + "): all pods in namespaces"
	if !strings.Contains(out, rule0) || !strings.Contains(out, rule1) || !strings.Contains(out, "TCP 8888: ALLOWED") {
		t.Errorf("explain, want %q and %q:\n%s%s", rule0, rule1, out, errs)
	}
}
