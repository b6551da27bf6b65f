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
		slices.SortFunc(all, func(x, y pairEntry) int { return cmp.Compare(x.key, y.key) })
		for workers := 1; workers <= 5; workers++ {
			got := sortPairsOn(names, lists, workers).entries
			if len(got) != len(all) {
				t.Fatalf("round %d, %d workers: %d entries, want %d", round, workers, len(got), len(all))
			}
			for i := range all {
				if got[i].key != all[i].key {
					t.Fatalf("round %d, %d workers: entry %d is %x, want %x", round, workers, i, got[i].key, all[i].key)
				}
			}
		}
	}
}

// TestPolicyListKeys holds appendPolicies to its promise: two pairs of
// lists (an identity's certain and maybe policies) have one key exactly when
// they are equal, however the policies are split between the lists.
func TestPolicyListKeys(t *testing.T) {
	ps := make([]*policy, 300)
	for i := range ps {
		ps[i] = &policy{num: int32(i)}
	}
	lists := [][2][]*policy{
		{nil, nil},
		{ps[:1], nil},
		{nil, ps[:1]},
		{ps[:2], nil},
		{ps[:1], ps[1:2]},
		{ps[1:2], ps[:1]},
		{{ps[1], ps[0]}, nil},
		{ps[128:129], nil},
		{ps[:128], nil},
		{ps[:127], ps[127:128]},
		{ps[200:300], ps[:1]},
	}
	seen := map[string]int{}
	for i, l := range lists {
		k := string(appendPolicies(appendPolicies(nil, l[0]), l[1]))
		if j, ok := seen[k]; ok {
			t.Errorf("lists %d and %d share key %x", j, i, k)
		}
		seen[k] = i
		if again := string(appendPolicies(appendPolicies([]byte("x")[:0], l[0]), l[1])); again != k {
			t.Errorf("list %d: key %x, then %x", i, k, again)
		}
	}
}
