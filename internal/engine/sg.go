package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// The host fence: security groups are stateful and allow-only, and the
// groups of one network interface add up. A flow to or from an address is
// allowed when some rule of some group of the pod's interface admits the
// address, the protocol and the port; replies need no rule.

// linkLocal are the instance's link-local services that security groups do
// not filter: the metadata service, the Amazon DNS resolver, the time
// service, the ECS task metadata and credentials endpoint, the Windows
// activation servers, the EKS Pod Identity agent, and their IPv6 forms.
var linkLocal = []string{
	"169.254.169.254", "169.254.169.253", "169.254.169.123", "169.254.170.2", "169.254.169.250", "169.254.169.251", "169.254.170.23",
	"fd00:ec2::254", "fd00:ec2::253", "fd00:ec2::123", "fd00:ec2::23",
}

// unfilteredSet is linkLocal plus the DNS resolver of each VPC given (its
// primary block's base +2), which security groups do not filter either.
func unfilteredSet(w *model.World) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, a := range linkLocal {
		b.Add(netip.MustParseAddr(a))
	}
	for _, a := range vpcResolvers(w) {
		b.Add(a)
	}
	s, _ := b.IPSet()
	return s
}

// sgLayer is the security groups, compiled.
type sgLayer struct {
	groups map[string]*model.SecurityGroup
	lists  map[string]*netipx.IPSet // resolved prefix lists
	// bounds hold what unresolved AWS-managed lists may contain.
	bounds map[string]listBound
	// sets are the address sets of rules, for the partition.
	sets []*netipx.IPSet
	// addrs caches each rule's addresses and ports: a verdict is asked for
	// every identity and address part.
	addrs map[*model.SGRule]ruleCache
	// verdicts caches verdicts by groups, part and direction: identities
	// share their nodes' groups.
	verdicts sync.Map
	// members holds the addresses of each group's members the inputs
	// know (instances); memberSpace is where other members may be (the
	// VPC, else the private space and IPv6).
	members     map[string]*netipx.IPSet
	memberSpace addressRange
	// unfiltered are addresses security groups do not filter.
	unfiltered *netipx.IPSet
	// unknownWhy is why pods whose groups are not known cannot be judged.
	unknownWhy string
	// pods indexes the pod-to-pod verdicts by the identities' places
	// (groups, nodes, own interface), filled by prepare: reach asks one
	// for every allowed pair.
	pods *podIndex
}

// podIndex holds each identity's place and the pod-to-pod verdicts by
// pair of places, in slices.
type podIndex struct {
	place    map[*identity]int
	verdicts []atomic.Pointer[[2]netset.Ports]
	places   int
}

// prepare numbers the identities' distinct places. Call it before any
// concurrent use.
func (l *sgLayer) prepare(ids []*identity) {
	x := &podIndex{place: make(map[*identity]int, len(ids))}
	seen := map[string]int{}
	for _, id := range ids {
		k := placeKey(id)
		i, ok := seen[k]
		if !ok {
			i = len(seen)
			seen[k] = i
		}
		x.place[id] = i
	}
	x.places = len(seen)
	x.verdicts = make([]atomic.Pointer[[2]netset.Ports], x.places*x.places)
	l.pods = x
}

// placeKey is what the pod-to-pod verdict depends on of one side
// (hostNetwork: the node's interface, whose subnet custom networking may
// set apart from the pods').
func placeKey(id *identity) string {
	return strings.Join(id.groups, ",") + "|" + strings.Join(id.nodes, ",") + "|" + fmt.Sprint(id.ownENI, id.hostNetwork)
}

type ruleCache struct {
	set   *netipx.IPSet
	ports netset.Ports
	// source is the rule's source, as explanations show it.
	source string
	// pods is what the rule's addresses say of pods' (private or IPv6)
	// addresses, for podSide: podsAll when they cover the private space,
	// podsSome when they may hold some, podsNone otherwise.
	pods int8
	// memberWhy[j] is why the rule may admit members of r.Groups[j]
	// the inputs do not list: made once, asked for every part.
	memberWhy []string
}

const (
	podsNone int8 = iota
	podsSome
	podsAll
)

type verdictKey struct {
	groups string
	part   *netipx.IPSet
	egress bool
}

func newSGLayer(w *model.World) *sgLayer {
	l := &sgLayer{groups: map[string]*model.SecurityGroup{}, lists: map[string]*netipx.IPSet{}, addrs: map[*model.SGRule]ruleCache{}, members: map[string]*netipx.IPSet{}, unfiltered: unfilteredSet(w), unknownWhy: unknownGroups(w)}
	byGroup := map[string]*netipx.IPSetBuilder{}
	for _, in := range w.Instances {
		for _, g := range in.Groups {
			if byGroup[g] == nil {
				byGroup[g] = &netipx.IPSetBuilder{}
			}
			for _, ip := range in.PrivateIPs {
				byGroup[g].Add(ip)
			}
		}
	}
	// Only groups some rule names tell addresses apart.
	named := map[string]bool{}
	for _, g := range w.SecurityGroups {
		for _, rules := range [][]model.SGRule{g.Ingress, g.Egress} {
			for _, r := range rules {
				for _, ref := range r.Groups {
					named[ref] = true
				}
			}
		}
	}
	for _, g := range sortedKeys(byGroup) {
		l.members[g], _ = byGroup[g].IPSet()
		if named[g] {
			l.sets = append(l.sets, l.members[g])
		}
	}
	if vpc, text := vpcRange(w); vpc != nil {
		l.memberSpace = addressRange{set: vpc, what: text}
	} else {
		l.memberSpace = addressRange{set: podSpace, what: "the private address space (the VPC is not in the inputs)"}
	}
	if len(named) > 0 {
		l.sets = append(l.sets, l.memberSpace.set)
	}
	for _, pl := range w.PrefixLists {
		if pl.Entries == nil {
			continue
		}
		var b netipx.IPSetBuilder
		for _, p := range pl.Entries {
			b.AddPrefix(p)
		}
		l.lists[pl.ID], _ = b.IPSet()
	}
	l.bounds = managedBounds(w, w.SecurityGroups)
	for _, id := range sortedKeys(l.bounds) {
		l.sets = append(l.sets, l.bounds[id].set)
	}
	for _, g := range w.SecurityGroups {
		l.groups[g.ID] = g
		for k, rules := range [][]model.SGRule{g.Ingress, g.Egress} {
			dir := []string{"ingress", "egress"}[k]
			for i := range rules {
				r := &rules[i]
				s := l.ruleAddresses(r)
				c := ruleCache{set: s, ports: sgPorts(r), source: r.Source.String()}
				for _, gid := range r.Groups {
					c.memberWhy = append(c.memberWhy, fmt.Sprintf("security group %s %s rule %d (%s) admits the members of %s, and members other than the instances in the inputs are not known (load balancers, endpoints, pods with their own groups)", g.ID, dir, i, r.Source, gid))
				}
				switch {
				case s != nil && covers(s, privateSpace):
					c.pods = podsAll
				case s != nil && (netset.Overlaps(s, privateSpace) || hasIPv6(s)):
					c.pods = podsSome
				}
				l.addrs[&rules[i]] = c
				if s != nil {
					l.sets = append(l.sets, s)
				}
			}
		}
	}
	return l
}

// ruleAddresses is the set of addresses a rule admits (CIDRs and resolved
// prefix lists); nil when it names none.
func (l *sgLayer) ruleAddresses(r *model.SGRule) *netipx.IPSet {
	if len(r.CIDRs) == 0 && len(r.PrefixLists) == 0 {
		return nil
	}
	var b netipx.IPSetBuilder
	for _, c := range r.CIDRs {
		b.AddPrefix(c)
	}
	for _, pl := range r.PrefixLists {
		if s := l.lists[pl]; s != nil {
			b.AddSet(s)
		}
	}
	s, _ := b.IPSet()
	return s
}

// sgPorts is what a rule's protocol and port range allow, in the
// protocols a NetworkPolicy knows (ICMP has no place there).
func sgPorts(r *model.SGRule) netset.Ports {
	all := r.FromPort == -1 || (r.FromPort == 0 && r.ToPort == 65535) || (r.FromPort == 0 && r.ToPort == 0 && r.Protocol == "-1")
	switch r.Protocol {
	case "-1":
		return netset.AllPorts()
	case "tcp", "udp":
		proto := netset.TCP
		if r.Protocol == "udp" {
			proto = netset.UDP
		}
		if all {
			return netset.AllOf(proto)
		}
		return netset.PortRange(proto, r.FromPort, r.ToPort)
	case strconv.Itoa(132): // SCTP: AWS has no ports for it
		return netset.AllOf(netset.SCTP)
	}
	return netset.Ports{}
}

// SGVerdict is what a pod's groups allow towards (egress) or from (ingress)
// an address part, and the rules that allow it.
type SGVerdict struct {
	Groups  []string     `json:"groups"`
	Allowed netset.Ports `json:"allowed"`
	// Unknown are ports that rules may admit: they name groups whose
	// members, or prefix lists whose entries, the inputs do not hold.
	Unknown netset.Ports `json:"unknown,omitzero"`
	Reasons []string     `json:"reasons,omitempty"`
	Rules   []SGRuleRef  `json:"rules,omitempty"`
	// Unresolved names prefix lists referenced without their entries.
	Unresolved []string `json:"unresolvedPrefixLists,omitempty"`
}

// SGRuleRef points at a rule that admits a flow.
type SGRuleRef struct {
	Group       string       `json:"group"`
	GroupName   string       `json:"groupName,omitempty"`
	Direction   string       `json:"direction"`
	Index       int          `json:"index"`
	Source      string       `json:"source"`
	Description string       `json:"description,omitempty"`
	Allowed     netset.Ports `json:"allowed"`
}

// verdict evaluates groups against an address part.
func (l *sgLayer) verdict(groups []string, part *netipx.IPSet, egress bool) SGVerdict {
	key := verdictKey{groups: strings.Join(groups, ","), part: part, egress: egress}
	if v, ok := l.verdicts.Load(key); ok {
		return v.(SGVerdict)
	}
	v := l.evaluate(groups, part, egress)
	l.verdicts.Store(key, v)
	return v
}

func (l *sgLayer) evaluate(groups []string, part *netipx.IPSet, egress bool) SGVerdict {
	v := SGVerdict{Groups: groups}
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	// holds for a part: the part's first address (parts are cut by every
	// rule's addresses, so all of a part's addresses fare alike).
	rs := part.Ranges()
	holds := func(set *netipx.IPSet) bool { return set != nil && len(rs) > 0 && set.Contains(rs[0].From()) }
	if egress && holds(l.unfiltered) {
		v.Allowed = netset.AllPorts()
		v.Rules = []SGRuleRef{{Direction: dir, Description: "link-local instance service or the VPC's DNS resolver: not filtered by security groups", Allowed: v.Allowed}}
		return v
	}
	for _, id := range groups {
		g := l.groups[id]
		if g == nil {
			continue
		}
		rules := g.Ingress
		if egress {
			rules = g.Egress
		}
		for i := range rules {
			r := &rules[i]
			c := l.addrs[r]
			if c.ports.IsEmpty() {
				continue
			}
			ref := SGRuleRef{Group: g.ID, GroupName: g.Name, Direction: dir, Index: i, Source: c.source, Description: r.Description, Allowed: c.ports}
			var maybe []string
			for _, pl := range r.PrefixLists {
				if l.lists[pl] != nil {
					continue
				}
				v.Unresolved = append(v.Unresolved, pl)
				b, bounded := l.bounds[pl]
				switch {
				case !bounded:
					maybe = append(maybe, fmt.Sprintf("security group %s %s rule %d (%s) admits prefix list %s, whose entries are not in the inputs (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json)", g.ID, dir, i, r.Source, pl, pl, pl))
				case holds(b.set):
					maybe = append(maybe, fmt.Sprintf("security group %s %s rule %d (%s) admits prefix list %s; %s, and those hold this address, but the list's entries are not in the inputs (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json)", g.ID, dir, i, r.Source, pl, b.what, pl, pl))
				}
			}
			admitted := holds(c.set)
			for j, gid := range r.Groups {
				switch {
				case holds(l.members[gid]):
					admitted = true
				case holds(l.memberSpace.set):
					maybe = append(maybe, c.memberWhy[j])
				}
			}
			switch {
			case admitted:
				v.Allowed = v.Allowed.Union(c.ports)
				v.Rules = append(v.Rules, ref)
			case len(maybe) > 0:
				v.Unknown = v.Unknown.Union(c.ports)
				v.Reasons = append(v.Reasons, maybe...)
			}
		}
	}
	v.Unknown = v.Unknown.Difference(v.Allowed)
	v.Reasons = mergeReasons(v.Unknown, v.Reasons)
	if len(v.Reasons) > 0 {
		v.Reasons = mergeReasons(netset.AllPorts(), sortedCopy(v.Reasons))
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// sgUnknown is why a pod's security groups cannot be judged.
const sgUnknown = "the pods' security groups are not known: give their nodes' instances (aws ec2 describe-instances) or --node-sg"

// unknownGroups is why a pod's security groups cannot be judged in this
// world: custom networking, where it is or may be on, is a reason of its
// own (each workload's, in inventory's placement).
func unknownGroups(w *model.World) string {
	if pn := newPodNetwork(w); pn.mode != cniOff {
		return "the pods' security groups are not known where " + pn.prefix() + "the ENIConfig or the interface their traffic leaves by is not known (inventory shows each workload's); otherwise give their nodes' instances (aws ec2 describe-instances) or --node-sg"
	}
	return sgUnknown
}

// partVerdict is the security groups' verdict between a pod and an
// address part; known is false when the pod's groups are not known.
func (l *sgLayer) partVerdict(groups []string, part *netipx.IPSet, egress bool) (Verdict, bool) {
	if !l.known(groups) {
		return unknownAll(l.unknownWhy), false
	}
	sv := l.verdict(groups, part, egress)
	return Verdict{Allowed: sv.Allowed, Unknown: sv.Unknown, Reasons: sv.Reasons}, true
}

// podPair is the security groups' verdict between two pods; certain is
// true when nothing of it is unknown.
func (l *sgLayer) podPair(s, d *identity) (Verdict, bool) {
	certain, possible, known := l.podVerdict(s, d)
	if !known {
		return unknownAll(l.unknownWhy), false
	}
	v := Verdict{Allowed: certain, Unknown: possible.Difference(certain)}
	if !v.Unknown.IsEmpty() {
		if !s.ownENI && !d.ownENI && shareNode(s.nodes, d.nodes) {
			v.Reasons = []string{"the pods may run on the same node, where their traffic crosses no security group"}
		} else {
			v.Reasons = []string{"the pods' addresses are not in the inputs: security group rules admitting part of the private address space may or may not admit them"}
		}
	}
	return v, v.Unknown.IsEmpty()
}

// known reports whether every group is loaded: without them the host
// fence cannot be judged.
func (l *sgLayer) known(groups []string) bool {
	if len(groups) == 0 {
		return false
	}
	for _, g := range groups {
		if l.groups[g] == nil {
			return false
		}
	}
	return true
}

// Between pods, the addresses are not in the inputs (the VPC CNI takes them
// from the nodes' subnets), so a security group verdict is three-valued per
// port: certainly allowed (a rule names the other side's group, or admits
// every private address), certainly denied (no rule could admit any private
// address), or unknown. Pods that may share a node talk without crossing
// an interface (unless they have their own): no security group applies.

// privateSpace holds every address a pod of an IPv4 cluster (EKS's
// default) can have; IPv6 pods take global addresses, which a rule must
// then cover instead.
var privateSpace = func() *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} {
		b.AddPrefix(netip.MustParsePrefix(p))
	}
	s, _ := b.IPSet()
	return s
}()

// podSide is what one side's rules say about the other side's pods.
type podSide struct {
	certain  netset.Ports // admitted whatever the addresses
	possible netset.Ports // admitted for some addresses
}

func (l *sgLayer) podSide(groups, other []string, egress bool) podSide {
	var out podSide
	for _, id := range groups {
		g := l.groups[id]
		rules := g.Ingress
		if egress {
			rules = g.Egress
		}
		for i := range rules {
			r := &rules[i]
			c := l.addrs[r]
			named := false
			for _, ref := range r.Groups {
				for _, o := range other {
					named = named || ref == o
				}
			}
			switch {
			case named || c.pods == podsAll:
				out.certain = out.certain.Union(c.ports)
				out.possible = out.possible.Union(c.ports)
			case c.pods == podsSome:
				// Some pod addresses may match (IPv6 pods too).
				out.possible = out.possible.Union(c.ports)
			case l.mayHoldPods(r):
				out.possible = out.possible.Union(c.ports)
			}
		}
	}
	return out
}

// mayHoldPods reports whether a rule names a prefix list whose entries
// are not in the inputs and may hold pod addresses: any list but an
// AWS-managed one, whose entries are public service addresses.
func (l *sgLayer) mayHoldPods(r *model.SGRule) bool {
	for _, pl := range r.PrefixLists {
		if l.lists[pl] != nil {
			continue
		}
		b, bounded := l.bounds[pl]
		if !bounded || netset.Overlaps(b.set, privateSpace) || hasIPv6(b.set) {
			return true
		}
	}
	return false
}

func covers(s, sub *netipx.IPSet) bool {
	return len(netset.Difference(sub, s).Ranges()) == 0
}

// podVerdict is the security groups' verdict on traffic from src's pods to
// dst's pods: certain and possible ports. known is false when either side's
// groups are not known.
func (l *sgLayer) podVerdict(src, dst *identity) (certain, possible netset.Ports, known bool) {
	if !l.known(src.groups) || !l.known(dst.groups) {
		return netset.Ports{}, netset.Ports{}, false
	}
	var slot *atomic.Pointer[[2]netset.Ports]
	if x := l.pods; x != nil {
		s, sok := x.place[src]
		d, dok := x.place[dst]
		if sok && dok {
			slot = &x.verdicts[s*x.places+d]
			if p := slot.Load(); p != nil {
				return p[0], p[1], true
			}
		}
	}
	key := verdictKey{groups: "pods:" + strings.Join(src.groups, ",") + "|" + strings.Join(dst.groups, ",") + "|" + strings.Join(src.nodes, ",") + "|" + strings.Join(dst.nodes, ",") + fmt.Sprint(src.ownENI, dst.ownENI)}
	if v, ok := l.verdicts.Load(key); ok {
		p := v.([2]netset.Ports)
		if slot != nil {
			slot.Store(&p)
		}
		return p[0], p[1], true
	}
	e := l.podSide(src.groups, dst.groups, true)
	i := l.podSide(dst.groups, src.groups, false)
	certain, possible = e.certain.Intersect(i.certain), e.possible.Intersect(i.possible)
	if !src.ownENI && !dst.ownENI && shareNode(src.nodes, dst.nodes) {
		// On one node the traffic never reaches an interface.
		possible = netset.AllPorts()
	}
	p := [2]netset.Ports{certain, possible}
	l.verdicts.Store(key, p)
	if slot != nil {
		slot.Store(&p)
	}
	return certain, possible, true
}

func shareNode(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// openEgress reports whether every given group admits all egress to every
// address (then nothing outside needs telling apart for egress).
func (l *sgLayer) openEgress(groups []string) bool {
	everything := netset.Everything()
	for _, id := range groups {
		g := l.groups[id]
		if g == nil {
			return false
		}
		open := false
		for i := range g.Egress {
			c := l.addrs[&g.Egress[i]]
			open = open || (c.ports.IsAll() && c.set != nil && covers(c.set, everything))
		}
		if !open {
			return false
		}
	}
	return true
}

func hasIPv6(s *netipx.IPSet) bool {
	rs := s.Ranges()
	return len(rs) > 0 && rs[len(rs)-1].To().Is6()
}
