// Package strictjson decodes JSON into Go values the way sigs.k8s.io/json
// does (the decoder the API server and ringfence use: case-sensitive field
// names, duplicate and unknown fields reported), for the inputs where that
// decoder gives no error and no strict error, and reports false for every
// other input. The caller then runs sigs.k8s.io/json itself, which gives
// the same value or the exact error and warnings. So this package only
// decides speed, never meaning; its tests hold the two equal.
//
// Why: decoding every object into the whole Kubernetes API type through
// sigs.k8s.io/json (a scanner pass to validate, a second byte-by-byte state
// machine to decode) was a third of loading. Here each Go type gets a plan
// once (its fields by exact name, what each accepts), and the JSON is read
// in one pass.
package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Unknown says what an unknown object member does.
type Unknown bool

const (
	// Strict: an unknown member makes Unmarshal report false (the
	// caller's decoder warns about it).
	Strict Unknown = false
	// Ignore: unknown members are skipped, as
	// sigs.k8s.io/json.UnmarshalCaseSensitivePreserveInts does.
	Ignore Unknown = true
)

// Unmarshal decodes data into v (a non-nil pointer to a zero value) and
// reports true when the result is exactly what sigs.k8s.io/json's
// UnmarshalStrict (Strict) or UnmarshalCaseSensitivePreserveInts (Ignore)
// gives with no error and no strict error. On false, v holds a partial
// value: the caller resets it before decoding again.
//
// False is reported for anything this decoder does not take: invalid
// JSON, a value of the wrong type, a member set twice, an unknown member
// (Strict), a number out of range, escapes it leaves to encoding/json,
// and Go types it has no plan for (interfaces, arrays, byte slices,
// embedded pointers, text unmarshalers, ",string" options).
func Unmarshal(data []byte, v any, unknown Unknown) (ok bool) {
	// A reflection corner this package did not foresee must not stop a
	// load: the caller's decoder then reads the input as always.
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	p := planFor(rv.Type().Elem())
	d := decoder{data: data, ignore: bool(unknown)}
	if !d.value(p, rv.Elem()) {
		return false
	}
	d.space()
	return d.i == len(d.data)
}

type kind uint8

const (
	kUnsupported kind = iota
	kString
	kBool
	kInt
	kUint
	kFloat
	kStruct
	kMap
	kSlice
	kPointer
	kUnmarshaler // the type's pointer implements json.Unmarshaler
)

// plan is how values of one Go type are decoded. Plans are built once per
// type and never change after.
type plan struct {
	kind kind
	typ  reflect.Type
	elem *plan // pointer, slice and map element
	// keyString is set when a map's key type is exactly string.
	keyString bool
	// stringMap and stringSlice mark map[string]string and []string,
	// decoded without reflection per element.
	stringMap, stringSlice bool
	fields                 []field
	byName                 map[string]int
}

type field struct {
	index []int
	plan  *plan
}

// plans caches the plan of every type seen. A plan depends only on its
// type, so one cache serves every caller; roots are published through
// sync.Map once complete (a plan under construction is only reachable
// under mu).
var (
	roots sync.Map // reflect.Type -> *plan
	mu    sync.Mutex
	plans = map[reflect.Type]*plan{}
)

func planFor(t reflect.Type) *plan {
	if p, ok := roots.Load(t); ok {
		return p.(*plan)
	}
	mu.Lock()
	defer mu.Unlock()
	p := build(t)
	roots.Store(t, p)
	return p
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// build makes the plan of t (under mu). A type in a cycle refers to its
// own plan, registered before its parts are built.
func build(t reflect.Type) *plan {
	if p, ok := plans[t]; ok {
		return p
	}
	p := &plan{typ: t}
	plans[t] = p
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		p.kind = kUnmarshaler
		return p
	}
	if t.Kind() != reflect.Pointer && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		return p // unsupported
	}
	switch t.Kind() {
	case reflect.String:
		p.kind = kString
	case reflect.Bool:
		p.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.kind = kInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.kind = kUint
	case reflect.Float32, reflect.Float64:
		p.kind = kFloat
	case reflect.Pointer:
		p.kind, p.elem = kPointer, build(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return p // base64 strings: left to encoding/json
		}
		p.kind, p.elem = kSlice, build(t.Elem())
		p.stringSlice = t.Elem() == reflect.TypeFor[string]()
	case reflect.Map:
		k := t.Key()
		if k.Kind() != reflect.String || reflect.PointerTo(k).Implements(textUnmarshalerType) {
			return p
		}
		p.kind, p.elem = kMap, build(t.Elem())
		p.keyString = k == reflect.TypeFor[string]()
		p.stringMap = p.keyString && t.Elem() == reflect.TypeFor[string]()
	case reflect.Struct:
		if fields, byName, ok := structFields(t); ok {
			p.kind, p.fields, p.byName = kStruct, fields, byName
		}
	}
	return p
}

// candidate is a struct field that may take a JSON name.
type candidate struct {
	name   string
	index  []int
	tagged bool
	typ    reflect.Type
}

// structFields lists the JSON members of a struct as encoding/json does:
// fields of embedded structs without a name are promoted; of several
// fields with one name, the shallowest wins, then the one with a tag; a
// tie hides the name (here: the struct is not taken at all).
func structFields(t reflect.Type) ([]field, map[string]int, bool) {
	var cands []candidate
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := cutComma(tag)
			if hasOption(opts, "string") {
				return false
			}
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					if name == "" && ft.Elem().Kind() == reflect.Struct {
						return false // embedded pointers: allocated on the way, left to encoding/json
					}
				}
				if name == "" && ft.Kind() == reflect.Struct {
					if !walk(ft, idx) {
						return false
					}
					continue
				}
				if !f.IsExported() {
					return false // encoding/json's corner: left to it
				}
			} else if !f.IsExported() {
				continue
			}
			if name == "" {
				cands = append(cands, candidate{name: f.Name, index: idx, typ: f.Type})
			} else {
				cands = append(cands, candidate{name: name, index: idx, tagged: true, typ: f.Type})
			}
		}
		return true
	}
	if !walk(t, nil) {
		return nil, nil, false
	}
	best := map[string]int{}
	tie := map[string]bool{}
	for i, c := range cands {
		j, ok := best[c.name]
		if !ok {
			best[c.name] = i
			continue
		}
		b := cands[j]
		switch {
		case len(c.index) < len(b.index), len(c.index) == len(b.index) && c.tagged && !b.tagged:
			best[c.name], tie[c.name] = i, false
		case len(c.index) == len(b.index) && c.tagged == b.tagged:
			tie[c.name] = true
		}
	}
	var fields []field
	byName := map[string]int{}
	for i, c := range cands {
		if best[c.name] != i {
			continue
		}
		if tie[c.name] {
			return nil, nil, false
		}
		byName[c.name] = len(fields)
		fields = append(fields, field{index: c.index, plan: build(c.typ)})
	}
	if len(fields) > 64*len(seenSet{}) {
		return nil, nil, false
	}
	return fields, byName, true
}

func cutComma(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = cutComma(opts)
		if o == want {
			return true
		}
	}
	return false
}

// seenSet marks the members of one object already read.
type seenSet [4]uint64

type decoder struct {
	data   []byte
	i      int
	ignore bool
	// depth is the nesting of the value being read. encoding/json refuses
	// inputs nested deeper than 10,000; far below that, this decoder
	// steps aside.
	depth int
	// strs holds the bytes of the strings decoded so far (see keep).
	strs []byte
}

// keep returns b as a string. The strings of one decode share a few
// blocks instead of one allocation each (they were a sixth of the
// allocations of loading): a block is only ever appended to, so the
// bytes under a string never change. The blocks belong to one decode, so
// a string the caller keeps holds at most its object's strings.
func (d *decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(d.strs)-len(d.strs) < len(b) {
		// A small first block, then doubling: a block lives as long
		// as any string in it, so a large one kept the strings of the
		// whole object alive (2.51 to 2.77 bytes kept per byte of YAML
		// with a quarter of the input; 2.55 with a sixteenth, the
		// allocations the same within 0.5%).
		n := max(len(b), min(len(d.data)/16, 4096), 2*cap(d.strs), 64)
		d.strs = make([]byte, 0, min(n, max(len(b), 64<<10)))
	}
	start := len(d.strs)
	d.strs = append(d.strs, b...)
	return unsafe.String(&d.strs[start], len(b))
}

// maxDepth is the nesting this decoder reads; Kubernetes objects nest a
// few dozen levels.
const maxDepth = 1000

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// literal consumes word (true, false, null).
func (d *decoder) literal(word string) bool {
	if len(d.data)-d.i < len(word) || string(d.data[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

// value decodes the value at d.i into v.
func (d *decoder) value(p *plan, v reflect.Value) bool {
	d.space()
	if d.i >= len(d.data) {
		return false
	}
	c := d.data[d.i]
	if c == 'n' {
		start := d.i
		if !d.literal("null") {
			return false
		}
		switch p.kind {
		case kPointer, kMap, kSlice:
			v.SetZero()
		case kUnmarshaler:
			return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(d.data[start:d.i]) == nil
		case kUnsupported:
			return false
		}
		return true // null leaves other values as they are
	}
	switch p.kind {
	case kString:
		s, ok := d.str()
		if !ok {
			return false
		}
		v.SetString(s)
		return true
	case kBool:
		switch {
		case d.literal("true"):
			v.SetBool(true)
		case d.literal("false"):
			v.SetBool(false)
		default:
			return false
		}
		return true
	case kInt, kUint, kFloat:
		return d.numberInto(p, v)
	case kPointer:
		e := reflect.New(p.typ.Elem())
		if !d.value(p.elem, e.Elem()) {
			return false
		}
		v.Set(e)
		return true
	case kUnmarshaler:
		start := d.i
		if !d.skip() {
			return false
		}
		return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(d.data[start:d.i]) == nil
	case kStruct:
		return c == '{' && d.object(p, v)
	case kMap:
		return c == '{' && d.mapping(p, v)
	case kSlice:
		return c == '[' && d.array(p, v)
	}
	return false
}

// numberInto decodes a number into an int, uint or float value as
// encoding/json does: the literal must parse for the kind and fit its size.
func (d *decoder) numberInto(p *plan, v reflect.Value) bool {
	num, ok := d.number()
	if !ok {
		return false
	}
	switch p.kind {
	case kInt:
		n, small := smallInt(num)
		if !small {
			var err error
			if n, err = strconv.ParseInt(string(num), 10, 64); err != nil {
				return false
			}
		}
		if v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
	case kUint:
		n, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
	default:
		n, err := strconv.ParseFloat(string(num), p.typ.Bits())
		if err != nil || v.OverflowFloat(n) {
			return false
		}
		v.SetFloat(n)
	}
	return true
}

// members reads the members of the object at d.i, calling member with
// each key (a string valid until the next call) and leaving d.i at its
// value.
func (d *decoder) members(member func(key []byte) bool) bool {
	if !d.enter() {
		return false
	}
	d.i++ // {
	d.space()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		d.space()
		key, ok := d.rawStr()
		if !ok {
			return false
		}
		d.space()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return false
		}
		d.i++
		if !member(key) {
			return false
		}
		d.space()
		if d.i >= len(d.data) {
			return false
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// enter counts one more level of nesting (an object or an array),
// refusing inputs nested deeper than maxDepth. Only a complete value
// leaves its level again: a failure ends the whole decode.
func (d *decoder) enter() bool {
	d.depth++
	return d.depth <= maxDepth
}

func (d *decoder) object(p *plan, v reflect.Value) bool {
	var seen seenSet
	return d.members(func(key []byte) bool {
		j, ok := p.byName[string(key)]
		if !ok {
			return d.ignore && d.skip()
		}
		if seen[j/64]&(1<<(j%64)) != 0 {
			return false // set twice: sigs.k8s.io/json reports it
		}
		seen[j/64] |= 1 << (j % 64)
		f := &p.fields[j]
		return d.value(f.plan, v.FieldByIndex(f.index))
	})
}

func (d *decoder) mapping(p *plan, v reflect.Value) bool {
	if p.stringMap {
		m := v.Interface().(map[string]string)
		if m == nil {
			m = map[string]string{}
			v.Set(reflect.ValueOf(m))
		}
		return d.members(func(key []byte) bool {
			if _, dup := m[string(key)]; dup {
				return false
			}
			k := d.keep(key)
			d.space()
			s, ok := d.str()
			if !ok {
				if d.i < len(d.data) && d.data[d.i] == 'n' && d.literal("null") {
					m[k] = ""
					return true
				}
				return false
			}
			m[k] = s
			return true
		})
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(p.typ))
	}
	kt := p.typ.Key()
	// One element to decode into, zeroed for each member: SetMapIndex
	// stores a copy (a new element each member was an allocation each).
	var e reflect.Value
	return d.members(func(key []byte) bool {
		k := reflect.ValueOf(d.keep(key))
		if !p.keyString {
			k = k.Convert(kt)
		}
		if v.MapIndex(k).IsValid() {
			return false
		}
		if e.IsValid() {
			e.SetZero()
		} else {
			e = reflect.New(p.typ.Elem()).Elem()
		}
		if !d.value(p.elem, e) {
			return false
		}
		v.SetMapIndex(k, e)
		return true
	})
}

func (d *decoder) array(p *plan, v reflect.Value) bool {
	if !d.enter() {
		return false
	}
	ok := d.elements(p, v)
	d.depth--
	return ok
}

func (d *decoder) elements(p *plan, v reflect.Value) bool {
	d.i++ // [
	d.space()
	if p.stringSlice {
		out := []string{}
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			v.Set(reflect.ValueOf(out))
			return true
		}
		for {
			d.space()
			if d.i < len(d.data) && d.data[d.i] == 'n' {
				if !d.literal("null") {
					return false
				}
				out = append(out, "")
			} else {
				s, ok := d.str()
				if !ok {
					return false
				}
				out = append(out, s)
			}
			more, ok := d.next()
			if !ok {
				return false
			}
			if !more {
				v.Set(reflect.ValueOf(out))
				return true
			}
		}
	}
	n := 0
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		v.Set(reflect.MakeSlice(p.typ, 0, 0))
		return true
	}
	for {
		if n >= v.Cap() {
			// encoding/json's growth (append's), so the values keep
			// the same capacity: the model holds some of these slices.
			v.Grow(1)
		}
		v.SetLen(n + 1)
		if !d.value(p.elem, v.Index(n)) {
			return false
		}
		n++
		if more, ok := d.next(); !more {
			return ok
		}
	}
}

// next consumes the separator after an array element: more when it was
// ',', the end of the array when ']', and ok=false for anything else.
func (d *decoder) next() (more, ok bool) {
	d.space()
	if d.i >= len(d.data) {
		return false, false
	}
	c := d.data[d.i]
	d.i++
	return c == ',', c == ',' || c == ']'
}

// rawStr reads a string without escapes and returns its bytes (a slice of
// the input); a string with escapes, control characters or invalid UTF-8
// is left to encoding/json (false).
func (d *decoder) rawStr() ([]byte, bool) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.data); j++ {
		c := d.data[j]
		switch {
		case c == '"':
			s := d.data[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// str reads a string value; escapes are unquoted by encoding/json (the
// code sigs.k8s.io/json copies).
func (d *decoder) str() (string, bool) {
	start := d.i
	if s, ok := d.rawStr(); ok {
		return d.keep(s), true
	}
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", false
	}
	// Find the end, honouring escapes, then let encoding/json unquote.
	j := start + 1
	for j < len(d.data) && d.data[j] != '"' {
		if d.data[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(d.data) {
		return "", false
	}
	var s string
	raw := d.data[start : j+1]
	if !utf8.Valid(raw) || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	d.i = j + 1
	return s, true
}

// smallInt is strconv.ParseInt(num, 10, 64) for a JSON number of at most
// 18 digits, no fraction and no exponent (which cannot overflow), without
// making num a string; small is false for any other number.
func smallInt(num []byte) (n int64, small bool) {
	digits := num
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(num) {
		n = -n
	}
	return n, true
}

// number reads a JSON number and returns its text (a slice of the input).
func (d *decoder) number() ([]byte, bool) {
	b, start := d.data, d.i
	j := d.i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digits(b, j)
	default:
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		k := digits(b, j+1)
		if k == j+1 {
			return nil, false
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := digits(b, j)
		if k == j {
			return nil, false
		}
		j = k
	}
	d.i = j
	return b[start:j], true
}

// skipElements consumes the elements of an array and its closing
// bracket.
func (d *decoder) skipElements() bool {
	d.i++ // [
	d.space()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !d.skip() {
			return false
		}
		if more, ok := d.next(); !more {
			return ok
		}
	}
}

// digits returns the offset after the decimal digits starting at j.
func digits(b []byte, j int) int {
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j
}

// skip consumes one value, checking its syntax.
func (d *decoder) skip() bool {
	d.space()
	if d.i >= len(d.data) {
		return false
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.members(func([]byte) bool { return d.skip() })
	case c == '[':
		if !d.enter() {
			return false
		}
		ok := d.skipElements()
		d.depth--
		return ok
	case c == '"':
		if _, ok := d.rawStr(); ok {
			return true // no string made for what is skipped
		}
		_, ok := d.str()
		return ok
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		_, ok := d.number()
		return ok
	}
}
