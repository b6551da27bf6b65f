package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// Network ACLs are stateless and ordered (AWS VPC User Guide, "Control
// subnet traffic with network access control lists"): each direction's
// entries are evaluated lowest rule number first, the first entry that
// matches the packet decides, and a packet no entry matches is denied (the
// "*" entry). They filter a packet where it crosses the subnet boundary,
// so traffic between two addresses of one subnet crosses none, and the
// reply of a connection is judged on its own: it needs an entry for the
// client's ephemeral ports.

// Ephemeral port ranges ("Ephemeral ports", AWS VPC User Guide): the
// client that starts a connection chooses its port. Many Linux kernels
// (Amazon Linux's too) use 32768-61000 (the kernel's default today is
// 32768-60999, inside it); NAT gateways, Elastic Load Balancing and
// Lambda use 1024-65535; other clients other ranges, all within
// 1024-65535. The VPC CNI SNATs pods' traffic leaving the VPC to the
// node's address with random ports (1024-65535).
var (
	linuxEphemeral = ephemeral(32768, 61000)
	anyEphemeral   = ephemeral(1024, 65535)
)

func ephemeral(lo, hi int32) netset.Ports {
	var p netset.Ports
	for _, proto := range netset.Protocols {
		p = p.Union(netset.PortRange(proto, lo, hi))
	}
	return p
}

// aclEntry is one network ACL entry, compiled; ref is how explanations
// name it (made once: reach asks every subnet and address class).
type aclEntry struct {
	e     *model.NACLEntry
	ports netset.Ports
	ref   ACLRuleRef
}

// compiledACL is a network ACL with each direction's entries in rule
// number order.
type compiledACL struct {
	acl     *model.NetworkACL
	in, out []aclEntry
	// source is the ACL's source, as explanations show it.
	source string
}

func compileACL(a *model.NetworkACL) *compiledACL {
	c := &compiledACL{acl: a, source: a.Source.String()}
	for i := range a.Entries {
		e := &a.Entries[i]
		ce := aclEntry{e: e, ports: naclPorts(e), ref: ACLRuleRef{ACL: a.ID, RuleNumber: ruleNumber(e.RuleNumber), Action: action(e.Allow), Text: naclEntryText(e), Source: e.Source.String()}}
		if e.Egress {
			c.out = append(c.out, ce)
		} else {
			c.in = append(c.in, ce)
		}
	}
	for _, es := range [][]aclEntry{c.in, c.out} {
		sort.SliceStable(es, func(i, j int) bool { return es[i].e.RuleNumber < es[j].e.RuleNumber })
	}
	return c
}

// naclPorts is what an entry's protocol and port range cover, in the
// protocols a NetworkPolicy knows (an ICMP entry covers none of them).
func naclPorts(e *model.NACLEntry) netset.Ports {
	switch e.Protocol {
	case "-1":
		return netset.AllPorts()
	case "tcp", "udp":
		proto := netset.TCP
		if e.Protocol == "udp" {
			proto = netset.UDP
		}
		if e.FromPort < 0 || e.ToPort < 0 {
			return netset.AllOf(proto)
		}
		return netset.PortRange(proto, e.FromPort, e.ToPort)
	case strconv.Itoa(132):
		return netset.AllOf(netset.SCTP)
	}
	return netset.Ports{}
}

// aclMatch says whether an entry's CIDR holds the other end of a packet:
// Yes, No, or Maybe when the other end is only known to lie somewhere in a
// range the CIDR cuts (a pod of a subnet).
type aclMatch func(p netip.Prefix) Match

// matchAddr matches an entry against one known address.
func matchAddr(a netip.Addr) aclMatch {
	return func(p netip.Prefix) Match {
		if p.Contains(a) {
			return Yes
		}
		return No
	}
}

// matchRange matches an entry against an address known only to lie in one
// of the given blocks (a pod of a subnet).
func matchRange(blocks []netip.Prefix) aclMatch {
	return func(p netip.Prefix) Match {
		all, some := len(blocks) > 0, false
		for _, b := range blocks {
			in := p.Bits() <= b.Bits() && p.Contains(b.Addr())
			all = all && in
			some = some || in || p.Overlaps(b)
		}
		switch {
		case all:
			return Yes
		case some:
			return Maybe
		}
		return No
	}
}

// aclDecision is what one direction of a network ACL decides for packets
// to (or from) an end: the ports it surely allows and those it may, and
// the entries that decide, for explanations.
type aclDecision struct {
	Verdict
	// Rules name the entries that decide some of the asked ports, in rule
	// number order; the last is "*" when some ports reach it.
	Rules []ACLRuleRef
}

// ACLRuleRef is a network ACL entry that decides some ports of a hop.
type ACLRuleRef struct {
	ACL        string `json:"acl"`
	RuleNumber string `json:"ruleNumber"`
	Action     string `json:"action"`
	Text       string `json:"text"`
	Source     string `json:"source,omitempty"`
	// Ports are the asked ports this entry decides; Maybe is set when the
	// entry may or may not match the other end.
	Ports netset.Ports `json:"ports"`
	Maybe bool         `json:"maybe,omitempty"`
}

// decide evaluates one direction of the ACL, first match wins, for the
// asked ports. With Maybe matches a port may have several possible
// outcomes: it is allowed when every possible outcome allows it, denied
// when none does, and unknown otherwise.
func (c *compiledACL) decide(egress bool, match aclMatch, asked netset.Ports, why string) aclDecision {
	entries := c.in
	if egress {
		entries = c.out
	}
	open := asked // no entry surely matched yet
	var canAllow, canDeny netset.Ports
	var d aclDecision
	for _, ce := range entries {
		ports := ce.ports.Intersect(open)
		if ports.IsEmpty() {
			continue
		}
		m := match(ce.e.CIDR)
		if m == No {
			continue
		}
		if ce.e.Allow {
			canAllow = canAllow.Union(ports)
		} else {
			canDeny = canDeny.Union(ports)
		}
		if m == Yes {
			open = open.Difference(ports)
		}
		ref := ce.ref
		ref.Ports, ref.Maybe = ports, m == Maybe
		d.Rules = append(d.Rules, ref)
	}
	if !open.IsEmpty() {
		canDeny = canDeny.Union(open)
		d.Rules = append(d.Rules, ACLRuleRef{ACL: c.acl.ID, RuleNumber: "*", Action: "deny", Text: "no entry matches: the default deny", Source: c.source, Ports: open})
	}
	d.Allowed = canAllow.Difference(canDeny)
	d.Unknown = canAllow.Intersect(canDeny)
	if !d.Unknown.IsEmpty() {
		d.Reasons = []string{why}
	}
	return d
}

// ruleNumber names an entry as AWS shows it: 32767 is the "*" entry.
func ruleNumber(n int32) string {
	if n == 32767 {
		return "*"
	}
	return strconv.Itoa(int(n))
}

func action(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

func naclEntryText(e *model.NACLEntry) string {
	dir := "from"
	if e.Egress {
		dir = "to"
	}
	ports := "all ports"
	switch {
	case e.Protocol == "-1":
		return fmt.Sprintf("%s all traffic %s %s", action(e.Allow), dir, e.CIDR)
	case e.FromPort >= 0 && e.FromPort == e.ToPort:
		ports = "port " + strconv.Itoa(int(e.FromPort))
	case e.FromPort >= 0:
		ports = fmt.Sprintf("ports %d-%d", e.FromPort, e.ToPort)
	}
	return fmt.Sprintf("%s %s %s %s %s", action(e.Allow), e.Protocol, ports, dir, e.CIDR)
}

// replyVerdict turns what an ACL decides for the reply packets (to the
// client's ephemeral ports) into a verdict on the connection's protocols:
// a protocol whose replies are allowed on every port the client may use is
// allowed, one whose replies are denied on every such port is denied, and
// one in between is unknown (it depends on the port the client picks).
// sure is the range a client surely picks from; possible the widest.
func replyVerdict(d aclDecision, sure, possible netset.Ports, what string) Verdict {
	var v Verdict
	for _, proto := range netset.Protocols {
		all := netset.AllOf(proto)
		s, p := sure.Intersect(all), possible.Intersect(all)
		switch {
		case d.Allowed.Intersect(s).Equal(s):
			v.Allowed = v.Allowed.Union(all)
		case !d.Possible().Intersect(p).IsEmpty():
			v.Unknown = v.Unknown.Union(all)
		}
	}
	if !v.Unknown.IsEmpty() {
		v.Reasons = mergeReasons(v.Unknown, append(append([]string(nil), d.Reasons...), what))
		sort.Strings(v.Reasons)
	}
	return v
}
