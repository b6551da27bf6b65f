package cli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"sigs.k8s.io/yaml"
)

// verifyEKS judges the objects of -o eks-cnp and -o eks-anp as the other
// outputs are judged: they are read back from their YAML by the loader
// that reads any input (so an object the API server would reject is an
// error here too), put into the world with the generated NetworkPolicies,
// and generate's check runs again. It returns what the check finds.
func verifyEKS(w *model.World, g *generate.Output, objs []map[string]any, doc *ranges.Document, opts generate.Options) ([]string, error) {
	back, err := readBack(objs)
	if err != nil {
		return nil, fmt.Errorf("the generated EKS objects do not read back: %w", err)
	}
	checked := *g
	checked.Tiered, checked.Domains = back.TierPolicies, back.Policies
	return generate.Verify(w, &checked, doc, opts)
}

// readBack loads generated objects as if they were a file.
func readBack(objs []map[string]any) (*model.World, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(y)
	}
	docs, err := document.Read("generated", &buf)
	if err != nil {
		return nil, err
	}
	b := k8s.NewBuilder("", &document.Report{})
	for _, o := range docs {
		if err := b.Add(o); err != nil {
			return nil, err
		}
	}
	return b.Finish(), nil
}

// eksChecked runs generate's check on the EKS objects (verifyEKS) and
// fails as the first check does: exit 1 with what is wrong, unless --force.
func eksChecked(s Streams, w *model.World, g *generate.Output, objs []map[string]any, doc *ranges.Document, opts generate.Options, force bool) error {
	problems, err := verifyEKS(w, g, objs, doc, opts)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		fmt.Fprintf(s.Err, "ringfence: the generated EKS policies do not do what the Fences say:\n  %s\n", strings.Join(problems, "\n  "))
		if !force {
			return findingsError{}
		}
	}
	return nil
}
