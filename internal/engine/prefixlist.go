package engine

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/model"
	awsranges "github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

// A prefix list referenced without its entries is unknown, unless it is an
// AWS-managed S3 or DynamoDB list: its entries are then among the service's
// published prefixes of its region, so an address outside those is surely
// not admitted, and one inside is "maybe" (the list need not hold every
// published prefix, and the publication may be older or newer than it).

// listBound is the set an unresolved list's entries lie within.
type listBound struct {
	set *netipx.IPSet
	// what names the list and the publication the bound comes from.
	what string
}

// managedBounds resolves the AWS-managed lists the groups reference
// without entries: by the list's name (describe-managed-prefix-lists), or
// by a well-known ID in the one region the inputs are in. The embedded
// ip-ranges publication is read only when some list needs it.
func managedBounds(w *model.World, groups []*model.SecurityGroup) map[string]listBound {
	given := map[string]*model.PrefixList{}
	for _, pl := range w.PrefixLists {
		given[pl.ID] = pl
	}
	names := map[string]string{}
	region, regionRead := "", false
	for _, g := range groups {
		for _, rules := range [][]model.SGRule{g.Ingress, g.Egress} {
			for _, r := range rules {
				for _, id := range r.PrefixLists {
					pl := given[id]
					if pl != nil && pl.Entries != nil {
						continue
					}
					if pl != nil && pl.Name != "" {
						names[id] = pl.Name
						continue
					}
					if !regionRead {
						region, regionRead = worldRegion(w), true
					}
					if name, ok := awsranges.WellKnownList(region, id); ok {
						names[id] = name
					}
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	doc, err := awsranges.Snapshot()
	if err != nil {
		return nil // the embedded publication is checked by its tests
	}
	out := map[string]listBound{}
	for id, name := range names {
		if set, desc, ok := awsranges.ManagedListBound(doc, name); ok {
			out[id] = listBound{set: set, what: fmt.Sprintf("%s is the AWS-managed %s, whose entries lie within %s", id, name, desc)}
		}
	}
	return out
}

// worldRegion is the one AWS region the inputs are in (the nodes' region
// label, the instances' and subnets' zones), or "" when none or several.
func worldRegion(w *model.World) string {
	seen := map[string]bool{}
	for _, n := range w.Nodes {
		if r := n.Labels["topology.kubernetes.io/region"]; r != "" {
			seen[r] = true
		}
	}
	for _, in := range w.Instances {
		if r := awsranges.RegionOfZone(in.Zone); r != "" {
			seen[r] = true
		}
	}
	for _, s := range w.Network.Subnets {
		if r := awsranges.RegionOfZone(s.Zone); r != "" {
			seen[r] = true
		}
	}
	if len(seen) != 1 {
		return ""
	}
	return sortedKeys(seen)[0]
}
