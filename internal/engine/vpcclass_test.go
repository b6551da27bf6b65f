package engine

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"go4.org/netipx"
)

// addrClassWorld is a VPC layer with most of what addrPath reads of an
// address: two VPCs, IPv4 and IPv6 blocks, a subnet giving public
// addresses, subnets without a network ACL or a route table of their own
// (the VPC's default ACL, the main table) and one with neither in the
// inputs, network ACL entries for single addresses and ranges in both
// directions, routes to local, internet, egress-only internet, public
// and private NAT gateways (whose subnets have tables and ACLs of their
// own), a gateway endpoint's prefix list, a prefix list whose entries are
// not given, peering, blackholes, and the VPC's DNS resolver.
func addrClassWorld() *model.World {
	p := netip.MustParsePrefix
	w := &model.World{}
	net := &w.Network
	net.VPCs = []*model.VPC{{ID: "vpc-a", CIDRs: []netip.Prefix{p("10.0.0.0/16")}}, {ID: "vpc-b", CIDRs: []netip.Prefix{p("10.1.0.0/16")}}}
	net.Subnets = []*model.Subnet{
		{ID: "subnet-pub", VPC: "vpc-a", CIDR: p("10.0.0.0/24"), MapPublicIP: true},
		{ID: "subnet-a1", VPC: "vpc-a", CIDR: p("10.0.1.0/24"), IPv6CIDRs: []netip.Prefix{p("2600:1f18:1:100::/64")}},
		{ID: "subnet-a2", VPC: "vpc-a", CIDR: p("10.0.2.0/24")},
		{ID: "subnet-a3", VPC: "vpc-a", CIDR: p("10.0.3.0/24")},
		{ID: "subnet-priv", VPC: "vpc-a", CIDR: p("10.0.4.0/24")},
		{ID: "subnet-b1", VPC: "vpc-b", CIDR: p("10.1.1.0/24")},
		{ID: "subnet-b2", VPC: "vpc-b", CIDR: p("10.1.2.0/24")},
	}
	net.NATGateways = []*model.NATGateway{
		{ID: "nat-pub", VPC: "vpc-a", Subnet: "subnet-pub", Connectivity: "public"},
		{ID: "nat-priv", VPC: "vpc-a", Subnet: "subnet-priv", Connectivity: "private"},
	}
	net.Endpoints = []*model.VPCEndpoint{{ID: "vpce-s3", Type: "Gateway", VPC: "vpc-a", Service: "com.amazonaws.us-east-1.s3"}}
	w.PrefixLists = []*model.PrefixList{{ID: "pl-s3", Entries: []netip.Prefix{p("52.216.0.0/15"), p("3.5.0.0/19")}}}
	route := func(dst, pl, typ, target string, blackhole bool) model.Route {
		r := model.Route{DestinationPrefixList: pl, TargetType: typ, Target: target, Blackhole: blackhole}
		if dst != "" {
			r.Destination = p(dst)
		}
		return r
	}
	local := route("10.0.0.0/16", "", model.TargetLocal, "local", false)
	net.RouteTables = []*model.RouteTable{
		{ID: "rtb-main-a", VPC: "vpc-a", Associations: []model.RouteAssociation{{Main: true}}, Routes: []model.Route{
			local, route("0.0.0.0/0", "", model.TargetInternetGateway, "igw-1", false), route("::/0", "", model.TargetEgressOnlyIGW, "eigw-1", false)}},
		{ID: "rtb-a1", VPC: "vpc-a", Associations: []model.RouteAssociation{{Subnet: "subnet-a1"}}, Routes: []model.Route{
			local, route("", "pl-s3", model.TargetVPCEndpoint, "vpce-s3", false), route("0.0.0.0/0", "", model.TargetNATGateway, "nat-pub", false),
			route("10.1.0.0/16", "", model.TargetPeering, "pcx-1", false), route("192.0.2.0/24", "", model.TargetInternetGateway, "igw-gone", true),
			route("", "pl-missing", model.TargetTransitGateway, "tgw-1", false), route("52.217.0.0/16", "", model.TargetInternetGateway, "igw-1", false)}},
		{ID: "rtb-a2", VPC: "vpc-a", Associations: []model.RouteAssociation{{Subnet: "subnet-a2"}}, Routes: []model.Route{
			local, route("0.0.0.0/0", "", model.TargetNATGateway, "nat-priv", false), route("100.64.0.0/10", "", model.TargetNATGateway, "nat-pub", false)}},
		{ID: "rtb-priv", VPC: "vpc-a", Associations: []model.RouteAssociation{{Subnet: "subnet-priv"}}, Routes: []model.Route{
			local, route("0.0.0.0/0", "", model.TargetNATGateway, "nat-pub", false), route("172.16.0.0/12", "", model.TargetTransitGateway, "tgw-1", false)}},
		{ID: "rtb-b1", VPC: "vpc-b", Associations: []model.RouteAssociation{{Subnet: "subnet-b1"}}, Routes: []model.Route{
			route("10.1.0.0/16", "", model.TargetLocal, "local", false), route("10.0.0.0/16", "", model.TargetPeering, "pcx-1", false)}},
	}
	e := entry
	net.NetworkACLs = []*model.NetworkACL{
		{ID: "acl-default-a", VPC: "vpc-a", IsDefault: true, Entries: []model.NACLEntry{
			e(100, true, "-1", -1, -1, "0.0.0.0/0", true), e(100, false, "-1", -1, -1, "0.0.0.0/0", true),
			e(101, true, "-1", -1, -1, "::/0", true), e(101, false, "-1", -1, -1, "::/0", true)}},
		{ID: "acl-a1", VPC: "vpc-a", Subnets: []string{"subnet-a1"}, Entries: []model.NACLEntry{
			e(90, false, "tcp", 22, 22, "0.0.0.0/0", false), e(100, false, "-1", -1, -1, "10.0.0.0/16", true),
			e(110, false, "tcp", 1024, 65535, "0.0.0.0/0", true), e(120, false, "udp", 32768, 61000, "8.8.8.8/32", true),
			e(80, true, "-1", -1, -1, "198.51.100.0/24", false), e(85, true, "tcp", 443, 443, "203.0.113.7/32", false),
			e(100, true, "-1", -1, -1, "0.0.0.0/0", true), e(101, true, "tcp", -1, -1, "::/0", true)}},
		{ID: "acl-a2", VPC: "vpc-a", Subnets: []string{"subnet-a2", "subnet-a3"}, Entries: []model.NACLEntry{
			e(100, false, "-1", -1, -1, "10.0.1.0/24", true), e(110, false, "tcp", 32768, 61000, "0.0.0.0/0", true),
			e(100, true, "tcp", 0, 65535, "0.0.0.0/0", true)}},
		{ID: "acl-pub", VPC: "vpc-a", Subnets: []string{"subnet-pub"}, Entries: []model.NACLEntry{
			e(100, false, "-1", -1, -1, "10.0.0.0/16", true), e(110, false, "tcp", 1024, 65535, "0.0.0.0/0", true),
			e(70, true, "-1", -1, -1, "203.0.113.0/24", false), e(100, true, "-1", -1, -1, "0.0.0.0/0", true)}},
		{ID: "acl-priv", VPC: "vpc-a", Subnets: []string{"subnet-priv"}, Entries: []model.NACLEntry{
			e(100, false, "-1", -1, -1, "0.0.0.0/0", true), e(90, true, "udp", 53, 53, "0.0.0.0/0", false), e(100, true, "-1", -1, -1, "0.0.0.0/0", true)}},
		{ID: "acl-b1", VPC: "vpc-b", Subnets: []string{"subnet-b1"}, Entries: []model.NACLEntry{
			e(100, false, "-1", -1, -1, "10.0.1.0/24", true), e(100, true, "-1", -1, -1, "10.0.0.0/8", true)}},
	}
	return w
}

// addrsToTry are addresses around every block the layer knows (the first
// and last address of each, and their neighbours), the instance services,
// and random IPv4 and IPv6 addresses.
func addrsToTry(n *netLayer, r *rand.Rand) []netip.Addr {
	var out []netip.Addr
	sets := append(append([]*netipx.IPSet(nil), n.sets...), n.unfiltered, privateAndVPC(n))
	for _, s := range sets {
		for _, rg := range s.Ranges() {
			out = append(out, rg.From(), rg.To(), rg.From().Prev(), rg.To().Next())
		}
	}
	for range 400 {
		out = append(out, netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}))
		var b [16]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if r.IntN(2) == 0 {
			copy(b[:8], []byte{0x26, 0x00, 0x1f, 0x18, 0, 1, 1, 0})
		}
		out = append(out, netip.AddrFrom16(b))
	}
	var valid []netip.Addr
	for _, a := range out {
		if a.IsValid() {
			valid = append(valid, a)
		}
	}
	return valid
}

// TestAddrClassesAgreeWithPath holds reach's shared VPC verdicts
// (classPath: one per subnet, direction and addrClass) to addrPath asked
// of each address on its own: two addresses of one class must get the
// same network ACL and route verdicts from every subnet. A class key that
// left out something addrPath reads (an ACL entry, a route, a NAT
// gateway's subnet, the address's family or subnet) fails here.
func TestAddrClassesAgreeWithPath(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 5))
	worlds := map[string]*model.World{"hand-built": addrClassWorld()}
	for seed := range uint64(2) {
		worlds["generated"+string(rune('0'+seed))] = generatedAWSWorld(t, seed)
	}
	for name, w := range worlds {
		n := compileNet(w)
		n.classes = n.newAddrClasses()
		shared := 0
		for _, s := range w.Network.Subnets {
			for _, egress := range []bool{true, false} {
				seen := map[string]bool{}
				for _, a := range addrsToTry(n, r) {
					got := n.classPath(s, a, egress).path
					want := n.addrPath(s, a, egress)
					if !reflect.DeepEqual(got.ACL, want.ACL) || !reflect.DeepEqual(got.Route, want.Route) || got.Subnet != want.Subnet {
						g, _ := json.Marshal(got)
						w, _ := json.Marshal(Path{Subnet: want.Subnet, ACL: want.ACL, Route: want.Route})
						t.Fatalf("%s: %s to %s (egress %v): the class's verdict differs from the address's own:\nclass   %s\naddress %s", name, s.ID, a, egress, g, w)
					}
					k := n.addrClass(n.classes, s, a)
					if seen[k] {
						shared++
					}
					seen[k] = true
				}
			}
		}
		if shared == 0 {
			t.Fatalf("%s: no two addresses shared a class: the test compares nothing", name)
		}
	}
}

// TestSharedPartVerdictsAgree holds reach's VPC verdicts on address parts
// (sharedPartVerdict: each subnet's by address class, several subnets'
// joined once per tuple of classes) to partVerdict, which judges every
// part from every subnet on its own. A join keyed by less than what
// combine reads would hand one part another's verdict and fail here.
func TestSharedPartVerdictsAgree(t *testing.T) {
	for seed := range uint64(2) {
		w := generatedAWSWorld(t, seed)
		a, err := Analyse(w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := a.net
		joined := 0
		for _, id := range a.g.identities {
			several := len(n.groupOf(id).subnets) > 1
			for _, part := range a.parts {
				for _, egress := range []bool{true, false} {
					got := n.sharedPartVerdict(id, part.part, egress)
					want := n.partVerdict(id, part.part, egress)
					if !reflect.DeepEqual(got.acl, want.acl) || !reflect.DeepEqual(got.route, want.route) || !reflect.DeepEqual(got.total, want.total) || !reflect.DeepEqual(got.lay, want.lay) {
						g, _ := json.Marshal(got.lay)
						w, _ := json.Marshal(want.lay)
						t.Fatalf("seed %d: %s and %s (egress %v): the shared verdict differs from the part's own:\nshared %s\nown    %s", seed, id.namespace, part.ID, egress, g, w)
					}
					if several {
						joined++
					}
				}
			}
		}
		if joined == 0 || len(n.classes.combined) == 0 {
			t.Fatalf("seed %d: no identity may be in several subnets: the test compares nothing", seed)
		}
		if len(n.classes.combined) >= joined {
			t.Fatalf("seed %d: %d joins for %d verdicts of pods in several subnets: none was shared", seed, len(n.classes.combined), joined)
		}
	}
}
