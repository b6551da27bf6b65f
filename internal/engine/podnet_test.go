package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// The VPC CNI's custom networking, written from its documentation and
// ipamd's behaviour (docs/aws.md, "Custom networking"): which ENIConfig a
// node names, and which groups and subnet its pods' interfaces get.
func TestCustomNetworkingTruthTable(t *testing.T) {
	cni := func(on, label, anno, snat string) *model.VPCCNI {
		return &model.VPCCNI{Meta: model.Meta{Kind: "DaemonSet", Namespace: "kube-system", Name: "aws-node"}, CustomNetworking: on, LabelDef: label, AnnotationDef: anno, ExternalSNAT: snat}
	}
	const def = "k8s.amazonaws.com/eniConfig"
	configs := []*model.ENIConfig{
		{Meta: model.Meta{Name: "us-east-1a"}, Subnet: "subnet-pods-a", SecurityGroups: []string{"sg-pods"}},
		{Meta: model.Meta{Name: "default"}, Subnet: "subnet-pods-d"},
		{Meta: model.Meta{Name: "same"}, Subnet: "subnet-node", SecurityGroups: []string{"sg-node"}},
	}
	zone := &model.Node{Meta: model.Meta{Name: "n-zone", Labels: map[string]string{"topology.kubernetes.io/zone": "us-east-1a"}}}
	bare := &model.Node{Meta: model.Meta{Name: "n-bare"}}
	annotated := &model.Node{Meta: model.Meta{Name: "n-anno", Labels: map[string]string{def: "default"}, Annotations: map[string]string{def: "us-east-1a"}}}
	external := &model.Node{Meta: model.Meta{Name: "n-ext", Labels: map[string]string{externalConfigLabel: "same"}, Annotations: map[string]string{def: "us-east-1a"}}}
	missing := &model.Node{Meta: model.Meta{Name: "n-missing", Labels: map[string]string{def: "nope"}}}
	node := []string{"sg-node"}
	cases := []struct {
		name       string
		cni        []*model.VPCCNI
		configs    []*model.ENIConfig
		node       *model.Node
		groups     string // "?" for unknown
		subnet     string
		branch     string // subnet of a SecurityGroupPolicy's pods
		whyContain string
	}{
		{name: "no CNI settings, no ENIConfig: the default, node's interface", node: zone, groups: "sg-node", subnet: "subnet-node", branch: "subnet-node"},
		{name: "custom networking off: ENIConfigs do not apply", cni: []*model.VPCCNI{cni("false", def, def, "false")}, configs: configs, node: annotated, groups: "sg-node", subnet: "subnet-node", branch: "subnet-node"},
		{name: "on, zone label, external SNAT: the ENIConfig's groups and subnet", cni: []*model.VPCCNI{cni("true", "topology.kubernetes.io/zone", def, "true")}, configs: configs, node: zone, groups: "sg-pods", subnet: "subnet-pods-a", branch: "?", whyContain: "branch interfaces"},
		{name: "on, SNAT: traffic beyond the VPC leaves by the node's interface", cni: []*model.VPCCNI{cni("true", "topology.kubernetes.io/zone", def, "false")}, configs: configs, node: zone, groups: "?", subnet: "?", branch: "?", whyContain: "EXTERNALSNAT"},
		{name: "on: annotation before label", cni: []*model.VPCCNI{cni("true", def, def, "true")}, configs: configs, node: annotated, groups: "sg-pods", subnet: "subnet-pods-a", branch: "?"},
		{name: "on: the external label before the annotation", cni: []*model.VPCCNI{cni("true", def, def, "false")}, configs: configs, node: external, groups: "sg-node", subnet: "subnet-node", branch: "subnet-node"},
		{name: "on: no label or annotation names ENIConfig default, no groups means the node's", cni: []*model.VPCCNI{cni("true", def, def, "true")}, configs: configs, node: bare, groups: "sg-node", subnet: "subnet-pods-d", branch: "?"},
		{name: "on: a named ENIConfig not in the inputs", cni: []*model.VPCCNI{cni("true", def, def, "true")}, configs: configs, node: missing, groups: "?", subnet: "?", branch: "?", whyContain: "ENIConfig nope"},
		{name: "on: label definition from valueFrom", cni: []*model.VPCCNI{cni("true", "", def, "true")}, configs: configs, node: zone, groups: "?", subnet: "?", branch: "?", whyContain: "ENI_CONFIG_LABEL_DEF"},
		{name: "ENIConfigs without the aws-node DaemonSet: may be on", configs: configs, node: zone, groups: "?", subnet: "?", branch: "?", whyContain: "may be on"},
		{name: "may be on, but the ENIConfig is the node's own interface", configs: configs, node: external, groups: "sg-node", subnet: "subnet-node", branch: "subnet-node"},
		{name: "setting from valueFrom: may be on", cni: []*model.VPCCNI{cni("", def, def, "true")}, configs: configs, node: annotated, groups: "?", subnet: "?", branch: "?", whyContain: "valueFrom"},
		{name: "two aws-node specs that differ", cni: []*model.VPCCNI{cni("true", def, def, "true"), {Meta: model.Meta{Kind: "DaemonSet", Namespace: "kube-system", Name: "aws-node-2"}, CustomNetworking: "false", LabelDef: def, AnnotationDef: def, ExternalSNAT: "true"}}, configs: configs, node: annotated, groups: "?", subnet: "?", branch: "?", whyContain: "differently"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPodNetwork(&model.World{VPCCNI: c.cni, ENIConfigs: c.configs})
			gs, why1 := p.groups(c.node, node)
			sn, why2 := p.subnet(c.node, "subnet-node", false)
			br, why3 := p.subnet(c.node, "subnet-node", true)
			got := func(v, why string) string {
				if why != "" {
					return "?"
				}
				return v
			}
			if g := got(strings.Join(gs, ","), why1); g != c.groups {
				t.Errorf("groups %q (%s), want %q", g, why1, c.groups)
			}
			if s := got(sn, why2); s != c.subnet {
				t.Errorf("subnet %q (%s), want %q", s, why2, c.subnet)
			}
			if b := got(br, why3); b != c.branch {
				t.Errorf("branch subnet %q (%s), want %q", b, why3, c.branch)
			}
			if all := why1 + why2 + why3; c.whyContain != "" && !strings.Contains(all, c.whyContain) {
				t.Errorf("reasons %q lack %q", all, c.whyContain)
			}
		})
	}
}

// Custom networking changes verdicts: the destination pods' interfaces
// carry the ENIConfig's group, which admits nothing from the source, where
// the node's group admits everything from it.
func TestCustomNetworkingVerdicts(t *testing.T) {
	pfx := netip.MustParsePrefix
	all := []model.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []netip.Prefix{pfx("0.0.0.0/0")}}}
	world := func(on, snat string) *model.World {
		w := &model.World{
			Namespaces: []*model.Namespace{{Meta: model.Meta{Name: "ml", Labels: map[string]string{model.NamespaceNameLabel: "ml"}}}},
			Nodes: []*model.Node{
				{Meta: model.Meta{Name: "n1", Labels: map[string]string{"k8s.amazonaws.com/eniConfig": "pods"}}, ProviderID: "aws:///us-east-1a/i-1"},
				{Meta: model.Meta{Name: "n2", Labels: map[string]string{"k8s.amazonaws.com/eniConfig": "pods"}}, ProviderID: "aws:///us-east-1a/i-2"},
			},
			Instances: []*model.Instance{{ID: "i-1", Groups: []string{"sg-node"}}, {ID: "i-2", Groups: []string{"sg-node"}}},
			SecurityGroups: []*model.SecurityGroup{
				{ID: "sg-node", Ingress: []model.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, Groups: []string{"sg-node", "sg-pods"}}}, Egress: all},
				{ID: "sg-pods", Egress: all},
			},
			ENIConfigs: []*model.ENIConfig{{Meta: model.Meta{Name: "pods"}, Subnet: "subnet-pods", SecurityGroups: []string{"sg-pods"}}},
			Workloads: []*model.Workload{
				{Meta: model.Meta{Kind: "Pod", Namespace: "ml", Name: "src"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "src"}, PodSpec: model.PodSpec{NodeName: "n1"}}}},
				{Meta: model.Meta{Kind: "Pod", Namespace: "ml", Name: "dst"}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": "dst"}, PodSpec: model.PodSpec{NodeName: "n2"}}}},
			},
		}
		if on != "" {
			w.VPCCNI = []*model.VPCCNI{{Meta: model.Meta{Kind: "DaemonSet", Namespace: "kube-system", Name: "aws-node"}, CustomNetworking: on,
				LabelDef: "k8s.amazonaws.com/eniConfig", AnnotationDef: "k8s.amazonaws.com/eniConfig", ExternalSNAT: snat}}
		}
		return w
	}
	conn := func(w *model.World) *Connection { return connection(t, w, "ml/src", "ml/dst") }
	if c := conn(world("false", "false")); c == nil || !c.Allow.IsAll() {
		t.Errorf("custom networking off: the node's group admits the source: %+v", c)
	}
	if c := conn(world("true", "true")); c != nil {
		t.Errorf("custom networking on: the ENIConfig's group admits nothing, yet %+v", c)
	}
	c := conn(world("true", "false"))
	if c == nil || !c.Allow.IsEmpty() || !c.Unknown.IsAll() || !strings.Contains(strings.Join(c.Reasons, " "), "custom networking is on") {
		t.Errorf("custom networking on with SNAT: the pods' groups are not known: %+v", c)
	}
	c = conn(world("", ""))
	if c == nil || !c.Allow.IsEmpty() || !c.Unknown.IsAll() || !strings.Contains(strings.Join(c.Reasons, " "), "may be on") {
		t.Errorf("ENIConfigs without aws-node: unknown: %+v", c)
	}
}

// connection is reach's connection from src to dst in w, nil when none.
func connection(t *testing.T, w *model.World, src, dst string) *Connection {
	t.Helper()
	res, err := Reach(w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Connections {
		if c.Src == src && c.Dst == dst {
			return &c
		}
	}
	return nil
}
