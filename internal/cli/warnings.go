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
// output): the object it writes, indented by two spaces, passes through to
// w as it is written, but for its closing brace, held back so that the
// "warnings" member can be spliced in before it. Nothing of the output is
// held whole: reach's can be a gigabyte.
func (f *inputFlags) jsonFrom(w io.Writer, write func(io.Writer) error, category string, extra ...string) error {
	sw := &spliceWriter{w: w}
	if err := write(sw); err != nil {
		return err
	}
	if sw.err != nil {
		return sw.err
	}
	if sw.first != '{' || !bytes.Equal(bytes.TrimSpace(sw.held), []byte("}")) {
		return fmt.Errorf("internal: JSON output is not an object")
	}
	notes := f.warnings()
	for _, e := range extra {
		notes = append(notes, document.Notice{Category: category, Msg: e})
	}
	var val bytes.Buffer
	enc := json.NewEncoder(&val)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(notes); err != nil {
		return err
	}
	sep := ",\n"
	if sw.passed == 1 { // the object was empty: "{" alone went through
		sep = "\n"
	}
	for _, part := range [][]byte{[]byte(sep + `  "warnings": `), bytes.TrimRight(val.Bytes(), "\n"), []byte("\n}\n")} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// spliceWriter passes what is written to w but for the end that may be an
// object's close: white space, a closing brace and the white space before
// it, held until more follows. What it passes thus ends with the object's
// last member, trimmed, whenever the object is complete.
type spliceWriter struct {
	w      io.Writer
	held   []byte
	first  byte // the first byte passed
	passed int  // the bytes passed other than white space, up to 2
	err    error
}

func (s *spliceWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if cut := closeStart(p); cut > 0 {
		// What is held is followed by something that stays: it goes.
		s.pass(s.held)
		s.pass(p[:cut])
		s.held = append(s.held[:0], p[cut:]...)
	} else {
		s.held = append(s.held, p...)
		cut := closeStart(s.held)
		s.pass(s.held[:cut])
		s.held = append(s.held[:0], s.held[cut:]...)
	}
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

func (s *spliceWriter) pass(b []byte) {
	if len(b) == 0 || s.err != nil {
		return
	}
	for _, c := range b {
		if s.passed >= 2 {
			break
		}
		if !isJSONSpace(c) {
			if s.passed == 0 {
				s.first = c
			}
			s.passed++
		}
	}
	_, s.err = s.w.Write(b)
}

// closeStart is where b's possible object close begins: its trailing white
// space, a closing brace before that and the white space before the brace.
func closeStart(b []byte) int {
	i := len(b)
	for i > 0 && isJSONSpace(b[i-1]) {
		i--
	}
	if i > 0 && b[i-1] == '}' {
		i--
		for i > 0 && isJSONSpace(b[i-1]) {
			i--
		}
	}
	return i
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

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
