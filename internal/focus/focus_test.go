package focus

import (
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"go4.org/netipx"
)

func TestParseEnd(t *testing.T) {
	pods := &model.PodTemplate{Labels: map[string]string{"app": "api", "tier": "web"}, VaryingLabels: []string{"pod-template-hash"}}
	api := &engine.Peer{ID: "shop/api", Kind: "Deployment", Namespace: "shop", Name: "api", Workload: &model.Workload{Pods: []*model.PodTemplate{pods}}}
	ext := &engine.Peer{ID: "10.0.0.0/8", Kind: engine.KindExternal, CIDRs: []string{"10.0.0.0/8"}}
	for _, c := range []struct {
		end      string
		api, ext bool
	}{
		{"shop", true, false},
		{"shop/api", true, false},
		{"shop/ap", false, false},
		{"app=api", true, false},
		{"tier in (db)", false, false},
		{"pod-template-hash=abc", true, false}, // set at run time: may match
		{"10.1.2.3", false, true},
		{"10.0.0.0/16", false, true},
		{"192.168.0.0/16", false, false},
	} {
		e, err := ParseEnd(c.end, nil, nil)
		if err != nil {
			t.Fatalf("%q: %v", c.end, err)
		}
		if got := e.Peer(api); got != c.api {
			t.Errorf("%q on shop/api: %t", c.end, got)
		}
		if got := e.Peer(ext); got != c.ext {
			t.Errorf("%q on 10.0.0.0/8: %t", c.end, got)
		}
	}
	if _, err := ParseEnd("app in (a", nil, nil); err == nil {
		t.Error("a broken selector parsed")
	}
}

// FuzzParseEnd: any text parses or fails cleanly, and a parsed end
// answers for any peer without panicking.
func FuzzParseEnd(f *testing.F) {
	for _, s := range []string{"shop", "shop/api", "app=api,tier in (a,b)", "!x", "10.0.0.0/8", "::1", "internet", "a/b/c", "x notin ()"} {
		f.Add(s)
	}
	peer := &engine.Peer{ID: "a/b", Kind: "Deployment", Namespace: "a", Workload: &model.Workload{Pods: []*model.PodTemplate{{Labels: map[string]string{"x": "y"}}}}}
	ext := &engine.Peer{ID: "0.0.0.0/0", Kind: engine.KindExternal, CIDRs: []string{"0.0.0.0/0"}}
	isNamed := func(s string) bool { return s == "internet" }
	named := func(string) (*netipx.IPSet, error) { var b netipx.IPSetBuilder; return b.IPSet() }
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEnd(s, isNamed, named)
		if err != nil {
			return
		}
		e.Peer(peer)
		e.Peer(ext)
		e.Name(s, map[string]*engine.Peer{"a/b": peer})
	})
}
