package document

import (
	"sync"

	yaml3 "go.yaml.in/yaml/v3"
)

// positions finds the line of a path inside a document. The document is
// parsed into a node tree only when a line is first asked for: most objects
// never need more than their start line.
type positions struct {
	tree   *tree
	prefix []any
}

// tree is parsed once, under once: the objects of a file are shared by
// the loads of a diff's two sides (load.Cache), which may ask at once.
type tree struct {
	data []byte
	base int // file line of the document's first byte
	once sync.Once
	root *yaml3.Node
	// spec holds the lines of the entries of the spec's sequences when
	// the YAML walk read them (fastHead.specLines): the lines asked for
	// most (policy rules) then need no tree. It is never written after
	// the reader made it.
	spec []seqLines
}

// lazyPositions parses the document when a line is first asked for.
func lazyPositions(data []byte, base int) *positions {
	// One allocation for both: there is one of these an object.
	pt := &struct {
		positions
		tree tree
	}{tree: tree{data: data, base: base}}
	pt.positions.tree = &pt.tree
	return &pt.positions
}

// parseTree returns the node tree of a document, or nil when this parser
// rejects what the Kubernetes converter accepted (rare YAML 1.1 corners):
// such a document just has no inner positions. The subset fastYAMLToJSON
// reads is parsed by it too, at a fraction of the cost.
func parseTree(data []byte) *yaml3.Node {
	if n, ok := fastTree(data); ok {
		return n
	}
	var n yaml3.Node
	if yaml3.Unmarshal(data, &n) != nil {
		return nil
	}
	return &n
}

func (p *positions) sub(path ...any) *positions {
	prefix := append(append([]any(nil), p.prefix...), path...)
	return &positions{tree: p.tree, prefix: prefix}
}

// line returns the file line of the value at path, or 0.
func (p *positions) line(path ...any) int {
	t := p.tree
	if len(p.prefix) == 0 && len(path) == 3 && t.spec != nil && path[0] == "spec" {
		key, _ := path[1].(string)
		i, isIndex := path[2].(int)
		for _, s := range t.spec {
			if isIndex && s.key == key && i >= 0 && i < len(s.lines) {
				return t.base + s.lines[i] - 1
			}
		}
	}
	t.once.Do(func() {
		t.root = parseTree(t.data)
		t.data = nil
	})
	n := t.root
	if n == nil {
		return 0
	}
	if n.Kind == yaml3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range append(append([]any(nil), p.prefix...), path...) {
		n = child(n, step)
		if n == nil {
			return 0
		}
	}
	return t.base + n.Line - 1
}

func child(n *yaml3.Node, step any) *yaml3.Node {
	if n.Kind == yaml3.AliasNode {
		n = n.Alias
	}
	switch s := step.(type) {
	case string:
		if n.Kind != yaml3.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml3.SequenceNode && s >= 0 && s < len(n.Content) {
			return n.Content[s]
		}
	}
	return nil
}
