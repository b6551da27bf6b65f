// Package document splits input files into YAML or JSON documents, converts
// them to JSON the way kubectl does, flattens List kinds and remembers the
// line where every object starts.
package document

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ringfence/ringfence/internal/model"
	"sigs.k8s.io/yaml"
)

// MaxFileSize bounds one input file or standard input. Kubernetes objects
// are at most 1.5 MiB in etcd; a List of a large cluster can reach tens of
// megabytes, so the bound is generous but keeps memory finite.
const MaxFileSize = 512 << 20

// maxListDepth bounds List-in-List nesting; kubectl flattens nested Lists and
// so do we, but a pathological input must not recurse without end.
const maxListDepth = 16

// Error is a problem with the input, positioned at file:line.
type Error struct {
	Source model.Source
	// Object names the object when it is known ("Deployment/ml/trainer").
	Object string
	Msg    string
}

func (e *Error) Error() string {
	if e.Object != "" {
		return fmt.Sprintf("%s: %s: %s", e.Source, e.Object, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

// Object is one decoded object: its JSON and where it starts. Lines inside
// it are found through Line.
type Object struct {
	Source model.Source
	JSON   []byte
	// TypeMeta of the object, read once.
	APIVersion string
	Kind       string
	// NotObject marks a document that is not an object (a JSON patch, a
	// list, a scalar); JSON holds it as read.
	NotObject bool
	// Metadata is the JSON of the object's metadata when the reader found
	// it on the way (a slice of JSON), so that it can be decoded without a
	// pass over the whole object; nil otherwise.
	Metadata []byte
	pos      *positions
	// origin is the document the object was rendered from (Relocate).
	origin *Object
}

// Line returns the line of the value at path inside the object (keys as
// strings, list indexes as ints), or the object's own line when the path
// cannot be found.
func (o *Object) Line(path ...any) int {
	if o.origin != nil {
		if len(path) > 0 && sameAt(o, o.origin, path) {
			return o.origin.Line(path...)
		}
		return o.Source.Line
	}
	if o.pos == nil {
		return o.Source.Line
	}
	if l := o.pos.line(path...); l > 0 {
		return l
	}
	return o.Source.Line
}

// Read returns the objects of one input. name is the path shown in messages
// ("-" for standard input). Lists are flattened into their items.
func Read(name string, r io.Reader) ([]*Object, error) {
	data, err := ReadAll(r)
	if err != nil {
		return nil, &Error{Source: model.Source{File: name}, Msg: err.Error()}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Source: model.Source{File: name}, Msg: fmt.Sprintf("input larger than %d MiB", MaxFileSize>>20)}
	}
	if err := checkText(name, data); err != nil {
		return nil, err
	}
	// A byte order mark is not part of the content; YAML allows it and
	// editors on Windows write it before JSON too.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	docs, err := split(name, data)
	if err != nil {
		return nil, err
	}
	out := make([]*Object, 0, len(docs))
	for _, d := range docs {
		if out, err = d.objects(out); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ReadAll reads an input up to one byte past MaxFileSize (so that a larger
// input can be told), into a buffer of the input's size when it says it
// (a file, a bytes.Reader): io.ReadAll's growing buffer copied every
// file several times.
func ReadAll(r io.Reader) ([]byte, error) {
	size := -1
	switch f := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			size = int(info.Size())
		}
	case interface{ Len() int }:
		size = f.Len()
	}
	if size < 0 || size > MaxFileSize {
		return io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	}
	// One byte more, so that reading to the end needs no second buffer.
	buf := make([]byte, 0, size+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf):
			// The input grew since its size was read.
			rest, err := io.ReadAll(io.LimitReader(r, int64(MaxFileSize+1-len(buf))))
			return append(buf, rest...), err
		}
	}
}

// checkText rejects binary input up front, with the first offending line,
// rather than letting a YAML parser report something obscure.
func checkText(name string, data []byte) error {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return &Error{Source: model.Source{File: name, Line: lineAt(data, i)}, Msg: "binary data (NUL byte): not a YAML or JSON file"}
	}
	if !utf8.Valid(data) {
		for i := 0; i < len(data); {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				return &Error{Source: model.Source{File: name, Line: lineAt(data, i)}, Msg: "invalid UTF-8: not a YAML or JSON file"}
			}
			i += size
		}
	}
	return nil
}

// lineAt returns the 1-based line of byte offset i.
func lineAt(data []byte, i int) int {
	if i > len(data) {
		i = len(data)
	}
	return bytes.Count(data[:i], []byte{'\n'}) + 1
}

// doc is one document of a file before decoding.
type doc struct {
	src  model.Source
	data []byte
	json bool
}

// split cuts a file into documents. JSON input may hold several values one
// after the other (as kubectl accepts); YAML documents are separated by
// "---" lines. The format is told by content, whatever the file is named;
// a JSON document followed by "---" and YAML documents is a valid YAML
// stream, read as one.
func split(name string, data []byte) ([]doc, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		docs, err := splitJSON(name, data)
		if err != nil && hasSeparator(data) {
			return splitYAML(name, data)
		}
		return docs, err
	}
	return splitYAML(name, data)
}

// hasSeparator reports whether a line of data starts with the YAML
// document separator.
func hasSeparator(data []byte) bool {
	return bytes.HasPrefix(data, []byte("---")) || bytes.Contains(data, []byte("\n---"))
}

func splitJSON(name string, data []byte) ([]doc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []doc
	for {
		var raw json.RawMessage
		start := skipSpace(data, int(dec.InputOffset()))
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, jsonError(name, data, start, err)
		}
		docs = append(docs, doc{src: model.Source{File: name, Line: lineAt(data, start)}, data: raw, json: true})
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && strings.IndexByte(" \t\r\n", data[i]) >= 0 {
		i++
	}
	return i
}

// jsonError positions a JSON decoding error at its line.
func jsonError(name string, data []byte, start int, err error) error {
	off := start
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = int(syn.Offset)
	case errors.As(err, &typ):
		off = int(typ.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = len(data)
		err = errors.New("unexpected end of JSON input (truncated file?)")
	}
	return &Error{Source: model.Source{File: name, Line: lineAt(data, off)}, Msg: "invalid JSON: " + err.Error()}
}

func splitYAML(name string, data []byte) ([]doc, error) {
	var docs []doc
	start, startLine := 0, 1
	flush := func(end int) {
		body := data[start:end]
		if !blankYAML(body) {
			// A JSON document in a YAML stream converts faster, and takes
			// the JSON List fast path, as JSON.
			t := bytes.TrimSpace(body)
			d := doc{src: model.Source{File: name, Line: startLine + leadingBlankLines(body)}, data: body}
			if len(t) > 0 && t[0] == '{' && json.Valid(t) {
				d.data, d.json = bytes.TrimLeft(body, " \t\r\n"), true
			}
			docs = append(docs, d)
		}
	}
	line := 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		// Only a line starting with '-' or '.' can be a separator.
		if c := data[i]; c != '-' && c != '.' {
			i = next
			line++
			continue
		}
		text := bytes.TrimRight(data[i:next], "\r\n")
		if bytes.HasPrefix(text, []byte("---")) || bytes.Equal(text, []byte("...")) {
			rest := strings.TrimSpace(string(text[3:]))
			if rest != "" && rest[0] != '#' {
				return nil, &Error{Source: model.Source{File: name, Line: line}, Msg: "content after the document separator \"---\" is not supported; put it on the next line"}
			}
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return docs, nil
}

// blankYAML reports whether a document holds only blank lines and comments.
func blankYAML(b []byte) bool {
	for len(b) > 0 {
		l, rest, _ := bytes.Cut(b, []byte{'\n'})
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && !bytes.Equal(l, []byte("\ufeff")) {
			return false
		}
		b = rest
	}
	return true
}

// leadingBlankLines counts the blank and comment lines before a document's
// first content, so the reported line is the object's first line. It
// reads only up to that content (a document is mostly content).
func leadingBlankLines(b []byte) int {
	n := 0
	for {
		l, rest, found := bytes.Cut(b, []byte{'\n'})
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			return n
		}
		n++
		if !found {
			return n
		}
		b = rest
	}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// toJSON converts a YAML document with the same converter the Kubernetes
// client uses (YAML 1.1 scalars included), positioning errors in the file.
// The common subset takes a direct path that gives the same bytes
// (fastYAMLToJSON).
func (d doc) toJSON() ([]byte, error) {
	if d.json {
		return d.data, nil
	}
	if j, ok := fastYAMLToJSON(d.data); ok {
		return j, nil
	}
	// Strict, as the API server reads YAML under field validation Strict
	// (kubectl's default): a key set twice in one mapping, merge keys
	// included, is an error, not last-wins. Without duplicates the bytes
	// are those of the non-strict YAMLToJSON.
	j, err := yaml.YAMLToJSONStrict(d.data)
	if err == nil {
		return j, nil
	}
	loose, lerr := yaml.YAMLToJSON(d.data)
	if lerr != nil {
		src, msg := d.yamlError(lerr)
		return nil, &Error{Source: src, Msg: "invalid YAML: " + msg}
	}
	// Only strictness failed: a duplicate key. Name the object when its
	// last-wins reading says what it is.
	src, msg := d.yamlError(err)
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	msg = strings.TrimSpace(strings.SplitN(strings.TrimSpace(msg), "\n", 2)[0])
	msg = strings.TrimPrefix(msg, ": ")
	if strings.HasSuffix(msg, " already set in map") {
		msg = strings.TrimSuffix(msg, " already set in map") + " is set twice in one mapping"
		if bytes.Contains(d.data, []byte("<<")) {
			msg += " (a merge key's values count)"
		}
		msg = "duplicate " + msg + "; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last"
	} else {
		msg = "invalid YAML: " + msg
	}
	return nil, &Error{Source: src, Object: objectName(loose), Msg: msg}
}

// yamlError positions a sigs.k8s.io/yaml error in the file: its "line N"
// becomes the source line and leaves the message.
func (d doc) yamlError(err error) (model.Source, string) {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	src := d.src
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		// d.src.Line skipped leading blank lines; YAML counts from the
		// document's first byte.
		src.Line = d.src.Line - leadingBlankLines(d.data) + n - 1
		msg = strings.Replace(msg, m[0], "", 1)
		msg = strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(msg, "yaml: ")), ": ")
	}
	return src, msg
}

// objectName is "Kind/namespace/name" (or as much of it as is known) of a
// JSON object, for error messages; "" when it names nothing.
func objectName(j []byte) string {
	var o struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if json.Unmarshal(j, &o) != nil || o.Kind == "" {
		return ""
	}
	parts := []string{o.Kind}
	if o.Metadata.Namespace != "" {
		parts = append(parts, o.Metadata.Namespace)
	}
	if o.Metadata.Name != "" {
		parts = append(parts, o.Metadata.Name)
	}
	return strings.Join(parts, "/")
}

// head is the part of every object read before knowing its kind.
type head struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func (d doc) objects(out []*Object) ([]*Object, error) {
	if bytes.Contains(d.data, []byte("List")) && listRE.Match(d.data) {
		if list, items, ok := d.listItems(); ok {
			for _, it := range items {
				objs, err := flatten(it, 1, list)
				if err != nil {
					return nil, err
				}
				out = append(out, objs...)
			}
			return out, nil
		}
	}
	if !d.json {
		// The fast path read the head: an object that is not a List
		// needs no second pass over its JSON.
		if j, h, ok := fastYAMLToJSONHead(d.data); ok && h.ok {
			pos := lazyPositions(d.data, d.src.Line-leadingBlankLines(d.data))
			pos.tree.spec = h.specLines
			return append(out, &Object{Source: d.src, JSON: j, APIVersion: h.apiVersion, Kind: h.kind, Metadata: h.metadata, pos: pos}), nil
		}
	}
	j, err := d.toJSON()
	if err != nil {
		return nil, err
	}
	j = bytes.TrimSpace(j)
	if len(j) == 0 || bytes.Equal(j, []byte("null")) {
		return out, nil
	}
	if j[0] != '{' {
		// A JSON patch, a list of values, a bare scalar: a document, but
		// not an object. It has no kind; the caller skips it as it skips
		// every document that is not a Kubernetes object.
		return append(out, &Object{Source: d.src, JSON: j, NotObject: true}), nil
	}
	pos := lazyPositions(d.data, d.src.Line-leadingBlankLines(d.data))
	objs, err := flatten(&Object{Source: d.src, JSON: j, pos: pos}, 0, head{})
	return append(out, objs...), err
}

// listRE finds a kind ending in List at the top of a YAML or JSON document,
// worth cutting into items; a false match only costs a failed attempt.
var listRE = regexp.MustCompile(`(?m)^(\s*"kind"\s*:\s*"[A-Za-z0-9]*List"|kind:\s*["']?[A-Za-z0-9]*List["']?\s*$)`)

// flatten returns the object itself, or the items of a List (recursively).
// list is the List the object is an item of (zero at the top): the items of
// a typed List (PodList, DeploymentList...), as the API server and client
// libraries write them, carry no apiVersion or kind; theirs is the List's.
func flatten(o *Object, depth int, list head) ([]*Object, error) {
	var h head
	if err := json.Unmarshal(o.JSON, &h); err != nil {
		return nil, &Error{Source: o.Source, Msg: "invalid object: " + err.Error()}
	}
	if kind, typed := itemKind(list.Kind); typed {
		if h.Kind == "" {
			h.Kind = kind
		}
		if h.APIVersion == "" {
			h.APIVersion = list.APIVersion
		}
	}
	o.APIVersion, o.Kind = h.APIVersion, h.Kind
	if !strings.HasSuffix(h.Kind, "List") || h.Items == nil {
		return []*Object{o}, nil
	}
	if depth >= maxListDepth {
		return nil, &Error{Source: o.Source, Msg: fmt.Sprintf("Lists nested deeper than %d levels", maxListDepth)}
	}
	var out []*Object
	for i, item := range h.Items {
		child := &Object{Source: o.Source, JSON: item}
		if o.pos != nil {
			child.pos = o.pos.sub("items", i)
			child.Source = o.Source.At(child.pos.line())
		}
		if t := bytes.TrimSpace(item); len(t) == 0 || t[0] != '{' {
			return nil, &Error{Source: child.Source, Msg: fmt.Sprintf("%s item %d is not an object", h.Kind, i)}
		}
		objs, err := flatten(child, depth+1, h)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// itemKind is the kind of the items of a typed List ("Pod" for "PodList").
// The untyped v1 List holds objects of any kind, each with its own.
func itemKind(listKind string) (string, bool) {
	kind, ok := strings.CutSuffix(listKind, "List")
	return kind, ok && kind != ""
}
