package engine

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortPairs holds sortPairs' placing by source to a plain sort of
// every entry, on lists of every shape: empty, in order, reversed within
// a source, and random, split over several workers' chunks.
func TestSortPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		names := make([]string, 1+r.IntN(40))
		var all []pairEntry
		lists := make([][]pairEntry, r.IntN(5))
		for i := range lists {
			for range r.IntN(300) {
				src, dst := uint32(r.IntN(len(names))), uint32(r.IntN(len(names)))
				if round%3 == 0 {
					dst = uint32(len(names) - 1 - len(lists[i])%len(names)) // descending runs
				}
				e := pairEntry{key: rankKey(src, dst)}
				lists[i] = append(lists[i], e)
				all = append(all, e)
			}
		}
		got := sortPairs(names, lists).entries
		slices.SortFunc(all, func(x, y pairEntry) int { return cmp.Compare(x.key, y.key) })
		if len(got) != len(all) {
			t.Fatalf("round %d: %d entries, want %d", round, len(got), len(all))
		}
		for i := range all {
			if got[i].key != all[i].key {
				t.Fatalf("round %d: entry %d is %x, want %x", round, i, got[i].key, all[i].key)
			}
		}
	}
}
