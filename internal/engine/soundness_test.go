package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// The metamorphic test of soundness: take a world whose facts are complete
// (every pod's address, every label's value, every policy's content),
// compute the verdicts, remove facts at random and compute again. A
// verdict may move from allowed or denied to unknown, never from allowed
// to denied or back, and an unknown stays unknown.

// podRange holds every address the complete worlds give pods: the range a
// user would pass as --pod-cidr.
var podRange = netip.MustParsePrefix("10.0.0.0/14")

// completeWorld is a random world with every fact known: the oracle
// worlds' policies and pods, each pod with an address and a value for
// every label.
func completeWorld(r *rand.Rand) *model.World {
	w, _ := randomWorld(r)
	// The outside addresses are no pod's.
	used := map[netip.Addr]bool{}
	for _, a := range outsideAddresses {
		used[netip.MustParseAddr(a)] = true
	}
	for _, wl := range w.Workloads {
		t := wl.Pods[0]
		for _, ip := range t.IPs {
			if used[ip] {
				t.IPs = nil
			}
			used[ip] = true
		}
	}
	for _, wl := range w.Workloads {
		t := wl.Pods[0]
		for len(t.IPs) == 0 {
			ip := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(1 + r.IntN(250))})
			if !used[ip] {
				used[ip] = true
				t.IPs = []netip.Addr{ip}
			}
		}
	}
	return w
}

// clone copies what removing facts changes: workloads' templates, the
// policy list.
func clone(w *model.World) *model.World {
	c := *w
	c.Workloads = nil
	for _, wl := range w.Workloads {
		cw := *wl
		t := *wl.Pods[0]
		t.Labels = map[string]string{}
		for k, v := range wl.Pods[0].Labels {
			t.Labels[k] = v
		}
		cw.Pods = []*model.PodTemplate{&t}
		c.Workloads = append(c.Workloads, &cw)
	}
	c.Policies = append([]*model.NetworkPolicy(nil), w.Policies...)
	return &c
}

// removeFacts takes facts away at random, each a way real inputs are
// incomplete, and says which. The pod range stays a superset of the
// addresses, as --pod-cidr, the Nodes or the VPC give it.
func removeFacts(r *rand.Rand, w *model.World) (*model.World, []netip.Prefix, []string) {
	c := clone(w)
	var done []string
	for _, wl := range c.Workloads {
		t := wl.Pods[0]
		if r.IntN(2) == 0 {
			t.IPs = nil
			done = append(done, "address of "+wl.Name+"."+wl.Namespace)
		}
		if v, ok := t.Labels["tier"]; ok && r.IntN(3) == 0 {
			delete(t.Labels, "tier")
			t.VaryingLabels = []string{"tier"}
			done = append(done, "tier="+v+" of "+wl.Name+"."+wl.Namespace)
		}
	}
	if len(c.Policies) > 0 && r.IntN(4) == 0 {
		// A policy of a kind ringfence does not evaluate.
		i := r.IntN(len(c.Policies))
		p := c.Policies[i]
		c.Policies = append(c.Policies[:i:i], c.Policies[i+1:]...)
		c.ForeignPolicies = append(c.ForeignPolicies, &model.Meta{Kind: "CiliumNetworkPolicy", APIVersion: "cilium.io/v2", Namespace: p.Namespace, Name: p.Name})
		done = append(done, "policy "+p.Namespace+"/"+p.Name+" foreign")
	}
	if r.IntN(5) == 0 {
		// The policies of a namespace could not be read.
		ns := []string{"x", "y", "z"}[r.IntN(3)]
		var kept []*model.NetworkPolicy
		for _, p := range c.Policies {
			if p.Namespace != ns {
				kept = append(kept, p)
			}
		}
		c.Policies = kept
		c.Unread = append(c.Unread, model.Unread{Kind: "NetworkPolicy", Namespace: ns, Reason: "forbidden"})
		done = append(done, "policies of "+ns+" unread")
	}
	var cidrs []netip.Prefix
	if r.IntN(2) == 0 {
		cidrs = []netip.Prefix{podRange}
	}
	return c, cidrs, done
}

// verdicts answers every question of a world: pod to pod, pod to address,
// address to pod, on sample ports, by explain (the same engine as reach).
func verdicts(t *testing.T, w *model.World, cidrs []netip.Prefix, outside []string) map[string]string {
	t.Helper()
	a, err := Analyse(w, Options{Level: LevelWorkload, PodCIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	var ends []string
	for _, wl := range w.Workloads {
		ends = append(ends, wl.Namespace+"/"+wl.Name)
	}
	out := map[string]string{}
	ask := func(from, to string) {
		for _, proto := range netset.Protocols {
			e, err := Explain(a, from, to, proto, 0)
			if err != nil {
				t.Fatal(err)
			}
			v := Verdict{Allowed: e.Allowed, Unknown: e.Unknown}
			for _, n := range samplePorts {
				out[fmt.Sprintf("%s => %s %s/%d", from, to, proto, n)] = v.State(proto, n)
			}
		}
	}
	for _, s := range ends {
		for _, d := range ends {
			ask(s, d)
		}
		for _, ip := range outside {
			ask(s, ip)
			ask(ip, s)
		}
	}
	return out
}

// outsideAddresses are addresses no pod has, chosen to fall inside and
// outside the worlds' ipBlocks and the pod range.
var outsideAddresses = []string{"10.0.0.129", "10.1.9.9", "10.200.0.1", "52.216.1.1", "8.8.8.8", "2600:1f18::1"}

func checkSound(t *testing.T, r *rand.Rand, iter int) {
	w := completeWorld(r)
	full := verdicts(t, w, []netip.Prefix{podRange}, outsideAddresses)
	for k := 0; k < 3; k++ {
		less, cidrs, removed := removeFacts(r, w)
		got := verdicts(t, less, cidrs, outsideAddresses)
		for q, before := range full {
			after := got[q]
			if after == before || after == StateUnknown {
				continue
			}
			t.Fatalf("iteration %d: %s was %s with every fact, %s without %s (pod range %v)\npolicies: %s",
				iter, q, before, after, strings.Join(removed, ", "), cidrs, describe(w))
		}
	}
}

func TestSoundWhenFactsAreRemoved(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	n := 150
	if testing.Short() {
		n = 30
	}
	for iter := 0; iter < n; iter++ {
		checkSound(t, r, iter)
	}
}

// The complete worlds still agree with the oracle: removing facts is
// measured from the truth.
func TestCompleteWorldsAreDecided(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 23))
	for iter := 0; iter < 50; iter++ {
		w := completeWorld(r)
		for q, v := range verdicts(t, w, []netip.Prefix{podRange}, outsideAddresses) {
			hostNetwork := false
			for _, wl := range w.Workloads {
				hostNetwork = hostNetwork || wl.Pods[0].HostNetwork
			}
			// Only host-network pods leave a complete world undecided:
			// upstream leaves selectors on them to the CNI.
			if v == StateUnknown && !hostNetwork {
				t.Fatalf("iteration %d: %s is unknown though every fact is given\npolicies: %s", iter, q, describe(w))
			}
		}
	}
}

func FuzzSoundness(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(13), uint64(17))
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		checkSound(t, rand.New(rand.NewPCG(s1, s2)), 0)
	})
}

// Kinds that could not be read make the verdicts they could change
// unknown: NetworkPolicies unread in one namespace leave the others
// decided; unread everywhere, nothing is.
func TestUnreadPolicies(t *testing.T) {
	pod := func(ns, name string) *model.Workload {
		return &model.Workload{Meta: model.Meta{Kind: "Pod", Namespace: ns, Name: name}, Pods: []*model.PodTemplate{{Replicas: 1, Labels: map[string]string{"app": name}}}}
	}
	w := &model.World{
		Namespaces: []*model.Namespace{
			{Meta: model.Meta{Name: "a", Labels: map[string]string{model.NamespaceNameLabel: "a"}}},
			{Meta: model.Meta{Name: "b", Labels: map[string]string{model.NamespaceNameLabel: "b"}}},
		},
		Workloads: []*model.Workload{pod("a", "x"), pod("b", "y"), pod("b", "z")},
		Unread:    []model.Unread{{Kind: "NetworkPolicy", Namespace: "a", Reason: "forbidden: cannot list networkpolicies.networking.k8s.io in namespace a"}},
	}
	state := func(from, to string) (string, []string) {
		a, err := Analyse(w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := Explain(a, from, to, netset.TCP, 80)
		if err != nil {
			t.Fatal(err)
		}
		return e.Verdict, e.Missing
	}
	if v, missing := state("b/y", "a/x"); v != StateUnknown || !strings.Contains(strings.Join(missing, " "), "forbidden") {
		t.Errorf("into the unread namespace: %s %v", v, missing)
	}
	if v, _ := state("b/y", "b/z"); v != StateAllowed {
		t.Errorf("between pods of a read namespace: %s", v)
	}
	w.Unread = []model.Unread{{Kind: "NetworkPolicy", Reason: "forbidden at cluster scope"}}
	if v, _ := state("b/y", "b/z"); v != StateUnknown {
		t.Errorf("policies unread everywhere: %s", v)
	}
	// A kind that decides no traffic changes nothing.
	w.Unread = []model.Unread{{Kind: "Secret", Reason: "forbidden"}}
	if v, _ := state("b/y", "a/x"); v != StateAllowed {
		t.Errorf("Secrets unread: %s", v)
	}
}
