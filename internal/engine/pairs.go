package engine

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ringfence/ringfence/internal/netset"
)

// This file is the pair path of Reach: sharing each side's verdict between
// the pairs it cannot tell apart, and holding the connections compactly
// (two peer ranks and a pointer to a verdict shared by every pair with the
// same one) rather than as a struct each.

// sideClasses number the identities whose NetworkPolicy verdict for one
// direction depends only on which of the same rules hold the other end
// (and on the destination's named ports, when a rule has some): those
// isolated by the same policies (and no others that may select them),
// without tiers, doubts or host network, which sideOf decides otherwise.
type sideClasses struct {
	of    []int32   // identity index -> class, -1 when not shared
	rules [][]*rule // class -> the rules npSide walks, in order
	// sets are the rules' peer sets, side by side: a signature reads
	// these, not the rules (one cache line less per rule).
	sets  [][]sigSets
	named []bool // class -> some rule has named ports
	// ports numbers the identities' named container ports: identities
	// with the same resolve every named port alike.
	ports []int32
	// alike numbers the identities of one class and, when tiered, one
	// tier subject class for the direction (-1 when not shared): their
	// side towards (or from) one other end is one verdict, which is what
	// pairMemo's last-side shortcuts need.
	alike  []int32
	nAlike int
	// short is alike but -1 for identities whose class has named ports:
	// the classes pairMemo's last-side shortcuts serve for ingress.
	short []int32
}

// sigSets are what signature reads of a rule.
type sigSets struct {
	addrMaybe, peers, maybe *idset
	all                     bool
}

// maxSideRules is the most rules a class may have: a signature holds one
// bit per rule.
const maxSideRules = 64

func newSideClasses(ids []*identity, egress bool) *sideClasses {
	c := &sideClasses{of: make([]int32, len(ids)), alike: make([]int32, len(ids)), ports: portClasses(ids)}
	at := map[string]int32{}
	type classSubject struct{ class, subj int32 }
	alike := map[classSubject]int32{}
	var key []byte
	for _, id := range ids {
		c.of[id.index], c.alike[id.index] = -1, -1
		// A tiered identity's side is the tiers' cell (its subject class
		// and the other end's peer class, in sideKey) over this same
		// NetworkPolicy side, when the cells are kept.
		if id.hostNetwork || len(id.doubt) > 0 || id.tiers != nil && id.tiers.cells == nil {
			continue
		}
		certain, maybe := id.ingress, id.maybeIngress
		if egress {
			certain, maybe = id.egress, id.maybeEgress
		}
		key = appendPolicies(appendPolicies(key[:0], certain), maybe)
		n, ok := at[string(key)]
		if !ok {
			var rules []*rule
			named := false
			for _, p := range append(append([]*policy(nil), certain...), maybe...) {
				rs := p.ingress
				if egress {
					rs = p.egress
				}
				for _, r := range rs {
					named = named || len(r.named) > 0
				}
				rules = append(rules, rs...)
			}
			n = -1
			if len(rules) <= maxSideRules {
				n = int32(len(c.rules))
				c.rules = append(c.rules, rules)
				sets := make([]sigSets, len(rules))
				for i, r := range rules {
					sets[i] = sigSets{addrMaybe: r.addrMaybe, peers: r.peers, maybe: r.maybe, all: r.allPeers}
				}
				c.sets = append(c.sets, sets)
				c.named = append(c.named, named)
			}
			at[string(key)] = n
		}
		c.of[id.index] = n
		if n < 0 {
			continue
		}
		cs := classSubject{n, -1}
		if id.tiers != nil {
			cs.subj = id.tiers.subject(id, egress)
		}
		a, ok := alike[cs]
		if !ok {
			a = int32(len(alike))
			alike[cs] = a
		}
		c.alike[id.index] = a
	}
	c.nAlike = len(alike)
	c.short = slices.Clone(c.alike)
	for i, n := range c.of {
		if n >= 0 && c.named[n] {
			c.short[i] = -1
		}
	}
	return c
}

// portClasses numbers the identities by their named container ports.
func portClasses(ids []*identity) []int32 {
	out := make([]int32, len(ids))
	at := map[string]int32{}
	var names []string
	for _, id := range ids {
		names = names[:0]
		for k, v := range id.ports {
			names = append(names, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(names)
		k := strings.Join(names, ",")
		n, ok := at[k]
		if !ok {
			n = int32(len(at))
			at[k] = n
		}
		out[id.index] = n
	}
	return out
}

// signature says which of class c's rules hold other, as npSide (with
// pairs set) reads them: a rule skipped for other's unknown addresses
// holds nothing; ok is false when some rule may hold it (its reasons are
// other's own, so the verdict is not shared).
func (c *sideClasses) signature(class int32, other *identity) (sig uint64, ok bool) {
	for i, r := range c.sets[class] {
		switch {
		case r.addrMaybe.has(other.index):
		case r.all || r.peers.has(other.index):
			sig |= 1 << i
		case r.maybe.has(other.index):
			return 0, false
		}
	}
	return sig, true
}

// sideKey names one shared side verdict: the class, the signature of the
// other end, and the destination's port class when named ports resolve on
// it (-1 otherwise).
type sideKey struct {
	class, dst int32
	sig        uint64
	// subj and peer are the tiers' classes of the two ends (-1 without
	// tiers): the tiers' part of the verdict depends on nothing else.
	subj, peer int32
}

// pairMemo is one worker's shared verdicts: each side's by sideKey, and
// the pair's (both sides and'ed) by the two sides' numbers. A pair's
// connection template (Src and Dst empty) is shared by every pair with
// the same verdict: nil when nothing may pass.
type pairMemo struct {
	in, out       *sideClasses
	verdicts      []Verdict
	byValue       map[string]int32 // verdict key -> its number in verdicts
	key           []byte
	ingress, egrs map[sideKey]int32
	// inTab and outTab are each class's first side verdicts (by class).
	inTab, outTab [][]sideEntry
	pairs         map[sharedKey]*Connection
	// a is set when security groups or the VPC layer are given: their
	// verdict depends on the two pods' places (places.of), which then
	// join the pair's key.
	a *Analysis
	// The side numbers last looked up, without a signature or a map:
	// towards destination d, for sources alike lastOut[d].of; from source
	// lastIn[c].of, for destinations alike c (sideClasses.short). Reach
	// gives the sources of one egress class to a worker in a row, and
	// each source meets many destinations of one ingress class. Each is
	// one look at memory per pair: at 10,000 namespaces a pair's look-ups
	// missed the cache in six arrays.
	lastOut, lastIn []lastSide
	// lastPair and lastConn are the pair looked up last: a source's
	// destinations of one class often share it in a row.
	lastPair sharedKey
	lastConn *Connection
	// empties memoises empty (settle).
	empties map[[2]int32]bool
}

// lastSide is a side number looked up last, for a class of sources or one
// source (of).
type lastSide struct{ of, side int32 }

// sharedKey names one shared pair verdict: the two sides' numbers and, with
// security groups or the VPC layer, the class of their verdict between the
// two pods' places (src; dst -1) or the two places (-1 without).
type sharedKey struct{ egress, ingress, src, dst int32 }

func newPairMemo(a *Analysis, in, out *sideClasses) *pairMemo {
	m := &pairMemo{in: in, out: out, ingress: map[sideKey]int32{}, egrs: map[sideKey]int32{}, pairs: map[sharedKey]*Connection{}, byValue: map[string]int32{}, empties: map[[2]int32]bool{},
		lastOut: make([]lastSide, len(out.of)), lastIn: make([]lastSide, in.nAlike),
		inTab: make([][]sideEntry, len(in.rules)), outTab: make([][]sideEntry, len(out.rules))}
	for i := range m.lastOut {
		m.lastOut[i].of = -1
	}
	for i := range m.lastIn {
		m.lastIn[i].of = -1
	}
	m.lastPair = sharedKey{-1, -1, -1, -1}
	if a.sg != nil || a.net != nil {
		m.a = a
	}
	return m
}

// side is the number of id's verdict for one direction towards (or from)
// other, computed once per sideKey; ok is false when it is not shared.
func (m *pairMemo) side(id, other, dst *identity, egress bool) (int32, bool) {
	classes, memo := m.in, m.ingress
	if egress {
		classes, memo = m.out, m.egrs
	}
	class := classes.of[id.index]
	if class < 0 {
		return 0, false
	}
	sig, ok := classes.signature(class, other)
	if !ok {
		return 0, false
	}
	k := sideKey{class: class, dst: -1, sig: sig, subj: -1, peer: -1}
	if tc := id.tiers; tc != nil {
		dir := 0
		if egress {
			dir = 1
		}
		k.subj, k.peer = tc.subj[dir][id.index], tc.peer[dir][other.index]
	}
	if classes.named[class] {
		k.dst = classes.ports[dst.index]
	}
	tab := m.inTab
	if egress {
		tab = m.outTab
	}
	for _, e := range tab[class] {
		if e.k == k {
			return e.n, true
		}
	}
	n, ok := memo[k]
	if !ok {
		n = m.intern(sideOf(id, other, nil, egress, true))
		memo[k] = n
	}
	if len(tab[class]) < maxTab {
		tab[class] = append(tab[class], sideEntry{k, n})
	}
	return n, true
}

// sideEntry is one side verdict of a class, found by a look at the few
// the class has rather than by hashing its key.
type sideEntry struct {
	k sideKey
	n int32
}

// maxTab is the most side verdicts a class keeps in its table; the rest
// are found in the map.
const maxTab = 8

// intern numbers v by its value: the many side keys of a large cluster
// come to a few distinct verdicts, so the pairs of verdicts, which key
// the pair's template, stay few too.
func (m *pairMemo) intern(v Verdict) int32 {
	m.key = appendVerdictKey(m.key[:0], v)
	if n, ok := m.byValue[string(m.key)]; ok {
		return n
	}
	n := int32(len(m.verdicts))
	m.verdicts = append(m.verdicts, v)
	m.byValue[string(m.key)] = n
	return n
}

// appendVerdictKey appends a key equal for two verdicts exactly when
// their allowed and unknown ports and their reasons, in order, are.
func appendVerdictKey(b []byte, v Verdict) []byte {
	for _, ports := range []netset.Ports{v.Allowed, v.Unknown} {
		for _, p := range netset.Protocols {
			for _, r := range ports.Ranges(p) {
				b = binary.LittleEndian.AppendUint32(b, uint32(r.Lo))
				b = binary.LittleEndian.AppendUint32(b, uint32(r.Hi))
			}
			b = append(b, 0xff, 0xff, 0xff, 0xff) // no port is -1
		}
	}
	for _, r := range v.Reasons {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		b = append(b, r...)
	}
	return b
}

// sides are the numbers of s's egress verdict towards d and d's ingress
// verdict from s; ok is false when either is not shared.
func (m *pairMemo) sides(s, d *identity) (e, i int32, ok bool) {
	// The last side numbers hold for identities alike (one class and,
	// when tiered, one tier subject class): the sideKey of each is the
	// same towards (or from) one other end.
	if c, last := m.out.alike[s.index], &m.lastOut[d.index]; c >= 0 && last.of == c {
		e = last.side
	} else if e, ok = m.side(s, d, d, true); !ok {
		return 0, 0, false
	} else {
		*last = lastSide{c, e}
	}
	// Destinations with named ports resolve them each on its own.
	if c := m.in.short[d.index]; c >= 0 && m.lastIn[c].of == int32(s.index) {
		i = m.lastIn[c].side
	} else if i, ok = m.side(d, s, d, false); !ok {
		return 0, 0, false
	} else if c >= 0 {
		m.lastIn[c] = lastSide{int32(s.index), i}
	}
	return e, i, true
}

// pair is pairFrom from the shared side verdicts (and, with security
// groups or the VPC layer, their verdict between the two places): the
// connection template, nil when nothing may pass; ok is false when either
// side is not shared.
func (m *pairMemo) pair(s, d *identity) (t *Connection, ok bool) {
	e, i, ok := m.sides(s, d)
	if !ok {
		return nil, false
	}
	k := sharedKey{e, i, -1, -1}
	if m.a != nil {
		// Pairs of places the fences judge alike share one key (their
		// verdict's class); without classes, the places themselves.
		if c := m.a.fenceClass(s, d); c >= 0 {
			k.src = c
		} else {
			k.src, k.dst = m.a.places.of[s.index], m.a.places.of[d.index]
		}
	}
	if k == m.lastPair {
		return m.lastConn, true
	}
	t, seen := m.pairs[k]
	if !seen {
		if v := m.verdicts[e]; !v.IsEmpty() {
			if v = v.and(m.verdicts[i]); !v.IsEmpty() {
				var layers *Layers
				ok := true
				if m.a != nil {
					v, layers, ok = m.a.fenced(s, d, v)
				}
				if ok {
					t = &Connection{Allow: v.Allowed, Unknown: v.Unknown, Reasons: v.Reasons, Layers: layers}
				}
			}
		}
		m.pairs[k] = t
	}
	m.lastPair, m.lastConn = k, t
	return t, true
}

// tierSettled is what settle found for the sources of one tiers' peer
// class: whether their pair with the destination may let something
// through.
type tierSettled struct {
	peer int32
	keep bool
}

// settle calls try with each member k (a bit of mask) of a group of
// sources that d's ingress admits only by the tiers' Admin Accepts
// (identity.tierOnlySources), but for those whose NetworkPolicy-and-tiers
// verdict with d surely lets nothing through (then no fence can). Such
// members of one group (Reach's egress class: one egress side class and
// tier subject class) with one tiers' peer class for ingress have the
// same two sides with d: the same egress sideKey towards d, and the same
// ingress sideKey from d (no rule of d's holds any of them: signature 0);
// so one of them is judged for all. seen is scratch space, returned for
// reuse.
func (m *pairMemo) settle(ids []*identity, group []int, mask uint64, d *identity, seen []tierSettled, try func(k int)) []tierSettled {
next:
	for ; mask != 0; mask &= mask - 1 {
		k := bits.TrailingZeros64(mask)
		s := ids[group[k]]
		peer := d.tiers.peer[0][s.index]
		for _, x := range seen {
			if x.peer == peer {
				if x.keep {
					try(k)
				}
				continue next
			}
		}
		x := tierSettled{peer: peer, keep: true}
		if e, i, ok := m.sides(s, d); ok {
			x.keep = !m.empty(e, i)
		}
		seen = append(seen, x)
		if x.keep {
			try(k)
		}
	}
	return seen
}

// empty reports whether sides e and i and'ed let nothing through,
// computed once per pair of sides.
func (m *pairMemo) empty(e, i int32) bool {
	k := [2]int32{e, i}
	x, ok := m.empties[k]
	if !ok {
		x = m.verdicts[e].IsEmpty() || m.verdicts[e].and(m.verdicts[i]).IsEmpty()
		m.empties[k] = x
	}
	return x
}

// pairEntry is one connection: the ranks of its source and destination
// (key: source<<32 | destination, so that the keys sort as the IDs do)
// and its template.
type pairEntry struct {
	key uint64
	t   *Connection
}

// pairChunks collects a worker's connections in chunks that are never
// copied to grow (a growing slice of 12 million connections copies and
// clears hundreds of megabytes); sortPairs joins them once.
type pairChunks [][]pairEntry

// maxChunk is the length of a chunk once the first few, growing from 1,024
// so that a small Reach allocates little, have filled.
const maxChunk = 1 << 16

func (c *pairChunks) add(e pairEntry) {
	n := len(*c)
	if n == 0 || len((*c)[n-1]) == cap((*c)[n-1]) {
		size := 1024
		if n > 0 {
			size = min(2*cap((*c)[n-1]), maxChunk)
		}
		*c = append(*c, make([]pairEntry, 0, size))
		n++
	}
	(*c)[n-1] = append((*c)[n-1], e)
}

// pairList is the connections of a Reach, sorted by source, then
// destination; names maps ranks to peer IDs.
type pairList struct {
	names   []string
	entries []pairEntry
}

// peerRanks numbers the peers in the order of their IDs: peer i of the
// sorted peers is 2i+1, and the pseudo-peer of pods whose addresses are
// not known the even number before the first peer sorting after it.
type peerRanks struct {
	names []string
	of    map[*Peer]uint32
	byID  [][]uint32 // identity index -> ranks of a.byID's peers, in order
	// flat holds byID's ranks one after another, identity i's from
	// start[i] to start[i+1]: the pair path reads these, which a large
	// cluster keeps in cache better than a slice per identity.
	flat   []uint32
	start  []int32
	pseudo uint32
}

// ofID is identity i's peers' ranks.
func (r *peerRanks) ofID(i int) []uint32 { return r.flat[r.start[i]:r.start[i+1]] }

func (a *Analysis) peerRanks() *peerRanks {
	r := &peerRanks{names: make([]string, 2*len(a.peers)+1), of: make(map[*Peer]uint32, len(a.peers)), byID: make([][]uint32, len(a.g.identities))}
	for i, p := range a.peers {
		r.names[2*i+1] = p.ID
		r.of[p] = uint32(2*i + 1)
	}
	at := sort.Search(len(a.peers), func(i int) bool { return a.peers[i].ID >= UnknownAddressPods })
	r.pseudo = uint32(2 * at)
	r.names[r.pseudo] = UnknownAddressPods
	for idx, ps := range a.byID {
		rs := make([]uint32, len(ps))
		for i, p := range ps {
			rs[i] = r.of[p]
		}
		r.byID[idx] = rs
	}
	r.start = make([]int32, len(r.byID)+1)
	for idx, rs := range r.byID {
		r.start[idx] = int32(len(r.flat))
		r.flat = append(r.flat, rs...)
	}
	r.start[len(r.byID)] = int32(len(r.flat))
	return r
}

func rankKey(src, dst uint32) uint64 { return uint64(src)<<32 | uint64(dst) }

// sortPairs is the entries of every worker in one list, sorted by key.
// The entries are first placed by source rank (a counting sort: one pass to
// count, one to place), and then each source's few hundred at most sorted by
// destination, often already in order: twelve million connections sort in
// a fraction of what comparing them all takes.
func sortPairs(names []string, lists [][]pairEntry) *pairList {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	// A core sorts 65,536 entries in about a millisecond: fewer are not
	// worth a goroutine.
	return sortPairsOn(names, lists, min(runtime.GOMAXPROCS(0), 1+n/(1<<16)))
}

// sortPairsOn is sortPairs with the sources' sorts shared out among
// workers goroutines.
func sortPairsOn(names []string, lists [][]pairEntry, workers int) *pairList {
	start := make([]int, len(names)+1) // source rank -> its first entry
	for _, l := range lists {
		for _, e := range l {
			start[e.key>>32+1]++
		}
	}
	for r := 1; r < len(start); r++ {
		start[r] += start[r-1]
	}
	out := make([]pairEntry, start[len(names)])
	at := slices.Clone(start[:len(names)])
	for _, l := range lists {
		for _, e := range l {
			src := e.key >> 32
			out[at[src]] = e
			at[src]++
		}
	}
	// Each source's entries sorted by destination, sources shared out
	// among the cores by their entries' count.
	byKey := func(x, y pairEntry) int { return cmp.Compare(x.key, y.key) }
	sortRanks := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			if one := out[start[r]:start[r+1]]; !slices.IsSortedFunc(one, byKey) {
				slices.SortFunc(one, byKey)
			}
		}
	}
	var wg sync.WaitGroup
	lo := 0
	for w := 1; w <= workers; w++ {
		hi := len(names)
		if w < workers {
			// The first rank whose entries start past w shares of them.
			hi, _ = slices.BinarySearch(start[:len(names)], w*len(out)/workers)
			hi = max(hi, lo)
		}
		from := lo
		wg.Go(func() { sortRanks(from, hi) })
		lo = hi
	}
	wg.Wait()
	return &pairList{names: names, entries: out}
}

// at is connection i: its source and destination IDs and its template.
func (l *pairList) at(i int) (src, dst string, t *Connection) {
	e := l.entries[i]
	return l.names[e.key>>32], l.names[uint32(e.key)], e.t
}

// connections is the list as connections; never nil.
func (l *pairList) connections() []Connection {
	out := make([]Connection, len(l.entries))
	for i := range l.entries {
		src, dst, t := l.at(i)
		out[i] = *t
		out[i].Src, out[i].Dst = src, dst
	}
	return out
}

// ConnectionCount is the number of connections, held as Connections or,
// from ReachCompact, compactly.
func (r *Result) ConnectionCount() int {
	if r.pairs != nil {
		return len(r.pairs.entries)
	}
	return len(r.Connections)
}

// ConnectionAt returns connection i: its source, destination and a
// connection whose other fields are its own, shared by every connection
// with the same verdict in a compact result (see Compact), so not to be
// modified.
func (r *Result) ConnectionAt(i int) (src, dst string, shared *Connection) {
	if r.pairs != nil {
		return r.pairs.at(i)
	}
	c := &r.Connections[i]
	return c.Src, c.Dst, c
}

// Compact reports whether the result holds its connections compactly
// (ReachCompact): Connections is nil, ConnectionCount and ConnectionAt
// read them, and connections with the same verdict share what
// ConnectionAt returns.
func (r *Result) Compact() bool { return r.pairs != nil }
