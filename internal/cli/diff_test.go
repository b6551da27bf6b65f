package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/netset"
)

// diffJSON is the part of `diff -o json` the truth tests read.
type diffJSON struct {
	Connections []struct {
		Change, Src, Dst string
		Opened, Closed   netset.Ports
		Self             bool
	}
	Exposures []struct {
		Change, Entry string
		Internet      bool
	}
	UnknownPeers []struct {
		Change, Workload, Reason, Policy string
	}
	Findings []struct {
		Change, Rule string
		Object       struct{ Kind, Namespace, Name string }
	}
	Opens bool
}

// diffLines turns the JSON into the lines of testdata/diff/*/want.txt.
func diffLines(t *testing.T, out string, code int) []string {
	t.Helper()
	var d diffJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var lines []string
	for _, c := range d.Connections {
		l := fmt.Sprintf("connection %s %s => %s opened %s closed %s", c.Change, c.Src, c.Dst, c.Opened, c.Closed)
		if c.Self {
			l += " (self)"
		}
		lines = append(lines, l)
	}
	for _, e := range d.Exposures {
		lines = append(lines, fmt.Sprintf("exposure %s %s internet=%t", e.Change, e.Entry, e.Internet))
	}
	for _, u := range d.UnknownPeers {
		policy := u.Policy
		if policy == "" {
			policy = "-"
		}
		lines = append(lines, fmt.Sprintf("unknown %s %s %s %s", u.Change, u.Workload, u.Reason, policy))
	}
	for _, f := range d.Findings {
		obj := f.Object.Kind + "/" + f.Object.Name
		if f.Object.Namespace != "" {
			obj = f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
		}
		lines = append(lines, fmt.Sprintf("finding %s %s %s", f.Change, f.Rule, obj))
	}
	lines = append(lines, fmt.Sprintf("exit %d", code))
	if d.Opens != (code == ExitFindings) {
		t.Errorf("opens is %t but the exit code is %d", d.Opens, code)
	}
	sort.Strings(lines)
	return lines
}

func wantLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

// TestDiffTruth compares `ringfence diff` on pairs of small configurations
// with the diff written by hand (testdata/diff/*/want.txt).
func TestDiffTruth(t *testing.T) {
	cases, err := filepath.Glob("testdata/diff/*/want.txt")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, want := range cases {
		dir := filepath.Dir(want)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			out, errOut, code := run(t, "", "diff", "--base", filepath.Join(dir, "base"), "--head", filepath.Join(dir, "head"), "-o", "json")
			if code != ExitOK && code != ExitFindings {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got, exp := diffLines(t, out, code), wantLines(t, want)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("diff differs from %s\ngot:\n%s\nwant:\n%s", want, strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
		})
	}
}

// TestDiffSymmetric checks that the diff from head to base is the mirror
// image of the one from base to head: every connection added one way is
// removed the other, with the same ports.
func TestDiffSymmetric(t *testing.T) {
	cases, _ := filepath.Glob("testdata/diff/*/want.txt")
	for _, want := range cases {
		dir := filepath.Dir(want)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fwd, _, fc := run(t, "", "diff", "--base", filepath.Join(dir, "base"), "--head", filepath.Join(dir, "head"), "-o", "json")
			back, _, bc := run(t, "", "diff", "--base", filepath.Join(dir, "head"), "--head", filepath.Join(dir, "base"), "-o", "json")
			mirror := strings.NewReplacer(" added ", " removed ", " removed ", " added ")
			var f, b []string
			for _, l := range diffLines(t, fwd, fc) {
				if strings.HasPrefix(l, "connection ") {
					head, ports, _ := strings.Cut(l, " opened ")
					opened, closed, _ := strings.Cut(ports, " closed ")
					self := ""
					if c, ok := strings.CutSuffix(closed, " (self)"); ok {
						closed, self = c, " (self)"
					}
					f = append(f, mirror.Replace(head)+" opened "+closed+" closed "+opened+self)
				}
			}
			for _, l := range diffLines(t, back, bc) {
				if strings.HasPrefix(l, "connection ") {
					b = append(b, l)
				}
			}
			sort.Strings(f)
			if strings.Join(f, "\n") != strings.Join(b, "\n") {
				t.Errorf("not symmetric:\nforward, mirrored:\n%s\nbackward:\n%s", strings.Join(f, "\n"), strings.Join(b, "\n"))
			}
		})
	}
}

// TestDiffSameIsEmpty: a configuration compared with itself changes
// nothing and exits 0.
func TestDiffSameIsEmpty(t *testing.T) {
	out, errOut, code := run(t, "", "diff", "--base", "examples/ml-platform", "--head", "examples/ml-platform", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := diffLines(t, out, code); len(got) != 1 {
		t.Errorf("a configuration against itself: %v", got)
	}
}

// TestDiffMLPlatform is the example's locked-down version against the
// original, as a reviewer reads it in a pull request (golden Markdown).
func TestDiffMLPlatform(t *testing.T) {
	out, errOut, code := run(t, "", "diff", "--base", "examples/ml-platform", "--head", "examples/ml-platform-locked", "-o", "md")
	if code != ExitFindings {
		t.Fatalf("exit %d (the locked version opens DNS and feature-api to the trainer): %s", code, errOut)
	}
	golden(t, "diff-ml-platform.md", out)
}

func TestDiffUsage(t *testing.T) {
	for _, args := range [][]string{
		{"diff", "--head", "examples/ml-platform"},
		{"diff", "--base", "examples/ml-platform", "--base-ref", "HEAD", "--head", "x"},
		{"diff", "--base", "examples/ml-platform", "--head", "examples/ml-platform", "-o", "html"},
		{"diff", "--base", "does/not/exist", "--head", "examples/ml-platform"},
		{"diff", "--base", "examples/ml-platform", "--head", "examples/ml-platform", "--fail-on", "severe"},
	} {
		_, errOut, code := run(t, "", args...)
		if code != ExitInput || !strings.Contains(errOut, "ringfence: ") {
			t.Errorf("%v: exit %d, %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	out, errOut, code := run(t, "", "version", "-o", "json")
	var v struct{ Version, GoVersion, Platform string }
	if code != ExitOK || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || !strings.HasPrefix(v.GoVersion, "go") || !strings.Contains(v.Platform, "/") {
		t.Errorf("version -o json: exit %d, %s %s", code, out, errOut)
	}
	text, _, _ := run(t, "", "version")
	if !strings.HasPrefix(text, "ringfence "+v.Version+" ("+v.GoVersion) {
		t.Errorf("version text %q disagrees with %+v", text, v)
	}
}

// TestOutputVocabulary: text and md everywhere, with the older spellings
// accepted; help lists the common ones.
func TestOutputVocabulary(t *testing.T) {
	for _, args := range [][]string{
		{"audit", "-f", "examples/ml-platform-locked", "-o", "text"},
		{"audit", "-f", "examples/ml-platform-locked", "-o", "table"},
		{"audit", "-f", "examples/ml-platform-locked", "-o", "md"},
		{"reach", "-f", "examples/ml-platform-locked", "-o", "markdown"},
		{"rules", "-o", "md"},
	} {
		if _, errOut, code := run(t, "", args...); code != ExitOK {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	a, _, _ := run(t, "", "audit", "-f", "examples/ml-platform-locked", "-o", "text")
	b, _, _ := run(t, "", "audit", "-f", "examples/ml-platform-locked", "-o", "table")
	if a != b {
		t.Error("audit -o text and -o table differ")
	}
	help, _, _ := run(t, "", "audit", "--help")
	if !strings.Contains(help, "output format: text|json|sarif|md (default \"text\")") {
		t.Errorf("audit help lists other formats:\n%s", help)
	}
}

// TestDiffSARIFLocations: each result for an opened connection points at
// the rule that opened it: the NetworkPolicy rule a port was added to, the
// security group rule the head adds, or (when the change removed a
// policy's isolation) the removed policy in the base.
func TestDiffSARIFLocations(t *testing.T) {
	type loc struct {
		file string
		line int
	}
	results := func(base, head string) map[string][]loc {
		t.Helper()
		out, errOut, code := run(t, "", "diff", "--base", base, "--head", head, "-o", "sarif")
		if code != ExitFindings {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var s struct {
			Runs []struct {
				Results []struct {
					RuleID    string
					Message   struct{ Text string }
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string }
							Region           struct{ StartLine int }
						}
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		got := map[string][]loc{}
		for _, r := range s.Runs[0].Results {
			if r.RuleID != "RFDIFF" || !strings.Contains(r.Message.Text, ": opens ") {
				continue
			}
			pair, _, _ := strings.Cut(r.Message.Text, ": opens ")
			for _, l := range r.Locations {
				got[pair] = append(got[pair], loc{l.PhysicalLocation.ArtifactLocation.URI, l.PhysicalLocation.Region.StartLine})
			}
			if len(r.Locations) == 0 {
				got[pair] = nil
			}
		}
		return got
	}
	// A port added to an ingress rule: the rule's line in the head.
	got := results("testdata/diff/allow-port/base", "testdata/diff/allow-port/head")
	if want := []loc{{"testdata/diff/allow-port/head/policy.yaml", 10}}; fmt.Sprint(got["shop/a => shop/b"]) != fmt.Sprint(want) {
		t.Errorf("allow-port: %v, want %v", got, want)
	}
	// The locked example back to the original: NodePorts open again by the
	// security group rule "NodePorts from the VPC" (security-groups.json:50),
	// and egress by the removal of the locked egress policies.
	got = results("examples/ml-platform-locked", "examples/ml-platform")
	if len(got) == 0 {
		t.Fatal("no opened connection")
	}
	for pair, ls := range got {
		if len(ls) != 1 || ls[0].line == 0 {
			t.Errorf("%s: locations %v, want one file:line", pair, ls)
		}
	}
	if l := got["10.0.8.0/23 => ingress-nginx/ingress-nginx-controller"]; fmt.Sprint(l) != fmt.Sprint([]loc{{"examples/ml-platform/aws/security-groups.json", 50}}) {
		t.Errorf("NodePorts from the VPC: %v", l)
	}
	if l := got["kube-system/coredns => features/feature-api"]; fmt.Sprint(l) != fmt.Sprint([]loc{{"examples/ml-platform-locked/kube-system/networkpolicies.yaml", 3}}) {
		t.Errorf("coredns egress, isolated in the base only: %v", l)
	}
}
