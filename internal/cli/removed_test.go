package cli

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestRemovedAPIVersions reads a repository written for Kubernetes
// 1.9-1.15 (testdata/old-repo): every workload and network kind in an
// apiVersion the API server no longer serves is read as its current
// version, with a warning naming the removal and the replacement;
// PodSecurityPolicy, which has no replacement kind, is skipped with one.
func TestRemovedAPIVersions(t *testing.T) {
	dir := "internal/cli/testdata/old-repo"
	stdout, stderr, code := run(t, "", "inventory", dir, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		Workloads []struct {
			Kind, APIVersion, Namespace, Name string
			Pods                              []struct {
				Replicas int
				Labels   map[string]string
				Varying  []string `json:"varyingLabels"`
			}
		}
		Ingresses []struct {
			Name  string
			Rules []string
		}
		Policies []struct{ Name string } `json:"networkPolicies"`
		Report   struct {
			Unknown []struct {
				APIVersion, Kind string
				Count            int
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range inv.Workloads {
		if len(w.Pods) != 1 {
			t.Errorf("%s/%s has %d pod templates", w.Kind, w.Name, len(w.Pods))
			continue
		}
		p := w.Pods[0]
		got = append(got, w.APIVersion+" "+w.Kind+"/"+w.Namespace+"/"+w.Name+" x"+itoa(p.Replicas)+" app="+firstOf(p.Labels["app"], p.Labels["app.kubernetes.io/name"])+" varying="+strings.Join(p.Varying, ","))
	}
	sort.Strings(got)
	want := []string{
		"apps/v1beta1 Deployment/shop/worker x1 app=worker varying=pod-template-hash",
		"apps/v1beta1 StatefulSet/shop/postgres x1 app=postgres varying=apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name",
		"apps/v1beta2 DaemonSet/monitoring/node-exporter x-1 app=node-exporter varying=controller-revision-hash,pod-template-generation",
		"apps/v1beta2 Deployment/shop/web x3 app=web varying=pod-template-hash",
		"apps/v1beta2 ReplicaSet/monitoring/grafana-5d4b9 x1 app=grafana varying=",
		"apps/v1beta2 StatefulSet/monitoring/prometheus-k8s x2 app=prometheus varying=apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name",
		"batch/v1beta1 CronJob/shop/vacuum x1 app=vacuum varying=batch.kubernetes.io/controller-uid,batch.kubernetes.io/job-name,controller-uid,job-name",
		"extensions/v1beta1 DaemonSet/ingress-nginx/default-http-backend x-1 app=default-http-backend varying=controller-revision-hash,pod-template-generation",
		"extensions/v1beta1 Deployment/ingress-nginx/nginx-ingress-controller x2 app=ingress-nginx varying=pod-template-hash",
		"extensions/v1beta1 ReplicaSet/shop/cache x2 app=cache varying=",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("workloads:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(inv.Ingresses) != 1 || strings.Join(inv.Ingresses[0].Rules, " ") != "shop.example.com/ -> web:http" {
		t.Errorf("the networking.k8s.io/v1beta1 Ingress (serviceName/servicePort) was not converted: %+v", inv.Ingresses)
	}
	if len(inv.Policies) != 2 {
		t.Errorf("extensions/v1beta1 NetworkPolicies not read: %+v", inv.Policies)
	}
	var unknown []string
	for _, u := range inv.Report.Unknown {
		unknown = append(unknown, u.APIVersion+" "+u.Kind)
	}
	if strings.Join(unknown, ", ") != "extensions/v1beta1 PodSecurityPolicy, policy/v1beta1 PodSecurityPolicy" {
		t.Errorf("unknown kinds = %v", unknown)
	}

	// One warning per object, naming the removal and the replacement; no
	// complaint about the old schemas' own fields (rollbackTo,
	// templateGeneration), which are valid in those versions.
	msgs := map[string]string{}
	for _, w := range warningsOf(t, stdout) {
		if w["category"] == "deprecated-api" {
			msgs[w["object"].(string)] = w["message"].(string)
		} else if w["category"] != "unknown-kind" {
			t.Errorf("unexpected warning: %v", w)
		}
	}
	if len(msgs) != 15 {
		t.Errorf("%d deprecation warnings, want 15: %v", len(msgs), msgs)
	}
	for obj, want := range map[string]string{
		"Deployment/nginx-ingress-controller": "extensions/v1beta1 Deployment is no longer served by the API server (removed in Kubernetes 1.16): read as apps/v1 Deployment",
		"StatefulSet/prometheus-k8s":          "apps/v1beta2 StatefulSet is no longer served by the API server (removed in Kubernetes 1.16): read as apps/v1 StatefulSet",
		"Deployment/worker":                   "apps/v1beta1 Deployment is no longer served by the API server (removed in Kubernetes 1.16): read as apps/v1 Deployment",
		"CronJob/vacuum":                      "batch/v1beta1 CronJob is no longer served by the API server (removed in Kubernetes 1.25): read as batch/v1 CronJob",
		"Ingress/web":                         "networking.k8s.io/v1beta1 Ingress is no longer served by the API server (removed in Kubernetes 1.22): read as networking.k8s.io/v1 Ingress",
		"NetworkPolicy/db-from-web":           "extensions/v1beta1 NetworkPolicy is no longer served by the API server (removed in Kubernetes 1.16): read as networking.k8s.io/v1 NetworkPolicy",
		"PodSecurityPolicy/ingress-nginx":     "extensions/v1beta1 PodSecurityPolicy is no longer served by the API server (removed in Kubernetes 1.16) and has no replacement kind (Pod Security Admission replaced it): not read",
		"PodSecurityPolicy/node-exporter":     "policy/v1beta1 PodSecurityPolicy is no longer served by the API server (removed in Kubernetes 1.25)",
	} {
		if !strings.HasPrefix(msgs[obj], want) {
			t.Errorf("%s: %q, want %q...", obj, msgs[obj], want)
		}
	}
	if !strings.Contains(stderr, "15 objects in removed apiVersions") {
		t.Errorf("stderr summary: %q", stderr)
	}

	// The old kinds decide verdicts: the extensions/v1beta1 NetworkPolicy
	// admits the apps/v1beta2 Deployment's pods (tier=front) to the
	// apps/v1beta1 StatefulSet, and nothing else.
	for _, tt := range []struct{ from, verdict string }{
		{"shop/web", "ALLOWED"},
		{"shop/worker", "DENIED"},
		{"shop/cache", "DENIED"},
	} {
		out, errs, _ := run(t, "", "explain", dir, "--from", tt.from, "--to", "shop/postgres", "--port", "5432")
		if !strings.Contains(out, "shop/postgres, TCP 5432: "+tt.verdict) {
			t.Errorf("%s => shop/postgres: want %s:\n%s%s", tt.from, tt.verdict, out, errs)
		}
	}
	out, errs, _ := run(t, "", "explain", dir, "--from", "ingress-nginx/nginx-ingress-controller", "--to", "ingress-nginx/default-http-backend", "--port", "8080")
	if !strings.Contains(out, "TCP 8080: ALLOWED") {
		t.Errorf("controller => default backend:\n%s%s", out, errs)
	}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
