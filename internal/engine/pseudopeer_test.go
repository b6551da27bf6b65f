package engine

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ringfence/ringfence/internal/netset"
)

// Reach lists what ipBlocks may match of unknown pod addresses once per
// peer, against the pseudo-peer UnknownAddressPods, instead of per pair.
// That must lose nothing: for every pair, what explain says may be allowed
// is in reach's pair, or in the source's connection to the pseudo-peer,
// or in the pseudo-peer's connection to the destination; what explain
// says is surely allowed is exactly the pair's allow.
func TestReachPseudoPeerCoversExplain(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 31))
	pseudoSeen := false
	for iter := 0; iter < 60; iter++ {
		w, cidrs, _ := removeFacts(r, completeWorld(r))
		a, err := Analyse(w, Options{Level: LevelWorkload, PodCIDRs: cidrs})
		if err != nil {
			t.Fatal(err)
		}
		res := a.Reach()
		pair := map[[2]string]Connection{}
		for _, c := range res.Connections {
			pair[[2]string{c.Src, c.Dst}] = c
		}
		for _, c := range res.Self {
			pair[[2]string{c.Src, c.Dst}] = c
		}
		listed := false
		for _, p := range res.Peers {
			listed = listed || p.ID == UnknownAddressPods
		}
		for _, c := range res.Connections {
			if c.Src == UnknownAddressPods || c.Dst == UnknownAddressPods {
				pseudoSeen = true
				if !listed {
					t.Fatalf("iteration %d: %s => %s but the pseudo-peer is not among the peers", iter, c.Src, c.Dst)
				}
				if !c.Allow.IsEmpty() || c.Unknown.IsEmpty() || len(c.Reasons) == 0 {
					t.Fatalf("iteration %d: %s => %s: allow %v, unknown %v, reasons %v; want only unknown ports, with reasons", iter, c.Src, c.Dst, c.Allow, c.Unknown, c.Reasons)
				}
			}
		}
		var ends []string
		for _, wl := range w.Workloads {
			ends = append(ends, wl.Namespace+"/"+wl.Name)
		}
		for _, s := range ends {
			for _, d := range ends {
				if s == d {
					continue
				}
				var allowed, possible netset.Ports
				for _, proto := range netset.Protocols {
					e, err := Explain(a, s, d, proto, 0)
					if err != nil {
						t.Fatal(err)
					}
					allowed = allowed.Union(e.Allowed)
					possible = possible.Union(e.Allowed).Union(e.Unknown)
				}
				c := pair[[2]string{s, d}]
				if !allowed.Difference(c.Allow).IsEmpty() || !c.Allow.Difference(allowed).IsEmpty() {
					t.Fatalf("iteration %d: %s => %s: explain allows %v, reach %v\npolicies: %s", iter, s, d, allowed, c.Allow, describe(w))
				}
				covered := c.Allow.Union(c.Unknown).
					Union(pair[[2]string{s, UnknownAddressPods}].Unknown).
					Union(pair[[2]string{UnknownAddressPods, d}].Unknown)
				if lost := possible.Difference(covered); !lost.IsEmpty() {
					t.Fatalf("iteration %d: %s => %s may be allowed on %v (explain), which reach lists nowhere\npolicies: %s", iter, s, d, lost, describe(w))
				}
			}
		}
	}
	if !pseudoSeen {
		t.Fatal("no random world gave the pseudo-peer a connection: the test checks nothing")
	}
}

// With every pod's address known, or a pod range that ipBlocks either
// cover or miss, there is no pseudo-peer.
func TestReachNoPseudoPeerWhenAddressesAreKnown(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 41))
	for iter := 0; iter < 30; iter++ {
		w := completeWorld(r)
		a, err := Analyse(w, Options{Level: LevelWorkload, PodCIDRs: []netip.Prefix{podRange}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range a.Reach().Peers {
			if p.ID == UnknownAddressPods {
				t.Fatalf("iteration %d: every pod address is known, yet reach lists %s", iter, UnknownAddressPods)
			}
		}
	}
}
