package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// A key set twice in one mapping is an input error (exit 2) naming the
// file, line, object and key, as the API server's strict field validation
// (kubectl's default) rejects it, whether the manifest is a file, a Helm
// chart's rendered template or a kustomization's resource. Read leniently,
// the second "app" would silently narrow the Service's selector.
func TestDuplicateKeysAreErrors(t *testing.T) {
	const svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n    app: api\n  ports:\n  - port: 80\n"
	dir := tree(t, map[string]string{
		"plain/svc.yaml":           "# web\n" + svc,
		"chart/Chart.yaml":         "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":        "app: api\n",
		"chart/templates/svc.yaml": strings.Replace(svc, "app: api", "app: {{ .Values.app }}", 1),
		"kust/kustomization.yaml":  "resources:\n- svc.yaml\n",
		"kust/svc.yaml":            svc,
	})
	const what = `duplicate key "app" is set twice in one mapping`
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"file", []string{"inventory", "-f", filepath.Join(dir, "plain/svc.yaml")}, []string{filepath.Join(dir, "plain/svc.yaml") + ":10: Service/shop/web: " + what}},
		{"helm chart", []string{"inventory", "--chart", filepath.Join(dir, "chart")}, []string{"templates/svc.yaml", "Service", "web", `"app"`}},
		// kustomize itself (kyaml, go-yaml v3) refuses the resource; its
		// message has the line and key but not the file.
		{"kustomization", []string{"inventory", "-k", filepath.Join(dir, "kust")}, []string{"kustomize build", `line 9: mapping key "app" already defined at line 8`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, "", tt.args...)
			if code != ExitInput {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, ExitInput, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
