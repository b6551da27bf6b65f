package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/testenv"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestLiveAdmissionWebhooks reads the example's ingress-nginx admission
// webhook from a real API server: RF019 fires from the live objects as it
// does from the files, with the documented ClusterRole too. A reader that
// may not list webhook configurations gets one possible RF019 finding, not
// a silent miss, and no other finding is changed by it.
func TestLiveAdmissionWebhooks(t *testing.T) {
	env := testenv.Start(t)
	apply(t, env.Config, "examples/ml-platform")
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	full := documentedRole(t, "clusterrole.yaml")
	bind(t, env.Config, "ringfence-webhook-reader", "ringfence:webhook-readers", full)
	reader := kubeconfig(t, env, envtest.User{Name: "webhook-reader", Groups: []string{"ringfence:webhook-readers"}})

	files := auditFindings(t, "--rules", "RF019", "-f", "examples/ml-platform")
	if len(files) != 1 {
		t.Fatalf("files: %d RF019 findings, want 1", len(files))
	}
	affected := func(f check.Finding) []string {
		var out []string
		for _, a := range f.Affected {
			out = append(out, a.Object.String()+" "+a.Detail)
		}
		return out
	}
	for name, kc := range map[string]string{"admin": admin, "documented ClusterRole": reader} {
		live := auditFindings(t, "--rules", "RF019", "--kubeconfig", kc, "-A")
		if len(live) != 1 {
			t.Fatalf("%s: %d RF019 findings from the live cluster, want 1: %+v", name, len(live), live)
		}
		f := live[0]
		if f.Object.String() != "ValidatingWebhookConfiguration/ingress-nginx-admission" || f.Source.Cluster != "envtest" || f.Severity != check.Critical || !f.Certain() {
			t.Errorf("%s: RF019 %s from %s, %s %s; want the live ingress-nginx-admission, critical and certain", name, f.Object, f.Source, f.Severity, f.Confidence)
		}
		if f.Message != files[0].Message || !reflect.DeepEqual(affected(f), affected(files[0])) {
			t.Errorf("%s: live RF019 differs from the files':\n%s %v\n%s %v", name, f.Message, affected(f), files[0].Message, affected(files[0]))
		}
	}

	// The documented ClusterRole without admissionregistration.k8s.io.
	var noWebhooks []rbacv1.PolicyRule
	for _, r := range full {
		if r.APIGroups[0] != "admissionregistration.k8s.io" {
			noWebhooks = append(noWebhooks, r)
		}
	}
	if len(noWebhooks) != len(full)-1 {
		t.Fatalf("the documented ClusterRole has no admissionregistration.k8s.io rule to take away")
	}
	bind(t, env.Config, "ringfence-no-webhooks", "ringfence:no-webhooks", noWebhooks)
	user := kubeconfig(t, env, envtest.User{Name: "no-webhooks", Groups: []string{"ringfence:no-webhooks"}})
	stdout, stderr, code := run(t, "", "audit", "-o", "json", "--fail-on", "none", "--kubeconfig", user, "-A")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		if !strings.Contains(stderr, "ringfence: warning: "+kind+" in every namespace could not be read (forbidden: User \"no-webhooks\" cannot list resource") {
			t.Errorf("stderr does not say %s is unread:\n%s", kind, stderr)
		}
	}
	var rf019 []check.Finding
	withAdmin := map[string]check.Confidence{}
	for _, f := range auditFindings(t, "--kubeconfig", admin, "-A") {
		withAdmin[f.Rule+" "+f.Object.String()+" "+f.Key] = f.Confidence
	}
	for _, f := range parseFindings(t, stdout) {
		if f.Rule == "RF019" {
			rf019 = append(rf019, f)
			continue
		}
		if strings.Contains(strings.Join(f.Assumptions, " "), "WebhookConfiguration") {
			t.Errorf("%s %s rests on the webhook configurations: %q", f.Rule, f.Object, f.Assumptions)
		}
		if c, ok := withAdmin[f.Rule+" "+f.Object.String()+" "+f.Key]; !ok || c != f.Confidence {
			t.Errorf("%s %s: confidence %q, %q with every right", f.Rule, f.Object, f.Confidence, c)
		}
	}
	if len(rf019) != 1 {
		t.Fatalf("%d RF019 findings with the webhooks unread, want 1: %+v", len(rf019), rf019)
	}
	f := rf019[0]
	assumptions := strings.Join(f.Assumptions, "\n")
	if f.Certain() || f.Severity != check.High || len(f.Affected) != 1 ||
		f.Affected[0].Object.String() != "Deployment/ingress-nginx/ingress-nginx-controller" ||
		!strings.Contains(f.Affected[0].Detail, "TCP 8443 (Service ingress-nginx/ingress-nginx-controller-admission port 443") ||
		!strings.Contains(assumptions, `the ValidatingWebhookConfiguration objects could not be read (forbidden: User "no-webhooks" cannot list resource "validatingwebhookconfigurations"`) {
		t.Errorf("RF019 with the webhooks unread: %s %s %s %q %+v", f.Severity, f.Confidence, f.Message, f.Assumptions, f.Affected)
	}
}
