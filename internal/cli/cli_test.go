package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testNow is the clock of in-process runs: outputs that state an age (the
// audit's ip-ranges header) stay the same from day to day.
func testNow() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }

// TestMain runs the tests from the repository root, where the README's
// commands run, so paths in outputs and golden files read the same.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := os.Chdir("../.."); err != nil {
		panic(err)
	}
	// A developer's cached ip-ranges must not change what tests see.
	cache, err := os.MkdirTemp("", "ringfence-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb, Now: testNow})
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (review, then go test ./internal/cli -update):\n%s", path, diff(string(want), got))
	}
}

// diff shows the first differing lines; enough to see what changed.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return ""
}

func TestInventoryGolden(t *testing.T) {
	for _, example := range []string{"ml-platform", "ml-platform-locked"} {
		for _, format := range []string{"text", "json", "yaml"} {
			t.Run(example+"/"+format, func(t *testing.T) {
				stdout, stderr, code := run(t, "", "inventory", "-f", "examples/"+example, "-o", format)
				if code != ExitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden(t, "inventory/"+example+"."+format, stdout)
			})
		}
	}
}

// The example's Secret holds AWS's documented example keys; no output may
// ever contain them.
func TestSecretValuesNeverPrinted(t *testing.T) {
	for _, format := range []string{"text", "json", "yaml"} {
		stdout, stderr, code := run(t, "", "inventory", "-f", "examples/ml-platform", "-o", format)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, secret := range []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("-o %s prints the secret value %q", format, secret)
			}
		}
		if !strings.Contains(stdout, "training-aws-credentials") {
			t.Errorf("-o %s does not name the Secret", format)
		}
	}
}

func TestStdin(t *testing.T) {
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: i}]}}\n"
	stdout, stderr, code := run(t, in, "inventory", "-f", "-", "-n", "team-a", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"namespace": "team-a"`, `"source": "stdin:1"`, `"synthesized": true`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: {a: b\n")
	binary := write("model.yaml", "\x7fELF\x02\x01\x01\x00\x00\x00")
	unknown := write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	missingKubeconfig := filepath.Join(dir, "no-such-kubeconfig")
	unreachable := write("kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token-3f9a}}]
contexts: [{name: dead, context: {cluster: c, user: u}}]
current-context: dead
`)
	tests := []struct {
		name string
		args []string
		code int
		// stderr must contain each of these.
		want []string
	}{
		{"version", []string{"version"}, ExitOK, nil},
		{"unknown flag", []string{"inventory", "--bogus"}, ExitInput, []string{"unknown flag: --bogus", "Run 'ringfence inventory --help' for usage."}},
		{"unknown output", []string{"inventory", "-f", "examples/ml-platform", "-o", "xml"}, ExitInput, []string{`unknown output format "xml": use one of text, json, yaml`}},
		{"missing file", []string{"inventory", "-f", "nope.yaml"}, ExitInput, []string{"nope.yaml: no such file or directory"}},
		{"truncated YAML", []string{"inventory", "-f", truncated}, ExitInput, []string{truncated + ":5: invalid YAML"}},
		{"binary file", []string{"inventory", "-f", binary}, ExitInput, []string{binary + ":1: binary data (NUL byte): not a YAML or JSON file"}},
		{"strict unknown kind", []string{"inventory", "-f", unknown, "--strict"}, ExitInput, []string{unknown + ":1: unknown kind v1 ConfigMap (1 objects of 1 unknown kinds; --strict)"}},
		{"-n with -A", []string{"inventory", "-n", "a", "-A"}, ExitInput, []string{"cannot be used together"}},
		{"-A with files only", []string{"inventory", "-f", unknown, "-A"}, ExitInput, []string{"-A/--all-namespaces applies to a live cluster"}},
		{"no kubeconfig", []string{"inventory", "--kubeconfig", missingKubeconfig}, ExitInput, []string{"no-such-kubeconfig"}},
		{"unreachable cluster", []string{"inventory", "--kubeconfig", unreachable, "--request-timeout", "2s"}, ExitInput, []string{`cluster (context "dead", server https://127.0.0.1:1): the connection to the server was refused`, "kubectl --context dead cluster-info"}},
		// Arguments are paths, as -f values are.
		{"path argument", []string{"inventory", "stray"}, ExitInput, []string{"stray: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr has a stack trace: %s", stderr)
			}
			if strings.Contains(stderr, "not-a-real-token-3f9a") {
				t.Error("the kubeconfig token was printed")
			}
		})
	}
}

// Every verb's --help shows examples.
func TestHelpShowsExamples(t *testing.T) {
	root := NewRoot(Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "completion" && c.Name() != "help" && !c.Hidden {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%q has no examples in --help", c.CommandPath())
			}
			for _, sub := range c.Commands() {
				walk(sub)
			}
		}
	}
	walk(root)
}

func TestReachGolden(t *testing.T) {
	for _, example := range []string{"ml-platform", "ml-platform-locked"} {
		for _, format := range []string{"text", "json", "csv", "md", "dot"} {
			t.Run(example+"/"+format, func(t *testing.T) {
				stdout, stderr, code := run(t, "", "reach", "-f", "examples/"+example, "-o", format)
				if code != ExitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden(t, "reach/"+example+"."+format, stdout)
			})
		}
	}
}

func TestExplainGolden(t *testing.T) {
	cases := map[string][]string{
		"training-to-dns":             {"--from", "ml-workloads/text-embed-finetune", "--to", "kube-system/coredns", "--port", "53", "--protocol", "UDP"},
		"training-to-s3":              {"--from", "ml-workloads/text-embed-finetune", "--to", "52.216.10.1", "--port", "443"},
		"internet-to-inference":       {"--from", "203.0.113.9", "--to", "ml-workloads/model-server", "--port", "8080"},
		"ingress-to-inference":        {"--from", "ingress-nginx/ingress-nginx-controller", "--to", "ml-workloads/model-server"},
		"training-to-aws-s3":          {"--from", "ml-workloads/text-embed-finetune", "--to", "aws:S3:us-east-1", "--port", "443"},
		"inference-to-imds":           {"--from", "ml-workloads/model-server", "--to", "imds"},
		"training-to-internet":        {"--from", "ml-workloads/text-embed-finetune", "--to", "internet", "--port", "443"},
		"internet-paths-to-inference": {"--from", "internet", "--to", "ml-workloads/model-server"},
		"training-to-cluster-dns":     {"--from", "ml-workloads/text-embed-finetune", "--to", "cluster-dns"},
		"inference-to-kubernetes-api": {"--from", "ml-workloads/model-server", "--to", "kubernetes-api"},
	}
	for name, args := range cases {
		for _, format := range []string{"text", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				stdout, stderr, code := run(t, "", append([]string{"explain", "-f", "examples/ml-platform", "-o", format}, args...)...)
				if code != ExitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden(t, "explain/"+name+"."+format, stdout)
			})
		}
	}
}

// TestConformance runs the truth tables of testdata/conformance, written
// from the NetworkPolicy API reference independently of the engine: each
// case's expected.txt lists exactly the connections Kubernetes allows.
func TestConformance(t *testing.T) {
	cases, err := filepath.Glob("testdata/conformance/*/input.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no conformance cases (%v)", err)
	}
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := run(t, "", "reach", "-f", input, "-o", "text", "--level", "pod")
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := connectionLines(stdout); got != connectionLines(string(want)) {
				t.Errorf("connections differ from %s/expected.txt:\n%s", dir, diff(connectionLines(string(want)), got))
			}
		})
	}
}

// connectionLines keeps the `src => dst : ports` lines: self traffic and
// notes are comments.
func connectionLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The facts a security engineer needs from the example, stated plainly:
// the training job reaches one S3 /16 on 443, its own pods and, through
// mistake 11 and 5, model-server on 8080 (allow-nlb-health-checks admits
// 10.0.0.0/16, which holds every pod address of the VPC); DNS is included
// nowhere. The inference pods accept 8080 from every pod and node (the
// node group admits itself), and from the rest of the VPC only maybe: the
// node group admits it through the load balancers' group, whose members
// are not in the inputs.
func TestReachExampleFacts(t *testing.T) {
	stdout, stderr, code := run(t, "", "reach", "-f", "examples/ml-platform")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var fromTraining, toInference []string
	for _, l := range strings.Split(connectionLines(stdout), "\n") {
		if strings.HasPrefix(l, "ml-workloads/text-embed-finetune => ") {
			fromTraining = append(fromTraining, l)
		}
		if strings.Contains(l, " => ml-workloads/model-server : ") {
			toInference = append(toInference, l)
		}
	}
	wantTraining := []string{
		"ml-workloads/text-embed-finetune => 52.216.0.0/16 : TCP 443",
		"ml-workloads/text-embed-finetune => ml-workloads/model-server : TCP 8080",
		"ml-workloads/text-embed-finetune => ml-workloads/text-embed-finetune : All Connections",
	}
	if strings.Join(fromTraining, "\n") != strings.Join(wantTraining, "\n") {
		t.Errorf("training job reaches:\n%s\nwant:\n%s", strings.Join(fromTraining, "\n"), strings.Join(wantTraining, "\n"))
	}
	wantInference := []string{
		"10.0.17.24/32,10.0.18.201/32,10.0.33.151/32,10.0.34.77/32 => ml-workloads/model-server : TCP 8080",
		"features/feature-api => ml-workloads/model-server : TCP 8080",
		"ingress-nginx/ingress-nginx-controller => ml-workloads/model-server : TCP 8080",
		"kube-system/coredns => ml-workloads/model-server : TCP 8080",
		"ml-workloads/model-server => ml-workloads/model-server : TCP 8080",
		"ml-workloads/text-embed-finetune => ml-workloads/model-server : TCP 8080",
	}
	var vpcRest string
	var sure []string
	for _, l := range toInference {
		if strings.HasPrefix(l, "10.0.0.") && strings.Contains(l, "unknown") {
			vpcRest = l
			continue
		}
		sure = append(sure, l)
	}
	if strings.Join(sure, "\n") != strings.Join(wantInference, "\n") {
		t.Errorf("inference reachable from:\n%s\nwant:\n%s", strings.Join(sure, "\n"), strings.Join(wantInference, "\n"))
	}
	if !strings.HasSuffix(strings.SplitN(vpcRest, " [", 2)[0], "=> ml-workloads/model-server : None; unknown: TCP 8080") {
		t.Errorf("the rest of the VPC to model-server is not unknown on 8080: %q", vpcRest)
	}
	stdout, _, _ = run(t, "", "explain", "-f", "examples/ml-platform", "--from", "ml-workloads/text-embed-finetune", "--to", "kube-system/coredns", "--port", "53", "--protocol", "UDP")
	if !strings.HasPrefix(stdout, "ml-workloads/text-embed-finetune => kube-system/coredns, UDP 53: DENIED") || !strings.Contains(stdout, "restrict-ml-egress (examples/ml-platform/ml-workloads/networkpolicies.yaml:9)") {
		t.Errorf("explain does not say DNS is denied by restrict-ml-egress:\n%s", stdout)
	}
	// The inference Service is an internet-facing NLB that bypasses the
	// Ingress allowlist; in the locked platform nothing is exposed.
	stdout, _, _ = run(t, "", "explain", "-f", "examples/ml-platform", "--from", "internet", "--to", "ml-workloads/model-server")
	if !strings.HasPrefix(stdout, "internet => ml-workloads/model-server: REACHABLE") || !strings.Contains(stdout, "Service/ml-workloads/model-server (examples/ml-platform/ml-workloads/model-server.yaml:93): open") || !strings.Contains(stdout, "source allowlist: blocked") {
		t.Errorf("the exposed inference Service is not reported:\n%s", stdout)
	}
	stdout, _, _ = run(t, "", "explain", "-f", "examples/ml-platform-locked", "--from", "internet", "--to", "ml-workloads/model-server")
	if !strings.HasPrefix(stdout, "internet => ml-workloads/model-server: NOT REACHABLE") {
		t.Errorf("the locked platform exposes inference:\n%s", stdout)
	}
}

func TestRanges(t *testing.T) {
	for _, format := range []string{"text", "json", "yaml"} {
		stdout, stderr, code := run(t, "", "ranges", "--service", "S3", "--region", "us-east-1", "--ipv4", "-o", format)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		golden(t, "ranges/s3-us-east-1."+format, stdout)
	}
	stdout, _, code := run(t, "", "ranges", "--service", "S3", "--region", "us-east-1", "--raw", "--ranges-file", "internal/ranges/testdata/ip-ranges-2026-04-13-20-07-05.json")
	if code != ExitOK || !strings.HasPrefix(stdout, "# AWS ip-ranges syncToken 1776110825") {
		t.Errorf("--ranges-file --raw: exit %d\n%s", code, stdout)
	}
	old, new := "internal/ranges/testdata/ip-ranges-2026-04-13-20-07-05.json", "internal/ranges/testdata/ip-ranges-2026-04-13-22-07-05.json"
	stdout, _, code = run(t, "", "ranges", "diff", old, new, "--service", "S3", "--region", "us-east-1")
	if code != ExitFindings {
		t.Errorf("diff exit %d, want 1 (something changed)", code)
	}
	golden(t, "ranges/diff-april.text", stdout)
	if _, _, code := run(t, "", "ranges", "diff", old, old); code != ExitOK {
		t.Errorf("diff of a file with itself: exit %d, want 0", code)
	}
	for _, args := range [][]string{
		{"ranges", "--ranges-file", "examples/ml-platform/nodes.yaml"},
		{"ranges", "refresh", "--url", "http://127.0.0.1:1/ip-ranges.json"},
		{"ranges", "diff", old},
	} {
		if _, stderr, code := run(t, "", args...); code != ExitInput || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

func TestNodeSGFlagAndNamedErrors(t *testing.T) {
	stdout, stderr, code := run(t, "", "inventory", "-f", "examples/ml-platform", "-o", "json", "--node-sg", "eks.amazonaws.com/nodegroup=gpu=sg-0override1,sg-0override2")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		Workloads []struct {
			Name string
			Pods []struct {
				Placement struct{ SecurityGroups []string } `json:"placement"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	for _, w := range inv.Workloads {
		if w.Name == "text-embed-finetune" && strings.Join(w.Pods[0].Placement.SecurityGroups, ",") != "sg-0override1,sg-0override2" {
			t.Errorf("--node-sg did not apply to the GPU pool: %v", w.Pods[0].Placement.SecurityGroups)
		}
		if w.Name == "feature-api" && strings.Join(w.Pods[0].Placement.SecurityGroups, ",") != "sg-0a1b2c3d4e5f60001" {
			t.Errorf("--node-sg applied beyond its selector: %v", w.Pods[0].Placement.SecurityGroups)
		}
	}
	for _, args := range [][]string{
		{"inventory", "-f", "examples/ml-platform", "--node-sg", "pool=gpu"},
		{"inventory", "-f", "examples/ml-platform", "--node-sg", "pool in (=sg-1"},
		{"explain", "-f", "examples/ml-platform", "--from", "ml-workloads/model-server", "--to", "aws:NOPE:us-east-1"},
		{"explain", "-f", "examples/ml-platform", "--from", "ml-workloads/nope", "--to", "imds"},
	} {
		if _, stderr, code := run(t, "", args...); code != ExitInput || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestAudit(t *testing.T) {
	for _, example := range []string{"ml-platform", "ml-platform-locked"} {
		for _, format := range []string{"table", "json", "markdown", "sarif"} {
			t.Run(example+"/"+format, func(t *testing.T) {
				stdout, stderr, code := run(t, "", "audit", "-f", "examples/"+example, "-o", format)
				want := map[string]int{"ml-platform": ExitFindings, "ml-platform-locked": ExitOK}[example]
				if code != want {
					t.Errorf("exit %d, want %d: %s", code, want, stderr)
				}
				golden(t, "audit/"+example+"."+format, stdout)
			})
		}
	}
	// --fail-on and --rules decide the exit status.
	if _, _, code := run(t, "", "audit", "-f", "examples/ml-platform", "--fail-on", "none"); code != ExitOK {
		t.Errorf("--fail-on none: exit %d", code)
	}
	if stdout, _, code := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF005", "--fail-on", "high"); code != ExitOK || !strings.Contains(stdout, "RF005") || strings.Contains(stdout, "RF001") {
		t.Errorf("--rules RF005 --fail-on high: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{{"audit", "-f", "examples/ml-platform", "--rules", "RF999"}, {"audit", "-f", "examples/ml-platform", "--fail-on", "severe"}} {
		if _, stderr, code := run(t, "", args...); code != ExitInput || stderr == "" {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// docs/rules.md is what `ringfence rules -o markdown` prints.
func TestRulesCatalogueIsCurrent(t *testing.T) {
	stdout, _, code := run(t, "", "rules", "-o", "markdown")
	if code != ExitOK {
		t.Fatal(code)
	}
	if *update {
		if err := os.WriteFile("docs/rules.md", []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("docs/rules.md")
	if err != nil || string(want) != stdout {
		t.Errorf("docs/rules.md is stale: run ringfence rules -o markdown > docs/rules.md")
	}
}

// The SARIF log validates against the official SARIF 2.1.0 schema
// (hack/sarif-schema.sh fetches it; make test passes its path) and points at
// the lines of the inputs.
func TestAuditSARIF(t *testing.T) {
	stdout, stderr, code := run(t, "", "audit", "-f", "examples/ml-platform", "-o", "sarif")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatal(err)
	}
	run0 := log.Runs[0]
	if log.Version != "2.1.0" || len(run0.Tool.Driver.Rules) != len(check.Rules()) || len(run0.Results) == 0 {
		t.Fatalf("log: version %s, %d rules, %d results", log.Version, len(run0.Tool.Driver.Rules), len(run0.Results))
	}
	for _, r := range run0.Results {
		if run0.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Level == "" || len(r.Locations) != 1 || !strings.HasPrefix(r.Locations[0].PhysicalLocation.ArtifactLocation.URI, "examples/ml-platform/") || r.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Errorf("result %+v", r)
		}
	}
	schemaPath := os.Getenv("RINGFENCE_SARIF_SCHEMA")
	if schemaPath == "" {
		t.Skip("RINGFENCE_SARIF_SCHEMA not set (make test sets it from hack/sarif-schema.sh, which needs npm)")
	}
	schema, err := jsonschema.NewCompiler().Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("SARIF does not validate against %s: %v", schemaPath, err)
	}
}

// Suppressed findings do not fail the run, are counted, and are listed
// with -v; an invalid config is an input error.
func TestAuditSuppressions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ringfence.yaml")
	if err := os.WriteFile(cfg, []byte("suppressions:\n- rule: RF005\n  object: PyTorchJob/ml-workloads/text-embed-finetune\n  reason: resolves through a sidecar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF005", "--fail-on", "medium", "--config", cfg)
	if code != ExitOK || !strings.Contains(stdout, "0 findings") || !strings.Contains(stdout, "(1 suppressed)") || strings.Contains(stdout, "SUPPRESSED") {
		t.Errorf("exit %d: %s%s", code, stdout, stderr)
	}
	if stdout, _, _ := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF005", "--config", cfg, "-v"); !strings.Contains(stdout, "SUPPRESSED by "+cfg+": resolves through a sidecar") {
		t.Errorf("-v does not list the suppressed finding:\n%s", stdout)
	}
	if stdout, _, _ := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF005", "--config", cfg, "-o", "sarif"); !strings.Contains(stdout, `"justification": "resolves through a sidecar"`) {
		t.Errorf("SARIF lacks the suppression:\n%s", stdout)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("suppressions:\n- rule: RF005\n  object: x\n"), 0o644)
	if _, stderr, code := run(t, "", "audit", "-f", "examples/ml-platform", "--config", bad); code != ExitInput || !strings.Contains(stderr, "a reason is required") {
		t.Errorf("bad config: exit %d, %s", code, stderr)
	}
}

func TestGenerate(t *testing.T) {
	goldens := map[string]string{"yaml": "ml-platform.yaml", "json": "ml-platform.json", "terraform": "ml-platform.tf", "awscli": "ml-platform.awscli.json", "cilium": "ml-platform.cilium.yaml", "calico": "ml-platform.calico.yaml", "eks-cnp": "ml-platform.eks-cnp.yaml", "eks-anp": "ml-platform.eks-anp.yaml"}
	for _, format := range []string{"yaml", "json", "terraform", "awscli", "cilium", "calico", "eks-cnp", "eks-anp"} {
		stdout, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences/ml-platform.yaml", "-o", format)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "huggingface.co:443 is a DNS name") {
			t.Errorf("no FQDN warning: %s", stderr)
		}
		golden(t, "generate/"+goldens[format], stdout)
	}
	// The whole platform fenced: the platform's own components too.
	stdout, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences")
	if code != ExitOK {
		t.Fatalf("examples/fences: exit %d: %s", code, stderr)
	}
	golden(t, "generate/ml-platform.fenced.yaml", stdout)
	stdout, stderr, code = run(t, "", "generate", "--from-cluster", "-f", "examples/ml-platform")
	if code != ExitOK {
		t.Fatalf("--from-cluster: exit %d: %s", code, stderr)
	}
	golden(t, "generate/ml-platform.proposed.yaml", stdout)
	if _, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform"); code != ExitInput || !strings.Contains(stderr, "no Fence") {
		t.Errorf("without Fences: exit %d %s", code, stderr)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "fence.yaml")
	os.WriteFile(bad, []byte("apiVersion: ringfence.dev/v1alpha1\nkind: Fence\nmetadata: {name: f, namespace: ml-workloads}\nspec:\n  workloads: {matchLabels: {app: ml-training}}\n  egress:\n  - service: {namespace: features, name: nope, port: http}\n"), 0o644)
	if _, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", bad); code != ExitInput || !strings.Contains(stderr, "no Service features/nope") {
		t.Errorf("unknown Service: exit %d %s", code, stderr)
	}
	for _, c := range []struct{ spec, want string }{
		{"  egress:\n  - cidr: {cidrs: [0.0.0.0/0], ports: [{port: 443}]}\n", ":7: Fence/ml-workloads/f: spec.egress[0].cidr.cidrs: 0.0.0.0/0 is every address"},
		{"  egress:\n  - cidr: {cidrs: [10.0.0.2/32]}\n", ":7: Fence/ml-workloads/f: spec.egress[0].cidr: cidrs and ports are required"},
		{"  ingress:\n  - from: {cidrs: [10.0.0.0/16]}\n", ":7: Fence/ml-workloads/f: spec.ingress[0]: ports are required with from"},
		{"  ingress:\n  - from: {cidrs: [10.0.0.0/16]}\n    ports: [{protocol: ICMP, port: 1}]\n", ":7: Fence/ml-workloads/f: spec.ingress[0].ports: unknown protocol \"ICMP\""},
		{"  ingress:\n  - from: {namespaces: {}}\n    ingressController: {namespace: ingress-nginx}\n    ports: [{port: 53}]\n", ":7: Fence/ml-workloads/f: spec.ingress[0]: give exactly one of ingressController, from"},
	} {
		os.WriteFile(bad, []byte("apiVersion: ringfence.dev/v1alpha1\nkind: Fence\nmetadata: {name: f, namespace: ml-workloads}\nspec:\n  workloads: {matchLabels: {app: ml-training}}\n"+c.spec), 0o644)
		if _, stderr, code := run(t, "", "generate", "-f", bad); code != ExitInput || !strings.Contains(stderr, bad+c.want) {
			t.Errorf("%q: exit %d %s", c.spec, code, stderr)
		}
	}
	os.WriteFile(bad, []byte("apiVersion: ringfence.dev/v1alpha1\nkind: Fence\nmetadata: {name: f, namespace: ml-workloads}\nspec:\n  workloads: {matchLabels: {app: ml-training}}\n  egress:\n  - dns: {}\n    aws: {service: S3, region: us-east-1}\n"), 0o644)
	if _, stderr, code := run(t, "", "generate", "-f", bad); code != ExitInput || !strings.Contains(stderr, bad+":7: Fence/ml-workloads/f: spec.egress[0]: give exactly one of") {
		t.Errorf("two destinations in one item: exit %d %s", code, stderr)
	}
}

// The "done when": the Fences for examples/ml-platform, applied over
// it, turn its audit clean and keep every needed flow open, as audit,
// explain and reach show. Without the Fences the same audit is not clean.
func TestFencedPlatformAuditsClean(t *testing.T) {
	base := []string{"-f", "examples/ml-platform", "-f", "examples/fences"}
	_, stderr, code := run(t, "", append([]string{"audit", "--fail-on", "info", "-o", "json"}, base...)...)
	if code != ExitFindings {
		t.Fatalf("without --apply-fences the example must have findings: exit %d %s", code, stderr)
	}
	// Fences fix the workloads' network; long-lived keys (RF017) stay until
	// the job gets a role, the public S3 endpoint (RF018) until a VPC
	// endpoint carries it, and the node group's NodePort rule (RF021) is a
	// security group ingress rule no Fence expresses: the clean audit is
	// that of the other rules.
	var rules []string
	for _, id := range check.NetworkRules() {
		if id != "RF021" {
			rules = append(rules, id)
		}
	}
	stdout, stderr, code := run(t, "", append([]string{"audit", "--apply-fences", "--fail-on", "info", "-o", "json", "--rules", strings.Join(rules, ",")}, base...)...)
	if code != ExitOK {
		t.Fatalf("audit of the fenced platform: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var report struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil || len(report.Findings) != 0 {
		t.Fatalf("findings after applying: %v %s", err, stdout)
	}
	if strings.Contains(stderr, "does not do what the Fences say") {
		t.Errorf("verification problems: %s", stderr)
	}
	apply := append([]string{"--apply-fences"}, base...)
	// The needed flows stay open: S3 in all its current prefixes through
	// both layers, DNS, the feature API, the ingress controller to
	// inference; the internet and IMDS are closed.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "ml-workloads/text-embed-finetune", "--to", "aws:S3:us-east-1", "--port", "443"}, "Both layers: allows all of it"},
		{[]string{"--from", "ml-workloads/model-server", "--to", "aws:S3:us-east-1", "--port", "443"}, "Both layers: allows all of it"},
		{[]string{"--from", "ml-workloads/text-embed-finetune", "--to", "cluster-dns"}, "UDP 53: ALLOWED"},
		{[]string{"--from", "ml-workloads/text-embed-finetune", "--to", "features/feature-api", "--port", "8080"}, "TCP 8080: ALLOWED"},
		{[]string{"--from", "ingress-nginx/ingress-nginx-controller", "--to", "ml-workloads/model-server", "--port", "8080"}, "TCP 8080: ALLOWED"},
		{[]string{"--from", "ml-workloads/text-embed-finetune", "--to", "internet", "--port", "443"}, "Both layers: allows none of it"},
		{[]string{"--from", "ml-workloads/model-server", "--to", "imds"}, "DENIED"},
		{[]string{"--from", "features/feature-api", "--to", "ml-workloads/model-server", "--port", "8080"}, "TCP 8080: DENIED"},
		{[]string{"--from", "internet", "--to", "ml-workloads/model-server"}, "NOT REACHABLE"},
	} {
		stdout, stderr, code := run(t, "", append(append([]string{"explain"}, apply...), c.args...)...)
		if code != ExitOK || !strings.Contains(stdout, c.want) {
			t.Errorf("explain %v: exit %d, want %q in:\n%s%s", c.args, code, c.want, stdout, stderr)
		}
	}
	// reach agrees: the training job's connections are exactly its needs.
	stdout, stderr, code = run(t, "", append([]string{"reach", "-o", "json"}, apply...)...)
	if code != ExitOK {
		t.Fatalf("reach: exit %d %s", code, stderr)
	}
	var r struct {
		Connections []struct{ Src, Dst string } `json:"connections"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, c := range r.Connections {
		if strings.HasPrefix(c.Src, "ml-workloads/text-embed-finetune") && !strings.HasPrefix(c.Dst, "External/") {
			dsts = append(dsts, c.Dst)
		}
	}
	sort.Strings(dsts)
	if got := strings.Join(dsts, " "); !strings.Contains(got, "features/feature-api") || !strings.Contains(got, "kube-system/coredns") || strings.Contains(got, "model-server") || strings.Contains(got, "ingress-nginx") {
		t.Errorf("training reaches in the cluster: %s", got)
	}
	if _, stderr, code := run(t, "", "audit", "--apply-fences", "-f", "examples/ml-platform"); code != ExitInput || !strings.Contains(stderr, "--apply-fences: no Fence") {
		t.Errorf("--apply-fences without Fences: exit %d %s", code, stderr)
	}
}
