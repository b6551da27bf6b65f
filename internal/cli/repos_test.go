package cli

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// shapeOf is what a run read from a tree: its workloads and policies, the
// files it skipped and the kinds it counted, each sorted.
type shapeOf struct {
	objects, skipped, unknown []string
}

func readShape(t *testing.T, root string, args ...string) shapeOf {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"inventory", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("inventory %v: exit %d: %s", args, code, stderr)
	}
	var inv struct {
		Workloads []struct{ Kind, Namespace, Name string }
		Services  []struct{ Namespace, Name string }
		Policies  []struct{ Namespace, Name string } `json:"networkPolicies"`
		Warnings  []struct {
			Category string
			Source   struct{ File string }
			Object   string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	var s shapeOf
	for _, w := range inv.Workloads {
		s.objects = append(s.objects, w.Kind+"/"+w.Namespace+"/"+w.Name)
	}
	for _, v := range inv.Services {
		s.objects = append(s.objects, "Service/"+v.Namespace+"/"+v.Name)
	}
	for _, p := range inv.Policies {
		s.objects = append(s.objects, "NetworkPolicy/"+p.Namespace+"/"+p.Name)
	}
	for _, w := range inv.Warnings {
		switch w.Category {
		case "skipped-file":
			rel, _ := filepath.Rel(root, w.Source.File)
			s.skipped = append(s.skipped, filepath.ToSlash(rel))
		case "unknown-kind":
			s.unknown = append(s.unknown, w.Object)
		}
	}
	sort.Strings(s.objects)
	sort.Strings(s.skipped)
	sort.Strings(s.unknown)
	return s
}

// TestRealRepositoryShapes points ringfence at trees shaped as the public
// repositories users point it at (testdata/repos, testdata/kustomize-repo):
// each is read whole, as a positional path, with exactly the objects
// expected and exactly the files that are not objects reported; and the
// ways those repositories are meant to be built (-k, --chart with values)
// read the same objects.
func TestRealRepositoryShapes(t *testing.T) {
	repos := "internal/cli/testdata/repos"
	tests := []struct {
		name                      string
		root                      string
		args                      []string
		objects, skipped, unknown string
	}{
		{
			name: "kube-prometheus", root: repos + "/kube-prometheus", args: []string{repos + "/kube-prometheus"},
			objects: "DaemonSet/monitoring/node-exporter Deployment/monitoring/grafana NetworkPolicy/monitoring/prometheus-k8s Prometheus/monitoring/k8s",
			skipped: "jsonnetfile.json kustomization.yaml",
			unknown: "apiextensions.k8s.io/v1/CustomResourceDefinition",
		},
		{
			name: "kube-prometheus -k", root: repos + "/kube-prometheus", args: []string{"-k", repos + "/kube-prometheus"},
			objects: "DaemonSet/monitoring/node-exporter Deployment/monitoring/grafana NetworkPolicy/monitoring/prometheus-k8s Prometheus/monitoring/k8s",
			unknown: "apiextensions.k8s.io/v1/CustomResourceDefinition",
		},
		{
			name: "KubeRay samples", root: repos + "/kuberay", args: []string{repos + "/kuberay"},
			objects: "RayCluster/default/raycluster-complete RayJob/default/rayjob-sample",
			unknown: "v1/ConfigMap",
		},
		{
			name: "KServe samples", root: repos + "/kserve", args: []string{repos + "/kserve"},
			objects: "InferenceService/default/sklearn-iris Job/default/sklearn-load-test-*6ed8aa",
			skipped: "docs/samples/v1beta1/sklearn/iris-input.json",
		},
		{
			// Templates are listed in the tree's .ringfenceignore.
			name: "ingress-nginx", root: repos + "/ingress-nginx", args: []string{repos + "/ingress-nginx"},
			objects: "Deployment/ingress-nginx/ingress-nginx-controller Job/ingress-nginx/ingress-nginx-admission-create Service/ingress-nginx/ingress-nginx-controller",
			skipped: "charts/ingress-nginx/Chart.yaml charts/ingress-nginx/ci/daemonset-values.yaml charts/ingress-nginx/values.yaml deploy/static/provider/cloud/kustomization.yaml",
		},
		{
			name: "ingress-nginx chart", root: repos + "/ingress-nginx", args: []string{"--chart", repos + "/ingress-nginx/charts/ingress-nginx", "-n", "ingress-nginx"},
			objects: "Deployment/ingress-nginx/release-name-controller Service/ingress-nginx/release-name-controller",
		},
		{
			name: "ingress-nginx chart, DaemonSet values", root: repos + "/ingress-nginx", args: []string{"--chart", repos + "/ingress-nginx/charts/ingress-nginx", "--values", repos + "/ingress-nginx/charts/ingress-nginx/ci/daemonset-values.yaml"},
			objects: "DaemonSet/default/release-name-controller Service/default/release-name-controller",
		},
		{
			name: "kubeflow-style kustomize tree, as files", root: "internal/cli/testdata/kustomize-repo", args: []string{"internal/cli/testdata/kustomize-repo"},
			objects: "Deployment/default/ml-pipeline Deployment/default/ml-pipeline-ui NetworkPolicy/default/default-deny-ingress NetworkPolicy/default/ml-pipeline Service/default/ml-pipeline",
			skipped: "apps/pipeline/base/kustomization.yaml apps/pipeline/overlays/prod/kustomization.yaml apps/pipeline/overlays/prod/ui-metrics-port.yaml apps/pipeline/overlays/prod/user-namespaces-grpc-only.yaml common/default-deny/kustomization.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readShape(t, tt.root, tt.args...)
			if got := strings.Join(s.objects, " "); got != tt.objects {
				t.Errorf("objects:\n  %s\nwant\n  %s", got, tt.objects)
			}
			if got := strings.Join(s.skipped, " "); got != tt.skipped {
				t.Errorf("skipped files:\n  %s\nwant\n  %s", got, tt.skipped)
			}
			if got := strings.Join(s.unknown, " "); got != tt.unknown {
				t.Errorf("unknown kinds: %s, want %s", got, tt.unknown)
			}
			// Every verb reads it: audit ends with findings or none,
			// never with an input error.
			if _, stderr, code := run(t, "", append([]string{"audit"}, tt.args...)...); code != ExitOK && code != ExitFindings {
				t.Errorf("audit: exit %d: %s", code, stderr)
			}
		})
	}
}
