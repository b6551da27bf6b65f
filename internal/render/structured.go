// Package render writes results in the formats users pipe into other
// tools: text for people, JSON and YAML for programs. One file per format
// family; renderers see summaries and engine results, never raw input.
package render

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// JSON writes v as indented JSON with a trailing newline. Map keys are
// sorted by encoding/json, so output is deterministic.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// YAML writes v as YAML through its JSON form, so field names match -o json.
func YAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("rendering YAML: %w", err)
	}
	_, err = w.Write(b)
	return err
}
