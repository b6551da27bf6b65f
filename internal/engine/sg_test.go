package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"go4.org/netipx"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSGPorts(t *testing.T) {
	tests := []struct {
		rule model.SGRule
		want string
	}{
		{model.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1}, "All Connections"},
		{model.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443}, "TCP 443"},
		{model.SGRule{Protocol: "tcp", FromPort: 0, ToPort: 65535}, "TCP 1-65535"},
		{model.SGRule{Protocol: "udp", FromPort: 53, ToPort: 53}, "UDP 53"},
		{model.SGRule{Protocol: "132", FromPort: -1, ToPort: -1}, "SCTP 1-65535"},
		{model.SGRule{Protocol: "icmp", FromPort: 8, ToPort: -1}, "None"},
	}
	for _, tt := range tests {
		r := tt.rule
		if got := sgPorts(&r).String(); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.rule, got, tt.want)
		}
	}
}

// A pod's egress to an address needs both fences: the NetworkPolicy and
// its node's security groups. Each layer is reported on its own.
func TestCrossLayerEgress(t *testing.T) {
	pfx := netip.MustParsePrefix
	w := &model.World{
		Namespaces:  []*model.Namespace{{Meta: model.Meta{Name: "ml", Labels: map[string]string{model.NamespaceNameLabel: "ml"}}}},
		Nodes:       []*model.Node{{Meta: model.Meta{Name: "n1", Labels: map[string]string{"pool": "a"}}, ProviderID: "aws:///us-east-1a/i-1"}},
		Instances:   []*model.Instance{{ID: "i-1", Groups: []string{"sg-node"}}},
		PrefixLists: []*model.PrefixList{{ID: "pl-s3", Entries: []netip.Prefix{pfx("3.5.0.0/19")}}},
		SecurityGroups: []*model.SecurityGroup{{ID: "sg-node", Egress: []model.SGRule{
			{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []netip.Prefix{pfx("52.216.0.0/15")}},
			{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixLists: []string{"pl-s3"}},
			{Protocol: "udp", FromPort: 53, ToPort: 53, CIDRs: []netip.Prefix{pfx("10.0.0.2/32")}},
		}}},
		Workloads: []*model.Workload{
			{Meta: model.Meta{Kind: "Deployment", Namespace: "ml", Name: "train"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "train"}}}},
			{Meta: model.Meta{Kind: "Deployment", Namespace: "ml", Name: "nowhere"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "x"}, PodSpec: model.PodSpec{NodeSelector: map[string]string{"pool": "none"}}}}},
		},
		Policies: []*model.NetworkPolicy{{Meta: model.Meta{Namespace: "ml", Name: "s3"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *mustSelector("app=train"),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "52.216.0.0/16"}}}}},
		}}},
	}
	res, err := Reach(w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Connection{}
	for _, c := range res.Connections {
		got[c.Src+" => "+c.Dst] = c
	}
	c, ok := got["ml/train => 52.216.0.0/16"]
	if !ok || c.Allow.String() != "TCP 443" || c.Layers.NetworkPolicy.String() != "All Connections" || c.Layers.SecurityGroups.String() != "TCP 443" {
		t.Errorf("train => 52.216.0.0/16: %+v", c)
	}
	for key, c := range got {
		if strings.HasPrefix(key, "ml/train => ") && key != "ml/train => 52.216.0.0/16" && key != "ml/train => ml/nowhere" {
			t.Errorf("%s allowed %s: the NetworkPolicy allows only 52.216.0.0/16", key, c.Allow)
		}
	}
	// Only the security groups fence "nowhere" (no policy selects it), and
	// its node is unknown: what the NetworkPolicy allows is unknown, never
	// allowed or denied.
	var sawRest bool
	for key, c := range got {
		if strings.HasPrefix(key, "ml/nowhere => ") && c.Layers != nil {
			if c.Layers.SecurityGroups != nil {
				t.Errorf("%s: security groups judged for a pod without known groups", key)
			}
			if !c.Allow.IsEmpty() {
				t.Errorf("%s: allowed %s though its security groups are not known", key, c.Allow)
			}
			sawRest = sawRest || (c.Unknown.IsAll() && len(c.Reasons) > 0)
		}
	}
	if !sawRest {
		t.Error("the unfenced pod's traffic outside is not unknown")
	}
	// The S3 prefix list and the DNS /32 cut the address space.
	var ids []string
	for _, p := range res.Peers {
		if p.Kind == KindExternal && len(p.CIDRs) == 1 {
			ids = append(ids, p.ID)
		}
	}
	if s := strings.Join(ids, " "); !strings.Contains(s, "3.5.0.0/19") || !strings.Contains(s, "10.0.0.2/32") || !strings.Contains(s, "52.217.0.0/16") {
		t.Errorf("external peers %s do not follow the security group rules", s)
	}
	// Without security groups, the NetworkPolicy alone decides and no
	// layers are reported.
	w.SecurityGroups = nil
	res, _ = Reach(w, Options{})
	for _, c := range res.Connections {
		if c.Layers != nil {
			t.Fatalf("layers reported without security groups: %+v", c)
		}
		if c.Src == "ml/train" && c.Dst == "52.216.0.0/16" && !c.Allow.IsAll() {
			t.Errorf("NetworkPolicy alone: %s", c.Allow)
		}
	}
}

func mustSelector(s string) *metav1.LabelSelector {
	sel, err := metav1.ParseToLabelSelector(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func TestExplainDestination(t *testing.T) {
	pfx := netip.MustParsePrefix
	w := &model.World{
		Namespaces:     []*model.Namespace{{Meta: model.Meta{Name: "ml", Labels: map[string]string{model.NamespaceNameLabel: "ml"}}}},
		Nodes:          []*model.Node{{Meta: model.Meta{Name: "n1"}, ProviderID: "aws:///us-east-1a/i-1"}},
		Instances:      []*model.Instance{{ID: "i-1", Groups: []string{"sg-node"}}},
		SecurityGroups: []*model.SecurityGroup{{ID: "sg-node", Egress: []model.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixLists: []string{"pl-unknown"}}, {Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []netip.Prefix{pfx("52.216.0.0/15")}}}}},
		Workloads:      []*model.Workload{{Meta: model.Meta{Kind: "Deployment", Namespace: "ml", Name: "train"}, Pods: []*model.PodTemplate{{Replicas: 2, Labels: map[string]string{"app": "train"}}}}},
		Policies: []*model.NetworkPolicy{{Meta: model.Meta{Namespace: "ml", Name: "s3"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *mustSelector("app=train"), PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "52.216.0.0/16"}}}}},
		}}},
	}
	a, err := Analyse(w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b netipx.IPSetBuilder
	b.AddPrefix(pfx("52.216.0.0/15"))
	b.AddPrefix(pfx("3.5.0.0/19"))
	dst, _ := b.IPSet()
	e, err := ExplainDestination(a, "ml/train", Destination{Name: "aws:S3:us-east-1", Set: dst}, 0, 443)
	if err != nil {
		t.Fatal(err)
	}
	if e.Verdict != "partly allowed" || e.NetworkPolicy.AllowedIPv4 != 65536 || e.NetworkPolicy.TotalIPv4 != 131072+8192 {
		t.Errorf("NetworkPolicy coverage %+v, verdict %s", e.NetworkPolicy, e.Verdict)
	}
	if sg := e.SecurityGroups; sg == nil || sg.AllowedIPv4 != 131072 || strings.Join(sg.Unresolved, ",") != "pl-unknown" {
		t.Errorf("security groups coverage %+v", e.SecurityGroups)
	}
	if strings.Join(e.Both.Allowed, ",") != "52.216.0.0/16" || strings.Join(e.Both.Blocked, ",") != "3.5.0.0/19,52.217.0.0/16" {
		t.Errorf("both: allowed %v blocked %v", e.Both.Allowed, e.Both.Blocked)
	}
	if e, _ := ExplainDestination(a, "ml/train", Destination{Name: "d", Set: dst}, 0, 80); e.Verdict != "denied" {
		t.Errorf("port 80: %s", e.Verdict)
	}
}

// Between pods, a security group verdict is given only when certain.
func TestPodToPodSecurityGroups(t *testing.T) {
	pfx := netip.MustParsePrefix
	world := func(ingress model.SGRule, sameNode bool) *model.World {
		dstNode := "n2"
		if sameNode {
			dstNode = "n1"
		}
		return &model.World{
			Namespaces: []*model.Namespace{{Meta: model.Meta{Name: "ml", Labels: map[string]string{model.NamespaceNameLabel: "ml"}}}},
			Nodes: []*model.Node{
				{Meta: model.Meta{Name: "n1"}, ProviderID: "aws:///us-east-1a/i-1"},
				{Meta: model.Meta{Name: "n2"}, ProviderID: "aws:///us-east-1a/i-2"},
			},
			Instances: []*model.Instance{{ID: "i-1", Groups: []string{"sg-a"}}, {ID: "i-2", Groups: []string{"sg-b"}}},
			SecurityGroups: []*model.SecurityGroup{
				{ID: "sg-a", Egress: []model.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []netip.Prefix{pfx("0.0.0.0/0")}}}},
				{ID: "sg-b", Ingress: []model.SGRule{ingress}, Egress: []model.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []netip.Prefix{pfx("0.0.0.0/0")}}}},
			},
			Workloads: []*model.Workload{
				{Meta: model.Meta{Kind: "Pod", Namespace: "ml", Name: "src"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "src"}, PodSpec: model.PodSpec{NodeName: "n1"}}}},
				{Meta: model.Meta{Kind: "Pod", Namespace: "ml", Name: "dst"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "dst"}, PodSpec: model.PodSpec{NodeName: dstNode}}}},
			},
		}
	}
	conn := func(w *model.World) *Connection { return connection(t, w, "ml/src", "ml/dst") }
	// The destination's group admits the source's group on 8080: certain.
	c := conn(world(model.SGRule{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-a"}}, false))
	if c == nil || c.Allow.String() != "TCP 8080" || c.Layers.SecurityGroups == nil || c.Layers.SecurityGroups.String() != "TCP 8080" || !c.Layers.NetworkPolicy.IsAll() {
		t.Errorf("group reference: %+v layers np=%v sg=%v", c, c.Layers.NetworkPolicy, c.Layers.SecurityGroups)
	}
	// No rule could admit a private address: certainly denied.
	if c := conn(world(model.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []netip.Prefix{pfx("203.0.113.0/24")}}, false)); c != nil {
		t.Errorf("public-only ingress admits a pod: %+v", c)
	}
	// A rule for part of the private space: unknown, bounded by it.
	c = conn(world(model.SGRule{Protocol: "tcp", FromPort: 5432, ToPort: 5432, CIDRs: []netip.Prefix{pfx("10.0.1.0/24")}}, false))
	// The layer says so: nothing surely allowed, TCP 5432 unknown.
	if c == nil || !c.Allow.IsEmpty() || c.Unknown.String() != "TCP 5432" || c.Layers.SecurityGroups == nil || !c.Layers.SecurityGroups.IsEmpty() || c.Layers.SecurityGroupsUnknown.String() != "TCP 5432" || len(c.Reasons) == 0 {
		t.Errorf("partial CIDR: %+v", c)
	}
	// On one node no interface is crossed: the group may not apply, so
	// everything is unknown.
	c = conn(world(model.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []netip.Prefix{pfx("203.0.113.0/24")}}, true))
	if c == nil || !c.Allow.IsEmpty() || !c.Unknown.IsAll() || c.Layers.SecurityGroups == nil || !c.Layers.SecurityGroupsUnknown.IsAll() || !strings.Contains(strings.Join(c.Reasons, " "), "same node") {
		t.Errorf("same node: %+v", c)
	}
}
