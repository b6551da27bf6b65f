package engine

import (
	"net/netip"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// Truth tables written from the AWS VPC User Guide, not from the engine:
// "Network ACL rules" (rules evaluated in order, lowest number first; the
// first rule that matches decides; the "*" rule denies what none
// matches; stateless: responses are judged by the other direction's
// rules), "Ephemeral ports", and "How route priority works" (longest
// prefix match; a gateway endpoint's prefix-list route is more specific
// than 0.0.0.0/0).

func entry(n int32, egress bool, proto string, from, to int32, cidr string, allow bool) model.NACLEntry {
	return model.NACLEntry{RuleNumber: n, Egress: egress, Protocol: proto, FromPort: from, ToPort: to, CIDR: netip.MustParsePrefix(cidr), Allow: allow}
}

// The guide's example custom network ACL for a public web server
// ("Example: Control access to instances in a subnet", simplified):
// inbound 100 HTTP, 110 HTTPS from anywhere, 120 SSH from the home
// network, 140 ephemeral 32768-65535 from anywhere, then *; outbound 100
// HTTP, 110 HTTPS to anywhere, 140 ephemeral 32768-65535, then *.
var webACL = &model.NetworkACL{ID: "acl-web", Entries: []model.NACLEntry{
	entry(100, false, "tcp", 80, 80, "0.0.0.0/0", true),
	entry(110, false, "tcp", 443, 443, "0.0.0.0/0", true),
	entry(120, false, "tcp", 22, 22, "192.0.2.0/24", true),
	entry(140, false, "tcp", 32768, 65535, "0.0.0.0/0", true),
	entry(32767, false, "-1", -1, -1, "0.0.0.0/0", false),
	entry(100, true, "tcp", 80, 80, "0.0.0.0/0", true),
	entry(110, true, "tcp", 443, 443, "0.0.0.0/0", true),
	entry(140, true, "tcp", 32768, 65535, "0.0.0.0/0", true),
	entry(32767, true, "-1", -1, -1, "0.0.0.0/0", false),
}}

// Order matters: the guide's note that a deny placed before a wide allow
// wins, and an allow placed before a deny wins.
var orderACL = &model.NetworkACL{ID: "acl-order", Entries: []model.NACLEntry{
	entry(200, false, "-1", -1, -1, "0.0.0.0/0", true),
	entry(100, false, "tcp", 8080, 8080, "198.51.100.0/24", false),
	entry(50, false, "tcp", 9000, 9000, "198.51.100.7/32", true),
	entry(60, false, "tcp", 9000, 9000, "198.51.100.0/24", false),
}}

func TestNACLTruthTable(t *testing.T) {
	for _, c := range []struct {
		name   string
		acl    *model.NetworkACL
		egress bool
		from   string
		proto  netset.Protocol
		port   int32
		want   bool
	}{
		{"HTTP in from anywhere: rule 100", webACL, false, "203.0.113.9", netset.TCP, 80, true},
		{"HTTPS in: rule 110", webACL, false, "203.0.113.9", netset.TCP, 443, true},
		{"SSH in from the home network: rule 120", webACL, false, "192.0.2.4", netset.TCP, 22, true},
		{"SSH in from elsewhere: *", webACL, false, "203.0.113.9", netset.TCP, 22, false},
		{"reply to an instance's outbound request, ephemeral port: rule 140", webACL, false, "203.0.113.9", netset.TCP, 40000, true},
		{"reply to a Windows 2003 client's port 1025-5000: *", webACL, true, "203.0.113.9", netset.TCP, 3000, false},
		{"UDP in: no rule but *", webACL, false, "203.0.113.9", netset.UDP, 53, false},
		{"HTTPS out: rule 110", webACL, true, "203.0.113.9", netset.TCP, 443, true},
		{"MySQL out: *", webACL, true, "203.0.113.9", netset.TCP, 3306, false},
		{"deny 100 before allow 200: denied", orderACL, false, "198.51.100.7", netset.TCP, 8080, false},
		{"deny 100 does not match another address: allow 200", orderACL, false, "203.0.113.1", netset.TCP, 8080, true},
		{"allow 50 before deny 60: allowed", orderACL, false, "198.51.100.7", netset.TCP, 9000, true},
		{"allow 50 does not match: deny 60", orderACL, false, "198.51.100.8", netset.TCP, 9000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := compileACL(c.acl).decide(c.egress, matchAddr(netip.MustParseAddr(c.from)), netset.PortRange(c.proto, c.port, c.port), "")
			got := d.State(c.proto, c.port) == StateAllowed
			if got != c.want {
				t.Errorf("allowed = %v, want %v (rules %+v)", got, c.want, d.Rules)
			}
			if d.State(c.proto, c.port) == StateUnknown {
				t.Errorf("a known address gave unknown")
			}
		})
	}
}

// A stateless ACL judges the reply on its own: a client's connection is
// allowed only when the reply to its ephemeral ports is admitted too.
func TestNACLReplyNeedsItsOwnRule(t *testing.T) {
	web := compileACL(webACL)
	remote := matchAddr(netip.MustParseAddr("203.0.113.9"))
	// An instance (Linux, 32768-61000) calling out on HTTPS: rule 140
	// admits the replies to every port it may pick.
	rv := replyVerdict(web.decide(false, remote, anyEphemeral, ""), linuxEphemeral, anyEphemeral, "why")
	if rv.State(netset.TCP, 443) != StateAllowed {
		t.Errorf("Linux client's replies: %+v, want TCP allowed", rv)
	}
	// Through a NAT gateway (ports 1024-65535) rule 140 admits only part
	// of the replies: not surely allowed, not surely denied.
	rv = replyVerdict(web.decide(false, remote, anyEphemeral, ""), anyEphemeral, anyEphemeral, "why")
	if rv.State(netset.TCP, 443) != StateUnknown || len(rv.Reasons) == 0 {
		t.Errorf("NAT gateway client's replies: %+v, want unknown with a reason", rv)
	}
	// UDP replies have no rule at all: denied whatever port.
	if rv.State(netset.UDP, 53) != StateDenied {
		t.Errorf("UDP replies: %+v, want denied", rv)
	}
}

// An entry covering only part of a subnet may or may not match a pod of
// that subnet: unknown, never denied.
func TestNACLPartialMatchIsUnknown(t *testing.T) {
	acl := compileACL(&model.NetworkACL{ID: "acl-x", Entries: []model.NACLEntry{
		entry(100, false, "tcp", 443, 443, "10.0.1.0/25", true),
	}})
	pods := matchRange([]netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")})
	d := acl.decide(false, pods, netset.AllPorts(), "pods")
	if d.State(netset.TCP, 443) != StateUnknown {
		t.Errorf("partial entry: %+v, want unknown", d)
	}
	if d.State(netset.TCP, 80) != StateDenied {
		t.Errorf("port no entry covers: %+v, want denied", d)
	}
	whole := matchRange([]netip.Prefix{netip.MustParsePrefix("10.0.1.0/26")})
	if d := acl.decide(false, whole, netset.AllPorts(), ""); d.State(netset.TCP, 443) != StateAllowed {
		t.Errorf("entry covering the subnet: %+v, want allowed", d)
	}
}

func TestRouteTruthTable(t *testing.T) {
	lists := map[string]*model.PrefixList{"pl-s3": {ID: "pl-s3", Entries: []netip.Prefix{netip.MustParsePrefix("52.216.0.0/15")}}}
	route := func(dst, pl, typ, target string) model.Route {
		r := model.Route{DestinationPrefixList: pl, TargetType: typ, Target: target}
		if dst != "" {
			r.Destination = netip.MustParsePrefix(dst)
		}
		return r
	}
	// The guide's longest-prefix example, with a gateway endpoint and an
	// equal-length CIDR route added.
	rt := &model.RouteTable{ID: "rtb-1", Routes: []model.Route{
		route("10.0.0.0/16", "", model.TargetLocal, "local"),
		route("172.31.0.0/16", "", model.TargetPeering, "pcx-11223344556677889"),
		route("0.0.0.0/0", "", model.TargetInternetGateway, "igw-12345678901234567"),
		route("", "pl-s3", model.TargetVPCEndpoint, "vpce-1"),
		route("52.217.0.0/16", "", model.TargetNATGateway, "nat-1"),
		route("52.216.0.0/15", "", model.TargetTransitGateway, "tgw-1"),
	}}
	c := compileRT(rt, lists)
	for _, x := range []struct{ addr, target string }{
		{"10.0.3.4", "local"},
		{"172.31.9.9", "pcx-11223344556677889"},
		{"8.8.8.8", "igw-12345678901234567"},
		// The /16 is longer than the list's /15 entry.
		{"52.217.1.1", "nat-1"},
		// Equal length: the CIDR route before the prefix-list route.
		{"52.216.1.1", "tgw-1"},
	} {
		e := c.lookup(netip.MustParseAddr(x.addr))
		if e == nil || e.route.Target != x.target {
			t.Errorf("%s: got %+v, want %s", x.addr, e, x.target)
		}
	}
	// Without the equal-length CIDR route the endpoint's entry beats
	// 0.0.0.0/0 (the gateway endpoint guide's "more specific" rule).
	rt.Routes = rt.Routes[:5]
	if e := compileRT(rt, lists).lookup(netip.MustParseAddr("52.216.1.1")); e == nil || e.route.Target != "vpce-1" {
		t.Errorf("S3 address: got %+v, want vpce-1", e)
	}
	// No route at all: nothing.
	if e := compileRT(&model.RouteTable{ID: "rtb-2", Routes: rt.Routes[:1]}, lists).lookup(netip.MustParseAddr("8.8.8.8")); e != nil {
		t.Errorf("isolated table: %+v, want no route", e)
	}
}
