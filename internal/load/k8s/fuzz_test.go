package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
)

// secretMarker is the value of a Secret appended to every fuzz input.
const secretMarker = "RINGFENCE-SECRET-MARKER-7f3c"

// FuzzBuilder: any document that splits into objects either loads or gives
// a positioned error, never a panic; and however the input looks, the value
// of a Secret never reaches the model.
func FuzzBuilder(f *testing.F) {
	paths, _ := filepath.Glob("../../../examples/*/*/*.yaml")
	// Removed apiVersions, read through their own schemas.
	old, _ := filepath.Glob("../../cli/testdata/old-repo/*/*.yaml")
	paths = append(paths, old...)
	// Custom networking: the aws-node DaemonSet and ENIConfigs.
	cni, _ := filepath.Glob("../../cli/testdata/custom-networking/*.yaml")
	paths = append(paths, cni...)
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(policy("egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n    ports: [{port: 80, endPort: 90}]")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte(secretMarker)) {
			return
		}
		input := append(append([]byte(nil), data...), "\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: zz, namespace: zz, annotations: {kubectl.kubernetes.io/last-applied-configuration: \""+secretMarker+"\"}}\nstringData: {k: "+secretMarker+"}\n"...)
		objs, err := document.Read("fuzz.yaml", bytes.NewReader(input))
		if err != nil {
			return
		}
		r := &document.Report{}
		b := NewBuilder("", r)
		for _, o := range objs {
			if err := b.Add(o); err != nil {
				var de *document.Error
				if !errors.As(err, &de) {
					t.Fatalf("error %T is not positioned: %v", err, err)
				}
				return
			}
		}
		r.Finish()
		out, err := json.Marshal(b.Finish())
		if err != nil {
			t.Fatalf("world does not marshal: %v", err)
		}
		if strings.Contains(string(out), secretMarker) {
			t.Fatalf("a Secret value reached the model: %s", out)
		}
	})
}
