package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// spliced is what jsonFrom writes for obj, computed on the whole object at
// once: the warnings member goes before the closing brace.
func spliced(obj string) string {
	body := strings.TrimRight(strings.TrimSuffix(strings.TrimRight(obj, " \t\r\n"), "}"), " \t\r\n")
	sep := ",\n"
	if strings.TrimSpace(body) == "{" {
		sep = "\n"
	}
	return body + sep + "  \"warnings\": []\n}\n"
}

// TestJSONFromStreams holds jsonFrom's splice, written in chunks of every
// size, to the splice of the whole object, and checks that the object is
// passed on while it is written, not held whole.
func TestJSONFromStreams(t *testing.T) {
	objects := []string{
		"{}",
		"{}\n",
		"{\n}\n",
		"{\n  \"a\": 1\n}\n",
		"{\n  \"a\": {},\n  \"b\": [\n    {\"c\": {}}\n  ]\n}\n",
		"{\"a\":{\"b\":{}}}  \n\n",
		"{\n  \"peers\": [],\n  \"connections\": []\n}\n",
	}
	for _, obj := range objects {
		want := spliced(obj)
		for size := 1; size <= len(obj); size++ {
			var out bytes.Buffer
			var in inputFlags
			err := in.jsonFrom(&out, func(w io.Writer) error {
				for i := 0; i < len(obj); i += size {
					end := min(i+size, len(obj))
					if _, err := w.Write([]byte(obj[i:end])); err != nil {
						return err
					}
				}
				return nil
			}, "")
			if err != nil {
				t.Fatalf("%q in chunks of %d: %v", obj, size, err)
			}
			if out.String() != want {
				t.Fatalf("%q in chunks of %d:\n got %q\nwant %q", obj, size, out.String(), want)
			}
		}
	}
	for _, bad := range []string{"", "[]", "{\"a\": 1", "  ", "x{}"} {
		var in inputFlags
		err := in.jsonFrom(io.Discard, func(w io.Writer) error { _, err := io.WriteString(w, bad); return err }, "")
		if err == nil {
			t.Errorf("%q: no error for output that is not an object", bad)
		}
	}

	// A large object reaches the writer while it is being written: no
	// more than its close is held back.
	var out bytes.Buffer
	var in inputFlags
	err := in.jsonFrom(&out, func(w io.Writer) error {
		written, _ := io.WriteString(w, "{\n  \"connections\": [")
		for i := range 1000 {
			n, _ := fmt.Fprintf(w, "\n    {\"n\": %d},", i)
			written += n
			if held := written - out.Len(); held > 0 {
				return fmt.Errorf("after member %d, %d bytes held back", i, held)
			}
		}
		_, err := io.WriteString(w, "\n    {}\n  ]\n}\n")
		return err
	}, "")
	if err != nil {
		t.Fatal(err)
	}
}
