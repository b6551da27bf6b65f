package load

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/aws"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func deployment(i int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: d%d, namespace: ns%d}
spec:
  selector: {matchLabels: {app: a%d}}
  template:
    metadata: {labels: {app: a%d}}
    spec: {containers: [{name: c, image: "img:%d", ports: [{name: http, containerPort: 8080}]}]}
`, i, i%20, i%50, i%50, i)
}

func TestDirectoryWalk(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b", "svc.yml"), "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n")
	writeFile(t, filepath.Join(dir, "a.yaml"), deployment(1))
	writeFile(t, filepath.Join(dir, "c", "d", "list.json"), `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa","namespace":"x"}}]}`)
	writeFile(t, filepath.Join(dir, "README.md"), "# not read")
	writeFile(t, filepath.Join(dir, "values.txt"), "not: read")
	writeFile(t, filepath.Join(dir, "aws", "sg.json"), `{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [], "IpPermissionsEgress": []}]}`)
	writeFile(t, filepath.Join(dir, "aws", "ip-ranges.json"), `{"syncToken": "1", "prefixes": []}`)
	explicit := filepath.Join(dir, "values.txt")
	res, err := Load(context.Background(), Options{Files: []string{dir, filepath.Join(dir, "a.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	w := res.World
	if len(w.Workloads) != 1 || len(w.Services) != 1 || len(w.ServiceAccounts) != 1 {
		t.Errorf("loaded %d workloads, %d services, %d service accounts; want 1 each (a.yaml given twice is read once)", len(w.Workloads), len(w.Services), len(w.ServiceAccounts))
	}
	if len(w.SecurityGroups) != 1 || w.SecurityGroups[0].ID != "sg-1" {
		t.Errorf("security groups = %+v, want sg-1 from aws/sg.json", w.SecurityGroups)
	}
	if len(res.Recognized) != 1 || res.Recognized[0].Shape != string(aws.ShapeIPRanges) {
		t.Errorf("recognized = %+v, want the ip-ranges file", res.Recognized)
	}
	// A file named explicitly is read whatever its extension: here it is
	// not a Kubernetes object, so it is skipped, and nothing is left.
	if _, err := Load(context.Background(), Options{Files: []string{explicit}}); err == nil || !strings.Contains(err.Error(), "values.txt:1: not a Kubernetes object (no apiVersion and kind") {
		t.Errorf("explicit non-YAML file: err = %v", err)
	}
}

// The real AWS and Terraform documents in ../shared/data load into groups.
func TestSharedAWSDocuments(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(shared); err != nil {
		t.Skip("../shared/data not present")
	}
	tests := map[string]int{ // file -> security groups
		"aws-ec2/describe-security-groups_awscli-example.json":      1,
		"aws-ec2/describe-security-groups_cartography-fixture.json": 4,
		"aws-ec2/terraform-plan_trivy_testdata_plan.json":           1,
		"aws-ec2/terraform-plan_tf1.11_vpc_sg_rules_EXCERPT.json":   1,
	}
	for file, groups := range tests {
		res, err := Load(context.Background(), Options{Files: []string{filepath.Join(shared, file)}})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if n := len(res.World.SecurityGroups); n != groups {
			t.Errorf("%s: %d security groups, want %d", file, n, groups)
		}
	}
	res, err := Load(context.Background(), Options{Files: []string{filepath.Join(shared, "aws-ip-ranges/ip-ranges-2026-04-13-20-07-05.json")}})
	if err != nil || len(res.Recognized) != 1 || res.Recognized[0].Shape != string(aws.ShapeIPRanges) {
		t.Errorf("ip-ranges: %v %+v", err, res)
	}
}

func TestManyFiles(t *testing.T) {
	dir := makeManyFiles(t, 10000)
	res, err := Load(context.Background(), Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.World.Workloads); n != 10000 {
		t.Errorf("loaded %d workloads, want 10000", n)
	}
	if n := len(res.World.Namespaces); n != 20 {
		t.Errorf("%d namespaces synthesized, want 20", n)
	}
}

func makeManyFiles(t testing.TB, n int) string {
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%03d", i%100), fmt.Sprintf("d%05d.yaml", i)), deployment(i))
	}
	return dir
}

// A 50 MB single document (far beyond etcd's 1.5 MiB object limit, so only
// a generated or corrupt file has one) is read correctly: here, counted as
// an unknown kind.
func TestHugeDocument(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	writeFile(t, path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata:\n  blob: \""+strings.Repeat("a", 50<<20)+"\"\n")
	res, err := Load(context.Background(), Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.UnknownCount() != 1 {
		t.Errorf("unknown = %+v", res.Report.Unknown)
	}
}

// A List of several thousand objects, as `kubectl get -A -o yaml` writes
// it: every item is loaded with its own line.
func TestLargeList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.yaml")
	writeFile(t, path, largeList(2000))
	res, err := Load(context.Background(), Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.World.Workloads); n != 2000 {
		t.Fatalf("loaded %d workloads, want 2000", n)
	}
	lines := map[int]bool{}
	for _, w := range res.World.Workloads {
		lines[w.Source.Line] = true
	}
	// Each item is 8 lines; the items start on line 4.
	for i := 0; i < 2000; i++ {
		if !lines[4+8*i] {
			t.Fatalf("no workload starts at line %d", 4+8*i)
		}
	}
}

func largeList(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := 0; i < n; i++ {
		for _, l := range strings.Split(strings.TrimSuffix(deployment(i), "\n"), "\n") {
			if strings.HasPrefix(l, "apiVersion") {
				b.WriteString("- " + l + "\n")
			} else {
				b.WriteString("  " + l + "\n")
			}
		}
	}
	return b.String()
}

func TestNoInput(t *testing.T) {
	if _, err := Load(context.Background(), Options{}); err != ErrNoInput {
		t.Errorf("err = %v, want ErrNoInput", err)
	}
}

// BenchmarkLoadManyFiles loads a directory of 10,000 one-object files.
func BenchmarkLoadManyFiles(b *testing.B) {
	dir := makeManyFiles(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(context.Background(), Options{Files: []string{dir}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10000, "objects/op")
}

// BenchmarkLoadLargeList loads one ~50 MB List of Deployments.
func BenchmarkLoadLargeList(b *testing.B) {
	content := largeList(200000)
	path := filepath.Join(b.TempDir(), "list.yaml")
	writeFile(b, path, content)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(context.Background(), Options{Files: []string{path}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(200000, "objects/op")
}

// kubectlJSON is a List as `kubectl get -A -o json` prints it for a busy
// cluster: n Deployments of about 6 KB each, with managed fields, status and
// long annotations.
func kubectlJSON(n int) string {
	items := make([]map[string]any, n)
	for i := range items {
		env := make([]map[string]string, 20)
		for k := range env {
			env[k] = map[string]string{"name": fmt.Sprintf("E%d", k), "value": strings.Repeat("v", 40)}
		}
		items[i] = map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{
				"name": fmt.Sprintf("d%d", i), "namespace": fmt.Sprintf("ns%d", i%50),
				"labels":        map[string]string{"app": fmt.Sprintf("a%d", i%100)},
				"annotations":   map[string]string{"note": strings.Repeat("x", 1500)},
				"managedFields": []any{map[string]any{"manager": "kubectl", "operation": "Apply", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}},
			},
			"spec": map[string]any{
				"replicas": 2,
				"selector": map[string]any{"matchLabels": map[string]string{"app": fmt.Sprintf("a%d", i%100)}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]string{"app": fmt.Sprintf("a%d", i%100)}},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "c", "image": fmt.Sprintf("img:%d", i), "env": env,
						"ports": []any{map[string]any{"name": "http", "containerPort": 8080}},
					}}},
				},
			},
			"status": map[string]any{"replicas": 2},
		}
	}
	b, _ := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}, "", "    ")
	return string(b)
}

// BenchmarkLoadKubectlJSON loads a ~50 MB `kubectl get -o json` List.
func BenchmarkLoadKubectlJSON(b *testing.B) {
	content := kubectlJSON(6500)
	path := filepath.Join(b.TempDir(), "cluster.json")
	writeFile(b, path, content)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Load(context.Background(), Options{Files: []string{path}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.World.Workloads) != 6500 {
			b.Fatalf("%d workloads", len(res.World.Workloads))
		}
	}
	b.ReportMetric(6500, "objects/op")
}
