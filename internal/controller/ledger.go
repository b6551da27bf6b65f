package controller

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

// Key names the ranges of one AWS service in one region, as the
// annotations write it: "S3@us-east-1".
type Key struct{ Service, Region string }

func (k Key) String() string { return k.Service + "@" + k.Region }

// ParseKey reads "SERVICE@region"; the service is upper-cased, as AWS
// publishes it, the region lower-cased.
func ParseKey(s string) (Key, error) {
	svc, region, ok := strings.Cut(strings.TrimSpace(s), "@")
	if !ok || svc == "" || region == "" || strings.ContainsAny(region, "@ ") || strings.ContainsAny(svc, " ") {
		return Key{}, fmt.Errorf("%q: want SERVICE@region, e.g. S3@us-east-1", s)
	}
	return Key{Service: strings.ToUpper(svc), Region: strings.ToLower(region)}, nil
}

// Entry is what the controller applies for one key, and why. It is the
// state that must survive restarts and leader changes: without it a
// restarted controller would drop at once a prefix whose grace period had
// started, so it lives in the cluster (see Ledger).
type Entry struct {
	// SyncToken is the publication that last changed the entry.
	SyncToken string `json:"syncToken"`
	// Published are the prefixes of the last publication accepted for the
	// key (plus, while a shrink is refused, the ones it would remove).
	Published []netip.Prefix `json:"published"`
	// Pending are prefixes no longer published, kept until the grace
	// period that started at the time given ends.
	Pending map[netip.Prefix]time.Time `json:"pending,omitempty"`
	// Refused describes a publication whose removals were refused because
	// they exceeded the shrink limit.
	Refused *Refusal `json:"refused,omitempty"`
	// Held describes additions held back by the growth guard until a
	// later publication confirms them or an operator approves them.
	Held *Growth `json:"held,omitempty"`

	// evaluated is the publication the entry was last compared with; it is
	// not kept, so a publication that changes nothing writes nothing.
	evaluated string
}

// Refusal is a shrink the controller refused to apply.
type Refusal struct {
	SyncToken string         `json:"syncToken"`
	Removed   []netip.Prefix `json:"removed"`
	Share     float64        `json:"share"`
}

// Growth is an addition the growth guard holds back: the prefixes a
// publication adds to a key that would grow its address count by more
// than the limit. They apply once a later publication still lists them,
// or once an operator approves the publication (ApproveGrowthAnnotation).
type Growth struct {
	SyncToken string         `json:"syncToken"`
	Added     []netip.Prefix `json:"added"`
	// Share is the growth of the key's address count (1 is doubling).
	Share float64 `json:"share"`
	// Approved is set when an operator approved the publication; the next
	// evaluation applies the additions.
	Approved bool `json:"approved,omitempty"`
}

// Rules are the safety rules of the ledger.
type Rules struct {
	// Grace is how long a prefix stays after AWS stops publishing it.
	Grace time.Duration
	// MaxShrink is the largest share of a key's published prefixes one
	// publication may remove; a larger removal is refused.
	MaxShrink float64
	// MaxGrowth is the largest growth of a key's address count one
	// publication may bring unconfirmed (1 is doubling); zero means
	// DefaultMaxGrowth.
	MaxGrowth float64
}

func (r Rules) maxGrowth() float64 {
	if r.MaxGrowth <= 0 {
		return DefaultMaxGrowth
	}
	return r.MaxGrowth
}

// Effective returns the addresses to allow: the published prefixes and the
// pending ones, aggregated.
func (e *Entry) Effective() []netip.Prefix {
	var b netipx.IPSetBuilder
	for _, p := range e.Published {
		b.AddPrefix(p)
	}
	for p := range e.Pending {
		b.AddPrefix(p)
	}
	s, _ := b.IPSet()
	return s.Prefixes()
}

// held returns the prefixes the entry holds, published and pending, as
// they are listed (not aggregated, so that a check can name them).
func (e *Entry) held() []netip.Prefix {
	out := append([]netip.Prefix(nil), e.Published...)
	for p := range e.Pending {
		out = append(out, p)
	}
	return dedupe(out)
}

// NextExpiry returns when the first pending prefix's grace period ends,
// or the zero time when nothing is pending.
func (e *Entry) NextExpiry(grace time.Duration) time.Time {
	var next time.Time
	for _, since := range e.Pending {
		if t := since.Add(grace); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// tokenNewer reports whether syncToken a is later than b; both are
// decimal seconds (compared as numbers, never as strings).
func tokenNewer(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	return errA == nil && errB == nil && x > y
}

// selectKey returns the key's published prefixes in doc, sorted.
func selectKey(doc *ranges.Document, k Key) []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for _, p := range doc.Select(ranges.Filter{Services: []string{k.Service}, Regions: []string{k.Region}}) {
		if !seen[p.Prefix] {
			seen[p.Prefix] = true
			out = append(out, p.Prefix)
		}
	}
	sortPrefixes(out)
	return out
}

func sortPrefixes(ps []netip.Prefix) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Addr() != ps[j].Addr() {
			return ps[i].Addr().Less(ps[j].Addr())
		}
		return ps[i].Bits() < ps[j].Bits()
	})
}

func setOf(ps []netip.Prefix) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range ps {
		b.AddPrefix(p)
	}
	s, _ := b.IPSet()
	return s
}

// newEntry starts an entry from a publication. A publication listing
// nothing for the key, or the whole address space, is an error: the
// controller never writes an empty rule or 0.0.0.0/0.
func newEntry(doc *ranges.Document, k Key) (*Entry, error) {
	pub := selectKey(doc, k)
	if err := sane(doc, k, pub); err != nil {
		return nil, err
	}
	return &Entry{SyncToken: doc.SyncToken, Published: pub, evaluated: doc.SyncToken}, nil
}

func sane(doc *ranges.Document, k Key, pub []netip.Prefix) error {
	if len(pub) == 0 {
		return fmt.Errorf("AWS ip-ranges syncToken %s publishes no prefixes for %s", doc.SyncToken, k)
	}
	return notTooWide(doc, k, pub)
}

// notTooWide checks a key's prefixes as a set (CheckPublication refuses
// such a publication as a whole before; this keeps the ledger safe on its
// own).
func notTooWide(doc *ranges.Document, k Key, pub []netip.Prefix) error {
	if w := tooWide(setOf(pub), MaxShare); w != "" {
		return fmt.Errorf("AWS ip-ranges syncToken %s lists %s for %s, which covers %s: refusing to allow it", doc.SyncToken, shortList(pub), k, w)
	}
	return nil
}

// growth is how much adding fresh grows the address count of old, per
// family, the larger of the two (a family old lacks grows infinitely).
func growth(old *netipx.IPSet, fresh []netip.Prefix) float64 {
	if len(fresh) == 0 {
		return 0
	}
	o4, o6 := coverage(old)
	a4, a6 := coverage(netset.Difference(setOf(fresh), old))
	g := 0.0
	for _, f := range [][2]float64{{o4, a4}, {o6, a6}} {
		switch {
		case f[1] == 0:
		case f[0] == 0:
			return math.Inf(1)
		default:
			g = max(g, f[1]/f[0])
		}
	}
	return g
}

// Advance brings the entry to doc at time now: additions at once, removals
// after the grace period, a shrink beyond the limit refused (its additions
// still apply). It reports whether the entry changed; an error means the
// publication is unusable for the key and the entry stays as it was.
func (e *Entry) Advance(doc *ranges.Document, k Key, now time.Time, rules Rules) (bool, error) {
	changed := e.expire(now, rules.Grace)
	if doc == nil || doc.SyncToken == e.evaluated || !tokenNewer(doc.SyncToken, e.SyncToken) && doc.SyncToken != e.SyncToken {
		// Nothing new, or older than what the entry already holds (a
		// restarted controller reading a stale mirror).
		return changed, nil
	}
	pub := selectKey(doc, k)
	if err := notTooWide(doc, k, pub); err != nil {
		return changed, err
	}
	e.evaluated = doc.SyncToken
	now = now.UTC()
	// The growth guard: additions confirmed by this later publication (or
	// approved) apply; fresh ones that grow the key too much are held.
	oldSet := setOf(e.Published)
	confirmed := func(netip.Prefix) bool { return false }
	if e.Held != nil && (e.Held.Approved || e.Held.SyncToken != doc.SyncToken) {
		confirmed = setOf(e.Held.Added).ContainsPrefix
	}
	var fresh []netip.Prefix
	for _, p := range pub {
		if !oldSet.ContainsPrefix(p) && !confirmed(p) {
			fresh = append(fresh, p)
		}
	}
	var held *Growth
	if g := growth(oldSet, fresh); g > rules.maxGrowth() {
		held = &Growth{SyncToken: doc.SyncToken, Added: fresh, Share: g}
	}
	if held != nil {
		heldSet := setOf(held.Added)
		var rest []netip.Prefix
		for _, p := range pub {
			if !heldSet.ContainsPrefix(p) {
				rest = append(rest, p)
			}
		}
		pub = rest
	}
	if !equalGrowth(e.Held, held) {
		changed = true
	}
	e.Held = held
	newSet := setOf(pub)
	var removed []netip.Prefix
	for _, p := range e.Published {
		if !newSet.ContainsPrefix(p) {
			removed = append(removed, p)
		}
	}
	// A prefix back before its grace period ended was never removed.
	for p := range e.Pending {
		if newSet.ContainsPrefix(p) {
			delete(e.Pending, p)
			changed = true
		}
	}
	share := 0.0
	if len(e.Published) > 0 {
		share = float64(len(removed)) / float64(len(e.Published))
	}
	if share > rules.MaxShrink {
		r := &Refusal{SyncToken: doc.SyncToken, Removed: removed, Share: share}
		kept := append(append([]netip.Prefix{}, e.Published...), pub...)
		kept = dedupe(kept)
		if !equalPrefixes(kept, e.Published) || e.Refused == nil || e.Refused.SyncToken != r.SyncToken {
			changed = true
		}
		e.Published, e.Refused = kept, r
	} else {
		for _, p := range removed {
			if e.Pending == nil {
				e.Pending = map[netip.Prefix]time.Time{}
			}
			if _, ok := e.Pending[p]; !ok {
				e.Pending[p] = now
			}
		}
		if len(removed) > 0 || e.Refused != nil || !equalPrefixes(pub, e.Published) {
			changed = true
		}
		e.Published, e.Refused = pub, nil
	}
	if changed {
		e.SyncToken = doc.SyncToken
	}
	return changed, nil
}

// expire drops pending prefixes whose grace period has ended.
func (e *Entry) expire(now time.Time, grace time.Duration) bool {
	changed := false
	for p, since := range e.Pending {
		if !now.Before(since.Add(grace)) {
			delete(e.Pending, p)
			changed = true
		}
	}
	if len(e.Pending) == 0 {
		e.Pending = nil
	}
	return changed
}

func equalGrowth(a, b *Growth) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.SyncToken == b.SyncToken && a.Approved == b.Approved && equalPrefixes(a.Added, b.Added)
}

func dedupe(ps []netip.Prefix) []netip.Prefix {
	sortPrefixes(ps)
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

func equalPrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Diff returns the addresses added and removed between two aggregated
// prefix lists.
func Diff(old, new []netip.Prefix) (added, removed []netip.Prefix) {
	o, n := setOf(old), setOf(new)
	return netset.Difference(n, o).Prefixes(), netset.Difference(o, n).Prefixes()
}
