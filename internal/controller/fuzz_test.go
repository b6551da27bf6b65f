package controller

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseIntent: any annotation values give an intent or an error, never
// a panic, and an accepted intent names keys and valid ports.
func FuzzParseIntent(f *testing.F) {
	for _, s := range [][2]string{{"S3@us-east-1", "TCP/443"}, {"s3@us-east-1,DYNAMODB@us-east-1", ""}, {"S3", "443"}, {"@", "/"}, {"S3@us-east-1", "UDP/53,TCP/8443"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ranges, ports string) {
		in, err := ParseIntent(map[string]string{RangesAnnotation: ranges, PortsAnnotation: ports})
		if err != nil {
			return
		}
		if len(in.Keys) == 0 || len(in.Ports) == 0 {
			t.Fatalf("%q %q: empty intent accepted", ranges, ports)
		}
		for _, k := range in.Keys {
			if k.Service == "" || k.Region == "" {
				t.Fatalf("%q: key %+v", ranges, k)
			}
			if back, err := ParseKey(k.String()); err != nil || back != k {
				t.Fatalf("%q: key %s does not round-trip", ranges, k)
			}
		}
		for _, p := range in.Ports {
			if n := p.Port.IntValue(); n < 1 || n > 65535 {
				t.Fatalf("%q: port %d", ports, n)
			}
		}
	})
}

// FuzzDecodeLedger: a damaged ledger ConfigMap is an error, never a panic.
func FuzzDecodeLedger(f *testing.F) {
	f.Add(`{"S3@us-east-1":{"syncToken":"1","published":["52.216.0.0/15"],"pending":{"54.231.0.0/16":"2026-04-13T20:07:05Z"}}}`)
	f.Add(`{}`)
	f.Add(`{"S3@us-east-1":null}`)
	f.Fuzz(func(t *testing.T, data string) {
		entries, err := decodeLedger(data)
		if err != nil {
			return
		}
		for k, e := range entries {
			if e == nil {
				continue
			}
			_ = e.Effective()
			_ = e.NextExpiry(DefaultGrace)
			_ = k.String()
		}
	})
}

// FuzzFit: whatever a ledger holds (prefixes as text, comma separated),
// what is applied never covers more than MaxShare of a family, and what
// is dropped plus what is kept is what was held.
func FuzzFit(f *testing.F) {
	for _, s := range []string{"0.0.0.0/1,128.0.0.0/1,52.216.0.0/15", "::/1,8000::/1,2600:1f00::/24", "3.5.0.0/19", "0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		var ps []netip.Prefix
		for _, s := range strings.Split(list, ",") {
			if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
				ps = append(ps, p.Masked())
			}
		}
		kept, dropped := fit(ps)
		if w := tooWide(setOf(kept), MaxShare); w != "" {
			t.Fatalf("%q: kept %v covers %s", list, kept, w)
		}
		if _, all := wholeSpace(setOf(kept)); all {
			t.Fatalf("%q: kept the whole space", list)
		}
		// The log-time search CheckPublication uses agrees with IPSet.
		set := setOf(kept)
		for _, p := range append(ps, dropped...) {
			if sortedRanges(set.Ranges()).contains(p) != set.ContainsPrefix(p) {
				t.Fatalf("%q: contains(%s) disagrees with IPSet", list, p)
			}
		}
		if !setOf(append(append([]netip.Prefix{}, kept...), dropped...)).Equal(setOf(ps)) {
			t.Fatalf("%q: kept %v and dropped %v are not what was held", list, kept, dropped)
		}
	})
}
