package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}\n"

// Render gives each object's file (generated ones have none) without
// writing anything or leaving the origin annotations it asked krusty for
// in the output; a kustomization that asks for them itself keeps them, as
// kubectl -k prints them.
func TestRenderOrigins(t *testing.T) {
	dir := t.TempDir()
	kust := "resources:\n- ../base\nconfigMapGenerator:\n- name: settings\n  literals: [A=1]\n"
	write(t, dir, map[string]string{
		"base/kustomization.yaml":    "resources:\n- sa.yaml\n",
		"base/sa.yaml":               sa,
		"overlay/kustomization.yaml": kust,
	})
	overlay := filepath.Join(dir, "overlay")
	r, err := Render(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(r.Data), "config.kubernetes.io/origin") {
		t.Errorf("origin annotations in the output:\n%s", r.Data)
	}
	// Resources first, then what generators made (configMapGenerator).
	want := []string{filepath.Join(overlay, "../base/sa.yaml"), ""}
	if strings.Join(r.Origins, ",") != strings.Join(want, ",") {
		t.Errorf("origins = %q, want %q", r.Origins, want)
	}
	if data, _ := os.ReadFile(filepath.Join(overlay, "kustomization.yaml")); string(data) != kust {
		t.Errorf("the kustomization was changed on disk:\n%s", data)
	}

	write(t, dir, map[string]string{"own/kustomization.yaml": "buildMetadata: [originAnnotations]\nresources:\n- ../base\n"})
	r, err = Render(filepath.Join(dir, "own"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Data), "config.kubernetes.io/origin") || len(r.Origins) != 1 || r.Origins[0] == "" {
		t.Errorf("a kustomization's own buildMetadata is not honoured:\n%s %q", r.Data, r.Origins)
	}
}
