package controller

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/feed"
	"github.com/ringfence/ringfence/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// publisher is a feed source a test publishes into: the HTTPS server or
// a ConfigMap read through the API.
type publisher interface {
	publish(body []byte, md5hex string)
	source(t testing.TB) feed.Source
}

// cmFeed publishes into a ConfigMap, gzipped (the publication is larger
// than a ConfigMap may be), as an air-gapped cluster's mirror job would.
type cmFeed struct {
	t      testing.TB
	c      client.Client
	ns     string
	name   string
	exists bool
}

func (f *cmFeed) publish(body []byte, md5hex string) {
	f.t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(body)
	_ = zw.Close()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: f.name, Namespace: f.ns},
		BinaryData: map[string][]byte{"ip-ranges.json.gz": gz.Bytes()}, Data: map[string]string{}}
	if md5hex != "" {
		cm.Data["md5"] = md5hex
	}
	ctx := context.Background()
	if !f.exists {
		if err := f.c.Create(ctx, cm); err != nil {
			f.t.Fatal(err)
		}
		f.exists = true
		return
	}
	var live corev1.ConfigMap
	if err := f.c.Get(ctx, client.ObjectKeyFromObject(cm), &live); err != nil {
		f.t.Fatal(err)
	}
	live.BinaryData, live.Data = cm.BinaryData, cm.Data
	if err := f.c.Update(ctx, &live); err != nil {
		f.t.Fatal(err)
	}
}

func (f *cmFeed) source(testing.TB) feed.Source {
	return &feed.ConfigMap{Reader: f.c, Namespace: f.ns, Name: f.name}
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ledger returns the ledger ConfigMap's data.
func (cl *cluster) ledger(t testing.TB, ns string) map[string]string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := cl.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: DefaultStateName}, &cm); err != nil {
		t.Fatalf("the ledger ConfigMap: %v", err)
	}
	return cm.Data
}

// entry decodes the ledger's entry for key.
func (cl *cluster) entry(t testing.TB, ns string, key Key) *Entry {
	t.Helper()
	entries, err := decodeLedger(cl.ledger(t, ns)[ledgerKey])
	if err != nil {
		t.Fatal(err)
	}
	return entries[key]
}

// warnings returns the notes of the Warning Events of ns with reason,
// prefixed by what they regard.
func (cl *cluster) warnings(t testing.TB, ns, reason string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := cl.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Regarding.Kind+"/"+e.Regarding.Name+": "+e.Note)
		}
	}
	return out
}

// hasWarning waits for a Warning Event with reason about each of regarding
// ("Fence/training") whose note contains want.
func (cl *cluster) hasWarning(t *testing.T, ns, reason, want string, regarding ...string) {
	t.Helper()
	eventually(t, "Warning Events "+reason, func() (bool, string) {
		notes := cl.warnings(t, ns, reason)
		for _, r := range regarding {
			found := false
			for _, n := range notes {
				if strings.HasPrefix(n, r+":") && strings.Contains(n, want) {
					found = true
				}
			}
			if !found {
				return false, strings.Join(notes, "\n")
			}
		}
		return true, ""
	})
}

// addS3 lists extra IPv4 prefixes under S3 us-east-1, and under AMAZON too
// when amazon is set (as AWS lists every range).
func addS3(amazon bool, extra ...string) func([]any) []any {
	return func(ps []any) []any {
		for _, p := range extra {
			ps = append(ps, map[string]any{"ip_prefix": p, "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"})
			if amazon {
				ps = append(ps, map[string]any{"ip_prefix": p, "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"})
			}
		}
		return ps
	}
}

// ec2Prefixes returns up to n IPv4 prefixes of EC2 us-east-1 (inside
// AMAZON) not inside S3 us-east-1, at least /minBits long.
func ec2Prefixes(t testing.TB, body []byte, n, minBits int) []string {
	t.Helper()
	doc := parseDoc(t, body)
	s3set := setOf(selectKey(doc, Key{"S3", "us-east-1"}))
	var out []string
	for _, p := range selectKey(doc, Key{"EC2", "us-east-1"}) {
		if p.Addr().Is4() && p.Bits() >= minBits && !s3set.OverlapsPrefix(p) && len(out) < n {
			out = append(out, p.String())
		}
	}
	if len(out) < n {
		t.Fatalf("only %d EC2 prefixes", len(out))
	}
	return out
}

// growS3 returns EC2 us-east-1 IPv4 prefixes (inside AMAZON, outside S3)
// whose addresses are factor times S3 us-east-1's IPv4 addresses.
func growS3(t testing.TB, body []byte, factor float64) []string {
	t.Helper()
	doc := parseDoc(t, body)
	s3set := setOf(selectKey(doc, Key{"S3", "us-east-1"}))
	have, _ := coverage(s3set)
	var out []string
	added := 0.0
	for _, p := range selectKey(doc, Key{"EC2", "us-east-1"}) {
		if p.Addr().Is4() && !s3set.OverlapsPrefix(p) && added < factor*have {
			out = append(out, p.String())
			added += math.Ldexp(1, -p.Bits())
		}
	}
	if added < factor*have {
		t.Fatalf("EC2 cannot grow S3 %g-fold", factor)
	}
	return out
}

// synced checks that the Fence's Synced condition names the syncToken its
// status carries: one status write carries both.
func synced(t testing.TB, f interface{ GetName() string }, c metav1.Condition, token string) bool {
	return token != "" && strings.Contains(c.Message, "syncToken "+token)
}

// The same bad publications through both sources a cluster can use: the
// HTTPS URL and a ConfigMap. Each is refused before anything reaches the
// ledger, and says why in the Fence's status, in Warning Events on the
// Fence and on the opted-in policy, and in the metrics; the policies and
// the ledger are not written. A growth beyond the limit is held until a
// later publication confirms it (HTTPS) or an operator approves it
// (ConfigMap).
func TestLiveBadPublicationsBothSources(t *testing.T) {
	cl := startCluster(t)
	two := readFile(t, april2)
	const t2 = 1776118025
	for _, kind := range []string{"https", "configmap"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ns := cl.namespace(t, "bad-"+kind)
			var pub publisher
			if kind == "https" {
				pub = newFeedServer(t, two)
			} else {
				pub = &cmFeed{t: t, c: cl.c, ns: ns, name: "aws-ip-ranges"}
				pub.publish(two, md5hex(two))
			}
			cl.trainingFence(t, ns)
			if err := cl.c.Create(ctx, optedInPolicy(ns, s3(t, two)[0])); err != nil {
				t.Fatal(err)
			}
			var log testenv.Buffer
			r := cl.run(t, runOptions{ns: ns, source: pub.source(t), log: &log})
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("controller log:\n%s", log.String())
				}
			})
			second := s3(t, two)
			eventually(t, "both policies with the publication's S3 ranges", func() (bool, string) {
				a, b := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
				return slices.Equal(a, second) && slices.Equal(b, second), strings.Join(b, " ")
			})
			eventually(t, "Ready", func() (bool, string) {
				f := cl.fence(t, ns, "training")
				return condition(f, CondReady).Status == metav1.ConditionTrue && f.Status.SyncToken == "1776118025", f.Status.SyncToken
			})
			rvs := map[string]string{}
			for _, name := range []string{"ringfence-training", "legacy-egress"} {
				rvs[name] = cl.policy(t, ns, name).ResourceVersion
			}
			ledger := cl.ledger(t, ns)
			unchanged := func(what string) {
				t.Helper()
				for name, rv := range rvs {
					if got := cl.policy(t, ns, name).ResourceVersion; got != rv {
						t.Errorf("%s: %s was written", what, name)
					}
				}
				if got := cl.ledger(t, ns); !equalMaps(got, ledger) {
					t.Errorf("%s: the ledger changed:\n%v\nwas\n%v", what, got, ledger)
				}
			}
			ec2 := ec2Prefixes(t, two, 1, 24)
			for i, bad := range []struct {
				name, reason, message, metric string
				// body is the publication; token is newer than every one
				// accepted so far.
				body func(token int64) []byte
				md5  bool
			}{
				{"truncated", "FeedRejected", "not an ip-ranges.json document", "", func(int64) []byte { return two[:len(two)/2] }, false},
				{"md5 mismatch", "FeedRejected", "does not match", "", func(tok int64) []byte { return variant(t, two, tok, nil) }, true},
				{"older", "FeedRejected", "syncToken 1776110825 is older than", "", func(int64) []byte { return readFile(t, april1) }, false},
				// Two halves of IPv4 under S3 and AMAZON: each passes a
				// per-prefix /0 check; as a set they are all of IPv4.
				{"halves", "PublicationRefused", "S3@us-east-1 covers 100% of the IPv4 space", "too-wide", func(tok int64) []byte { return variant(t, two, tok, addS3(true, "0.0.0.0/1", "128.0.0.0/1")) }, false},
				{"outside AMAZON", "PublicationRefused", "S3@us-east-1 lists 192.0.2.0/24 outside the publication's AMAZON ranges", "outside-amazon", func(tok int64) []byte { return variant(t, two, tok, addS3(false, "192.0.2.0/24", ec2[0])) }, false},
			} {
				body := bad.body(t2 + int64(i)*1000 + 500)
				sum := ""
				if bad.md5 {
					sum = md5hex(two)
				}
				before := r.metric(t, "ringfence_publications_refused_total", func(l map[string]string) bool { return l["reason"] == bad.metric })
				pub.publish(body, sum)
				eventually(t, bad.name+": FeedHealthy=False", func() (bool, string) {
					c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
					return c.Status == metav1.ConditionFalse && c.Reason == bad.reason && strings.Contains(c.Message, bad.message), c.Reason + " " + c.Message
				})
				if bad.metric != "" {
					cl.hasWarning(t, ns, "PublicationRefused", bad.message, "Fence/training", "NetworkPolicy/legacy-egress")
					if got := r.metric(t, "ringfence_publications_refused_total", func(l map[string]string) bool { return l["reason"] == bad.metric }); got <= before {
						t.Errorf("%s: ringfence_publications_refused_total{reason=%q} not counted", bad.name, bad.metric)
					}
				}
				unchanged(bad.name)
				// The good publication again (a new token each time, so that
				// a source that remembers the last bytes reads it).
				good := variant(t, two, t2+int64(i+1)*1000, nil)
				pub.publish(good, "")
				eventually(t, bad.name+": FeedHealthy=True again", func() (bool, string) {
					c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
					return c.Status == metav1.ConditionTrue, c.Message
				})
				// Accepting the good one records its syncToken in the ledger,
				// nothing else.
				eventually(t, "the ledger to record the good publication", func() (bool, string) {
					return cl.ledger(t, ns)[acceptedKey] == fmt.Sprint(t2+int64(i+1)*1000), ""
				})
				ledger = cl.ledger(t, ns)
				unchanged(bad.name + ", then a good one")
			}

			// A growth beyond the limit, inside AMAZON and plausible: EC2
			// prefixes of us-east-1 listed under S3 that triple S3's
			// addresses. Held: nothing applied, and said.
			grow := growS3(t, two, 3)
			grown := variant(t, two, t2+10000, addS3(false, grow...))
			pub.publish(grown, "")
			eventually(t, "Synced=False GrowthHeld", func() (bool, string) {
				c := condition(cl.fence(t, ns, "training"), CondSynced)
				return c.Status == metav1.ConditionFalse && c.Reason == "GrowthHeld" && strings.Contains(c.Message, "1776128025"), c.Reason + " " + c.Message
			})
			cl.hasWarning(t, ns, "GrowthHeld", "S3@us-east-1: publication 1776128025 would add", "Fence/training", "NetworkPolicy/legacy-egress")
			if r.metric(t, "ringfence_growth_held_total", nil) < 1 {
				t.Error("ringfence_growth_held_total not counted")
			}
			if e := cl.entry(t, ns, Key{"S3", "us-east-1"}); e == nil || e.Held == nil || e.Held.SyncToken != "1776128025" {
				t.Errorf("the ledger does not record the held growth: %+v", e)
			}
			for name, rv := range rvs {
				if got := cl.policy(t, ns, name); got.ResourceVersion != rv || contains(ruleCIDRs(got, map[string]int{"ringfence-training": 0, "legacy-egress": 1}[name]), grow[0]) {
					t.Errorf("held growth: %s was written", name)
				}
			}
			if kind == "https" {
				// A later publication that still lists them confirms them.
				pub.publish(variant(t, two, t2+20000, addS3(false, grow...)), "")
			} else {
				// An operator approves the held publication.
				eventually(t, "the approval annotation written", func() (bool, string) {
					var cm corev1.ConfigMap
					if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: DefaultStateName}, &cm); err != nil {
						return false, err.Error()
					}
					metav1.SetMetaDataAnnotation(&cm.ObjectMeta, ApproveGrowthAnnotation, "1776128025")
					err := cl.c.Update(ctx, &cm)
					return err == nil, fmt.Sprint(err)
				})
			}
			eventually(t, "the growth applied to both policies", func() (bool, string) {
				a, b := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
				return contains(a, grow[0]) && contains(b, grow[len(grow)-1]), ""
			})
			eventually(t, "Synced=True", func() (bool, string) {
				f := cl.fence(t, ns, "training")
				c := condition(f, CondSynced)
				return c.Status == metav1.ConditionTrue && synced(t, f, c, f.Status.SyncToken), c.Message + " / " + f.Status.SyncToken
			})
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The story of the issue: a ledger that holds 0.0.0.0/1 and 128.0.0.0/1
// in their grace period (as a version without the plausibility check
// left it). They are never written; the next publication's additions
// reach the policies at once; the Fence and the policy are warned; and the
// halves leave the ledger when their grace period ends, by the requeue,
// with no publication to wake the controller.
func TestLiveRefusalDoesNotBlockAdditions(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "halves")
	one, two := readFile(t, april1), readFile(t, april2)
	grace := 30 * time.Second
	since := time.Now().UTC().Truncate(time.Second)
	halves := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("128.0.0.0/1")}
	entry := &Entry{SyncToken: "1776110825", Published: selectKey(parseDoc(t, one), Key{"S3", "us-east-1"}),
		Pending: map[netip.Prefix]time.Time{halves[0]: since, halves[1]: since}}
	data, err := encodeLedger(map[Key]*Entry{{"S3", "us-east-1"}: entry})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: DefaultStateName}, Data: map[string]string{ledgerKey: data}}); err != nil {
		t.Fatal(err)
	}
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	if err := cl.c.Create(ctx, optedInPolicy(ns, s3(t, one)[0])); err != nil {
		t.Fatal(err)
	}
	var log testenv.Buffer
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t), rules: Rules{Grace: grace, MaxShrink: DefaultMaxShrink}, log: &log})
	waitToken(t, r, 1776118025)
	start := time.Now()
	second := s3(t, two)
	eventually(t, "the second publication's five /22s in both policies", func() (bool, string) {
		a, b := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
		return slices.Equal(a, second) && slices.Equal(b, second), strings.Join(a, " ")
	})
	if d := time.Since(start); d > grace/2 {
		t.Errorf("the additions took %s, half the halves' grace period", d)
	}
	for _, name := range []string{"ringfence-training", "legacy-egress"} {
		if contains(ruleCIDRs(cl.policy(t, ns, name), map[string]int{"ringfence-training": 0, "legacy-egress": 1}[name]), "1.0.0.0/8") {
			t.Fatalf("%s allows half of IPv4", name)
		}
	}
	cl.hasWarning(t, ns, "RangesDropped", "0.0.0.0/1, 128.0.0.0/1", "Fence/training", "NetworkPolicy/legacy-egress")
	eventually(t, "Synced=False RangesDropped", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondSynced)
		return c.Reason == "RangesDropped", c.Reason
	})
	if e := cl.entry(t, ns, Key{"S3", "us-east-1"}); len(e.Pending) != 2 {
		t.Fatalf("the halves left the ledger before their grace period ended: %+v", e.Pending)
	}
	// No publication changes from here on: the requeue alone ends the
	// grace period.
	eventually(t, "the halves to leave the ledger at the end of their grace period", func() (bool, string) {
		e := cl.entry(t, ns, Key{"S3", "us-east-1"})
		return len(e.Pending) == 0, fmt.Sprint(e.Pending)
	})
	if d := time.Since(since); d < grace {
		t.Errorf("the halves left after %s, before their %s grace period", d, grace)
	}
	eventually(t, "Synced=True UpToDate", func() (bool, string) {
		f := cl.fence(t, ns, "training")
		c := condition(f, CondSynced)
		return c.Reason == "UpToDate" && synced(t, f, c, f.Status.SyncToken), c.Reason
	})
	if r.metric(t, "ringfence_errors_total", func(l map[string]string) bool { return l["source"] == "reconcile" }) != 0 {
		t.Errorf("a refusal counted as a reconcile error (backoff instead of the requeue):\n%s", log.String())
	}
}

// A publication that adds sixty prefixes: the Event's note lists a
// few and says how many more, within the API's 1,024 bytes, and is
// recorded; the log has the full list.
func TestLiveEventsWithinLimits(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "events")
	two := readFile(t, april2)
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	if err := cl.c.Create(ctx, optedInPolicy(ns, s3(t, two)[0])); err != nil {
		t.Fatal(err)
	}
	var log testenv.Buffer
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t), log: &log})
	eventually(t, "the policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1), s3(t, two)), ""
	})
	// 60 /24s and longer of EC2 (inside AMAZON, a growth of a few per cent).
	extra := ec2Prefixes(t, two, 60, 24)
	srv.serve(variant(t, two, 1776118025+3600, addS3(false, extra...)))
	waitToken(t, r, 1776118025+3600)
	eventually(t, "RangesUpdated Events on the Fence and the policy", func() (bool, string) {
		notes := cl.events(t, ns, "RangesUpdated")
		n := 0
		for _, note := range notes {
			if strings.Contains(note, "… and ") && strings.Contains(note, " more") {
				n++
			}
		}
		return n >= 2, strings.Join(notes, "\n")
	})
	for _, note := range cl.events(t, ns, "RangesUpdated") {
		if _, text, _ := strings.Cut(note, ": "); len(text) > maxNote {
			t.Errorf("a note of %d bytes: %s", len(text), text)
		}
	}
	for _, p := range extra {
		if !strings.Contains(log.String(), p) {
			t.Fatalf("the log does not have the full change (%s missing)", p)
		}
	}
}

// A user adds an address to the rule the controller manages in an
// opted-in policy: the controller restores the rule in place (no second
// rule), with a Warning Event and the condition annotation, and the
// user's other rule is untouched.
func TestLiveManagedRuleEdited(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "edited")
	two := readFile(t, april2)
	srv := newFeedServer(t, two)
	if err := cl.c.Create(ctx, optedInPolicy(ns, s3(t, two)[0])); err != nil {
		t.Fatal(err)
	}
	cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	want := s3(t, two)
	eventually(t, "the managed rule", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1), want), ""
	})
	p := cl.policy(t, ns, "legacy-egress")
	userRule := p.Spec.Egress[0]
	p.Spec.Egress[1].To = append(p.Spec.Egress[1].To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "198.51.100.0/24"}})
	if err := cl.c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the managed rule restored in place", func() (bool, string) {
		p := cl.policy(t, ns, "legacy-egress")
		return len(p.Spec.Egress) == 2 && slices.Equal(ruleCIDRs(p, 1), want), fmt.Sprint(len(p.Spec.Egress), ruleCIDRs(p, 1))
	})
	cl.hasWarning(t, ns, "ManagedRuleRestored", "edited by hand (added 198.51.100.0/24)", "NetworkPolicy/legacy-egress")
	p = cl.policy(t, ns, "legacy-egress")
	var cond metav1.Condition
	if err := json.Unmarshal([]byte(p.Annotations[ConditionAnnotation]), &cond); err != nil || cond.Reason != "EditedByHand" || !strings.Contains(cond.Message, "198.51.100.0/24") {
		t.Errorf("condition annotation %q: %v", p.Annotations[ConditionAnnotation], err)
	}
	if !equalRule(p.Spec.Egress[0], userRule) {
		t.Errorf("the user's own rule changed: %+v", p.Spec.Egress[0])
	}
	// Restored once: it stays as it is.
	rv := p.ResourceVersion
	waitIdle(t, srv)
	if got := cl.policy(t, ns, "legacy-egress").ResourceVersion; got != rv {
		t.Error("the restored policy was written again")
	}
}

// After a restart, a publication newer than every entry of the ledger
// but older than the last one accepted (which changed no service in use)
// is refused: the ledger records the accepted syncToken.
func TestLiveRestartRefusesOlderThanAccepted(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "restart-older")
	two := readFile(t, april2)
	const t2 = 1776118025
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "the policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, two)), ""
	})
	// T3 changes only EC2 eu-west-1: the S3 entry keeps T2.
	srv.serve(variant(t, two, t2+7200, withoutFor("EC2", firstPrefix(t, two, "EC2", "eu-west-1"))))
	waitToken(t, r, t2+7200)
	eventually(t, "the ledger to record T3", func() (bool, string) {
		return cl.ledger(t, ns)[acceptedKey] == fmt.Sprint(t2+7200), ""
	})
	if e := cl.entry(t, ns, Key{"S3", "us-east-1"}); e.SyncToken != fmt.Sprint(t2) {
		t.Fatalf("the S3 entry names %s, want %d", e.SyncToken, t2)
	}
	r.stop()
	rv := cl.policy(t, ns, "ringfence-training").ResourceVersion
	ledger := cl.ledger(t, ns)
	// A stale mirror serves T2.5, which adds an S3 prefix.
	ec2 := ec2Prefixes(t, two, 1, 24)
	srv.serve(variant(t, two, t2+3600, addS3(false, ec2...)))
	r = cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "FeedHealthy=False: older than T3", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
		return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, fmt.Sprintf("syncToken %d is older than %d", t2+3600, t2+7200)), c.Message
	})
	// The refused publication is read again at each poll (never a 304):
	// let a few polls pass.
	n := srv.requests.Load()
	eventually(t, "the controller to poll again", func() (bool, string) { return srv.requests.Load() >= n+3, "" })
	if got := cl.policy(t, ns, "ringfence-training"); got.ResourceVersion != rv || contains(ruleCIDRs(got, 0), ec2[0]) {
		t.Error("the older publication was applied")
	}
	if !equalMaps(cl.ledger(t, ns), ledger) {
		t.Error("the older publication changed the ledger")
	}
	// Only the Fence's status says FeedHealthy=False.
	if w := r.writes(t, "NetworkPolicy") + r.writes(t, "ConfigMap"); w != 0 {
		t.Errorf("%v policy and ledger writes for an older publication", w)
	}
}

// Two replicas; a prefix leaves the publication and its grace period
// starts under the first leader; the leader goes; the new leader keeps
// the grace period's start from the ledger (not its own first sight) and
// removes the prefix when it ends, not before.
func TestLiveLeaderHandoverDuringGrace(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "handover")
	two := readFile(t, april2)
	const x = "16.15.156.0/22"
	grace := 25 * time.Second
	rules := Rules{Grace: grace, MaxShrink: DefaultMaxShrink}
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	a := cl.run(t, runOptions{ns: ns, source: srv.source(t), election: true, rules: rules})
	b := cl.run(t, runOptions{ns: ns, source: srv.source(t), election: true, rules: rules})
	eventually(t, "the policy", func() (bool, string) {
		return contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x), ""
	})
	srv.serve(variant(t, two, 1776118025+3600, without(x)))
	var since time.Time
	eventually(t, x+" pending in the ledger", func() (bool, string) {
		e := cl.entry(t, ns, Key{"S3", "us-east-1"})
		since = e.Pending[netip.MustParsePrefix(x)]
		return !since.IsZero(), ""
	})
	leader, follower := a, b
	if a.writes(t, "") == 0 {
		leader, follower = b, a
	}
	leader.stop()
	eventually(t, "the follower to lead", func() (bool, string) {
		return follower.metric(t, "ringfence_feed_sync_token", nil) == 1776118025+3600, ""
	})
	if !contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x) && time.Now().Before(since.Add(grace)) {
		t.Fatalf("%s removed at the handover", x)
	}
	eventually(t, x+" removed by the new leader", func() (bool, string) {
		return !contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x), ""
	})
	if now := time.Now(); now.Before(since.Add(grace)) {
		t.Errorf("%s removed %s before its grace period ended", x, since.Add(grace).Sub(now))
	}
	if follower.writes(t, "NetworkPolicy") == 0 {
		t.Error("the removal was not the new leader's write")
	}
	// The new leader did not restart the grace period: the removal came
	// within a few seconds of the first leader's grace end (the takeover
	// alone takes longer than that after the old leader saw it go).
	if late := time.Since(since.Add(grace)); late > 15*time.Second {
		t.Errorf("removed %s after the grace period ended", late)
	}
}

// The API server goes away right after the controller read a new
// publication, in the middle of the update: once it is back, the
// controller converges, the ledger and the policies agree, and the
// Fence's status names one syncToken in its field and its condition.
func TestLiveAPIOutageDuringUpdate(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "outage")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	cl.trainingFence(t, ns)
	cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "the policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, one)), ""
	})
	hit := make(chan struct{})
	srv.mu.Lock()
	srv.served = func(body []byte) {
		if bytes.Equal(body, two) {
			select {
			case <-hit:
			default:
				close(hit)
			}
		}
	}
	srv.mu.Unlock()
	srv.serve(two)
	<-hit
	if err := cl.env.RestartAPIServer(func() { time.Sleep(3 * time.Second) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second publication applied", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, two)), ""
	})
	eventually(t, "a consistent status", func() (bool, string) {
		f := cl.fence(t, ns, "training")
		c := condition(f, CondSynced)
		return f.Status.SyncToken == "1776118025" && synced(t, f, c, f.Status.SyncToken) && condition(f, CondReady).Status == metav1.ConditionTrue, f.Status.SyncToken + " / " + c.Message
	})
	e := cl.entry(t, ns, Key{"S3", "us-east-1"})
	if e.SyncToken != "1776118025" || strs(setOf(e.Published).Prefixes()) != strings.Join(s3(t, two), " ") {
		t.Errorf("the ledger disagrees with the policy: %s %s", e.SyncToken, strs(e.Published))
	}
	if p := cl.policy(t, ns, "ringfence-training"); p.Annotations[SyncTokenAnnotation] != "1776118025" {
		t.Errorf("the policy's syncToken annotation: %s", p.Annotations[SyncTokenAnnotation])
	}
}

// A Fence whose own CIDR intents together allow all of IPv4
// (0.0.0.0/1 and 128.0.0.0/1, each fine on its own) is refused: nothing of
// it is written, it is Ready=False with a Warning, the reconcile is not an
// error; the other Fence of the namespace gets the next publication's
// additions at once.
func TestLiveRefusedRenderBlocksNothingElse(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "refused-render")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	cl.trainingFence(t, ns)
	wide := &v1alpha1.Fence{ObjectMeta: metav1.ObjectMeta{Name: "wide", Namespace: ns}, Spec: v1alpha1.FenceSpec{
		Workloads: metav1.LabelSelector{MatchLabels: map[string]string{"app": "trainer"}},
		Egress: []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: "us-east-1"}},
			{CIDR: &v1alpha1.CIDRDestination{CIDRs: []string{"0.0.0.0/1", "128.0.0.0/1"}, Ports: []v1alpha1.Port{{Protocol: "TCP", Port: 443}}}}},
	}}
	if err := cl.c.Create(ctx, wide); err != nil {
		t.Fatal(err)
	}
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "the wide Fence refused", func() (bool, string) {
		c := condition(cl.fence(t, ns, "wide"), CondReady)
		return c.Status == metav1.ConditionFalse && c.Reason == "Refused" && strings.Contains(c.Message, "0.0.0.0/0"), c.Reason + " " + c.Message
	})
	cl.hasWarning(t, ns, "Refused", "together allow 0.0.0.0/0", "Fence/wide")
	eventually(t, "the training Fence's policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, one)), ""
	})
	srv.serve(two)
	eventually(t, "the second publication's additions in the other Fence's policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, two)), ""
	})
	if p := cl.policy(t, ns, "ringfence-wide"); p != nil {
		t.Errorf("the refused Fence's policy was written: %v", ruleCIDRs(p, 1))
	}
	if got := r.metric(t, "ringfence_errors_total", func(l map[string]string) bool { return l["source"] == "reconcile" }); got != 0 {
		t.Errorf("%v reconcile errors: a refusal must not be an error (backoff) but a requeue", got)
	}
}
