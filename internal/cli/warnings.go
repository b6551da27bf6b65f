package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/render"
	"sigs.k8s.io/yaml"
)

// Every verb that loads inputs reports what it could not use the same way:
// one line on stderr counting the load report's notices by category (-v
// lists each), and a "warnings" array, the report's notices, as the last
// member of its JSON output. The notices come from document.Report, the one
// place load-time problems are recorded.

// summarize writes the stderr summary of a load report.
func (f *inputFlags) summarize(w io.Writer, r *document.Report) {
	if f.verbose {
		for _, n := range r.All() {
			fmt.Fprintf(w, "ringfence: warning: %s\n", n)
		}
		return
	}
	if s := r.Summary(); s != "" {
		fmt.Fprintf(w, "ringfence: warning: not used: %s (-v lists them)\n", s)
	}
}

// warnings are the notices of the last load, never nil (so JSON shows []).
func (f *inputFlags) warnings() []document.Notice {
	if f.report == nil {
		return []document.Notice{}
	}
	return f.report.All()
}

// json writes v, which must encode as a JSON object, with the load's
// notices as its "warnings" member. extra are the verb's own warnings
// (generate's, learn's), moved into the same array under category.
func (f *inputFlags) json(w io.Writer, v any, category string, extra ...string) error {
	return f.jsonFrom(w, func(w io.Writer) error { return render.JSON(w, v) }, category, extra...)
}

// jsonFrom is json for a verb with its own JSON writer (reach streams its
// output): the object it writes, indented by two spaces, gets the
// "warnings" member spliced in before its closing brace, without a second
// pass over the output.
func (f *inputFlags) jsonFrom(w io.Writer, write func(io.Writer) error, category string, extra ...string) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	notes := f.warnings()
	for _, e := range extra {
		notes = append(notes, document.Notice{Category: category, Msg: e})
	}
	obj := bytes.TrimRight(buf.Bytes(), " \t\r\n")
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return fmt.Errorf("internal: JSON output is not an object")
	}
	var val bytes.Buffer
	enc := json.NewEncoder(&val)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(notes); err != nil {
		return err
	}
	body := bytes.TrimRight(obj[:len(obj)-1], " \t\r\n")
	sep := ",\n"
	if bytes.Equal(bytes.TrimSpace(body), []byte("{")) {
		sep = "\n"
	}
	for _, part := range [][]byte{body, []byte(sep + `  "warnings": `), bytes.TrimRight(val.Bytes(), "\n"), []byte("\n}\n")} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// yaml writes v as YAML with the "warnings" member, through its JSON form
// as render.YAML does.
func (f *inputFlags) yaml(w io.Writer, v any) error {
	var buf bytes.Buffer
	if err := f.json(&buf, v, ""); err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(buf.Bytes())
	if err != nil {
		return fmt.Errorf("rendering YAML: %w", err)
	}
	_, err = w.Write(y)
	return err
}
