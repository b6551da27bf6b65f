package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The oracle evaluates the API reference literally, pod pair by pod pair
// and port by port, with the API machinery's own selectors: no identities,
// no caches, no partition. The fast engine must agree with it everywhere.

var samplePorts = []int32{1, 53, 79, 80, 81, 443, 8080, 65535}

type oraclePod struct {
	ns     string
	name   string
	labels map[string]string
	ports  []model.Port
	ip     netip.Addr // invalid when unknown
	host   bool
}

func oracleTypes(p *model.NetworkPolicy) (ingress, egress bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		return true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
		egress = egress || t == networkingv1.PolicyTypeEgress
	}
	return ingress, egress
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		panic(err)
	}
	return s.Matches(labels.Set(l))
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	cidr := netip.MustParsePrefix(b.CIDR).Masked()
	if !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if netip.MustParsePrefix(e).Masked().Contains(ip) {
			return false
		}
	}
	return true
}

// peerMatches: other is the pod at the far end (nil for an address ip).
func peerMatches(w *model.World, p *model.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer, other *oraclePod, ip netip.Addr) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			addr := ip
			if other != nil {
				addr = other.ip
			}
			if inBlock(peer.IPBlock, addr) {
				return true
			}
			continue
		}
		if other == nil || other.host {
			continue
		}
		nsOK := other.ns == p.Namespace
		if peer.NamespaceSelector != nil {
			nsOK = selects(peer.NamespaceSelector, nsLabels(w, other.ns))
		}
		podOK := peer.PodSelector == nil || selects(peer.PodSelector, other.labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func nsLabels(w *model.World, name string) map[string]string {
	for _, ns := range w.Namespaces {
		if ns.Name == name {
			return ns.Labels
		}
	}
	return nil
}

// portMatches: dst is the pod named ports resolve on (nil: an address).
func portMatches(ports []networkingv1.NetworkPolicyPort, dst *oraclePod, proto corev1.Protocol, n int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if dst == nil {
				continue
			}
			for _, cp := range dst.ports {
				if cp.Name == p.Port.StrVal && cp.Protocol == proto && cp.Port == n {
					return true
				}
			}
		case p.EndPort != nil:
			if n >= p.Port.IntVal && n <= *p.EndPort {
				return true
			}
		case n == p.Port.IntVal:
			return true
		}
	}
	return false
}

// oracleAllowed: src or dst may be nil for an address (ip).
func oracleAllowed(w *model.World, src, dst *oraclePod, ip netip.Addr, proto corev1.Protocol, n int32) bool {
	egressOK, ingressOK := true, true
	if src != nil && !src.host {
		isolated, ok := false, false
		for _, p := range w.Policies {
			if p.Namespace != src.ns || !selects(&p.Spec.PodSelector, src.labels) {
				continue
			}
			if _, e := oracleTypes(p); !e {
				continue
			}
			isolated = true
			for _, r := range p.Spec.Egress {
				if peerMatches(w, p, r.To, dst, ip) && portMatches(r.Ports, dst, proto, n) {
					ok = true
				}
			}
		}
		egressOK = !isolated || ok
	}
	if dst != nil && !dst.host {
		isolated, ok := false, false
		for _, p := range w.Policies {
			if p.Namespace != dst.ns || !selects(&p.Spec.PodSelector, dst.labels) {
				continue
			}
			if i, _ := oracleTypes(p); !i {
				continue
			}
			isolated = true
			for _, r := range p.Spec.Ingress {
				if peerMatches(w, p, r.From, src, ip) && portMatches(r.Ports, dst, proto, n) {
					ok = true
				}
			}
		}
		ingressOK = !isolated || ok
	}
	return egressOK && ingressOK
}

// randomWorld builds namespaces x, y, z with bare pods and random policies
// drawn from a small vocabulary, so that selectors often collide.
func randomWorld(r *rand.Rand) (*model.World, []*oraclePod) {
	w := &model.World{}
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	var pods []*oraclePod
	for _, ns := range []string{"x", "y", "z"} {
		labels := map[string]string{model.NamespaceNameLabel: ns}
		if r.IntN(2) == 0 {
			labels["env"] = pick("prod", "dev")
		}
		w.Namespaces = append(w.Namespaces, &model.Namespace{Meta: model.Meta{Kind: "Namespace", Name: ns, Labels: labels}})
		for i := 0; i < 1+r.IntN(3); i++ {
			p := &oraclePod{ns: ns, name: fmt.Sprintf("p%d", i), labels: map[string]string{}}
			for _, k := range []string{"app", "tier"} {
				if r.IntN(3) > 0 {
					p.labels[k] = pick("a", "b", "c")
				}
			}
			for _, port := range []model.Port{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "http", Port: 8080, Protocol: "TCP"}, {Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "web", Port: 81, Protocol: "SCTP"}} {
				if r.IntN(3) == 0 && !hasName(p.ports, port.Name, port.Protocol) {
					p.ports = append(p.ports, port)
				}
			}
			if r.IntN(3) == 0 {
				p.ip = netip.AddrFrom4([4]byte{10, byte(r.IntN(3)), 0, byte(1 + r.IntN(200))})
			}
			p.host = r.IntN(15) == 0
			pods = append(pods, p)
			t := &model.PodTemplate{Replicas: 1, Labels: p.labels, PodSpec: model.PodSpec{HostNetwork: p.host, Containers: []model.Container{{Name: "c", Ports: p.ports}}}}
			if p.ip.IsValid() {
				t.IPs = []netip.Addr{p.ip}
			}
			w.Workloads = append(w.Workloads, &model.Workload{Meta: model.Meta{Kind: "Pod", Namespace: ns, Name: p.name}, Pods: []*model.PodTemplate{t}})
		}
	}
	selector := func() *metav1.LabelSelector {
		switch r.IntN(5) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return &metav1.LabelSelector{MatchLabels: map[string]string{pick("app", "tier"): pick("a", "b", "c")}}
		case 2:
			op := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}[r.IntN(4)]
			req := metav1.LabelSelectorRequirement{Key: pick("app", "tier"), Operator: op}
			if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
				req.Values = []string{pick("a", "b"), "c"}
			}
			return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
		case 3:
			return &metav1.LabelSelector{MatchLabels: map[string]string{"app": pick("a", "b")}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}}}
		}
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nope"}}
	}
	nsSelector := func() *metav1.LabelSelector {
		switch r.IntN(3) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: pick("x", "y", "z")}}
		}
		req := metav1.LabelSelectorRequirement{Key: "env", Operator: []metav1.LabelSelectorOperator{metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist, metav1.LabelSelectorOpIn}[r.IntN(3)]}
		if req.Operator == metav1.LabelSelectorOpIn {
			req.Values = []string{"prod"}
		}
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
	}
	blocks := []networkingv1.IPBlock{
		{CIDR: "10.0.0.0/8"}, {CIDR: "10.1.0.0/16"}, {CIDR: "10.0.0.77/24", Except: []string{"10.0.0.128/25"}},
		{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}, {CIDR: "52.216.0.0/15"}, {CIDR: "2600:1f18::/33"},
	}
	peers := func() []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for i := r.IntN(3); i > 0; i-- {
			switch r.IntN(4) {
			case 0:
				out = append(out, networkingv1.NetworkPolicyPeer{PodSelector: selector()})
			case 1:
				out = append(out, networkingv1.NetworkPolicyPeer{NamespaceSelector: nsSelector()})
			case 2:
				out = append(out, networkingv1.NetworkPolicyPeer{NamespaceSelector: nsSelector(), PodSelector: selector()})
			default:
				b := blocks[r.IntN(len(blocks))]
				b.Except = append([]string(nil), b.Except...)
				out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: &b})
			}
		}
		return out
	}
	ports := func() []networkingv1.NetworkPolicyPort {
		var out []networkingv1.NetworkPolicyPort
		for i := r.IntN(3); i > 0; i-- {
			var p networkingv1.NetworkPolicyPort
			if r.IntN(2) == 0 {
				proto := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}[r.IntN(3)]
				p.Protocol = &proto
			}
			switch r.IntN(4) {
			case 0:
				v := intstr.FromInt32([]int32{53, 80, 443, 8080}[r.IntN(4)])
				p.Port = &v
			case 1:
				v := intstr.FromString(pick("http", "dns", "web"))
				p.Port = &v
			case 2:
				v := intstr.FromInt32(80)
				end := int32(81 + r.IntN(8000))
				p.Port, p.EndPort = &v, &end
			}
			out = append(out, p)
		}
		return out
	}
	for i := r.IntN(6); i > 0; i-- {
		p := &model.NetworkPolicy{Meta: model.Meta{Kind: "NetworkPolicy", Namespace: pick("x", "y", "z"), Name: fmt.Sprintf("np%d", i)}}
		p.Spec.PodSelector = *selector()
		switch r.IntN(4) {
		case 1:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		case 2:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		case 3:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		}
		for j := r.IntN(3); j > 0; j-- {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers(), Ports: ports()})
		}
		for j := r.IntN(3); j > 0; j-- {
			p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers(), Ports: ports()})
		}
		w.Policies = append(w.Policies, p)
	}
	return w, pods
}

func hasName(ps []model.Port, name string, proto corev1.Protocol) bool {
	for _, p := range ps {
		if p.Name == name && p.Protocol == proto {
			return true
		}
	}
	return false
}

func TestEngineAgreesWithOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for iter := 0; iter < 400; iter++ {
		w, pods := randomWorld(r)
		res, err := Reach(w, Options{Level: LevelWorkload})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]netset.Ports{}
		for _, c := range append(append([]Connection(nil), res.Connections...), res.Self...) {
			got[c.Src+" => "+c.Dst] = c.Allow
		}
		byID := map[string]*oraclePod{}
		for _, p := range pods {
			byID[p.ns+"/"+p.name] = p
		}
		check := func(key string, src, dst *oraclePod, ip netip.Addr) {
			for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
				np, _ := netset.ParseProtocol(proto)
				for _, n := range samplePorts {
					want := oracleAllowed(w, src, dst, ip, proto, n)
					if have := got[key].Contains(np, n); have != want {
						t.Fatalf("iteration %d: %s %s/%d: engine %v, oracle %v\npolicies: %s", iter, key, proto, n, have, want, describe(w))
					}
				}
			}
		}
		for _, s := range pods {
			for _, d := range pods {
				check(s.ns+"/"+s.name+" => "+d.ns+"/"+d.name, s, d, netip.Addr{})
			}
		}
		for _, peer := range res.Peers {
			if peer.Kind != KindExternal {
				continue
			}
			ip := netip.MustParsePrefix(peer.CIDRs[0]).Addr()
			for _, p := range pods {
				check(p.ns+"/"+p.name+" => "+peer.ID, p, nil, ip)
				check(peer.ID+" => "+p.ns+"/"+p.name, nil, p, ip)
			}
		}
	}
}

func describe(w *model.World) string {
	s := ""
	for _, p := range w.Policies {
		s += fmt.Sprintf("\n%s/%s %+v", p.Namespace, p.Name, p.Spec)
	}
	return s
}
