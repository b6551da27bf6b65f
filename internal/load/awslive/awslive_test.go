package awslive

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// docs/aws.md's minimal policy lists exactly the actions Read calls (the
// moto test in internal/cli records the calls and compares them with
// Actions).
func TestDocumentedPolicy(t *testing.T) {
	b, err := os.ReadFile("../../../docs/aws.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- iam-policy -->\n```json\n")
	if !ok {
		t.Fatal("docs/aws.md has no <!-- iam-policy --> JSON block")
	}
	text, _, _ := strings.Cut(rest, "```")
	var policy struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal([]byte(text), &policy); err != nil {
		t.Fatalf("the policy in docs/aws.md is not valid JSON: %v", err)
	}
	var documented []string
	for _, s := range policy.Statement {
		if s.Effect != "Allow" || s.Resource != "*" {
			t.Errorf("statement %+v", s)
		}
		documented = append(documented, s.Action...)
	}
	want := append([]string(nil), Actions...)
	sort.Strings(want)
	sort.Strings(documented)
	if strings.Join(documented, " ") != strings.Join(want, " ") {
		t.Errorf("docs/aws.md policy:\n%v\ncode:\n%v", documented, want)
	}
	for _, a := range Actions {
		verb := a[strings.Index(a, ":")+1:]
		if !strings.HasPrefix(verb, "Describe") && !strings.HasPrefix(verb, "Get") {
			t.Errorf("%s is not a read-only action", a)
		}
	}
}
