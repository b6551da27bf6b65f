package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
)

// members lists a set's members by its each.
func members(s interface{ each(func(int)) }) []int {
	var out []int
	s.each(func(i int) { out = append(out, i) })
	return out
}

// TestIdsetOps holds the trimmed, shared sets to dense bitsets holding the
// same members, on random sets built one after another through one pool
// (so a builder that kept a bit of the set before would show): members,
// has, emptiness, subset, intersection and union into a dense bitset.
func TestIdsetOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 700
	pool := newSetPool(n)
	var sets []*idset
	var dense []bitset
	for range 400 {
		b, d := pool.builder(), newBitset(n)
		// Clustered members, as a namespace's identities are, or none.
		base, width := r.IntN(n), 1+r.IntN(200)
		for range r.IntN(12) {
			i := min(n-1, base+r.IntN(width))
			b.set(i)
			d.set(i)
		}
		if r.IntN(3) == 0 {
			lo := r.IntN(n)
			hi := min(n, lo+r.IntN(150))
			b.setRange(lo, hi)
			for i := lo; i < hi; i++ {
				d.set(i)
			}
		}
		if r.IntN(4) == 0 && len(sets) > 0 {
			k := r.IntN(len(sets))
			b.add(sets[k])
			d.or(dense[k])
		}
		sets = append(sets, pool.freeze(b))
		dense = append(dense, d)
	}
	shared := 0
	for i, s := range sets {
		d := dense[i]
		if got, want := members(s), members(d); !slices.Equal(got, want) {
			t.Fatalf("set %d: members %v, want %v", i, got, want)
		}
		if s.isEmpty() != d.isEmpty() {
			t.Fatalf("set %d: isEmpty %v, want %v", i, s.isEmpty(), d.isEmpty())
		}
		for k := range n + 64 {
			if want := k < n && d.has(k); s.has(k) != want {
				t.Fatalf("set %d: has(%d) %v, want %v", i, k, s.has(k), want)
			}
		}
		for j, o := range sets[:i] {
			if j > 0 && o == s {
				shared++
			}
			sub, inter := true, false
			for w := range d {
				sub = sub && d[w]&^dense[j][w] == 0
				inter = inter || d[w]&dense[j][w] != 0
			}
			if s.subsetOf(o) != sub || s.intersects(o) != inter || o.intersects(s) != inter {
				t.Fatalf("sets %d, %d: subset %v intersects %v, want %v %v", i, j, s.subsetOf(o), s.intersects(o), sub, inter)
			}
			if reflect.DeepEqual(members(s), members(o)) != (s == o) {
				t.Fatalf("sets %d, %d: equal sets must be one (shared), different ones apart", i, j)
			}
		}
		u := s.orInto(nil)
		if got, want := members(u), members(d); !slices.Equal(got, want) {
			t.Fatalf("set %d: orInto(nil) %v, want %v", i, got, want)
		}
		full := s.orInto(newBitset(n))
		if len(full) != len(d) || !slices.Equal(members(full), members(d)) {
			t.Fatalf("set %d: orInto a whole bitset changed its length or members", i)
		}
	}
	if shared == 0 {
		t.Error("no set was shared: the test proves nothing about sharing")
	}
	if (*idset)(nil).has(3) || !(*idset)(nil).isEmpty() || !(*idset)(nil).subsetOf(sets[0]) || (*idset)(nil).intersects(sets[0]) {
		t.Error("nil is not the empty set")
	}
}

// TestIdsetsMatchDense compiles generated clusters (with and without the
// AWS layer, and with host-network pods and run-time labels), the examples
// and the tier cases twice: as the engine did before sets were trimmed and
// shared (every identity set whole and apart, selector peers answered
// identity by identity) and as it compiles them now (peers that admit
// many identities answered per label class, peerByClass). Every set of every policy,
// rule and tiered policy must hold the same members (and addrMaybe be set
// on the same rules), and Reach must give the same result.
func TestIdsetsMatchDense(t *testing.T) {
	dirs := map[string]string{}
	for name, cfg := range map[string]gencluster.Config{
		"generated":     {Namespaces: 80, Workloads: 8, Policies: 5, Seed: 7},
		"generated+aws": {Namespaces: 30, Workloads: 8, Policies: 5, SecurityGroups: 8, Seed: 5},
	} {
		cfg.Out = t.TempDir()
		if _, err := gencluster.Generate(cfg); err != nil {
			t.Fatal(err)
		}
		dirs[name] = cfg.Out
	}
	more, err := filepath.Glob("../../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	tiers, err := filepath.Glob("../../testdata/tiers/*/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(more) == 0 || len(tiers) == 0 {
		t.Fatal("no examples or tier cases found")
	}
	for _, d := range append(more, tiers...) {
		dirs[d] = d
	}
	// The generated cluster again, with host-network pods and labels whose
	// values are set at run time: what selectors match only maybe.
	dirs["generated, maybe"] = dirs["generated"]
	// And with its workloads out of order, so that a namespace's
	// identities are not numbered one after another.
	dirs["generated, shuffled"] = dirs["generated"]
	var tierSets, compactWords, denseWords, maybes int
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			if name == "generated, shuffled" {
				r := rand.New(rand.NewPCG(3, 4))
				r.Shuffle(len(res.World.Workloads), func(i, j int) {
					res.World.Workloads[i], res.World.Workloads[j] = res.World.Workloads[j], res.World.Workloads[i]
				})
			}
			if name == "generated, maybe" {
				for i, wl := range res.World.Workloads {
					for _, p := range wl.Pods {
						switch {
						case i%7 == 3:
							p.HostNetwork = true
						case i%5 == 1 && p.Labels["tier"] != "":
							p.Labels = maps.Clone(p.Labels)
							delete(p.Labels, "tier")
							p.VaryingLabels = append(p.VaryingLabels, "tier")
						}
					}
				}
			}
			compact, err := Analyse(res.World, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dense, err := Analyse(res.World, Options{denseSets: true})
			if err != nil {
				t.Fatal(err)
			}
			cg, dg := compact.g, dense.g
			if len(cg.policies) != len(dg.policies) {
				t.Fatalf("%d policies compiled, %d dense", len(cg.policies), len(dg.policies))
			}
			same := func(what string, c, d *idset) {
				t.Helper()
				if got, want := members(c), members(d); !slices.Equal(got, want) {
					t.Fatalf("%s: %v, dense %v", what, got, want)
				}
				for k := range len(cg.identities) {
					if c.has(k) != d.has(k) {
						t.Fatalf("%s: has(%d) %v, dense %v", what, k, c.has(k), d.has(k))
					}
				}
				if c != nil {
					compactWords += len(c.words)
				}
				if d != nil {
					denseWords += len(d.words)
				}
			}
			rules := func(what string, c, d []*rule) {
				t.Helper()
				if len(c) != len(d) {
					t.Fatalf("%s: %d rules, %d dense", what, len(c), len(d))
				}
				for i := range c {
					same(what+" peers", c[i].peers, d[i].peers)
					same(what+" maybe", c[i].maybe, d[i].maybe)
					maybes += len(members(c[i].maybe))
					if (c[i].addrMaybe == nil) != (d[i].addrMaybe == nil) {
						t.Fatalf("%s: addrMaybe set %v, dense %v", what, c[i].addrMaybe != nil, d[i].addrMaybe != nil)
					}
					same(what+" addrMaybe", c[i].addrMaybe, d[i].addrMaybe)
					if !reflect.DeepEqual(c[i].why, d[i].why) || !reflect.DeepEqual(c[i].addrWhy, d[i].addrWhy) || !c[i].addrPorts.Equal(d[i].addrPorts) {
						t.Fatalf("%s: reasons or ports differ", what)
					}
				}
			}
			for i, p := range cg.policies {
				q := dg.policies[i]
				what := p.src.Ref().String()
				same(what+" selects", p.selects, q.selects)
				same(what+" maybe", p.maybe, q.maybe)
				same(what+" host", p.host, q.host)
				rules(what+" ingress", p.ingress, q.ingress)
				rules(what+" egress", p.egress, q.egress)
			}
			for i, id := range cg.identities {
				if len(id.ingress) != len(dg.identities[i].ingress) || len(id.egress) != len(dg.identities[i].egress) {
					t.Fatalf("identity %d: isolated by other policies", i)
				}
			}
			ct, dt := tiersOf(cg), tiersOf(dg)
			if (ct == nil) != (dt == nil) {
				t.Fatal("tiers compiled in one mode only")
			}
			if ct != nil {
				for i, p := range ct.policies {
					q := dt.policies[i]
					what := p.src.Ref().String()
					same(what+" selects", p.selects, q.selects)
					same(what+" maybe", p.maybe, q.maybe)
					for _, dir := range [][2][]*tierRule{{p.ingress, q.ingress}, {p.egress, q.egress}} {
						if len(dir[0]) != len(dir[1]) {
							t.Fatalf("%s: %d tier rules, %d dense", what, len(dir[0]), len(dir[1]))
						}
						for k := range dir[0] {
							rules(what+" "+dir[0][k].name, []*rule{dir[0][k].rule}, []*rule{dir[1][k].rule})
							tierSets++
						}
					}
				}
			}
			// As JSON: peers point into their own graph.
			got, err := json.Marshal(compact.Reach())
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(dense.Reach())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("Reach differs between compact and dense sets")
			}
		})
	}
	// Something of each kind was compared, and the compact sets are
	// smaller: the two modes did differ.
	if tierSets == 0 || maybes == 0 {
		t.Errorf("compared %d tier rules, %d maybe members: want some of each", tierSets, maybes)
	}
	if compactWords*4 > denseWords {
		t.Errorf("compact sets hold %d words against %d dense: not trimmed", compactWords, denseWords)
	}
}

// tiersOf is the graph's tier configuration, which every identity that
// tiered policies select points to; nil when none does.
func tiersOf(g *graph) *tierConfig {
	for _, id := range g.identities {
		if id.tiers != nil {
			return id.tiers
		}
	}
	return nil
}

// TestBitsAt holds the word-at-a-time reads Reach makes of a class's
// sources (idset.bitsAt, bitset.bitsAt over appendRuns' runs) to one test
// per member: any window, any run layout, sets shorter than the window.
func TestBitsAt(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 300 {
		n := 1 + r.IntN(400)
		pool := newSetPool(n)
		b := pool.builder()
		dense := newBitset(n)
		for i := range n {
			if r.IntN(3) == 0 && i >= n/4 {
				b.set(i)
				dense.set(i)
			}
		}
		s := pool.freeze(b)
		short := dense[:r.IntN(len(dense)+1)]
		var group []int
		for i := r.IntN(n); i < n && len(group) < 64; i += 1 + r.IntN(3)/2*r.IntN(5) {
			group = append(group, i)
		}
		if len(group) == 0 {
			continue
		}
		var got, gotShort, want, wantShort uint64
		for _, run := range appendRuns(nil, group) {
			got |= s.bitsAt(run.at, run.n) << run.k
			gotShort |= short.bitsAt(run.at, run.n) << run.k
		}
		for k, i := range group {
			if s.has(i) {
				want |= 1 << k
			}
			if hasBit(short, i) {
				wantShort |= 1 << k
			}
		}
		if got != want || gotShort != wantShort {
			t.Fatalf("round %d, group %v: idset %x want %x; short bitset %x want %x", round, group, got, want, gotShort, wantShort)
		}
	}
}
