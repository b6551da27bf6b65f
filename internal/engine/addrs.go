package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
)

// Offline, pods have no addresses, and often neither do nodes. What the
// inputs do say is where the addresses come from: a range. An ipBlock
// covering the whole range surely matches, one holding part of it maybe
// does, one outside it does not.

// addressRange is where some endpoints take their addresses when the inputs
// do not give them, said in words for reasons.
type addressRange struct {
	set *netipx.IPSet
	// what names the range ("the pods' addresses (--pod-cidr 10.0.0.0/16)");
	// remedy says how to narrow it.
	what, remedy string
}

// addressRanges are the ranges of pods and of nodes (the address of
// host-network pods, and of SNATed load balancer traffic).
type addressRanges struct {
	pods, nodes addressRange
}

const (
	podRemedy  = "give the pod range with --pod-cidr, Nodes with spec.podCIDRs, or the VPC (aws ec2 describe-vpcs / describe-subnets) on the VPC CNI"
	nodeRemedy = "give the Nodes (kubectl get nodes -o yaml), or the VPC (aws ec2 describe-vpcs / describe-subnets)"
)

// ranges finds the ranges: the pods' from --pod-cidr, else the Nodes'
// spec.podCIDRs (when every Node has them), else the VPC's blocks (the VPC
// CNI gives pods VPC addresses), else every address; the nodes' from their
// InternalIPs (when every Node has one), else the VPC's, else every address.
func ranges(w *model.World, podCIDRs []netip.Prefix) addressRanges {
	var out addressRanges
	vpc, vpcText := interfaceRange(w)
	space, spaceText := clusterSpace(w)
	switch {
	case len(podCIDRs) > 0:
		out.pods = addressRange{set: prefixSet(podCIDRs), what: "the pods' addresses (--pod-cidr " + prefixText(podCIDRs) + ")", remedy: "narrow --pod-cidr"}
	case everyNode(w, func(n *model.Node) bool { return len(n.PodCIDRs) > 0 }):
		var all []netip.Prefix
		for _, n := range w.Nodes {
			all = append(all, n.PodCIDRs...)
		}
		out.pods = addressRange{set: prefixSet(all), what: "the pods' addresses (the Nodes' spec.podCIDRs)", remedy: podRemedy}
	case vpc != nil:
		if set, text := nodeSubnets(w, vpc); set != nil {
			out.pods = addressRange{set: set, what: "the pods' addresses (" + text + ", where the VPC CNI takes them for the nodes there)", remedy: "give --pod-cidr if the CNI is not the VPC CNI, or the ENIConfigs and the aws-node DaemonSet if it uses custom networking"}
			break
		}
		out.pods = addressRange{set: vpc, what: "the pods' addresses (" + vpcText + ", where the VPC CNI takes them)", remedy: "give the node instances (aws ec2 describe-instances) so that their subnets bound the pods' addresses, or --pod-cidr if the CNI is not the VPC CNI"}
	default:
		out.pods = addressRange{set: space, what: "the pods' addresses, which are not in the inputs (" + spaceText + ")", remedy: podRemedy}
	}
	internal := func(n *model.Node) bool {
		for _, a := range n.Addresses {
			if a.Type == corev1.NodeInternalIP {
				return true
			}
		}
		return false
	}
	switch {
	case everyNode(w, internal):
		var b netipx.IPSetBuilder
		for _, n := range w.Nodes {
			for _, a := range n.Addresses {
				if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP {
					b.Add(ip)
				}
			}
		}
		set, _ := b.IPSet()
		out.nodes = addressRange{set: set, what: "the nodes' addresses (their InternalIPs)", remedy: nodeRemedy}
	case vpc != nil:
		out.nodes = addressRange{set: vpc, what: "the nodes' addresses (" + vpcText + ")", remedy: "give the Nodes (kubectl get nodes -o yaml)"}
	default:
		out.nodes = addressRange{set: space, what: "the nodes' addresses, which are not in the inputs (" + spaceText + ")", remedy: nodeRemedy}
	}
	return out
}

// clusterSpace is where pods and nodes may take addresses when nothing
// better is known: the private IPv4 space, any IPv6 address, or both, by
// the address families the inputs show (Services' cluster IPs and IP
// families, Nodes' and pods' addresses). A single-stack cluster gives its
// Services addresses of the pods' family.
func clusterSpace(w *model.World) (*netipx.IPSet, string) {
	var v4, v6 bool
	see := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil {
			v4, v6 = v4 || a.Is4(), v6 || a.Is6()
		}
	}
	for _, s := range w.Services {
		see(s.Spec.ClusterIP)
		for _, ip := range s.Spec.ClusterIPs {
			see(ip)
		}
		for _, f := range s.Spec.IPFamilies {
			v4, v6 = v4 || f == corev1.IPv4Protocol, v6 || f == corev1.IPv6Protocol
		}
	}
	for _, n := range w.Nodes {
		for _, a := range n.Addresses {
			if a.Type == corev1.NodeInternalIP {
				see(a.Address)
			}
		}
	}
	for _, wl := range w.Workloads {
		for _, t := range wl.Pods {
			for _, ip := range t.IPs {
				see(ip.String())
			}
		}
	}
	switch {
	case v4 && !v6:
		return privateSpace, "a private IPv4 address, RFC 1918 or RFC 6598: the cluster's addresses are IPv4"
	case v6 && !v4:
		return ipv6Space, "an IPv6 address: the cluster's addresses are IPv6"
	}
	return podSpace, "a private IPv4 address, RFC 1918 or RFC 6598, or any IPv6 address"
}

var ipv6Space = func() *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddPrefix(netip.MustParsePrefix("::/0"))
	s, _ := b.IPSet()
	return s
}()

// podSpace is where pods and nodes may take addresses when the inputs say
// nothing: the private IPv4 ranges every CNI and cloud VPC draws from (RFC
// 1918, and RFC 6598's shared space used by custom networking), and any
// IPv6 address (IPv6 pods take global addresses). A cluster whose pods use
// public IPv4 addresses must say so with --pod-cidr.
var podSpace = func() *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddSet(privateSpace)
	b.AddPrefix(netip.MustParsePrefix("::/0"))
	s, _ := b.IPSet()
	return s
}()

func everyNode(w *model.World, f func(*model.Node) bool) bool {
	for _, n := range w.Nodes {
		if !f(n) {
			return false
		}
	}
	return len(w.Nodes) > 0
}

// vpcRange is the VPCs' blocks, else the subnets'; nil when neither is
// given.
func vpcRange(w *model.World) (*netipx.IPSet, string) {
	var all []netip.Prefix
	var names []string
	for _, v := range w.Network.VPCs {
		all = append(all, v.CIDRs...)
		names = append(names, v.ID)
	}
	if len(all) == 0 {
		for _, s := range w.Network.Subnets {
			all = append(all, s.Prefixes()...)
			names = append(names, s.ID)
		}
	}
	if len(all) == 0 {
		return nil, ""
	}
	return prefixSet(all), fmt.Sprintf("the VPC, %s: %s", strings.Join(names, ", "), prefixText(all))
}

// interfaceRange is the VPC range without the addresses AWS keeps (the
// first four and the last of every subnet, the DNS resolver at the VPC's
// base +2): where pods can have addresses on the VPC CNI.
func interfaceRange(w *model.World) (*netipx.IPSet, string) {
	vpc, text := vpcRange(w)
	if vpc == nil {
		return nil, ""
	}
	var b netipx.IPSetBuilder
	b.AddSet(vpc)
	for _, sn := range w.Network.Subnets {
		for _, p := range sn.Prefixes() {
			if !p.Addr().Is4() {
				continue
			}
			p = p.Masked()
			a := p.Addr()
			for i := 0; i < 4; i++ {
				b.Remove(a)
				a = a.Next()
			}
			b.Remove(netipx.PrefixLastIP(p))
		}
	}
	for _, dns := range vpcResolvers(w) {
		b.Remove(dns)
	}
	set, _ := b.IPSet()
	return set, text
}

// vpcResolvers are the Amazon DNS resolvers of the VPCs: the base of each
// VPC's primary IPv4 block, plus two.
func vpcResolvers(w *model.World) []netip.Addr {
	var out []netip.Addr
	for _, v := range w.Network.VPCs {
		if len(v.CIDRs) > 0 && v.CIDRs[0].Addr().Is4() {
			out = append(out, v.CIDRs[0].Masked().Addr().Next().Next())
		}
	}
	return out
}

func prefixSet(ps []netip.Prefix) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range ps {
		b.AddPrefix(p.Masked())
	}
	s, _ := b.IPSet()
	return s
}

func prefixText(ps []netip.Prefix) string {
	return strings.Join(netset.PrefixStrings(prefixSet(ps)), ",")
}

// nodeSubnets is the part of the VPC range in the subnets the nodes are in,
// when every node instance's address lies in a known subnet: the VPC CNI
// gives a pod an address from the subnet of its node's network interfaces
// (with custom networking, of the ENIConfigs' subnets too).
// nil when the instances or their subnets are not known.
func nodeSubnets(w *model.World, vpc *netipx.IPSet) (*netipx.IPSet, string) {
	if len(w.Instances) == 0 || len(w.Network.Subnets) == 0 {
		return nil, ""
	}
	var b netipx.IPSetBuilder
	var names []string
	used := map[string]bool{}
	for _, in := range w.Instances {
		for _, ip := range in.PrivateIPs {
			found := false
			for _, sn := range w.Network.Subnets {
				for _, p := range sn.Prefixes() {
					if p.Contains(ip) {
						found = true
						if !used[sn.ID] {
							used[sn.ID] = true
							names = append(names, sn.ID)
							b.AddPrefix(p.Masked())
						}
					}
				}
			}
			if !found {
				return nil, ""
			}
		}
	}
	if len(names) == 0 {
		return nil, ""
	}
	what := "the nodes' subnets, "
	// Custom networking gives pods addresses in the ENIConfigs' subnets:
	// all of them bound the pods' addresses, or none is known.
	if pn := newPodNetwork(w); pn.mode != cniOff {
		if pn.unread != "" || len(w.ENIConfigs) == 0 {
			return nil, ""
		}
		byID := make(map[string]*model.Subnet, len(w.Network.Subnets))
		for _, sn := range w.Network.Subnets {
			byID[sn.ID] = sn
		}
		for _, c := range w.ENIConfigs {
			sn := byID[c.Subnet]
			if sn == nil {
				return nil, ""
			}
			if !used[sn.ID] {
				used[sn.ID] = true
				names = append(names, sn.ID)
				for _, p := range sn.Prefixes() {
					b.AddPrefix(p.Masked())
				}
			}
		}
		what = "the nodes' and ENIConfigs' subnets, "
	}
	subnets, _ := b.IPSet()
	b = netipx.IPSetBuilder{}
	b.AddSet(subnets)
	b.Intersect(vpc)
	set, _ := b.IPSet()
	sort.Strings(names)
	return set, what + strings.Join(names, ", ") + ": " + prefixText(set.Prefixes())
}
