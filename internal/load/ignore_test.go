package load

import (
	"path"
	"strings"
	"testing"
)

func TestIgnoreRules(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		dir      bool
		want     bool
	}{
		{[]string{"values*.yaml"}, "chart/values-prod.yaml", false, true},
		{[]string{"templates/"}, "chart/templates", true, true},
		{[]string{"templates/"}, "templates", false, false}, // a file, not a directory
		{[]string{"/kustomization.yaml"}, "kustomization.yaml", false, true},
		{[]string{"/kustomization.yaml"}, "overlay/kustomization.yaml", false, false},
		{[]string{"charts/*/templates"}, "charts/web/templates", true, true},
		{[]string{"charts/*/templates"}, "x/charts/web/templates", true, false},
		{[]string{"**/jobs/*.json"}, "a/b/jobs/j.json", false, true},
		{[]string{"**/jobs/*.json"}, "jobs/j.json", false, true},
		{[]string{"a/**/z.yaml"}, "a/z.yaml", false, true},
		{[]string{"a/**/z.yaml"}, "a/b/c/z.yaml", false, true},
		{[]string{"*.json", "!keep.json"}, "x/keep.json", false, false},
		{[]string{"!keep.json", "*.json"}, "x/keep.json", false, true},
		{[]string{"# comment", ""}, "x.yaml", false, false},
	}
	for _, tt := range tests {
		ig, err := parseIgnores(tt.patterns)
		if err != nil {
			t.Fatal(err)
		}
		if got := ig.ignored(tt.path, tt.dir); got != tt.want {
			t.Errorf("%q on %s (dir %v) = %v, want %v", tt.patterns, tt.path, tt.dir, got, tt.want)
		}
	}
}

// FuzzIgnore: any pattern parses or fails with an error, never panics; a
// pattern that is a plain name matches that name at any depth.
func FuzzIgnore(f *testing.F) {
	for _, s := range []string{"values*.yaml", "templates/", "/a/b", "**/x/**", "!k.json", "[", "a/**/b/", "\\*"} {
		f.Add(s, "a/b/values.yaml")
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		ig, err := parseIgnores([]string{pattern})
		if err != nil {
			return
		}
		ig.ignored(p, false)
		ig.ignored(p, true)
		if name := path.Base(p); name != "" && !strings.ContainsAny(name, "*?[]\\!#/ \t\r\n") && pattern == name {
			if !ig.ignored("deep/dir/"+name, false) {
				t.Fatalf("%q does not match its own name", pattern)
			}
		}
	})
}
