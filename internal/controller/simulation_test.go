package controller

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// publicationTimes reads the createDate of every publication in the year
// before the last one listed (testdata/publication-times.txt, from
// seligman/aws-ip-ranges' archive).
func publicationTimes(t testing.TB) []time.Time {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "publication-times.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ts, err := time.Parse("2006-01-02 15:04:05", sc.Text())
		if err != nil {
			t.Fatalf("publication-times.txt: %v", err)
		}
		all = append(all, ts)
	}
	last := all[len(all)-1]
	i := sort.Search(len(all), func(i int) bool { return all[i].After(last.AddDate(-1, 0, 0)) })
	return all[i:]
}

// schedule is the synthetic history of one key: its prefixes at each
// publication. It starts from the key's ranges in the first April 2026
// publication; about ten publications of the year change it, as S3
// us-east-1 changed in 10 of the year's 1,160: additions taken from what
// the second April and the August publications really added, permanent
// removals, and flaps (a prefix gone for one to three publications, a few
// hours, then back).
func schedule(k Key, times int, first, later *ranges.Document) [][]netip.Prefix {
	h := fnv.New64a()
	h.Write([]byte(k.String()))
	rng := rand.New(rand.NewPCG(h.Sum64(), 2026))
	cur := selectKey(first, k)
	pool, _ := Diff(cur, selectKey(later, k))
	sets := make([][]netip.Prefix, times)
	changeAt := map[int]func([]netip.Prefix) []netip.Prefix{}
	for len(changeAt) < 10 {
		i := 1 + rng.IntN(times-5)
		if changeAt[i] != nil || changeAt[i-1] != nil || changeAt[i+1] != nil {
			continue
		}
		switch kind := rng.IntN(10); {
		case kind < 5 && len(pool) > 0:
			p := pool[0]
			pool = pool[1:]
			changeAt[i] = func(s []netip.Prefix) []netip.Prefix { return append(slices.Clone(s), p) }
		case kind < 7:
			changeAt[i] = func(s []netip.Prefix) []netip.Prefix {
				if len(s) <= 4 {
					return s
				}
				j := rng.IntN(len(s))
				return slices.Delete(slices.Clone(s), j, j+1)
			}
		default:
			back := i + 1 + rng.IntN(3)
			if changeAt[back] != nil {
				continue
			}
			var gone netip.Prefix
			changeAt[i] = func(s []netip.Prefix) []netip.Prefix {
				if len(s) <= 4 {
					gone = netip.Prefix{}
					return s
				}
				j := rng.IntN(len(s))
				gone = s[j]
				return slices.Delete(slices.Clone(s), j, j+1)
			}
			changeAt[back] = func(s []netip.Prefix) []netip.Prefix {
				if !gone.IsValid() {
					return s
				}
				return append(slices.Clone(s), gone)
			}
		}
	}
	for i := range sets {
		if f := changeAt[i]; f != nil {
			// A copy: each publication keeps its own set.
			cur = slices.Clone(f(cur))
			sortPrefixes(cur)
		}
		sets[i] = cur
	}
	return sets
}

// simPolicy is one policy of the simulation and what happened to it.
type simPolicy struct {
	name    string
	keys    []Key
	changes int // publications that changed the addresses of its keys
	writes  int // writes the controller made to it
	fence   bool
	current *networkingv1.NetworkPolicy
}

// simulate replays a year of publications through the ledger and the
// renderers the reconcilers use, counting the writes each policy gets:
// a write is a rendered policy that differs from the one in the cluster,
// exactly the test the reconcilers apply before writing. Grace periods end
// at their own time, between publications, as the reconcilers' requeues do.
func simulate(t testing.TB, rules Rules) ([]*simPolicy, int) {
	first := parseDoc(t, readFile(t, april1))
	later, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	times := publicationTimes(t)
	s3, ddb, ec2 := Key{"S3", "us-east-1"}, Key{"DYNAMODB", "us-east-1"}, Key{"EC2", "eu-west-1"}
	keys := []Key{s3, ddb, ec2}
	history := map[Key][][]netip.Prefix{}
	for _, k := range keys {
		history[k] = schedule(k, len(times), first, later)
	}
	policies := []*simPolicy{
		{name: "s3 (opted-in policy)", keys: []Key{s3}},
		{name: "dynamodb (opted-in policy)", keys: []Key{ddb}},
		{name: "s3+dynamodb (opted-in policy)", keys: []Key{ddb, s3}},
		{name: "ec2-eu-west-1 (opted-in policy)", keys: []Key{ec2}},
		{name: "training (Fence: S3 and DNS)", keys: []Key{s3}, fence: true},
	}
	in, err := ParseIntent(map[string]string{RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/443"})
	if err != nil {
		t.Fatal(err)
	}
	entries := map[Key]*Entry{}
	ledgerWrites := 0
	docAt := func(i int) *ranges.Document {
		d := &ranges.Document{SyncToken: fmt.Sprint(times[i].Unix()), Created: times[i]}
		for _, k := range keys {
			for _, p := range history[k][i] {
				d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: p, Service: k.Service, Region: k.Region})
				// As AWS does, every range is listed under AMAZON too.
				d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: p, Service: "AMAZON", Region: k.Region})
			}
		}
		// The poller's plausibility check passes every publication.
		if err := CheckPublication(d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	render := func(p *simPolicy, doc *ranges.Document) {
		var applied []Applied
		var union []netip.Prefix
		for _, k := range p.keys {
			applied = append(applied, Applied{Key: k, Prefixes: entries[k].Effective()})
			union = append(union, entries[k].Effective()...)
		}
		var next *networkingv1.NetworkPolicy
		if p.fence {
			next = renderFence(t, appliedDocument(doc, applied))
		} else {
			pin := in
			pin.Keys = p.keys
			base := p.current
			if base == nil {
				base = &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: p.name}}
			}
			out, changed, err := Rewrite(base, pin, setOf(union).Prefixes(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				return
			}
			next = out
		}
		if p.current != nil && equality.Semantic.DeepEqual(p.current.Spec, next.Spec) {
			return
		}
		if p.current != nil {
			p.writes++
		}
		p.current = next
	}
	prevSets := map[Key]*[]netip.Prefix{}
	for i := range times {
		doc := docAt(i)
		// Grace periods that end before this publication.
		for {
			var due time.Time
			for _, e := range entries {
				if n := e.NextExpiry(rules.Grace); !n.IsZero() && n.Before(times[i]) && (due.IsZero() || n.Before(due)) {
					due = n
				}
			}
			if due.IsZero() {
				break
			}
			expired := false
			for _, k := range keys {
				if changed, _ := entries[k].Advance(nil, k, due, rules); changed {
					expired = true
				}
			}
			if expired {
				ledgerWrites++
				for _, p := range policies {
					render(p, doc)
				}
			}
		}
		dirty := false
		for _, k := range keys {
			if entries[k] == nil {
				e, err := newEntry(doc, k)
				if err != nil {
					t.Fatal(err)
				}
				entries[k] = e
				dirty = true
				continue
			}
			changed, err := entries[k].Advance(doc, k, times[i], rules)
			if err != nil {
				t.Fatal(err)
			}
			if h := entries[k].Held; h != nil {
				// The schedule's additions are real ones: none more than
				// doubles a service, so the growth guard holds nothing.
				t.Errorf("%s: growth of %s held at publication %d", k, growthText(h.Share), i)
			}
			dirty = dirty || changed
		}
		if dirty {
			ledgerWrites++
		}
		for _, p := range policies {
			if i > 0 {
				for _, k := range p.keys {
					if a, r := Diff(*prevSets[k], history[k][i]); len(a)+len(r) > 0 {
						p.changes++
						break
					}
				}
			}
			render(p, doc)
		}
		for _, k := range keys {
			s := history[k][i]
			prevSets[k] = &s
		}
	}
	return policies, ledgerWrites
}

// renderFence renders the training Fence's own policy with generate, from
// a world that holds only the Fence.
func renderFence(t testing.TB, doc *ranges.Document) *networkingv1.NetworkPolicy {
	w := &model.World{Fences: []*model.Fence{{Meta: model.Meta{Kind: "Fence", Namespace: "ml", Name: "training"}, Spec: v1alpha1.FenceSpec{
		Workloads: metav1.LabelSelector{MatchLabels: map[string]string{"app": "trainer"}},
		Egress:    []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: "us-east-1"}}, {DNS: &v1alpha1.DNSDestination{}}},
	}}}}
	out, err := generate.Generate(w, doc, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Policies {
		if p.Name == "ringfence-training" {
			return p
		}
	}
	t.Fatal("no ringfence-training policy")
	return nil
}

// A year of publications: no policy is written more often than its
// services really changed. Flaps within the grace period cost nothing.
func TestYearOfPublications(t *testing.T) {
	rules := Rules{Grace: DefaultGrace, MaxShrink: DefaultMaxShrink}
	policies, ledgerWrites := simulate(t, rules)
	var report strings.Builder
	fmt.Fprintf(&report, "%-34s %14s %11s\n", "policy", "real changes", "API writes")
	for _, p := range policies {
		fmt.Fprintf(&report, "%-34s %14d %11d\n", p.name, p.changes, p.writes)
		if p.writes > p.changes {
			t.Errorf("%s: %d writes for %d real changes", p.name, p.writes, p.changes)
		}
		if p.changes == 0 || p.writes == 0 {
			t.Errorf("%s: the simulation changed nothing (%d changes, %d writes)", p.name, p.changes, p.writes)
		}
	}
	fmt.Fprintf(&report, "ledger ConfigMap writes: %d\n", ledgerWrites)
	t.Logf("a year of publications (%d), grace %s, shrink limit %.0f%%:\n%s", len(publicationTimes(t)), rules.Grace, 100*rules.MaxShrink, report.String())

	// Without a grace period every flap costs two writes: the figure
	// above is the grace period's doing.
	noGrace, _ := simulate(t, Rules{Grace: 0, MaxShrink: DefaultMaxShrink})
	more := false
	for i, p := range noGrace {
		if p.writes > policies[i].writes {
			more = true
		}
	}
	if !more {
		t.Error("the grace period saved no write: the schedule has no flaps")
	}
}

// BenchmarkYearOfPublications reports the writes per policy over a year.
func BenchmarkYearOfPublications(b *testing.B) {
	var policies []*simPolicy
	for b.Loop() {
		policies, _ = simulate(b, Rules{Grace: DefaultGrace, MaxShrink: DefaultMaxShrink})
	}
	for _, p := range policies {
		name := strings.Fields(p.name)[0]
		b.ReportMetric(float64(p.writes), "writes/"+name)
		b.ReportMetric(float64(p.changes), "changes/"+name)
	}
}
