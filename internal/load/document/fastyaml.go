package document

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	yaml3 "go.yaml.in/yaml/v3"
)

// fastYAMLToJSON converts the YAML that tools write (block mappings and
// sequences, one-line scalars) straight to the JSON sigs.k8s.io/yaml's
// YAMLToJSON produces for it, byte for byte: keys sorted, strings escaped as
// encoding/json does, YAML 1.1 booleans and nulls resolved as go-yaml v2
// resolves them. It reports ok=false for anything outside that subset
// (anchors, aliases, tags, block or multi-line scalars, flow collections
// other than {} and [], escapes, floats, keys that are not plainly strings,
// duplicate keys, tabs, carriage returns, characters YAML forbids, any
// error): the caller then takes sigs.k8s.io/yaml, which gives the exact
// result or the positioned error. So the subset only decides speed, never
// meaning; FuzzFastYAML checks the two agree on every input the subset
// takes.
//
// The Kubernetes converter goes YAML -> generic values -> JSON and was half
// of loading time; this walks the lines once.
func fastYAMLToJSON(data []byte) (out []byte, ok bool) {
	out, _, ok = fastYAMLToJSONHead(data)
	return out, ok
}

// fastHead is the apiVersion and kind of a converted document, when its
// root is a mapping that has no "items" and whose apiVersion and kind are
// absent, null or strings: what flatten would read from the JSON.
type fastHead struct {
	apiVersion, kind string
	// metadata is the JSON of the root's metadata member (a slice of the
	// output), nil when it has none.
	metadata []byte
	// specLines are the lines of the entries of the sequences directly
	// in the root's spec mapping (a NetworkPolicy's rules), read on the
	// way so that rule lines need no second parse.
	specLines []seqLines
	ok        bool
}

// seqLines are the lines (1-based, in the document) of the entries of
// the sequence at spec.<key>.
type seqLines struct {
	key   string
	lines []int
}

// fastYAMLToJSONHead is fastYAMLToJSON that also reads the head.
func fastYAMLToJSONHead(data []byte) (out []byte, h fastHead, ok bool) {
	if !fastPrintable(data) {
		return nil, h, false
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	// The JSON of block YAML is mostly shorter than it (indentation
	// goes, quotes come: 0.87 of it on generated clusters, 1.1 at most).
	p := &fastParser{data: data, lineNo: 1, out: make([]byte, 0, len(data)+len(data)/8), entries: sc.entries[:0], body: sc.body[:0]}
	p.setLine(0)
	ok = p.document()
	// Keep the grown stacks for the next document (their old contents
	// are never read again; the pool is emptied by the collector).
	sc.entries, sc.body = p.entries[:0], p.body[:0]
	if !ok {
		return nil, h, false
	}
	if len(p.out) > 0 && p.out[0] == '{' && !p.headBad {
		h = fastHead{apiVersion: p.apiVersion, kind: p.kind, specLines: p.specLines, ok: true}
		if p.metaEnd > 0 {
			h.metadata = p.out[p.metaStart:p.metaEnd:p.metaEnd]
		}
	}
	return p.out, h, true
}

// fastTree parses the same subset into the node tree positions walks
// (kinds, keys and lines: what go.yaml.in/yaml/v3 gives for it, which
// FuzzFastYAML checks), or reports ok=false.
func fastTree(data []byte) (*yaml3.Node, bool) {
	if !fastPrintable(data) {
		return nil, false
	}
	doc := &yaml3.Node{Kind: yaml3.DocumentNode, Line: 1, Column: 1}
	p := &fastParser{data: data, lineNo: 1, cur: doc}
	p.setLine(0)
	if !p.document() {
		return nil, false
	}
	return doc, true
}

func (p *fastParser) document() bool {
	ind, ok := p.nextContent()
	if !ok || ind < 0 {
		return false
	}
	if p.cur != nil {
		p.cur.Line = p.lineNo
	}
	if !p.node(ind) {
		return false
	}
	ind, ok = p.nextContent()
	return ok && ind < 0 // no content left after the root node
}

// fastPrintable reports whether data holds only what the fast path accepts
// as text: printable ASCII, newlines, and the multi-byte characters go-yaml
// counts as printable (its reader rejects the others) and not as line
// breaks. Tabs and carriage
// returns are left to the ordinary path.
func fastPrintable(b []byte) bool {
	// Eight bytes at a time while they are ASCII (a few per cent of
	// loading byte by byte); the rest, and any word with a byte at or
	// above 0x80, by the loop below.
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if x&0x8080808080808080 != 0 || !printableASCII8(x) {
			break
		}
	}
	return printableFrom(b, i)
}

// printableASCII8 reports whether the eight ASCII bytes of x are all
// printable (0x20 to 0x7e) or newlines.
func printableASCII8(x uint64) bool {
	const ones, sevens, sixes = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x6060606060606060
	// zero has 0x80 in exactly the bytes of y that are 0 (no carry
	// crosses bytes: (y&0x7f)+0x7f is at most 0xfe).
	zero := func(y uint64) uint64 { return ^(((y & sevens) + sevens) | y | sevens) }
	// Newlines become '*' (0x2a), so they pass the test below.
	x |= zero(x^(ones*'\n')) >> 2
	// An ASCII byte is below 0x20 when bits 0x60 are both clear.
	return zero(x&sixes) == 0 && zero(x^(ones*0x7f)) == 0
}

// printableFrom is fastPrintable from offset i, byte by byte.
func printableFrom(b []byte, i int) bool {
	for ; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c < 0x7f || c == '\n' {
			continue
		}
		if c < 0x80 {
			return false
		}
		r, size := utf8.DecodeRune(b[i:])
		// U+2028 and U+2029 are line breaks to YAML 1.1.
		if r == utf8.RuneError || r == 0x2028 || r == 0x2029 || !(r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF) {
			return false
		}
		i += size - 1
	}
	return true
}

// scratch holds a parser's working stacks between documents: a stack of
// mapping keys per document was a quarter of the bytes loading allocated.
type scratch struct {
	entries []mapEntry
	body    []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{entries: make([]mapEntry, 0, 64)} }}

type fastParser struct {
	data []byte
	// line is the offset of the current line's first byte; col the
	// column the parser stands at on it.
	line    int
	lineEnd int // offset of the current line's newline (or the end)
	col     int
	// entries is the stack of the keys of the mappings being read; body
	// a copy of a mapping's members while they are sorted.
	entries []mapEntry
	body    []byte
	// apiVersion and kind of the root mapping; headBad when either is
	// not a plain string or the root has items.
	apiVersion, kind string
	headBad          bool
	// metaStart and metaEnd delimit the root's metadata value in out
	// (metaEnd 0 when there is none).
	metaStart, metaEnd int
	lineNo             int // 1-based number of the current line
	out                []byte
	// cur, when set, is the node of the collection being read: the
	// parser then builds a node tree (fastTree) besides the JSON.
	cur *yaml3.Node
	// level is the nesting of the collection being read (0 the root);
	// inSpec is set while the root's spec member is read, specMap when
	// it is a mapping, and specKey is the key of its entry being read.
	level     int
	inSpec    bool
	specMap   bool
	specKey   []byte
	specLines []seqLines
}

// attach adds a node of the tree being built, at the current line and
// column c, and returns it (nil when no tree is built).
func (p *fastParser) attach(kind yaml3.Kind, c int, value []byte) *yaml3.Node {
	if p.cur == nil {
		return nil
	}
	n := &yaml3.Node{Kind: kind, Line: p.lineNo, Column: c + 1, Value: string(value)}
	p.cur.Content = append(p.cur.Content, n)
	return n
}

// enter makes n the collection nodes are added to, and returns the one
// to go back to.
func (p *fastParser) enter(n *yaml3.Node) *yaml3.Node {
	prev := p.cur
	if n != nil {
		p.cur = n
	}
	return prev
}

// lineText is the current line without its newline.
func (p *fastParser) lineText() []byte {
	return p.data[p.line:p.lineEnd]
}

// setLine makes the line starting at off the current one.
func (p *fastParser) setLine(off int) {
	p.line = off
	if i := bytes.IndexByte(p.data[off:], '\n'); i >= 0 {
		p.lineEnd = off + i
	} else {
		p.lineEnd = len(p.data)
	}
}

// advance moves to the next line.
func (p *fastParser) advance() {
	p.setLine(min(p.lineEnd+1, len(p.data)))
	p.col = 0
	p.lineNo++
}

// nextContent moves to the next line with content at or after the current
// one (skipping blank and comment lines), and returns its indentation, or
// -1 at the end.
func (p *fastParser) nextContent() (int, bool) {
	for p.line < len(p.data) {
		l := p.lineText()
		ind := 0
		for ind < len(l) && l[ind] == ' ' {
			ind++
		}
		if ind == len(l) || l[ind] == '#' {
			p.advance()
			continue
		}
		p.col = ind
		return ind, true
	}
	return -1, true
}

// node converts the block collection starting at column col of the
// current line.
func (p *fastParser) node(col int) bool {
	l := p.lineText()[col:]
	if l[0] == '-' && (len(l) == 1 || l[1] == ' ') {
		return p.sequence(col)
	}
	if _, _, ok := fastKey(l); ok {
		return p.mapping(col)
	}
	return false // a bare scalar document, or something outside the subset
}

// value converts what follows an indicator ending at column c of line l
// (a sequence entry's dash or a key's colon, the collection at column
// col): the block nested under the line when the rest of it is empty or a
// comment, else the value on the line, which a space must set off from the
// indicator ("key:value" is one plain scalar).
func (p *fastParser) value(l []byte, c, col int, inMapping bool) bool {
	v := c
	for v < len(l) && l[v] == ' ' {
		v++
	}
	if v == len(l) || l[v] == '#' {
		if v < len(l) && l[v-1] != ' ' {
			return false
		}
		line := p.lineNo
		p.advance()
		return p.nested(col, line, inMapping)
	}
	if v == c {
		return false
	}
	return p.inline(v, col, !inMapping)
}

// sequence converts a block sequence whose dashes stand at column col.
func (p *fastParser) sequence(col int) bool {
	return p.collection(yaml3.SequenceNode, col, (*fastParser).sequenceEntries)
}

// collection reads the entries of a block collection of kind at column
// col into the tree being built (if any). No defers here or below: they
// cost a tenth of the walk, and a failed walk is thrown away, so only
// success restores the state.
func (p *fastParser) collection(kind yaml3.Kind, col int, entries func(*fastParser, int) bool) bool {
	prev := p.enter(p.attach(kind, col, nil))
	if !entries(p, col) {
		return false
	}
	p.enter(prev)
	return true
}

func (p *fastParser) sequenceEntries(col int) bool {
	if p.level == 1 {
		p.specMap = false
	}
	record := p.level == 2 && p.inSpec && p.specMap
	var lines *seqLines
	if record {
		if p.specLines == nil {
			p.specLines = make([]seqLines, 0, 3) // a policy's ingress, egress, policyTypes
		}
		p.specLines = append(p.specLines, seqLines{key: specKey(p.specKey)})
		lines = &p.specLines[len(p.specLines)-1]
	}
	p.level++
	p.out = append(p.out, '[')
	first := true
	for {
		l := p.lineText()
		if len(l) <= col || l[col] != '-' || (len(l) > col+1 && l[col+1] != ' ') {
			return false
		}
		if !first {
			p.out = append(p.out, ',')
		}
		first = false
		if record {
			lines.lines = append(lines.lines, p.entryLine(l, col+1, col))
		}
		if !p.value(l, col+1, col, false) {
			return false
		}
		ind, ok := p.nextContent()
		if !ok {
			return false
		}
		if ind < col {
			break
		}
		if ind > col {
			return false
		}
		l = p.lineText()
		if l[col] != '-' {
			break // a key of the mapping holding this sequence
		}
	}
	p.out = append(p.out, ']')
	p.level--
	return true
}

// specKey is string(key), without a copy for the sequences NetworkPolicies
// have in their spec.
func specKey(key []byte) string {
	switch string(key) {
	case "ingress":
		return "ingress"
	case "egress":
		return "egress"
	case "policyTypes":
		return "policyTypes"
	}
	return string(key)
}

// entryLine is the line of the node of a sequence entry whose dash ends
// at column c of line l (the entry at column col): the dash's line, or,
// when nothing but a comment follows the dash, the next content line if
// it is deeper (the nested node) and else the dash's (a null), as nested
// attaches them.
func (p *fastParser) entryLine(l []byte, c, col int) int {
	v := c
	for v < len(l) && l[v] == ' ' {
		v++
	}
	if v < len(l) && l[v] != '#' {
		return p.lineNo
	}
	lineNo := p.lineNo
	for off := p.lineEnd + 1; off < len(p.data); {
		lineNo++
		end := bytes.IndexByte(p.data[off:], '\n')
		if end < 0 {
			end = len(p.data) - off
		}
		next := p.data[off : off+end]
		ind := 0
		for ind < len(next) && next[ind] == ' ' {
			ind++
		}
		if ind < len(next) && next[ind] != '#' {
			if ind > col {
				return lineNo
			}
			break
		}
		off += end + 1
	}
	return p.lineNo
}

// nested converts the value of an entry whose line ended after the key or
// dash: a deeper block node, a sequence at the same column as a mapping
// key (YAML allows that), or null (at the entry's line, as go-yaml puts
// it).
func (p *fastParser) nested(owner, ownerLine int, inMapping bool) bool {
	ind, ok := p.nextContent()
	if !ok {
		return false
	}
	switch {
	case ind > owner:
		return p.node(ind)
	case ind == owner && inMapping:
		l := p.lineText()[ind:]
		if l[0] == '-' && (len(l) == 1 || l[1] == ' ') {
			return p.sequence(ind)
		}
	}
	p.out = append(p.out, "null"...)
	if n := p.attach(yaml3.ScalarNode, 0, nil); n != nil {
		n.Line = ownerLine
	}
	return true
}

// inline converts the value that starts at column c of the current line,
// in an entry at column owner: in a sequence entry a compact nested block
// ("- key: v", "- - v"), else a scalar, after which the next content line
// must not be deeper than owner (it would continue a multi-line scalar).
func (p *fastParser) inline(c, owner int, inSequence bool) bool {
	l := p.lineText()[c:]
	if inSequence {
		if l[0] == '-' && (len(l) == 1 || l[1] == ' ') {
			return p.sequence(c)
		}
		if _, _, ok := fastKey(l); ok {
			return p.mapping(c)
		}
	}
	if !p.scalar(l) {
		return false
	}
	p.advance()
	ind, ok := p.nextContent()
	return ok && ind <= owner
}

// mapping converts a block mapping whose keys stand at column col. Keys
// are written sorted (encoding/json sorts map keys), so the entries are
// reordered once the mapping is complete.
func (p *fastParser) mapping(col int) bool {
	return p.collection(yaml3.MappingNode, col, (*fastParser).mappingEntries)
}

func (p *fastParser) mappingEntries(col int) bool {
	level := p.level
	if level == 1 {
		p.specMap = true
	}
	p.level++
	start := len(p.out)
	p.out = append(p.out, '{')
	base := len(p.entries)
	var seen map[string]bool
	sorted := true
	for {
		l := p.lineText()
		if len(l) <= col {
			return false
		}
		key, rest, ok := fastKey(l[col:])
		if !ok {
			return false
		}
		entries := p.entries[base:]
		// Duplicate keys: the ordinary path decides.
		if seen != nil {
			if seen[string(key)] {
				return false
			}
			seen[string(key)] = true
		} else {
			for _, e := range entries {
				if bytes.Equal(e.key, key) {
					return false
				}
			}
			if len(entries) == 16 {
				seen = make(map[string]bool, 64)
				for _, e := range entries {
					seen[string(e.key)] = true
				}
				seen[string(key)] = true
			}
		}
		if len(entries) > 0 {
			p.out = append(p.out, ',')
			if bytes.Compare(key, entries[len(entries)-1].key) < 0 {
				sorted = false
			}
		}
		es := len(p.out)
		p.attach(yaml3.ScalarNode, col, key)
		p.out = appendJSONString(p.out, key)
		p.out = append(p.out, ':')
		switch level {
		case 0:
			p.inSpec = string(key) == "spec"
		case 1:
			p.specKey = key
		}
		if !p.value(l, col+rest, col, true) {
			return false
		}
		if level == 0 {
			p.inSpec = false
		}
		if start == 0 {
			p.noteHead(key, p.out[es+len(key)+3:])
			if string(key) == "metadata" {
				p.metaStart, p.metaEnd = es+len(key)+3, len(p.out)
			}
		}
		p.entries = append(p.entries, mapEntry{key: key, start: es, end: len(p.out)})
		ind, ok := p.nextContent()
		if !ok {
			return false
		}
		if ind < col {
			break
		}
		if ind > col {
			return false
		}
	}
	p.out = append(p.out, '}')
	if !sorted {
		entries := p.entries[base:]
		p.body = append(p.body[:0], p.out[start:]...)
		body := p.body
		slices.SortFunc(entries, func(a, b mapEntry) int { return bytes.Compare(a.key, b.key) })
		p.out = append(p.out[:start], '{')
		for i, e := range entries {
			if i > 0 {
				p.out = append(p.out, ',')
			}
			if start == 0 && string(e.key) == "metadata" {
				p.metaStart = len(p.out) + len(e.key) + 3
			}
			p.out = append(p.out, body[e.start-start:e.end-start]...)
			if start == 0 && string(e.key) == "metadata" {
				p.metaEnd = len(p.out)
			}
		}
		p.out = append(p.out, '}')
	}
	p.entries = p.entries[:base]
	p.level--
	return true
}

// noteHead records a member of the root mapping that flatten reads: key
// (unescaped: fastKey takes no escapes, and these names need none) and
// its JSON value.
func (p *fastParser) noteHead(key, value []byte) {
	var into *string
	switch string(key) {
	case "apiVersion":
		into = &p.apiVersion
	case "kind":
		into = &p.kind
	case "items":
		p.headBad = true
		return
	default:
		// flatten reads with encoding/json, which also matches names
		// case-insensitively ("ApiVersion", "KIND"): leave those to it.
		for _, n := range [...]string{"apiVersion", "kind", "items"} {
			if strings.EqualFold(string(key), n) {
				p.headBad = true
			}
		}
		return
	}
	switch {
	case string(value) == "null":
		*into = ""
	case len(value) >= 2 && value[0] == '"' && bytes.IndexByte(value, '\\') < 0:
		*into = headString(value[1 : len(value)-1])
	default:
		p.headBad = true
	}
}

// headString is string(b), without a copy for the apiVersions and kinds
// most objects have (two allocations an object otherwise).
func headString(b []byte) string {
	switch string(b) {
	case "v1":
		return "v1"
	case "apps/v1":
		return "apps/v1"
	case "batch/v1":
		return "batch/v1"
	case "networking.k8s.io/v1":
		return "networking.k8s.io/v1"
	case "rbac.authorization.k8s.io/v1":
		return "rbac.authorization.k8s.io/v1"
	case "Deployment":
		return "Deployment"
	case "StatefulSet":
		return "StatefulSet"
	case "DaemonSet":
		return "DaemonSet"
	case "ReplicaSet":
		return "ReplicaSet"
	case "Job":
		return "Job"
	case "CronJob":
		return "CronJob"
	case "Pod":
		return "Pod"
	case "Service":
		return "Service"
	case "ServiceAccount":
		return "ServiceAccount"
	case "Namespace":
		return "Namespace"
	case "NetworkPolicy":
		return "NetworkPolicy"
	case "ConfigMap":
		return "ConfigMap"
	case "Secret":
		return "Secret"
	case "Ingress":
		return "Ingress"
	}
	return string(b)
}

// mapEntry is a key of a mapping being read and where its member is in
// the output.
type mapEntry struct {
	key        []byte
	start, end int
}

// fastKey reads a mapping key at the start of l: a plain key that go-yaml
// resolves to a string (a letter or '_' first, then letters, digits and "_.-/",
// not a YAML 1.1 boolean or null), or a quoted key without escapes,
// followed by ':' and a space or the end of the line. rest is the offset
// just after the colon.
func fastKey(l []byte) (key []byte, rest int, ok bool) {
	if len(l) == 0 {
		return nil, -1, false
	}
	var i int
	switch c := l[0]; {
	case c == '"' || c == '\'':
		j := bytes.IndexByte(l[1:], c)
		if j < 0 {
			return nil, -1, false
		}
		k := l[1 : 1+j]
		if c == '"' && bytes.IndexByte(k, '\\') >= 0 || c == '\'' && len(l) > j+2 && l[j+2] == '\'' {
			return nil, -1, false
		}
		key, i = k, j+2
	case isLetter(c) || c == '_':
		i = 1
		for i < len(l) && (isLetter(l[i]) || l[i] >= '0' && l[i] <= '9' || l[i] == '_' || l[i] == '.' || l[i] == '-' || l[i] == '/') {
			i++
		}
		if resolvesAway(l[:i]) {
			return nil, -1, false
		}
		key = l[:i]
	default:
		return nil, -1, false
	}
	// go-yaml refuses implicit keys longer than 1024 characters.
	if i > 1000 || i >= len(l) || l[i] != ':' || (i+1 < len(l) && l[i+1] != ' ') {
		return nil, -1, false
	}
	return key, i + 1, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// yaml11Words are the plain scalars starting with a letter that go-yaml v2
// (the Kubernetes converter) resolves to something other than a string.
var yaml11Words = map[string]string{
	"y": "true", "Y": "true", "yes": "true", "Yes": "true", "YES": "true",
	"true": "true", "True": "true", "TRUE": "true",
	"on": "true", "On": "true", "ON": "true",
	"n": "false", "N": "false", "no": "false", "No": "false", "NO": "false",
	"false": "false", "False": "false", "FALSE": "false",
	"off": "false", "Off": "false", "OFF": "false",
	"null": "null", "Null": "null", "NULL": "null",
}

func resolvesAway(s []byte) bool {
	_, ok := yaml11Word(s)
	return ok
}

// yaml11Word looks s up in yaml11Words, rejecting most strings without
// the lookup: every such word has 1 to 5 letters and starts with one of
// ten.
func yaml11Word(s []byte) (string, bool) {
	if len(s) == 0 || len(s) > 5 {
		return "", false
	}
	switch s[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O':
		w, ok := yaml11Words[string(s)]
		return w, ok
	}
	return "", false
}

// scalar converts a one-line scalar value (the rest of the line, comment
// included) or returns false.
func (p *fastParser) scalar(l []byte) bool {
	at := len(p.lineText()) - len(l)
	switch l[0] {
	case '{':
		p.attach(yaml3.MappingNode, at, nil)
	case '[':
		p.attach(yaml3.SequenceNode, at, nil)
	default:
		p.attach(yaml3.ScalarNode, at, nil)
	}
	switch c := l[0]; c {
	case '"', '\'':
		j := bytes.IndexByte(l[1:], c)
		if c == '"' {
			if j < 0 || bytes.IndexByte(l[1:1+j], '\\') >= 0 {
				return false
			}
			if !restIsComment(l[j+2:]) {
				return false
			}
			p.out = appendJSONString(p.out, l[1:1+j])
			return true
		}
		// Single quotes: '' is a quote; the value ends at a lone one.
		var v []byte
		i := 1
		for {
			k := bytes.IndexByte(l[i:], '\'')
			if k < 0 {
				return false
			}
			v = append(v, l[i:i+k]...)
			i += k + 1
			if i < len(l) && l[i] == '\'' {
				v = append(v, '\'')
				i++
				continue
			}
			break
		}
		if !restIsComment(l[i:]) {
			return false
		}
		p.out = appendJSONString(p.out, v)
		return true
	case '{', '[':
		if len(l) < 2 || l[1] != c+2 || !restIsComment(l[2:]) {
			return false // flow collections other than {} and []
		}
		p.out = append(p.out, c, c+2)
		return true
	}
	// A plain scalar: up to a comment, without trailing spaces.
	v := l
	if i := bytes.Index(v, []byte(" #")); i >= 0 {
		v = v[:i]
	}
	v = bytes.TrimRight(v, " ")
	if bytes.Contains(v, []byte(": ")) || v[len(v)-1] == ':' {
		return false
	}
	c := v[0]
	switch {
	case isLetter(c):
		if w, ok := yaml11Word(v); ok {
			p.out = append(p.out, w...)
			return true
		}
	case c == '/' || c == '_':
		// go-yaml has no hint for these: always a string.
	case plainDecimal(v):
		// Written as it stands: what ParseInt and AppendInt give for it.
		p.out = append(p.out, v...)
		return true
	case c >= '0' && c <= '9' || (c == '-' || c == '+') && len(v) > 1 && v[1] != ' ':
		num, isString, ok := resolveNumeric(v)
		if !ok {
			return false
		}
		if !isString {
			p.out = append(p.out, num...)
			return true
		}
	default:
		return false // indicators, dots, ~: the ordinary path
	}
	p.out = appendJSONString(p.out, v)
	return true
}

// restIsComment reports whether what follows a quoted scalar or {} is
// nothing, spaces, or spaces and a comment.
func restIsComment(r []byte) bool {
	t := bytes.TrimLeft(r, " ")
	return len(t) == 0 || t[0] == '#' && len(t) < len(r)
}

// resolveNumeric decides a plain scalar starting with a digit or a sign
// ("-conf" too) as go-yaml v2's resolve does: an int (written as
// encoding/json writes it) or a string. Timestamps, floats, underscores
// (which go-yaml drops before reading a number) and binary literals
// go-yaml reads itself give ok=false.
func resolveNumeric(v []byte) (num []byte, isString, ok bool) {
	if bytes.IndexByte(v, '_') >= 0 || bytes.HasPrefix(v, []byte("0b")) || bytes.HasPrefix(v, []byte("-0b")) {
		return nil, false, false
	}
	if (v[0] == '-' || v[0] == '+') && strings.ToLower(string(v[1:])) == ".inf" {
		return nil, false, false // infinities (go-yaml's list has three spellings)
	}
	digits := 0
	for digits < len(v) && v[digits] >= '0' && v[digits] <= '9' {
		digits++
	}
	if digits == 4 && len(v) > 4 && v[4] == '-' {
		return nil, false, false // perhaps a timestamp
	}
	// Quantities, addresses and versions ("100m", "10.0.0.0/8") hold a
	// character no integer literal has: skip the parses, whose errors
	// allocate, and the string they need.
	if mayBeInt(v) {
		if i, err := strconv.ParseInt(string(v), 0, 64); err == nil {
			return strconv.AppendInt(nil, i, 10), false, true
		}
		if u, err := strconv.ParseUint(string(v), 0, 64); err == nil {
			return strconv.AppendUint(nil, u, 10), false, true
		}
	}
	if yamlStyleFloat.Match(v) {
		return nil, false, false
	}
	return nil, true, true // "100m", "128Mi", "10.0.0.0/8", "1.24.1"
}

// plainDecimal reports whether v is an unsigned decimal integer of at most
// 18 digits without a leading zero (or just "0"): go-yaml reads it as that
// int, which encoding/json writes as v itself. Most numbers in manifests
// are such (ports, replicas); this spares them resolveNumeric's parse
// and its copies.
func plainDecimal(v []byte) bool {
	if len(v) == 0 || len(v) > 18 || v[0] == '0' && len(v) > 1 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mayBeInt reports whether v holds only characters strconv.ParseInt and
// ParseUint accept with base 0 (digits, signs, the 0x/0o/0b prefixes and
// hex digits, underscores): otherwise both fail.
func mayBeInt(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F',
			c == 'x', c == 'X', c == 'o', c == 'O', c == '+', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// yamlStyleFloat is go-yaml v2's test for a float.
var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// appendJSONString writes s as encoding/json writes a string with HTML
// escaping on (its default, which json.Marshal in YAMLToJSON uses). s is
// valid UTF-8 without control characters (fastPrintable).
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				out = append(out, s[start:i]...)
				switch c {
				case '"', '\\':
					out = append(out, '\\', c)
				default:
					out = append(out, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
				}
				start = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexDigit[r&0xf])
			start = i + size
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}

const hexDigit = "0123456789abcdef"
