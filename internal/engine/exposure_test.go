package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
)

// base is an inference Deployment behind a Service, with an optional
// policy; scenarios add the Service's type and annotations.
const base = `apiVersion: apps/v1
kind: Deployment
metadata: {name: infer, namespace: ml}
spec:
  selector: {matchLabels: {app: infer}}
  template:
    metadata: {labels: {app: infer}}
    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.0.1.5}]}
`

func exposures(t *testing.T, manifests string) []engine.Exposure {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(path, []byte(base+"---\n"+manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyse(res.World, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Exposures()
}

func service(typ string, annotations, extra string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: infer
  namespace: ml
  annotations: {` + annotations + `}
spec:
  type: ` + typ + `
  selector: {app: infer}
  ports: [{port: 80, targetPort: http}]
` + extra
}

const denyAllButVPC = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: vpc-only, namespace: ml}
spec:
  podSelector: {matchLabels: {app: infer}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16}}], ports: [{port: http}]}]
`

const denyAll = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ml}
spec: {podSelector: {}}
`

func TestServiceExposures(t *testing.T) {
	lbc := `service.beta.kubernetes.io/aws-load-balancer-type: external, `
	tests := []struct {
		name      string
		manifests string
		internet  bool
		want      string // a hop that must appear, "step: verdict"
	}{
		{"in-tree LoadBalancer is internet-facing by default", service("LoadBalancer", "", ""), true, "load balancer: open"},
		{"in-tree internal annotation", service("LoadBalancer", `service.beta.kubernetes.io/aws-load-balancer-internal: "true"`, ""), false, "load balancer: blocked"},
		{"AWS LB Controller is internal by default", service("LoadBalancer", lbc, ""), false, "load balancer: blocked"},
		{"private source ranges", service("LoadBalancer", lbc+`service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing`, "  loadBalancerSourceRanges: [10.0.0.0/8]\n"), false, "load balancer: blocked"},
		{"some public source ranges", service("LoadBalancer", lbc+`service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing`, "  loadBalancerSourceRanges: [203.0.112.0/24]\n"), true, "load balancer: restricted"},
		{"source ranges annotation", service("LoadBalancer", `service.beta.kubernetes.io/load-balancer-source-ranges: "192.168.0.0/16"`, ""), false, "load balancer: blocked"},
		{"IP targets: pods see the load balancer, a VPC ipBlock lets everyone in",
			service("LoadBalancer", lbc+`service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing, service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip`, "") + denyAllButVPC, true, "NetworkPolicy of ml/infer: open"},
		{"IP targets, policy denies", service("LoadBalancer", lbc+`service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing, service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip`, "") + denyAll, false, "NetworkPolicy of ml/infer: blocked"},
		{"instance targets, Cluster policy: pods see node addresses", service("LoadBalancer", "", "") + denyAllButVPC, true, "source seen by the pods: open"},
		{"instance targets, Local policy: pods see clients, VPC-only policy blocks them", service("LoadBalancer", "", "  externalTrafficPolicy: Local\n") + denyAllButVPC, false, "NetworkPolicy of ml/infer: blocked"},
		{"NodePort depends on public node addresses", service("NodePort", "", ""), false, "node port: unknown"},
		{"ClusterIP is not an exposure", service("ClusterIP", "", ""), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := exposures(t, tt.manifests)
			if tt.want == "" {
				if len(es) != 0 {
					t.Fatalf("exposures = %+v", es)
				}
				return
			}
			if len(es) != 1 {
				t.Fatalf("%d exposures", len(es))
			}
			e := es[0]
			var hops []string
			for _, h := range e.Hops {
				hops = append(hops, h.Step+": "+h.Verdict)
			}
			if e.Internet != tt.internet || !strings.Contains(strings.Join(hops, "\n"), tt.want) {
				t.Errorf("internet %v (want %v), hops:\n%s\nwant a hop %q", e.Internet, tt.internet, strings.Join(hops, "\n"), tt.want)
			}
			if strings.Join(e.Backends, ",") != "ml/infer" {
				t.Errorf("backends %v", e.Backends)
			}
		})
	}
}

func TestIngressExposures(t *testing.T) {
	controller := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ctl, namespace: ingress}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}
  template:
    metadata: {labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}}
    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: ctl, namespace: ingress}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app.kubernetes.io/name: ingress-nginx}
  ports: [{port: 80, targetPort: http}]
---
` + service("ClusterIP", "", "")
	ingress := func(annotations string) string {
		return `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: infer
  namespace: ml
  annotations: {` + annotations + `}
spec:
  ingressClassName: nginx
  rules: [{host: x.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: infer, port: {number: 80}}}}]}}]
`
	}
	tests := []struct {
		name, manifests string
		internet        bool
	}{
		{"no allowlist", controller + ingress(""), true},
		{"private allowlist", controller + ingress(`nginx.ingress.kubernetes.io/whitelist-source-range: "10.0.0.0/8"`), false},
		{"newer allowlist annotation, partly public", controller + ingress(`nginx.ingress.kubernetes.io/allowlist-source-range: "198.51.100.0/24,8.8.8.0/24"`), true},
		{"backend denies the controller", controller + ingress("") + denyAll, false},
		{"ALB internal by default", service("ClusterIP", "", "") + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: alb, namespace: ml}\nspec:\n  ingressClassName: alb\n  defaultBackend: {service: {name: infer, port: {number: 80}}}\n", false},
		{"ALB internet-facing without inbound-cidrs", service("ClusterIP", "", "") + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: alb, namespace: ml, annotations: {alb.ingress.kubernetes.io/scheme: internet-facing}}\nspec:\n  ingressClassName: alb\n  defaultBackend: {service: {name: infer, port: {number: 80}}}\n", true},
		{"ALB inbound-cidrs private", service("ClusterIP", "", "") + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: alb, namespace: ml, annotations: {alb.ingress.kubernetes.io/scheme: internet-facing, alb.ingress.kubernetes.io/inbound-cidrs: 10.0.0.0/8}}\nspec:\n  ingressClassName: alb\n  defaultBackend: {service: {name: infer, port: {number: 80}}}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *engine.Exposure
			es := exposures(t, tt.manifests)
			for i := range es {
				if strings.HasPrefix(es[i].Entry, "Ingress/") {
					got = &es[i]
				}
			}
			if got == nil {
				t.Fatalf("no Ingress exposure in %+v", es)
			}
			if got.Internet != tt.internet {
				t.Errorf("internet %v, want %v: %+v", got.Internet, tt.internet, got.Hops)
			}
		})
	}
}

// A Service's backends are alternative paths: traffic reaches any one of
// them, so a backend its policy blocks does not close the path to an
// open one; with every backend blocked the path is blocked.
func TestExposureBackendsAreAlternatives(t *testing.T) {
	const canary = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: infer-canary, namespace: ml}
spec:
  selector: {matchLabels: {app: infer, track: canary}}
  template:
    metadata: {labels: {app: infer, track: canary}}
    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
`
	const denyCanary = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-canary, namespace: ml}
spec: {podSelector: {matchLabels: {track: canary}}}
`
	svc := service("LoadBalancer", `service.beta.kubernetes.io/aws-load-balancer-type: external, service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing, service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip`, "")
	for _, c := range []struct {
		name     string
		extra    string
		internet bool
	}{
		{"one backend blocked, one open", canary + denyCanary, true},
		{"every backend blocked", canary + denyAll, false},
	} {
		es := exposures(t, svc+c.extra)
		if len(es) != 1 {
			t.Fatalf("%s: %d exposures", c.name, len(es))
		}
		if es[0].Internet != c.internet || strings.Join(es[0].Backends, ",") != "ml/infer,ml/infer-canary" {
			t.Errorf("%s: internet %v, want %v; backends %v; hops %+v", c.name, es[0].Internet, c.internet, es[0].Backends, es[0].Hops)
		}
	}
}
