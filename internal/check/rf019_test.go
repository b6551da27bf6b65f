package check

import "testing"

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
