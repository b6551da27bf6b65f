// Package helm renders a local Helm chart with Helm's own library, as
// `helm template` (a client-only install dry run) does, refusing what
// would need the network.
package helm

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"
)

// ReleaseName is the release name templates see, as `helm template`'s.
const ReleaseName = "release-name"

// Options say what to render.
type Options struct {
	// Chart is a chart directory or packaged .tgz on disk.
	Chart string
	// Values are values files, later ones winning; Set are key=value
	// pairs in --set's syntax, winning over the files.
	Values []string
	Set    []string
	// Namespace is the release namespace (.Release.Namespace).
	Namespace string
}

// Manifest is one rendered template.
type Manifest struct {
	// Name is the template's file in the chart, marked as rendered (lines
	// are of the rendered output).
	Name string
	Data []byte
}

// Render renders the chart's templates, sorted by name; NOTES.txt and
// partials (_*.tpl) produce no manifest.
func Render(opts Options) ([]Manifest, error) {
	if strings.Contains(opts.Chart, "://") {
		return nil, fmt.Errorf("--chart %s: only local charts are read (fetching one needs the network, which ringfence never uses); helm pull it first", opts.Chart)
	}
	if _, err := os.Stat(opts.Chart); err != nil {
		return nil, fmt.Errorf("--chart %s: %v (give a chart directory or .tgz on disk; ringfence does not fetch charts from repositories)", opts.Chart, cleanErr(err))
	}
	c, err := loader.Load(opts.Chart)
	if err != nil {
		return nil, fmt.Errorf("--chart %s: %v", opts.Chart, err)
	}
	if err := dependencies(opts.Chart, c); err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, f := range opts.Values {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, fmt.Errorf("--values %s: %v", f, err)
		}
		vals = merge(vals, map[string]any(v))
	}
	for _, s := range opts.Set {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %v", s, err)
		}
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	if err := chartutil.ProcessDependenciesWithMerge(c, vals); err != nil {
		return nil, fmt.Errorf("--chart %s: %v", opts.Chart, err)
	}
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{Name: ReleaseName, Namespace: ns, Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("--chart %s: %v", opts.Chart, err)
	}
	out, err := engine.Render(c, rv)
	if err != nil {
		return nil, fmt.Errorf("--chart %s: %v", opts.Chart, err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var ms []Manifest
	for _, n := range names {
		base := path.Base(n)
		if base == "NOTES.txt" || strings.HasPrefix(base, "_") || strings.TrimSpace(out[n]) == "" {
			continue
		}
		// Keys are "<chart name>/templates/...", subcharts under
		// "<chart name>/charts/<sub>/templates/...".
		rel := strings.TrimPrefix(n, c.Name()+"/")
		file := filepath.Join(opts.Chart, filepath.FromSlash(rel))
		if strings.HasSuffix(opts.Chart, ".tgz") {
			file = opts.Chart + ":" + rel
		}
		ms = append(ms, Manifest{Name: file + " (rendered)", Data: []byte(out[n])})
	}
	return ms, nil
}

// dependencies refuses a chart whose declared dependencies are not in its
// charts/ directory: `helm dependency build` would fetch them.
func dependencies(dir string, c *chart.Chart) error {
	have := map[string]bool{}
	for _, d := range c.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range c.Metadata.Dependencies {
		if !have[d.Name] {
			return fmt.Errorf("--chart %s: dependency %s (%s) is not in charts/: run helm dependency build first (it needs the network, which ringfence never uses)", dir, d.Name, d.Repository)
		}
	}
	for _, sub := range c.Dependencies() {
		if err := dependencies(filepath.Join(dir, "charts", sub.Name()), sub); err != nil {
			return err
		}
	}
	return nil
}

// merge merges b into a, recursively, b winning: Helm's rule for values
// files given one after the other.
func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = merge(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func cleanErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
