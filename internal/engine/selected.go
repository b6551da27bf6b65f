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
