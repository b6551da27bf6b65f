package ranges

import (
	"fmt"
	"strings"

	"go4.org/netipx"
)

// Domain resolves a domainNames entry of a tiered policy to the published
// addresses its name can have: a name under amazonaws.com whose last
// labels are a region of the publication (s3.us-east-1.amazonaws.com,
// *.s3.us-east-1.amazonaws.com, sts.us-east-1.amazonaws.com) has its
// addresses among that region's prefixes of the service when the
// publication lists the service, else among the region's AMAZON prefixes.
// The name's addresses are some of those, which DNS picks: a rule naming
// it may match an address of the set and matches none outside it. ok is
// false for any other name: its addresses cannot be known offline.
func Domain(d *Document, name string) (set *netipx.IPSet, desc string, ok bool) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(name, "*.")), ".")
	rest, found := strings.CutSuffix(n, ".amazonaws.com")
	if !found || rest == "" {
		return nil, "", false
	}
	labels := strings.Split(rest, ".")
	if len(labels) < 2 {
		return nil, "", false
	}
	region, service := labels[len(labels)-1], strings.ToUpper(labels[len(labels)-2])
	if len(d.Select(Filter{Regions: []string{region}})) == 0 {
		return nil, "", false
	}
	sel := d.Select(Filter{Services: []string{service}, Regions: []string{region}})
	what := service
	if len(sel) == 0 {
		sel = d.Select(Filter{Services: []string{"AMAZON"}, Regions: []string{region}})
		what = "AMAZON"
	}
	return Set(sel), fmt.Sprintf("%s resolves among the %d published prefixes of %s in %s (AWS ip-ranges syncToken %s); which of them DNS returns is not known", name, len(sel), what, region, d.SyncToken), true
}
