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
