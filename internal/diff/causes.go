package diff

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
)

// fact is one statement of an explanation: key compares across the sides
// (no file positions, which move with unrelated edits), text is shown.
type fact struct{ key, text string }

// causes explains a changed connection: the facts of the engine's
// explanation on each side that the other side lacks. src or dst is
// empty when that end is the address addr outside the cluster.
func causes(bv, hv *view, src, dst, addr string, inB, inH bool) []string {
	bf := facts(bv, src, dst, addr)
	hf := facts(hv, src, dst, addr)
	in := func(fs []fact, k string) bool {
		for _, f := range fs {
			if f.key == k {
				return true
			}
		}
		return false
	}
	var out []string
	for _, f := range bf {
		if !in(hf, f.key) {
			out = append(out, "- "+trim(bv.side, f.text))
		}
	}
	for _, f := range hf {
		if !in(bf, f.key) {
			out = append(out, "+ "+trim(hv.side, f.text))
		}
	}
	return out
}

// facts explains, on one side, traffic from src to dst (either may be
// the address addr): each direction's deciding policies and rules, and the
// security groups of the pods.
func facts(v *view, src, dst, addr string) []fact {
	from, to := addr, addr
	var missing []fact
	for _, end := range []struct {
		name string
		id   *string
	}{{src, &from}, {dst, &to}} {
		if end.name == "" {
			continue
		}
		orig, ok := v.orig[end.name]
		if !ok {
			t := end.name + " is not in the inputs"
			missing = append(missing, fact{t, t})
			continue
		}
		*end.id = orig
	}
	if len(missing) > 0 {
		return missing
	}
	e, err := engine.Explain(v.side.Analysis, from, to, netset.TCP, 0)
	if err != nil {
		t := "cannot explain: " + err.Error()
		return []fact{{t, t}}
	}
	var out []fact
	if src != "" {
		out = append(out, direction("egress", e.Egress, to)...)
		out = append(out, groups(v, from)...)
	}
	if dst != "" {
		out = append(out, direction("ingress", e.Ingress, from)...)
		out = append(out, groups(v, to)...)
	}
	return out
}

// direction turns one side of an explanation into facts.
func direction(dir string, d engine.Direction, other string) []fact {
	head := dir + " of " + d.Of
	switch {
	case !d.Applies:
		t := head + ": " + d.Reason
		return []fact{{t, t}}
	case !d.Isolated:
		t := head + ": not isolated (no NetworkPolicy selects it for " + dir + "), every peer is allowed"
		return []fact{{t, t}}
	}
	var out []fact
	var isolating []string
	var isolatingAt []string
	for _, p := range d.Policies {
		isolating = append(isolating, p.Namespace+"/"+p.Name)
		isolatingAt = append(isolatingAt, fmt.Sprintf("%s/%s (%s)", p.Namespace, p.Name, p.Source))
		for _, r := range p.Rules {
			if !r.Matches {
				continue
			}
			k := fmt.Sprintf("%s: NetworkPolicy %s/%s %s[%d] admits %s on %s (peers: %s)", head, p.Namespace, p.Name, dir, r.Index, other, r.Allowed, r.Peers)
			t := fmt.Sprintf("%s: NetworkPolicy %s/%s %s[%d] (%s) admits %s on %s (peers: %s)", head, p.Namespace, p.Name, dir, r.Index, r.Source, other, r.Allowed, r.Peers)
			out = append(out, fact{k, t})
		}
	}
	if len(out) == 0 {
		k := fmt.Sprintf("%s: isolated by NetworkPolicy %s, and no rule admits %s", head, strings.Join(isolating, ", "), other)
		t := fmt.Sprintf("%s: isolated by NetworkPolicy %s, and no rule admits %s", head, strings.Join(isolatingAt, ", "), other)
		out = append(out, fact{k, t})
	}
	return out
}

// groups states the security groups fencing a peer's pods, when the
// security group layer was given.
func groups(v *view, id string) []fact {
	p := v.peers[id]
	if p == nil || p.Kind == engine.KindExternal {
		return nil
	}
	gs := p.SecurityGroups()
	if len(gs) == 0 {
		return nil
	}
	t := "security groups of " + id + ": " + strings.Join(gs, ", ")
	return []fact{{t, t}}
}
