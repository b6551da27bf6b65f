package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/unseen"
)

// UnseenText writes the openings to namespaces not in the inputs as
// comment lines after reach's text, so that a reader of the connections
// never takes them for pairs.
func UnseenText(w io.Writer, os []unseen.Opening) error {
	if len(os) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n# Open to pods of namespaces not in the inputs (no peer stands for them above):\n")
	for _, o := range os {
		if _, err := fmt.Fprintf(w, "# %s\n", o); err != nil {
			return err
		}
	}
	return nil
}

// UnseenMarkdown writes the openings as a list after reach's table.
func UnseenMarkdown(w io.Writer, os []unseen.Opening) error {
	if len(os) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n**Open to pods of namespaces not in the inputs**\n\n")
	for _, o := range os {
		if _, err := fmt.Fprintf(w, "- %s\n", mdEscape(o.String())); err != nil {
			return err
		}
	}
	return nil
}

// ReachJSONUnseen writes reach's JSON with one more member,
// "unknownPeers": the openings to namespaces not in the inputs.
func ReachJSONUnseen(w io.Writer, r *engine.Result, os []unseen.Opening) error {
	tw := &tailWriter{w: w}
	if err := ReachJSON(tw, r); err != nil {
		return err
	}
	if !bytes.Equal(tw.tail, []byte("\n}\n")) {
		return fmt.Errorf("reach JSON ends with %q, not an object", tw.tail)
	}
	if os == nil {
		os = []unseen.Opening{}
	}
	b, err := json.MarshalIndent(os, "  ", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, ",\n  \"unknownPeers\": %s\n}\n", b)
	return err
}

// tailWriter passes everything on but the last three bytes, kept in tail.
type tailWriter struct {
	w    io.Writer
	tail []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= 3 {
		// The tail held so far is followed by three bytes or more: it
		// goes, with all of p but its own last three (not copied).
		if len(t.tail) > 0 {
			if _, err := t.w.Write(t.tail); err != nil {
				return 0, err
			}
		}
		if _, err := t.w.Write(p[:len(p)-3]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], p[len(p)-3:]...)
		return len(p), nil
	}
	t.tail = append(t.tail, p...)
	if n := len(t.tail) - 3; n > 0 {
		if _, err := t.w.Write(t.tail[:n]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], t.tail[n:]...)
	}
	return len(p), nil
}
