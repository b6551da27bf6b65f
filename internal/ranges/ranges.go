// Package ranges reads AWS's published IP ranges (ip-ranges.json), selects
// them by service, region and border group, and aggregates them into the
// smallest set of CIDRs covering exactly the selected addresses. Ranges are
// compared as address sets, never as strings: AWS may publish one block as
// smaller pieces, and a prefix may be listed under several services.
package ranges

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// snapshot is the newest publication known when this version was built,
// so ringfence works offline.
//
//go:embed snapshot/ip-ranges-2026-08-22-15-17-05.json
var snapshot []byte

// SnapshotName names the embedded publication in messages.
const SnapshotName = "embedded snapshot ip-ranges-2026-08-22-15-17-05.json"

// Snapshot returns the embedded publication.
func Snapshot() (*Document, error) { return parse(snapshot, SnapshotName) }

// Prefix is one published prefix.
type Prefix struct {
	Prefix      netip.Prefix `json:"prefix"`
	Service     string       `json:"service"`
	Region      string       `json:"region"`
	BorderGroup string       `json:"networkBorderGroup"`
}

// Document is one publication of ip-ranges.json.
type Document struct {
	// SyncToken is the publication's version: seconds since the epoch as
	// a decimal string. Compare with Newer, not as strings.
	SyncToken  string    `json:"syncToken"`
	CreateDate string    `json:"createDate"`
	Prefixes   []Prefix  `json:"-"`
	Source     string    `json:"source"`
	Created    time.Time `json:"-"`
	token      int64
}

// createDateLayout is AWS's format for createDate.
const createDateLayout = "2006-01-02-15-04-05"

type wireDocument struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix    string `json:"ip_prefix"`
		Region      string `json:"region"`
		Service     string `json:"service"`
		BorderGroup string `json:"network_border_group"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix  string `json:"ipv6_prefix"`
		Region      string `json:"region"`
		Service     string `json:"service"`
		BorderGroup string `json:"network_border_group"`
	} `json:"ipv6_prefixes"`
}

// Parse reads and verifies a publication: valid JSON, a numeric syncToken,
// a createDate in AWS's format, and valid prefixes of the right family.
// name is used in errors.
func Parse(r io.Reader, name string) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return parse(data, name)
}

func parse(data []byte, name string) (*Document, error) {
	var w wireDocument
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%s: not an ip-ranges.json document: %v", name, err)
	}
	token, err := strconv.ParseInt(w.SyncToken, 10, 64)
	if err != nil || token <= 0 {
		return nil, fmt.Errorf("%s: syncToken %q is not a positive number", name, w.SyncToken)
	}
	created, err := time.Parse(createDateLayout, w.CreateDate)
	if err != nil {
		return nil, fmt.Errorf("%s: createDate %q is not in AWS's format YYYY-MM-DD-hh-mm-ss", name, w.CreateDate)
	}
	if len(w.Prefixes)+len(w.IPv6Prefixes) == 0 {
		return nil, fmt.Errorf("%s: publication %s lists no prefixes", name, w.SyncToken)
	}
	d := &Document{SyncToken: w.SyncToken, CreateDate: w.CreateDate, Source: name, Created: created, token: token}
	d.Prefixes = make([]Prefix, 0, len(w.Prefixes)+len(w.IPv6Prefixes))
	for i, p := range w.Prefixes {
		pp, err := netip.ParsePrefix(p.IPPrefix)
		if err != nil || !pp.Addr().Is4() {
			return nil, fmt.Errorf("%s: prefixes[%d]: %q is not an IPv4 prefix", name, i, p.IPPrefix)
		}
		d.Prefixes = append(d.Prefixes, Prefix{Prefix: pp.Masked(), Service: p.Service, Region: p.Region, BorderGroup: p.BorderGroup})
	}
	for i, p := range w.IPv6Prefixes {
		pp, err := netip.ParsePrefix(p.IPv6Prefix)
		if err != nil || !pp.Addr().Is6() {
			return nil, fmt.Errorf("%s: ipv6_prefixes[%d]: %q is not an IPv6 prefix", name, i, p.IPv6Prefix)
		}
		d.Prefixes = append(d.Prefixes, Prefix{Prefix: pp.Masked(), Service: p.Service, Region: p.Region, BorderGroup: p.BorderGroup})
	}
	return d, nil
}

// Token returns the syncToken as a number.
func (d *Document) Token() int64 { return d.token }

// Newer reports whether d is a later publication than o. SyncTokens are
// compared as numbers: notifications can arrive out of order.
func (d *Document) Newer(o *Document) bool { return d.token > o.token }

// Filter selects prefixes. Empty lists select everything; matching is
// case-insensitive ("s3" is S3).
type Filter struct {
	Services     []string `json:"services,omitempty"`
	Regions      []string `json:"regions,omitempty"`
	BorderGroups []string `json:"borderGroups,omitempty"`
	// IPv4 and IPv6 select the families; both false means both.
	IPv4 bool `json:"ipv4,omitempty"`
	IPv6 bool `json:"ipv6,omitempty"`
}

func anyFold(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// Matches reports whether a prefix passes the filter.
func (f Filter) Matches(p Prefix) bool {
	if f.IPv4 != f.IPv6 && p.Prefix.Addr().Is4() != f.IPv4 {
		return false
	}
	return anyFold(f.Services, p.Service) && anyFold(f.Regions, p.Region) && anyFold(f.BorderGroups, p.BorderGroup)
}

// Select returns the published prefixes that pass the filter, in
// publication order.
func (d *Document) Select(f Filter) []Prefix {
	var out []Prefix
	for _, p := range d.Prefixes {
		if f.Matches(p) {
			out = append(out, p)
		}
	}
	return out
}

// Set returns the addresses of prefixes.
func Set(ps []Prefix) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range ps {
		b.AddPrefix(p.Prefix)
	}
	s, _ := b.IPSet()
	return s
}

// Aggregate returns the fewest CIDRs that cover exactly the addresses of
// the prefixes, IPv4 first, ascending.
func Aggregate(ps []Prefix) []netip.Prefix { return Set(ps).Prefixes() }

// Services returns the distinct service names of a publication, sorted.
func (d *Document) Services() []string {
	seen := map[string]bool{}
	for _, p := range d.Prefixes {
		seen[p.Service] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Change is what one publication adds to or removes from another.
type Change struct {
	// Added lists published prefixes of the new document whose addresses
	// the old one did not hold (wholly or partly); Removed the converse.
	Added, Removed []Prefix
	// AddedSet and RemovedSet are the exact address differences,
	// aggregated.
	AddedSet, RemovedSet []netip.Prefix
}

// Diff compares the selected addresses of two publications as address sets.
func Diff(old, new *Document, f Filter) Change {
	oldSel, newSel := old.Select(f), new.Select(f)
	oldSet, newSet := Set(oldSel), Set(newSel)
	var c Change
	c.Added = notCovered(newSel, oldSet)
	c.Removed = notCovered(oldSel, newSet)
	c.AddedSet = netset.Difference(newSet, oldSet).Prefixes()
	c.RemovedSet = netset.Difference(oldSet, newSet).Prefixes()
	return c
}

func notCovered(ps []Prefix, set *netipx.IPSet) []Prefix {
	var out []Prefix
	seen := map[Prefix]bool{}
	for _, p := range ps {
		if !set.ContainsPrefix(p.Prefix) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Prefix.Addr() != out[j].Prefix.Addr() {
			return out[i].Prefix.Addr().Less(out[j].Prefix.Addr())
		}
		return out[i].Prefix.Bits() < out[j].Prefix.Bits()
	})
	return out
}

// ErrOlder is returned when a publication is older than the one in hand.
var ErrOlder = errors.New("publication is older than the cached one")
