// Package netset holds immutable sets of ports and IP addresses, the
// currency of reachability: what a rule allows, what a pair may use.
package netset

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Protocol is one of the protocols a NetworkPolicy can name.
type Protocol int

// The protocols, in the order outputs list them.
const (
	TCP Protocol = iota
	UDP
	SCTP
	numProtocols
)

// Protocols lists every protocol in output order.
var Protocols = [...]Protocol{TCP, UDP, SCTP}

func (p Protocol) String() string { return [...]string{"TCP", "UDP", "SCTP"}[p] }

// ParseProtocol maps a Kubernetes protocol; empty means TCP, the API's
// default.
func ParseProtocol(p corev1.Protocol) (Protocol, bool) {
	switch p {
	case corev1.ProtocolTCP, "":
		return TCP, true
	case corev1.ProtocolUDP:
		return UDP, true
	case corev1.ProtocolSCTP:
		return SCTP, true
	}
	return 0, false
}

// MinPort and MaxPort bound the port numbers a policy can name.
const (
	MinPort = 1
	MaxPort = 65535
)

// Range is an inclusive range of ports.
type Range struct{ Lo, Hi int32 }

// Ports is an immutable set of (protocol, port) pairs, kept as sorted,
// disjoint, non-adjacent ranges per protocol. The zero value is empty.
type Ports struct {
	r [numProtocols][]Range
}

// AllPorts returns every port of every protocol.
func AllPorts() Ports {
	var p Ports
	for i := range p.r {
		p.r[i] = []Range{{MinPort, MaxPort}}
	}
	return p
}

// PortRange returns the ports lo..hi of one protocol, clipped to 1..65535.
func PortRange(proto Protocol, lo, hi int32) Ports {
	var p Ports
	lo, hi = max(lo, MinPort), min(hi, MaxPort)
	if lo <= hi {
		p.r[proto] = []Range{{lo, hi}}
	}
	return p
}

// AllOf returns all ports of one protocol.
func AllOf(proto Protocol) Ports { return PortRange(proto, MinPort, MaxPort) }

// IsEmpty reports whether the set holds nothing.
func (a Ports) IsEmpty() bool {
	for _, r := range a.r {
		if len(r) > 0 {
			return false
		}
	}
	return true
}

// IsAll reports whether the set holds every port of every protocol.
func (a Ports) IsAll() bool {
	for _, r := range a.r {
		if len(r) != 1 || r[0] != (Range{MinPort, MaxPort}) {
			return false
		}
	}
	return true
}

// Ranges returns the ranges of one protocol; the caller must not modify them.
func (a Ports) Ranges(p Protocol) []Range { return a.r[p] }

// Contains reports whether the set holds the port of the protocol.
func (a Ports) Contains(p Protocol, port int32) bool {
	for _, r := range a.r[p] {
		if port < r.Lo {
			return false
		}
		if port <= r.Hi {
			return true
		}
	}
	return false
}

// Union returns a ∪ b.
func (a Ports) Union(b Ports) Ports {
	var out Ports
	for p := range out.r {
		out.r[p] = unionRanges(a.r[p], b.r[p])
	}
	return out
}

// Intersect returns a ∩ b.
func (a Ports) Intersect(b Ports) Ports {
	var out Ports
	for p := range out.r {
		out.r[p] = intersectRanges(a.r[p], b.r[p])
	}
	return out
}

// Equal reports whether a and b hold the same ports.
func (a Ports) Equal(b Ports) bool {
	for p := range a.r {
		if len(a.r[p]) != len(b.r[p]) {
			return false
		}
		for i := range a.r[p] {
			if a.r[p][i] != b.r[p][i] {
				return false
			}
		}
	}
	return true
}

func unionRanges(a, b []Range) []Range {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]Range, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next Range
		if j >= len(b) || (i < len(a) && a[i].Lo <= b[j].Lo) {
			next, i = a[i], i+1
		} else {
			next, j = b[j], j+1
		}
		// Merge overlapping and adjacent ranges so the form is canonical.
		if n := len(out); n > 0 && next.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, next.Hi)
		} else {
			out = append(out, next)
		}
	}
	return out
}

func intersectRanges(a, b []Range) []Range {
	var out []Range
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].Lo, b[j].Lo), min(a[i].Hi, b[j].Hi)
		if lo <= hi {
			out = append(out, Range{lo, hi})
		}
		if a[i].Hi < b[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// String renders the set as "TCP 80,443,8000-8080; UDP 1-65535", "All
// Connections" when it holds everything, or "None".
func (a Ports) String() string {
	if a.IsAll() {
		return "All Connections"
	}
	var parts []string
	for _, p := range Protocols {
		rs := a.r[p]
		if len(rs) == 0 {
			continue
		}
		nums := make([]string, len(rs))
		for i, r := range rs {
			if r.Lo == r.Hi {
				nums[i] = fmt.Sprint(r.Lo)
			} else {
				nums[i] = fmt.Sprintf("%d-%d", r.Lo, r.Hi)
			}
		}
		parts = append(parts, p.String()+" "+strings.Join(nums, ","))
	}
	if len(parts) == 0 {
		return "None"
	}
	return strings.Join(parts, "; ")
}

// MarshalJSON writes {"TCP":[[lo,hi],...],...} with only the protocols
// that hold ports.
func (a Ports) MarshalJSON() ([]byte, error) {
	m := map[string][][2]int32{}
	for _, p := range Protocols {
		for _, r := range a.r[p] {
			m[p.String()] = append(m[p.String()], [2]int32{r.Lo, r.Hi})
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (a *Ports) UnmarshalJSON(b []byte) error {
	var m map[string][][2]int32
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var out Ports
	for name, rs := range m {
		p, ok := ParseProtocol(corev1.Protocol(name))
		if !ok {
			return fmt.Errorf("unknown protocol %q", name)
		}
		for _, r := range rs {
			out = out.Union(PortRange(p, r[0], r[1]))
		}
	}
	*a = out
	return nil
}

// Difference returns a \ b.
func (a Ports) Difference(b Ports) Ports {
	var out Ports
	for p := range out.r {
		out.r[p] = differenceRanges(a.r[p], b.r[p])
	}
	return out
}

// IsZero reports whether the set is empty, so that `json:",omitzero"`
// leaves empty sets out.
func (a Ports) IsZero() bool { return a.IsEmpty() }

func differenceRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		lo := r.Lo
		for j < len(b) && b[j].Hi < lo {
			j++
		}
		k := j
		for k < len(b) && b[k].Lo <= r.Hi {
			if b[k].Lo > lo {
				out = append(out, Range{lo, b[k].Lo - 1})
			}
			lo = b[k].Hi + 1
			if b[k].Hi >= r.Hi {
				break
			}
			k++
		}
		if lo <= r.Hi {
			out = append(out, Range{lo, r.Hi})
		}
	}
	return out
}
