package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

type renderedInventory struct {
	Workloads []struct {
		Namespace, Name, Source string
		Pods                    []struct {
			Replicas int32
			Labels   map[string]string
			Ports    []struct{ Port int32 }
		}
	}
	Services []struct{ Namespace, Name, Source string }
	Policies []struct {
		Namespace, Name, Source string
		Selects                 []string
	} `json:"networkPolicies"`
}

func inventoryOf(t *testing.T, args ...string) renderedInventory {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"inventory", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv renderedInventory
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	return inv
}

// -k renders as kubectl -k: namespace, name prefix, labels and patches
// applied, and the objects are reported at the files they were read from.
func TestKustomize(t *testing.T) {
	inv := inventoryOf(t, "-k", "testdata/render/kustomize/overlay")
	if len(inv.Workloads) != 1 || len(inv.Services) != 1 || len(inv.Policies) != 1 {
		t.Fatalf("inventory = %+v", inv)
	}
	w := inv.Workloads[0]
	if w.Namespace != "payments" || w.Name != "prod-api" || w.Pods[0].Replicas != 4 || w.Pods[0].Labels["team"] != "payments" {
		t.Errorf("workload = %+v", w)
	}
	if w.Source != "testdata/render/kustomize/base/deployment.yaml:1" {
		t.Errorf("source = %s", w.Source)
	}
	if p := inv.Policies[0]; p.Name != "prod-api-ingress" || strings.Join(p.Selects, ",") != "Deployment/prod-api" || p.Source != "testdata/render/kustomize/overlay/networkpolicy.yaml:1" {
		t.Errorf("policy = %+v", p)
	}
}

// --chart renders as helm template: values files, then --set, win over the
// chart's values; sources name the template.
func TestHelmChart(t *testing.T) {
	inv := inventoryOf(t, "--chart", "testdata/render/chart/web")
	if len(inv.Policies) != 0 || len(inv.Workloads) != 1 || inv.Workloads[0].Pods[0].Replicas != 1 {
		t.Fatalf("defaults: %+v", inv)
	}
	inv = inventoryOf(t, "--chart", "testdata/render/chart/web", "--values", "testdata/render/chart/prod-values.yaml", "--set", "networkPolicy.enabled=true,port=7070", "-n", "shop")
	w := inv.Workloads[0]
	if w.Name != "release-name-web" || w.Namespace != "shop" || w.Pods[0].Replicas != 3 || w.Pods[0].Ports[0].Port != 7070 {
		t.Errorf("workload = %+v", w)
	}
	if w.Source != "testdata/render/chart/web/templates/deployment.yaml (rendered):1" {
		t.Errorf("source = %s", w.Source)
	}
	if len(inv.Policies) != 1 || inv.Policies[0].Source != "testdata/render/chart/web/templates/networkpolicy.yaml (rendered):2" {
		t.Errorf("policies = %+v", inv.Policies)
	}
	// Rendered inputs combine with files and each other.
	both := inventoryOf(t, "--chart", "testdata/render/chart/web", "-k", "testdata/render/kustomize/overlay", "examples/ml-platform")
	if len(both.Workloads) < 3 {
		t.Errorf("chart, kustomization and files together: %d workloads", len(both.Workloads))
	}
}

// What would need the network is refused, before anything is fetched.
func TestRenderRefusesTheNetwork(t *testing.T) {
	remote := tree(t, map[string]string{"kustomization.yaml": "resources:\n- local.yaml\n- https://github.com/example/app//deploy?ref=v1.2.3\n", "local.yaml": webDeployment})
	nested := tree(t, map[string]string{"overlay/kustomization.yaml": "resources:\n- ../base\n", "base/kustomization.yaml": "resources:\n- github.com/example/app/deploy?ref=main\n"})
	chart := tree(t, map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 19.x\n  repository: https://charts.example.com\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-k", remote}, `"https://github.com/example/app//deploy?ref=v1.2.3" is remote: kustomize would fetch it over the network`},
		{[]string{"-k", nested + "/overlay"}, `base/kustomization.yaml: "github.com/example/app/deploy?ref=main" is remote`},
		{[]string{"--chart", chart}, "dependency redis (https://charts.example.com) is not in charts/: run helm dependency build first"},
		{[]string{"--chart", "oci://registry.example.com/charts/app"}, "only local charts are read"},
		{[]string{"--chart", "bitnami/redis"}, "ringfence does not fetch charts from repositories"},
		{[]string{"-k", t.TempDir()}, "no kustomization.yaml"},
		{[]string{"-f", "examples/ml-platform", "--set", "a=b"}, "--values and --set go with --chart"},
	} {
		_, stderr, code := run(t, "", append([]string{"audit"}, tc.args...)...)
		if code != ExitInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}
