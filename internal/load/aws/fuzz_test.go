package aws

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// FuzzAWS: any document is either read or refused with a positioned error
// (document.Error), never a panic; and what is read is internally sound
// (every loaded object has an ID and a source; ACL entries are ordered).
func FuzzAWS(f *testing.F) {
	paths, _ := filepath.Glob("testdata/vpc/*.json")
	paths = append(paths, "testdata/vpc-plan.json")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]}]}`))
	f.Add([]byte(`{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [{"RuleNumber": 1, "Protocol": "17", "RuleAction": "deny", "Ipv6CidrBlock": "::/0", "PortRange": {"From": 53, "To": 53}}]}]}`))
	f.Add([]byte(`{"VpcId": "vpc-1", "EnableDnsSupport": {"Value": true}}`))
	f.Add([]byte(`{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationPrefixListId": "pl-1", "GatewayId": "vpce-1"}], "Associations": [{"Main": true}]}]}`))
	f.Add([]byte(listenersDoc))
	f.Add([]byte(tagsDoc))
	f.Add([]byte(`{"TagDescriptions": [{"LoadBalancerName": "classic", "Tags": [{"Key": "a"}]}], "Listeners": [{"ListenerArn": "l", "LoadBalancerArn": "b", "Protocol": "GENEVE"}]}`))
	f.Add([]byte(withARN("arn:tg/web", tgAttrsDoc)))
	f.Add([]byte(tgAttrsDoc + "\n" + tgsDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := document.Read("fuzz.json", bytes.NewReader(data))
		if err != nil {
			return
		}
		b := NewBuilder(&document.Report{})
		for _, o := range objs {
			shape := Recognize(o)
			if shape == "" {
				continue
			}
			if _, err := b.Add(o, shape); err != nil {
				var de *document.Error
				if !errors.As(err, &de) || de.Source.File != "fuzz.json" {
					t.Fatalf("error without a position: %v", err)
				}
				return
			}
		}
		w := &model.World{}
		b.Finish(w)
		n := w.Network
		for _, a := range n.NetworkACLs {
			if a.ID == "" || a.Source.File == "" {
				t.Fatalf("ACL without ID or source: %+v", a)
			}
			for i := 1; i < len(a.Entries); i++ {
				x, y := a.Entries[i-1], a.Entries[i]
				if x.Egress == y.Egress && x.RuleNumber > y.RuleNumber || x.Egress && !y.Egress {
					t.Fatalf("entries out of order: %+v", a.Entries)
				}
			}
			for _, e := range a.Entries {
				if !e.CIDR.IsValid() {
					t.Fatalf("entry without CIDR: %+v", e)
				}
			}
		}
		for _, rt := range n.RouteTables {
			for _, r := range rt.Routes {
				if !r.Destination.IsValid() && r.DestinationPrefixList == "" || r.TargetType == "" {
					t.Fatalf("route without destination or target type: %+v", r)
				}
			}
		}
		for _, tg := range n.TargetGroups {
			if tg.Attributes != nil && tg.Attributes.Source.File == "" {
				t.Fatalf("target group attributes without a source: %+v", tg)
			}
		}
		for _, s := range n.Subnets {
			if s.ID == "" || s.Source.File == "" {
				t.Fatalf("subnet without ID or source: %+v", s)
			}
		}
	})
}
