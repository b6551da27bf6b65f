package load

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const cachedPolicy = `# a comment line
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
`

// TestCacheSharesIdenticalFiles: two loads sharing a cache decode a file
// with the same bytes once (the documents' bytes are the same memory),
// yet each names the file by its own path, with the same lines inside.
func TestCacheSharesIdenticalFiles(t *testing.T) {
	c := NewCache()
	var wg sync.WaitGroup
	got := make([][]*cachedView, 2)
	for i, name := range []string{"base/p.yaml", "head/p.yaml"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objs, err := c.read(name, []byte(cachedPolicy))
			if err != nil {
				t.Error(err)
				return
			}
			for _, o := range objs {
				got[i] = append(got[i], &cachedView{file: o.Source.File, line: o.Source.Line, rule: o.Line("spec", "ingress", 0), json: &o.JSON[0]})
			}
		}()
	}
	wg.Wait()
	if len(got[0]) != 1 || len(got[1]) != 1 {
		t.Fatalf("objects: %v", got)
	}
	x, y := got[0][0], got[1][0]
	if x.file != "base/p.yaml" || y.file != "head/p.yaml" {
		t.Errorf("files %s, %s: each load names its own", x.file, y.file)
	}
	if x.line != 2 || y.line != 2 || x.rule != 8 || y.rule != 8 {
		t.Errorf("lines %d:%d and %d:%d, want 2:8 both", x.line, x.rule, y.line, y.rule)
	}
	if x.json != y.json {
		t.Error("decoded twice: the documents do not share their bytes")
	}
	// A malformed file is an error about the file each load read.
	for _, name := range []string{"base/bad.yaml", "head/bad.yaml"} {
		_, err := c.read(name, []byte("kind: [\n"))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type cachedView struct {
	file       string
	line, rule int
	json       *byte
}

// TestLoadWithCache: loads sharing a cache build the same worlds as loads
// without one, with sources in each load's own files.
func TestLoadWithCache(t *testing.T) {
	dir := t.TempDir()
	for _, side := range []string{"base", "head"} {
		writeFile(t, filepath.Join(dir, side, "policy.yaml"), cachedPolicy)
		writeFile(t, filepath.Join(dir, side, "deploy.yaml"), deployment(1))
	}
	writeFile(t, filepath.Join(dir, "head", "more.yaml"), deployment(2))
	c := NewCache()
	for _, side := range []string{"base", "head", "base"} {
		root := filepath.Join(dir, side)
		shared, err := Load(context.Background(), Options{Files: []string{root}, Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		alone, err := Load(context.Background(), Options{Files: []string{root}})
		if err != nil {
			t.Fatal(err)
		}
		if len(shared.World.Workloads) != len(alone.World.Workloads) || len(shared.World.Policies) != 1 {
			t.Fatalf("%s: %d workloads, %d policies; alone %d workloads", side, len(shared.World.Workloads), len(shared.World.Policies), len(alone.World.Workloads))
		}
		p, q := shared.World.Policies[0], alone.World.Policies[0]
		if p.Source != q.Source || p.Source.File != filepath.Join(root, "policy.yaml") || len(p.IngressRules) != 1 || p.IngressRules[0] != q.IngressRules[0] {
			t.Errorf("%s: policy at %v, alone %v", side, p.Source, q.Source)
		}
	}
}
