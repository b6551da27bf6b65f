package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// classesAgreeWithWalk compares Reach with its classes (egress classes,
// tiered sources among them, connections with address parts shared per
// class, the fences' verdicts by place) against Reach judging every
// source, pair and part on its own (Analysis.walk). It returns how many
// classes of more than one member took part, as egress classes of tiered
// sources, and external classes.
func classesAgreeWithWalk(t *testing.T, w *model.World, opts Options, what string, settled *[2]int) (tiered, shared int) {
	t.Helper()
	a, err := Analyse(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	walk, err := Analyse(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	walk.walk = true
	got, want := a.Reach(), walk.Reach()
	for _, c := range []struct {
		name      string
		got, want []Connection
	}{{"connections", got.Connections, want.Connections}, {"self", got.Self, want.Self}} {
		if reflect.DeepEqual(c.got, c.want) {
			continue
		}
		for i := range min(len(c.got), len(c.want)) {
			if !reflect.DeepEqual(c.got[i], c.want[i]) {
				g, _ := json.Marshal(c.got[i])
				w, _ := json.Marshal(c.want[i])
				t.Fatalf("%s: %s differ from the walk at %d:\nclasses %s\nwalk    %s", what, c.name, i, g, w)
			}
		}
		t.Fatalf("%s: %d %s with classes, %d walked", what, len(c.got), c.name, len(c.want))
	}
	for _, g := range egressClasses(a.g.identities) {
		if len(g) > 1 && a.g.identities[g[0]].tiers != nil {
			tiered++
		}
	}
	if settled != nil {
		settledPairs(a, settled)
	}
	x := a.newExtClasses()
	for dir := range 2 {
		n := make([]int, len(x.lists[dir]))
		for _, c := range x.of[dir] {
			if n[c]++; n[c] == 2 {
				shared++
			}
		}
	}
	return tiered, shared
}

// settledPairs counts the pairs Reach settles for others (pairMemo.settle):
// sources of one egress class of several members, with one tiers' peer
// class, that a destination's ingress admits only by the tiers' Admin
// Accepts; n[0] those whose verdict lets nothing through (the others are
// never tried), n[1] those whose verdict lets something through.
func settledPairs(a *Analysis, n *[2]int) {
	ids := a.g.identities
	for _, group := range egressClasses(ids) {
		if len(group) < 2 || len(group) > 64 {
			continue
		}
		targets := newSetPool(len(ids)).builder()
		if egressTargets(ids[group[0]], targets) {
			continue
		}
		targets.each(func(d int) {
			only := ids[d].tierOnlySources()
			alike := map[int32]int{}
			for _, i := range group {
				if !hasBit(only, i) {
					continue
				}
				k := ids[d].tiers.peer[0][i]
				if alike[k]++; alike[k] == 2 {
					s, d := ids[i], ids[d]
					if sideOf(s, d, nil, true, true).and(sideOf(d, s, nil, false, true)).IsEmpty() {
						n[0]++
					} else {
						n[1]++
					}
				}
			}
		})
	}
}

// TestReachClassesAgreeWithWalk holds Reach's classes to a walk of every
// source and pair on its own: on the oracle's random worlds with tiered
// policies in both profiles (the eks profile accepts what comes from the
// pod's own node; host-network pods, maybe-selections, named ports), and
// on generated clusters with security groups, network ACLs and routes,
// tiered policies, host-network workloads, and workloads moved to other
// node pools so that the members of one egress class sit in different
// groups and subnets. A class that merged sources whose verdicts differ
// would give one of them the other's connections.
func TestReachClassesAgreeWithWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 23))
	tiered, shared := 0, 0
	var settled [2]int
	for iter := range 300 {
		profile := []model.TierProfile{model.ProfileUpstream, model.ProfileEKS}[iter%2]
		w, _ := randomWorld(r)
		randomTiers(r, w, profile)
		// A guardrail on addresses for one namespace's pods: their
		// connections with address parts differ from their neighbours'.
		w.TierPolicies = append(w.TierPolicies, &model.TierPolicy{Meta: model.Meta{Kind: "ClusterNetworkPolicy", APIVersion: "policy.networking.k8s.io/v1alpha2", Name: "guard"},
			Tier: model.TierAdmin, Priority: 50, Subject: model.TierSubject{Namespaces: metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: "x"}}},
			Egress: []model.TierRule{{Action: model.ActionDeny, Networks: []string{"52.216.0.0/15", "10.0.0.0/24"}}}})
		sort.SliceStable(w.TierPolicies, func(i, j int) bool {
			a, b := w.TierPolicies[i], w.TierPolicies[j]
			if a.Tier != b.Tier {
				return a.Tier == model.TierAdmin
			}
			return a.Priority < b.Priority
		})
		def := DefaultAllow
		if iter%4 == 3 {
			def = DefaultDeny // eks: strict mode
		}
		tc, sc := classesAgreeWithWalk(t, w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile, Default: def}}, fmt.Sprintf("iteration %d (%s, default %s)\n%s", iter, profile, def, describe(w)), &settled)
		tiered, shared = tiered+tc, shared+sc
	}
	if tiered == 0 || shared == 0 {
		t.Fatalf("random worlds: %d egress classes of tiered sources, %d shared external classes: the test compares nothing", tiered, shared)
	}
	for seed := range uint64(3) {
		w := generatedAWSWorld(t, seed)
		for _, profile := range []model.TierProfile{model.ProfileEKS, model.ProfileUpstream} {
			tc, sc := classesAgreeWithWalk(t, w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile}}, fmt.Sprintf("generated cluster, seed %d (%s)", seed, profile), &settled)
			if tc == 0 || sc == 0 {
				t.Fatalf("generated cluster, seed %d: %d egress classes of tiered sources, %d shared external classes", seed, tc, sc)
			}
		}
	}
	w := acceptedWorld(t)
	for _, profile := range []model.TierProfile{model.ProfileEKS, model.ProfileUpstream} {
		classesAgreeWithWalk(t, w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile}}, fmt.Sprintf("Admin Accepts (%s)", profile), &settled)
	}
	if settled[0] == 0 || settled[1] == 0 {
		t.Fatalf("%d pairs settled for others that let nothing through, %d that let something through: the test compares nothing there", settled[0], settled[1])
	}
}

// acceptedWorld is a cluster where Admin Accepts admit sources that the
// destinations' NetworkPolicies do not: the pods of namespace a (env
// prod), in one egress class, reach b's pods on 443, which b's Admin
// Accept admits from prod namespaces, and c's on 443 too, where c's
// Admin Accepts admit 22 (nothing passes) but 443 from a4 (the tiers tell
// it apart: a peer class of its own); pod a3 (of a2's peer class) is
// also what b's and c's NetworkPolicies admit, so it reaches c1 on 443
// where its neighbours reach nothing. b's rule for app b1 tells a's pods apart (the
// identities are label sets selectors read).
func acceptedWorld(t *testing.T) *model.World {
	t.Helper()
	dir := t.TempDir()
	const y = `apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: t}}
---
apiVersion: v1
kind: Namespace
metadata: {name: c, labels: {team: u}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: in, namespace: b}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: admin}}}]
  - from: [{podSelector: {matchLabels: {app: b1}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: in, namespace: c}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: admin}}}]
    ports: [{port: 443}]
---
apiVersion: networking.k8s.aws/v1alpha1
kind: ClusterNetworkPolicy
metadata: {name: accept-prod}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: t}}}
  ingress:
  - {action: Accept, from: [{namespaces: {matchLabels: {env: prod}}}], ports: [{portNumber: {port: 443}}]}
---
apiVersion: networking.k8s.aws/v1alpha1
kind: ClusterNetworkPolicy
metadata: {name: accept-ssh}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {matchLabels: {team: u}}}
  ingress:
  - {action: Accept, from: [{namespaces: {matchLabels: {env: prod}}}], ports: [{portNumber: {port: 22}}]}
  - {action: Accept, from: [{pods: {namespaceSelector: {matchLabels: {env: prod}}, podSelector: {matchLabels: {app: a4}}}}], ports: [{portNumber: {port: 443}}]}
`
	var b strings.Builder
	b.WriteString(y)
	for _, p := range []struct{ ns, name, labels string }{
		{"a", "a1", "{app: a1}"}, {"a", "a2", "{app: a2}"}, {"a", "a3", "{app: a3, role: admin}"}, {"a", "a4", "{app: a4}"},
		{"b", "b1", "{app: b1}"}, {"b", "b2", "{app: b2}"}, {"c", "c1", "{app: c1}"},
	} {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s, labels: %s}\nspec: {containers: [{name: c, image: x, ports: [{name: https, containerPort: 443}]}]}\n", p.name, p.ns, p.labels)
	}
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	return res.World
}

// generatedAWSWorld is a generated cluster with security groups, EKS
// ClusterNetworkPolicies, a VPC layer whose pools' subnets differ (network
// ACLs and routes), some host-network workloads, and some workloads moved
// to the next pool: members of one namespace's egress class then have
// different places.
func generatedAWSWorld(t *testing.T, seed uint64) *model.World {
	t.Helper()
	const pools = 4
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 24, Workloads: 6, Policies: 5, SecurityGroups: 2 * pools, Seed: seed, Out: dir}); err != nil {
		t.Fatal(err)
	}
	var tiers strings.Builder
	for i := range 12 {
		team := fmt.Sprintf("team-%02d", i%6)
		fmt.Fprintf(&tiers, "---\napiVersion: networking.k8s.aws/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: g%02d}\nspec:\n", i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&tiers, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  egress:\n  - {action: Deny, to: [{networks: [169.254.169.254/32, 10.0.17.0/24]}]}\n", i, team)
		case 1:
			fmt.Fprintf(&tiers, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  ingress:\n  - {action: Accept, from: [{namespaces: {matchLabels: {env: prod}}}], ports: [{portNumber: {port: 443}}]}\n", i, team)
		case 2:
			fmt.Fprintf(&tiers, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  egress:\n  - {action: Pass, to: [{namespaces: {}}]}\n  - {action: Deny, to: [{networks: [0.0.0.0/0]}], ports: [{portNumber: {port: 25}}]}\n", i, team)
		default:
			fmt.Fprintf(&tiers, "  tier: Baseline\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}\n", i, team)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tiers.yaml"), []byte(tiers.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	w := res.World
	for i, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			switch i % 7 {
			case 3:
				pt.HostNetwork = true
			case 5:
				if pool := pt.NodeSelector["ringfence.dev/pool"]; pool != "" {
					var p int
					fmt.Sscanf(pool, "pool-%d", &p)
					pt.NodeSelector = map[string]string{"ringfence.dev/pool": fmt.Sprintf("pool-%02d", (p+1)%pools)}
				}
			}
		}
	}
	p := netip.MustParsePrefix
	const vpc = "vpc-0abc1234def567890"
	net := &w.Network
	net.VPCs = []*model.VPC{{ID: vpc, CIDRs: []netip.Prefix{p("10.0.0.0/16")}}}
	net.Subnets = []*model.Subnet{{ID: "subnet-public", VPC: vpc, CIDR: p("10.0.0.0/24")}}
	net.NATGateways = []*model.NATGateway{{ID: "nat-1", VPC: vpc, Subnet: "subnet-public", Connectivity: "public"}}
	net.RouteTables = []*model.RouteTable{{ID: "rtb-main", VPC: vpc, Associations: []model.RouteAssociation{{Main: true}}, Routes: []model.Route{
		{Destination: p("10.0.0.0/16"), TargetType: model.TargetLocal, Target: "local"},
		{Destination: p("0.0.0.0/0"), TargetType: model.TargetInternetGateway, Target: "igw-1"},
	}}}
	net.NetworkACLs = []*model.NetworkACL{{ID: "acl-default", VPC: vpc, IsDefault: true, Entries: []model.NACLEntry{
		entry(100, true, "-1", -1, -1, "0.0.0.0/0", true), entry(100, false, "-1", -1, -1, "0.0.0.0/0", true),
	}}}
	for i := range pools {
		id := fmt.Sprintf("subnet-pool-%02d", i)
		net.Subnets = append(net.Subnets, &model.Subnet{ID: id, VPC: vpc, CIDR: p(fmt.Sprintf("10.0.%d.0/24", 16+i))})
		entries := []model.NACLEntry{entry(100, false, "-1", -1, -1, "10.0.0.0/16", true), entry(100, true, "-1", -1, -1, "0.0.0.0/0", true)}
		if i%2 == 1 {
			// Pools told apart: no return traffic from the internet,
			// no SSH out of the pool.
			entries = append(entries, entry(90, true, "tcp", 22, 22, "0.0.0.0/0", false))
		} else {
			entries = append(entries, entry(110, false, "tcp", 1024, 65535, "0.0.0.0/0", true))
		}
		net.NetworkACLs = append(net.NetworkACLs, &model.NetworkACL{ID: fmt.Sprintf("acl-pool-%02d", i), VPC: vpc, Subnets: []string{id}, Entries: entries})
		rt := &model.RouteTable{ID: fmt.Sprintf("rtb-pool-%02d", i), VPC: vpc, Associations: []model.RouteAssociation{{Subnet: id}}, Routes: []model.Route{
			{Destination: p("10.0.0.0/16"), TargetType: model.TargetLocal, Target: "local"},
		}}
		if i%2 == 0 {
			rt.Routes = append(rt.Routes, model.Route{Destination: p("0.0.0.0/0"), TargetType: model.TargetNATGateway, Target: "nat-1"})
		}
		net.RouteTables = append(net.RouteTables, rt)
	}
	return w
}

// TestVerdictKeys holds the key that interns shared side verdicts to the
// verdicts' equality: equal for equal verdicts, different when ports,
// unknown ports or reasons (or their order) differ.
func TestVerdictKeys(t *testing.T) {
	tcp := func(lo, hi int32) netset.Ports { return netset.PortRange(netset.TCP, lo, hi) }
	verdicts := []Verdict{
		{},
		{Allowed: tcp(80, 80)},
		{Allowed: tcp(80, 81)},
		{Allowed: netset.PortRange(netset.UDP, 80, 80)},
		{Unknown: tcp(80, 80)},
		{Unknown: tcp(80, 80), Reasons: []string{"a"}},
		{Unknown: tcp(80, 80), Reasons: []string{"b"}},
		{Unknown: tcp(80, 80), Reasons: []string{"a", "b"}},
		{Unknown: tcp(80, 80), Reasons: []string{"b", "a"}},
		{Unknown: tcp(80, 80), Reasons: []string{"ab"}},
		{Allowed: tcp(80, 80), Unknown: tcp(443, 443)},
		{Allowed: tcp(443, 443), Unknown: tcp(80, 80)},
		allowAll(),
	}
	for i, a := range verdicts {
		for j, b := range verdicts {
			ka, kb := string(appendVerdictKey(nil, a)), string(appendVerdictKey(nil, b))
			if (ka == kb) != (i == j) {
				t.Errorf("verdicts %d (%+v) and %d (%+v): keys equal %v", i, a, j, b, ka == kb)
			}
		}
		// The same value built anew has the same key.
		c := Verdict{Allowed: a.Allowed.Union(netset.Ports{}), Unknown: a.Unknown.Union(netset.Ports{}), Reasons: append([]string(nil), a.Reasons...)}
		if string(appendVerdictKey(nil, c)) != string(appendVerdictKey(nil, a)) {
			t.Errorf("verdict %d rebuilt: another key", i)
		}
	}
}
