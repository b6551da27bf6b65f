package k8s

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/strictjson"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// fastDecodeInputs are the documents the fast decoder is held to the old
// path on: every example and CLI test input, the fuzz corpora of the
// readers, and generated clusters (with and without the AWS layer).
func fastDecodeInputs(t testing.TB) map[string][]byte {
	inputs := map[string][]byte{}
	for _, root := range []string{"../../../examples", "../../cli/testdata"} {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			switch filepath.Ext(p) {
			case ".yaml", ".yml", ".json":
				b, err := os.ReadFile(p)
				if err == nil {
					inputs[p] = b
				}
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"../document/testdata/fuzz/FuzzRead", "../document/testdata/fuzz/FuzzFastYAML", "testdata/fuzz/FuzzFastDecode"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range files {
			if b, ok := corpusBytes(t, p); ok {
				inputs[p] = b
			}
		}
	}
	for i, c := range []gencluster.Config{
		{Namespaces: 12, Workloads: 8, Policies: 5, Seed: 1},
		{Namespaces: 12, Workloads: 8, Policies: 5, Seed: 7, SecurityGroups: 4},
	} {
		c.Out = t.TempDir()
		if _, err := gencluster.Generate(c); err != nil {
			t.Fatal(err)
		}
		err := filepath.WalkDir(c.Out, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			inputs[fmt.Sprintf("gen%d/%s", i, strings.TrimPrefix(p, c.Out))] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return inputs
}

// corpusBytes reads the []byte argument of a Go fuzz corpus file.
func corpusBytes(t testing.TB, path string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if arg, ok := strings.CutPrefix(l, "[]byte("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(arg, ")"))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return []byte(s), true
		}
	}
	return nil, false
}

// checkFastDecode decodes every object of data through the fast decoder
// and through sigs.k8s.io/json alone, object by object and as a whole
// world, and fails on any difference: error text, warnings, model
// objects, the finished world and its report.
func checkFastDecode(t *testing.T, name string, data []byte) {
	objs, err := document.Read(name, bytes.NewReader(data))
	if err != nil {
		return
	}
	var worlds [2]any
	var reports [2]*document.Report
	for i, fast := range []bool{true, false} {
		r := &document.Report{}
		b := NewBuilder("", r)
		var failed error
		for _, o := range objs {
			d, err := decode(o, "", fast)
			if err != nil {
				failed = err
				break
			}
			b.Register(d)
		}
		if failed != nil {
			worlds[i] = failed.Error()
			continue
		}
		r.Finish()
		worlds[i], reports[i] = b.Finish(), r
	}
	if !reflect.DeepEqual(worlds[0], worlds[1]) {
		t.Errorf("%s: the fast decoder's world differs from sigs.k8s.io/json's:\nfast: %#v\nold:  %#v", name, worlds[0], worlds[1])
	}
	if !reflect.DeepEqual(reports[0], reports[1]) {
		t.Errorf("%s: reports differ:\nfast: %+v\nold:  %+v", name, reports[0], reports[1])
	}
	for _, o := range objs {
		fast, ferr := decode(o, "", true)
		slow, serr := decode(o, "", false)
		if fmt.Sprint(ferr) != fmt.Sprint(serr) {
			t.Errorf("%s:%d: errors differ: fast %v, old %v", name, o.Source.Line, ferr, serr)
			continue
		}
		if ferr != nil {
			continue
		}
		if !reflect.DeepEqual(fast.obj, slow.obj) || !reflect.DeepEqual(fast.warnings, slow.warnings) || !reflect.DeepEqual(fast.owner, slow.owner) {
			t.Errorf("%s:%d: %s decodes differently:\nfast: %#v %v\nold:  %#v %v", name, o.Source.Line, o.Kind, fast.obj, fast.warnings, slow.obj, slow.warnings)
		}
	}
}

// TestFastDecodeMatchesOracle holds the fast decoder (strictjson) to
// sigs.k8s.io/json on every input the repository has, and on each input
// changed in the ways that make strict decoding warn or fail (an unknown
// field, a field set twice, a wrong type, a null): the models and the
// messages must be the same.
func TestFastDecodeMatchesOracle(t *testing.T) {
	for name, data := range fastDecodeInputs(t) {
		checkFastDecode(t, name, data)
		for i, m := range mutations(data) {
			checkFastDecode(t, fmt.Sprintf("%s#%d", name, i), m)
		}
	}
}

// mutations are variants of a YAML or JSON input that strict decoding
// reads differently: the fast decoder must step aside for them.
func mutations(data []byte) [][]byte {
	var out [][]byte
	for _, r := range [][2]string{
		{"podSelector:", "podselector:"},
		{"containerPort:", "containerport:"},
		{"  replicas: ", "  replicas: x"},
		{"protocol: TCP", "protocol: null"},
		{"labels:", "labels: null\n  labelz:"},
		{"port: ", "port: \"1\"\n  # "},
		{`"port":`, `"port":1,"port":`},
		{`"name":`, `"name":"x","name":`},
		{"cpu: ", "cpu: 1.5x\n  # "},
		{"image: ", "image: 12\n  # "},
		{"hostNetwork: ", "hostNetwork: 2\n  # "},
		{"replicas: ", "replicas: 99999999999\n  # "},
		{"creationTimestamp: null", "creationTimestamp: 2020-01-01"},
		{"spec:", "spec: null\nxspec:"},
	} {
		if bytes.Contains(data, []byte(r[0])) {
			out = append(out, bytes.Replace(data, []byte(r[0]), []byte(r[1]), 1))
		}
	}
	return out
}

// FuzzFastDecode: on any input, the fast decoder and sigs.k8s.io/json
// give the same world, the same warnings and the same errors.
func FuzzFastDecode(f *testing.F) {
	for _, data := range fastDecodeInputs(f) {
		if len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode(t, "fuzz.yaml", data)
	})
}

// TestFastDecodeTakesGeneratedClusters: the evaluated kinds of a generated
// cluster take the fast decoder (else loading silently slows down).
func TestFastDecodeTakesGeneratedClusters(t *testing.T) {
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 20, Workloads: 8, Policies: 5, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	types := map[string]func() any{
		"Namespace":     func() any { return new(corev1.Namespace) },
		"Service":       func() any { return new(corev1.Service) },
		"Deployment":    func() any { return new(appsv1.Deployment) },
		"StatefulSet":   func() any { return new(appsv1.StatefulSet) },
		"DaemonSet":     func() any { return new(appsv1.DaemonSet) },
		"Job":           func() any { return new(batchv1.Job) },
		"CronJob":       func() any { return new(batchv1.CronJob) },
		"NetworkPolicy": func() any { return new(networkingv1.NetworkPolicy) },
		"Ingress":       func() any { return new(networkingv1.Ingress) },
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	taken := map[string]int{}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := document.Read(p, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.Metadata == nil {
				t.Errorf("%s: %s: the YAML walk did not find the metadata", o.Source, o.Kind)
			}
			var meta modelMeta
			if !strictjson.Unmarshal(o.Metadata, &meta, strictjson.Ignore) {
				t.Errorf("%s: %s: the fast decoder did not take the metadata", o.Source, o.Kind)
			}
			newValue, ok := types[o.Kind]
			if !ok {
				continue
			}
			if !strictjson.Unmarshal(o.JSON, newValue(), strictjson.Strict) {
				t.Errorf("%s: %s: the fast decoder did not take it", o.Source, o.Kind)
			}
			if pre := preDecoders[o.APIVersion+"/"+o.Kind]; pre != nil {
				if v, _ := pre(o); v == nil {
					t.Errorf("%s: %s: not decoded whole before its metadata", o.Source, o.Kind)
				}
			}
			taken[o.Kind]++
		}
	}
	if taken["Deployment"] == 0 || taken["NetworkPolicy"] == 0 || taken["Namespace"] == 0 {
		t.Fatalf("the generated cluster lacks the main kinds: %v", taken)
	}
}

// TestPreDecodedTaken: every kind decoded whole before its metadata
// (preDecoders) has a decoder that takes that object (typed, same type)
// rather than decoding it again.
func TestPreDecodedTaken(t *testing.T) {
	for key := range preDecoders {
		apiVersion, kind := key[:strings.LastIndex(key, "/")], key[strings.LastIndex(key, "/")+1:]
		data := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: a\n  namespace: ns1\n  labels:\n    app: a\n", apiVersion, kind)
		objs, err := document.Read("pre.yaml", strings.NewReader(data))
		if err != nil || len(objs) != 1 {
			t.Fatalf("%s: %v", key, err)
		}
		if v, _ := preDecoders[key](objs[0]); v == nil {
			t.Errorf("%s: not decoded whole", key)
			continue
		}
		d, err := decode(objs[0], "", true)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if d.pre != nil {
			t.Errorf("%s: the decoder decoded the object again (its type is not %T)", key, d.pre)
		}
		if d.ref.Name != "a" || d.ref.Kind != kind {
			t.Errorf("%s: decoded as %v", key, d.ref)
		}
	}
}
