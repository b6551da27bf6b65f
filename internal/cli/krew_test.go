package cli

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewManifest is the part of a krew plugin manifest the tests read.
type krewManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct{ Name string }
	Spec       struct {
		Version   string
		Platforms []struct {
			Selector struct{ MatchLabels map[string]string }
			URI      string
			Sha256   string
			Bin      string
		}
	}
}

func readManifest(t *testing.T, path string) krewManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		// Strict on the fields read, lax on the rest.
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "ringfence" || len(m.Spec.Platforms) == 0 {
		t.Fatalf("%s is not a krew manifest of ringfence: %+v", path, m)
	}
	return m
}

// TestKrewManifest builds the host platform's release archive with
// hack/krew.sh and checks the manifest it writes: the checksum is the
// archive's, the archive holds the bin, and the binary says `kubectl
// ringfence` and its version. The checked-in manifest has the same shape.
func TestKrewManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	for _, tool := range []string{"bash", "tar", "gzip", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	checked := readManifest(t, "plugins/ringfence.yaml")
	for _, p := range checked.Spec.Platforms {
		if !strings.HasPrefix(p.Bin, "kubectl-ringfence") || len(p.Sha256) != 64 || !strings.Contains(p.URI, "/releases/download/"+checked.Spec.Version+"/") {
			t.Errorf("plugins/ringfence.yaml platform %+v", p)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("hack/krew.sh", "v9.9.9-test", out)
	cmd.Env = append(os.Environ(), "PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH)
	// TestMain points XDG_CACHE_HOME at an empty directory (for the ip
	// ranges cache); the Go build cache must stay the developer's, or the
	// build starts from nothing.
	if os.Getenv("GOCACHE") == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cmd.Env = append(cmd.Env, "GOCACHE="+filepath.Join(home, ".cache", "go-build"))
		}
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/krew.sh: %v\n%s", err, b)
	}
	m := readManifest(t, filepath.Join(out, "ringfence.yaml"))
	p := m.Spec.Platforms[0]
	if m.Spec.Version != "v9.9.9-test" || p.Selector.MatchLabels["os"] != runtime.GOOS || p.Selector.MatchLabels["arch"] != runtime.GOARCH {
		t.Fatalf("manifest: %+v", m)
	}
	archive := filepath.Join(out, filepath.Base(p.URI))
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.Sha256 {
		t.Errorf("sha256 %s is not the archive's", p.Sha256)
	}
	f, _ := os.Open(archive)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	bin := filepath.Join(out, "bin")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == p.Bin {
			w, _ := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
	}
	help, err := exec.Command(bin, "diff", "--help").Output()
	if err != nil || !strings.Contains(string(help), "kubectl ringfence diff --base-ref") {
		t.Errorf("the plugin's help does not say kubectl ringfence: %v\n%s", err, help)
	}
	ver, err := exec.Command(bin, "version", "-o", "json").Output()
	var v struct{ Version string }
	if err != nil || json.Unmarshal(ver, &v) != nil || v.Version != "v9.9.9-test" {
		t.Errorf("version -o json: %v %s", err, ver)
	}
}
