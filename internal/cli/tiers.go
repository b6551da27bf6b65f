package cli

import (
	"context"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/spf13/cobra"
)

// tierFlags choose how tiered policies are evaluated (docs/tiers.md).
type tierFlags struct {
	profile       string
	defaultAction string
}

func (t *tierFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&t.profile, "tier-profile", "auto", "semantics of tiered policies (ClusterNetworkPolicy, AdminNetworkPolicy): upstream (network-policy-api), eks (the VPC CNI network policy agent), or auto (eks when a networking.k8s.aws kind is loaded)")
	fl.StringVar(&t.defaultAction, "default-action", "allow", "eks profile: what happens to traffic no tier and no NetworkPolicy decides: allow, or deny (strict enforcing mode, Auto Mode's DefaultDeny)")
}

// options checks the flags and turns them into the engine's.
func (t *tierFlags) options() (engine.TierOptions, error) {
	var o engine.TierOptions
	switch t.profile {
	case "", "auto":
	case string(model.ProfileUpstream), string(model.ProfileEKS):
		o.Profile = model.TierProfile(t.profile)
	default:
		return o, usagef("--tier-profile %q: use auto, upstream or eks", t.profile)
	}
	switch t.defaultAction {
	case "", "allow":
	case "deny":
		if o.Profile == model.ProfileUpstream {
			return o, usagef("--default-action deny is the eks profile's; the upstream profile's default is allow")
		}
		o.Default = engine.DefaultDeny
		if o.Profile == "" {
			// Only EKS has a deny default: asking for it chooses the
			// profile.
			o.Profile = model.ProfileEKS
		}
	default:
		return o, usagef("--default-action %q: use allow or deny", t.defaultAction)
	}
	return o, nil
}

// engineOptions are the analysis options of the flags.
func (f *inputFlags) engineOptions(ctx context.Context, groups []engine.NodeGroups) (engine.Options, error) {
	t, err := f.tiers.options()
	return engine.Options{NodeGroups: groups, Tiers: t, Context: ctx}, err
}
