package diff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// fact is one statement of an explanation: key compares across the sides
// (no file positions, which move with unrelated edits), text is shown, and
// src is the file:line of the rule or policy it is about, when it has one.
// sg names the direction of a security group rule's fact; a fact with sg
// and no key marks a direction whose groups the explanation could not
// tell apart (an address range the groups treat unevenly).
type fact struct{ key, text, src, sg string }

// causes explains a changed connection: the facts of the engine's
// explanation on each side that the other side lacks. src or dst is
// empty when that end is the address addr outside the cluster. at are
// the files and lines of those facts, the head's first (the rules a
// change adds are where a reviewer looks), then the base's (a policy the
// change removed): what a SARIF result points at.
func causes(bv, hv *view, src, dst, addr string, inB, inH bool) (out []string, at []model.Source) {
	bf, hf := facts(bv, src, dst, addr), facts(hv, src, dst, addr)
	// A side that could not list a direction's security group rules
	// says nothing about them: comparing its silence with the other
	// side's rules would invent a change.
	untold := map[string]bool{}
	for _, f := range append(slices.Clip(bf), hf...) {
		if f.key == "" && f.sg != "" {
			untold[f.sg] = true
		}
	}
	keep := func(fs []fact) []fact {
		return slices.DeleteFunc(fs, func(f fact) bool { return f.key == "" || untold[f.sg] })
	}
	bf, hf = keep(bf), keep(hf)
	in := func(fs []fact, k string) bool {
		for _, f := range fs {
			if f.key == k {
				return true
			}
		}
		return false
	}
	var baseAt []model.Source
	for _, f := range bf {
		if !in(hf, f.key) {
			out = append(out, "- "+trim(bv.side, f.text))
			baseAt = appendSource(baseAt, bv.side, f.src)
		}
	}
	for _, f := range hf {
		if !in(bf, f.key) {
			out = append(out, "+ "+trim(hv.side, f.text))
			at = appendSource(at, hv.side, f.src)
		}
	}
	return out, append(at, baseAt...)
}

// appendSource adds a "file:line" position, once, as the user names the
// file.
func appendSource(at []model.Source, s *Side, pos string) []model.Source {
	if pos == "" {
		return at
	}
	src := model.Source{File: pos}
	if i := strings.LastIndexByte(pos, ':'); i > 0 {
		if n, err := strconv.Atoi(pos[i+1:]); err == nil && n > 0 {
			src = model.Source{File: pos[:i], Line: n}
		}
	}
	if src.File == "unknown" {
		return at
	}
	src = trimSource(s, src)
	if slices.Contains(at, src) {
		return at
	}
	return append(at, src)
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
			missing = append(missing, fact{t, t, "", ""})
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
		return []fact{{t, t, "", ""}}
	}
	var out []fact
	if src != "" {
		out = append(out, direction("egress", e.Egress, to)...)
		out = append(out, groups(v, from)...)
		if e.SecurityGroups != nil {
			out = append(out, sgRules("egress of "+src, e.SecurityGroups.Egress, to)...)
		}
	}
	if dst != "" {
		out = append(out, direction("ingress", e.Ingress, from)...)
		out = append(out, groups(v, to)...)
		if e.SecurityGroups != nil {
			out = append(out, sgRules("ingress of "+dst, e.SecurityGroups.Ingress, from)...)
		}
	}
	return out
}

// sgRules states the security group rules that admit the other end, so a
// rule a change adds or removes shows as a cause with its file:line.
func sgRules(head string, v *engine.SGVerdict, other string) []fact {
	if v == nil {
		return []fact{{sg: head}}
	}
	var out []fact
	for _, r := range v.Rules {
		k := fmt.Sprintf("%s: security group %s %s[%d] admits %s on %s", head, r.Group, r.Direction, r.Index, other, r.Allowed)
		t := fmt.Sprintf("%s: security group %s %s[%d] (%s) admits %s on %s", head, r.Group, r.Direction, r.Index, r.Source, other, r.Allowed)
		out = append(out, fact{k, t, r.Source, head})
	}
	return out
}

// direction turns one side of an explanation into facts.
func direction(dir string, d engine.Direction, other string) []fact {
	head := dir + " of " + d.Of
	switch {
	case !d.Applies:
		t := head + ": " + d.Reason
		return []fact{{t, t, "", ""}}
	case !d.Isolated:
		t := head + ": not isolated (no NetworkPolicy selects it for " + dir + "), every peer is allowed"
		return []fact{{t, t, "", ""}}
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
			out = append(out, fact{k, t, r.Source, ""})
		}
	}
	if len(out) == 0 {
		k := fmt.Sprintf("%s: isolated by NetworkPolicy %s, and no rule admits %s", head, strings.Join(isolating, ", "), other)
		t := fmt.Sprintf("%s: isolated by NetworkPolicy %s, and no rule admits %s", head, strings.Join(isolatingAt, ", "), other)
		src := ""
		if len(d.Policies) > 0 {
			src = d.Policies[0].Source
		}
		out = append(out, fact{k, t, src, ""})
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
	return []fact{{t, t, "", ""}}
}
