package engine_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/netset"
)

// Observed flows are judged with their real addresses across the network
// ACLs and routes: each denial names its layer and the deciding entry.
func TestJudgeFlowVPC(t *testing.T) {
	res, err := load.Load(context.Background(), load.Options{Files: []string{"../cli/testdata/aws-vpc"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyse(res.World, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := func(s string) engine.FlowEnd { return engine.FlowEnd{Addr: netip.MustParseAddr(s)} }
	for _, c := range []struct {
		src, dst string
		proto    netset.Protocol
		port     int32
		want     string // "" allowed, else a layer and a text the denial holds
	}{
		{"10.0.1.20", "8.8.8.8", netset.TCP, 443, ""},
		{"10.0.1.20", "8.8.8.8", netset.UDP, 53, "network ACL|rule *"},
		{"10.0.2.20", "8.8.8.8", netset.TCP, 443, "route|no route covers 8.8.8.8"},
		{"10.0.1.20", "10.0.2.20", netset.TCP, 443, ""},
		{"10.0.1.20", "10.0.2.20", netset.TCP, 80, "network ACL|acl-isolated rule *"},
		{"10.0.1.20", "10.0.1.30", netset.TCP, 80, ""},
		{"10.0.2.20", "169.254.169.254", netset.TCP, 80, ""},
	} {
		v := a.JudgeFlow(end(c.src), end(c.dst), c.proto, c.port)
		if c.want == "" {
			if !v.Allowed {
				t.Errorf("%s -> %s %v %d: denied %+v", c.src, c.dst, c.proto, c.port, v.Denials)
			}
			continue
		}
		layer, text, _ := strings.Cut(c.want, "|")
		found := false
		for _, d := range v.Denials {
			found = found || (d.Layer == layer && strings.Contains(strings.Join(d.By, ";"), text))
		}
		if v.Allowed || !found {
			t.Errorf("%s -> %s %v %d: %+v, want a %s denial by %q", c.src, c.dst, c.proto, c.port, v, layer, text)
		}
	}
}
