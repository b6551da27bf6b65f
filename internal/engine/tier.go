package engine

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	awsranges "github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
	networkingv1 "k8s.io/api/networking/v1"
)

// Tiered policies (docs/tiers.md): cluster-wide policies in an Admin tier
// evaluated before NetworkPolicies and a Baseline tier after them. One
// evaluator serves every kind (model.TierPolicy) under two profiles:
//
//   - upstream (network-policy-api): policies by priority; within a policy
//     the first matching rule decides; Pass skips to the next tier; two
//     policies at one priority that decide a port differently leave it
//     unknown (upstream leaves their order undefined);
//   - eks (the VPC CNI network policy agent): every rule of every policy at
//     one priority is considered together and Deny beats Accept beats
//     Pass; traffic from the pod's own node is accepted; the default when
//     no tier decides is allow, or deny (--default-action).
//
// Both exclude host-network pods from subjects and selector peers.
//
// Verdicts stay three-valued: a rule that may match (a run-time label, a
// domain name whose addresses DNS decides) makes the ports it could decide
// unknown unless every outcome agrees.

// DefaultAction is what happens to traffic no tier decides (eks profile).
type DefaultAction string

// The default actions.
const (
	DefaultAllow DefaultAction = "allow"
	DefaultDeny  DefaultAction = "deny"
)

// TierOptions say how to evaluate tiered policies.
type TierOptions struct {
	// Profile overrides the profile chosen from the API groups ("" picks:
	// eks when an EKS kind is loaded, else upstream).
	Profile model.TierProfile
	// Default is the eks profile's default action ("" is allow).
	Default DefaultAction
	// Ranges resolves domainNames under amazonaws.com; nil uses the
	// embedded publication.
	Ranges *awsranges.Document
}

// tierConfig is the compiled tiered policies of a world.
type tierConfig struct {
	profile     model.TierProfile
	defaultDeny bool
	// nodes is where nodes take their addresses: the eks profile accepts
	// traffic from the pod's own node.
	nodes *netipx.IPSet
	// host are the host-network identities, whose traffic carries their
	// node's address (Reach's candidates for the eks own-node accept).
	host     bitset
	policies []*tierPolicy
	// subj and peer are each identity's classes per direction (0
	// ingress, 1 egress): identities of one subject class are evaluated
	// alike by the tiers, and so are identities of one peer class as the
	// other end. cells caches the tiers' part of a verdict per pair of
	// classes, so Reach's per-pair tier work is a lookup (nil: none yet).
	subj, peer [2][]int32
	mu         sync.RWMutex
	cells      map[tierCellKey]*tierCell
	partCells  int
}

// tierCellKey is a pair of classes, or a subject class and an address
// part (peer -1) of those Reach and the audits ask about.
type tierCellKey struct {
	subj, peer int32
	part       *netipx.IPSet
	egress     bool
}

// maxPartCells bounds the cells of address parts: callers that cut the
// address space afresh each time must not grow the cache without end.
// maxCells bounds all cells: a cluster whose every identity is a class of
// its own gets its verdicts walked, not a cache the square of its size.
const (
	maxPartCells = 1 << 16
	maxCells     = 1 << 20
)

// tierCell is the tiers' part of a verdict for a pair of classes; full
// is the whole verdict when the NetworkPolicies take no part in it.
type tierCell struct {
	eval tierEval
	full *Verdict
	// unmatched is the whole verdict for a pod that NetworkPolicies
	// isolate but whose rules cannot match the other pod (their verdict
	// is then empty), made on first use: most pairs an Admin Accept adds
	// to Reach's candidates are such.
	unmatched atomic.Pointer[Verdict]
}

// tierPolicy is a model.TierPolicy compiled against the identities.
type tierPolicy struct {
	src *model.TierPolicy
	// shadow names the rules in reasons and explanations.
	shadow   *policy
	selects  *idset
	maybe    *idset
	maybeWhy string
	ingress  []*tierRule
	egress   []*tierRule
}

type tierRule struct {
	*rule
	action model.TierAction
	name   string
}

// TierStep is one step of a tier evaluation in an explanation: a rule
// that matched (or may match) and the ports it decided, or where the
// ports no rule decided went.
type TierStep struct {
	Tier     string       `json:"tier"`
	Policy   string       `json:"policy,omitempty"`
	Priority int32        `json:"priority,omitempty"`
	Rule     string       `json:"rule,omitempty"`
	Action   string       `json:"action"`
	Match    string       `json:"match,omitempty"`
	Ports    netset.Ports `json:"ports"`
	Source   string       `json:"source,omitempty"`
	Why      []string     `json:"why,omitempty"`
}

// ChooseProfile picks the profile for a world: the flag's, else eks when
// an EKS kind is loaded, else upstream; why says how it was chosen.
func ChooseProfile(w *model.World, flag model.TierProfile) (p model.TierProfile, why string) {
	if flag != "" {
		return flag, "set by --tier-profile"
	}
	for _, t := range w.TierPolicies {
		if t.Group() == model.EKSGroup {
			return model.ProfileEKS, "chosen from API group " + model.EKSGroup + "; --tier-profile overrides"
		}
	}
	for _, p := range w.Policies {
		if p.Group() == model.EKSGroup {
			return model.ProfileEKS, "chosen from API group " + model.EKSGroup + "; --tier-profile overrides"
		}
	}
	return model.ProfileUpstream, "chosen from API group policy.networking.k8s.io; --tier-profile overrides"
}

// compileTiers compiles the tiered policies and domain names; nothing is
// set on identities when the world has none and the default is allow, so
// the NetworkPolicy path is unchanged.
func (g *graph) compileTiers(opts TierOptions) error {
	w := g.world
	profile, why := ChooseProfile(w, opts.Profile)
	deny := opts.Default == DefaultDeny
	if deny && profile != model.ProfileEKS {
		return fmt.Errorf("--default-action deny is the eks profile's (strict enforcing mode, Auto Mode's DefaultDeny); the upstream profile's default is allow")
	}
	g.profile = profile
	if len(w.TierPolicies) == 0 && !deny {
		return nil
	}
	tc := &tierConfig{profile: profile, defaultDeny: deny, nodes: g.addrs.nodes.set}
	if profile == model.ProfileEKS && tc.nodes != nil {
		// Own-node traffic is told apart: the address space is cut at
		// the nodes' range.
		tc.nodes = g.shareSet(tc.nodes)
	}
	def := "allow"
	if deny {
		def = "deny"
	}
	g.note("tiered policies: profile %s (%s), default action %s (docs/tiers.md)", profile, why, def)
	host := newBitset(len(g.identities))
	for _, id := range g.identities {
		if id.hostNetwork {
			host.set(id.index)
		}
	}
	tc.host = host
	for _, tp := range w.TierPolicies {
		ctp, err := g.compileTierPolicy(tp, host)
		if err != nil {
			return err
		}
		tc.policies = append(tc.policies, ctp)
	}
	for _, id := range g.identities {
		if id.hostNetwork {
			continue
		}
		for _, p := range tc.policies {
			if !p.selects.has(id.index) && !p.maybe.has(id.index) {
				continue
			}
			if len(p.ingress) > 0 {
				id.tierIn = append(id.tierIn, p)
			}
			if len(p.egress) > 0 {
				id.tierOut = append(id.tierOut, p)
			}
		}
		if deny || len(id.tierIn) > 0 || len(id.tierOut) > 0 {
			id.tiers = tc
		}
	}
	tc.classify(g.identities)
	return nil
}

// classify gives each identity its subject and peer classes. A tier walk
// reads of its subject only which policies select it (surely or maybe),
// how NetworkPolicies select it and, for ingress, the named ports of the
// tier rules; of the other end only how each tier rule matches it (with
// why, when maybe), whether it is a host-network pod and, for egress, the
// named ports. Identities alike in those get one class, so a verdict
// cached per pair of classes is the one each pair would get.
//
// The classes are refined policy by policy and rule by rule, visiting
// only the members of each subject and rule (most rules name few pods),
// not every identity against every rule: building a key per identity
// took 17 ms of 50 policies on 1,000 namespaces.
func (tc *tierConfig) classify(ids []*identity) {
	// Rules share their reasons' slices between identities: each
	// distinct slice is numbered once, and equal reasons alike.
	type sliceID struct {
		first *string
		n     int
	}
	whys := map[sliceID]int32{}
	texts := map[string]int32{}
	intern := func(k string) int32 {
		c, ok := texts[k]
		if !ok {
			c = int32(len(texts))
			texts[k] = c
		}
		return c
	}
	whyClass := func(why []string) int32 {
		if len(why) == 0 {
			return -1
		}
		k := sliceID{&why[0], len(why)}
		c, ok := whys[k]
		if !ok {
			c = intern("w" + strings.Join(why, "\x00"))
			whys[k] = c
		}
		return c
	}
	// A rule's match as a code (No is no mark): Yes 0, Maybe 2 and up
	// by its reasons.
	maybeCode := func(why []string) int32 { return whyClass(why) + 2 }
	for dir := range 2 {
		egress := dir == 1
		peer := newRefiner(len(ids))
		subj := newRefiner(len(ids))
		for _, x := range ids {
			if x.hostNetwork {
				peer.of[x.index] = 1
			}
			subj.of[x.index] = int32(npModeOf(x, egress))
		}
		peer.next, subj.next = 2, 3
		for _, p := range tc.policies {
			rules := p.ingress
			if egress {
				rules = p.egress
			}
			for _, r := range rules {
				if !r.allPeers { // else every identity matches: no split
					r.peers.each(func(i int) { peer.mark(i, 0) })
					r.maybe.each(func(i int) {
						if !r.peers.has(i) {
							peer.mark(i, maybeCode(r.why[i]))
						}
					})
					if r.addrMaybe != nil {
						c := maybeCode(r.addrWhy)
						r.addrMaybe.each(func(i int) {
							if !r.peers.has(i) && !r.maybe.has(i) {
								peer.mark(i, c)
							}
						})
					}
					peer.step()
				}
				if egress && len(r.named) > 0 {
					for _, x := range ids {
						peer.mark(x.index, intern("n"+r.allowed(x).String()))
					}
					peer.step()
				}
			}
			if len(rules) == 0 {
				continue // not in the subjects' tierIn (tierOut)
			}
			// The subjects (tierIn, tierOut): surely or maybe
			// selected, with their named ports for ingress.
			named := false
			for _, r := range p.ingress {
				named = named || len(r.named) > 0
			}
			code := func(x *identity) int32 {
				c := int32(0)
				if !egress && named {
					var b strings.Builder
					for _, r := range p.ingress {
						if len(r.named) > 0 {
							b.WriteString(r.allowed(x).String())
						}
						b.WriteByte(',')
					}
					c = 2 * (intern("s"+b.String()) + 1)
				}
				if p.selects.has(x.index) {
					c++
				}
				return c
			}
			each := func(i int) {
				if x := ids[i]; !x.hostNetwork {
					subj.mark(i, code(x))
				}
			}
			p.selects.each(each)
			p.maybe.each(func(i int) {
				if !p.selects.has(i) {
					each(i)
				}
			})
			subj.step()
		}
		tc.peer[dir], tc.subj[dir] = peer.finish(), subj.finish()
	}
	tc.cells = map[tierCellKey]*tierCell{}
}

// refiner splits a partition of the identities step by step: in a step,
// the members of a class marked with different codes part, and those not
// marked stay together.
type refiner struct {
	of   []int32 // identity index -> class
	next int32   // the next class number, above every one in of
	// split numbers a step's new classes by old class and code; last
	// and lastNew are the last looked up (members of a class come in
	// runs).
	split   map[[2]int32]int32
	last    [2]int32
	lastNew int32
}

func newRefiner(n int) *refiner {
	return &refiner{of: make([]int32, n), split: map[[2]int32]int32{}, last: [2]int32{-1, -1}}
}

// mark moves identity i, by the class it had before this step, and code
// to a new class; an identity is marked at most once a step.
func (r *refiner) mark(i int, code int32) {
	k := [2]int32{r.of[i], code}
	if k != r.last {
		n, ok := r.split[k]
		if !ok {
			n = r.next
			r.next++
			r.split[k] = n
		}
		r.last, r.lastNew = k, n
	}
	r.of[i] = r.lastNew
}

// step ends a step: the marks after it read the classes it made.
func (r *refiner) step() {
	clear(r.split)
	r.last = [2]int32{-1, -1}
	if int(r.next) > 4*len(r.of)+8 {
		r.next = r.compact()
	}
}

// finish is the classes, numbered from 0 in order of first member.
func (r *refiner) finish() []int32 {
	r.compact()
	return r.of
}

// compact renumbers the classes from 0 (a step numbers its classes anew,
// leaving gaps) and returns their count.
func (r *refiner) compact() int32 {
	at := map[int32]int32{}
	for i, c := range r.of {
		n, ok := at[c]
		if !ok {
			n = int32(len(at))
			at[c] = n
		}
		r.of[i] = n
	}
	return int32(len(at))
}

// subject is id's subject class for a direction: identities of one class
// get the same tiers' part of every verdict towards the same peer class
// or address part.
func (tc *tierConfig) subject(id *identity, egress bool) int32 {
	if egress {
		return tc.subj[1][id.index]
	}
	return tc.subj[0][id.index]
}

// cell is the cached tiers' part of id's verdict for one direction with
// other (or the address part), computed on first use from this pair (any
// pair of the same classes gives the same).
func (tc *tierConfig) cell(id, other *identity, part *netipx.IPSet, egress bool) *tierCell {
	dir := 0
	if egress {
		dir = 1
	}
	k := tierCellKey{subj: tc.subj[dir][id.index], peer: -1, part: part, egress: egress}
	if other != nil {
		k.peer = tc.peer[dir][other.index]
	}
	tc.mu.RLock()
	c := tc.cells[k]
	tc.mu.RUnlock()
	if c != nil {
		return c
	}
	c = &tierCell{eval: tc.eval(id, other, part, egress, nil)}
	if c.eval.decided || c.eval.mode == npNone {
		v := tc.finish(&c.eval, nil, nil)
		// Verdicts are shared between pairs: an append to the reasons
		// must copy.
		v.Reasons = slices.Clip(v.Reasons)
		c.full = &v
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if old := tc.cells[k]; old != nil {
		return old
	}
	if len(tc.cells) < maxCells && (part == nil || tc.partCells < maxPartCells) {
		tc.cells[k] = c
		if part != nil {
			tc.partCells++
		}
	}
	return c
}

func (g *graph) compileTierPolicy(tp *model.TierPolicy, host bitset) (*tierPolicy, error) {
	shadow := &policy{src: &model.NetworkPolicy{Meta: tp.Meta}}
	for _, r := range tp.Ingress {
		shadow.src.IngressRules = append(shadow.src.IngressRules, r.Source)
	}
	for _, r := range tp.Egress {
		shadow.src.EgressRules = append(shadow.src.EgressRules, r.Source)
	}
	p := &tierPolicy{src: tp, shadow: shadow}
	subj, err := g.peerIdentities("", networkingv1.NetworkPolicyPeer{NamespaceSelector: &tp.Subject.Namespaces, PodSelector: tp.Subject.Pods})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: spec.subject: %w", tp.Source, tp.Ref(), err)
	}
	selects, maybe := g.sets.builder(), g.sets.builder()
	selects.add(subj.yes)
	subj.maybe.each(func(i int) {
		if !host.has(i) {
			maybe.set(i)
			p.maybeWhy = fmt.Sprintf("%s (%s) may or may not select these pods: its subject reads a label whose value is set at run time", tp.Ref(), tp.Source)
		}
	})
	selects.removeDense(host)
	p.selects, p.maybe = g.sets.freeze(selects), g.sets.freeze(maybe)
	for i, r := range tp.Ingress {
		cr, err := g.compileTierRule(shadow, i, false, r, host)
		if err != nil {
			return nil, err
		}
		p.ingress = append(p.ingress, cr)
	}
	for i, r := range tp.Egress {
		cr, err := g.compileTierRule(shadow, i, true, r, host)
		if err != nil {
			return nil, err
		}
		p.egress = append(p.egress, cr)
	}
	return p, nil
}

func (g *graph) compileTierRule(shadow *policy, index int, egress bool, tr model.TierRule, host bitset) (*tierRule, error) {
	r := &rule{policy: shadow, index: index, egress: egress, source: tr.Source, ports: tr.Ports}
	b := g.newRuleSets()
	r.fixed = rulePorts(tr.Ports, nil)
	for _, port := range tr.Ports {
		if port.Port != nil && port.Port.StrVal != "" {
			r.named = append(r.named, port)
		}
	}
	name := tr.Name
	if name == "" {
		name = fmt.Sprintf("%s[%d]", map[bool]string{true: "egress", false: "ingress"}[egress], index)
	}
	for _, s := range tr.Selectors {
		m, err := g.peerIdentities("", networkingv1.NetworkPolicyPeer{NamespaceSelector: &s.Namespaces, PodSelector: s.Pods})
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", tr.Source, shadow.src.Ref(), err)
		}
		// Selector peers never hold host-network pods.
		f := peerMatch{why: map[int][]string{}}
		yes, maybe := g.sets.builder(), g.sets.builder()
		yes.add(m.yes)
		yes.removeDense(host)
		maybe.add(m.maybe)
		maybe.removeDense(host)
		f.yes, f.maybe = g.sets.freeze(yes), g.sets.freeze(maybe)
		f.maybe.each(func(i int) { f.why[i] = m.why[i] })
		b.add(r, f)
	}
	if len(tr.Networks) > 0 {
		var ips netipx.IPSetBuilder
		var blocks []*netipx.IPSet
		for _, c := range tr.Networks {
			set, err := g.ipBlock(&networkingv1.IPBlock{CIDR: c})
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", tr.Source, shadow.src.Ref(), err)
			}
			ips.AddSet(set)
			blocks = append(blocks, set)
		}
		b.add(r, g.blockMatch(tr.Networks, blocks))
		set, _ := ips.IPSet()
		r.ips = g.shareSet(set)
	}
	if len(tr.Nodes) > 0 {
		// A nodes peer matches node addresses: host-network pods (whose
		// address is their node's) and addresses in the nodes' range,
		// each maybe (which nodes match is not decided per address).
		why := []string{fmt.Sprintf("%s %s (%s): a nodes peer matches the addresses of the nodes its selector picks, which are not told apart", shadow.src.Ref(), name, tr.Source)}
		host.each(func(i int) {
			if !b.peers.has(i) {
				b.maybe.set(i)
				if r.why == nil {
					r.why = map[int][]string{}
				}
				r.why[i] = mergeReasons(netset.AllPorts(), r.why[i], why)
			}
		})
		g.addNamed(r, g.addrs.nodes.set, why)
	}
	if len(tr.DomainNames) > 0 {
		g.addDomains(r, tr.DomainNames)
	}
	// Tier rules decide pairs one by one: what an ipBlock may match of
	// pods of unknown address is a maybe like any other (match answers
	// addrMaybe with addrWhy). Pods a selector may match too keep both
	// reasons in why; the others (often every pod) stay in addrMaybe, so
	// that no reason is kept pod by pod.
	if addr := b.addrMaybe; addr != nil {
		for i := addr.lo; i < addr.hi; i++ {
			addr.words[i] &^= b.peers.words[i]
			both := addr.words[i] & b.maybe.words[i]
			addr.words[i] &^= both
			for w := both; w != 0; w &= w - 1 {
				k := i*64 + bits.TrailingZeros64(w)
				if r.why == nil {
					r.why = map[int][]string{}
				}
				r.why[k] = mergeReasons(netset.AllPorts(), r.why[k], r.addrWhy)
			}
		}
	}
	b.maybe.remove(b.peers)
	g.freezeRule(r, b)
	return &tierRule{rule: r, action: tr.Action, name: name}, nil
}

// shareSet keeps one copy of each distinct set of rule addresses: what
// policies can tell apart in the address space.
func (g *graph) shareSet(set *netipx.IPSet) *netipx.IPSet {
	key := strings.Join(netset.PrefixStrings(set), ",")
	if shared, ok := g.ruleSets[key]; ok {
		return shared
	}
	g.ruleSets[key] = set
	return set
}

// addNamed lets a rule maybe match the addresses of set (nil: any
// address) for why: named addresses whose exact members are not known.
func (g *graph) addNamed(r *rule, set *netipx.IPSet, why []string) {
	if set == nil {
		r.namesAll = true
	} else {
		var b netipx.IPSetBuilder
		if r.namesSet != nil {
			b.AddSet(r.namesSet)
		}
		b.AddSet(set)
		s, _ := b.IPSet()
		r.namesSet = g.shareSet(s)
		if len(set.Prefixes()) > 0 {
			g.shareSet(set)
		}
	}
	r.namesWhy = mergeReasons(netset.AllPorts(), r.namesWhy, why)
}

// addDomains lets a rule match the addresses of domain names: among the
// published ranges for names under amazonaws.com, anywhere outside the
// cluster for others. A domain name is never a pod.
func (g *graph) addDomains(r *rule, names []string) {
	g.note("domainNames peers are enforced only in EKS Auto Mode (and by upstream implementations that support them): elsewhere such a rule matches nothing")
	doc := g.rangesDoc()
	for _, name := range names {
		where := fmt.Sprintf("%s %s (%s)", r.policy.src.Ref(), map[bool]string{true: "egress", false: "ingress"}[r.egress], r.source)
		if doc != nil {
			if set, desc, ok := awsranges.Domain(doc, name); ok {
				g.addNamed(r, set, []string{where + ": " + desc})
				continue
			}
		}
		g.addNamed(r, nil, []string{fmt.Sprintf("%s: the addresses of domain name %s are not known offline (only names under amazonaws.com that name a service and region are)", where, name)})
	}
}

func (g *graph) rangesDoc() *awsranges.Document {
	if g.ranges == nil && !g.rangesTried {
		g.rangesTried = true
		g.ranges, _ = awsranges.Snapshot()
	}
	return g.ranges
}

// tierReferenced adds the label keys and port names tiered policies read.
func tierReferenced(w *model.World, keys, names map[string]bool) {
	add := func(s model.TierSubject) {
		if s.Pods == nil {
			return
		}
		for k := range s.Pods.MatchLabels {
			keys[k] = true
		}
		for _, e := range s.Pods.MatchExpressions {
			keys[e.Key] = true
		}
	}
	for _, p := range w.TierPolicies {
		add(p.Subject)
		for _, r := range append(append([]model.TierRule(nil), p.Ingress...), p.Egress...) {
			for _, s := range r.Selectors {
				add(s)
			}
			for _, port := range r.Ports {
				if port.Port != nil && port.Port.StrVal != "" {
					names[port.Port.StrVal] = true
				}
			}
		}
	}
}

// outcome is what one tier decides about the ports of a connection:
// surely accepted, denied or passed (a port in two of them is decided by
// tied policies), maybe so (the rule may match), and the rest, which no
// rule surely decided.
type outcome struct {
	acc, den, pas          netset.Ports
	mayAcc, mayDen, mayPas netset.Ports
	rest                   netset.Ports
	reasons                []string
	// touched is set when some rule matched or may match: otherwise
	// every port goes on to the next tier unchanged.
	touched bool
}

// decidedAll reports whether the tier surely decides every port, so that
// what comes after cannot matter.
func (o outcome) decidedAll() bool {
	return o.touched && o.rest.IsEmpty() && o.pas.IsEmpty() && o.mayPas.IsEmpty() && o.mayAcc.IsEmpty() && o.mayDen.IsEmpty()
}

// then is the verdict once the ports the tier does not decide go on to
// next: a port is allowed when every outcome it may have allows it,
// unknown when some may.
func (o outcome) then(next Verdict) Verdict {
	p := o.plan()
	return p.then(next)
}

// thenPlan is the part of then that does not depend on the next verdict,
// kept with a cached outcome so a pair pays only for the rest.
type thenPlan struct {
	// passes is set when every port passes or is left (a Pass to every
	// pod, the common guardrail): the next verdict goes through.
	passes bool
	// through goes on to next; acc and den may be accepted or denied
	// here.
	through, acc, den netset.Ports
	reasons           []string
}

func (o outcome) plan() thenPlan {
	p := thenPlan{reasons: o.reasons}
	p.passes = o.acc.IsEmpty() && o.den.IsEmpty() && o.mayAcc.IsEmpty() && o.mayDen.IsEmpty() && o.mayPas.IsEmpty()
	if !p.passes {
		p.through = o.rest.Union(o.pas).Union(o.mayPas)
		p.acc = o.acc.Union(o.mayAcc)
		p.den = o.den.Union(o.mayDen)
	}
	return p
}

func (p *thenPlan) then(next Verdict) Verdict {
	if p.passes {
		// What the sets below give when through is every port and acc
		// and den are empty.
		unknown := next.Unknown.Difference(next.Allowed)
		return Verdict{Allowed: next.Allowed, Unknown: unknown, Reasons: mergeReasons(unknown, p.reasons, next.Reasons)}
	}
	canAllow := p.acc.Union(p.through.Intersect(next.Possible()))
	canDeny := p.den.Union(p.through.Difference(next.Allowed))
	v := Verdict{Allowed: canAllow.Difference(canDeny), Unknown: canAllow.Intersect(canDeny)}
	v.Reasons = mergeReasons(v.Unknown, p.reasons, next.Reasons)
	return v
}

// side is what the tiers and NetworkPolicies decide for one direction of
// id's traffic; steps, when not nil, collects the explanation. Between
// two pods (Reach's pairs) the tiers' part comes from the class cache:
// only the NetworkPolicies are evaluated per pair.
func (tc *tierConfig) side(id, other *identity, part *netipx.IPSet, egress, pairs bool, steps *[]TierStep) Verdict {
	np := func() Verdict { return npSide(id, other, part, egress, pairs) }
	if steps == nil && (other == nil) != (part == nil) && tc.cells != nil {
		c := tc.cell(id, other, part, egress)
		if c.full != nil {
			return *c.full
		}
		if other != nil && c.eval.mode == npIsolated && !npMayMatch(id, other, egress, pairs) {
			if v := c.unmatched.Load(); v != nil {
				return *v
			}
			v := tc.finish(&c.eval, func() Verdict { return Verdict{} }, nil)
			v.Reasons = slices.Clip(v.Reasons)
			c.unmatched.Store(&v)
			return v
		}
		return tc.finish(&c.eval, np, nil)
	}
	e := tc.eval(id, other, part, egress, steps)
	return tc.finish(&e, np, steps)
}

// npMayMatch reports whether some rule of id's NetworkPolicies for a
// direction may match the pod other, as npSide matches it: when none may,
// npSide's verdict for a pod they isolate is empty.
func npMayMatch(id, other *identity, egress, pairs bool) bool {
	lists := [2][]*policy{id.ingress, id.maybeIngress}
	if egress {
		lists = [2][]*policy{id.egress, id.maybeEgress}
	}
	for _, ps := range lists {
		for _, p := range ps {
			rules := p.ingress
			if egress {
				rules = p.egress
			}
			for _, r := range rules {
				if pairs && r.addrMaybe != nil && r.addrMaybe.has(other.index) {
					continue // npSide leaves these to the pseudo-peer
				}
				if m, _ := r.match(other, nil); m != No {
					return true
				}
			}
		}
	}
	return false
}

// npMode is how NetworkPolicies select a pod for a direction, which says
// what decides the ports the Admin tier passes or leaves.
type npMode int

const (
	npIsolated npMode = iota // NetworkPolicies surely select it
	npNone                   // none may: the Baseline tier and the default
	npMaybe                  // some may: either
)

func npModeOf(id *identity, egress bool) npMode {
	certain, maybe := id.ingress, id.maybeIngress
	if egress {
		certain, maybe = id.egress, id.maybeEgress
	}
	switch {
	case len(certain) > 0:
		return npIsolated
	case len(maybe) == 0:
		return npNone
	}
	return npMaybe
}

// tierEval is what the tiers decide for one direction of a pair, all but
// the NetworkPolicies' part.
type tierEval struct {
	admin outcome
	plan  thenPlan
	// decided is set when the Admin tier surely decides every port (and
	// no explanation is wanted): nothing below is evaluated.
	decided bool
	mode    npMode
	// base is the Baseline tier then the default (mode npNone, npMaybe).
	base    Verdict
	ownNode bool
}

func (tc *tierConfig) def() Verdict {
	if tc.defaultDeny {
		return Verdict{}
	}
	return allowAll()
}

func (tc *tierConfig) eval(id, other *identity, part *netipx.IPSet, egress bool, steps *[]TierStep) tierEval {
	pols := id.tierIn
	if egress {
		pols = id.tierOut
	}
	var admin, baseline []*tierPolicy
	for _, p := range pols {
		if p.src.Tier == model.TierAdmin {
			admin = append(admin, p)
		} else {
			baseline = append(baseline, p)
		}
	}
	// The Admin tier first: what it decides surely needs nothing below.
	e := tierEval{
		admin:   tc.walk(admin, id, other, part, egress, "Admin", steps),
		mode:    npModeOf(id, egress),
		ownNode: tc.profile == model.ProfileEKS && !egress && tc.fromOwnNode(other, part),
	}
	e.plan = e.admin.plan()
	if steps == nil && e.admin.decidedAll() {
		e.decided = true
		return e
	}
	if e.mode != npIsolated {
		bo := tc.walk(baseline, id, other, part, egress, "Baseline", steps)
		e.base = tc.def()
		if bo.touched {
			e.base = bo.then(e.base)
		}
	}
	return e
}

// finish puts the NetworkPolicies' verdict (np, called only when it
// matters) between the tiers.
func (tc *tierConfig) finish(e *tierEval, np func() Verdict, steps *[]TierStep) Verdict {
	var v Verdict
	if e.decided {
		v = e.plan.then(Verdict{})
	} else {
		var below Verdict
		npStep := ""
		switch e.mode {
		case npIsolated:
			below, npStep = np(), "NetworkPolicies isolate the pod: they decide what the Admin tier passes or leaves"
		case npNone:
			below, npStep = e.base, "no NetworkPolicy selects the pod: the Baseline tier, then the default, decide what the Admin tier passes or leaves"
		default:
			n := np()
			allowed := n.Allowed.Intersect(e.base.Allowed)
			unknown := netset.AllPorts().Difference(allowed)
			below = Verdict{Allowed: allowed, Unknown: unknown, Reasons: mergeReasons(unknown, n.Reasons, e.base.Reasons)}
			npStep = "NetworkPolicies may or may not select the pod (a run-time label): NetworkPolicies or the Baseline tier decide what the Admin tier passes or leaves"
		}
		if steps != nil {
			*steps = append(*steps, TierStep{Tier: "NetworkPolicy", Action: "decide", Ports: below.Allowed, Why: []string{npStep}})
		}
		v = below
		if e.admin.touched {
			v = e.plan.then(below)
		}
	}
	if e.ownNode {
		// The agent accepts what comes from the pod's own node (kubelet
		// probes) before any tier; whether the peer is on that node is
		// not known.
		v = v.or(Verdict{Unknown: netset.AllPorts(), Reasons: []string{"the eks profile accepts traffic from the pod's own node (kubelet probes) before any tier; whether this peer runs on (or is) the pod's node is not known"}})
	}
	if steps != nil {
		*steps = append(*steps, TierStep{Tier: "default", Action: map[bool]string{true: "deny", false: "allow"}[tc.defaultDeny], Ports: tc.def().Allowed, Why: []string{"what no tier and no NetworkPolicy decides"}})
	}
	return v
}

// fromOwnNode reports whether traffic may come from a node's address: a
// host-network pod, or an address in the nodes' range.
func (tc *tierConfig) fromOwnNode(other *identity, part *netipx.IPSet) bool {
	if other != nil {
		return other.hostNetwork
	}
	return part != nil && (tc.nodes == nil || netset.Overlaps(tc.nodes, part))
}

// walk evaluates one tier's policies (in priority order) for one
// direction.
func (tc *tierConfig) walk(pols []*tierPolicy, id, other *identity, part *netipx.IPSet, egress bool, tier string, steps *[]TierStep) outcome {
	o := outcome{rest: netset.AllPorts()}
	portsOn := other
	if !egress {
		portsOn = id
	}
	for i := 0; i < len(pols) && !o.rest.IsEmpty(); {
		j := i
		for j < len(pols) && pols[j].src.Priority == pols[i].src.Priority {
			j++
		}
		group := pols[i:j]
		i = j
		if tc.profile == model.ProfileEKS {
			tc.eksGroup(&o, group, id, other, part, egress, portsOn, tier, steps)
		} else {
			tc.upstreamGroup(&o, group, id, other, part, egress, portsOn, tier, steps)
		}
	}
	return o
}

// match is whether a tier rule of p applies to the pair: the subject and
// the peer must both match.
func (p *tierPolicy) match(r *tierRule, id, other *identity, part *netipx.IPSet) (Match, []string) {
	m, why := r.match(other, part)
	if m == No {
		return No, nil
	}
	if !p.selects.has(id.index) {
		return Maybe, mergeReasons(netset.AllPorts(), why, []string{p.maybeWhy})
	}
	return m, why
}

func (tc *tierConfig) record(steps *[]TierStep, tier string, p *tierPolicy, r *tierRule, m Match, ports netset.Ports, why []string, note string) {
	if steps == nil {
		return
	}
	s := TierStep{Tier: tier, Policy: p.src.Ref().String(), Priority: p.src.Priority, Rule: r.name, Action: string(r.action), Match: "yes", Ports: ports, Source: r.source.String(), Why: why}
	if m == Maybe {
		s.Match = "maybe"
	}
	if r.action == model.ActionPass {
		next := "NetworkPolicies (or, for a pod no NetworkPolicy selects, the Baseline tier)"
		if tier == "Baseline" {
			next = "the default action"
		}
		s.Why = append(s.Why, "Pass skips the rest of the "+tier+" tier: "+next+" decide these ports")
	}
	if note != "" {
		s.Why = append(s.Why, note)
	}
	*steps = append(*steps, s)
}

// upstreamGroup: each policy's first matching rule decides a port; tied
// policies that decide it differently leave it to either.
func (tc *tierConfig) upstreamGroup(o *outcome, group []*tierPolicy, id, other *identity, part *netipx.IPSet, egress bool, portsOn *identity, tier string, steps *[]TierStep) {
	var decided netset.Ports
	type claim struct {
		p      *tierPolicy
		action model.TierAction
		ports  netset.Ports
	}
	var claims []claim
	for _, p := range group {
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		left := o.rest
		for _, r := range rules {
			m, why := p.match(r, id, other, part)
			if m == No {
				continue
			}
			ports := r.allowed(portsOn).Intersect(left)
			if ports.IsEmpty() {
				continue
			}
			o.touched = true
			tc.record(steps, tier, p, r, m, ports, why, "")
			claims = append(claims, claim{p, r.action, ports})
			if m == Yes {
				left = left.Difference(ports)
				decided = decided.Union(ports)
				switch r.action {
				case model.ActionAccept:
					o.acc = o.acc.Union(ports)
				case model.ActionDeny:
					o.den = o.den.Union(ports)
				default:
					o.pas = o.pas.Union(ports)
				}
				continue
			}
			o.reasons = mergeReasons(netset.AllPorts(), o.reasons, why)
			switch r.action {
			case model.ActionAccept:
				o.mayAcc = o.mayAcc.Union(ports)
			case model.ActionDeny:
				o.mayDen = o.mayDen.Union(ports)
			default:
				o.mayPas = o.mayPas.Union(ports)
			}
		}
	}
	for a := 0; a < len(claims); a++ {
		for b := a + 1; b < len(claims); b++ {
			x, y := claims[a], claims[b]
			if x.p != y.p && x.action != y.action && !x.ports.Intersect(y.ports).IsEmpty() {
				o.reasons = mergeReasons(netset.AllPorts(), o.reasons, []string{fmt.Sprintf("%s and %s share priority %d in the %s tier and may both match (%s vs %s): upstream leaves which applies undefined", x.p.src.Ref(), y.p.src.Ref(), x.p.src.Priority, tier, x.action, y.action)})
			}
		}
	}
	o.rest = o.rest.Difference(decided)
}

// eksGroup: every rule at one priority together; Deny beats Accept beats
// Pass, whatever the rule order.
func (tc *tierConfig) eksGroup(o *outcome, group []*tierPolicy, id, other *identity, part *netipx.IPSet, egress bool, portsOn *identity, tier string, steps *[]TierStep) {
	var yes, may [3]netset.Ports // Deny, Accept, Pass
	matched := false
	for _, p := range group {
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			m, why := p.match(r, id, other, part)
			if m == No {
				continue
			}
			ports := r.allowed(portsOn).Intersect(o.rest)
			if ports.IsEmpty() {
				continue
			}
			o.touched, matched = true, true
			tc.record(steps, tier, p, r, m, ports, why, "")
			k := actionIndex(r.action)
			if m == Yes {
				yes[k] = yes[k].Union(ports)
			} else {
				may[k] = may[k].Union(ports)
				o.reasons = mergeReasons(netset.AllPorts(), o.reasons, why)
			}
		}
	}
	if !matched {
		// Nothing at this priority: no set work.
		return
	}
	den := yes[0]
	acc := yes[1].Difference(den)
	pas := yes[2].Difference(den).Difference(yes[1])
	o.den = o.den.Union(den)
	o.acc = o.acc.Union(acc)
	o.pas = o.pas.Union(pas)
	o.mayDen = o.mayDen.Union(may[0].Difference(den))
	o.mayAcc = o.mayAcc.Union(may[1].Difference(den).Difference(yes[1]))
	o.mayPas = o.mayPas.Union(may[2].Difference(den).Difference(yes[1]).Difference(yes[2]))
	o.rest = o.rest.Difference(den).Difference(acc).Difference(pas)
}

// actionIndex orders actions as the eks profile ranks them.
func actionIndex(a model.TierAction) int {
	switch a {
	case model.ActionDeny:
		return 0
	case model.ActionAccept:
		return 1
	}
	return 2
}

// tierAccepts is every identity an Accept rule of id's Admin tier may
// admit for a direction: with NetworkPolicies isolating id, only those
// and the NetworkPolicies' peers may get through.
func (id *identity) tierAccepts(egress bool) bitset {
	pols := id.tierIn
	if egress {
		pols = id.tierOut
	}
	var out bitset
	for _, p := range pols {
		if p.src.Tier != model.TierAdmin {
			continue
		}
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			if r.action != model.ActionAccept {
				continue
			}
			out = r.addrMaybe.orInto(r.maybe.orInto(r.peers.orInto(out)))
		}
	}
	return out
}

// tierReach is every identity a tier rule may match: its peers, its
// maybes and the pods its addresses may hold (tier rules judge those pair
// by pair, unlike NetworkPolicy rules).
func (r *tierRule) tierReach() bitset {
	return r.addrMaybe.orInto(r.reachable())
}

// tierOnlySources are the identities only an Admin Accept rule of d's
// ingress may admit, nil when none: d is isolated by NetworkPolicies
// (ingressOpen false), no rule of which may match them, so its ingress
// verdict from any of them is the tiers' cell for their peer class alone
// (host-network pods, which the eks profile accepts from the pod's own
// node, are left out). Reach settles such sources per peer class.
func (d *identity) tierOnlySources() bitset {
	if d.tiers == nil || ingressOpen(d) {
		return nil
	}
	out := d.tierAccepts(false)
	if out.isEmpty() {
		return nil
	}
	for _, ps := range [][]*policy{d.ingress, d.maybeIngress} {
		for _, p := range ps {
			for _, r := range p.ingress {
				if r.allPeers {
					return nil
				}
				clearFrom(out, r.peers)
				clearFrom(out, r.maybe)
			}
		}
	}
	for i := range min(len(out), len(d.tiers.host)) {
		out[i] &^= d.tiers.host[i]
	}
	return out
}

// clearFrom removes s's members from b.
func clearFrom(b bitset, s *idset) {
	if s == nil {
		return
	}
	for k, w := range s.words {
		if j := s.off + k; j < len(b) {
			b[j] &^= w
		}
	}
}

// tierKey tells apart identities whose tiers differ, for Reach's classes.
func (id *identity) tierKey() string {
	if id.tiers == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("|t")
	for _, p := range id.tierIn {
		fmt.Fprintf(&b, "%p,", p)
	}
	return b.String()
}

// orderSteps puts an evaluation's steps in the order tiers apply: Admin,
// NetworkPolicy, Baseline, default (each tier's own in priority order).
func orderSteps(steps []TierStep) []TierStep {
	rank := map[string]int{"Admin": 0, "NetworkPolicy": 1, "Baseline": 2, "default": 3}
	out := make([]TierStep, 0, len(steps))
	for r := 0; r < 4; r++ {
		for _, s := range steps {
			if rank[s.Tier] == r {
				out = append(out, s)
			}
		}
	}
	return out
}

// tierDestination is ExplainDestination's NetworkPolicy layer for a pod
// tiered policies select: the destination is cut wherever some rule's
// addresses begin or end, and each part is judged as reach judges an
// address outside the cluster (the tiers, then NetworkPolicies, Baseline,
// the default). rules names the tier rules that decided a wanted port;
// missing says why a part is unknown.
func (a *Analysis) tierDestination(id *identity, dst *netipx.IPSet, wants func(netset.Ports) bool, allowed, maybe *netipx.IPSetBuilder) (rules, missing []string) {
	keys := make([]string, 0, len(a.g.ruleSets))
	for k := range a.g.ruleSets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sets := []*netipx.IPSet{dst}
	for _, k := range keys {
		sets = append(sets, a.g.ruleSets[k])
	}
	seen := map[string]bool{}
	for _, part := range netset.Partition(sets) {
		if !part.In[0] {
			continue
		}
		var steps []TierStep
		v := id.tiers.side(id, nil, part.Set, true, false, &steps)
		switch {
		case wants(v.Allowed):
			allowed.AddSet(part.Set)
		case wants(v.Unknown):
			maybe.AddSet(part.Set)
			missing = mergeReasons(netset.AllPorts(), missing, v.Reasons)
		}
		for _, s := range steps {
			if s.Policy == "" || !wants(s.Ports) {
				continue
			}
			match := "matches"
			if s.Match == "maybe" {
				match = "may match"
			}
			r := fmt.Sprintf("%s tier, priority %d: %s rule %s (%s) %s: %s %s", s.Tier, s.Priority, s.Policy, s.Rule, s.Source, match, s.Action, s.Ports)
			if !seen[r] {
				seen[r] = true
				rules = append(rules, r)
			}
		}
	}
	sort.Strings(rules)
	return rules, missing
}
