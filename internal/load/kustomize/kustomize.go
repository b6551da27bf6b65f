// Package kustomize renders a kustomization as `kubectl -k` does, with
// kustomize's own library (krusty), refusing what would need the network.
package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Rendered is a kustomization's output.
type Rendered struct {
	// Name is what objects without an origin are reported under: the
	// kustomization file, marked as rendered (lines are of the output).
	Name string
	// Data is the output, one YAML stream, as kubectl -k prints it.
	Data []byte
	// Origins are, for each object of Data in order, the file it was read
	// from (as a path usable from the working directory), or "" for an
	// object a generator made (configMapGenerator...).
	Origins []string
}

// Render builds the kustomization in dir as kubectl -k does. krusty records
// where each object comes from only when the kustomization asks for it
// (buildMetadata: [originAnnotations]); Render asks on its behalf, reads the
// origins, and removes the annotations it caused, so the output is the
// one kubectl -k prints.
func Render(dir string) (*Rendered, error) {
	file, err := kustomizationFile(dir)
	if err != nil {
		return nil, err
	}
	if err := local(dir, map[string]bool{}); err != nil {
		return nil, err
	}
	fs := originFS{FileSystem: filesys.MakeFsOnDisk(), file: file}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(&fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out := &Rendered{Name: file + " (rendered)"}
	for _, r := range m.Resources() {
		o, err := r.GetOrigin()
		path := ""
		// Origins of remote resources are never built (local refuses
		// them); ConfiguredIn marks what a generator made.
		if err == nil && o != nil && o.Path != "" && o.Repo == "" && o.ConfiguredIn == "" {
			path = filepath.Join(dir, filepath.FromSlash(o.Path))
		}
		out.Origins = append(out.Origins, path)
	}
	if fs.injected {
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
	}
	if out.Data, err = m.AsYaml(); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return out, nil
}

// originFS is the disk, except that the top kustomization file reads with
// buildMetadata: [originAnnotations] added (included kustomizations
// inherit it). Nothing is written.
type originFS struct {
	filesys.FileSystem
	file     string
	injected bool
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || !samePath(path, f.file) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // krusty reports it
	}
	meta, _ := k["buildMetadata"].([]any)
	for _, v := range meta {
		if v == "originAnnotations" {
			return data, nil
		}
	}
	k["buildMetadata"] = append(meta, "originAnnotations")
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	f.injected = true
	return out, nil
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// kustomizationFile is the kustomization of dir, under one of the names
// kustomize accepts.
func kustomizationFile(dir string) (string, error) {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("-k %s: no kustomization.yaml, kustomization.yml or Kustomization in the directory", dir)
}

// Patches returns the patch files the kustomization file lists (patches,
// patchesStrategicMerge, patchesJson6902), as paths next to it; nil when it
// cannot be read (the walk then treats it as any other file).
func Patches(file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var k kustomization
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	dir := filepath.Dir(file)
	var out []string
	add := func(p string) {
		// An inline patch is YAML text, not a path.
		if p != "" && !strings.ContainsAny(p, "\n:") {
			out = append(out, filepath.Join(dir, p))
		}
	}
	for _, p := range k.Patches {
		add(p.Path)
	}
	for _, p := range k.PatchesJSON6902 {
		add(p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		add(p)
	}
	return out
}

// kustomization holds the fields that name other inputs.
type kustomization struct {
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches"`
	PatchesJSON6902 []struct {
		Path string `json:"path"`
	} `json:"patchesJson6902"`
	PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
	Resources             []string `json:"resources"`
	Bases                 []string `json:"bases"`
	Components            []string `json:"components"`
	HelmCharts            []struct {
		Name string `json:"name"`
	} `json:"helmCharts"`
}

// local checks, before anything is built, that the kustomization and those
// it includes name only local files: kustomize would fetch remote ones
// with git, and ringfence never goes to the network.
func local(dir string, seen map[string]bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil || seen[abs] {
		return err
	}
	seen[abs] = true
	file, err := kustomizationFile(dir)
	if err != nil {
		return nil // a plain directory of resources
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var k kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if len(k.HelmCharts) > 0 {
		return fmt.Errorf("%s: helmCharts need the helm binary and the network (kubectl -k refuses them too); render the chart with --chart", file)
	}
	for _, r := range append(append(k.Resources, k.Bases...), k.Components...) {
		if remote(r) {
			return fmt.Errorf("%s: %q is remote: kustomize would fetch it over the network, which ringfence never does; vendor it, or run kustomize build yourself and pipe the output: kustomize build %s | ringfence audit -f -", file, r, dir)
		}
		p := filepath.Join(dir, r)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if err := local(p, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// remote reports whether a resource entry is a URL or a git repository,
// in the forms kustomize accepts.
func remote(r string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "git::", "git@", "github.com/", "gitlab.com/", "bitbucket.org/", "oci://"} {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return strings.Contains(r, "?ref=") || strings.Contains(r, "://")
}
