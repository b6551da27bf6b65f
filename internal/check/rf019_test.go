package check

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
)

// The webhook's Service port resolves to the pods' named port; a webhook
// without ingress-nginx is high, ingress-nginx before the fixes critical.
func TestRF019(t *testing.T) {
	found := audit(t, fixture("rf019-trigger.yaml"), "RF019")
	if len(found) != 1 || found[0].Severity != High || found[0].Object.String() != "MutatingWebhookConfiguration/injector" || len(found[0].Affected) < 2 {
		t.Fatalf("RF019: %+v", found)
	}
	for image, want := range map[string]bool{
		"registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:abc": true,
		"registry.k8s.io/ingress-nginx/controller:v1.11.5":            false,
		"registry.k8s.io/ingress-nginx/controller:v1.12.0":            true,
		"registry.k8s.io/ingress-nginx/controller:v1.12.1":            false,
		"registry.k8s.io/ingress-nginx/controller-chroot:v1.10.0":     true,
	} {
		if _, got := ingressNightmare(image); got != want {
			t.Errorf("%s: vulnerable %v, want %v", image, got, want)
		}
	}
}

// Webhook configurations that RBAC hid are no silent miss: one possible
// finding, never critical, lists the pods behind Services named like a
// webhook's that other workloads reach (the example's ingress-nginx
// admission Service, whose controller is before the IngressNightmare fixes).
func TestRF019Unread(t *testing.T) {
	files := []string{filepath.Join("..", "..", "examples", "ml-platform")}
	res, err := load.Load(context.Background(), load.Options{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	res.World.Webhooks = nil
	res.World.Unread = append(res.World.Unread, model.Unread{Kind: "ValidatingWebhookConfiguration", Reason: "forbidden: no list"})
	a, err := engine.Analyse(res.World, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found, err := Run(&Context{World: res.World, Analysis: a}, []string{"RF019"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("%d findings, want 1: %+v", len(found), found)
	}
	f := found[0]
	if f.Certain() || f.Severity != High || f.Object.Kind != "ValidatingWebhookConfiguration" ||
		len(f.Affected) != 1 || f.Affected[0].Object.String() != "Deployment/ingress-nginx/ingress-nginx-controller" ||
		!strings.Contains(f.Affected[0].Detail, "TCP 8443 (Service ingress-nginx/ingress-nginx-controller-admission port 443") ||
		!strings.Contains(f.Affected[0].Detail, "CVE-2025-1974") ||
		!strings.Contains(strings.Join(f.Assumptions, "\n"), "could not be read (forbidden: no list)") {
		t.Errorf("RF019 with webhooks unread: %+v", f)
	}
	// Nothing named like a webhook is reached: still said, at low severity.
	res.World.Services = nil
	for _, w := range res.World.Workloads {
		for _, pt := range w.Pods {
			for i := range pt.Containers {
				pt.Containers[i].Ports = nil
			}
		}
	}
	a, err = engine.Analyse(res.World, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found, _ = Run(&Context{World: res.World, Analysis: a}, []string{"RF019"})
	if len(found) != 1 || found[0].Severity != Low || found[0].Certain() || len(found[0].Affected) != 0 {
		t.Errorf("RF019 with webhooks unread and no candidate: %+v", found)
	}
}
