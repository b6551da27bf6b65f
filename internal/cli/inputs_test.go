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
	if !strings.Contains(stderr, "6 files or documents skipped") || !strings.Contains(stderr, "-v lists them") {
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
	if strings.Join(sortedCopy(files), " ") != strings.Join(sortedCopy(skipped), " ") {
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

// Shapes the API server, client libraries and old repositories produce.
var apiShapeFiles = map[string]string{
	// kubectl get --raw /api/v1/namespaces/shop/pods: a typed List whose
	// items carry no apiVersion or kind.
	"raw/pods.json": `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[
{"metadata":{"name":"db-0","namespace":"shop","labels":{"app":"db"}},"spec":{"containers":[{"name":"c","image":"postgres","ports":[{"containerPort":5432}]}]},"status":{"podIP":"10.0.0.9"}}]}`,
	"raw/netpols.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
metadata: {resourceVersion: "43"}
items:
- metadata: {name: db-only-from-web, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
`,
	// A JSON document, then YAML documents: a valid YAML stream.
	"mixed.yaml": "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"shop\", \"labels\": {\"team\": \"a\"}}}\n---\n" + webDeployment,
	// Saved by an editor that writes a byte order mark.
	"bom.json": "\ufeff{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"web\", \"namespace\": \"shop\"}, \"spec\": {\"selector\": {\"app\": \"web\"}, \"ports\": [{\"port\": 80}]}}\n",
	// Two Jobs from one generateName are two Jobs.
	"jobs.yaml": `apiVersion: batch/v1
kind: Job
metadata: {generateName: train-, namespace: shop}
spec:
  template:
    metadata: {labels: {app: train}}
    spec: {restartPolicy: Never, containers: [{name: c, image: trainer}]}
---
apiVersion: batch/v1
kind: Job
metadata: {generateName: train-, namespace: shop}
spec:
  template:
    metadata: {labels: {app: train}}
    spec: {restartPolicy: Never, containers: [{name: c, image: trainer}]}
`,
	// Versions the API server no longer serves.
	"old/cronjob.yaml": `apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}}
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: batch}]}
`,
	"old/ingress.yaml": `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  backend: {serviceName: web, servicePort: 80}
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api
        backend: {serviceName: web, servicePort: http}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: web2, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - path: /
        backend: {serviceName: web, servicePort: 80}
`,
	"old/netpol.yaml": `apiVersion: extensions/v1beta1
kind: NetworkPolicy
metadata: {name: deny-web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
`,
}

func TestAPIShapes(t *testing.T) {
	dir := tree(t, apiShapeFiles)
	stdout, stderr, code := run(t, "", "inventory", dir, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		Namespaces []struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"namespaces"`
		Workloads []struct {
			Kind, Name, GenerateName string
		} `json:"workloads"`
		Services  []struct{ Name string } `json:"services"`
		Ingresses []struct {
			Name  string   `json:"name"`
			Rules []string `json:"rules"`
		} `json:"ingresses"`
		Policies []struct{ Name string } `json:"networkPolicies"`
		Warnings []struct {
			Category, Object, Message string
		} `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	var workloads []string
	for _, w := range inv.Workloads {
		workloads = append(workloads, w.Kind+"/"+w.Name+"<"+w.GenerateName+">")
	}
	// The generated names are stable: derived from where the Jobs are
	// written, never random.
	if got := strings.Join(workloads, " "); !strings.HasPrefix(got, "Pod/db-0<> CronJob/nightly<> Job/train-*") || strings.Count(got, "<train->") != 2 || !strings.HasSuffix(got, "<train-> Deployment/web<>") {
		t.Errorf("workloads = %s", got)
	}
	if text, _, _ := run(t, "", "inventory", dir); strings.Count(text, " (named from generateName)") != 2 {
		t.Errorf("inventory does not say the names are derived:\n%s", text)
	}
	again, _, _ := run(t, "", "inventory", dir, "-o", "json")
	if again != stdout {
		t.Error("derived names differ between runs")
	}
	if len(inv.Namespaces) != 1 || inv.Namespaces[0].Labels["team"] != "a" {
		t.Errorf("the JSON document before --- was not read: %+v", inv.Namespaces)
	}
	if len(inv.Services) != 1 || inv.Services[0].Name != "web" {
		t.Errorf("the JSON file with a BOM was not read: %+v", inv.Services)
	}
	var policies []string
	for _, p := range inv.Policies {
		policies = append(policies, p.Name)
	}
	if strings.Join(policies, " ") != "db-only-from-web deny-web-egress" {
		t.Errorf("policies = %v", policies)
	}
	if len(inv.Ingresses) != 2 || !strings.Contains(strings.Join(inv.Ingresses[0].Rules, " "), "web:http") {
		t.Errorf("old Ingresses not converted: %+v", inv.Ingresses)
	}
	cats := map[string]int{}
	for _, w := range inv.Warnings {
		cats[w.Category]++
	}
	if cats["deprecated-api"] != 4 || cats["generated-name"] != 2 || len(inv.Warnings) != 6 {
		t.Errorf("warnings = %+v", inv.Warnings)
	}
	if !strings.Contains(stderr, "4 objects in removed apiVersions (read as the current version, or skipped where there is none)") {
		t.Errorf("stderr summary: %q", stderr)
	}
	// The old NetworkPolicy counts: web has no egress, so web cannot reach db.
	stdout, stderr, _ = run(t, "", "explain", dir, "--from", "shop/web", "--to", "shop/db-0", "--port", "5432")
	if !strings.Contains(stdout, "deny-web-egress") || !strings.Contains(stdout, "DENIED") {
		t.Errorf("explain ignores the extensions/v1beta1 NetworkPolicy:\n%s%s", stdout, stderr)
	}
}

// Every verb that loads inputs says what it could not use: a summary on
// stderr and the same notices in its JSON output.
func TestEveryVerbReportsWhatItCouldNotUse(t *testing.T) {
	extra := tree(t, map[string]string{
		"values.yaml": "replicaCount: 1\n",
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ml-workloads}\n",
	})
	in := []string{"examples/ml-platform", extra}
	flows := []string{"-f", "examples/flows/ml-platform/pods.yaml", "--flows", "examples/flows/ml-platform/vpc-flow-log.txt"}
	for _, args := range [][]string{
		{"inventory", "-o", "json"},
		{"reach", "-o", "json"},
		{"explain", "--from", "ml-workloads/model-server", "--to", "imds", "-o", "json"},
		{"explain", "--from", "internet", "--to", "ml-workloads/model-server", "-o", "json"},
		{"audit", "-o", "json", "--fail-on", "none"},
		{"report", "-o", "json"},
		{"generate", "-o", "json", "-f", "examples/fences/ml-platform.yaml"},
		append([]string{"whatif", "-o", "json"}, flows...),
		append([]string{"learn", "-o", "json"}, flows...),
	} {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			stdout, stderr, code := run(t, "", append(args, in...)...)
			if code != ExitOK && code != ExitFindings {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "ringfence: warning: not used: 1 files or documents skipped (not Kubernetes objects, or special files), 1 objects of kinds not read (1 kinds) (-v lists them)") {
				t.Errorf("stderr has no summary: %q", stderr)
			}
			var got []string
			for _, w := range warningsOf(t, stdout) {
				if c := w["category"]; c == "skipped-file" || c == "unknown-kind" {
					got = append(got, c.(string)+" "+filepath.Base(w["source"].(map[string]any)["file"].(string)))
				}
			}
			if strings.Join(got, ", ") != "skipped-file values.yaml, unknown-kind cm.yaml" {
				t.Errorf("warnings = %v", got)
			}
		})
	}
}

// A repository tree mixing everything the loader meets: exactly the
// expected objects are read and exactly the expected files reported.
func TestMixedRepositoryTree(t *testing.T) {
	files := map[string]string{
		".ringfenceignore":              "# Helm templates and placeholder files are not YAML\ncharts/web/templates/\njobs/*.json\n",
		"charts/web/Chart.yaml":         "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/values.yaml":        "replicas: 2\n",
		"charts/web/templates/dep.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
		"jobs/submit.json":              "{\"user\": {username}}\n",
		"kustomize/kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../deploy/web.yaml\npatches:\n- path: replicas.yaml\npatchesJson6902:\n- path: patch.json\n  target: {kind: Deployment, name: web}\n",
		// A strategic-merge patch has a kind and a name: read as an object
		// it would replace the Deployment it patches.
		"kustomize/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n",
		"kustomize/patch.json":    `[{"op": "replace", "path": "/spec/replicas", "value": 3}]`,
		"pipelines/params.yaml":   "epochs: 3\n",
		"models/input.json":       `{"instances": [[1, 2]]}`,
		"docs/README.md":          "# not read",
		"aws/sg.json":             `{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [], "IpPermissionsEgress": []}]}`,
		"extra/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
		"extra/web-again.yaml":    webDeployment,
	}
	for name, content := range apiShapeFiles {
		files["deploy/"+name] = content
	}
	files["deploy/web.yaml"] = webDeployment
	dir := tree(t, files)
	if err := syscall.Mkfifo(filepath.Join(dir, "deploy", "pipe.yml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	stdout, stderr, code := run(t, "", "inventory", dir, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		Workloads []struct{ Kind, Namespace, Name, GenerateName string }
		Services  []struct{ Namespace, Name string }
		Ingresses []struct{ Namespace, Name string }
		Policies  []struct{ Namespace, Name string } `json:"networkPolicies"`
		Groups    []struct{ ID string }              `json:"securityGroups"`
		Warnings  []struct {
			Category string
			Source   struct{ File string }
			Object   string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	var objects []string
	for _, w := range inv.Workloads {
		name := w.Name
		if w.GenerateName != "" {
			name = w.GenerateName + "*"
		}
		objects = append(objects, w.Kind+"/"+w.Namespace+"/"+name)
	}
	for _, s := range inv.Services {
		objects = append(objects, "Service/"+s.Namespace+"/"+s.Name)
	}
	for _, s := range inv.Ingresses {
		objects = append(objects, "Ingress/"+s.Namespace+"/"+s.Name)
	}
	for _, p := range inv.Policies {
		objects = append(objects, "NetworkPolicy/"+p.Namespace+"/"+p.Name)
	}
	for _, g := range inv.Groups {
		objects = append(objects, "SecurityGroup/"+g.ID)
	}
	want := []string{
		"Pod/shop/db-0", "CronJob/shop/nightly", "Job/shop/train-*", "Job/shop/train-*", "Deployment/shop/web",
		"Service/shop/web", "Ingress/shop/web", "Ingress/shop/web2",
		"NetworkPolicy/shop/db-only-from-web", "NetworkPolicy/shop/deny-web-egress", "SecurityGroup/sg-1",
	}
	if strings.Join(objects, " ") != strings.Join(want, " ") {
		t.Errorf("objects read:\n%s\nwant:\n%s", strings.Join(objects, " "), strings.Join(want, " "))
	}
	var reported []string
	for _, w := range inv.Warnings {
		rel, _ := filepath.Rel(dir, w.Source.File)
		reported = append(reported, w.Category+" "+filepath.ToSlash(rel))
	}
	// Special files are found while walking, before anything is read; the
	// rest in the order of the files. web is defined three times (mixed.yaml,
	// web.yaml, extra/web-again.yaml): two duplicates.
	wantReported := []string{
		"skipped-file deploy/pipe.yml",
		"skipped-file kustomize/patch.json",
		"skipped-file kustomize/replicas.yaml",
		"skipped-file charts/web/Chart.yaml",
		"skipped-file charts/web/values.yaml",
		"generated-name deploy/jobs.yaml",
		"generated-name deploy/jobs.yaml",
		"deprecated-api deploy/old/cronjob.yaml",
		"deprecated-api deploy/old/ingress.yaml",
		"deprecated-api deploy/old/ingress.yaml",
		"deprecated-api deploy/old/netpol.yaml",
		"duplicate deploy/web.yaml",
		"duplicate extra/web-again.yaml",
		"skipped-file kustomize/kustomization.yaml",
		"skipped-file models/input.json",
		"skipped-file pipelines/params.yaml",
		"unknown-kind extra/cm.yaml",
	}
	if strings.Join(reported, "\n") != strings.Join(wantReported, "\n") {
		t.Errorf("files reported:\n%s\nwant:\n%s", strings.Join(reported, "\n"), strings.Join(wantReported, "\n"))
	}
}
