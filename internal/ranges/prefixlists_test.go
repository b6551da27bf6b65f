package ranges

import "testing"

func TestManagedListNamesAndZones(t *testing.T) {
	for name, want := range map[string][2]string{
		"com.amazonaws.us-east-1.s3":                    {"S3", "us-east-1"},
		"com.amazonaws.us-gov-west-1.dynamodb":          {"DYNAMODB", "us-gov-west-1"},
		"com.amazonaws.global.cloudfront.origin-facing": {},
		"com.amazonaws.us-east-1.ec2":                   {},
		"my-office":                                     {},
	} {
		svc, region, ok := ManagedList(name)
		if ok != (want[0] != "") || svc != want[0] || (ok && region != want[1]) {
			t.Errorf("ManagedList(%q) = %q, %q, %v; want %v", name, svc, region, ok, want)
		}
	}
	for zone, want := range map[string]string{"us-east-1a": "us-east-1", "us-east-1-bos-1a": "us-east-1", "us-east-1-wl1-bos-wlz-1": "us-east-1", "eu-central-2b": "eu-central-2", "": "", "zone": ""} {
		if got := RegionOfZone(zone); got != want {
			t.Errorf("RegionOfZone(%q) = %q, want %q", zone, got, want)
		}
	}
	if n, ok := WellKnownList("us-east-1", "pl-63a5400a"); !ok || n != "com.amazonaws.us-east-1.s3" {
		t.Errorf("pl-63a5400a in us-east-1: %q %v", n, ok)
	}
	if _, ok := WellKnownList("ap-south-2", "pl-63a5400a"); ok {
		t.Error("pl-63a5400a resolved outside its region")
	}
	doc, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	set, desc, ok := ManagedListBound(doc, "com.amazonaws.us-east-1.s3")
	if !ok || set == nil || desc == "" {
		t.Fatalf("no bound for the us-east-1 S3 list")
	}
	if want := Set(doc.Select(Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}})); !set.Equal(want) {
		t.Error("the bound is not the S3 prefixes of us-east-1")
	}
}
