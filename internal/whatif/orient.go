package whatif

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/traffic"
)

// oriented counts what orient decided: records it oriented by the
// statefulness of security groups, and of those the replies.
type oriented struct {
	stateful, replies uint64
}

// orient judges a flow whose direction the log did not give (records
// between two ephemeral ports, with no TCP flags), with the records of its
// mirror image if the log has them.
//
// Security groups are stateful: a record the network accepted, which no
// rule admits as a new connection while its mirror image is admitted as
// one, is a reply. "Admitted" is today's verdict: the current inputs when
// given, else the security groups of the inputs (taken to be those in force
// when the log was written; NetworkPolicies of the inputs are the proposal
// then, not what was in force).
//
// Otherwise the flow is judged both ways under the proposal: allowed both
// ways or denied both ways, it is allowed or breaks whichever side opened it
// (and says so); allowed one way only, it is Ambiguous: it breaks only if
// the other side opened it, which the log does not say.
func orient(idx *traffic.Index, f traffic.Flow, current, proposed *State) ([]Flow, oriented) {
	var o oriented
	fwd := f
	fwd.Mirror = nil
	rev := mirror(f)
	a, b := expand(idx, fwd), expand(idx, rev)
	if f.SrcPort == 0 || f.Denied || len(a) != 1 || len(b) != 1 || a[0].Status == NotJudged || b[0].Status == NotJudged {
		// No mirror to judge (too many undecided flows to keep their
		// source ports, a Service in between, or not judged), or denied
		// today already: as recorded, and saying so.
		out := append(a, b...)
		if f.Mirror == nil {
			out = a
		}
		for i := range out {
			if out[i].Status != NotJudged {
				judge(&out[i], current, proposed)
				out[i].Ambiguous = "the log does not say which side opened the connection: judged as recorded"
			}
		}
		return out, o
	}
	fa, fb := a[0], b[0]
	accepted := f.Accepted > 0 || (f.Mirror != nil && f.Mirror.Accepted > 0)
	newA, newB := admitsNew(&fa, current, proposed), admitsNew(&fb, current, proposed)
	switch {
	case accepted && newA && !newB:
		o.stateful, o.replies = fa.Records+fb.Records, fb.Records
		fa.Direction = fmt.Sprintf("%s: %s may open it, %s may not", RuleStateful, fa.Source, fa.Destination)
		judge(&fa, current, proposed)
		return []Flow{fa}, o
	case accepted && newB && !newA:
		o.stateful, o.replies = fa.Records+fb.Records, fa.Records
		if f.Mirror == nil {
			// Only replies were logged: the connection they answer is
			// judged with them.
			fb = withCounts(fb, swapped(f.Counts))
		}
		fb.Direction = fmt.Sprintf("%s: %s may open it, %s may not", RuleStateful, fb.Source, fb.Destination)
		judge(&fb, current, proposed)
		return []Flow{fb}, o
	}
	// Undecided: one conversation, judged both ways.
	both := fa
	if f.Mirror != nil {
		c := f.Counts
		c.Records += f.Mirror.Records
		c.Accepted += f.Mirror.Accepted
		c.Rejected += f.Mirror.Rejected
		sw := swapped(*f.Mirror)
		c.SrcAddrs.Merge(sw.SrcAddrs)
		c.DstAddrs.Merge(sw.DstAddrs)
		both = withCounts(fa, c)
	}
	pa, pb := verdict(&fa, proposed), verdict(&fb, proposed)
	switch {
	case pa.Allowed == pb.Allowed:
		judge(&both, current, proposed)
		word := "allows"
		if !pa.Allowed {
			word = "denies"
		}
		both.Ambiguous = fmt.Sprintf("the log does not say whether %s or %s opened the connection; the proposal %s it either way", fa.Source, fa.Destination, word)
		return []Flow{both}, o
	case pa.Allowed:
		// Breaks only if the destination opened it: shown that way.
		fb = withCounts(fb, swapped(both.counts))
		judge(&fb, current, proposed)
		if fb.Status == Breaks {
			fb.Status = Ambiguous
		}
		fb.Ambiguous = fmt.Sprintf("breaks only if %s opened the connection; the proposal allows it if %s did, and the log does not say which", fb.Source, fa.Source)
		return []Flow{fb}, o
	}
	judge(&both, current, proposed)
	if both.Status == Breaks {
		both.Status = Ambiguous
	}
	both.Ambiguous = fmt.Sprintf("breaks only if %s opened the connection; the proposal allows it if %s did, and the log does not say which", fa.Source, fb.Source)
	return []Flow{both}, o
}

// admitsNew reports whether today's fences admit a flow as a new
// connection: the current inputs' verdict, else the security groups of
// the inputs alone.
func admitsNew(f *Flow, current, proposed *State) bool {
	if current != nil {
		return verdict(f, current).Allowed
	}
	for _, d := range verdict(f, proposed).Denials {
		if d.Layer != "NetworkPolicy" {
			return false
		}
	}
	return true
}

// mirror is the other direction of an undecided flow: endpoints and ports
// swapped, with the mirror's records (none when the log has none).
func mirror(f traffic.Flow) traffic.Flow {
	m := traffic.Flow{Key: f.Key}
	m.Src, m.Dst, m.Port, m.SrcPort = f.Dst, f.Src, f.SrcPort, f.Port
	if f.Mirror != nil {
		m.Counts = *f.Mirror
	} else {
		m.Counts = swapped(f.Counts)
		m.Records, m.Accepted, m.Rejected = 0, 0, 0
	}
	return m
}

// swapped is counts with their ends swapped.
func swapped(c traffic.Counts) traffic.Counts {
	c.SrcAddr, c.DstAddr = c.DstAddr, c.SrcAddr
	c.SrcAddrs, c.DstAddrs = c.DstAddrs, c.SrcAddrs
	return c
}

// withCounts gives a judged flow other counts (its ends unchanged).
func withCounts(f Flow, c traffic.Counts) Flow {
	f.counts = c
	f.Records, f.Accepted, f.Rejected = c.Records, c.Accepted, c.Rejected
	f.First = c.First.String()
	f.Example = fmt.Sprintf("%s -> %s", c.SrcAddr, addrPort(c.DstAddr, uint16(f.Port)))
	if f.src.Kind == traffic.KindAddress {
		f.Addresses = addresses(f.src, c.SrcAddrs)
	}
	if f.dst.Kind == traffic.KindAddress {
		f.Addresses = addresses(f.dst, c.DstAddrs)
	}
	return f
}

// reclassify moves the records orient decided from the undecided rule to
// the statefulness rule.
func reclassify(rc []traffic.RuleCount, stateful uint64) []traffic.RuleCount {
	out := make([]traffic.RuleCount, 0, len(rc)+1)
	for _, c := range rc {
		if c.Rule == traffic.RuleAmbiguous {
			out = append(out, traffic.RuleCount{Rule: RuleStateful, Records: stateful})
			c.Records -= stateful
			if c.Records == 0 {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
