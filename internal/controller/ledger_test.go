package controller

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var k = Key{Service: "S3", Region: "us-east-1"}

// doc is a publication listing ps for k.
func doc(token string, ps ...string) *ranges.Document {
	d := &ranges.Document{SyncToken: token}
	for _, p := range ps {
		d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: netip.MustParsePrefix(p), Service: "S3", Region: "us-east-1"})
	}
	// Another service, which never matters to k.
	d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: netip.MustParsePrefix("3.0.0.0/15"), Service: "EC2", Region: "us-east-1"})
	return d
}

func strs(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

var base = []string{"52.216.0.0/16", "54.231.0.0/16", "3.5.0.0/19", "16.182.0.0/16", "18.34.0.0/19", "18.34.232.0/21", "44.192.134.240/28", "44.192.140.64/28", "3.2.64.0/24", "3.2.65.0/24"}

func TestLedgerAdditionsAtOnceRemovalsAfterGrace(t *testing.T) {
	rules := Rules{Grace: 24 * time.Hour, MaxShrink: 0.2}
	t0 := time.Date(2026, 4, 13, 20, 7, 5, 0, time.UTC)
	e, err := newEntry(doc("100", base...), k)
	if err != nil {
		t.Fatal(err)
	}
	before := strs(e.Effective())

	// The same publication, or one that changes only another service: nothing.
	if changed, _ := e.Advance(doc("100", base...), k, t0, rules); changed {
		t.Error("the same publication changed the entry")
	}
	if changed, _ := e.Advance(doc("101", base...), k, t0, rules); changed || strs(e.Effective()) != before {
		t.Error("a publication that does not touch S3 changed the entry")
	}

	// An addition applies at once.
	added := append(slices.Clone(base), "16.15.156.0/22")
	if changed, _ := e.Advance(doc("102", added...), k, t0, rules); !changed || !strings.Contains(strs(e.Effective()), "16.15.156.0/22") {
		t.Fatalf("addition not applied: %s", strs(e.Effective()))
	}
	// A removal waits for the grace period.
	if changed, _ := e.Advance(doc("103", base...), k, t0.Add(time.Hour), rules); !changed || !strings.Contains(strs(e.Effective()), "16.15.156.0/22") {
		t.Fatalf("removed before the grace period: %s", strs(e.Effective()))
	}
	if next := e.NextExpiry(rules.Grace); !next.Equal(t0.Add(25 * time.Hour)) {
		t.Errorf("next expiry %s", next)
	}
	if changed, _ := e.Advance(nil, k, t0.Add(25*time.Hour-time.Second), rules); changed {
		t.Error("expired a second early")
	}
	if changed, _ := e.Advance(nil, k, t0.Add(25*time.Hour), rules); !changed || strs(e.Effective()) != before {
		t.Errorf("not removed after the grace period: %s", strs(e.Effective()))
	}
}

func TestLedgerFlapIsNeverRemoved(t *testing.T) {
	rules := Rules{Grace: 24 * time.Hour, MaxShrink: 0.2}
	t0 := time.Date(2026, 4, 13, 20, 7, 5, 0, time.UTC)
	e, _ := newEntry(doc("100", base...), k)
	before := strs(e.Effective())
	e.Advance(doc("101", base[1:]...), k, t0, rules)
	if strs(e.Effective()) != before {
		t.Fatal("a removal changed what is applied at once")
	}
	e.Advance(doc("102", base...), k, t0.Add(3*time.Hour), rules)
	if len(e.Pending) != 0 {
		t.Fatalf("still pending after it came back: %v", e.Pending)
	}
	// Long after the first grace period would have ended: still there.
	e.Advance(nil, k, t0.Add(48*time.Hour), rules)
	if strs(e.Effective()) != before {
		t.Errorf("a prefix that came back was removed: %s", strs(e.Effective()))
	}
}

func TestLedgerShrinkGuard(t *testing.T) {
	rules := Rules{Grace: time.Hour, MaxShrink: 0.2}
	t0 := time.Date(2026, 4, 13, 20, 7, 5, 0, time.UTC)
	e, _ := newEntry(doc("100", base...), k)
	before := strs(e.Effective())
	// Three of ten gone (30%), one added: the removals are refused, the
	// addition applies.
	next := append(slices.Clone(base[3:]), "16.15.156.0/22")
	changed, err := e.Advance(doc("101", next...), k, t0, rules)
	if err != nil || !changed || e.Refused == nil || e.Refused.SyncToken != "101" || len(e.Refused.Removed) != 3 {
		t.Fatalf("refusal: %v %+v", err, e.Refused)
	}
	e.Advance(nil, k, t0.Add(10*time.Hour), rules)
	if got := strs(e.Effective()); !strings.Contains(got, "16.15.156.0/22") || !strings.Contains(got, "52.216.0.0/16") {
		t.Errorf("after a refused shrink: %s (was %s)", got, before)
	}
	// The same publication again: still refused, nothing new to write.
	if changed, _ := e.Advance(doc("102", next...), k, t0.Add(11*time.Hour), rules); e.Refused == nil {
		t.Errorf("accepted on the second try (changed %v)", changed)
	}
	// Two of ten (20%) is within the limit: grace period as usual.
	e2, _ := newEntry(doc("100", base...), k)
	if _, err := e2.Advance(doc("101", base[2:]...), k, t0, rules); err != nil || e2.Refused != nil || len(e2.Pending) != 2 {
		t.Errorf("20%%: %v %+v %v", err, e2.Refused, e2.Pending)
	}
	// Everything gone (an empty list for the service): refused.
	e3, _ := newEntry(doc("100", base...), k)
	if e3.Advance(doc("101"), k, t0, rules); e3.Refused == nil || strs(e3.Effective()) != before {
		t.Error("an emptied service was not refused")
	}
}

func TestLedgerNeverTheWholeSpace(t *testing.T) {
	if _, err := newEntry(doc("100", "0.0.0.0/0"), k); err == nil {
		t.Error("0.0.0.0/0 accepted in a new entry")
	}
	if _, err := newEntry(doc("100"), k); err == nil {
		t.Error("an empty service accepted")
	}
	e, _ := newEntry(doc("100", base...), k)
	before := strs(e.Effective())
	if _, err := e.Advance(doc("101", append(slices.Clone(base), "::/0")...), k, time.Now(), Rules{Grace: time.Hour, MaxShrink: 1}); err == nil || strs(e.Effective()) != before {
		t.Errorf("::/0 accepted: %v %s", err, strs(e.Effective()))
	}
}

func TestLedgerIgnoresOlderPublications(t *testing.T) {
	e, _ := newEntry(doc("200", base...), k)
	if changed, _ := e.Advance(doc("150", base[:5]...), k, time.Now(), Rules{Grace: 0, MaxShrink: 1}); changed || len(e.Published) != len(base) {
		t.Error("an older publication was applied")
	}
}

func TestLedgerRoundTrip(t *testing.T) {
	e, _ := newEntry(doc("100", base...), k)
	e.Advance(doc("101", base[1:]...), k, time.Date(2026, 4, 13, 20, 7, 5, 123, time.UTC), Rules{Grace: time.Hour, MaxShrink: 0.2})
	data, err := encodeLedger(map[Key]*Entry{k: e})
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeLedger(data)
	if err != nil {
		t.Fatal(err)
	}
	got := back[k]
	if got == nil || got.SyncToken != "101" || strs(got.Effective()) != strs(e.Effective()) || len(got.Pending) != 1 {
		t.Fatalf("round trip: %s", data)
	}
	for p, since := range got.Pending {
		if !since.Equal(e.Pending[p]) {
			t.Errorf("pending since %s, was %s", since, e.Pending[p])
		}
	}
	if _, err := decodeLedger(`{"S3": {}}`); err == nil {
		t.Error("a bad key accepted")
	}
}

func TestParseIntent(t *testing.T) {
	in, err := ParseIntent(map[string]string{RangesAnnotation: "s3@US-East-1, DYNAMODB@us-east-1,S3@us-east-1", PortsAnnotation: "TCP/443, udp/53,8443"})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Keys) != 2 || in.Keys[0].String() != "DYNAMODB@us-east-1" || in.Keys[1].String() != "S3@us-east-1" {
		t.Errorf("keys %v", in.Keys)
	}
	if len(in.Ports) != 3 || *in.Ports[1].Protocol != corev1.ProtocolUDP || in.Ports[2].Port.IntValue() != 8443 || *in.Ports[2].Protocol != corev1.ProtocolTCP {
		t.Errorf("ports %+v", in.Ports)
	}
	if in, _ := ParseIntent(map[string]string{RangesAnnotation: "S3@us-east-1"}); len(in.Ports) != 1 || in.Ports[0].Port.IntValue() != 443 {
		t.Error("ports default to TCP/443")
	}
	for _, bad := range []map[string]string{
		{RangesAnnotation: ""}, {RangesAnnotation: "S3"}, {RangesAnnotation: "@us-east-1"}, {RangesAnnotation: "S3@"},
		{RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/0"}, {RangesAnnotation: "S3@us-east-1", PortsAnnotation: "ICMP/1"},
		{RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/https"}, {RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/70000"},
	} {
		if _, err := ParseIntent(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func rule(port int32, cidrs ...string) networkingv1.NetworkPolicyEgressRule {
	tcp := corev1.ProtocolTCP
	p := intstr.FromInt32(port)
	r := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &p}}}
	for _, c := range cidrs {
		r.To = append(r.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
	}
	return r
}

func TestRewriteTouchesOnlyItsRule(t *testing.T) {
	in, _ := ParseIntent(map[string]string{RangesAnnotation: "S3@us-east-1"})
	aws := []netip.Prefix{netip.MustParsePrefix("52.0.0.0/8"), netip.MustParsePrefix("54.0.0.0/8")}
	proxy := rule(443, "10.0.0.0/8")  // the user's proxy, also on 443: not AWS
	db := rule(5432, "52.216.0.0/16") // AWS addresses, other port
	pods := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}, Ports: rule(443).Ports}
	p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{proxy, db, pods, rule(443, "52.216.0.0/16")}}}
	want := []netip.Prefix{netip.MustParsePrefix("52.216.0.0/15"), netip.MustParsePrefix("54.231.0.0/16")}
	out, changed, err := Rewrite(p, in, want, aws)
	if err != nil || !changed {
		t.Fatal(err, changed)
	}
	if len(out.Spec.Egress) != 4 || strs(ipBlocks(&networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: out.Spec.Egress[3:]}})) != "52.216.0.0/15 54.231.0.0/16" {
		t.Fatalf("managed rule: %+v", out.Spec.Egress)
	}
	for i, r := range []networkingv1.NetworkPolicyEgressRule{proxy, db, pods} {
		if !equalRuleDeep(out.Spec.Egress[i], r) {
			t.Errorf("rule %d changed", i)
		}
	}
	if out.Annotations[ManagedRuleAnnotation] == "" {
		t.Error("no digest recorded")
	}
	// Unchanged ranges: no change.
	if _, changed, _ := Rewrite(out, in, want, aws); changed {
		t.Error("rewrote an up-to-date rule")
	}
	// Found again by its digest even when its addresses left AWS's space
	// (a prefix AWS no longer publishes at all) and rules moved.
	moved := out.DeepCopy()
	moved.Spec.Egress = append([]networkingv1.NetworkPolicyEgressRule{rule(80, "192.0.2.0/24")}, moved.Spec.Egress...)
	out2, changed, _ := Rewrite(moved, in, want[:1], nil)
	if !changed || len(out2.Spec.Egress) != 5 || strs(ipBlocks(&networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: out2.Spec.Egress[4:]}})) != "52.216.0.0/15" {
		t.Errorf("digest lookup: %+v", out2.Spec.Egress)
	}
	// No managed rule yet: one is appended.
	fresh := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{proxy}}}
	if out, _, _ := Rewrite(fresh, in, want, aws); len(out.Spec.Egress) != 2 || !equalRuleDeep(out.Spec.Egress[0], proxy) {
		t.Errorf("append: %+v", out.Spec.Egress)
	}
	// Never a rule without peers, never the whole space.
	if _, _, err := Rewrite(fresh, in, nil, aws); err == nil {
		t.Error("an empty rule written")
	}
	if _, _, err := Rewrite(fresh, in, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, aws); err == nil {
		t.Error("0.0.0.0/0 written")
	}
}

func equalRuleDeep(a, b networkingv1.NetworkPolicyEgressRule) bool {
	return ruleDigest(a) == ruleDigest(b)
}

// withAmazon lists every prefix of d under AMAZON too, as AWS does.
func withAmazon(d *ranges.Document) *ranges.Document {
	for _, p := range d.Prefixes {
		if p.Service != "AMAZON" {
			d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: p.Prefix, Service: "AMAZON", Region: p.Region})
		}
	}
	return d
}

func TestCheckPublication(t *testing.T) {
	for _, path := range []string{april1, april2} {
		if err := CheckPublication(parseDoc(t, readFile(t, path))); err != nil {
			t.Errorf("a real publication refused: %v", err)
		}
	}
	if err := CheckPublication(withAmazon(doc("100", base...))); err != nil {
		t.Errorf("plausible: %v", err)
	}
	for _, c := range []struct {
		name, reason, want string
		d                  *ranges.Document
	}{
		// Two halves pass a per-prefix /0 check; as a set they are IPv4.
		{"halves", "too-wide", "S3@us-east-1 covers 100% of the IPv4 space", withAmazon(doc("101", append(slices.Clone(base), "0.0.0.0/1", "128.0.0.0/1")...))},
		{"one half", "too-wide", "covers 50% of the IPv4 space", withAmazon(doc("101", append(slices.Clone(base), "0.0.0.0/1")...))},
		{"outside AMAZON", "outside-amazon", "S3@us-east-1 lists 9.9.9.0/24 outside the publication's AMAZON ranges", func() *ranges.Document {
			d := withAmazon(doc("101", base...))
			d.Prefixes = append(d.Prefixes, ranges.Prefix{Prefix: netip.MustParsePrefix("9.9.9.0/24"), Service: "S3", Region: "us-east-1"})
			return d
		}()},
		{"no AMAZON", "outside-amazon", "no AMAZON ranges", doc("101", base...)},
	} {
		err := CheckPublication(c.d)
		var refused *RefusedPublication
		if !errors.As(err, &refused) || refused.Reason != c.reason || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestLedgerGrowthGuard(t *testing.T) {
	rules := Rules{Grace: time.Hour, MaxShrink: 0.2, MaxGrowth: 1}
	t0 := time.Date(2026, 4, 13, 20, 7, 5, 0, time.UTC)
	small := []string{"3.2.64.0/24", "3.2.65.0/24"}
	e, _ := newEntry(doc("100", small...), k)
	before := strs(e.Effective())
	// 3.2.66.0/23 doubles the addresses (100%): within the limit.
	grown := append(slices.Clone(small), "3.2.66.0/23")
	if _, err := e.Advance(doc("101", grown...), k, t0, rules); err != nil || e.Held != nil || strs(e.Effective()) != "3.2.64.0/22" {
		t.Fatalf("a doubling was held: %v %+v %s", err, e.Held, strs(e.Effective()))
	}
	e, _ = newEntry(doc("100", small...), k)
	// A /16 grows them 128-fold: held, nothing applied, the entry says why.
	wide := append(slices.Clone(small), "52.216.0.0/16")
	changed, err := e.Advance(doc("101", wide...), k, t0, rules)
	if err != nil || !changed || e.Held == nil || e.Held.SyncToken != "101" || strs(e.Held.Added) != "52.216.0.0/16" || strs(e.Effective()) != before {
		t.Fatalf("growth not held: %v %+v %s", err, e.Held, strs(e.Effective()))
	}
	// The same publication again (a restart): still held, no change.
	e.evaluated = ""
	if changed, _ := e.Advance(doc("101", wide...), k, t0, rules); changed || e.Held == nil {
		t.Errorf("re-reading the publication changed the hold: %v %+v", changed, e.Held)
	}
	// A later publication that withdraws it: the hold ends, nothing applied.
	e2 := *e
	if changed, _ := e2.Advance(doc("102", small...), k, t0, rules); !changed || e2.Held != nil || strs(e2.Effective()) != before {
		t.Errorf("withdrawn growth: %+v %s", e2.Held, strs(e2.Effective()))
	}
	// A later publication that still lists it confirms it.
	if changed, _ := e.Advance(doc("103", wide...), k, t0, rules); !changed || e.Held != nil || !strings.Contains(strs(e.Effective()), "52.216.0.0/16") {
		t.Errorf("confirmed growth not applied: %+v %s", e.Held, strs(e.Effective()))
	}
	// An operator's approval applies the held publication itself.
	e, _ = newEntry(doc("100", small...), k)
	e.Advance(doc("101", wide...), k, t0, rules)
	e.Held.Approved, e.evaluated = true, ""
	if changed, _ := e.Advance(doc("101", wide...), k, t0, rules); !changed || e.Held != nil || !strings.Contains(strs(e.Effective()), "52.216.0.0/16") {
		t.Errorf("approved growth not applied: %+v %s", e.Held, strs(e.Effective()))
	}
}

func TestFitDropsTheWidest(t *testing.T) {
	ps := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("128.0.0.0/1"), netip.MustParsePrefix("52.216.0.0/16")}
	kept, dropped := fit(ps)
	if strs(kept) != "52.216.0.0/16" || strs(dropped) != "0.0.0.0/1 128.0.0.0/1" {
		t.Errorf("kept %s, dropped %s", strs(kept), strs(dropped))
	}
}

func TestGuardPolicyIsSetBased(t *testing.T) {
	p := optedInPolicy("ns", "0.0.0.0/1")
	p.Spec.Egress[0].To[0].IPBlock.CIDR = "128.0.0.0/1"
	if err := guardPolicy(p); err == nil || !strings.Contains(err.Error(), "0.0.0.0/0") {
		t.Errorf("two halves in two rules: %v", err)
	}
	p.Spec.Egress[0].To[0].IPBlock.Except = []string{"203.0.113.0/24"}
	if err := guardPolicy(p); err != nil {
		t.Errorf("halves minus an except are not everything: %v", err)
	}
	if _, _, err := Rewrite(optedInPolicy("ns", "3.5.0.0/19"), Intent{}, []netip.Prefix{netip.MustParsePrefix("::/1"), netip.MustParsePrefix("8000::/1")}, nil); err == nil {
		t.Error("Rewrite wrote ::/0 as two halves")
	}
}

func TestEventNotesFit(t *testing.T) {
	var many []netip.Prefix
	for i := range 300 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{16, 15, byte(i), 0}), 24))
	}
	if s := shortList(many); !strings.HasSuffix(s, "… and 292 more") || len(s) > 200 {
		t.Errorf("shortList: %s", s)
	}
	long := strings.Repeat("é", 2000)
	if c := cut(long, maxNote); len(c) > maxNote || !utf8.ValidString(c) || !strings.HasSuffix(c, "…") {
		t.Errorf("cut: %d bytes, valid %v", len(c), utf8.ValidString(c))
	}
}

func TestManagedRuleEditedByHand(t *testing.T) {
	in, _ := ParseIntent(map[string]string{RangesAnnotation: "S3@us-east-1"})
	applied := []netip.Prefix{netip.MustParsePrefix("3.5.0.0/19"), netip.MustParsePrefix("52.216.0.0/15")}
	p := optedInPolicy("ns", "3.5.0.0/19")
	written, _, err := Rewrite(p, in, applied, nil)
	if err != nil {
		t.Fatal(err)
	}
	if i, edited := ManagedRule(written, in, applied); i != 1 || edited {
		t.Fatalf("the rule as written: %d %v", i, edited)
	}
	// The user adds an address of their own to the managed rule.
	edited := written.DeepCopy()
	edited.Spec.Egress[1].To = append(edited.Spec.Egress[1].To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "198.51.100.0/24"}})
	if i, was := ManagedRule(edited, in, applied); i != 1 || !was {
		t.Fatalf("the edited rule: %d %v", i, was)
	}
	restored, changed, err := Rewrite(edited, in, applied, nil)
	if err != nil || !changed || len(restored.Spec.Egress) != 2 || strings.Join(ruleCIDRs(restored, 1), " ") != "3.5.0.0/19 52.216.0.0/15" {
		t.Fatalf("not restored in place: %v %+v", err, restored.Spec.Egress)
	}
	// The user's own rule (other ports, outside AWS) is never taken.
	if !equalRule(restored.Spec.Egress[0], edited.Spec.Egress[0]) {
		t.Error("the user's own rule changed")
	}
}

// BenchmarkCheckPublication checks a real publication (10,122 IPv4
// prefixes, every service and region) as a whole, as each new one is.
func BenchmarkCheckPublication(b *testing.B) {
	d := parseDoc(b, readFile(b, april2))
	for b.Loop() {
		if err := CheckPublication(d); err != nil {
			b.Fatal(err)
		}
	}
}
