// Package plugins holds the krew plugin manifest; its test checks the
// manifest's shape as krew reads it (hack/krew.sh writes it, for every
// platform).
package plugins

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Version          string `yaml:"version"`
		Homepage         string `yaml:"homepage"`
		ShortDescription string `yaml:"shortDescription"`
		Description      string `yaml:"description"`
		Caveats          string `yaml:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels      map[string]string `yaml:"matchLabels"`
				MatchExpressions []any             `yaml:"matchExpressions"`
			} `yaml:"selector"`
			URI    string `yaml:"uri"`
			SHA256 string `yaml:"sha256"`
			Bin    string `yaml:"bin"`
		} `yaml:"platforms"`
	} `yaml:"spec"`
}

// TestKrewManifest checks plugins/ringfence.yaml as krew-index validates a
// plugin: every platform hack/krew.sh builds by default (linux, darwin,
// windows on amd64 and arm64) once, selected by os and arch, with the
// release archive's URL, a sha256 of its own, and the binary's name
// (.exe on Windows).
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile("ringfence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("ringfence.yaml: %v", err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "ringfence" {
		t.Errorf("header: %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m.Spec.Version) {
		t.Errorf("version %q is not vX.Y.Z", m.Spec.Version)
	}
	if m.Spec.Homepage == "" || m.Spec.ShortDescription == "" || m.Spec.Description == "" {
		t.Error("homepage, shortDescription and description are required")
	}
	if len(m.Spec.ShortDescription) > 50 {
		// krew-index lints: a short description fits a list's column.
		t.Errorf("shortDescription is %d characters, over 50", len(m.Spec.ShortDescription))
	}
	want := defaultPlatforms(t)
	seen := map[string]bool{}
	sums := map[string]string{}
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, p := range m.Spec.Platforms {
		l := p.Selector.MatchLabels
		key := l["os"] + "/" + l["arch"]
		if len(l) != 2 || l["os"] == "" || l["arch"] == "" || len(p.Selector.MatchExpressions) != 0 {
			t.Errorf("%s: selector %v, want matchLabels os and arch only", key, p.Selector)
		}
		if seen[key] {
			t.Errorf("%s: listed twice", key)
		}
		seen[key] = true
		ext, exe := ".tar.gz", ""
		if l["os"] == "windows" {
			ext, exe = ".zip", ".exe"
		}
		uri := fmt.Sprintf("%s/releases/download/%s/kubectl-ringfence_%s_%s_%s%s", m.Spec.Homepage, m.Spec.Version, m.Spec.Version, l["os"], l["arch"], ext)
		if p.URI != uri {
			t.Errorf("%s: uri %s, want %s", key, p.URI, uri)
		}
		if !hex.MatchString(p.SHA256) {
			t.Errorf("%s: sha256 %q", key, p.SHA256)
		}
		if other, ok := sums[p.SHA256]; ok {
			t.Errorf("%s and %s have the same sha256", key, other)
		}
		sums[p.SHA256] = key
		if p.Bin != "kubectl-ringfence"+exe {
			t.Errorf("%s: bin %q, want kubectl-ringfence%s", key, p.Bin, exe)
		}
	}
	for _, p := range want {
		if !seen[p] {
			t.Errorf("%s: missing (hack/krew.sh builds it)", p)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d platforms, want %d: %v", len(seen), len(want), want)
	}
}

// defaultPlatforms reads the platforms hack/krew.sh builds by default.
func defaultPlatforms(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../hack/krew.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`platforms="\$\{PLATFORMS:-([^}]*)\}"`).FindSubmatch(data)
	if m == nil {
		t.Fatal("hack/krew.sh: no default PLATFORMS")
	}
	ps := strings.Fields(string(m[1]))
	for _, os := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			if !strings.Contains(" "+string(m[1])+" ", " "+os+"/"+arch+" ") {
				t.Errorf("hack/krew.sh does not build %s/%s by default", os, arch)
			}
		}
	}
	return ps
}
