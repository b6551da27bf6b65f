package whatif

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/traffic"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels and annotations of learned objects.
const (
	ManagedByLabel     = "app.kubernetes.io/managed-by"
	LearnedAnnotation  = "ringfence.dev/learned-from"
	learnedPolicyRoot  = "ringfence-learned-"
	learnedFenceSuffix = "-learned"
)

// Addition is one rule learn proposes, and why.
type Addition struct {
	// Direction is egress (a rule on Workload's egress) or ingress.
	Direction string `json:"direction"`
	Workload  string `json:"workload"`
	// Peer is the other end: a workload, an AWS service's ranges, or
	// addresses.
	Peer  string   `json:"peer"`
	Ports []string `json:"ports"`
	// CIDRs are the ipBlocks the rule names, when it names addresses.
	CIDRs   []string `json:"cidrs,omitempty"`
	Intent  string   `json:"fenceIntent,omitempty"`
	Flows   int      `json:"flows"`
	Records uint64   `json:"records"`
	Why     []string `json:"why"`
	Warning string   `json:"warning,omitempty"`

	key     string
	side    traffic.Endpoint
	peers   []networkingv1.NetworkPolicyPeer
	ports   map[string]networkingv1.NetworkPolicyPort
	intent  *v1alpha1.EgressIntent
	refused bool
}

// Learned is what learn proposes.
type Learned struct {
	Additions []Addition                    `json:"additions"`
	Policies  []*networkingv1.NetworkPolicy `json:"networkPolicies"`
	Fences    []*v1alpha1.Fence             `json:"fences"`
	// Refused are flows learn will not allow, and why.
	Refused  []string `json:"refused,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Learn proposes the smallest additions that allow the observed flows the
// inputs deny: NetworkPolicy rules added beside the existing policies
// (policies add up, so nothing else changes), and the same needs as Fence
// intents. Peers are grouped: an AWS service's published ranges in a
// region (aggregated), a workload's pods (by their labels), and otherwise
// the observed addresses one by one (never 0.0.0.0/0 or ::/0). The
// instance metadata service is never proposed.
func Learn(r *Report, w *model.World, doc *ranges.Document, source string) *Learned {
	out := &Learned{}
	adds := map[string]*Addition{}
	var order []string
	for _, f := range r.Flows {
		if f.Status != Breaks {
			continue
		}
		if f.Ambiguous != "" {
			// Which side opened it decides which rule would be needed; a
			// guess could open ingress from the internet for replies.
			out.Refused = appendUnique(out.Refused, fmt.Sprintf("%s -> %s %s: %s; learn does not guess a direction (a v3+ custom format with tcp-flags, or the security groups in the inputs, would tell)", f.Source, f.Destination, flowPorts(f), f.Ambiguous))
			continue
		}
		for _, d := range f.Proposed.Denials {
			if d.Layer != "NetworkPolicy" {
				out.Refused = appendUnique(out.Refused, fmt.Sprintf("%s -> %s %s: denied by the security groups (%s); learn writes NetworkPolicies only: add the security group rule", f.Source, f.Destination, flowPorts(f), strings.Join(d.By, "; ")))
				continue
			}
			a := addition(f, d.Direction, w, doc)
			if a.refused {
				out.Refused = appendUnique(out.Refused, a.Warning)
				continue
			}
			cur, ok := adds[a.key]
			if !ok {
				cur = a
				adds[a.key] = a
				order = append(order, a.key)
			} else {
				for k, p := range a.ports {
					cur.ports[k] = p
				}
				cur.peers = mergePeers(cur.peers, a.peers)
			}
			cur.Flows++
			cur.Records += f.Records
			to := f.Destination
			if len(f.Addresses) > 0 {
				to += " " + strings.Join(f.Addresses, ",")
			}
			cur.Why = append(cur.Why, fmt.Sprintf("%s -> %s %s: %d records, first at %s, denied by %s", f.Source, to, flowPorts(f), f.Records, f.First, strings.Join(d.By, "; ")))
		}
	}
	sort.Strings(order)
	policies := map[string]*networkingv1.NetworkPolicy{}
	fences := map[string]*v1alpha1.Fence{}
	var pnames, fnames []string
	for _, k := range order {
		a := adds[k]
		slices.Sort(a.Why)
		a.Why = slices.Compact(a.Why)
		for p := range a.ports {
			a.Ports = append(a.Ports, p)
		}
		sort.Strings(a.Ports)
		for _, p := range a.peers {
			if p.IPBlock != nil {
				a.CIDRs = append(a.CIDRs, p.IPBlock.CIDR)
			}
		}
		labels := selectLabels(a.side)
		name := learnedPolicyRoot + a.side.Workload.Name + "-" + a.Direction
		np := policies[a.side.Workload.Namespace+"/"+name]
		if np == nil {
			np = &networkingv1.NetworkPolicy{
				TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: a.side.Workload.Namespace,
					Labels:      map[string]string{ManagedByLabel: "ringfence"},
					Annotations: map[string]string{LearnedAnnotation: source}},
				Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: labels}},
			}
			if a.Direction == "egress" {
				np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			} else {
				np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			}
			policies[np.Namespace+"/"+name] = np
			pnames = append(pnames, np.Namespace+"/"+name)
		}
		ports := make([]networkingv1.NetworkPolicyPort, 0, len(a.Ports))
		for _, p := range a.Ports {
			ports = append(ports, a.ports[p])
		}
		if a.Direction == "egress" {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: a.peers, Ports: ports})
		} else {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: a.peers, Ports: ports})
		}
		if a.intent == nil {
			continue
		}
		fname := a.side.Workload.Namespace + "/" + a.side.Workload.Name + learnedFenceSuffix
		fe := fences[fname]
		if fe == nil {
			fe = &v1alpha1.Fence{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: "Fence"},
				ObjectMeta: metav1.ObjectMeta{Name: a.side.Workload.Name + learnedFenceSuffix, Namespace: a.side.Workload.Namespace, Annotations: map[string]string{LearnedAnnotation: source}},
				Spec:       v1alpha1.FenceSpec{Workloads: metav1.LabelSelector{MatchLabels: labels}},
			}
			fences[fname] = fe
			fnames = append(fnames, fname)
		}
		if !hasIntent(fe.Spec.Egress, *a.intent) {
			fe.Spec.Egress = append(fe.Spec.Egress, *a.intent)
		}
	}
	for _, k := range order {
		out.Additions = append(out.Additions, *adds[k])
	}
	sort.Strings(pnames)
	for _, n := range pnames {
		out.Policies = append(out.Policies, policies[n])
	}
	sort.Strings(fnames)
	for _, n := range fnames {
		out.Fences = append(out.Fences, fences[n])
	}
	sort.Strings(out.Refused)
	return out
}

// addition is what one denied side of a flow needs.
func addition(f Flow, direction string, w *model.World, doc *ranges.Document) *Addition {
	side, other := f.src, f.dst
	addrs := f.counts.DstAddrs
	if direction == "ingress" {
		side, other = f.dst, f.src
		addrs = f.counts.SrcAddrs
	}
	a := &Addition{Direction: direction, Workload: side.Name, side: side, ports: map[string]networkingv1.NetworkPolicyPort{}}
	proto := corev1.Protocol(f.Protocol)
	port := intstr.FromInt32(f.Port)
	a.ports[fmt.Sprintf("%s %d", f.Protocol, f.Port)] = networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
	prefix := direction + "|" + side.Workload.Namespace + "/" + side.Workload.Name + "|"
	switch {
	case other.Kind == traffic.KindPod:
		a.Peer = other.Name
		a.key = prefix + "pod|" + other.Name
		peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: selectLabels(other)}}
		if other.Workload.Namespace != side.Workload.Namespace {
			peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: other.Workload.Namespace}}
		}
		a.peers = []networkingv1.NetworkPolicyPeer{peer}
		if direction == "egress" {
			a.intent = podIntent(f, side, other, w)
			if a.intent == nil {
				a.Warning = fmt.Sprintf("no Fence intent names %s on %s %d (no Service forwards to it): the NetworkPolicy selects its pods", other.Name, f.Protocol, f.Port)
			}
		}
	case other.Label == traffic.LabelIMDS:
		a.refused = true
		a.Warning = fmt.Sprintf("%s -> imds %s: refused; the instance metadata service hands out the node role's credentials. Give the pods their own role (IRSA or EKS Pod Identity) and keep IMDS fenced", f.Source, flowPorts(f))
	case isServiceRange(other.Label) && doc != nil && direction == "egress":
		parts := strings.SplitN(strings.TrimPrefix(other.Label, "aws:"), ":", 2)
		a.Peer = other.Label
		a.key = prefix + "aws|" + other.Label
		sel := doc.Select(ranges.Filter{Services: []string{parts[0]}, Regions: []string{parts[1]}})
		for _, p := range ranges.Set(sel).Prefixes() {
			a.peers = append(a.peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.String()}})
		}
		a.intent = &v1alpha1.EgressIntent{AWS: &v1alpha1.AWSDestination{Service: parts[0], Region: parts[1]}}
		if f.Protocol != "TCP" || f.Port != 443 {
			a.intent.AWS.Ports = []v1alpha1.Port{{Protocol: f.Protocol, Port: f.Port}}
		}
	default:
		a.Peer = other.Name
		var cidrs []string
		for _, p := range addrs.Prefixes {
			cidrs = append(cidrs, p.String())
		}
		sort.Strings(cidrs)
		a.key = prefix + "addr|" + other.Name + "|" + strings.Join(cidrs, ",")
		for _, c := range cidrs {
			a.peers = append(a.peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
		}
		a.Warning = fmt.Sprintf("%s is not a service ringfence can name: the rule lists the %d observed addresses one by one; they may change (name the host in a Fence, or use a CNI with DNS-aware policies)", other.Name, len(cidrs))
		if addrs.Widened {
			a.Warning += "; more addresses were seen than are kept one by one: they are covered by the smallest common prefixes"
		}
	}
	return a
}

// isServiceRange reports whether a label names an AWS service whose
// published ranges stand for the service itself (not EC2 or AMAZON, which
// hold anyone's instances).
func isServiceRange(label string) bool {
	if !strings.HasPrefix(label, "aws:") {
		return false
	}
	svc := strings.SplitN(strings.TrimPrefix(label, "aws:"), ":", 2)[0]
	return svc != "EC2" && svc != "AMAZON"
}

// podIntent names a pod destination as a Fence intent: the cluster DNS,
// the workload's own pods, or a Service that forwards to it on the port.
func podIntent(f Flow, side, other traffic.Endpoint, w *model.World) *v1alpha1.EgressIntent {
	if other.Workload == side.Workload {
		return &v1alpha1.EgressIntent{Peers: &v1alpha1.PeersDestination{SameJob: true}}
	}
	for _, s := range w.Services {
		if s.Namespace != other.Workload.Namespace || len(s.Spec.Selector) == 0 {
			continue
		}
		selects := true
		for k, v := range s.Spec.Selector {
			selects = selects && other.Template.Labels[k] == v
		}
		if !selects {
			continue
		}
		for i := range s.Spec.Ports {
			sp := &s.Spec.Ports[i]
			pp := sp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if t, ok := targetPort(sp, other.Template); !ok || t != f.Port || string(pp) != f.Protocol {
				continue
			}
			if s.Namespace == "kube-system" && s.Name == "kube-dns" && f.Port == 53 {
				return &v1alpha1.EgressIntent{DNS: &v1alpha1.DNSDestination{}}
			}
			port := intstr.FromInt32(sp.Port)
			if sp.Name != "" {
				port = intstr.FromString(sp.Name)
			}
			return &v1alpha1.EgressIntent{Service: &v1alpha1.ServiceDestination{Namespace: s.Namespace, Name: s.Name, Port: port}}
		}
	}
	return nil
}

// selectLabels are the labels that select a workload's pods: those every
// template of the workload carries (its roles share them), else the
// template's own.
func selectLabels(e traffic.Endpoint) map[string]string {
	common := map[string]string{}
	for k, v := range e.Workload.Pods[0].Labels {
		common[k] = v
	}
	for _, t := range e.Workload.Pods[1:] {
		for k, v := range common {
			if t.Labels[k] != v {
				delete(common, k)
			}
		}
	}
	if len(common) == 0 {
		return e.Template.Labels
	}
	return common
}

func mergePeers(a, b []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	seen := map[string]bool{}
	for _, p := range a {
		if p.IPBlock != nil {
			seen[p.IPBlock.CIDR] = true
		}
	}
	for _, p := range b {
		if p.IPBlock != nil && !seen[p.IPBlock.CIDR] {
			a = append(a, p)
		}
	}
	return a
}

func hasIntent(is []v1alpha1.EgressIntent, x v1alpha1.EgressIntent) bool {
	key := func(i v1alpha1.EgressIntent) string {
		return fmt.Sprintf("%v|%v|%v|%v|%v", i.AWS, i.DNS != nil, i.Peers, i.Service, i.Host)
	}
	for _, i := range is {
		if i.AWS != nil && x.AWS != nil && i.AWS.Service == x.AWS.Service && i.AWS.Region == x.AWS.Region {
			return true
		}
		if key(i) == key(x) && i.AWS == nil {
			return true
		}
	}
	return false
}

func flowPorts(f Flow) string {
	if f.Port == 0 {
		return f.Protocol
	}
	return fmt.Sprintf("%s %d", f.Protocol, f.Port)
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
