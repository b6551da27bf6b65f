package cli

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/ranges"
)

// TestGenerateEKSVerified: generate's check judges the objects of -o
// eks-cnp and -o eks-anp, read back into the world, with the engine: the
// outputs as written pass, and a broken copy of each is caught.
func TestGenerateEKSVerified(t *testing.T) {
	res, err := load.Load(context.Background(), load.Options{Files: []string{"examples/ml-platform", "examples/fences/ml-platform.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	opts := generate.Options{}
	g, problems, err := generatedWith(io.Discard, res.World, doc, opts)
	if err != nil || len(problems) > 0 {
		t.Fatalf("generate: %v %v", err, problems)
	}
	verify := func(objs []map[string]any) []string {
		t.Helper()
		problems, err := verifyEKS(res.World, g, objs, doc, opts)
		if err != nil {
			t.Fatal(err)
		}
		return problems
	}
	cnps := generate.EKSClusterPolicies(res.World, g, doc)
	anps, _ := generate.EKSApplicationPolicies(g, doc)
	if p := verify(cnps); len(p) > 0 {
		t.Fatalf("the eks-cnp output as written fails the check: %v", p)
	}
	if p := verify(anps); len(p) > 0 {
		t.Fatalf("the eks-anp output as written fails the check: %v", p)
	}

	t.Run("an Accept behind the internet Deny", func(t *testing.T) {
		// The Accepts of the fenced namespace's AWS addresses moved to a
		// priority after its Deny of the internet: S3 is cut.
		broken := clone(t, cnps)
		moved := 0
		for _, o := range broken {
			spec := o["spec"].(map[string]any)
			if spec["priority"] == 110 {
				spec["priority"] = 113
				moved++
			}
		}
		if moved == 0 {
			t.Fatal("no Accept at priority 110 in the output: the test would prove nothing")
		}
		p := verify(broken)
		if !strings.Contains(strings.Join(p, "\n"), "cannot reach all of S3") {
			t.Errorf("the check does not see S3 cut: %v", p)
		}
	})
	t.Run("an ApplicationNetworkPolicy rule without peers", func(t *testing.T) {
		// A rule that lost its domainNames peer allows every destination
		// on its ports: the fenced pods reach the internet.
		broken := clone(t, anps)
		spec := broken[0]["spec"].(map[string]any)
		delete(spec["egress"].([]any)[0].(map[string]any), "to")
		p := verify(broken)
		if !strings.Contains(strings.Join(p, "\n"), "can reach the internet") {
			t.Errorf("the check does not see the internet opened: %v", p)
		}
	})
	t.Run("an object the API server rejects", func(t *testing.T) {
		broken := clone(t, cnps)
		broken[0]["spec"].(map[string]any)["priority"] = 5000
		if _, err := verifyEKS(res.World, g, broken, doc, opts); err == nil || !strings.Contains(err.Error(), "spec.priority: 5000 is out of range 0-1000") {
			t.Errorf("err = %v, want the priority named", err)
		}
	})
}

// clone deep-copies generated objects.
func clone(t *testing.T, objs []map[string]any) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = deepCopy(o).(map[string]any)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
