package k8s

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// documentedRules reads the rules of the first Role or ClusterRole of a
// file under docs/rbac, as (group/resource) -> verbs.
func documentedRules(t *testing.T, name string) map[schema.GroupResource][]string {
	t.Helper()
	path := filepath.Join("..", "..", "..", "docs", "rbac", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := document.Read(path, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind != "ClusterRole" && o.Kind != "Role" {
			continue
		}
		var role rbacv1.ClusterRole
		if err := json.Unmarshal(o.JSON, &role); err != nil {
			t.Fatal(err)
		}
		out := map[schema.GroupResource][]string{}
		for _, r := range role.Rules {
			if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
				t.Errorf("%s: rule %+v is narrower or wider than a list", path, r)
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					gr := schema.GroupResource{Group: g, Resource: res}
					out[gr] = append(out[gr], r.Verbs...)
				}
			}
		}
		return out
	}
	t.Fatalf("%s holds no Role or ClusterRole", path)
	return nil
}

// TestDocumentedRBAC keeps docs/rbac in step with what a live read lists:
// the ClusterRole grants list on exactly those resources, the Role on
// exactly the namespaced ones, and neither grants any other verb.
func TestDocumentedRBAC(t *testing.T) {
	for _, c := range []struct {
		file       string
		namespaced bool
	}{{"clusterrole.yaml", false}, {"role.yaml", true}} {
		got := documentedRules(t, c.file)
		want := map[schema.GroupResource]bool{}
		for _, gr := range ListedResources() {
			if !c.namespaced || NamespacedResource(gr) {
				want[gr] = true
			}
		}
		var missing, extra []string
		for gr := range want {
			if _, ok := got[gr]; !ok {
				missing = append(missing, gr.String())
			}
		}
		for gr, verbs := range got {
			if !want[gr] {
				extra = append(extra, gr.String())
			}
			if strings.Join(verbs, ",") != "list" {
				t.Errorf("%s: %s has verbs %v; the CLI only lists", c.file, gr, verbs)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s disagrees with the resources the CLI lists: missing %v, not listed by the CLI %v", c.file, missing, extra)
		}
	}
	for _, gr := range ListedResources() {
		if gr.Resource == "secrets" {
			t.Error("the CLI lists Secrets: their values would be transferred")
		}
	}
}
