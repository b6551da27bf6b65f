package k8s

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
)

// FuzzTierPolicies: the decoders of the tiered kinds (tiers.go) take any
// document of the five kinds and either give a policy that keeps what the
// CRDs promise (a tier, a priority in 0-1000, known actions, a peer per
// rule, port ranges that run forward) and that the engine compiles, or an
// error with file:line that names the object and a field; never a panic.
// The kept corpus is testdata/fuzz/FuzzTierPolicies; the truth tables,
// the audit cases and the EKS example are seeds too.
func FuzzTierPolicies(f *testing.F) {
	var paths []string
	for _, g := range []string{"../../../testdata/tiers/*/*/input.yaml", "../../../testdata/tiers-audit/*.yaml", "../../../examples/tiers/*/*.yaml"} {
		p, _ := filepath.Glob(g)
		paths = append(paths, p...)
	}
	if len(paths) == 0 {
		f.Fatal("no tier seeds")
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	// The publication domainNames resolve in, parsed once.
	doc, err := ranges.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := document.Read("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			return
		}
		b := NewBuilder("", &document.Report{})
		for _, o := range objs {
			err := b.Add(o)
			if err == nil {
				continue
			}
			var de *document.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not positioned: %v", err, err)
			}
			if isTiered(o.APIVersion, o.Kind) || o.Kind == "ApplicationNetworkPolicy" {
				if de.Source.Line == 0 || de.Object == "" {
					t.Fatalf("error without a line or object: %v", err)
				}
			}
			return
		}
		w := b.Finish()
		for _, p := range w.TierPolicies {
			checkTierPolicy(t, p)
		}
		if _, err := engine.Analyse(w, engine.Options{Tiers: engine.TierOptions{Ranges: doc}}); err != nil && !strings.Contains(err.Error(), "default-action") {
			t.Fatalf("a world the loader accepts does not compile: %v", err)
		}
	})
}

// checkTierPolicy asserts what the CRDs promise of an accepted policy.
func checkTierPolicy(t *testing.T, p *model.TierPolicy) {
	t.Helper()
	if p.Tier != model.TierAdmin && p.Tier != model.TierBaseline {
		t.Fatalf("%s: tier %q", p.Ref(), p.Tier)
	}
	if p.Priority < 0 || p.Priority > 1000 {
		t.Fatalf("%s: priority %d", p.Ref(), p.Priority)
	}
	for _, rules := range [][]model.TierRule{p.Ingress, p.Egress} {
		for _, r := range rules {
			switch r.Action {
			case model.ActionAccept, model.ActionDeny, model.ActionPass:
			default:
				t.Fatalf("%s: action %q", p.Ref(), r.Action)
			}
			if len(r.Selectors)+len(r.Networks)+len(r.Nodes)+len(r.DomainNames) == 0 {
				t.Fatalf("%s: a rule without peers", p.Ref())
			}
			if len(r.DomainNames) > 0 && r.Action != model.ActionAccept {
				t.Fatalf("%s: domainNames on %s", p.Ref(), r.Action)
			}
			for _, port := range r.Ports {
				if port.EndPort != nil && (port.Port == nil || *port.EndPort <= port.Port.IntVal) {
					t.Fatalf("%s: port range %v-%d", p.Ref(), port.Port, *port.EndPort)
				}
			}
		}
	}
}
