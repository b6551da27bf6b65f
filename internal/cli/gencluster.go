package cli

import (
	"fmt"
	"sort"

	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/spf13/cobra"
)

// newGencluster is a hidden command for benchmarks and load tests: it
// writes a synthetic multi-tenant cluster.
func newGencluster(s Streams) *cobra.Command {
	var c gencluster.Config
	var stats bool
	cmd := &cobra.Command{
		Use:    "gencluster --out DIR",
		Short:  "Write a synthetic multi-tenant cluster (for benchmarks)",
		Hidden: true,
		Example: `  ringfence gencluster --namespaces 1000 --out /tmp/cluster
  ringfence reach -f /tmp/cluster -o json > /dev/null`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if c.Out == "" {
				return usagef("--out is required")
			}
			sum, err := gencluster.Generate(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "gencluster: %d namespaces (+kube-system), %d workloads (+coredns), %d networkpolicies, %d bytes in %s\n",
				c.Namespaces, sum.Counts["workloads"], sum.Counts["policies"], sum.Bytes, c.Out)
			if stats {
				keys := make([]string, 0, len(sum.Counts))
				for k := range sum.Counts {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(s.Err, "  %-34s %d\n", k, sum.Counts[k])
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&c.Namespaces, "namespaces", 100, "tenant namespaces")
	cmd.Flags().IntVar(&c.Workloads, "workloads-per-ns", 8, "workloads per namespace")
	cmd.Flags().IntVar(&c.Policies, "policies-per-ns", 5, "NetworkPolicies per namespace")
	cmd.Flags().IntVar(&c.SecurityGroups, "security-groups", 0, "add the AWS layer: this many security groups, two per node pool, with nodes and instances")
	cmd.Flags().Uint64Var(&c.Seed, "seed", 1, "random seed: the same seed writes the same bytes")
	cmd.Flags().StringVar(&c.Out, "out", "", "output directory")
	cmd.Flags().BoolVar(&stats, "stats", false, "print how often each feature was generated")
	return cmd
}
