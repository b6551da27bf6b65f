package engine

import "github.com/ringfence/ringfence/internal/model"

// SelectedBy returns the peers whose pods a policy selects; its cost grows
// with the peers selected, not with all peers.
func (a *Analysis) SelectedBy(p *model.NetworkPolicy) []*Peer {
	cp := a.compiled(p)
	if cp == nil {
		return nil
	}
	var out []*Peer
	cp.selects.each(func(i int) { out = append(out, a.byID[i]...) })
	return out
}

// peerNamed returns the in-cluster peer with an ID, or nil: explanations
// resolve names once per question, and audit asks one per peer.
func (a *Analysis) peerNamed(id string) *Peer {
	a.byNameOnce.Do(func() {
		a.byName = make(map[string]*Peer, len(a.peers))
		for _, p := range a.peers {
			if p.Kind != KindExternal {
				a.byName[p.ID] = p
			}
		}
	})
	return a.byName[id]
}

// SelectedByTier returns the peers a tiered policy's subject holds, surely
// or maybe (a label set at run time).
func (a *Analysis) SelectedByTier(p *model.TierPolicy) []*Peer {
	for _, id := range a.g.identities {
		if id.tiers == nil {
			continue
		}
		for _, tp := range id.tiers.policies {
			if tp.src != p {
				continue
			}
			var out []*Peer
			tp.selects.each(func(i int) { out = append(out, a.byID[i]...) })
			tp.maybe.each(func(i int) { out = append(out, a.byID[i]...) })
			return out
		}
	}
	return nil
}

// TierProfile is the profile tiered policies were evaluated with and its
// default action ("allow" or "deny"); empty when the world has no tiered
// policies and the default is allow (nothing was evaluated by tiers).
func (a *Analysis) TierProfile() (profile model.TierProfile, defaultAction string) {
	for _, id := range a.g.identities {
		if id.tiers != nil {
			return id.tiers.profile, map[bool]string{true: "deny", false: "allow"}[id.tiers.defaultDeny]
		}
	}
	if len(a.g.world.TierPolicies) > 0 {
		return a.g.profile, "allow"
	}
	return "", ""
}
