package generate

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/ranges"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func TestCilium(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	got := Cilium(w, doc)
	if len(got) != 1 {
		t.Fatalf("%d CiliumNetworkPolicies, want one (only the training Fence names a host)", len(got))
	}
	b, err := yaml.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	var cnp struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Metadata   struct {
			Name, Namespace     string
			Labels, Annotations map[string]string
		}
		Spec struct {
			EndpointSelector metav1.LabelSelector `json:"endpointSelector"`
			Egress           []struct {
				ToEndpoints []metav1.LabelSelector `json:"toEndpoints"`
				ToFQDNs     []map[string]string    `json:"toFQDNs"`
				ToPorts     []struct {
					Ports []struct{ Port, Protocol string }
					Rules struct{ DNS []map[string]string }
				} `json:"toPorts"`
			}
		}
	}
	if err := yaml.UnmarshalStrict(b, &cnp); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if cnp.Kind != "CiliumNetworkPolicy" || cnp.Metadata.Name != "ringfence-training-fqdn" || cnp.Metadata.Namespace != "ml-workloads" || cnp.Spec.EndpointSelector.MatchLabels["app"] != "ml-training" {
		t.Errorf("%s", b)
	}
	if len(cnp.Spec.Egress) != 2 {
		t.Fatalf("%s", b)
	}
	dns, fqdn := cnp.Spec.Egress[0], cnp.Spec.Egress[1]
	if dns.ToEndpoints[0].MatchLabels["k8s:k8s-app"] != "kube-dns" || dns.ToEndpoints[0].MatchLabels["k8s:io.kubernetes.pod.namespace"] != "kube-system" ||
		dns.ToPorts[0].Ports[0].Port != "53" || dns.ToPorts[0].Rules.DNS[0]["matchPattern"] != "*" {
		t.Errorf("DNS rule: %s", b)
	}
	if fqdn.ToFQDNs[0]["matchName"] != "huggingface.co" || fqdn.ToPorts[0].Ports[0].Port != "443" || fqdn.ToPorts[0].Ports[0].Protocol != "TCP" {
		t.Errorf("toFQDNs rule: %s", b)
	}
}

// The Calico form allows through GlobalNetworkSets exactly the ranges the
// verified NetworkPolicies listed, and no ipBlock is left.
func TestCalico(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	policies, objects, err := Calico(out, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(policies) != len(out.Policies) {
		t.Fatalf("%d policies, want %d", len(policies), len(out.Policies))
	}
	for _, p := range policies {
		for _, r := range p.Spec.Egress {
			for _, peer := range r.To {
				if peer.IPBlock != nil {
					t.Errorf("%s keeps the ipBlock %s", p.Name, peer.IPBlock.CIDR)
				}
			}
		}
	}
	if n := len(out.Policies[2].Spec.Egress); n == 0 || out.Policies[2].Spec.Egress[0].To[0].IPBlock == nil {
		t.Errorf("Calico changed the verified output in place")
	}
	var kinds []string
	for _, o := range objects {
		kinds = append(kinds, o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string))
	}
	if got := strings.Join(kinds, " "); got != "GlobalNetworkSet/ringfence-aws-s3-us-east-1 GlobalNetworkSet/ringfence-aws-amazon-us-east-1 NetworkPolicy/ringfence-inference-aws NetworkPolicy/ringfence-training-aws" {
		// (AMAZON us-east-1: the model server's STS, a need generate keeps)
		t.Errorf("objects %s", got)
	}
	var nets []string
	for _, n := range objects[0]["spec"].(map[string]any)["nets"].([]any) {
		nets = append(nets, n.(string))
	}
	var want []string
	for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}})) {
		want = append(want, p.String())
	}
	if strings.Join(nets, ",") != strings.Join(want, ",") {
		t.Errorf("set nets %v, want %v", nets, want)
	}
	spec := fmt.Sprint(objects[3]["spec"])
	for _, s := range []string{"selector:app == 'ml-training'", "namespaceSelector:global()", "selector:ringfence.dev/aws-ranges == 's3.us-east-1'", "ports:[443]", "protocol:TCP", "action:Allow"} {
		if !strings.Contains(spec, s) {
			t.Errorf("Calico policy lacks %q: %s", s, spec)
		}
	}
}

func TestCalicoSelector(t *testing.T) {
	for _, c := range []struct {
		sel  metav1.LabelSelector
		want string
	}{
		{metav1.LabelSelector{}, "all()"},
		{metav1.LabelSelector{MatchLabels: map[string]string{"b": "2", "a": "1"}}, "a == '1' && b == '2'"},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"x", "y"}},
			{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"dev"}},
			{Key: "gpu", Operator: metav1.LabelSelectorOpExists},
			{Key: "spot", Operator: metav1.LabelSelectorOpDoesNotExist},
		}}, "tier in { 'x', 'y' } && env not in { 'dev' } && has(gpu) && !has(spot)"},
	} {
		if got, err := calicoSelector(&c.sel); err != nil || got != c.want {
			t.Errorf("%+v: %q %v, want %q", c.sel, got, err, c.want)
		}
	}
}
