package cli

import (
	"github.com/ringfence/ringfence/internal/inventory"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
)

func newInventory(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Show what ringfence read: namespaces, workloads, services, ingresses, policies",
		Long: `inventory lists everything ringfence loaded, as it understood it: namespaces
(with the labels selectors see), workloads and the pods each runs (labels their
controllers add, ports, service account, GPUs, credentials), services, ingresses,
network policies with the workloads they select, service accounts and nodes.
Kinds it does not read are counted at the end, never dropped silently.

Run it first, to check that ringfence read your cluster right.`,
		Example: `  ringfence inventory -f examples/ml-platform
  ringfence inventory examples/ml-platform --ignore 'templates/' -v
  ringfence inventory -f deploy/ -f policies.yaml -n ml-workloads -o yaml
  ringfence inventory --context prod -A -o json | jq '.workloads[] | select(.ml)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			res, err := in.load(cmd)
			if err != nil {
				return err
			}
			overrides, _ := in.nodeGroups()
			inv, err := inventory.Build(res, overrides)
			if err != nil {
				return err
			}
			switch out.value {
			case "json":
				return in.json(s.Out, inv, "")
			case "yaml":
				return in.yaml(s.Out, inv)
			}
			return render.InventoryText(s.Out, inv)
		},
	}
	in.add(cmd)
	out.add(cmd, "text", "json", "yaml")
	return cmd
}
