// Package traffic turns observed flow records into flows between endpoints:
// it maps every address to a pod's workload, a node, a Service's ClusterIP
// or a named destination (aws:S3:us-east-1, imds, internet, private), and
// aggregates records by (source, destination, protocol, port) so that what
// is judged afterwards grows with distinct flows, not with records.
package traffic

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
)

// Kind is what an endpoint is.
type Kind uint8

// Endpoint kinds.
const (
	// KindPod: a pod of a workload (one of its templates).
	KindPod Kind = iota
	// KindNode: a node's address (and host-network pods).
	KindNode
	// KindService: a Service's ClusterIP, judged after DNAT to its pods.
	KindService
	// KindAddress: an address outside the pods, nodes and Services; its
	// Label names it (aws:S3:us-east-1, imds, internet, private, ...).
	KindAddress
)

// Named destinations that are not AWS service ranges.
const (
	LabelInternet    = "internet"
	LabelPrivate     = "private"
	LabelLinkLocal   = "link-local"
	LabelIMDS        = "imds"
	LabelPodIdentity = "eks-pod-identity"
)

// Endpoint is one end of a flow.
type Endpoint struct {
	Kind Kind
	// Name is how reports show it: namespace/workload, node/<name>,
	// service/<namespace>/<name>, or the label of an address.
	Name     string
	Workload *model.Workload
	Template *model.PodTemplate
	Node     *model.Node
	Service  *model.Service
	// Groups are a node's security groups (from its instance).
	Groups []string
	// Label names an address's destination; Range is the block of
	// addresses no policy, security group rule or published range tells
	// apart, which the address lies in.
	Label string
	Range netipx.IPRange
	// ports are the ports a pod or Service listens on, to tell requests
	// from replies.
	ports []uint16
}

// ID identifies an endpoint in an Index. Pods, nodes and Services have one
// each; addresses one per block of indistinguishable addresses.
type ID int32

// Index maps addresses to endpoints. It is built once; lookups do not
// allocate.
type Index struct {
	exact []Endpoint
	v4    map[uint32]ID
	v6    map[netip.Addr]ID
	// Blocks of addresses: starts of consecutive intervals and their
	// labels, IPv4 and IPv6.
	starts4 []uint32
	labels4 []int32
	starts6 []netip.Addr
	labels6 []int32
	labels  []string
	// pods and workloads by name, for inputs that name them (Hubble).
	pods      map[string]ID
	workloads map[string]ID
}

// NewIndex builds the index of a world. doc gives the AWS ranges (nil: no
// AWS names). cidrs are further addresses to tell apart: those of every
// policy and security group rule that will judge the flows (see CIDRs).
func NewIndex(w *model.World, doc *ranges.Document, cidrs []netip.Prefix) *Index {
	x := &Index{v4: map[uint32]ID{}, v6: map[netip.Addr]ID{}, pods: map[string]ID{}, workloads: map[string]ID{}}
	add := func(e Endpoint, ips ...netip.Addr) ID {
		id := ID(len(x.exact))
		x.exact = append(x.exact, e)
		for _, ip := range ips {
			x.addExact(ip, id)
		}
		return id
	}
	for _, wl := range w.Workloads {
		byTemplate := map[*model.PodTemplate]ID{}
		for _, t := range wl.Pods {
			e := Endpoint{Kind: KindPod, Name: wl.Namespace + "/" + wl.Name, Workload: wl, Template: t, ports: containerPorts(t)}
			if t.HostNetwork {
				continue
			}
			byTemplate[t] = add(e, t.IPs...)
		}
		if len(byTemplate) == 0 {
			continue
		}
		if len(wl.Pods) > 0 {
			if id, ok := byTemplate[wl.Pods[0]]; ok && len(wl.Pods) == 1 {
				x.workloads[wl.Namespace+"/"+wl.Kind+"/"+wl.Name] = id
			}
		}
		for _, in := range wl.Instances {
			t := wl.TemplateOf(in)
			id, ok := byTemplate[t]
			if !ok || in.HostNetwork {
				continue
			}
			for _, ip := range in.IPs {
				x.addExact(ip, id)
			}
			x.pods[wl.Namespace+"/"+in.Name] = id
		}
	}
	instanceOf := map[string]*model.Instance{}
	for _, in := range w.Instances {
		instanceOf[in.ID] = in
	}
	for _, n := range w.Nodes {
		var ips []netip.Addr
		for _, a := range n.Addresses {
			if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					ips = append(ips, ip)
				}
			}
		}
		e := Endpoint{Kind: KindNode, Name: "node/" + n.Name, Node: n}
		if i := strings.LastIndexByte(n.ProviderID, '/'); i >= 0 {
			// The instance's other private addresses may be its pods'
			// (VPC CNI secondary addresses): only the node's own count.
			if in := instanceOf[n.ProviderID[i+1:]]; in != nil {
				e.Groups = in.Groups
			}
		}
		add(e, ips...)
	}
	for _, s := range w.Services {
		var ips []netip.Addr
		for _, c := range append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...) {
			if ip, err := netip.ParseAddr(c); err == nil {
				ips = append(ips, ip)
			}
		}
		var ports []uint16
		for _, p := range s.Spec.Ports {
			ports = append(ports, uint16(p.Port))
		}
		if len(ips) > 0 {
			add(Endpoint{Kind: KindService, ports: ports, Name: "service/" + s.Namespace + "/" + s.Name, Service: s}, ips...)
		}
	}
	x.blocks(doc, cidrs)
	return x
}

func (x *Index) addExact(ip netip.Addr, id ID) {
	// The first endpoint to claim an address keeps it: pods before nodes
	// and Services.
	ip = ip.Unmap()
	if ip.Is4() {
		if _, taken := x.v4[v4key(ip)]; !taken {
			x.v4[v4key(ip)] = id
		}
		return
	}
	if _, taken := x.v6[ip]; !taken {
		x.v6[ip] = id
	}
}

func v4key(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:])
}

func containerPorts(t *model.PodTemplate) []uint16 {
	var out []uint16
	for _, c := range t.Containers {
		for _, p := range c.Ports {
			out = append(out, uint16(p.Port))
		}
	}
	return out
}

// labelled is a prefix with the label it gives its addresses and the
// priority of that label: a higher priority wins; within one, the longer
// prefix.
type labelled struct {
	prefix   netip.Prefix
	label    string
	priority int
}

// blocks cuts the address space at every published range, every given
// CIDR and the special ranges, and labels each block: the most specific
// published service (AMAZON only where no other service is published),
// imds and the Pod Identity agent, else private or internet.
func (x *Index) blocks(doc *ranges.Document, cidrs []netip.Prefix) {
	var ls []labelled
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"} {
		ls = append(ls, labelled{netip.MustParsePrefix(p), LabelPrivate, 1})
	}
	for _, p := range []string{"169.254.0.0/16", "fe80::/10"} {
		ls = append(ls, labelled{netip.MustParsePrefix(p), LabelLinkLocal, 1})
	}
	if doc != nil {
		for _, p := range doc.Prefixes {
			// EC2 lists the public addresses of instances (anyone's), and
			// some service ranges are listed under EC2 too: any other
			// service names an address better.
			prio := 4
			switch p.Service {
			case "AMAZON":
				prio = 2
			case "EC2":
				prio = 3
			}
			ls = append(ls, labelled{p.Prefix.Masked(), "aws:" + p.Service + ":" + p.Region, prio})
		}
	}
	for _, p := range ranges.IMDS {
		ls = append(ls, labelled{p, LabelIMDS, 5})
	}
	for _, p := range ranges.PodIdentity {
		ls = append(ls, labelled{p, LabelPodIdentity, 5})
	}
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].priority != ls[j].priority {
			return ls[i].priority < ls[j].priority
		}
		if ls[i].prefix.Bits() != ls[j].prefix.Bits() {
			return ls[i].prefix.Bits() < ls[j].prefix.Bits()
		}
		// A prefix listed under two services: the first by name wins.
		return ls[i].label > ls[j].label
	})
	labelIndex := map[string]int32{}
	label := func(s string) int32 {
		if i, ok := labelIndex[s]; ok {
			return i
		}
		labelIndex[s] = int32(len(x.labels))
		x.labels = append(x.labels, s)
		return labelIndex[s]
	}
	internet := label(LabelInternet)
	// Boundaries: every prefix's first address and the one after its last.
	var b4 []uint32
	var b6 []netip.Addr
	cut := func(p netip.Prefix) {
		r := netipx.RangeOfPrefix(p.Masked())
		if p.Addr().Is4() {
			b4 = append(b4, v4key(r.From()))
			if next := r.To().Next(); next.IsValid() && next.Is4() {
				b4 = append(b4, v4key(next))
			}
			return
		}
		b6 = append(b6, r.From())
		if next := r.To().Next(); next.IsValid() {
			b6 = append(b6, next)
		}
	}
	b4 = append(b4, 0)
	b6 = append(b6, netip.IPv6Unspecified())
	for _, l := range ls {
		cut(l.prefix)
	}
	for _, p := range cidrs {
		cut(p)
	}
	sort.Slice(b4, func(i, j int) bool { return b4[i] < b4[j] })
	x.starts4 = compact(b4, func(a, b uint32) bool { return a == b })
	sort.Slice(b6, func(i, j int) bool { return b6[i].Less(b6[j]) })
	x.starts6 = compact(b6, func(a, b netip.Addr) bool { return a == b })
	x.labels4 = make([]int32, len(x.starts4))
	x.labels6 = make([]int32, len(x.starts6))
	for i := range x.labels4 {
		x.labels4[i] = internet
	}
	for i := range x.labels6 {
		x.labels6[i] = internet
	}
	// Lower priorities and shorter prefixes first: later ones overwrite.
	for _, l := range ls {
		id := label(l.label)
		r := netipx.RangeOfPrefix(l.prefix)
		if l.prefix.Addr().Is4() {
			lo, hi := v4key(r.From()), v4key(r.To())
			for i := sort.Search(len(x.starts4), func(i int) bool { return x.starts4[i] >= lo }); i < len(x.starts4) && x.starts4[i] <= hi; i++ {
				x.labels4[i] = id
			}
			continue
		}
		for i := sort.Search(len(x.starts6), func(i int) bool { return !x.starts6[i].Less(r.From()) }); i < len(x.starts6) && !r.To().Less(x.starts6[i]); i++ {
			x.labels6[i] = id
		}
	}
}

func compact[T any](s []T, eq func(a, b T) bool) []T {
	out := s[:0]
	for i, v := range s {
		if i == 0 || !eq(v, out[len(out)-1]) {
			out = append(out, v)
		}
	}
	return out
}

// Lookup returns the endpoint of an address. It does not allocate.
func (x *Index) Lookup(ip netip.Addr) ID {
	if ip.Is4() || ip.Is4In6() {
		k := v4key(ip.Unmap())
		if id, ok := x.v4[k]; ok {
			return id
		}
		// The last block starting at or before k.
		lo, hi := 0, len(x.starts4)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if x.starts4[m] <= k {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return ID(len(x.exact) + lo - 1)
	}
	if id, ok := x.v6[ip]; ok {
		return id
	}
	lo, hi := 0, len(x.starts6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !ip.Less(x.starts6[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return ID(len(x.exact) + len(x.starts4) + lo - 1)
}

// ByName finds a pod ("namespace/pod") or a workload
// ("namespace/Kind/name"), for inputs that name them.
func (x *Index) ByName(pod, workload string) (ID, bool) {
	if id, ok := x.pods[pod]; ok && pod != "" {
		return id, true
	}
	if id, ok := x.workloads[workload]; ok && workload != "" {
		return id, true
	}
	return 0, false
}

// IsAddress reports whether an ID stands for a block of addresses.
func (x *Index) IsAddress(id ID) bool { return int(id) >= len(x.exact) }

// Endpoint returns an endpoint's description.
func (x *Index) Endpoint(id ID) Endpoint {
	if int(id) < len(x.exact) {
		return x.exact[id]
	}
	i := int(id) - len(x.exact)
	if i < len(x.starts4) {
		from := netip.AddrFrom4(be4(x.starts4[i]))
		to := netip.AddrFrom4([4]byte{255, 255, 255, 255})
		if i+1 < len(x.starts4) {
			to = netip.AddrFrom4(be4(x.starts4[i+1] - 1))
		}
		l := x.labels[x.labels4[i]]
		return Endpoint{Kind: KindAddress, Name: l, Label: l, Range: netipx.IPRangeFrom(from, to)}
	}
	i -= len(x.starts4)
	from := x.starts6[i]
	to := netipx.RangeOfPrefix(netip.MustParsePrefix("::/0")).To()
	if i+1 < len(x.starts6) {
		to = x.starts6[i+1].Prev()
	}
	l := x.labels[x.labels6[i]]
	return Endpoint{Kind: KindAddress, Name: l, Label: l, Range: netipx.IPRangeFrom(from, to)}
}

func be4(v uint32) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

// listens reports whether a pod endpoint listens on a port.
func (e *Endpoint) listens(port uint16) bool {
	for _, p := range e.ports {
		if p == port {
			return true
		}
	}
	return false
}

// CIDRs returns the addresses a world's policies and security group rules
// name: flows to addresses these do not tell apart are judged once.
func CIDRs(w *model.World) []netip.Prefix {
	var out []netip.Prefix
	addText := func(s string) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	for _, p := range w.Policies {
		for _, r := range p.Spec.Egress {
			for _, peer := range r.To {
				if peer.IPBlock != nil {
					addText(peer.IPBlock.CIDR)
					for _, e := range peer.IPBlock.Except {
						addText(e)
					}
				}
			}
		}
		for _, r := range p.Spec.Ingress {
			for _, peer := range r.From {
				if peer.IPBlock != nil {
					addText(peer.IPBlock.CIDR)
					for _, e := range peer.IPBlock.Except {
						addText(e)
					}
				}
			}
		}
	}
	for _, g := range w.SecurityGroups {
		for _, rules := range [][]model.SGRule{g.Ingress, g.Egress} {
			for _, r := range rules {
				for _, c := range r.CIDRs {
					out = append(out, c.Masked())
				}
			}
		}
	}
	for _, pl := range w.PrefixLists {
		for _, c := range pl.Entries {
			out = append(out, c.Masked())
		}
	}
	return out
}

// Pods returns the pod endpoints (one per workload template).
func (x *Index) Pods() []Endpoint {
	var out []Endpoint
	for _, e := range x.exact {
		if e.Kind == KindPod {
			out = append(out, e)
		}
	}
	return out
}
