// Package whatif judges observed flows under today's configuration and a
// proposed one, to say which real traffic a change would cut (Compare), and
// proposes the smallest additions that would let it through (Learn).
package whatif

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load/flows"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/traffic"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// State is one configuration: a world compiled by the engine.
type State struct {
	World    *model.World
	Analysis *engine.Analysis
	peers    map[*model.PodTemplate]*engine.Peer
}

// NewState wraps a compiled world.
func NewState(w *model.World, a *engine.Analysis) *State {
	return &State{World: w, Analysis: a, peers: map[*model.PodTemplate]*engine.Peer{}}
}

func (s *State) peer(e traffic.Endpoint) *engine.Peer {
	if e.Kind != traffic.KindPod {
		return nil
	}
	if p, ok := s.peers[e.Template]; ok {
		return p
	}
	// The proposal may hold another copy of the workload: find it by name.
	wl, t := e.Workload, e.Template
	for _, w := range s.World.Workloads {
		if w.Namespace == wl.Namespace && w.Name == wl.Name && w.Kind == wl.Kind {
			for _, tt := range w.Pods {
				if tt.Role == t.Role {
					p := s.Analysis.PeerOf(w, tt)
					s.peers[e.Template] = p
					return p
				}
			}
		}
	}
	s.peers[e.Template] = nil
	return nil
}

// Verdict is the verdict on a flow in one state.
type Verdict struct {
	Allowed bool            `json:"allowed"`
	Unknown bool            `json:"unknown,omitempty"`
	Reasons []string        `json:"reasons,omitempty"`
	Denials []engine.Denial `json:"denials,omitempty"`
	Notes   []string        `json:"notes,omitempty"`
}

// Status of a flow.
const (
	// Breaks: allowed today, denied under the proposal.
	Breaks = "breaks"
	// Kept: allowed today and under the proposal.
	Kept = "allowed"
	// DeniedToday: the network denies it today already.
	DeniedToday = "denied today"
	// Opened: denied today, allowed under the proposal.
	Opened = "opened"
	// Unknown: allowed today; whether the proposal allows it depends on
	// policies ringfence does not evaluate or could not read.
	Unknown = "unknown"
	// NotJudged: a flow no fence of the inputs decides on.
	NotJudged = "not judged"
	// Ambiguous: allowed today; the proposal denies it if one side opened
	// the connection and allows it if the other did, and the log does not
	// say which side did.
	Ambiguous = "ambiguous"
)

// RuleStateful orients a conversation by the statefulness of security
// groups: an accepted record that no rule admits as a new connection, but
// whose mirror image is admitted as one, is a reply.
const RuleStateful = "the statefulness of security groups (only one direction is admitted as a new connection)"

// Flow is one distinct flow, judged.
type Flow struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Service is the Service the flow was addressed to (its ClusterIP),
	// judged after DNAT to the pods behind it on their target port.
	Service  string `json:"service,omitempty"`
	Protocol string `json:"protocol"`
	Port     int32  `json:"port,omitempty"`
	// Addresses is the block of addresses the destination (or source) of
	// the flow lies in, when it is outside the pods; as CIDRs.
	Addresses []string `json:"addresses,omitempty"`
	Records   uint64   `json:"records"`
	Accepted  uint64   `json:"accepted,omitempty"`
	Rejected  uint64   `json:"rejected,omitempty"`
	First     string   `json:"first"`
	Example   string   `json:"example"`
	Status    string   `json:"status"`
	Today     *Verdict `json:"today,omitempty"`
	Proposed  *Verdict `json:"proposed,omitempty"`
	// Reason says why a flow is not judged.
	Reason string `json:"reason,omitempty"`
	// Direction says how the side that opened the connection was told,
	// when the log alone did not; Ambiguous why it could not be, and what
	// follows for the verdict.
	Direction string `json:"direction,omitempty"`
	Ambiguous string `json:"ambiguous,omitempty"`

	src, dst traffic.Endpoint
	counts   traffic.Counts
	proto    netset.Protocol
	svcPort  *corev1.ServicePort
}

// Group is the broken flows of one workload to one destination.
type Group struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Records     uint64 `json:"records"`
	Flows       []Flow `json:"flows"`
}

// Report is what `ringfence whatif` prints.
type Report struct {
	// Today says where today's verdicts come from.
	Today    string   `json:"today"`
	Proposed string   `json:"proposed"`
	Inputs   []string `json:"flowInputs"`
	// Files counts the files read (a directory holds many).
	Files    int     `json:"files"`
	Records  uint64  `json:"records"`
	Replies  uint64  `json:"replies"`
	Distinct int     `json:"distinctFlows"`
	Broken   []Group `json:"broken"`
	// Ambiguous are the flows that break only if the side the log cannot
	// name opened them.
	Ambiguous []Flow `json:"ambiguous,omitempty"`
	// Unknown are the flows allowed today that the proposal may deny: its
	// verdict depends on policies ringfence does not evaluate.
	Unknown []Flow `json:"unknown,omitempty"`
	// Classified says how many records each rule told apart as
	// connections and replies.
	Classified []traffic.RuleCount `json:"classified"`
	Counts     map[string]Tally    `json:"counts"`
	NotJudged  []Flow              `json:"notJudged,omitempty"`
	Skipped    []flows.Skip        `json:"skipped,omitempty"`
	Notes      []string            `json:"notes,omitempty"`
	// All lists every distinct flow with its status.
	All []Flow `json:"flows"`
	// Flows holds every judged flow before flows that read the same are
	// merged, for learn.
	Flows []Flow `json:"-"`
}

// Tally counts flows and their records.
type Tally struct {
	Flows   int    `json:"flows"`
	Records uint64 `json:"records"`
}

// Compare judges every distinct flow of the aggregator under the proposal,
// and under today's state: current when given, else what the log says
// (records it does not mark rejected were allowed).
func Compare(agg *traffic.Aggregator, current, proposed *State) *Report {
	r := &Report{Records: agg.Records, Replies: agg.Replies, Counts: map[string]Tally{}}
	r.Today = "observed: records the flow log does not mark as rejected were allowed"
	if current != nil {
		r.Today = "the current inputs"
	}
	idx := agg.Index()
	groups := map[[2]string]*Group{}
	r.Classified = agg.Classified()
	var stateful, replies uint64
	for _, f := range agg.Flows() {
		var judged []Flow
		if f.Ambiguous {
			var o oriented
			judged, o = orient(idx, f, current, proposed)
			stateful += o.stateful
			replies += o.replies
		} else {
			judged = expand(idx, f)
			for i := range judged {
				if judged[i].Status != NotJudged {
					judge(&judged[i], current, proposed)
				}
			}
		}
		for _, fl := range judged {
			r.Flows = append(r.Flows, fl)
			switch fl.Status {
			case NotJudged:
				r.NotJudged = append(r.NotJudged, fl)
			case Ambiguous:
				r.Ambiguous = append(r.Ambiguous, fl)
			case Unknown:
				r.Unknown = append(r.Unknown, fl)
			case Breaks:
				k := [2]string{fl.Source, fl.Destination}
				g := groups[k]
				if g == nil {
					g = &Group{Source: fl.Source, Destination: fl.Destination}
					groups[k] = g
				}
				g.Records += fl.Records
				g.Flows = append(g.Flows, fl)
			}
		}
	}
	for _, g := range groups {
		g.Flows = merge(g.Flows)
		sortFlows(g.Flows)
		r.Broken = append(r.Broken, *g)
	}
	r.NotJudged = merge(r.NotJudged)
	r.Ambiguous = merge(r.Ambiguous)
	sortFlows(r.Ambiguous)
	r.Unknown = merge(r.Unknown)
	sortFlows(r.Unknown)
	r.Replies = agg.Replies + replies
	if stateful > 0 {
		r.Classified = reclassify(r.Classified, stateful)
	}
	r.All = merge(r.Flows)
	r.Distinct = len(r.All)
	for _, fl := range r.All {
		t := r.Counts[fl.Status]
		t.Flows++
		t.Records += fl.Records
		r.Counts[fl.Status] = t
	}
	sort.SliceStable(r.All, func(i, j int) bool {
		if r.All[i].Source != r.All[j].Source {
			return r.All[i].Source < r.All[j].Source
		}
		return r.All[i].Destination < r.All[j].Destination
	})
	sort.Slice(r.Broken, func(i, j int) bool {
		if r.Broken[i].Source != r.Broken[j].Source {
			return r.Broken[i].Source < r.Broken[j].Source
		}
		return r.Broken[i].Destination < r.Broken[j].Destination
	})
	return r
}

// expand turns an aggregated flow into judged flows: a flow to a
// Service's ClusterIP becomes one per backend, on its target port.
func expand(idx *traffic.Index, f traffic.Flow) []Flow {
	src, dst := idx.Endpoint(f.Src), idx.Endpoint(f.Dst)
	base := Flow{
		Source: src.Name, Destination: dst.Name, Protocol: flows.ProtoName(f.Proto), Port: int32(f.Port),
		Records: f.Records, Accepted: f.Accepted, Rejected: f.Rejected, First: f.First.String(),
		Example: fmt.Sprintf("%s -> %s", f.SrcAddr, addrPort(f.DstAddr, f.Port)),
		src:     src, dst: dst, counts: f.Counts,
	}
	if src.Kind == traffic.KindAddress {
		base.Addresses = addresses(src, f.SrcAddrs)
	}
	if dst.Kind == traffic.KindAddress {
		base.Addresses = addresses(dst, f.DstAddrs)
	}
	proto, ok := netset.ParseProtocol(corev1.Protocol(base.Protocol))
	if !ok {
		base.Status, base.Reason = NotJudged, base.Protocol+": NetworkPolicies and this analysis judge TCP, UDP and SCTP only"
		return []Flow{base}
	}
	base.proto = proto
	if src.Kind != traffic.KindPod && dst.Kind != traffic.KindPod && dst.Kind != traffic.KindService && len(src.Groups) == 0 && len(dst.Groups) == 0 {
		base.Status, base.Reason = NotJudged, "neither end is a pod or a node of the inputs"
		return []Flow{base}
	}
	if dst.Kind != traffic.KindService {
		return []Flow{base}
	}
	// DNAT: the policies see the pods behind the Service and their ports.
	svc := dst.Service
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		pp := p.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		if p.Port == base.Port && string(pp) == base.Protocol {
			sp = p
		}
	}
	via := fmt.Sprintf("%s/%s:%d", svc.Namespace, svc.Name, base.Port)
	if sp == nil {
		base.Status, base.Reason = NotJudged, fmt.Sprintf("Service %s/%s has no %s port %d", svc.Namespace, svc.Name, base.Protocol, base.Port)
		return []Flow{base}
	}
	var out []Flow
	for _, b := range backends(idx, svc) {
		target, ok := targetPort(sp, b.Template)
		if !ok {
			continue
		}
		fl := base
		fl.Destination, fl.Service, fl.Port, fl.dst, fl.svcPort = b.Name, via, target, b, sp
		out = append(out, fl)
	}
	if len(out) == 0 {
		base.Status, base.Reason = NotJudged, fmt.Sprintf("Service %s has no pods in the inputs to forward to", via)
		return []Flow{base}
	}
	return out
}

// backends are the pod endpoints a Service selects.
func backends(idx *traffic.Index, svc *model.Service) []traffic.Endpoint {
	var out []traffic.Endpoint
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	for _, e := range idx.Pods() {
		if e.Workload.Namespace != svc.Namespace {
			continue
		}
		match := true
		for k, v := range svc.Spec.Selector {
			if e.Template.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, e)
		}
	}
	return out
}

// targetPort resolves a Service port's target on a pod template: a number,
// or a named container port; the Service port when unset.
func targetPort(sp *corev1.ServicePort, t *model.PodTemplate) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		for _, c := range t.Containers {
			for _, p := range c.Ports {
				if p.Name == sp.TargetPort.StrVal && p.Protocol == proto {
					return p.Port, true
				}
			}
		}
		return 0, false
	}
	return sp.Port, true
}

// judge sets a flow's verdicts and status.
func judge(f *Flow, current, proposed *State) {
	p := verdict(f, proposed)
	f.Proposed = &p
	todayAllowed := f.Rejected < f.Records
	if current != nil {
		t := verdict(f, current)
		f.Today = &t
		// An unknown verdict today leaves the log to decide.
		todayAllowed = todayAllowed && (t.Allowed || t.Unknown)
	}
	switch {
	case todayAllowed && p.Unknown:
		f.Status = Unknown
	case !todayAllowed && p.Allowed:
		f.Status = Opened
	case !todayAllowed:
		f.Status = DeniedToday
	case p.Allowed:
		f.Status = Kept
	default:
		f.Status = Breaks
	}
}

func verdict(f *Flow, s *State) Verdict {
	src := engine.FlowEnd{Peer: s.peer(f.src), Addr: f.counts.SrcAddr, Groups: f.src.Groups}
	dstAddr := f.counts.DstAddr
	if f.Service != "" {
		// After DNAT the address is a pod's; which one is not observed.
		dstAddr = netip.Addr{}
	}
	dst := engine.FlowEnd{Peer: s.peer(f.dst), Addr: dstAddr, Groups: f.dst.Groups}
	v := s.Analysis.JudgeFlow(src, dst, f.proto, f.Port)
	return Verdict{Allowed: v.Allowed, Unknown: v.Unknown, Reasons: v.Reasons, Denials: v.Denials, Notes: v.Notes}
}

func addrPort(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// addresses says where an address end lies: the published prefix block of
// an AWS service, else the addresses observed.
func addresses(e traffic.Endpoint, seen traffic.AddrSet) []string {
	if strings.HasPrefix(e.Label, "aws:") {
		return rangeCIDRs(e.Range)
	}
	var out []string
	for _, p := range seen.Prefixes {
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	sort.Strings(out)
	return out
}

// rangeCIDRs renders a block as CIDRs; a block of more than four is
// shortened to its first and last address.
func rangeCIDRs(r netipx.IPRange) []string {
	ps := r.Prefixes()
	if len(ps) > 4 {
		return []string{r.From().String() + "-" + r.To().String()}
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// Broke reports whether some flow would break, or would if the side the
// log cannot name opened it.
// A flow the proposal may deny (unknown) counts: unknown is not safe.
func (r *Report) Broke() bool { return len(r.Broken) > 0 || len(r.Ambiguous) > 0 || len(r.Unknown) > 0 }

// Denied renders the denials of a verdict in one line.
func (v *Verdict) Denied() string {
	var parts []string
	for _, d := range v.Denials {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

// merge folds flows that read the same (the roles of one workload, pods
// of one workload to one block of addresses) into one, adding their counts.
func merge(fs []Flow) []Flow {
	var out []Flow
	at := map[string]int{}
	for _, f := range fs {
		k := strings.Join([]string{f.Source, f.Destination, f.Service, f.Protocol, fmt.Sprint(f.Port), strings.Join(f.Addresses, ","), f.Status, f.Reason, denials(f.Today), denials(f.Proposed)}, "|")
		if i, ok := at[k]; ok {
			out[i].Records += f.Records
			out[i].Accepted += f.Accepted
			out[i].Rejected += f.Rejected
			continue
		}
		at[k] = len(out)
		out = append(out, f)
	}
	return out
}

func denials(v *Verdict) string {
	if v == nil {
		return ""
	}
	return v.Denied()
}

// sortFlows orders flows by protocol, port, Service and address.
func sortFlows(fs []Flow) {
	first := func(f Flow) netip.Addr {
		if len(f.Addresses) == 0 {
			return netip.Addr{}
		}
		a, _ := netip.ParseAddr(strings.FieldsFunc(f.Addresses[0], func(r rune) bool { return r == '/' || r == '-' })[0])
		return a
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return first(a).Less(first(b))
	})
}
