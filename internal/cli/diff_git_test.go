package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"sigs.k8s.io/yaml"
	"strings"
	"testing"
)

// workflowDiffArgs returns the arguments of the `ringfence diff` line of
// the example GitHub Actions workflow, without its redirection.
func workflowDiffArgs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("docs/examples/ringfence-diff.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "ringfence diff ") {
			l, _, _ = strings.Cut(l, ">")
			return strings.Fields(l)[1:]
		}
	}
	t.Fatal("no `ringfence diff` line in the workflow")
	return nil
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// gitRepos makes a repository with main holding base/ of a truth case in
// deploy/, clones it as a pull request would be checked out, and commits
// head/ there on a branch. It returns the clone.
func gitRepos(t *testing.T, base, head string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
	} {
		t.Setenv(k, v)
	}
	root := t.TempDir()
	origin, clone := filepath.Join(root, "origin"), filepath.Join(root, "clone")
	if err := os.Mkdir(origin, 0o755); err != nil {
		t.Fatal(err)
	}
	gitRun(t, origin, "init", "-q", "-b", "main")
	if base != "" {
		copyDir(t, base, filepath.Join(origin, "deploy"))
	}
	if err := os.WriteFile(filepath.Join(origin, "README.md"), []byte("manifests\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, origin, "add", "-A")
	gitRun(t, origin, "commit", "-q", "-m", "base")
	gitRun(t, root, "clone", "-q", origin, clone)
	gitRun(t, clone, "checkout", "-q", "-b", "change")
	copyDir(t, head, filepath.Join(clone, "deploy"))
	gitRun(t, clone, "add", "-A")
	gitRun(t, clone, "commit", "-q", "--allow-empty", "-m", "head")
	return clone
}

// TestDiffWorkflow runs the example workflow's command in a pull request's
// clone: the base is origin/main, read from git, the head the work tree.
func TestDiffWorkflow(t *testing.T) {
	args := workflowDiffArgs(t)
	clone := gitRepos(t, "testdata/diff/allow-port/base", "testdata/diff/allow-port/head")
	wd, _ := os.Getwd()
	t.Chdir(clone)
	out, errOut, code := run(t, "", args...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (the change opens TCP 8080): %s", code, errOut)
	}
	for _, want := range []string{
		"### ringfence diff",
		"| connections | 0 | 0 | 1 |",
		"| ~ | shop/a | shop/b | opens TCP 8080 (was TCP 80, now TCP 80,8080) |",
		// The base's rule, named without the temporary directory it
		// was read into, and the head's.
		"- ingress of shop/b: NetworkPolicy shop/b-from-a ingress[0] (deploy/policy.yaml:10) admits shop/a on TCP 80",
		"+ ingress of shop/b: NetworkPolicy shop/b-from-a ingress[0] (deploy/policy.yaml:10) admits shop/a on TCP 80,8080",
		"<details>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the comment lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, os.TempDir()+"/ringfence-base-") {
		t.Errorf("the comment shows the temporary directory:\n%s", out)
	}
	// The work tree is the head: reverting the change without committing
	// it leaves nothing to report.
	copyDir(t, filepath.Join(wd, "testdata/diff/allow-port/base"), filepath.Join(clone, "deploy"))
	out, errOut, code = run(t, "", args...)
	if code != ExitOK || !strings.Contains(out, "No change") {
		t.Errorf("work tree back at the base: exit %d, %s %s", code, out, errOut)
	}
}

// TestDiffBaseRefNewDirectory: manifests the base revision does not have
// are all new; what they open is reported, nothing fails to load.
func TestDiffBaseRefNewDirectory(t *testing.T) {
	clone := gitRepos(t, "", "testdata/diff/loadbalancer/head")
	t.Chdir(clone)
	out, errOut, code := run(t, "", "diff", "--base-ref", "origin/main", "-f", "deploy", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"entry": "Service/shop/b"`) || !strings.Contains(out, `"change": "added"`) {
		t.Errorf("the new Service is not an added exposure:\n%s", out)
	}
}

func TestDiffBaseRefErrors(t *testing.T) {
	clone := gitRepos(t, "testdata/diff/allow-port/base", "testdata/diff/allow-port/head")
	t.Chdir(clone)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--base-ref", "no-such-branch", "-f", "deploy"}, "no such commit"},
		{[]string{"diff", "--base-ref", "origin/main", "-f", os.TempDir()}, "outside the git work tree"},
		{[]string{"diff", "--base-ref", "origin/main", "-f", "-"}, "standard input"},
		{[]string{"diff", "--base-ref", "--upload-pack=x", "-f", "deploy"}, "not a revision"},
	} {
		_, errOut, code := run(t, "", c.args...)
		if code != ExitInput || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "ringfence diff --help") {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	t.Chdir(t.TempDir())
	if _, errOut, code := run(t, "", "diff", "--base-ref", "HEAD"); code != ExitInput || !strings.Contains(errOut, "git work tree") {
		t.Errorf("outside a repository: exit %d, %q", code, errOut)
	}
}

// TestPreCommitDiffHook runs the ringfence-diff hook's entry as pre-commit
// would on a commit being made: the change is in the work tree, HEAD is
// the base.
func TestPreCommitDiffHook(t *testing.T) {
	data, err := os.ReadFile(".pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct{ ID, Entry, Language string }
	if err := yaml.Unmarshal(data, &hooks); err != nil {
		t.Fatal(err)
	}
	var entry []string
	for _, h := range hooks {
		if h.ID == "ringfence-diff" {
			entry = strings.Fields(h.Entry)
		}
	}
	if len(entry) < 2 || entry[0] != "ringfence" {
		t.Fatalf("no ringfence-diff hook running ringfence: %+v", hooks)
	}
	clone := gitRepos(t, "testdata/diff/allow-port/base", "testdata/diff/allow-port/base")
	wd, _ := os.Getwd()
	copyDir(t, filepath.Join(wd, "testdata/diff/allow-port/head"), filepath.Join(clone, "deploy"))
	gitRun(t, clone, "add", "-A")
	t.Chdir(clone)
	args := append(entry[1:], "-f", "deploy/")
	out, errOut, code := run(t, "", args...)
	if code != ExitFindings || !strings.Contains(out, "opens TCP 8080") {
		t.Errorf("%v on a commit that opens TCP 8080: exit %d\n%s%s", args, code, out, errOut)
	}
}
