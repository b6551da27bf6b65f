package check

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// RF017 finds keys in every shape the SDKs read them from, names Secrets
// and keys, never prints a value, and is critical only when the egress to
// the internet is shown by both layers.
func TestRF017Shapes(t *testing.T) {
	found := audit(t, fixture("rf017-trigger.yaml"), "RF017")
	var names []string
	for _, f := range found {
		names = append(names, f.Object.Name)
		b, _ := json.Marshal(f)
		if strings.Contains(string(b), "IOSFODNN7EXAMPLE") || strings.Contains(string(b), "wJalrXUtnFEMI") || strings.Contains(string(b), "W2RlZmF1bHRd") {
			t.Errorf("%s prints a credential value: %s", f.Object, b)
		}
		if f.Severity != High {
			t.Errorf("%s: severity %s without security groups, want high", f.Object, f.Severity)
		}
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "credfile,envfrom,homedir,keyref,literal" {
		t.Fatalf("RF017 on %s", got)
	}
	text := map[string]string{}
	for _, f := range found {
		text[f.Object.Name] = f.Message + " | " + strings.Join(f.Path, " | ")
	}
	for name, want := range map[string]string{
		"keyref":   "env AWS_ACCESS_KEY_ID from Secret aws-keys key aws_access_key_id (an access key ID starting AKIA, an IAM user's long-lived key)",
		"envfrom":  "envFrom Secret aws-keys (keys aws_access_key_id (an access key ID starting AKIA",
		"literal":  "env UPLOAD_KEY set to a literal access key ID starting AKIA, an IAM user's long-lived key in the manifest (value not shown)",
		"homedir":  "Secret aws-profile (keys credentials) mounted at /root/.aws",
		"credfile": "Secret uploader mounted at /etc/cloud",
	} {
		if !strings.Contains(text[name], want) {
			t.Errorf("%s: want %q in\n%s", name, want, text[name])
		}
	}
	// With the nodes' security group open to the world, the keys can leave
	// from anywhere: critical.
	open := append(fixture("rf017-trigger.yaml"), filepath.Join("testdata", "rf017-node.yaml"), filepath.Join("testdata", "rf012-aws.json"), filepath.Join("testdata", "rf017-open-sg.json"))
	for _, f := range audit(t, open, "RF017") {
		if f.Severity != Critical || !f.Certain() || !strings.Contains(f.Message, "reaches the internet through both layers") {
			t.Errorf("%s: %s %s: %s", f.Object, f.Severity, f.Confidence, f.Message)
		}
	}
}
