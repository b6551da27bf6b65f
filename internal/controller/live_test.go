package controller

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/feed"
	"github.com/ringfence/ringfence/internal/ranges"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fiveS3 are the /22s the second April publication adds to S3 us-east-1.
var fiveS3 = []string{"16.15.156.0/22", "16.15.160.0/22", "16.15.164.0/22", "16.15.168.0/22", "16.15.172.0/22"}

// optedInPolicy is a hand-written policy whose S3 rule opts in, beside a
// rule of the user's own.
func optedInPolicy(ns, staleS3 string) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	pg, https := intstr.FromInt32(5432), intstr.FromInt32(443)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy-egress", Namespace: ns, Annotations: map[string]string{RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/443"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &pg}}},
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: staleS3}}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &https}}},
			},
		},
	}
}

// The core: the real April publications, served over HTTPS; after the
// second one the S3 us-east-1 rules gain the five /22s and an Event says
// so; a user's edit to a rule the controller does not manage survives; a
// publication that does not touch S3 us-east-1 causes no write at all.
func TestLiveRangesUpdate(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "ml-training")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	f := cl.trainingFence(t, ns)
	first := s3(t, one)
	if err := cl.c.Create(ctx, optedInPolicy(ns, first[0])); err != nil {
		t.Fatal(err)
	}
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})

	eventually(t, "the Fence's policy with the first publication's S3 ranges", func() (bool, string) {
		p := cl.policy(t, ns, "ringfence-training")
		got := ruleCIDRs(p, 0)
		return slices.Equal(got, first), strings.Join(got, " ")
	})
	p := cl.policy(t, ns, "ringfence-training")
	if !metav1.IsControlledBy(p, f) {
		t.Errorf("ringfence-training is not controlled by the Fence: %+v", p.OwnerReferences)
	}
	if dd := cl.policy(t, ns, "ringfence-default-deny"); dd == nil || len(dd.OwnerReferences) != 1 || dd.OwnerReferences[0].UID != f.UID {
		t.Errorf("default-deny missing or not owned by the Fence: %+v", dd)
	}
	eventually(t, "the opted-in policy's managed rule", func() (bool, string) {
		got := ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
		return slices.Equal(got, first), strings.Join(got, " ")
	})
	eventually(t, "the Fence's status", func() (bool, string) {
		f := cl.fence(t, ns, "training")
		return condition(f, CondReady).Status == metav1.ConditionTrue && condition(f, CondFeedHealthy).Status == metav1.ConditionTrue &&
			condition(f, CondSynced).Status == metav1.ConditionTrue && f.Status.SyncToken == "1776110825", f.Status.SyncToken
	})
	for _, c := range ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0) {
		for _, p := range fiveS3 {
			if contains([]string{c}, p) {
				t.Fatalf("%s already allowed before the second publication", p)
			}
		}
	}

	// The user edits their own rule of the opted-in policy.
	legacy := cl.policy(t, ns, "legacy-egress")
	legacy.Spec.Egress[0].To = append(legacy.Spec.Egress[0].To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.30.0.0/16"}})
	if err := cl.c.Update(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	userRule := legacy.Spec.Egress[0]

	srv.serve(two)
	second := s3(t, two)
	eventually(t, "the second publication's S3 ranges in both policies", func() (bool, string) {
		a := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0)
		b := ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
		return slices.Equal(a, second) && slices.Equal(b, second), strings.Join(a, " ")
	})
	for _, name := range []string{"ringfence-training", "legacy-egress"} {
		cidrs := ruleCIDRs(cl.policy(t, ns, name), map[string]int{"ringfence-training": 0, "legacy-egress": 1}[name])
		for _, p := range fiveS3 {
			if !contains(cidrs, p) {
				t.Errorf("%s does not allow %s after the second publication", name, p)
			}
		}
	}
	if got := cl.policy(t, ns, "legacy-egress"); len(got.Spec.Egress) != 2 || !equalRule(got.Spec.Egress[0], userRule) {
		t.Errorf("the user's rule changed: %+v", got.Spec.Egress)
	}
	eventually(t, "Events listing the five /22s", func() (bool, string) {
		notes := cl.events(t, ns, "RangesUpdated")
		for _, regarding := range []string{"Fence/training", "NetworkPolicy/legacy-egress"} {
			found := false
			for _, n := range notes {
				if strings.HasPrefix(n, regarding+":") && strings.Contains(n, "S3@us-east-1 added "+strings.Join(fiveS3, ", ")) {
					found = true
				}
			}
			if !found {
				return false, strings.Join(notes, "\n")
			}
		}
		return true, ""
	})
	t.Logf("Events:\n%s", strings.Join(append(cl.events(t, ns, "RangesUpdated"), cl.events(t, ns, "PolicyCreated")...), "\n"))
	if got := cl.fence(t, ns, "training").Status.SyncToken; got != "1776118025" {
		t.Errorf("status.syncToken %s, want the second publication's", got)
	}

	// A later publication that changes other services only: zero writes.
	eventually(t, "the controller to settle", func() (bool, string) {
		return r.metric(t, "ringfence_feed_sync_token", nil) == 1776118025, ""
	})
	writes, ledgerWrites := r.writes(t, ""), r.writes(t, "ConfigMap")
	before := map[string]string{}
	for _, name := range []string{"ringfence-training", "ringfence-default-deny", "legacy-egress"} {
		before[name] = cl.policy(t, ns, name).ResourceVersion
	}
	fenceRV := cl.fence(t, ns, "training").ResourceVersion
	// EC2 stops listing one of its prefixes; AMAZON keeps it (AURORA_DSQL
	// lists a range inside it, which must stay inside AMAZON).
	other := variant(t, two, 1776125225, withoutFor("EC2", firstPrefix(t, two, "EC2", "eu-west-1")))
	srv.serve(other)
	eventually(t, "the unrelated publication to be accepted", func() (bool, string) {
		return r.metric(t, "ringfence_feed_sync_token", nil) == 1776125225, ""
	})
	// Give the reconcilers the chance to (wrongly) write.
	eventually(t, "conditional GETs of the unchanged publication", func() (bool, string) {
		return srv.notMod.Load() >= 3, ""
	})
	// The one write is the ledger recording the accepted syncToken, so
	// that after a restart nothing older is accepted.
	if got := r.writes(t, ""); got != writes+1 || r.writes(t, "ConfigMap") != ledgerWrites+1 {
		t.Errorf("a publication that does not touch S3 us-east-1 caused %v API writes (%v to the ledger)", got-writes, r.writes(t, "ConfigMap")-ledgerWrites)
	}
	var ledger corev1.ConfigMap
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: DefaultStateName}, &ledger); err != nil || ledger.Data[acceptedKey] != "1776125225" {
		t.Errorf("the ledger does not record the accepted publication: %v %q", err, ledger.Data[acceptedKey])
	}
	for name, rv := range before {
		if got := cl.policy(t, ns, name).ResourceVersion; got != rv {
			t.Errorf("%s was written (resourceVersion %s -> %s)", name, rv, got)
		}
	}
	if got := cl.fence(t, ns, "training").ResourceVersion; got != fenceRV {
		t.Errorf("the Fence (status) was written for an unrelated publication")
	}
}

func equalRule(a, b networkingv1.NetworkPolicyEgressRule) bool {
	if len(a.To) != len(b.To) || len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.To {
		if a.To[i].IPBlock == nil || b.To[i].IPBlock == nil || a.To[i].IPBlock.CIDR != b.To[i].IPBlock.CIDR {
			return false
		}
	}
	return true
}

// firstPrefix returns the first IPv4 prefix published for service in region.
func firstPrefix(t testing.TB, body []byte, service, region string) string {
	t.Helper()
	doc := parseDoc(t, body)
	for _, p := range doc.Prefixes {
		if p.Service == service && p.Region == region && p.Prefix.Addr().Is4() {
			return p.Prefix.String()
		}
	}
	t.Fatalf("no %s prefix in %s", service, region)
	return ""
}

// waitToken waits until the controller has accepted publication token.
func waitToken(t *testing.T, r *running, token float64) {
	t.Helper()
	eventually(t, "publication to be accepted", func() (bool, string) {
		return r.metric(t, "ringfence_feed_sync_token", nil) == token, ""
	})
}

// waitIdle waits until the controller has read the unchanged publication a
// few more times, so that a reconcile that would (wrongly) write has run.
func waitIdle(t *testing.T, srv *feedServer) {
	t.Helper()
	n := srv.notMod.Load()
	eventually(t, "the controller to poll again", func() (bool, string) { return srv.notMod.Load() >= n+3, "" })
}

// A prefix that disappears and comes back within the grace period is
// never removed, across a restart of the controller; one that stays away
// is removed once the grace period ends, and an Event says so.
func TestLiveGracePeriod(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "flap")
	two := readFile(t, april2)
	const x = "16.15.156.0/22"
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t), rules: Rules{Grace: time.Hour, MaxShrink: DefaultMaxShrink}})
	eventually(t, "the policy", func() (bool, string) {
		return contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x), ""
	})
	rv := cl.policy(t, ns, "ringfence-training").ResourceVersion

	srv.serve(variant(t, two, 1776118025+3600, without(x)))
	waitToken(t, r, 1776118025+3600)
	eventually(t, "Synced=True GracePeriod", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondSynced)
		return c.Reason == "GracePeriod" && strings.Contains(c.Message, x), c.Message
	})
	var cm corev1.ConfigMap
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: DefaultStateName}, &cm); err != nil || !strings.Contains(cm.Data[ledgerKey], `"`+x+`"`) {
		t.Fatalf("the ledger does not record %s as pending: %v %s", x, err, cm.Data[ledgerKey])
	}
	if got := cl.policy(t, ns, "ringfence-training"); got.ResourceVersion != rv || !contains(ruleCIDRs(got, 0), x) {
		t.Fatalf("the policy was written when %s disappeared", x)
	}

	// A new controller process continues the grace period from the ledger.
	r.stop()
	r = cl.run(t, runOptions{ns: ns, source: srv.source(t), rules: Rules{Grace: time.Hour, MaxShrink: DefaultMaxShrink}})
	waitToken(t, r, 1776118025+3600)
	srv.serve(variant(t, two, 1776118025+7200, nil))
	waitToken(t, r, 1776118025+7200)
	eventually(t, "Synced=True UpToDate", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondSynced)
		return c.Reason == "UpToDate", c.Message
	})
	waitIdle(t, srv)
	if got := cl.policy(t, ns, "ringfence-training"); got.ResourceVersion != rv {
		t.Fatalf("the policy was written while %s flapped", x)
	}
	// Back within its grace period: it was never removed, and the ledger
	// no longer counts a grace period for it.
	if e := cl.entry(t, ns, Key{"S3", "us-east-1"}); len(e.Pending) != 0 || !contains(strings.Fields(strs(e.Published)), x) {
		t.Fatalf("the ledger after %s came back: published %s, pending %v", x, strs(e.Published), e.Pending)
	}
	if w := r.writes(t, "NetworkPolicy"); w != 0 {
		t.Errorf("%v NetworkPolicy writes for a flap", w)
	}

	// Gone for good: removed after a (short) grace period.
	r.stop()
	grace := 3 * time.Second
	r = cl.run(t, runOptions{ns: ns, source: srv.source(t), rules: Rules{Grace: grace, MaxShrink: DefaultMaxShrink}})
	waitToken(t, r, 1776118025+7200)
	srv.serve(variant(t, two, 1776118025+10800, without(x)))
	gone := time.Now()
	waitToken(t, r, 1776118025+10800)
	if !contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x) {
		t.Fatalf("%s removed before its grace period ended", x)
	}
	eventually(t, x+" removed after the grace period", func() (bool, string) {
		return !contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), x), ""
	})
	if d := time.Since(gone); d < grace {
		t.Errorf("%s removed after %s, before the %s grace period", x, d, grace)
	}
	eventually(t, "an Event naming the removed prefix", func() (bool, string) {
		notes := cl.events(t, ns, "RangesUpdated")
		for _, n := range notes {
			if strings.Contains(n, "removed "+x) {
				return true, ""
			}
		}
		return false, strings.Join(notes, "\n")
	})
}

// A truncated, garbage or older publication changes nothing and sets
// FeedHealthy=False; a valid one that would remove too many prefixes, or
// allow the whole address space, is refused and reported.
func TestLiveBadFeeds(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "bad-feeds")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, two)
	cl.trainingFence(t, ns)
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "the policy", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondReady)
		return c.Status == metav1.ConditionTrue, c.Message
	})
	rv := cl.policy(t, ns, "ringfence-training").ResourceVersion
	writes := r.writes(t, "NetworkPolicy")
	unchanged := func(what string) {
		t.Helper()
		if got := cl.policy(t, ns, "ringfence-training"); got.ResourceVersion != rv {
			t.Errorf("%s: the policy was written", what)
		}
		if got := r.writes(t, "NetworkPolicy"); got != writes {
			t.Errorf("%s: %v NetworkPolicy writes", what, got-writes)
		}
	}
	for _, bad := range []struct {
		name, message string
		body          []byte
	}{
		{"truncated", "not an ip-ranges.json document", two[:len(two)/2]},
		{"garbage", "not an ip-ranges.json document", []byte("<html><body>503 Service Unavailable</body></html>")},
		{"older", "syncToken 1776110825 is older than 1776118025", one},
	} {
		srv.serve(bad.body)
		eventually(t, bad.name+": FeedHealthy=False", func() (bool, string) {
			c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
			return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, bad.message), c.Message
		})
		unchanged(bad.name)
		srv.serve(two)
		eventually(t, bad.name+": FeedHealthy=True again", func() (bool, string) {
			c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
			return c.Status == metav1.ConditionTrue, c.Message
		})
		unchanged(bad.name + ", then the good one again")
	}

	// Five of the 21 IPv4 prefixes (and none of IPv6) gone at once: 5/(21+IPv6) is
	// below 20%, so drop IPv6 too.
	doc := parseDoc(t, two)
	drop := map[string]bool{}
	for _, p := range doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}}) {
		if len(drop) < 10 {
			drop[p.Prefix.String()] = true
		}
	}
	shrunk := variant(t, two, 1776118025+3600, func(ps []any) []any {
		var out []any
		for _, x := range ps {
			if !drop[x.(map[string]any)["ip_prefix"].(string)] {
				out = append(out, x)
			}
		}
		return out
	})
	srv.serve(shrunk)
	waitToken(t, r, 1776118025+3600)
	eventually(t, "Synced=False ShrinkRefused", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondSynced)
		return c.Status == metav1.ConditionFalse && c.Reason == "ShrinkRefused", c.Message
	})
	eventually(t, "a Warning Event", func() (bool, string) {
		return len(cl.events(t, ns, "ShrinkRefused")) > 0, ""
	})
	unchanged("shrink")
	if r.metric(t, "ringfence_shrink_refused_total", nil) < 1 {
		t.Error("ringfence_shrink_refused_total not counted")
	}

	// The whole address space published for S3: refused.
	everything := variant(t, two, 1776118025+7200, func(ps []any) []any {
		return append(ps, map[string]any{"ip_prefix": "0.0.0.0/0", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"})
	})
	// Refused as a whole before it reaches the ledger: S3 would cover all
	// of IPv4, and 0.0.0.0/0 is not in AMAZON.
	srv.serve(everything)
	eventually(t, "FeedHealthy=False PublicationRefused", func() (bool, string) {
		c := condition(cl.fence(t, ns, "training"), CondFeedHealthy)
		return c.Reason == "PublicationRefused" && strings.Contains(c.Message, "0.0.0.0/0"), c.Message
	})
	unchanged("0.0.0.0/0")
	if contains(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), "0.0.0.0/1") {
		t.Fatal("0.0.0.0/0 written")
	}

	// Air-gapped clusters: the publication in a ConfigMap, gzipped (it is
	// larger than a ConfigMap may be), with its md5.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(two)
	_ = zw.Close()
	sum := md5.Sum(two)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "aws-ip-ranges", Namespace: ns},
		BinaryData: map[string][]byte{"ip-ranges.json.gz": gz.Bytes()}, Data: map[string]string{"md5": hex.EncodeToString(sum[:])}}
	if err := cl.c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	src := &feed.ConfigMap{Reader: cl.c, Namespace: ns, Name: "aws-ip-ranges"}
	f, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d, err := feed.Verify(f, "1776110825"); err != nil || d.SyncToken != "1776118025" {
		t.Fatalf("ConfigMap source: %v", err)
	}
	src.Commit(f)
	if f, err := src.Fetch(context.Background()); err != nil || !f.NotModified {
		t.Errorf("unchanged ConfigMap: %v %v", f.NotModified, err)
	}
	cm.Data["md5"] = "e13c06025893d095344096ded2708363"
	if err := cl.c.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	f, err = src.Fetch(context.Background())
	if err != nil || f.NotModified {
		t.Fatalf("a changed md5 read as unchanged: %v", err)
	}
	if _, err := feed.Verify(f, ""); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a wrong md5 in the ConfigMap: %v", err)
	}
}

// The API server goes away mid-run while a new publication arrives: the
// controller keeps trying, and converges once the API server is back.
func TestLiveAPIServerRestart(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "restart")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	cl.trainingFence(t, ns)
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	first, second := s3(t, one), s3(t, two)
	eventually(t, "the policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), first), ""
	})
	errorsBefore := r.metric(t, "ringfence_errors_total", nil)
	err := cl.env.RestartAPIServer(func() {
		srv.serve(two)
		eventually(t, "the controller to fail against the stopped API server", func() (bool, string) {
			return r.metric(t, "ringfence_errors_total", nil) > errorsBefore, ""
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second publication applied after the restart", func() (bool, string) {
		got := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0)
		return slices.Equal(got, second), strings.Join(got, " ")
	})
	eventually(t, "status", func() (bool, string) {
		f := cl.fence(t, ns, "training")
		return f.Status.SyncToken == "1776118025" && condition(f, CondReady).Status == metav1.ConditionTrue, f.Status.SyncToken
	})
}

// Two replicas: one leader writes, the other does not; when the leader
// goes, the other takes over.
func TestLiveTwoReplicas(t *testing.T) {
	cl := startCluster(t)
	ns := cl.namespace(t, "ha")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	cl.trainingFence(t, ns)
	a := cl.run(t, runOptions{ns: ns, source: srv.source(t), election: true})
	b := cl.run(t, runOptions{ns: ns, source: srv.source(t), election: true})
	eventually(t, "the policy", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, one)), ""
	})
	waitIdle(t, srv)
	wa, wb := a.writes(t, ""), b.writes(t, "")
	if (wa == 0) == (wb == 0) {
		t.Fatalf("writes by replica a: %v, b: %v; want exactly one writer", wa, wb)
	}
	leader, follower := a, b
	if wa == 0 {
		leader, follower = b, a
	}
	leader.stop()
	srv.serve(two)
	eventually(t, "the follower to take over and apply the second publication", func() (bool, string) {
		return slices.Equal(ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0), s3(t, two)), ""
	})
	if follower.writes(t, "NetworkPolicy") == 0 {
		t.Error("the new leader wrote nothing")
	}
}
