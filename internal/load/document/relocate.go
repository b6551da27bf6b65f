package document

import (
	"encoding/json"
	"reflect"
)

// Relocate reports o at orig, the document it was rendered from (a
// kustomization's resource): orig's file and line and, for a path inside
// o, orig's line for that path where orig holds the same value there. A
// patch or a transformer may have changed the value (or moved list items);
// the object's line is then the honest answer.
func (o *Object) Relocate(orig *Object) {
	o.Source = orig.Source
	o.pos = nil
	o.origin = orig
}

// sameAt reports whether a and b hold equal values at path.
func sameAt(a, b *Object, path []any) bool {
	va, ok := valueAt(a.JSON, path)
	if !ok {
		return false
	}
	vb, ok := valueAt(b.JSON, path)
	return ok && reflect.DeepEqual(va, vb)
}

// valueAt decodes the JSON value at path (keys as strings, list indexes as
// ints).
func valueAt(data []byte, path []any) (any, bool) {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil, false
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || s < 0 || s >= len(l) {
				return nil, false
			}
			v = l[s]
		default:
			return nil, false
		}
	}
	return v, true
}

// Name is the object's metadata.name, or "" when it has none.
func (o *Object) Name() string {
	var meta struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(o.JSON, &meta)
	return meta.Metadata.Name
}
