package report

import (
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
)

func TestPathClass(t *testing.T) {
	hop := func(v string) engine.Hop { return engine.Hop{Step: "x", Verdict: v} }
	for _, c := range []struct {
		hops []engine.Hop
		want string
	}{
		{[]engine.Hop{hop(engine.HopOpen), hop(engine.HopRestricted)}, Allowed},
		{[]engine.Hop{hop(engine.HopOpen), hop(engine.HopBlocked)}, OneLayer},
		{[]engine.Hop{hop(engine.HopBlocked), hop(engine.HopBlocked)}, Denied},
		{[]engine.Hop{hop(engine.HopOpen), hop(engine.HopUnknown)}, Unknown},
		{[]engine.Hop{hop(engine.HopUnknown), hop(engine.HopBlocked)}, OneLayer},
	} {
		if got := pathClass(c.hops); got != c.want {
			t.Errorf("%v: %s, want %s", c.hops, got, c.want)
		}
	}
}

func TestCoverageLayer(t *testing.T) {
	for _, c := range []struct {
		cov  engine.Coverage
		want string
	}{
		{engine.Coverage{Reason: "the pod's security groups are not known"}, "unknown"},
		{engine.Coverage{Blocked: []string{"0.0.0.0/0"}}, "denies"},
		{engine.Coverage{Allowed: []string{"0.0.0.0/0"}, AllowedIPv4: 1, TotalIPv4: 1}, "allows"},
		{engine.Coverage{Allowed: []string{"52.216.0.0/16"}, Blocked: []string{"54.231.0.0/16"}, AllowedIPv4: 65536, TotalIPv4: 131072}, "partly allows"},
	} {
		if got := coverageLayer("x", c.cov).Verdict; got != c.want {
			t.Errorf("%+v: %s, want %s", c.cov, got, c.want)
		}
	}
	if got := amount(engine.Coverage{Allowed: []string{"a", "b", "c", "d", "e"}, Blocked: []string{"f"}, AllowedIPv4: 1234567, TotalIPv4: 3702258432}); got != "a, b, c, d and 1 more (1,234,567 of 3,702,258,432 IPv4 addresses)" {
		t.Errorf("amount: %s", got)
	}
}
