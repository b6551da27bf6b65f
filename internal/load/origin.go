package load

import (
	"os"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
)

// relocate reports a kustomization's objects at the documents they were
// read from: origins name each object's file ("" for generated objects,
// which stay at their line of the rendered output). The document is found
// in its file by kind and name (namePrefix and nameSuffix only add to the
// name); an object whose document cannot be told apart stays where it is.
func relocate(objs []*document.Object, origins []string) {
	if len(objs) != len(origins) {
		return
	}
	files := map[string][]*document.Object{}
	for i, o := range objs {
		path := origins[i]
		if path == "" {
			continue
		}
		docs, ok := files[path]
		if !ok {
			docs = readOrigin(path)
			files[path] = docs
		}
		if orig := originOf(o, docs); orig != nil {
			o.Relocate(orig)
		}
	}
}

func readOrigin(path string) []*document.Object {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	docs, err := document.Read(path, f)
	if err != nil {
		return nil
	}
	return docs
}

// originOf is the document of docs that o was rendered from: of o's kind,
// named as o or as part of o's name (the longest such), or the only one of
// its kind.
func originOf(o *document.Object, docs []*document.Object) *document.Object {
	name := o.Name()
	var best, only *document.Object
	kinds := 0
	for _, d := range docs {
		if d.Kind != o.Kind {
			continue
		}
		kinds++
		only = d
		n := d.Name()
		if n != "" && strings.Contains(name, n) && (best == nil || len(n) > len(best.Name())) {
			best = d
		}
	}
	if best != nil {
		return best
	}
	if kinds == 1 {
		return only
	}
	return nil
}
