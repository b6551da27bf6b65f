package ranges

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go4.org/netipx"
)

func load(t testing.TB, path string) *Document {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Parse(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	april20 = "testdata/ip-ranges-2026-04-13-20-07-05.json"
	april22 = "testdata/ip-ranges-2026-04-13-22-07-05.json"
)

var s3East = Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}, IPv4: true}

func TestSnapshot(t *testing.T) {
	d, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if d.SyncToken != "1787411825" || md5hex(snapshot) != "63431d35877fa5386ded1a7df9cfa971" {
		t.Errorf("snapshot %s md5 %s", d.SyncToken, md5hex(snapshot))
	}
	if n := len(d.Select(Filter{IPv4: true})); n != 10668 {
		t.Errorf("%d IPv4 prefixes, want 10668", n)
	}
	if n := len(d.Select(s3East)); n != 21 {
		t.Errorf("%d S3 us-east-1 IPv4 prefixes, want 21", n)
	}
}

func TestSelectFilters(t *testing.T) {
	d := load(t, april22)
	lower := d.Select(Filter{Services: []string{"s3"}, Regions: []string{"US-EAST-1"}, IPv4: true})
	if len(lower) != 21 {
		t.Errorf("case-insensitive filter: %d prefixes, want 21", len(lower))
	}
	for _, p := range d.Select(Filter{Services: []string{"S3"}, IPv6: true}) {
		if !p.Prefix.Addr().Is6() || p.Service != "S3" {
			t.Fatalf("--ipv6 --service S3 returned %+v", p)
		}
	}
	both := len(d.Select(Filter{Services: []string{"S3"}}))
	v4 := len(d.Select(Filter{Services: []string{"S3"}, IPv4: true}))
	v6 := len(d.Select(Filter{Services: []string{"S3"}, IPv6: true}))
	if both != v4+v6 || v6 == 0 {
		t.Errorf("families: both %d, v4 %d, v6 %d", both, v4, v6)
	}
	for _, p := range d.Select(Filter{BorderGroups: []string{"us-east-1-bos-1"}}) {
		if p.BorderGroup != "us-east-1-bos-1" || p.Region != "us-east-1" {
			t.Fatalf("border group filter returned %+v", p)
		}
	}
}

// Every range of a service is also listed under AMAZON: as address sets,
// S3's ranges lie inside AMAZON's, whatever their string forms.
func TestAddressSetSemantics(t *testing.T) {
	d := load(t, april22)
	amazon := Set(d.Select(Filter{Services: []string{"AMAZON"}}))
	for _, p := range d.Select(Filter{Services: []string{"S3"}}) {
		if !amazon.ContainsPrefix(p.Prefix) {
			t.Fatalf("%s (S3) is not inside AMAZON's address space", p.Prefix)
		}
	}
}

func TestDiffApril(t *testing.T) {
	c := Diff(load(t, april20), load(t, april22), s3East)
	var added []string
	for _, p := range c.Added {
		added = append(added, p.Prefix.String())
	}
	want := "16.15.156.0/22 16.15.160.0/22 16.15.164.0/22 16.15.168.0/22 16.15.172.0/22"
	if strings.Join(added, " ") != want || len(c.Removed) != 0 {
		t.Errorf("added %v removed %v, want the five /22s and nothing removed", added, c.Removed)
	}
	if got := prefixStrings(c.AddedSet); got != "16.15.156.0/22 16.15.160.0/20" || len(c.RemovedSet) != 0 {
		t.Errorf("address difference %s", got)
	}
	back := Diff(load(t, april22), load(t, april20), s3East)
	if len(back.Removed) != 5 || len(back.Added) != 0 {
		t.Errorf("reverse diff: added %d removed %d", len(back.Added), len(back.Removed))
	}
}

func prefixStrings(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

// Aggregation covers exactly the input's addresses with the fewest
// prefixes: disjoint, and no two of them merge into their parent.
func TestAggregateIsExactAndMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 300; i++ {
		var ps []Prefix
		for j := r.IntN(30); j >= 0; j-- {
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), 0})
			p, _ := a.Prefix(16 + r.IntN(9))
			ps = append(ps, Prefix{Prefix: p})
		}
		agg := Aggregate(ps)
		var in, out netipx.IPSetBuilder
		for _, p := range ps {
			in.AddPrefix(p.Prefix)
		}
		for k, p := range agg {
			out.AddPrefix(p)
			for _, q := range agg[k+1:] {
				if p.Overlaps(q) {
					t.Fatalf("%s and %s overlap", p, q)
				}
				if p.Bits() == q.Bits() && p.Bits() > 0 {
					parent, _ := p.Addr().Prefix(p.Bits() - 1)
					if parent.Contains(q.Addr()) {
						t.Fatalf("%s and %s should have been merged into %s", p, q, parent)
					}
				}
			}
		}
		a, _ := in.IPSet()
		b, _ := out.IPSet()
		if !a.Equal(b) {
			t.Fatalf("aggregate %v of %v changes the addresses", agg, ps)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"garbage":        "<html>503</html>",
		"truncated":      `{"syncToken": "1776110825", "createDate": "2026-04-13-20-07-05", "prefixes": [{"ip_prefix": "3.4.12.4/32"`,
		"no syncToken":   `{"createDate": "2026-04-13-20-07-05", "prefixes": [{"ip_prefix": "3.4.12.4/32"}]}`,
		"bad createDate": `{"syncToken": "1", "createDate": "yesterday", "prefixes": [{"ip_prefix": "3.4.12.4/32"}]}`,
		"no prefixes":    `{"syncToken": "1", "createDate": "2026-04-13-20-07-05", "prefixes": []}`,
		"bad prefix":     `{"syncToken": "1", "createDate": "2026-04-13-20-07-05", "prefixes": [{"ip_prefix": "3.4.12.4/33"}]}`,
		"v6 as v4":       `{"syncToken": "1", "createDate": "2026-04-13-20-07-05", "prefixes": [{"ip_prefix": "2600::/32"}]}`,
	}
	for name, in := range tests {
		if _, err := Parse(strings.NewReader(in), "x.json"); err == nil || !strings.HasPrefix(err.Error(), "x.json: ") {
			t.Errorf("%s: err = %v, want an error naming x.json", name, err)
		}
	}
}

// newer rewrites the snapshot as a later publication.
func newer(t *testing.T, token, date string) []byte {
	t.Helper()
	b := bytes.Replace(snapshot, []byte(`"syncToken": "1787411825"`), []byte(`"syncToken": "`+token+`"`), 1)
	b = bytes.Replace(b, []byte(`"createDate": "2026-08-22-15-17-05"`), []byte(`"createDate": "`+date+`"`), 1)
	if bytes.Equal(b, snapshot) {
		t.Fatal("snapshot header not found")
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// Refresh against a TLS server on 127.0.0.1, its certificate verified by
// the client: a good newer document replaces the cache; a garbage,
// truncated, older or mis-summed one never does.
func TestRefresh(t *testing.T) {
	var body []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	store := Store{Dir: t.TempDir()}
	ctx := context.Background()
	refresh := func(md5 string) (*Document, bool, error) {
		return store.Refresh(ctx, RefreshOptions{URL: srv.URL + "/ip-ranges.json", MD5: md5, Client: srv.Client()})
	}

	body = snapshot
	if _, changed, err := refresh(""); err != nil || changed {
		t.Fatalf("the snapshot itself: changed %v, err %v; want already current", changed, err)
	}
	good := newer(t, "1790000000", "2026-09-24-00-53-20")
	body = good
	doc, changed, err := refresh(md5hex(good))
	if err != nil || !changed || doc.SyncToken != "1790000000" {
		t.Fatalf("newer document: %v %v %v", doc, changed, err)
	}
	cur, err := store.Current()
	if err != nil || cur.SyncToken != "1790000000" || cur.Source != store.Path() {
		t.Fatalf("current after refresh: %+v %v", cur, err)
	}
	bad := map[string][]byte{
		"garbage":   []byte("<html>oops</html>"),
		"truncated": good[:len(good)/2],
		"older":     newer(t, "1789000000", "2026-09-12-10-40-00"),
	}
	for name, b := range bad {
		body = b
		if _, _, err := refresh(""); err == nil {
			t.Errorf("%s: refresh succeeded", name)
		}
		if name == "older" {
			if _, _, err := refresh(""); !errors.Is(err, ErrOlder) {
				t.Errorf("older: err = %v, want ErrOlder", err)
			}
		}
	}
	body = newer(t, "1791000000", "2026-10-07-00-00-00")
	if _, _, err := refresh("00000000000000000000000000000000"); err == nil || !strings.Contains(err.Error(), "md5") {
		t.Errorf("md5 mismatch: err = %v", err)
	}
	if cached, _ := os.ReadFile(store.Path()); !bytes.Equal(cached, good) {
		t.Error("a bad download replaced the good cache")
	}
	if _, _, err := store.Refresh(ctx, RefreshOptions{URL: "http://127.0.0.1:1/ip-ranges.json"}); err == nil || !strings.Contains(err.Error(), "HTTPS only") {
		t.Errorf("plain HTTP: err = %v", err)
	}
	// A server whose certificate the client does not trust is refused.
	if _, _, err := store.Refresh(ctx, RefreshOptions{URL: srv.URL, Client: &http.Client{}}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: err = %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(store.Dir, ".ip-ranges-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestBrokenCacheIsReported(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	if err := os.WriteFile(store.Path(), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Current(); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkLoadAndAggregate parses the whole embedded publication and
// aggregates every prefix (target: at most 50 ms).
func BenchmarkLoadAndAggregate(b *testing.B) {
	b.SetBytes(int64(len(snapshot)))
	for b.Loop() {
		d, err := Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if len(Aggregate(d.Prefixes)) == 0 {
			b.Fatal("nothing aggregated")
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(snapshot[:4096])
	f.Add([]byte(`{"syncToken": "1", "createDate": "2026-04-13-20-07-05", "prefixes": [{"ip_prefix": "3.4.12.4/32", "service": "S3"}], "ipv6_prefixes": [{"ipv6_prefix": "2600::/32"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		for _, p := range d.Prefixes {
			if !p.Prefix.IsValid() || p.Prefix != p.Prefix.Masked() {
				t.Fatalf("invalid or unmasked prefix %v", p.Prefix)
			}
		}
		Aggregate(d.Prefixes)
	})
}

func TestNamed(t *testing.T) {
	d, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	s3, desc, err := Named(d, "aws:S3:us-east-1")
	if err != nil || !strings.Contains(desc, "40 published prefixes of S3 in us-east-1") || !strings.Contains(desc, "1787411825") {
		t.Fatalf("aws:S3:us-east-1: %v %q", err, desc)
	}
	if !s3.Contains(netip.MustParseAddr("52.216.1.1")) || s3.Contains(netip.MustParseAddr("8.8.8.8")) {
		t.Error("aws:S3:us-east-1 has the wrong addresses")
	}
	internet, _, err := Named(d, "internet")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"8.8.8.8": true, "10.1.2.3": false, "169.254.169.254": false, "52.216.1.1": false, "192.168.1.1": false, "2001:4860::8888": true, "fd00:ec2::254": false} {
		if internet.Contains(netip.MustParseAddr(addr)) != want {
			t.Errorf("internet contains %s: %v, want %v", addr, !want, want)
		}
	}
	imds, _, _ := Named(d, "imds")
	if !imds.Contains(netip.MustParseAddr("169.254.169.254")) || !imds.Contains(netip.MustParseAddr("fd00:ec2::254")) {
		t.Error("imds")
	}
	for _, bad := range []string{"aws:NOPE:us-east-1", "aws:", "aws:S3:us-east-1:x", "intranet"} {
		if _, _, err := Named(d, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
