package ranges

import (
	"fmt"
	"regexp"
	"strings"

	"go4.org/netipx"
)

// AWS-managed prefix lists for the gateway-endpoint services are named
// com.amazonaws.<region>.s3 and com.amazonaws.<region>.dynamodb. Their
// entries are the service's addresses in that region, which AWS also
// publishes in ip-ranges.json: so the entries, when the inputs lack them,
// are a subset of the service's published prefixes of the region.

// managedServices maps a managed list's service suffix to its service name
// in ip-ranges.json.
var managedServices = map[string]string{"s3": "S3", "dynamodb": "DYNAMODB"}

var managedName = regexp.MustCompile(`^com\.amazonaws\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.([a-z0-9]+)$`)

// ManagedList parses the name of an AWS-managed S3 or DynamoDB prefix list
// (com.amazonaws.us-east-1.s3) into its ip-ranges service and region.
func ManagedList(name string) (service, region string, ok bool) {
	m := managedName.FindStringSubmatch(name)
	if m == nil {
		return "", "", false
	}
	service, ok = managedServices[m[2]]
	return service, m[1], ok
}

// wellKnownLists are the IDs of the managed S3 and DynamoDB lists, per
// region. The same ID can name different lists in different regions, so
// an ID resolves only together with its region. Only IDs seen in AWS's own
// documentation and in describe-prefix-lists output with the list's name
// are here; any other ID stays unresolved (unknown).
var wellKnownLists = map[string]map[string]string{
	"us-east-1": {"pl-63a5400a": "s3", "pl-02cd2c6b": "dynamodb"},
	"us-east-2": {"pl-7ba54012": "s3", "pl-4ca54025": "dynamodb"},
	"us-west-2": {"pl-68a54001": "s3", "pl-00a54069": "dynamodb"},
	"eu-west-1": {"pl-6da54004": "s3", "pl-6fa54006": "dynamodb"},
}

// WellKnownList returns the name of the AWS-managed list id in region
// (com.amazonaws.us-east-1.s3 for pl-63a5400a in us-east-1), if known.
func WellKnownList(region, id string) (string, bool) {
	svc, ok := wellKnownLists[region][id]
	if !ok {
		return "", false
	}
	return "com.amazonaws." + region + "." + svc, true
}

// RegionOfZone returns the region of an availability zone, local zone or
// wavelength zone name (us-east-1a, us-east-1-bos-1a,
// us-east-1-wl1-bos-wlz-1): the name up to its first number.
func RegionOfZone(zone string) string {
	m := zoneRegion.FindStringSubmatch(zone)
	if m == nil {
		return ""
	}
	return m[1]
}

var zoneRegion = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-[0-9]+)(?:[a-z]|-|$)`)

// ManagedListBound is the set the entries of a managed list lie within:
// its service's published prefixes in its region. desc says which
// publication it comes from.
func ManagedListBound(d *Document, name string) (*netipx.IPSet, string, bool) {
	service, region, ok := ManagedList(name)
	if !ok {
		return nil, "", false
	}
	sel := d.Select(Filter{Services: []string{service}, Regions: []string{region}})
	if len(sel) == 0 {
		return nil, "", false
	}
	return Set(sel), fmt.Sprintf("the %d published %s prefixes of %s (AWS ip-ranges syncToken %s)", len(sel), strings.ToUpper(service), region, d.SyncToken), true
}
