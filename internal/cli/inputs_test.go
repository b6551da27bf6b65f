package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes files (path -> content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}
`

// A repository as people have it: manifests beside Helm, kustomize and
// model files that are not Kubernetes objects.
var repoFiles = map[string]string{
	"deploy/web.yaml":            webDeployment,
	"chart/Chart.yaml":           "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"chart/values.yaml":          "replicaCount: 2\nimage: {repository: nginx}\n",
	"overlay/kustomization.yaml": "resources:\n- ../deploy\npatches:\n- path: patch.json\n",
	"overlay/patch.json":         `[{"op": "replace", "path": "/spec/replicas", "value": 3}]`,
	"pipelines/params.yaml":      "learning_rate: 0.01\nepochs: 3\n",
	"models/model-input.json":    `{"instances": [[1.0, 2.0]]}`,
	"models/README.md":           "# not read",
}

func warningsOf(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out struct {
		Warnings []map[string]any `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if out.Warnings == nil {
		t.Fatalf("JSON output has no warnings array:\n%s", stdout)
	}
	return out.Warnings
}

func TestFilesThatAreNotObjectsAreSkipped(t *testing.T) {
	dir := tree(t, repoFiles)
	skipped := []string{"chart/Chart.yaml", "chart/values.yaml", "overlay/kustomization.yaml", "overlay/patch.json", "pipelines/params.yaml", "models/model-input.json"}
	stdout, stderr, code := run(t, "", "inventory", "-f", dir, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"name": "web"`) {
		t.Errorf("the Deployment was not read:\n%s", stdout)
	}
	if !strings.Contains(stderr, "6 skipped") || !strings.Contains(stderr, "-v lists them") {
		t.Errorf("stderr has no summary of the skipped files: %q", stderr)
	}
	var files []string
	for _, w := range warningsOf(t, stdout) {
		if w["category"] != "skipped-file" {
			t.Errorf("unexpected warning %v", w)
			continue
		}
		src := w["source"].(map[string]any)
		rel, _ := filepath.Rel(dir, src["file"].(string))
		files = append(files, filepath.ToSlash(rel))
	}
	if strings.Join(files, " ") != strings.Join(sortedCopy(skipped), " ") {
		t.Errorf("skipped files = %v, want %v", files, sortedCopy(skipped))
	}
	// -v names each file on stderr, with what it probably is.
	_, stderr, _ = run(t, "", "inventory", "-f", dir, "-v")
	for _, f := range skipped {
		if !strings.Contains(stderr, filepath.Join(dir, f)) {
			t.Errorf("-v does not name %s: %s", f, stderr)
		}
	}
	if !strings.Contains(stderr, "a kustomization: render it with -k "+filepath.ToSlash(filepath.Join(dir, "overlay"))) {
		t.Errorf("-v does not point at -k for the kustomization: %s", stderr)
	}
	// --strict makes them errors.
	_, stderr, code = run(t, "", "inventory", "-f", dir, "--strict")
	if code != ExitInput || !strings.Contains(stderr, "not a Kubernetes object") || !strings.Contains(stderr, "(--strict)") {
		t.Errorf("--strict: exit %d, stderr %q", code, stderr)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Templated files are not YAML: they fail closed, with the way out, until
// --ignore or .ringfenceignore excludes them.
func TestIgnore(t *testing.T) {
	files := map[string]string{
		"deploy/web.yaml":                 webDeployment,
		"chart/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels: {{- include \"labels\" . | nindent 4 }}\n",
		"jobs/job.json":                   "{\"user\": {username}}\n",
	}
	dir := tree(t, files)
	_, stderr, code := run(t, "", "audit", "-f", dir)
	if code != ExitInput || !strings.Contains(stderr, filepath.Join(dir, "chart/templates/deployment.yaml")+":4: invalid YAML") || !strings.Contains(stderr, "--ignore 'templates/' or that line in .ringfenceignore") {
		t.Fatalf("templated file: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = run(t, "", "audit", "-f", dir, "--ignore", "templates/", "--ignore", "jobs/*.json")
	if code == ExitInput {
		t.Fatalf("--ignore: exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ringfenceignore"), []byte("# templated\n**/templates/\n/jobs/job.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", "inventory", dir, "-o", "json")
	if code != ExitOK || !strings.Contains(stdout, `"name": "web"`) {
		t.Fatalf(".ringfenceignore: exit %d, stderr %q", code, stderr)
	}
	// "!" re-includes: the JSON file is read again, and fails.
	_, stderr, code = run(t, "", "inventory", dir, "--ignore", "!job.json")
	if code != ExitInput {
		t.Errorf("--ignore patterns win over the file's: exit %d, %s", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ringfenceignore"), []byte("!job.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = run(t, "", "inventory", dir, "--ignore", "templates/", "--ignore", "jobs/")
	if code != ExitOK {
		t.Errorf("a file cannot re-include what an ignored directory holds: exit %d, %s", code, stderr)
	}
	_, stderr, code = run(t, "", "inventory", dir, "--ignore", "[")
	if code != ExitInput || !strings.Contains(stderr, "--ignore: bad pattern") {
		t.Errorf("bad pattern: exit %d, %s", code, stderr)
	}
}

// ringfence audit DIR is ringfence audit -f DIR.
func TestPositionalPaths(t *testing.T) {
	flag, _, code1 := run(t, "", "inventory", "-f", "examples/ml-platform", "-o", "json")
	pos, stderr, code2 := run(t, "", "inventory", "examples/ml-platform", "-o", "json")
	if code1 != ExitOK || code2 != ExitOK || flag != pos {
		t.Errorf("positional path differs from -f (exit %d, %d): %s", code1, code2, stderr)
	}
	_, _, code := run(t, "", "audit", "examples/ml-platform-locked")
	if code != ExitOK {
		t.Errorf("audit DIR: exit %d", code)
	}
}

func TestEmptyInputIsAnError(t *testing.T) {
	empty := t.TempDir()
	onlyValues := tree(t, map[string]string{"values.yaml": "a: 1\n"})
	for _, tc := range []struct {
		dir, want string
	}{
		{empty, "no Kubernetes objects found in " + empty},
		{onlyValues, "no Kubernetes objects found in " + onlyValues + "; skipped: " + filepath.Join(onlyValues, "values.yaml") + ":1: not a Kubernetes object"},
	} {
		_, stderr, code := run(t, "", "audit", "-f", tc.dir)
		if code != ExitInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
		}
	}
}

// A FIFO in a directory is skipped with a warning; reading it would block
// until something writes to it, forever in a repository.
func TestSpecialFilesSkipped(t *testing.T) {
	dir := tree(t, map[string]string{"web.yaml": webDeployment})
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "link.yml")); err != nil {
		t.Fatal(err)
	}
	type result struct {
		stdout, stderr string
		code           int
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, code := run(t, "", "reach", "-f", dir, "-o", "json", "-v")
		done <- result{stdout, stderr, code}
	}()
	select {
	case r := <-done:
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, f := range []string{"pipe.yaml: a named pipe (FIFO), not a regular file: skipped", "link.yml: a named pipe (FIFO), not a regular file: skipped"} {
			if !strings.Contains(r.stderr, f) {
				t.Errorf("stderr lacks %q: %s", f, r.stderr)
			}
		}
		var got []string
		for _, w := range warningsOf(t, r.stdout) {
			got = append(got, filepath.Base(w["source"].(map[string]any)["file"].(string))+": "+w["message"].(string))
		}
		if want := "link.yml: a named pipe (FIFO), not a regular file: skipped (name it with -f to read it) pipe.yaml: a named pipe (FIFO), not a regular file: skipped (name it with -f to read it)"; strings.Join(got, " ") != want {
			t.Errorf("JSON warnings = %q, want %q", got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the run hangs on a FIFO")
	}
}
