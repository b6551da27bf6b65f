package engine

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// TestTierCacheAgreesWithWalk holds the verdicts Reach takes from the
// tier cache (per pair of subject and peer classes) equal, reasons and
// all, to a fresh walk of the tiers for that very pair, on the oracle's
// random worlds (maybe-selecting subjects and peers, host-network pods,
// Pass, ties, both profiles).
func TestTierCacheAgreesWithWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 11))
	cached := 0
	for iter := 0; iter < 200; iter++ {
		profile := []model.TierProfile{model.ProfileUpstream, model.ProfileEKS}[iter%2]
		w, _ := randomWorld(r)
		randomTiers(r, w, profile)
		a, err := Analyse(w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile}})
		if err != nil {
			t.Fatal(err)
		}
		ids := a.g.identities
		for _, id := range ids {
			tc := id.tiers
			if tc == nil {
				continue
			}
			for _, other := range ids {
				for _, egress := range []bool{false, true} {
					for _, pairs := range []bool{false, true} {
						got := tc.side(id, other, nil, egress, pairs, nil)
						e := tc.eval(id, other, nil, egress, nil)
						want := tc.finish(&e, func() Verdict { return npSide(id, other, nil, egress, pairs) }, nil)
						if !got.Allowed.Equal(want.Allowed) || !got.Unknown.Equal(want.Unknown) || !reflect.DeepEqual(got.Reasons, want.Reasons) {
							t.Fatalf("iteration %d (%s), egress %t: cached %+v, walked %+v\n%s", iter, profile, egress, got, want, describe(w))
						}
						cached++
					}
				}
			}
		}
	}
	if cached == 0 {
		t.Fatal("no tiered identity in any world: the test checks nothing")
	}
}
