package gencluster

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type policyGen func(g *nsGen) (name string, spec netv1.NetworkPolicySpec)

// policyKinds weights the optional policies by how often tenants write them;
// a namespace draws without replacement so its policies differ.
var policyKinds = []struct {
	gen    policyGen
	weight int
}{
	{intraNS, 4}, {crossNS, 3}, {s3Egress, 2},
	{sameNS, 1}, {portRange, 1}, {udpOnly, 1}, {public, 1},
}

// policies writes n policies: most tenants start from a default deny plus
// DNS egress, then add allow rules on top.
func (g *nsGen) policies(n int) {
	var gens []policyGen
	if g.chance(0.9) {
		gens = append(gens, defaultDeny)
	}
	gens = append(gens, dnsEgress)
	pool := slices.Clone(policyKinds)
	for len(gens) < n {
		if len(pool) == 0 {
			pool = slices.Clone(policyKinds)
		}
		total := 0
		for _, k := range pool {
			total += k.weight
		}
		x, i := g.r.IntN(total), 0
		for ; x >= pool[i].weight; i++ {
			x -= pool[i].weight
		}
		gens = append(gens, pool[i].gen)
		pool = slices.Delete(pool, i, i+1)
	}
	for _, gen := range gens[:min(n, len(gens))] {
		base, spec := gen(g)
		name := base
		for k := 2; g.names[name]; k++ {
			name = fmt.Sprintf("%s-%d", base, k)
		}
		g.names[name] = true
		if spec.PolicyTypes == nil {
			g.count("no-policyTypes")
		}
		g.count("policies")
		g.emit("networking.k8s.io/v1", "NetworkPolicy", name, nil, spec)
	}
}

var (
	tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
	ingress  = netv1.PolicyTypeIngress
	egress   = netv1.PolicyTypeEgress
)

func named(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
func num(n int32) *intstr.IntOrString    { v := intstr.FromInt32(n); return &v }

func labelSel(kv ...string) metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return metav1.LabelSelector{MatchLabels: m}
}

// types returns ts, or nil with probability omit to exercise the API's
// defaulting (Ingress always, Egress only if egress rules exist).
func (g *nsGen) types(omit float64, ts ...netv1.PolicyType) []netv1.PolicyType {
	if g.chance(omit) {
		return nil
	}
	return ts
}

func (g *nsGen) target() workload {
	if len(g.work) == 0 {
		return workload{"web", "web", "v1", []corev1.ContainerPort{port("http", 8080, tcp)}}
	}
	return pick(g.r, g.work...)
}

// policyPort refers to a container port by name or number; protocol is often
// left to default to TCP, as people write it.
func (g *nsGen) policyPort(cp corev1.ContainerPort) netv1.NetworkPolicyPort {
	p := netv1.NetworkPolicyPort{Port: num(cp.ContainerPort)}
	if g.chance(0.5) {
		p.Port = named(cp.Name)
		g.count("port=named")
	} else {
		g.count("port=numeric")
	}
	if cp.Protocol != tcp || g.chance(0.5) {
		p.Protocol = &cp.Protocol
	}
	return p
}

func defaultDeny(g *nsGen) (string, netv1.NetworkPolicySpec) {
	if g.chance(0.8) {
		g.count("default-deny-all")
		return "default-deny", netv1.NetworkPolicySpec{PolicyTypes: []netv1.PolicyType{ingress, egress}}
	}
	g.count("default-deny-ingress")
	return "default-deny-ingress", netv1.NetworkPolicySpec{PolicyTypes: []netv1.PolicyType{ingress}}
}

func dnsEgress(g *nsGen) (string, netv1.NetworkPolicySpec) {
	ports := []netv1.NetworkPolicyPort{{Protocol: &udp, Port: num(53)}, {Protocol: &tcp, Port: num(53)}}
	if g.chance(0.15) { // names resolved on the CoreDNS pods, not the source
		ports = []netv1.NetworkPolicyPort{{Protocol: &udp, Port: named("dns")}, {Protocol: &tcp, Port: named("dns-tcp")}}
		g.count("dns-named-ports")
	}
	g.count("dns-egress")
	return "allow-dns-egress", netv1.NetworkPolicySpec{
		PolicyTypes: []netv1.PolicyType{egress},
		Egress: []netv1.NetworkPolicyEgressRule{{Ports: ports, To: []netv1.NetworkPolicyPeer{{
			NamespaceSelector: new(labelSel("kubernetes.io/metadata.name", "kube-system")),
			PodSelector:       new(labelSel("k8s-app", "kube-dns")),
		}}}},
	}
}

func intraNS(g *nsGen) (string, netv1.NetworkPolicySpec) {
	dst, src := g.target(), g.target().tier
	var sel metav1.LabelSelector
	switch r := g.r.Float64(); {
	case r < 0.5:
		sel = labelSel("tier", dst.tier)
	case r < 0.8:
		sel = labelSel("app", dst.app)
	default:
		sel = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{dst.app}},
			{Key: "version", Operator: metav1.LabelSelectorOpExists}}}
		g.count("podSelector-matchExpressions")
	}
	spec := netv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: g.types(0.3, ingress)}
	rule := netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{{PodSelector: new(labelSel("tier", src))}}}
	for _, i := range g.r.Perm(len(dst.ports))[:1+g.r.IntN(len(dst.ports))] {
		rule.Ports = append(rule.Ports, g.policyPort(dst.ports[i]))
	}
	spec.Ingress = []netv1.NetworkPolicyIngressRule{rule}
	if g.chance(0.2) { // also pin the target's egress to its database
		spec.PolicyTypes = []netv1.PolicyType{ingress, egress}
		spec.Egress = []netv1.NetworkPolicyEgressRule{{
			To:    []netv1.NetworkPolicyPeer{{PodSelector: new(labelSel("tier", "db"))}},
			Ports: []netv1.NetworkPolicyPort{{Port: named("db")}, {Protocol: &tcp, Port: num(6379)}},
		}}
		g.count("ingress+egress-policy")
	}
	g.count("intra-namespace-allow")
	return fmt.Sprintf("allow-%s-to-%s", src, dst.app), spec
}

// nsSelector combines one or two namespace label requirements drawn from the
// labels tenant namespaces actually carry.
func (g *nsGen) nsSelector() *metav1.LabelSelector {
	team := func() string { return fmt.Sprintf("team-%02d", g.r.IntN(20)) }
	reqs := []metav1.LabelSelectorRequirement{
		{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{team(), team()}},
		{Key: "team", Operator: metav1.LabelSelectorOpNotIn, Values: []string{team()}},
		{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod"}},
		{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"dev"}},
		{Key: "ml", Operator: metav1.LabelSelectorOpExists},
		{Key: "ml", Operator: metav1.LabelSelectorOpDoesNotExist},
	}
	if reqs[0].Values[0] == reqs[0].Values[1] {
		reqs[0].Values = reqs[0].Values[:1]
	} else if reqs[0].Values[0] > reqs[0].Values[1] {
		reqs[0].Values[0], reqs[0].Values[1] = reqs[0].Values[1], reqs[0].Values[0]
	}
	perm := g.r.Perm(len(reqs))
	sel := &metav1.LabelSelector{}
	for _, i := range perm[:1+g.r.IntN(2)] {
		sel.MatchExpressions = append(sel.MatchExpressions, reqs[i])
		g.count("nsSelector-" + string(reqs[i].Operator))
	}
	if g.chance(0.1) {
		sel.MatchLabels = map[string]string{"env": "prod"}
		g.count("nsSelector-matchLabels+expressions")
	}
	return sel
}

func crossNS(g *nsGen) (string, netv1.NetworkPolicySpec) {
	dst := g.target()
	peers := []netv1.NetworkPolicyPeer{{NamespaceSelector: g.nsSelector(), PodSelector: new(labelSel("tier", pick(g.r, "web", "api", "worker")))}}
	if g.chance(0.3) { // OR'd with a local peer in the same rule
		peers = append(peers, netv1.NetworkPolicyPeer{PodSelector: new(labelSel("tier", g.target().tier))})
		g.count("multi-peer-rule")
	}
	ports := []netv1.NetworkPolicyPort{g.policyPort(pick(g.r, dst.ports...))}
	g.count("cross-namespace-allow")
	if g.chance(0.7) {
		return "allow-xns-to-" + dst.app, netv1.NetworkPolicySpec{
			PodSelector: labelSel("app", dst.app),
			PolicyTypes: g.types(0.3, ingress),
			Ingress:     []netv1.NetworkPolicyIngressRule{{From: peers, Ports: ports}},
		}
	}
	// Egress to other tenants' APIs: "http" resolves on the remote pods.
	g.count("cross-namespace-egress")
	return "allow-xns-egress-" + dst.tier, netv1.NetworkPolicySpec{
		PodSelector: labelSel("tier", dst.tier),
		PolicyTypes: []netv1.PolicyType{egress},
		Egress:      []netv1.NetworkPolicyEgressRule{{To: peers[:1], Ports: []netv1.NetworkPolicyPort{{Port: named("http")}}}},
	}
}

// s3Blocks are AWS S3 ranges (us-east-1 style), with a few carve-outs.
var s3Blocks = []netv1.IPBlock{
	{CIDR: "52.216.0.0/15"},
	{CIDR: "3.5.0.0/19", Except: []string{"3.5.8.0/22"}},
	{CIDR: "16.15.192.0/18"},
	{CIDR: "54.231.0.0/16", Except: []string{"54.231.128.0/17"}},
	{CIDR: "52.92.16.0/20"},
	{CIDR: "18.34.0.0/19"},
	{CIDR: "3.5.64.0/21"},
	{CIDR: "2600:1f18::/33", Except: []string{"2600:1f18:4000::/36"}},
}

func s3Egress(g *nsGen) (string, netv1.NetworkPolicySpec) {
	var sel metav1.LabelSelector
	if g.chance(0.6) {
		sel = labelSel("tier", g.target().tier)
	}
	rule := netv1.NetworkPolicyEgressRule{Ports: []netv1.NetworkPolicyPort{{Port: num(443)}}}
	if g.chance(0.5) {
		rule.Ports[0].Protocol = &tcp
	}
	perm := g.r.Perm(len(s3Blocks))
	for _, i := range perm[:2+g.r.IntN(4)] {
		b := s3Blocks[i]
		rule.To = append(rule.To, netv1.NetworkPolicyPeer{IPBlock: &b})
		if b.Except != nil {
			g.count("ipBlock-except")
		}
		if i == len(s3Blocks)-1 {
			g.count("ipBlock-ipv6")
		}
	}
	g.count("s3-ipBlock-egress")
	// Omitting policyTypes here also isolates ingress, a classic mistake.
	return "allow-s3-egress", netv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: g.types(0.2, egress),
		Egress: []netv1.NetworkPolicyEgressRule{rule}}
}

func sameNS(g *nsGen) (string, netv1.NetworkPolicySpec) {
	g.count("same-namespace-allow")
	return "allow-same-namespace", netv1.NetworkPolicySpec{PolicyTypes: g.types(0.3, ingress),
		Ingress: []netv1.NetworkPolicyIngressRule{{From: []netv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}}
}

func portRange(g *nsGen) (string, netv1.NetworkPolicySpec) {
	g.count("endPort-range")
	if g.chance(0.5) {
		return "allow-nodeport-range", netv1.NetworkPolicySpec{
			PodSelector: labelSel("tier", g.target().tier),
			PolicyTypes: []netv1.PolicyType{ingress},
			Ingress: []netv1.NetworkPolicyIngressRule{{
				From:  []netv1.NetworkPolicyPeer{{IPBlock: &netv1.IPBlock{CIDR: "10.0.0.0/8"}}},
				Ports: []netv1.NetworkPolicyPort{{Protocol: &tcp, Port: num(30000), EndPort: new(int32(30100))}},
			}},
		}
	}
	return "allow-egress-high-ports", netv1.NetworkPolicySpec{
		PodSelector: labelSel("tier", g.target().tier),
		PolicyTypes: []netv1.PolicyType{egress},
		Egress: []netv1.NetworkPolicyEgressRule{{
			To:    []netv1.NetworkPolicyPeer{{IPBlock: &netv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "169.254.169.254/32"}}}},
			Ports: []netv1.NetworkPolicyPort{{Port: num(8000), EndPort: new(int32(8999))}},
		}},
	}
}

// udpOnly uses a port with a protocol and no number: every UDP port.
func udpOnly(g *nsGen) (string, netv1.NetworkPolicySpec) {
	g.count("protocol-only-port")
	spec := netv1.NetworkPolicySpec{PodSelector: labelSel("tier", g.target().tier)}
	ports := []netv1.NetworkPolicyPort{{Protocol: &udp}}
	if g.chance(0.5) {
		spec.PolicyTypes = []netv1.PolicyType{egress}
		spec.Egress = []netv1.NetworkPolicyEgressRule{{Ports: ports,
			To: []netv1.NetworkPolicyPeer{{NamespaceSelector: new(labelSel("env", "prod"))}}}}
		return "allow-udp-telemetry-egress", spec
	}
	spec.PolicyTypes = g.types(0.3, ingress)
	spec.Ingress = []netv1.NetworkPolicyIngressRule{{Ports: ports, From: []netv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}
	return "allow-udp-telemetry", spec
}

// public opens a web tier to everyone: an empty rule, or a port-only rule.
func public(g *nsGen) (string, netv1.NetworkPolicySpec) {
	g.count("allow-all-rule")
	rule := netv1.NetworkPolicyIngressRule{}
	if g.chance(0.5) {
		rule.Ports = []netv1.NetworkPolicyPort{{Port: named("http")}}
	}
	return "allow-public-web", netv1.NetworkPolicySpec{PodSelector: labelSel("tier", "web"),
		PolicyTypes: g.types(0.3, ingress), Ingress: []netv1.NetworkPolicyIngressRule{rule}}
}
