package ranges

import (
	"fmt"
	"strings"

	"go4.org/netipx"
)

// credentialServices are the AWS endpoints pods get credentials from
// that ip-ranges.json does not publish as a service of their own. Their
// regional endpoints (sts.<region>.amazonaws.com) answer from addresses
// AWS publishes only under AMAZON, the superset of every service, in that
// region: those ranges stand for them. An interface VPC endpoint for the
// service makes the names resolve to addresses in the VPC instead; give
// them as a cidr intent.
var credentialServices = map[string]string{"STS": "AWS Security Token Service"}

// credentialEndpoint resolves aws:STS:<region> to the region's AMAZON
// ranges; ok is false for any other name.
func credentialEndpoint(d *Document, parts []string) (set *netipx.IPSet, desc string, ok bool, err error) {
	service := strings.ToUpper(parts[0])
	long, known := credentialServices[service]
	if !known {
		return nil, "", false, nil
	}
	if len(parts) != 2 || parts[1] == "" {
		return nil, "", true, fmt.Errorf("aws:%s needs a region (aws:%s:<region>): its endpoints are regional", parts[0], service)
	}
	sel := d.Select(Filter{Services: []string{"AMAZON"}, Regions: []string{parts[1]}})
	if len(sel) == 0 {
		return nil, "", true, fmt.Errorf("aws:%s:%s: syncToken %s publishes no AMAZON prefixes in %s", service, parts[1], d.SyncToken, parts[1])
	}
	return Set(sel), fmt.Sprintf("%s (%s.%s.amazonaws.com): not a service of ip-ranges.json, so the %d published AMAZON prefixes of %s stand for it, AWS ip-ranges syncToken %s (%s); an interface VPC endpoint would put it in the VPC instead",
		long, strings.ToLower(service), parts[1], len(sel), parts[1], d.SyncToken, d.Source), true, nil
}
