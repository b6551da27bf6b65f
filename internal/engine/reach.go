package engine

import (
	"context"
	"fmt"
	"math/bits"
	"net/netip"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	networkingv1 "k8s.io/api/networking/v1"
)

// Level says what a peer stands for.
type Level string

// The levels of `reach --level`.
const (
	// LevelWorkload: one peer per workload (per role when its roles are
	// told apart by policies); bare Pods are peers of their own.
	LevelWorkload Level = "workload"
	// LevelPod: additionally one peer per pod observed in a live cluster.
	LevelPod Level = "pod"
)

// KindExternal is the kind of peers outside the cluster.
const KindExternal = "External"

// Peer is one end of a connection.
type Peer struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	CIDRs     []string `json:"cidrs,omitempty"`
	// HostNetwork peers are not isolated by NetworkPolicies.
	HostNetwork bool `json:"hostNetwork,omitempty"`

	// Workload is the workload the peer stands for (nil for addresses);
	// Pods its role when the peer is one role of it.
	Workload *model.Workload    `json:"-"`
	Pods     *model.PodTemplate `json:"-"`

	identity *identity
	part     *netipx.IPSet
	// many is true when the peer stands for more than one pod, so traffic
	// from it to itself is between different pods.
	many bool
}

// Connection is what one peer may open to another.
type Connection struct {
	Src   string       `json:"src"`
	Dst   string       `json:"dst"`
	Allow netset.Ports `json:"allow"`
	// Unknown are the ports that may be allowed or denied: the inputs lack
	// the facts Reasons name. Allow and Unknown are disjoint; every other
	// port is denied.
	Unknown netset.Ports `json:"unknown,omitzero"`
	Reasons []string     `json:"reasons,omitempty"`
	// Layers, when security groups were given, says what each fence allows
	// on its own; Allow is what both allow.
	Layers *Layers `json:"layers,omitempty"`
}

// Layers is what each fence allows on its own: NetworkPolicy and
// SecurityGroups are the ports surely allowed (as before unknowns were
// modelled), the *Unknown fields the ports each may allow or deny (the
// connection's Reasons say why). Every other port the layer denies.
type Layers struct {
	NetworkPolicy        netset.Ports `json:"networkPolicy"`
	NetworkPolicyUnknown netset.Ports `json:"networkPolicyUnknown,omitzero"`
	// SecurityGroups is nil when the pod's groups are not known (then
	// they may allow or deny anything).
	SecurityGroups        *netset.Ports `json:"securityGroups"`
	SecurityGroupsUnknown netset.Ports  `json:"securityGroupsUnknown,omitzero"`
	// Unfiltered: security groups do not filter this destination (the
	// instance's link-local services, the VPC's DNS resolver).
	Unfiltered bool `json:"unfiltered,omitempty"`
	// VPC is what the network ACLs and routes allow on their own, when
	// either was given.
	VPC *VPCLayers `json:"vpc,omitempty"`
}

// Options say how to analyse.
type Options struct {
	Level Level
	// NodeGroups map nodes to security groups where their instances were
	// not given.
	NodeGroups []NodeGroups
	// PodCIDRs is where pods take their addresses (--pod-cidr), when the
	// inputs do not say it better.
	PodCIDRs []netip.Prefix
	// Context stops the analysis when it is done (Ctrl-C): Analyse then
	// returns its cause, and Reach returns early with an incomplete result,
	// which Err reports. Nil never stops.
	Context context.Context
	// Tiers say how to evaluate tiered policies (docs/tiers.md).
	Tiers TierOptions
	// denseSets compiles as the engine did before sets were trimmed and
	// shared (setPool.dense): every identity set whole and apart, every
	// selector peer answered identity by identity. TestIdsetsMatchDense
	// holds the default to it.
	denseSets bool
}

// Result is the reachability of a world.
type Result struct {
	Peers       []*Peer      `json:"peers"`
	Connections []Connection `json:"connections"`
	// Self lists traffic from a single pod to itself, which upstream
	// Kubernetes leaves undefined (most CNIs allow it whatever the
	// policies say): what the policies alone would allow.
	Self []Connection `json:"self,omitempty"`
	// Exposures are the ways in from outside the cluster (LoadBalancer and
	// NodePort Services, Ingresses), hop by hop.
	Exposures []Exposure `json:"exposures,omitempty"`
	Notes     []string   `json:"notes,omitempty"`

	// pairs holds the connections when Connections is nil (ReachCompact).
	pairs *pairList
}

// Reach computes which peers may connect to which, on which ports, as a
// conformant CNI enforces networking.k8s.io/v1 NetworkPolicy: a pod-to-pod
// connection needs the source's egress and the destination's ingress.
func Reach(w *model.World, opts Options) (*Result, error) {
	a, err := Analyse(w, opts)
	if err != nil {
		return nil, err
	}
	return a.Reach(), nil
}

// Analysis is a world compiled for reachability questions.
type Analysis struct {
	g     *graph
	peers []*Peer
	byID  map[int][]*Peer // identity index -> peers
	parts []*Peer
	// classes group the parts the NetworkPolicies and security groups
	// cannot tell apart (indexes into parts; see partClasses).
	classes []partClass
	// sg is the host fence; nil when no security groups were given.
	sg *sgLayer
	// net is the VPC layer (network ACLs, routes); nil when neither was
	// given.
	net *netLayer
	// ifaces is the VPC layer compiled for interface endpoints alone,
	// when net is nil (no network ACLs, no route tables).
	ifaces *netLayer
	// byName indexes the in-cluster peers by ID, built on first use.
	byName     map[string]*Peer
	byNameOnce sync.Once
	// byPolicy indexes the compiled policies by their source, built on
	// first use.
	byPolicy     map[*model.NetworkPolicy]*policy
	compiledOnce sync.Once
	// ctx is Options.Context, never nil.
	ctx context.Context
	// places numbers the identities' places for the security groups'
	// and the VPC layer's verdicts; nil without either.
	places *places
	// walk, set by tests only, makes Reach judge every source and pair
	// on its own: no egress or external classes, no verdicts by place.
	walk bool
}

// Err is the cause of the Options' Context once it is done: the analysis
// stopped early and what Reach returned is incomplete. Nil otherwise.
func (a *Analysis) Err() error {
	if a.ctx.Err() != nil {
		return context.Cause(a.ctx)
	}
	return nil
}

// Analyse compiles a world: identities, policies, peers, and the security
// groups of each pod when the AWS layer is given.
func Analyse(w *model.World, opts Options) (*Analysis, error) {
	level := opts.Level
	if level == "" {
		level = LevelWorkload
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	var sg *sgLayer
	var placed map[*model.PodTemplate]Placement
	if len(w.SecurityGroups) > 0 {
		sg = newSGLayer(w)
	}
	net := newNetLayer(w)
	var ifaces *netLayer
	if net == nil && hasInterfaceEndpoints(w) {
		ifaces = compileNet(w)
	}
	if sg != nil || net != nil || ifaces != nil {
		// The nodes the pods may run on give their groups and subnets.
		var err error
		if placed, err = Place(w, opts.NodeGroups); err != nil {
			return nil, err
		}
	}
	type pending struct {
		peer    *Peer
		members []int // indexes into members
	}
	var members []memberSpec
	var peers []pending
	add := func(p *Peer, specs ...memberSpec) {
		pp := pending{peer: p}
		for _, s := range specs {
			pp.members = append(pp.members, len(members))
			members = append(members, s)
		}
		peers = append(peers, pp)
	}
	for i, wl := range w.Workloads {
		if i%512 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if level == LevelPod && len(wl.Instances) > 0 {
			for _, in := range wl.Instances {
				t := wl.TemplateOf(in)
				add(&Peer{ID: wl.Namespace + "/" + in.Name, Kind: "Pod", Namespace: wl.Namespace, Name: in.Name, HostNetwork: in.HostNetwork, Workload: wl, Pods: t},
					memberSpec{namespace: wl.Namespace, labels: LabelSet{Known: in.Labels}, containers: t.Containers, ips: in.IPs, hostNetwork: in.HostNetwork, groups: placed[t].Groups, nodes: placed[t].Nodes, ownENI: placed[t].OwnENI})
			}
			continue
		}
		var specs []memberSpec
		total := int32(0)
		for _, t := range wl.Pods {
			specs = append(specs, memberSpec{namespace: wl.Namespace, labels: PodLabels(t), containers: t.Containers, ips: t.IPs, hostNetwork: t.HostNetwork, groups: placed[t].Groups, nodes: placed[t].Nodes, ownENI: placed[t].OwnENI})
			if t.Replicas < 0 || total < 0 {
				total = -1
			} else {
				total += t.Replicas
			}
		}
		if len(specs) == 0 {
			continue
		}
		p := &Peer{ID: wl.Namespace + "/" + wl.Name, Kind: wl.Kind, Namespace: wl.Namespace, Name: wl.Name, many: total != 1, HostNetwork: wl.Pods[0].HostNetwork, Workload: wl}
		add(p, specs...)
	}
	g, err := compile(ctx, w, members, ranges(w, opts.PodCIDRs), opts.Tiers, opts.denseSets)
	if err != nil {
		return nil, err
	}
	a := &Analysis{g: g, byID: map[int][]*Peer{}, sg: sg, net: net, ifaces: ifaces, ctx: ctx}
	for _, pp := range peers {
		ids := map[*identity]bool{}
		for _, m := range pp.members {
			ids[members[m].identity] = true
		}
		if len(ids) == 1 {
			pp.peer.identity = members[pp.members[0]].identity
			a.addPeer(pp.peer)
			continue
		}
		// Policies tell the workload's roles apart: one peer per role.
		wl := findWorkload(w, pp.peer.Namespace, pp.peer.Name, pp.peer.Kind)
		for i, m := range pp.members {
			t := wl.Pods[i]
			p := &Peer{ID: pp.peer.ID + "/" + t.Role, Kind: pp.peer.Kind, Namespace: pp.peer.Namespace, Name: pp.peer.Name + "/" + t.Role,
				many: t.Replicas != 1, HostNetwork: t.HostNetwork, identity: members[m].identity, Workload: wl, Pods: t}
			a.addPeer(p)
		}
	}
	for _, id := range g.identities {
		if id.hostNetwork {
			for _, p := range a.byID[id.index] {
				g.note("%s uses the host network: NetworkPolicies do not isolate it, and its traffic carries the node's address, which pod selectors do not match", p.ID)
			}
		}
	}
	sets := make([]*netipx.IPSet, 0, len(g.ruleSets))
	keys := make([]string, 0, len(g.ruleSets))
	for k := range g.ruleSets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sets = append(sets, g.ruleSets[k])
	}
	npSets := len(sets)
	if sg != nil {
		// Security group rules cut the address space too; the instance's
		// link-local services only when some fencing group would treat
		// them apart from the rest.
		sets = append(sets, sg.sets...)
		var fencing []string
		for _, id := range g.identities {
			fencing = append(fencing, id.groups...)
		}
		if !sg.openEgress(fencing) {
			sets = append(sets, sg.unfiltered)
		}
		g.note("between pods, pod addresses are not in the inputs: a security group verdict is given when it is certain (rules naming the other side's group, or admitting every private address); otherwise only what no security group could admit is removed, and the layer shows as unknown (null)")
	}
	fences := len(sets)
	if net != nil {
		// Subnets, network ACL entries and routes cut it as well, so
		// each part fares alike across the VPC layer.
		sets = append(sets, net.sets...)
	}
	parts := netset.Partition(sets)
	for _, part := range parts {
		p := &Peer{ID: part.ID(), Kind: KindExternal, Name: part.ID(), CIDRs: netset.PrefixStrings(part.Set), part: part.Set}
		a.parts = append(a.parts, p)
		a.peers = append(a.peers, p)
	}
	var unfiltered *netipx.IPSet
	if sg != nil {
		unfiltered = sg.unfiltered
	}
	a.classes = partClasses(parts, npSets, fences-npSets, unfiltered)
	if sg != nil {
		sg.prepare(g.identities)
	}
	if net != nil {
		sets := make([]*netipx.IPSet, len(a.parts))
		for i, p := range a.parts {
			sets[i] = p.part
		}
		net.prepare(g.identities, sets)
	}
	a.places = a.newPlaces()
	sort.Slice(a.peers, func(i, j int) bool { return a.peers[i].ID < a.peers[j].ID })
	return a, nil
}

// Peers returns every peer, by ID.
func (a *Analysis) Peers() []*Peer { return a.peers }

// Isolated reports whether a peer's pods are isolated for ingress and for
// egress: what no rule allows is denied, because some NetworkPolicy
// selects them for that direction or the tiers' default action is deny
// (the eks profile's --default-action deny). Tiered policies otherwise
// only add rules in front of (Admin) or behind (Baseline) that: Tiered
// says whether they do.
func (p *Peer) Isolated() (ingress, egress bool) {
	if p.identity == nil || p.identity.hostNetwork {
		return false, false
	}
	deny := p.identity.tiers != nil && p.identity.tiers.defaultDeny
	return deny || len(p.identity.ingress) > 0, deny || len(p.identity.egress) > 0
}

// Tiered returns the tiered policies whose subject holds (or may hold)
// the peer's pods and that have rules for ingress, and for egress, in
// evaluation order.
func (p *Peer) Tiered() (ingress, egress []*model.TierPolicy) {
	if p.identity == nil {
		return nil, nil
	}
	for _, t := range p.identity.tierIn {
		ingress = append(ingress, t.src)
	}
	for _, t := range p.identity.tierOut {
		egress = append(egress, t.src)
	}
	return ingress, egress
}

// Doubt lists why no verdict on the peer's traffic can be trusted (policies
// of kinds ringfence does not evaluate, or could not read, in its scope).
func (p *Peer) Doubt() []string {
	if p.identity == nil {
		return nil
	}
	return p.identity.doubt
}

// EgressKey is the same for peers whose egress the same policies,
// security groups and subnets decide: ExplainDestination answers them alike, but for
// their names.
func (p *Peer) EgressKey() string {
	if p.identity == nil {
		return "peer:" + p.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%t|", p.identity.hostNetwork)
	for _, pol := range p.identity.egress {
		fmt.Fprintf(&b, "%p,", pol)
	}
	b.WriteByte('|')
	for _, pol := range p.identity.maybeEgress {
		fmt.Fprintf(&b, "%p,", pol)
	}
	fmt.Fprintf(&b, "|%q", p.identity.doubt)
	b.WriteString("|" + strings.Join(p.identity.groups, ","))
	// Tiered policies decide egress in front of (and behind) the
	// NetworkPolicies: ExplainDestination's answer depends on them too.
	fmt.Fprintf(&b, "|%t|", p.identity.tiers != nil)
	for _, t := range p.identity.tierOut {
		fmt.Fprintf(&b, "%p,", t)
	}
	// The nodes give the subnets, which the VPC layer and interface
	// endpoints judge.
	b.WriteString("|" + strings.Join(p.identity.nodes, ","))
	return b.String()
}

// SecurityGroups returns the groups fencing the peer's pods.
func (p *Peer) SecurityGroups() []string {
	if p.identity == nil {
		return nil
	}
	return p.identity.groups
}

func (a *Analysis) addPeer(p *Peer) {
	a.peers = append(a.peers, p)
	a.byID[p.identity.index] = append(a.byID[p.identity.index], p)
}

func findWorkload(w *model.World, ns, name, kind string) *model.Workload {
	for _, wl := range w.Workloads {
		if wl.Namespace == ns && wl.Name == name && wl.Kind == kind {
			return wl
		}
	}
	return nil
}

// side is what one end's NetworkPolicies decide for one direction: the
// source's egress towards other (a pod, or the address part when other is
// nil), or the destination's ingress from it. Named ports resolve on the
// destination of the traffic.
func side(id, other *identity, part *netipx.IPSet, egress bool) Verdict {
	return sideOf(id, other, part, egress, false)
}

// sideOf is side; pairs leaves out what ipBlocks may match of the other
// pod's unknown addresses (Reach lists that once against the pseudo-peer
// of pods whose addresses are not known).
func sideOf(id, other *identity, part *netipx.IPSet, egress, pairs bool) Verdict {
	if id.hostNetwork {
		return allowAll()
	}
	if len(id.doubt) > 0 {
		return unknownAll(id.doubt...)
	}
	if id.tiers != nil {
		return id.tiers.side(id, other, part, egress, pairs, nil)
	}
	return npSide(id, other, part, egress, pairs)
}

// npSide is what the NetworkPolicies (and ApplicationNetworkPolicies)
// alone decide for one direction.
func npSide(id, other *identity, part *netipx.IPSet, egress, pairs bool) Verdict {
	certain, maybe := id.ingress, id.maybeIngress
	portsOn := id
	if egress {
		certain, maybe, portsOn = id.egress, id.maybeEgress, other
	}
	if len(certain) == 0 && len(maybe) == 0 {
		return allowAll()
	}
	var v Verdict
	for _, p := range certain {
		v = v.or(p.verdict(other, part, egress, portsOn, pairs))
	}
	if len(certain) > 0 {
		// Isolated for sure: a policy that may select it too may only add.
		for _, p := range maybe {
			pv := p.verdict(other, part, egress, portsOn, pairs)
			v = v.or(Verdict{Unknown: pv.Possible(), Reasons: mergeReasons(netset.AllPorts(), pv.Reasons, []string{p.maybeWhy})})
		}
		return v
	}
	// Only policies that may select it: it may not be isolated at all, or
	// be isolated by any of them. Surely allowed is what each allows.
	allowed := netset.AllPorts()
	var reasons []string
	for _, p := range maybe {
		pv := p.verdict(other, part, egress, portsOn, pairs)
		allowed = allowed.Intersect(pv.Allowed)
		reasons = mergeReasons(netset.AllPorts(), reasons, pv.Reasons, []string{p.maybeWhy})
	}
	unknown := netset.AllPorts().Difference(allowed)
	return Verdict{Allowed: allowed, Unknown: unknown, Reasons: mergeReasons(unknown, reasons)}
}

// verdict is what one policy's rules for a direction admit from (or to)
// other.
func (p *policy) verdict(other *identity, part *netipx.IPSet, egress bool, portsOn *identity, pairs bool) Verdict {
	rules := p.ingress
	if egress {
		rules = p.egress
	}
	var v Verdict
	for _, r := range rules {
		if pairs && other != nil && r.addrMaybe != nil && r.addrMaybe.has(other.index) {
			continue
		}
		switch m, why := r.match(other, part); m {
		case Yes:
			v = v.or(Verdict{Allowed: r.allowed(portsOn)})
		case Maybe:
			v = v.or(Verdict{Unknown: r.allowed(portsOn), Reasons: why})
		}
	}
	return v
}

// match says whether the rule's peers hold a pod (id) or an address part,
// and why not surely when it is Maybe.
func (r *rule) match(id *identity, part *netipx.IPSet) (Match, []string) {
	switch {
	case r.allPeers:
		return Yes, nil
	case id != nil && r.peers.has(id.index):
		return Yes, nil
	case id != nil && r.maybe.has(id.index):
		return Maybe, r.why[id.index]
	case id != nil && r.addrMaybe != nil && r.addrMaybe.has(id.index):
		return Maybe, r.addrWhy
	case id == nil && holds(r.ips, part):
		return Yes, nil
	case id == nil && part != nil && (r.namesAll || holds(r.namesSet, part)):
		return Maybe, r.namesWhy
	}
	return No, nil
}

// reachable is every identity a rule may match, but for the pods only its
// ipBlocks may match by their unknown addresses (addrMaybe: Reach lists
// those against one pseudo-peer).
func (r *rule) reachable() bitset {
	return r.maybe.orInto(r.peers.orInto(nil))
}

// Reach computes every connection, without visiting every pair: a source
// isolated for egress is tried only against the identities its rules
// name; an unisolated one against the destinations whose ingress admits
// it, found per group of identically isolated destinations.
func (a *Analysis) Reach() *Result {
	res := a.ReachCompact()
	res.Connections = res.pairs.connections()
	res.pairs = nil
	return res
}

// ReachCompact is Reach with the connections held compactly, for a caller
// that reads each once (ConnectionAt): a large cluster's million
// connections take 16 bytes each, not two hundred, and the connections
// with the same verdict share it.
func (a *Analysis) ReachCompact() *Result {
	g := a.g
	n := len(g.identities)
	res := &Result{Peers: a.peers}
	ranks := a.peerRanks()
	sides := [2]*sideClasses{newSideClasses(g.identities, false), newSideClasses(g.identities, true)}
	shared := !a.walk // the walk judges every pair on its own
	type class struct {
		id      int
		all     bool
		sources *idset
		// tierOnly are the sources only the tiers' Admin Accepts admit
		// (tierOnlySources): settled per group, destination and peer
		// class.
		tierOnly bitset
		members  []int
	}
	// The classes' sources, trimmed and shared (see idset): as dense
	// bitsets, 10,000 namespaces' 25,000 classes held 240 MB, and testing
	// them missed the cache.
	pool := newSetPool(n)
	classes := map[string]*class{}
	classOf := make([]*class, n)
	var order []string
	for _, d := range g.identities {
		var key strings.Builder
		for _, p := range d.ingress {
			fmt.Fprintf(&key, "%p,", p)
		}
		key.WriteByte('|')
		for _, p := range d.maybeIngress {
			fmt.Fprintf(&key, "%p,", p)
		}
		if ingressOpen(d) {
			key.Reset()
		}
		key.WriteString(d.tierKey())
		k := key.String()
		c, ok := classes[k]
		if !ok {
			c = &class{id: len(classes)}
			b := pool.builder()
			c.all = g.addIngressSources(d, b)
			c.sources = pool.freeze(b)
			c.tierOnly = d.tierOnlySources()
			classes[k] = c
			order = append(order, k)
		}
		c.members = append(c.members, d.index)
		classOf[d.index] = c
	}
	sort.Strings(order)
	// Sources are independent: each worker takes sources in turn and
	// collects its own connections; sorting at the end makes the result
	// independent of scheduling.
	type out struct {
		conns, self pairChunks
		// targets is the worker's scratch for egressTargets.
		targets *setBuilder
		pseudo  bool
		memo    *pairMemo
	}
	// The connections with address parts, shared by the identities
	// judged alike (see extClasses).
	var ext *extClasses
	if !a.walk {
		ext = a.newExtClasses()
	}
	// egress is the source's egress verdict towards d, shared by the
	// sources of one egress class (see egressClasses) through memo.
	egress := func(s, d *identity, memo *egressMemo) Verdict {
		if memo == nil {
			return sideOf(s, d, nil, true, true)
		}
		if memo.at[d.index] == memo.gen {
			return memo.v[d.index]
		}
		v := sideOf(s, d, nil, true, true)
		memo.at[d.index], memo.v[d.index] = memo.gen, v
		return v
	}
	// work lists the connections of one source; tried, when not nil, are
	// the destinations to try (its group's walk of the egress targets),
	// else it walks them itself.
	work := func(s *identity, o *out, memo *egressMemo, tried *[]int) {
		pseudo := false
		defer func() { o.pseudo = o.pseudo || pseudo }()
		srcs, srcRanks := a.byID[s.index], ranks.byID[s.index]
		emit := func(d *identity, t *Connection) {
			if d != s {
				// Only an identity's own peers can be the same peer.
				for _, sr := range srcRanks {
					for _, dr := range ranks.ofID(d.index) {
						o.conns.add(pairEntry{key: rankKey(sr, dr), t: t})
					}
				}
				return
			}
			dsts, dstRanks := a.byID[d.index], ranks.byID[d.index]
			for i, sp := range srcs {
				for j, dp := range dsts {
					e := pairEntry{key: rankKey(srcRanks[i], dstRanks[j]), t: t}
					if sp == dp && !sp.many {
						o.self.add(e)
					} else {
						o.conns.add(e)
					}
				}
			}
		}
		try := func(d *identity) {
			if shared {
				if t, ok := o.memo.pair(s, d); ok {
					if t != nil {
						emit(d, t)
					}
					return
				}
			}
			if v, layers, ok := a.pairFrom(s, d, egress(s, d, memo)); ok {
				emit(d, &Connection{Allow: v.Allowed, Unknown: v.Unknown, Reasons: v.Reasons, Layers: layers})
			}
		}
		if tried != nil {
			for _, d := range *tried {
				try(g.identities[d])
			}
		} else if o.targets.reset(); egressTargets(s, o.targets) {
			for _, k := range order {
				c := classes[k]
				if c.all || c.sources.has(s.index) {
					for _, d := range c.members {
						try(g.identities[d])
					}
				}
			}
		} else {
			// A destination whose ingress rules name no peer the source
			// may be is denied without computing either side.
			o.targets.each(func(d int) {
				if c := classOf[d]; c.all || c.sources.has(s.index) {
					try(g.identities[d])
				}
			})
		}
		if v := addressUnknown(s, true); !v.IsEmpty() {
			pseudo = true
			t := &Connection{Unknown: v.Unknown, Reasons: v.Reasons}
			for _, r := range srcRanks {
				o.conns.add(pairEntry{key: rankKey(r, ranks.pseudo), t: t})
			}
		}
		if v := addressUnknown(s, false); !v.IsEmpty() {
			pseudo = true
			t := &Connection{Unknown: v.Unknown, Reasons: v.Reasons}
			for _, r := range srcRanks {
				o.conns.add(pairEntry{key: rankKey(ranks.pseudo, r), t: t})
			}
		}
		for _, egress := range []bool{true, false} {
			ext.each(a, s, egress, func(t *Connection, part *Peer) {
				for _, r := range srcRanks {
					k := rankKey(r, ranks.of[part])
					if !egress {
						k = rankKey(ranks.of[part], r)
					}
					o.conns.add(pairEntry{key: k, t: t})
				}
			})
		}
	}
	workers := runtime.GOMAXPROCS(0)
	outs := make([]out, workers)
	for i := range outs {
		outs[i].memo = newPairMemo(a, sides[0], sides[1])
		outs[i].targets = &setBuilder{words: newBitset(n)}
	}
	groups := egressClasses(g.identities)
	if a.walk {
		groups = groups[:0]
		for _, id := range g.identities {
			groups = append(groups, []int{id.index})
		}
	}
	next := make(chan []int, workers)
	var wg sync.WaitGroup
	for w := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The group's egress verdicts by destination, valid where
			// stamped with the group's number (gen).
			memo := &egressMemo{v: make([]Verdict, n), at: make([]int, n)}
			// For a group of up to 64 sources, masks[c] says which
			// members class c's ingress may admit (valid when
			// stamps[c] is the group's number, gen): the egress targets
			// are walked once for the group and each destination's
			// class tested once per group, not per source.
			masks, stamps := make([]uint64, len(classes)), make([]int, len(classes))
			// tierMasks[c] are the members only class c's tiers admit.
			tierMasks := make([]uint64, len(classes))
			var tried [64][]int
			var settled []tierSettled
			gen := 0
			for group := range next {
				gen++
				var shares *egressMemo
				shared := false
				if len(group) > 1 {
					shares, memo.gen = memo, gen
					if len(group) <= 64 {
						targets := outs[w].targets
						targets.reset()
						shared = !egressTargets(g.identities[group[0]], targets)
						if shared {
							for k := range group {
								tried[k] = tried[k][:0]
							}
							targets.each(func(d int) {
								c := classOf[d]
								if stamps[c.id] != gen {
									stamps[c.id], masks[c.id], tierMasks[c.id] = gen, 0, 0
									for k, i := range group {
										switch {
										case !c.all && hasBit(c.tierOnly, i):
											tierMasks[c.id] |= 1 << k
										case c.all || c.sources.has(i):
											masks[c.id] |= 1 << k
										}
									}
								}
								for m := masks[c.id]; m != 0; m &= m - 1 {
									k := bits.TrailingZeros64(m)
									tried[k] = append(tried[k], d)
								}
								if m := tierMasks[c.id]; m != 0 {
									settled = outs[w].memo.settle(g.identities, group, m, g.identities[d], settled[:0], func(k int) {
										tried[k] = append(tried[k], d)
									})
								}
							})
						}
					}
				}
				for k, i := range group {
					// Once the run is stopped, the remaining sources are
					// drained unvisited; one source costs at most a pass
					// over the identities, so this ends within moments.
					if a.ctx.Err() == nil {
						var t *[]int
						if shared {
							t = &tried[k]
						}
						work(g.identities[i], &outs[w], shares, t)
					}
				}
			}
		}()
	}
	for _, group := range groups {
		next <- group
	}
	close(next)
	wg.Wait()
	pseudo := false
	var conns, self [][]pairEntry
	for i := range outs {
		conns, self = append(conns, outs[i].conns...), append(self, outs[i].self...)
		pseudo = pseudo || outs[i].pseudo
		outs[i] = out{} // the memo's maps, freed before sorting
	}
	res.pairs = sortPairs(ranks.names, conns)
	if s := sortPairs(ranks.names, self); len(s.entries) > 0 {
		res.Self = s.connections()
	}
	if pseudo {
		res.Peers = append(append([]*Peer(nil), a.peers...), &Peer{ID: UnknownAddressPods, Kind: KindUnknownAddress, Name: UnknownAddressPods, many: true})
		sort.Slice(res.Peers, func(i, j int) bool { return res.Peers[i].ID < res.Peers[j].ID })
	}
	res.Exposures = a.Exposures()
	res.Notes = append(res.Notes, g.notes...)
	sort.Strings(res.Notes)
	return res
}

// pair is what a pod identity s may open to a pod identity d through every
// fence, with what each fence allows on its own when security groups or
// the VPC layer are given; ok is false when nothing may pass. What ipBlocks
// may match of unknown pod addresses is left to the pseudo-peer.
func (a *Analysis) pair(s, d *identity) (v Verdict, layers *Layers, ok bool) {
	return a.pairFrom(s, d, sideOf(s, d, nil, true, true))
}

// pairFrom is pair given the source's egress verdict towards d, which
// Reach computes once for all the sources of one egress class.
func (a *Analysis) pairFrom(s, d *identity, v Verdict) (_ Verdict, layers *Layers, ok bool) {
	if v.IsEmpty() {
		return v, nil, false
	}
	if v = v.and(sideOf(d, s, nil, false, true)); v.IsEmpty() {
		return v, nil, false
	}
	if a.sg == nil && a.net == nil {
		return v, nil, true
	}
	return a.fenced(s, d, v)
}

// fenced is the NetworkPolicy verdict v between s and d (not empty)
// and'ed with the security groups' and the VPC layer's, which depend on
// the pods' places only, and the connection's layers.
func (a *Analysis) fenced(s, d *identity, v Verdict) (_ Verdict, layers *Layers, ok bool) {
	f := a.pairFences(s, d)
	layers = &Layers{NetworkPolicy: v.Allowed, NetworkPolicyUnknown: v.Unknown}
	if a.sg != nil {
		v = v.and(f.sg)
		if f.sgShown {
			layers.SecurityGroups, layers.SecurityGroupsUnknown = &f.sg.Allowed, f.sg.Unknown
		}
	}
	if a.net != nil {
		layers.VPC = f.net.layers()
		v = v.and(f.net.all())
	}
	return v, layers, !v.IsEmpty()
}

// ingressOpen reports whether any source may reach an identity as far as
// its ingress goes: no policy surely isolates it, or doubts leave every
// verdict unknown.
func ingressOpen(d *identity) bool {
	return d.hostNetwork || len(d.ingress) == 0 || len(d.doubt) > 0
}

// ingressSources are the identities an identity's ingress may admit (all
// when it is open or some rule admits every peer). Any other source is
// denied without computing either side.
func (g *graph) ingressSources(d *identity) (all bool, sources bitset) {
	b := &setBuilder{words: newBitset(len(g.identities))}
	return g.addIngressSources(d, b), b.words
}

// addIngressSources adds ingressSources' sources to b and reports whether
// every source is admitted.
func (g *graph) addIngressSources(d *identity, b *setBuilder) (all bool) {
	if ingressOpen(d) {
		return true
	}
	for _, p := range append(append([]*policy(nil), d.ingress...), d.maybeIngress...) {
		for _, r := range p.ingress {
			all = all || r.allPeers
			b.add(r.peers)
			b.add(r.maybe)
		}
	}
	if d.tiers != nil {
		// Admin Accept rules admit past the NetworkPolicies; the eks
		// profile accepts the pod's own node.
		b.addDense(d.tierAccepts(false))
		if d.tiers.profile == model.ProfileEKS {
			b.addDense(d.tiers.host)
		}
	}
	return all
}

// egressTargets adds the identities an identity's egress may reach to
// targets, and reports open when it may reach any (not isolated, doubts, a
// rule admitting every peer).
func egressTargets(s *identity, targets *setBuilder) (open bool) {
	open = s.hostNetwork || len(s.egress) == 0 || len(s.doubt) > 0
	for _, p := range append(append([]*policy(nil), s.egress...), s.maybeEgress...) {
		for _, r := range p.egress {
			open = open || r.allPeers
			targets.add(r.peers)
			targets.add(r.maybe)
		}
	}
	if s.tiers != nil {
		targets.addDense(s.tierAccepts(true))
	}
	return open
}

// mayReach reports whether egressTargets of s would hold d, without
// building the set: a bit test per egress rule.
func mayReach(s, d *identity) bool {
	if s.hostNetwork || len(s.egress) == 0 || len(s.doubt) > 0 {
		return true
	}
	for _, ps := range [][]*policy{s.egress, s.maybeEgress} {
		for _, p := range ps {
			for _, r := range p.egress {
				if r.allPeers || r.peers.has(d.index) || r.maybe.has(d.index) {
					return true
				}
			}
		}
	}
	return s.tiers != nil && hasBit(s.tierAccepts(true), d.index)
}

// hasBit is b.has(i) for a bitset that may be shorter than the identities
// (a rule that matches no pod may have none).
func hasBit(b bitset, i int) bool { return i/64 < len(b) && b.has(i) }

// Into is the part of Reach's Connections whose destination is one peer,
// computed from that peer alone: only the sources its ingress may admit,
// and of those the ones whose egress may reach it, are paired with it. An
// audit rule that asks about a few destinations (inference workloads,
// admission webhooks) so costs a pass over the identities per
// destination, not every pair of the cluster. Sorted by source;
// TestIntoMatchesReach holds it equal to Reach's.
func (a *Analysis) Into(dst *Peer) []Connection {
	var out []Connection
	if dst == nil {
		return out
	}
	if dst.part != nil {
		// An address part: every identity's egress to it.
		for _, s := range a.g.identities {
			if c, ok := a.external(s, dst, true); ok {
				for _, sp := range a.byID[s.index] {
					c.Src, c.Dst = sp.ID, dst.ID
					out = append(out, c)
				}
			}
		}
		sortConnections(out)
		return out
	}
	if dst.identity == nil {
		return out
	}
	g, d := a.g, dst.identity
	all, sources := g.ingressSources(d)
	stopped, tried := a.ctx.Err() != nil, 0
	try := func(s *identity) {
		// Once the run is stopped the answer is discarded: skip the rest.
		if tried++; tried%512 == 0 && !stopped {
			stopped = a.ctx.Err() != nil
		}
		if stopped || !mayReach(s, d) {
			return
		}
		v, layers, ok := a.pair(s, d)
		if !ok {
			return
		}
		for _, sp := range a.byID[s.index] {
			if sp == dst && !sp.many {
				continue // a single pod to itself: Self, not a connection
			}
			out = append(out, Connection{Src: sp.ID, Dst: dst.ID, Allow: v.Allowed, Unknown: v.Unknown, Reasons: v.Reasons, Layers: layers})
		}
	}
	if all {
		for _, s := range g.identities {
			try(s)
		}
	} else {
		sources.each(func(i int) { try(g.identities[i]) })
	}
	if v := addressUnknown(d, false); !v.IsEmpty() {
		out = append(out, Connection{Src: UnknownAddressPods, Dst: dst.ID, Unknown: v.Unknown, Reasons: v.Reasons})
	}
	for _, part := range a.parts {
		if c, ok := a.external(d, part, false); ok {
			c.Src, c.Dst = part.ID, dst.ID
			out = append(out, c)
		}
	}
	sortConnections(out)
	return out
}

// UnknownAddressPods is the ID of the pseudo-peer standing for every pod
// whose addresses are not known (no pod IPs in the inputs, and a pod range
// that is unknown or wider than an ipBlock). An ipBlock that may hold such
// addresses may match any of those pods: Reach says so once per peer
// against this pseudo-peer, "src => (pods, addresses unknown): unknown TCP
// 443", instead of once per pod pair, as External peers stand for address
// ranges. Explain still answers each pair exactly.
const UnknownAddressPods = "(pods, addresses unknown)"

// KindUnknownAddress is the kind of the UnknownAddressPods pseudo-peer.
const KindUnknownAddress = "PodsOfUnknownAddress"

// addressUnknown is what an identity's policies for a direction may allow
// to (or from) pods whose addresses are not known, through ipBlocks that
// may hold those addresses: every such port is unknown, whatever else
// its policies allow (the pairs say that). Nothing when its own side is
// decided otherwise: a host-network pod (not isolated) or doubts (every
// pair unknown already).
func addressUnknown(id *identity, egress bool) Verdict {
	if id.hostNetwork || len(id.doubt) > 0 {
		return Verdict{}
	}
	certain, maybe := id.ingress, id.maybeIngress
	if egress {
		certain, maybe = id.egress, id.maybeEgress
	}
	var v Verdict
	add := func(p *policy, maybeWhy []string) {
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			if r.addrMaybe != nil && !r.addrMaybe.isEmpty() {
				v = v.or(Verdict{Unknown: r.addrPorts, Reasons: mergeReasons(r.addrPorts, r.addrWhy, maybeWhy)})
			}
		}
	}
	for _, p := range certain {
		add(p, nil)
	}
	for _, p := range maybe {
		add(p, []string{p.maybeWhy})
	}
	return v
}

// external is the connection between an identity and an address part,
// through both fences when security groups are given.
func (a *Analysis) external(id *identity, part *Peer, egress bool) (Connection, bool) {
	var pf *partFences
	if a.sg != nil || a.net != nil {
		pf = &partFences{}
		if a.sg != nil {
			pf.groups(a, id, part.part, egress)
		}
		if a.net != nil {
			pf.vpc(a, id, part.part, egress)
		}
	}
	f := a.fences(id, part.part, egress, side(id, nil, part.part, egress))
	if pf != nil {
		f.unfiltered = pf.unfiltered
	}
	return a.externalWith(egress, f, pf)
}

// externalWith is external with the NetworkPolicies' and security groups'
// verdicts f already judged (on the part, or a part they cannot tell
// apart), and pf the part's own (its VPC verdict, whether security groups
// filter it); pf is nil when neither security groups nor the VPC layer
// were given.
func (a *Analysis) externalWith(egress bool, f fenceVerdicts, pf *partFences) (Connection, bool) {
	v := f.both
	c := Connection{}
	if pf != nil {
		c.Layers = &Layers{NetworkPolicy: f.np.Allowed, NetworkPolicyUnknown: f.np.Unknown}
	}
	if a.sg != nil {
		c.Layers.Unfiltered = f.unfiltered
		if f.sgKnown {
			shown := f.sgShown
			if shown == nil {
				sv := f.sg
				shown = &sv.Allowed
			}
			c.Layers.SecurityGroups, c.Layers.SecurityGroupsUnknown = shown, f.sg.Unknown
		}
	}
	if a.net != nil {
		c.Layers.VPC = pf.net.layers()
		v = v.and(pf.net.all())
	}
	c.Allow, c.Unknown, c.Reasons = v.Allowed, v.Unknown, v.Reasons
	return c, !v.IsEmpty()
}

// egressClasses groups the identities whose egress verdict towards any
// pod is the same: those isolated by the same NetworkPolicies (and no
// others that may select them) and, when tiered policies select them, of
// one tier subject class for egress (tierConfig.classify: the tiers'
// part of an egress verdict is a function of that class and the
// destination's peer class; the eks profile's own-node acceptance is an
// ingress matter, decided by the other end). Doubts and host network
// decide a verdict by the source itself. npSide reads nothing else of the
// source: named ports resolve on the destination. Every other identity is
// a group of its own. Groups are in the order of their first identity.
func egressClasses(ids []*identity) [][]int {
	var groups [][]int
	at := map[string]int{}
	var key strings.Builder
	for _, s := range ids {
		if s.hostNetwork || len(s.doubt) > 0 {
			groups = append(groups, []int{s.index})
			continue
		}
		key.Reset()
		for _, p := range s.egress {
			fmt.Fprintf(&key, "%p,", p)
		}
		key.WriteByte('|')
		for _, p := range s.maybeEgress {
			fmt.Fprintf(&key, "%p,", p)
		}
		if s.tiers != nil {
			key.WriteString("|t")
			key.WriteString(strconv.Itoa(int(s.tiers.subject(s, true))))
		}
		k := key.String()
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], s.index)
	}
	return groups
}

// egressMemo holds the egress verdicts of one egress class by
// destination identity: v[i] is valid when at[i] is gen (the class's turn
// in the worker), so no map is hashed per pair and nothing is cleared
// between classes.
type egressMemo struct {
	v   []Verdict
	at  []int
	gen int
}

func sortConnections(cs []Connection) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Src != cs[j].Src {
			return cs[i].Src < cs[j].Src
		}
		return cs[i].Dst < cs[j].Dst
	})
}

// compiled returns the compiled form of a policy.
func (a *Analysis) compiled(p *model.NetworkPolicy) *policy {
	// By an index built once: audit asks once per policy, and a walk of
	// every policy each time was quadratic in large clusters.
	a.compiledOnce.Do(func() {
		a.byPolicy = make(map[*model.NetworkPolicy]*policy, len(a.g.policies))
		for _, cp := range a.g.policies {
			if _, dup := a.byPolicy[cp.src]; !dup {
				a.byPolicy[cp.src] = cp
			}
		}
	})
	return a.byPolicy[p]
}

// Selects reports whether a policy selects the pods of a peer.
func (a *Analysis) Selects(p *model.NetworkPolicy, peerID string) bool {
	cp := a.compiled(p)
	if cp == nil {
		return false
	}
	// By the index, not a walk of every peer: audit and report ask once per
	// policy and peer, which made the walk quadratic in large clusters.
	if peer := a.peerNamed(peerID); peer != nil && peer.identity != nil {
		return cp.selects.has(peer.identity.index)
	}
	return false
}

// DeadPeer is a peer of a policy rule that matches no pod.
type DeadPeer struct {
	Peer   string
	Source model.Source
}

// Dead reports whether a policy selects any pod, and which of its rules'
// selector peers match none (typo'd labels, usually).
func (a *Analysis) Dead(p *model.NetworkPolicy) (selects bool, dead []DeadPeer) {
	cp := a.compiled(p)
	if cp == nil {
		return false, nil
	}
	selects = !cp.selects.isEmpty() || !cp.maybe.isEmpty()
	check := func(rules []*rule, peers func(i int) []networkingv1.NetworkPolicyPeer, dir string) {
		for _, r := range rules {
			for j, peer := range peers(r.index) {
				if peer.IPBlock != nil {
					continue
				}
				ids, err := a.g.peerIdentities(p.Namespace, peer)
				empty := ids.yes.isEmpty() && ids.maybe.isEmpty()
				if err == nil && empty {
					dead = append(dead, DeadPeer{Peer: fmt.Sprintf("%s[%d] peer %d (%s)", dir, r.index, j, peerString(peer.NamespaceSelector, peer.PodSelector, nil)), Source: r.source})
				}
			}
		}
	}
	check(cp.ingress, func(i int) []networkingv1.NetworkPolicyPeer { return p.Spec.Ingress[i].From }, "ingress")
	check(cp.egress, func(i int) []networkingv1.NetworkPolicyPeer { return p.Spec.Egress[i].To }, "egress")
	return selects, dead
}

// HostNetworkSelected lists the peers of host-network pods a policy
// selects: it cannot isolate them (they have no interface of their own).
func (a *Analysis) HostNetworkSelected(p *model.NetworkPolicy) []string {
	cp := a.compiled(p)
	if cp == nil {
		return nil
	}
	var out []string
	cp.host.each(func(i int) {
		for _, peer := range a.byID[i] {
			out = append(out, peer.ID)
		}
	})
	sort.Strings(out)
	return out
}

// ExternalLayers returns, for every address part, what each fence allows a
// peer's egress, kept even when nothing gets through both (security groups
// blocking what the policy allows). Nil when no security groups were given.
func (a *Analysis) ExternalLayers(p *Peer) []Connection {
	if (a.sg == nil && a.net == nil) || p.identity == nil {
		return nil
	}
	var out []Connection
	for _, part := range a.parts {
		c, _ := a.external(p.identity, part, true)
		c.Src, c.Dst = p.ID, part.ID
		out = append(out, c)
	}
	return out
}
