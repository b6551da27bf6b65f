package controller

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

// MaxShare is the largest share of an address family (IPv4 or IPv6) that
// one service in one region may cover, in a publication and in what the
// controller applies. AWS's largest, AMAZON in us-east-1, covers 0.53% of
// IPv4 (2026 publications); 1/64 (1.56%, the size of one /6) leaves three
// times that and refuses anything like 0.0.0.0/1. It is fixed, not a flag:
// a publication that needs more is not one AWS has ever made.
const MaxShare = 1.0 / 64

// coverage returns the shares of the IPv4 and of the IPv6 space a set
// covers. The set is aggregated first, so overlapping or split prefixes
// count once: 0.0.0.0/1 plus 128.0.0.0/1 is all of IPv4.
func coverage(s *netipx.IPSet) (v4, v6 float64) {
	for _, p := range s.Prefixes() {
		if p.Addr().Is4() {
			v4 += math.Ldexp(1, -p.Bits())
		} else {
			v6 += math.Ldexp(1, -p.Bits())
		}
	}
	return v4, v6
}

// tooWide describes how much of a family s covers when that is more than
// limit, or returns "".
func tooWide(s *netipx.IPSet, limit float64) string {
	v4, v6 := coverage(s)
	switch {
	case v4 > limit:
		return fmt.Sprintf("%s of the IPv4 space", percent(v4))
	case v6 > limit:
		return fmt.Sprintf("%s of the IPv6 space", percent(v6))
	}
	return ""
}

func percent(f float64) string {
	if f >= 0.01 {
		return fmt.Sprintf("%.0f%%", 100*f)
	}
	return fmt.Sprintf("%.2g%%", 100*f)
}

// wholeSpace returns the family whose entire space s covers, set-based:
// the check every rendered policy passes before it is written.
func wholeSpace(s *netipx.IPSet) (netip.Prefix, bool) {
	for _, all := range []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} {
		if s.ContainsPrefix(all) {
			return all, true
		}
	}
	return netip.Prefix{}, false
}

// RefusedPublication is a publication refused as a whole: nothing of it
// enters the ledger.
type RefusedPublication struct {
	SyncToken string
	// Reason is the metric label: outside-amazon or too-wide (the first
	// problem's kind).
	Reason   string
	Problems []string
}

func (e *RefusedPublication) Error() string {
	return fmt.Sprintf("publication %s refused as implausible: %s", e.SyncToken, shortStrings(e.Problems, 3))
}

// CheckPublication validates a verified publication as a whole, before
// anything of it reaches the ledger: every range of a service must lie
// within the same publication's AMAZON ranges (AWS publishes every service
// range under AMAZON too), and no service in a region, AMAZON included,
// may cover more than MaxShare of an address family.
func CheckPublication(doc *ranges.Document) error {
	byKey := map[Key][]netip.Prefix{}
	for _, p := range doc.Prefixes {
		k := Key{Service: p.Service, Region: p.Region}
		byKey[k] = append(byKey[k], p.Prefix)
	}
	keys := make([]Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	amazon := sortedRanges(setOf(awsSpace(doc)).Ranges())
	refused := &RefusedPublication{SyncToken: doc.SyncToken}
	add := func(reason, problem string) {
		if refused.Reason == "" {
			refused.Reason = reason
		}
		refused.Problems = append(refused.Problems, problem)
	}
	if len(amazon) == 0 {
		add("outside-amazon", "it lists no AMAZON ranges, which hold every range AWS publishes")
	}
	for _, k := range keys {
		ps := byKey[k]
		if w := tooWide(setOf(ps), MaxShare); w != "" {
			add("too-wide", fmt.Sprintf("%s covers %s (at most 1/64 is plausible)", k, w))
		}
		if k.Service == "AMAZON" {
			continue
		}
		var outside []netip.Prefix
		for _, p := range ps {
			if !amazon.contains(p) {
				outside = append(outside, p)
			}
		}
		if len(outside) > 0 {
			sortPrefixes(outside)
			add("outside-amazon", fmt.Sprintf("%s lists %s outside the publication's AMAZON ranges", k, shortList(dedupe(outside))))
		}
	}
	if len(refused.Problems) > 0 {
		return refused
	}
	return nil
}

// sortedRanges are an IPSet's ranges (sorted, disjoint), searched in
// log time: IPSet.ContainsPrefix scans every range, and a publication
// checks ten thousand prefixes against three thousand AMAZON ranges.
type sortedRanges []netipx.IPRange

func (rs sortedRanges) contains(p netip.Prefix) bool {
	r := netipx.RangeOfPrefix(p)
	// The last range that starts at or before p.
	i := sort.Search(len(rs), func(i int) bool { return r.From().Less(rs[i].From()) }) - 1
	return i >= 0 && !rs[i].To().Less(r.To())
}

// fit returns the largest part of ps that covers at most MaxShare of each
// family, dropping the widest prefixes first, and what it dropped. The
// ledger only ever holds plausible publications, so this drops something
// only from a ledger an older version wrote, or edited by hand.
func fit(ps []netip.Prefix) (kept, dropped []netip.Prefix) {
	if tooWide(setOf(ps), MaxShare) == "" {
		return setOf(ps).Prefixes(), nil
	}
	byWidth := append([]netip.Prefix(nil), ps...)
	sort.SliceStable(byWidth, func(i, j int) bool { return byWidth[i].Bits() < byWidth[j].Bits() })
	i := 0
	for i < len(byWidth) && tooWide(setOf(byWidth[i:]), MaxShare) != "" {
		i++
	}
	dropped = byWidth[:i]
	kept = setOf(byWidth[i:]).Prefixes()
	sortPrefixes(dropped)
	return kept, dropped
}

// listShown is how many prefixes a message names before "… and N more":
// an Event's note is at most 1,024 bytes.
const listShown = 8

// shortList names at most listShown prefixes.
func shortList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return shortStrings(s, listShown)
}

// shortStrings joins at most n of s, then says how many more there are.
func shortStrings(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(s[:n], ", "), len(s)-n)
}
