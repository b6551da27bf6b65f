package cli

import (
	"context"
	"fmt"
	"github.com/ringfence/ringfence/internal/benchcpu"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
)

// tierGuardrails writes n EKS ClusterNetworkPolicies of the kinds platform
// teams write (IMDS denies per team, monitoring accepts, passes, baseline
// denies), against gencluster's team and env namespace labels.
func tierGuardrails(n int) string {
	var b strings.Builder
	for i := range n {
		team := fmt.Sprintf("team-%02d", i%20)
		fmt.Fprintf(&b, "---\napiVersion: networking.k8s.aws/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: g%02d}\nspec:\n", i)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  egress:\n  - {action: Deny, to: [{networks: [169.254.169.254/32]}]}\n", i, team)
		case 1:
			fmt.Fprintf(&b, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  ingress:\n  - {action: Accept, from: [{namespaces: {matchLabels: {env: prod}}}], ports: [{portNumber: {port: 443}}]}\n", i, team)
		case 2:
			fmt.Fprintf(&b, "  tier: Admin\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  egress:\n  - {action: Pass, to: [{namespaces: {}}]}\n  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}\n", i, team)
		case 3:
			fmt.Fprintf(&b, "  tier: Baseline\n  priority: %d\n  subject: {namespaces: {matchLabels: {team: %s}}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}\n", i, team)
		default:
			fmt.Fprintf(&b, "  tier: Admin\n  priority: %d\n  subject: {pods: {namespaceSelector: {matchLabels: {team: %s}}, podSelector: {}}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}], ports: [{portNumber: {port: 22}}]}\n", i, team)
		}
	}
	return b.String()
}

// BenchmarkReachTiers: reach on the 1,000-namespace synthetic cluster with
// 50 ClusterNetworkPolicies against the same cluster without them; the
// target is a ratio (tiers/plain-cpu, CPU time) of at most 1.5.
func BenchmarkReachTiers(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	plain, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-tiers.yaml"), []byte(tierGuardrails(50)), 0o644); err != nil {
		b.Fatal(err)
	}
	tiered, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	if len(tiered.World.TierPolicies) != 50 {
		b.Fatalf("%d tiered policies loaded, want 50", len(tiered.World.TierPolicies))
	}
	// Wall time on a shared machine says more about the neighbours than
	// about ringfence: CPU time (user and system) is what is compared.
	var plainNs, tierNs int64
	var plainCPU, tierCPU time.Duration
	var conns [2]int
	for b.Loop() {
		start, cpu0 := time.Now().UnixNano(), benchcpu.Time()
		r, err := engine.Reach(plain.World, engine.Options{Level: engine.LevelWorkload})
		if err != nil {
			b.Fatal(err)
		}
		mid, cpu1 := time.Now().UnixNano(), benchcpu.Time()
		rt, err := engine.Reach(tiered.World, engine.Options{Level: engine.LevelWorkload})
		if err != nil {
			b.Fatal(err)
		}
		plainNs += mid - start
		tierNs += time.Now().UnixNano() - mid
		plainCPU += cpu1 - cpu0
		tierCPU += benchcpu.Time() - cpu1
		conns = [2]int{len(r.Connections), len(rt.Connections)}
	}
	b.ReportMetric(float64(plainNs)/float64(b.N)/1e6, "plain-ms/op")
	b.ReportMetric(float64(tierNs)/float64(b.N)/1e6, "tiers-ms/op")
	b.ReportMetric(float64(plainCPU.Milliseconds())/float64(b.N), "plain-cpu-ms/op")
	b.ReportMetric(float64(tierCPU.Milliseconds())/float64(b.N), "tiers-cpu-ms/op")
	b.ReportMetric(float64(tierCPU)/float64(plainCPU), "tiers/plain-cpu")
	b.ReportMetric(float64(tierNs)/float64(plainNs), "tiers/plain")
	b.ReportMetric(float64(conns[1]), "tier-conns")
	b.ReportMetric(float64(conns[0]), "plain-conns")
}
