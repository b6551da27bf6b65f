package engine

import (
	"math/bits"
	"slices"
)

// idset is an immutable set of identity indexes kept by a policy or a rule
// (what it selects, what its peers match): the words of a dense bitset from
// its first non-zero word to its last, from word off on. Identities are
// numbered namespace by namespace (workloads come sorted by namespace), and
// most selectors pick a few identities of one namespace, so most sets are a
// word or two where a dense bitset takes one bit per identity: at 10,000
// namespaces (80,000 identities, 50,000 policies, 40,000 rules) dense sets
// held 1.2 GiB, faulted in page by page. Identical sets (rules with the same
// peers, the pods of unknown address) are kept once (setPool.freeze).
//
// nil is the empty set; every method accepts it. Sets are built on a
// setBuilder and never change once frozen: they are shared.
type idset struct {
	off   int
	words []uint64
}

// has reports whether i is in the set.
func (s *idset) has(i int) bool {
	if s == nil {
		return false
	}
	w := i/64 - s.off
	return uint(w) < uint(len(s.words)) && s.words[w]&(1<<(i%64)) != 0
}

// isEmpty reports whether the set has no member (frozen sets hold no zero
// word at either end, so no words means empty).
func (s *idset) isEmpty() bool { return s == nil || len(s.words) == 0 }

// each calls f for every member in ascending order.
func (s *idset) each(f func(int)) {
	if s == nil {
		return
	}
	for w, word := range s.words {
		for word != 0 {
			t := word & -word
			f((s.off+w)*64 + bits.TrailingZeros64(t))
			word ^= t
		}
	}
}

// orInto adds the set to a dense bitset, grown when it is too short for
// the set's last member, and returns it.
func (s *idset) orInto(b bitset) bitset {
	if s.isEmpty() {
		return b
	}
	if end := s.off + len(s.words); len(b) < end {
		b = append(b, make(bitset, end-len(b))...)
	}
	dst := b[s.off : s.off+len(s.words)]
	for i, w := range s.words {
		dst[i] |= w
	}
	return b
}

// word is the set's word k (identities 64k to 64k+63).
func (s *idset) word(k int) uint64 {
	if s == nil {
		return 0
	}
	if w := k - s.off; uint(w) < uint(len(s.words)) {
		return s.words[w]
	}
	return 0
}

// bitsAt is n (at most 64) bits of the set from identity lo on, lowest
// first.
func (s *idset) bitsAt(lo, n int) uint64 {
	k, sh := lo/64, uint(lo%64)
	w := s.word(k) >> sh
	if sh != 0 {
		w |= s.word(k+1) << (64 - sh)
	}
	return w & (^uint64(0) >> (64 - n))
}

// subsetOf reports whether every member of s is in o.
func (s *idset) subsetOf(o *idset) bool {
	if s == nil {
		return true
	}
	for k, w := range s.words {
		if w&^o.word(s.off+k) != 0 {
			return false
		}
	}
	return true
}

// intersects reports whether s and o share a member.
func (s *idset) intersects(o *idset) bool {
	if s == nil || o == nil {
		return false
	}
	lo, hi := max(s.off, o.off), min(s.off+len(s.words), o.off+len(o.words))
	for k := lo; k < hi; k++ {
		if s.words[k-s.off]&o.words[k-o.off] != 0 {
			return true
		}
	}
	return false
}

// setBuilder builds an idset on a dense scratch bitset that is reused from
// set to set, so compiling allocates only what the frozen sets keep.
// Words outside [lo, hi) are zero.
type setBuilder struct {
	words  bitset
	lo, hi int
}

func (b *setBuilder) touch(lo, hi int) {
	if b.lo >= b.hi {
		b.lo, b.hi = lo, hi
		return
	}
	b.lo, b.hi = min(b.lo, lo), max(b.hi, hi)
}

func (b *setBuilder) set(i int) {
	b.touch(i/64, i/64+1)
	b.words.set(i)
}

// setRange adds the identities lo to hi-1.
func (b *setBuilder) setRange(lo, hi int) {
	if lo >= hi {
		return
	}
	b.touch(lo/64, (hi+63)/64)
	for lo < hi {
		end := min(hi, (lo/64+1)*64)
		b.words[lo/64] |= (^uint64(0) >> (64 - (end - lo))) << (lo % 64)
		lo = end
	}
}

// orWord adds the members of w to word k.
func (b *setBuilder) orWord(k int, w uint64) {
	if w != 0 {
		b.touch(k, k+1)
		b.words[k] |= w
	}
}

func (b *setBuilder) has(i int) bool { return b.words.has(i) }

// add adds the members of s.
func (b *setBuilder) add(s *idset) {
	if s.isEmpty() {
		return
	}
	b.touch(s.off, s.off+len(s.words))
	s.orInto(b.words)
}

// addDense adds the members of a dense bitset as long as the builder's.
func (b *setBuilder) addDense(d bitset) {
	for k, w := range d {
		if w != 0 {
			b.touch(k, k+1)
			b.words[k] |= w
		}
	}
}

// remove removes the members of o (a builder of the same length).
func (b *setBuilder) remove(o *setBuilder) {
	for k := b.lo; k < b.hi; k++ {
		b.words[k] &^= o.words[k]
	}
}

// removeDense removes the members of a dense bitset.
func (b *setBuilder) removeDense(d bitset) {
	for k := b.lo; k < b.hi; k++ {
		b.words[k] &^= d[k]
	}
}

// setPool hands out builders and freezes what they built, keeping one copy
// of each distinct set. A graph compiles on one goroutine; so does the
// pool.
type setPool struct {
	n    int // identities
	free []*setBuilder
	sets map[uint64][]*idset
	// dense keeps every set whole and apart, as before sets were trimmed
	// and shared (and peerIdentities walks identities one by one): the
	// reference TestIdsetsMatchDense compares against.
	dense bool
}

func newSetPool(n int) *setPool {
	return &setPool{n: n, sets: map[uint64][]*idset{}}
}

// builder returns an empty builder.
func (p *setPool) builder() *setBuilder {
	if p.dense || len(p.free) == 0 {
		return &setBuilder{words: newBitset(p.n)}
	}
	b := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return b
}

// freeze returns the set b built, shared with any equal set frozen before,
// and takes b back (b must not be used again). A nil builder freezes to nil.
func (p *setPool) freeze(b *setBuilder) *idset {
	if b == nil {
		return nil
	}
	if p.dense {
		return &idset{words: b.words}
	}
	lo, hi := b.lo, b.hi
	for lo < hi && b.words[lo] == 0 {
		lo++
	}
	for hi > lo && b.words[hi-1] == 0 {
		hi--
	}
	words := b.words[lo:hi]
	// An FNV-style mix of the words: a collision costs a comparison.
	key := uint64(lo) ^ 0xcbf29ce484222325
	for _, w := range words {
		key = (key ^ w) * 0x100000001b3
		key ^= key >> 29
	}
	var out *idset
	for _, s := range p.sets[key] {
		if s.off == lo && slices.Equal(s.words, words) {
			out = s
			break
		}
	}
	if out == nil {
		out = &idset{off: lo, words: slices.Clone(words)}
		if len(words) == 0 {
			out.off = 0
		}
		p.sets[key] = append(p.sets[key], out)
	}
	p.release(b)
	return out
}

// release takes back a builder whose set is not wanted.
func (p *setPool) release(b *setBuilder) {
	if p.dense {
		return
	}
	b.reset()
	p.free = append(p.free, b)
}

// reset empties the builder.
func (b *setBuilder) reset() {
	clear(b.words[b.lo:b.hi])
	b.lo, b.hi = 0, 0
}

// each calls f for every member in ascending order.
func (b *setBuilder) each(f func(int)) {
	for k := b.lo; k < b.hi; k++ {
		for w := b.words[k]; w != 0; w &= w - 1 {
			f(k*64 + bits.TrailingZeros64(w))
		}
	}
}
