package document

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"sync"

	"github.com/ringfence/ringfence/internal/model"
)

// Large Lists (kubectl get -A -o yaml|json of a whole cluster) are cut into
// their items before decoding: each item is then converted on its own, on
// every core, and knows its line without a second parse of the whole
// document. Whenever the cut is in doubt the document takes the ordinary
// path, which gives the same objects (and the exact error) more slowly.

// listItems returns the List's apiVersion and kind and its items, or
// ok=false when the document must take the ordinary path.
func (d doc) listItems() (list head, objs []*Object, ok bool) {
	if d.json {
		return d.jsonListItems()
	}
	return d.yamlListItems()
}

// jsonListItems walks the top-level object with a token decoder, so each
// item's offset (and so its line) is known.
func (d doc) jsonListItems() (head, []*Object, bool) {
	dec := json.NewDecoder(bytes.NewReader(d.data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return head{}, nil, false
	}
	var h head
	var items []*Object
	lines := lineCounter{data: d.data, line: d.src.Line}
	sawItems := false
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return head{}, nil, false
		}
		switch key {
		case "items":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return head{}, nil, false
			}
			sawItems = true
			for dec.More() {
				start := skipSpaceComma(d.data, int(dec.InputOffset()))
				var raw json.RawMessage
				if dec.Decode(&raw) != nil {
					return head{}, nil, false
				}
				line := lines.at(start)
				items = append(items, &Object{
					Source: model.Source{File: d.src.File, Line: line},
					JSON:   raw,
					pos:    lazyPositions(raw, line),
				})
			}
			if _, err := dec.Token(); err != nil {
				return head{}, nil, false
			}
		case "apiVersion", "kind":
			var s string
			if dec.Decode(&s) != nil {
				return head{}, nil, false
			}
			if key == "kind" {
				h.Kind = s
			} else {
				h.APIVersion = s
			}
		default:
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return head{}, nil, false
			}
		}
	}
	if !sawItems || !strings.HasSuffix(h.Kind, "List") {
		return head{}, nil, false
	}
	return h, items, true
}

// lineCounter turns increasing byte offsets into lines in linear time.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

func skipSpaceComma(data []byte, i int) int {
	for i < len(data) && strings.IndexByte(" \t\r\n,", data[i]) >= 0 {
		i++
	}
	return i
}

// yamlListItems cuts a block sequence under a top-level "items:" key into
// one document per entry. An entry starts with "- " at the sequence's
// column; everything indented deeper belongs to it (YAML requires that of
// block scalars and multi-line values), so the cut is exact for block
// style. Flow style, tabs, or an item that does not convert on its own (an
// alias to another item's anchor) send the document down the ordinary path.
func (d doc) yamlListItems() (head, []*Object, bool) {
	lines := bytes.SplitAfter(d.data, []byte{'\n'})
	first := d.src.Line - leadingBlankLines(d.data)
	start := -1
	for i, l := range lines {
		if isKey(l, "items") {
			start = i
			break
		}
	}
	if start < 0 {
		return head{}, nil, false
	}
	col := -1
	var header bytes.Buffer
	for _, l := range lines[:start] {
		header.Write(l)
	}
	type item struct {
		line int
		data bytes.Buffer
		// content is the column of the entry's content (after "- "),
		// -1 until known.
		content int
	}
	var items []*item
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		t := bytes.TrimRight(l, "\r\n")
		if bytes.HasPrefix(t, []byte{'\t'}) {
			return head{}, nil, false
		}
		trimmed := bytes.TrimLeft(t, " ")
		indent := len(t) - len(trimmed)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			if len(items) > 0 {
				items[len(items)-1].data.WriteString("\n")
			}
			continue
		}
		entry := trimmed[0] == '-' && (len(trimmed) == 1 || trimmed[1] == ' ')
		if col < 0 {
			if !entry {
				return head{}, nil, false // "items: []" or a mapping: not a block sequence
			}
			col = indent
		}
		switch {
		case entry && indent == col:
			// Blank out the dash: every column stays where it was, so the
			// entry's own indentation is kept whatever it is.
			it := &item{line: first + i, content: -1}
			if c := len(trimmed) - len(bytes.TrimLeft(trimmed[1:], " ")); c < len(trimmed) {
				it.content = indent + c
			}
			it.data.Write(l[:col])
			it.data.WriteByte(' ')
			it.data.Write(l[col+1:])
			items = append(items, it)
		case indent > col:
			// A line left of the entry's content is an error in the
			// whole document that the entry alone may not show
			// (found by FuzzRead): the ordinary path decides.
			it := items[len(items)-1]
			if it.content < 0 {
				it.content = indent
			} else if indent < it.content {
				return head{}, nil, false
			}
			it.data.Write(l)
		default:
			end = i
		}
		if end != len(lines) {
			break
		}
	}
	for _, l := range lines[end:] {
		header.Write(l)
	}
	if col < 0 {
		return head{}, nil, false
	}
	hj, err := doc{data: header.Bytes()}.toJSON()
	if err != nil {
		return head{}, nil, false
	}
	var h head
	if json.Unmarshal(hj, &h) != nil || !strings.HasSuffix(h.Kind, "List") {
		return head{}, nil, false
	}
	objs := make([]*Object, len(items))
	failed := false
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := items[i]
				data := it.data.Bytes()
				j, err := doc{src: model.Source{File: d.src.File, Line: it.line}, data: data}.toJSON()
				j = bytes.TrimSpace(j)
				if err != nil || len(j) == 0 || j[0] != '{' {
					mu.Lock()
					failed = true
					mu.Unlock()
					continue
				}
				src := model.Source{File: d.src.File, Line: it.line + leadingBlankLines(data)}
				objs[i] = &Object{Source: src, JSON: j, pos: lazyPositions(data, it.line)}
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	if failed {
		return head{}, nil, false
	}
	h.Items = nil
	return h, objs, true
}

// isKey reports whether a line is exactly "key:" at column 0, perhaps
// followed by spaces or a comment.
func isKey(line []byte, key string) bool {
	t := bytes.TrimRight(line, "\r\n")
	if !bytes.HasPrefix(t, []byte(key+":")) {
		return false
	}
	rest := bytes.TrimSpace(t[len(key)+1:])
	return len(rest) == 0 || rest[0] == '#'
}
