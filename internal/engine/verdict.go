package engine

import (
	"sort"

	"github.com/ringfence/ringfence/internal/netset"
)

// Verdict is what a fence, or several, decide about the ports between two
// ends: the ports surely Allowed, the ports that are Unknown (allowed or
// denied depending on facts the inputs lack, named by Reasons), and every
// other port denied. It is the engine's one answer to incomplete inputs:
// an unknown never turns into "denied", and the caller sees why.
//
// Allowed and Unknown are disjoint; Reasons is empty when Unknown is.
type Verdict struct {
	Allowed netset.Ports `json:"allowed"`
	Unknown netset.Ports `json:"unknown,omitzero"`
	Reasons []string     `json:"reasons,omitempty"`
}

// Verdict states, for one port.
const (
	StateAllowed = "allowed"
	StateDenied  = "denied"
	StateUnknown = "unknown"
)

// allowAll is the verdict of a fence that does not apply.
func allowAll() Verdict { return Verdict{Allowed: netset.AllPorts()} }

// unknownAll is the verdict of a fence the inputs cannot judge at all.
func unknownAll(reasons ...string) Verdict {
	return Verdict{Unknown: netset.AllPorts(), Reasons: reasons}
}

// Possible is every port that may be allowed: Allowed ∪ Unknown.
func (v Verdict) Possible() netset.Ports { return v.Allowed.Union(v.Unknown) }

// IsEmpty reports whether every port is surely denied.
func (v Verdict) IsEmpty() bool { return v.Allowed.IsEmpty() && v.Unknown.IsEmpty() }

// State is the verdict on one port.
func (v Verdict) State(proto netset.Protocol, port int32) string {
	switch {
	case v.Allowed.Contains(proto, port):
		return StateAllowed
	case v.Unknown.Contains(proto, port):
		return StateUnknown
	}
	return StateDenied
}

// Overall is the verdict on "any port": allowed when some port surely is,
// unknown when none surely is but some may be, denied otherwise.
func (v Verdict) Overall() string {
	switch {
	case !v.Allowed.IsEmpty():
		return StateAllowed
	case !v.Unknown.IsEmpty():
		return StateUnknown
	}
	return StateDenied
}

// or adds what another rule admits: a port is allowed when either surely
// allows it, unknown when either may.
func (v Verdict) or(o Verdict) Verdict {
	out := Verdict{Allowed: v.Allowed.Union(o.Allowed)}
	out.Unknown = v.Unknown.Union(o.Unknown).Difference(out.Allowed)
	out.Reasons = mergeReasons(out.Unknown, v.Reasons, o.Reasons)
	return out
}

// and is what gets through two fences in a row (egress and ingress, the
// NetworkPolicy and the security groups): allowed when both surely allow
// it, unknown when both may.
func (v Verdict) and(o Verdict) Verdict {
	out := Verdict{Allowed: v.Allowed.Intersect(o.Allowed)}
	out.Unknown = v.Possible().Intersect(o.Possible()).Difference(out.Allowed)
	out.Reasons = mergeReasons(out.Unknown, v.Reasons, o.Reasons)
	return out
}

// restrict keeps only the given ports.
func (v Verdict) restrict(p netset.Ports) Verdict {
	out := Verdict{Allowed: v.Allowed.Intersect(p), Unknown: v.Unknown.Intersect(p)}
	out.Reasons = mergeReasons(out.Unknown, v.Reasons)
	return out
}

// mergeReasons joins reason lists, sorted and distinct; none when nothing
// is unknown.
func mergeReasons(unknown netset.Ports, lists ...[]string) []string {
	if unknown.IsEmpty() {
		return nil
	}
	n, nonEmpty := 0, 0
	var only []string
	for _, l := range lists {
		n += len(l)
		if len(l) > 0 {
			nonEmpty++
			only = l
		}
	}
	switch {
	case n == 0:
		return nil
	case nonEmpty == 1:
		// Every list is kept sorted and distinct: one alone is the answer.
		return only
	}
	out := make([]string, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	k := 0
	for i, r := range out {
		if i == 0 || r != out[k-1] {
			out[k] = r
			k++
		}
	}
	return out[:k]
}
