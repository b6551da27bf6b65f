package cli

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
)

type auditJSON struct {
	Findings []check.Finding `json:"findings"`
}

func auditFindings(t *testing.T, args ...string) []check.Finding {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"audit", "-o", "json", "--fail-on", "none"}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r auditJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	return r.Findings
}

// The example's training job holds an IAM user's keys from a Secret: the
// audit says so, names the Secret and keys, and no output prints a value.
func TestAuditLongLivedKeys(t *testing.T) {
	var rf017 []check.Finding
	for _, f := range auditFindings(t, "-f", "examples/ml-platform") {
		if f.Rule == "RF017" {
			rf017 = append(rf017, f)
		}
	}
	if len(rf017) != 1 || rf017[0].Object.String() != "PyTorchJob/ml-workloads/text-embed-finetune" || !strings.Contains(strings.Join(rf017[0].Path, "\n"), "from Secret training-aws-credentials key AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("RF017: %+v", rf017)
	}
	for _, format := range []string{"table", "json", "markdown", "sarif"} {
		stdout, _, _ := run(t, "", "audit", "-f", "examples/ml-platform", "-o", format)
		if strings.Contains(stdout, "AKIAIOSFODNN7EXAMPLE") || strings.Contains(stdout, "wJalrXUtnFEMI") {
			t.Errorf("-o %s prints the example's key", format)
		}
	}
}

// Without AWS inputs, nothing is critical on an assumption alone, and the
// instance metadata exposure is one possible finding, not one per workload.
func TestAuditWithoutAWSData(t *testing.T) {
	findings := auditFindings(t, "-f", "examples/ml-platform/namespaces.yaml", "-f", "examples/ml-platform/ml-workloads",
		"-f", "examples/ml-platform/features", "-f", "examples/ml-platform/ingress-nginx", "-f", "examples/ml-platform/kube-system")
	imds := 0
	for _, f := range findings {
		if f.Severity == check.Critical && !f.Certain() {
			t.Errorf("critical on an assumption: %s %s", f.Rule, f.Message)
		}
		if strings.Contains(f.Message, "both layers") || strings.Contains(f.Message, "both the NetworkPolicy and the security groups") {
			t.Errorf("claims both layers without security groups: %s %s", f.Rule, f.Message)
		}
		if f.Rule == "RF002" {
			imds++
			if f.Certain() || len(f.Assumptions) == 0 || len(f.Affected) < 4 {
				t.Errorf("RF002 without instances: %+v", f)
			}
		}
	}
	if imds != 1 {
		t.Errorf("%d RF002 findings, want 1", imds)
	}
}

// One cause, one finding: the node group's open egress and its metadata
// options are each reported once, listing the workloads; SARIF gives each
// affected workload a result of its own, with a fingerprint without lines.
func TestAuditGroupsByCause(t *testing.T) {
	count := map[string]int{}
	for _, f := range auditFindings(t, "-f", "examples/ml-platform") {
		count[f.Rule]++
		if f.Rule == "RF007" && len(f.Affected) != 5 {
			t.Errorf("RF007 affects %d workloads, want 5", len(f.Affected))
		}
	}
	if count["RF002"] != 1 || count["RF007"] != 1 {
		t.Errorf("findings per rule: %v", count)
	}
	stdout, _, _ := run(t, "", "audit", "-f", "examples/ml-platform", "-o", "sarif")
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID              string
				PartialFingerprints map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	rf002 := 0
	line := regexp.MustCompile(`:\d+$|\.(yaml|json):`)
	for _, r := range log.Runs[0].Results {
		fp := r.PartialFingerprints["ringfence/v2"]
		if fp == "" || seen[fp] || line.MatchString(fp) {
			t.Errorf("fingerprint %q (empty, repeated or with a line)", fp)
		}
		seen[fp] = true
		if r.RuleID == "RF002" {
			rf002++
		}
	}
	if rf002 != 5 { // the instance, then the 4 workloads it exposes
		t.Errorf("RF002 has %d SARIF results, want 5", rf002)
	}
}

// --fail-on-confidence certain ignores findings that rest on assumptions.
func TestAuditFailOnConfidence(t *testing.T) {
	args := []string{"audit", "-f", "examples/ml-platform/namespaces.yaml", "-f", "examples/ml-platform/features", "--rules", "RF002", "--fail-on", "high"}
	if _, _, code := run(t, "", args...); code != ExitFindings {
		t.Errorf("possible RF002 with --fail-on high: exit %d", code)
	}
	if _, _, code := run(t, "", append(args, "--fail-on-confidence", "certain")...); code != ExitOK {
		t.Errorf("possible RF002 with --fail-on-confidence certain: exit %d", code)
	}
	if _, _, code := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF002", "--fail-on-confidence", "certain"); code != ExitFindings {
		t.Errorf("certain RF002 with --fail-on-confidence certain: exit %d", code)
	}
	if _, stderr, code := run(t, "", append(args, "--fail-on-confidence", "maybe")...); code != ExitInput || !strings.Contains(stderr, "use certain or possible") {
		t.Errorf("bad --fail-on-confidence: exit %d %s", code, stderr)
	}
	stdout, _, _ := run(t, "", "audit", "-f", "examples/ml-platform", "--rules", "RF005")
	if !strings.Contains(stdout, "published 2026-08-22 (100 days ago)") || !strings.Contains(stdout, "WARNING: the AWS ip-ranges publication is 100 days old") {
		t.Errorf("no ip-ranges age in the header:\n%s", stdout)
	}
}

// The example's README documents 12 mistakes, each with the rule that
// reports it: the audit reports each by exactly one finding (or root-cause
// group) of that rule, and every other finding is listed as such.
func TestExampleMistakesTable(t *testing.T) {
	readme, err := os.ReadFile("examples/ml-platform/README.md")
	if err != nil {
		t.Fatal(err)
	}
	mistakeRow := regexp.MustCompile(`^\| (\d+) \| .* \| (RF\d{3}) \|$`)
	otherRow := regexp.MustCompile(`^\| (RF\d{3}) \| `)
	mistakes := map[string]string{} // rule -> mistake number
	others := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := mistakeRow.FindStringSubmatch(line); m != nil {
			if prev, dup := mistakes[m[2]]; dup {
				t.Errorf("mistakes %s and %s name the same rule %s", prev, m[1], m[2])
			}
			mistakes[m[2]] = m[1]
		} else if m := otherRow.FindStringSubmatch(line); m != nil {
			others[m[1]] = true
		}
	}
	if len(mistakes) != 12 {
		t.Fatalf("the README's table names %d rules, want 12: %v", len(mistakes), mistakes)
	}
	count := map[string]int{}
	for _, f := range auditFindings(t, "-f", "examples/ml-platform") {
		count[f.Rule]++
		if mistakes[f.Rule] == "" && !others[f.Rule] {
			t.Errorf("%s is in neither of the README's tables: %s", f.Rule, f.Message)
		}
	}
	for rule, n := range mistakes {
		if count[rule] != 1 {
			t.Errorf("mistake %s: %d findings of %s, want 1", n, count[rule], rule)
		}
	}
}

// A private range in an allowlist never matches on an internet-facing load
// balancer. When the inputs do not show the load balancer (the controller's
// Service lives elsewhere, or is a NodePort behind one), that is possible,
// with the assumption; an internal one is fine.
func TestAuditAllowlistScheme(t *testing.T) {
	const dir = "testdata/audit/scheme/"
	for _, c := range []struct {
		name, service string
		want          check.Confidence // "" for no finding
		assumes       string
	}{
		{"load balancer not in the inputs", "", check.ConfidencePossible, "the ingress controller's Service is not in the inputs"},
		{"internet-facing", "service-internet-facing.yaml", check.ConfidenceCertain, ""},
		{"internal", "service-internal.yaml", "", ""},
		{"node ports behind an unseen load balancer", "service-nodeport.yaml", check.ConfidencePossible, "reached through node ports"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"--rules", "RF020", "-f", dir + "ingress.yaml"}
			if c.service != "" {
				args = append(args, "-f", dir+"controller.yaml", "-f", dir+c.service)
			}
			found := auditFindings(t, args...)
			if c.want == "" {
				if len(found) != 0 {
					t.Fatalf("findings on an internal load balancer: %+v", found)
				}
				return
			}
			if len(found) != 1 || !strings.Contains(found[0].Message, "192.168.10.0/24 is a private range") || strings.Contains(found[0].Message, "203.0.113.0/24") {
				t.Fatalf("RF020: %+v", found)
			}
			f := found[0]
			if got := map[bool]check.Confidence{true: check.ConfidenceCertain, false: check.ConfidencePossible}[f.Certain()]; got != c.want {
				t.Errorf("confidence %q, want %q", got, c.want)
			}
			if a := strings.Join(f.Assumptions, "\n"); c.assumes != "" && !strings.Contains(a, "the entry's load balancer is internet-facing (") || !strings.Contains(a, c.assumes) {
				t.Errorf("assumptions %q lack %q", a, c.assumes)
			}
		})
	}
}

// A workload whose roles policies tell apart is one workload: RF002 counts
// and names it once and lists its roles; the Markdown table names it once
// and SARIF gives it one result.
func TestAuditCountsWorkloadsNotRoles(t *testing.T) {
	const job = "testdata/audit/no-aws/pytorchjob.yaml"
	found := auditFindings(t, "--rules", "RF002", "-f", job)
	if len(found) != 1 {
		t.Fatalf("RF002: %+v", found)
	}
	f := found[0]
	if !strings.HasPrefix(f.Message, "1 workload (train/finetune in 2 roles) may reach") {
		t.Errorf("message %q: want 1 workload, its roles named", f.Message)
	}
	if len(f.Affected) != 2 || !strings.HasPrefix(f.Affected[0].Detail, "train/finetune/master:") || !strings.HasPrefix(f.Affected[1].Detail, "train/finetune/worker:") {
		t.Errorf("affected: %+v; want the master and the worker roles", f.Affected)
	}
	md, _, _ := run(t, "", "audit", "--rules", "RF002", "-f", job, "-o", "markdown", "--fail-on", "none")
	if !strings.Contains(md, "(169.254.169.254): no NetworkPolicy denies it, and the nodes' metadata options are not in the inputs | `PyTorchJob/train/finetune` |") {
		t.Errorf("the Markdown table's affects cell does not name the job once:\n%s", md)
	}
	// The job's two roles reach a webhook's pods: one other workload, and
	// one SARIF result for it besides the webhook configuration's.
	args := []string{"--rules", "RF019", "-f", job, "-f", "testdata/audit/webhook.yaml"}
	found = auditFindings(t, args...)
	if len(found) != 1 || !strings.Contains(found[0].Message, "whose pods (policy/policy-engine) 1 other workload (train/finetune in 2 roles) can reach on TCP 9443") || len(found[0].Affected) != 2 {
		t.Fatalf("RF019: %+v", found)
	}
	sarif, _, _ := run(t, "", append([]string{"audit", "-o", "sarif", "--fail-on", "none"}, args...)...)
	var log struct {
		Runs []struct {
			Results []struct {
				PartialFingerprints map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(sarif), &log); err != nil {
		t.Fatal(err)
	}
	var fps []string
	for _, r := range log.Runs[0].Results {
		fps = append(fps, r.PartialFingerprints["ringfence/v2"])
	}
	want := []string{
		"RF019:ValidatingWebhookConfiguration/policy-engine:validate.policy.example.com policy/policy-engine:ValidatingWebhookConfiguration/policy-engine",
		"RF019:ValidatingWebhookConfiguration/policy-engine:validate.policy.example.com policy/policy-engine:PyTorchJob/train/finetune",
	}
	if strings.Join(fps, "\n") != strings.Join(want, "\n") {
		t.Errorf("SARIF fingerprints %q, want one per location %q", fps, want)
	}
}

// Repositories without AWS inputs (kube-prometheus, KubeRay and KServe
// samples, a training job): no finding is critical on an assumption, no
// RF001 comes from an assumed path, and the instance metadata exposure is
// one possible RF002, not one high finding per workload.
func TestAuditRepositoriesWithoutAWS(t *testing.T) {
	for _, in := range []string{"testdata/monitoring", "testdata/audit/no-aws/kuberay.yaml", "testdata/audit/no-aws/kserve.yaml", "testdata/audit/no-aws/pytorchjob.yaml"} {
		t.Run(in, func(t *testing.T) {
			rf002 := 0
			for _, f := range auditFindings(t, "-f", in) {
				if f.Severity == check.Critical && !f.Certain() {
					t.Errorf("critical on an assumption: %s %s", f.Rule, f.Message)
				}
				switch f.Rule {
				case "RF001":
					t.Errorf("RF001 without credentials or AWS data: %s", f.Message)
				case "RF002":
					rf002++
					if f.Certain() || len(f.Assumptions) == 0 || len(f.Affected) == 0 {
						t.Errorf("RF002 without instances is not one possible finding: %+v", f)
					}
				}
			}
			if rf002 != 1 {
				t.Errorf("%d RF002 findings, want 1", rf002)
			}
		})
	}
}

// The ingress controller's internet-facing load balancer is its purpose:
// no finding is about its existence. What it exposes is reported once
// each: the inference backend's allowlist (RF020) and the inference
// Service that bypasses it (RF009).
func TestAuditIntendedExposure(t *testing.T) {
	count := map[string]int{}
	for _, f := range auditFindings(t, "-f", "examples/ml-platform") {
		if f.Object.String() == "Service/ingress-nginx/ingress-nginx-controller" || f.Object.String() == "Deployment/ingress-nginx/ingress-nginx-controller" && f.Rule != "RF019" {
			t.Errorf("%s is about the ingress controller's own entry: %s", f.Rule, f.Message)
		}
		if strings.Contains(f.Message, "ingress-nginx/ingress-nginx-controller") && strings.Contains(f.Message, "internet") {
			t.Errorf("%s reports the ingress controller's exposure: %s", f.Rule, f.Message)
		}
		count[f.Rule+" "+f.Object.String()]++
	}
	if count["RF020 Ingress/ml-workloads/model-server"] != 1 || count["RF009 Service/ml-workloads/model-server"] != 1 {
		t.Errorf("the backend's exposure is not reported once each: %v", count)
	}
}

// Every shape the AWS SDKs read keys from is reported through the CLI,
// whatever the egress, naming the Secret and its keys; no output format
// prints a value (secretKeyRef, envFrom, literal AKIA and ASIA IDs, a
// Secret mounted at ~/.aws or named by AWS_SHARED_CREDENTIALS_FILE).
func TestAuditCredentialShapes(t *testing.T) {
	args := []string{"--rules", "RF017", "-f", "internal/check/testdata/rf017-trigger.yaml", "-f", "testdata/audit/asia-literal.yaml"}
	text := map[string]string{}
	for _, f := range auditFindings(t, args...) {
		text[f.Object.Name] = f.Message + " | " + strings.Join(f.Path, " | ")
		if f.Severity != check.High || !strings.Contains(f.Remediation, "IRSA") || !strings.Contains(f.Remediation, "EKS Pod Identity") {
			t.Errorf("%s: %s, fix %q", f.Object, f.Severity, f.Remediation)
		}
	}
	for name, want := range map[string]string{
		"keyref":   "env AWS_ACCESS_KEY_ID from Secret aws-keys key aws_access_key_id",
		"envfrom":  "envFrom Secret aws-keys (keys aws_access_key_id",
		"literal":  "literal access key ID starting AKIA",
		"uploader": "literal access key ID starting ASIA, temporary credentials in the manifest (value not shown)",
		"homedir":  "Secret aws-profile (keys credentials) mounted at /root/.aws",
		"credfile": "Secret uploader mounted at /etc/cloud",
	} {
		if !strings.Contains(text[name], want) {
			t.Errorf("%s: want %q in %q", name, want, text[name])
		}
	}
	if len(text) != 6 {
		t.Errorf("RF017 on %d workloads, want 6: %v", len(text), text)
	}
	for _, format := range []string{"table", "json", "markdown", "sarif"} {
		stdout, _, _ := run(t, "", append([]string{"audit", "-o", format}, args...)...)
		for _, secret := range []string{"IOSFODNN7EXAMPL", "wJalrXUtnFEMI", "W2RlZmF1bHRd", "FwoGZXIvYXdzEXAMPLE"} {
			if strings.Contains(stdout, secret) {
				t.Errorf("-o %s prints a credential value (%s…)", format, secret[:6])
			}
		}
	}
}
