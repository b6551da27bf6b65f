package whatif

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/traffic"
	"go4.org/netipx"
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

	key  string
	side traffic.Endpoint
	// addrs are the observed addresses of an address peer (every role's
	// and flow's), label the block they lie in; covered at the end.
	addrs   []netip.Prefix
	label   string
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
	// Unresolved are flows that would still break with the additions
	// applied (Verify); with Refused, why learn does not converge.
	Unresolved []string `json:"unresolved,omitempty"`
}

// Learn proposes the smallest additions that allow the observed flows the
// inputs deny: NetworkPolicy rules added beside the existing policies
// (policies add up, so nothing else changes), and the same needs as Fence
// intents. Peers are grouped: an AWS service's published ranges in a
// region (aggregated), a workload's pods (by their labels), and otherwise
// the observed addresses one by one (never 0.0.0.0/0 or ::/0). The
// instance metadata service is never proposed.
//
// Observed addresses are covered, per workload, direction and kind of
// peer (one set shared by the workload's roles and ports), by published
// prefixes of their range first (EC2, AMAZON: only those no wider than the
// budget allows), then by the smallest common prefixes, at most
// MaxBlocks, none wider than the addresses widened by widen bits. What
// cannot be covered so is refused, with the reason.
func Learn(r *Report, w *model.World, doc *ranges.Document, source string, widen int) *Learned {
	out := &Learned{}
	adds := map[string]*Addition{}
	var order []string
	for _, f := range r.Flows {
		if f.Status == Ambiguous {
			out.Refused = appendUnique(out.Refused, fmt.Sprintf("%s -> %s %s: %s; learn does not guess a direction", f.Source, f.Destination, flowPorts(f), f.Ambiguous))
			continue
		}
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
				cur.addrs = append(cur.addrs, a.addrs...)
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
	kept := order[:0]
	for _, k := range order {
		a := adds[k]
		if a.label == "" {
			kept = append(kept, k)
			continue
		}
		cidrs, err := Cover(a.addrs, published(doc, a.label), widen)
		if err != nil {
			out.Refused = appendUnique(out.Refused, fmt.Sprintf("%s %s to %s: %v", a.Workload, a.Direction, a.Peer, err))
			continue
		}
		single := true
		for _, c := range cidrs {
			a.peers = append(a.peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c.String()}})
			single = single && c.IsSingleIP()
		}
		blocks := "1 ipBlock"
		if len(cidrs) != 1 {
			blocks = fmt.Sprintf("%d ipBlocks", len(cidrs))
		}
		a.Warning = fmt.Sprintf("%s is not a service ringfence can name: the rule lists the observed addresses (%s); they may change (name the host in a Fence, or use a CNI with DNS-aware policies)", a.Peer, blocks)
		if !single {
			a.Warning += fmt.Sprintf("; prefixes cover addresses that were not observed (within the widening budget of %d bits)", widen)
		}
		kept = append(kept, k)
	}
	order = kept
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
		// Covered in Learn, once every flow to such addresses is known.
		a.Peer = other.Name
		a.key = prefix + "addr|" + other.Name
		a.addrs = append([]netip.Prefix(nil), addrs.Prefixes...)
		a.label = other.Label
		if a.label == "" {
			a.label = other.Name
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

// MaxBlocks bounds the ipBlocks learn writes for one peer of a rule.
const MaxBlocks = 64

// MaxWiden bounds the widening budget: past 16 bits a "host" rule would
// open networks of 65,536 addresses and more.
const MaxWiden = 16

// Cover returns prefixes that cover every observed prefix: for each, the
// smallest published prefix that contains it and is within the budget,
// else itself; then, while there are more than MaxBlocks, the closest
// ones merged into their smallest common prefix. It fails when a prefix
// would be wider than an address widened by widen bits (and so never
// proposes 0.0.0.0/0 or ::/0).
func Cover(observed, published []netip.Prefix, widen int) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(observed))
	for _, p := range observed {
		best := p
		for _, q := range published {
			if q.Bits() <= best.Bits() && q.Contains(p.Addr()) && q.Bits() >= p.Addr().BitLen()-widen && (best == p || q.Bits() > best.Bits()) {
				best = q
			}
		}
		out = append(out, best)
	}
	out = traffic.Shrink(traffic.Normalize(out), MaxBlocks)
	for _, c := range out {
		if limit := c.Addr().BitLen() - widen; c.Bits() < limit || c.Bits() == 0 {
			return nil, fmt.Errorf("its %d observed address blocks need %s or wider to fit in %d ipBlocks, beyond the widening budget of %d bits (/%d): raise --widen-budget, or name the hosts in a Fence (a CNI with DNS-aware policies)", len(observed), c, MaxBlocks, widen, limit)
		}
	}
	return out, nil
}

// published are the published prefixes of a destination's range
// (aws:EC2:us-east-1, aws:AMAZON:GLOBAL), none for other addresses.
func published(doc *ranges.Document, label string) []netip.Prefix {
	if doc == nil || !strings.HasPrefix(label, "aws:") {
		return nil
	}
	parts := strings.SplitN(strings.TrimPrefix(label, "aws:"), ":", 2)
	if len(parts) != 2 {
		return nil
	}
	var out []netip.Prefix
	for _, p := range doc.Select(ranges.Filter{Services: []string{parts[0]}, Regions: []string{parts[1]}}) {
		out = append(out, p.Prefix.Masked())
	}
	return out
}

// Verify judges the flows learn was to let through under s, the inputs
// with learn's additions, at every observed address (each prefix's first
// and last), and returns those that would still break, with why. Flows
// learn refused are left to Learned.Refused.
func Verify(r *Report, s *State) []string {
	var out []string
	for _, f := range r.Flows {
		if f.Status != Breaks || f.Ambiguous != "" || refusedFlow(f) {
			continue
		}
		for _, at := range observedEnds(f) {
			g := f
			g.counts.SrcAddr, g.counts.DstAddr = at[0], at[1]
			if v := verdict(&g, s); !v.Allowed {
				out = appendUnique(out, fmt.Sprintf("%s -> %s %s at %s -> %s: still denied by %s", f.Source, f.Destination, flowPorts(f), at[0], at[1], v.Denied()))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// refusedFlow reports whether learn never proposes a rule for a flow: one
// the security groups deny, or to the instance metadata service.
func refusedFlow(f Flow) bool {
	if f.dst.Label == traffic.LabelIMDS {
		return true
	}
	for _, d := range f.Proposed.Denials {
		if d.Layer != "NetworkPolicy" {
			return true
		}
	}
	return false
}

// observedEnds are the address pairs a flow was seen at: the first
// record's, and each end's observed prefixes at their first and last
// address.
func observedEnds(f Flow) [][2]netip.Addr {
	out := [][2]netip.Addr{{f.counts.SrcAddr, f.counts.DstAddr}}
	for _, p := range f.counts.SrcAddrs.Prefixes {
		r := netipx.RangeOfPrefix(p)
		out = append(out, [2]netip.Addr{r.From(), f.counts.DstAddr}, [2]netip.Addr{r.To(), f.counts.DstAddr})
	}
	for _, p := range f.counts.DstAddrs.Prefixes {
		r := netipx.RangeOfPrefix(p)
		out = append(out, [2]netip.Addr{f.counts.SrcAddr, r.From()}, [2]netip.Addr{f.counts.SrcAddr, r.To()})
	}
	return out
}

// WithPolicies returns the world with learned policies added.
func WithPolicies(w *model.World, ps []*networkingv1.NetworkPolicy) *model.World {
	next := *w
	next.Policies = append([]*model.NetworkPolicy(nil), w.Policies...)
	for _, p := range ps {
		next.Policies = append(next.Policies, &model.NetworkPolicy{
			Meta: model.Meta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1", Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Annotations: p.Annotations,
				Source: model.Source{File: "learned"}},
			Spec: p.Spec,
		})
	}
	return &next
}
