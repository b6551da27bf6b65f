package flows

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A Hubble line is read in one of two ways. hubbleScan, a single pass over
// the bytes that validates the whole line and keeps only the fields below,
// takes the lines `hubble observe -o json` prints; anything it is not sure
// encoding/json would read the same way (a syntax error, a field of the
// wrong type, a key differing only in case, a repeated field, an escape or
// invalid UTF-8 in a string ringfence reads, deep nesting) goes to
// encoding/json and the structs below, so results and error messages stay
// those of encoding/json. A differential test and a fuzz target compare the
// two on every line.
//
// Hand-written rather than a library: the JSON libraries that skip
// reflection either do not validate the line (buger/jsonparser) or build a
// tree of every value and validate in a second pass (valyala/fastjson), and
// none tells whether encoding/json would match a key case-insensitively or
// merge a repeated object, which is what decides when to fall back. A line
// is about 1 KB of which ringfence reads about 150 bytes, so the cost is
// the validating skip over the rest.

// hubbleLine is one line of `hubble observe -o json`: a GetFlowsResponse
// whose flow field holds the flow (older releases printed the flow
// itself, which the embedded fields read).
type hubbleLine struct {
	Flow *hubbleFlow `json:"flow"`
	hubbleFlow
	// Other events of the stream (agent and debug events, lost events).
	AgentEvent any `json:"agent_event"`
	DebugEvent any `json:"debug_event"`
	LostEvents any `json:"lost_events"`
}

// hubbleFlow holds the fields of flow.Flow (cilium/cilium api/v1/flow) that
// ringfence reads, under their protojson names.
type hubbleFlow struct {
	Verdict string `json:"verdict"`
	IP      *struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 *struct {
		TCP    *hubblePorts `json:"TCP"`
		UDP    *hubblePorts `json:"UDP"`
		SCTP   *hubblePorts `json:"SCTP"`
		ICMPv4 *struct{}    `json:"ICMPv4"`
		ICMPv6 *struct{}    `json:"ICMPv6"`
	} `json:"l4"`
	Source      *hubbleEndpoint `json:"source"`
	Destination *hubbleEndpoint `json:"destination"`
	// IsReply is a wrapped bool: absent when Hubble could not tell.
	IsReply *bool `json:"is_reply"`
	Reply   bool  `json:"reply"`
}

type hubblePorts struct {
	SourcePort      uint16 `json:"source_port"`
	DestinationPort uint16 `json:"destination_port"`
	Flags           *struct {
		SYN bool `json:"SYN"`
		ACK bool `json:"ACK"`
	} `json:"flags"`
}

type hubbleEndpoint struct {
	Namespace string `json:"namespace"`
	PodName   string `json:"pod_name"`
	Workloads []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"workloads"`
}

// hubbleView is what ringfence reads of one line, filled by hubbleScan or
// from the structs. Byte slices point into the line; a JSON null reads as
// absent, as it does into the structs when no field repeats.
type hubbleView struct {
	hasFlow   bool // a "flow" object
	event     bool // an agent_event, debug_event or lost_events
	flow, top hubbleFlowView
}

type hubbleFlowView struct {
	verdict             []byte
	ip                  bool
	src, dst            []byte
	l4                  bool
	tcp, udp, sctp      hubblePortsView
	icmpv4, icmpv6      bool
	source, destination hubbleEndpointView
	isReplySet, isReply bool
	reply               bool
}

type hubblePortsView struct {
	present      bool
	sport, dport uint16
	flags        bool
	syn, ack     bool
}

type hubbleEndpointView struct {
	namespace, pod []byte
	workload       bool // workloads has a first element
	wname, wkind   []byte
}

// hubbleState is what a Reader of Hubble lines keeps between lines.
type hubbleState struct {
	view hubbleView
	// names interns "namespace/pod" and "namespace/Kind/name": a stream
	// names the same pods again and again. Cleared when it grows past
	// maxHubbleNames, so memory stays bounded.
	names   map[string]string
	scratch []byte
}

const maxHubbleNames = 1 << 14

// hubble parses one JSON line.
func (r *Reader) hubble(line []byte, rec *Record) (bool, error) {
	if r.hubbleState == nil {
		r.hubbleState = &hubbleState{names: map[string]string{}}
	}
	h := r.hubbleState
	v := &h.view
	*v = hubbleView{}
	if !v.scan(line) {
		if err := v.decode(line); err != nil {
			return false, r.errorf(r.line, "not a Hubble flow (hubble observe -o json): %v", err)
		}
	}
	f := &v.flow
	if !v.hasFlow {
		if v.event {
			r.skip("Hubble events that are not flows (agent, debug, lost events)")
			return false, nil
		}
		f = &v.top
	}
	if !f.ip {
		r.skip("Hubble flows without IP addresses (L2 or L7-only events)")
		return false, nil
	}
	var ok bool
	if rec.Src, ok = parseAddr(f.src); !ok {
		return false, r.errorf(r.line, "flow.IP.source %q is not an IP address", f.src)
	}
	if rec.Dst, ok = parseAddr(f.dst); !ok {
		return false, r.errorf(r.line, "flow.IP.destination %q is not an IP address", f.dst)
	}
	var ports *hubblePortsView
	switch {
	case !f.l4:
		r.skip("Hubble flows without a layer-4 header")
		return false, nil
	case f.tcp.present:
		rec.Proto, ports = ProtoTCP, &f.tcp
	case f.udp.present:
		rec.Proto, ports = ProtoUDP, &f.udp
	case f.sctp.present:
		rec.Proto, ports = ProtoSCTP, &f.sctp
	case f.icmpv4:
		rec.Proto = ProtoICMP
	case f.icmpv6:
		rec.Proto = ProtoICMPv6
	default:
		r.skip("Hubble flows of other layer-4 protocols")
		return false, nil
	}
	if ports != nil {
		rec.SrcPort, rec.DstPort = ports.sport, ports.dport
	}
	switch string(f.verdict) {
	case "DROPPED", "ERROR":
		rec.Action = ActionReject
	case "FORWARDED", "TRANSLATED", "REDIRECTED", "TRACED", "AUDIT":
		rec.Action = ActionAccept
	}
	switch {
	case f.isReplySet && f.isReply, !f.isReplySet && f.reply:
		rec.Orientation = Reply
	case f.isReplySet:
		rec.Orientation = Request
	case ports != nil && ports.flags && ports.syn:
		rec.Orientation = Request
		if ports.ack {
			rec.Orientation = Reply
		}
	}
	rec.SrcPod, rec.SrcWorkload = h.endpointNames(&f.source)
	rec.DstPod, rec.DstWorkload = h.endpointNames(&f.destination)
	return true, nil
}

func (h *hubbleState) endpointNames(e *hubbleEndpointView) (pod, workload string) {
	if len(e.namespace) == 0 {
		return "", ""
	}
	if len(e.pod) != 0 {
		pod = h.name(e.namespace, e.pod)
	}
	if e.workload && len(e.wname) != 0 {
		workload = h.name(e.namespace, bytes.TrimSpace(e.wkind), e.wname)
	}
	return pod, workload
}

// name returns the parts joined with slashes, interned.
func (h *hubbleState) name(parts ...[]byte) string {
	b := h.scratch[:0]
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	h.scratch = b
	if s, ok := h.names[string(b)]; ok {
		return s
	}
	if len(h.names) >= maxHubbleNames {
		clear(h.names)
	}
	s := string(b)
	h.names[s] = s
	return s
}

// decode reads a line with encoding/json, for the lines hubbleScan refuses.
func (v *hubbleView) decode(line []byte) error {
	var l hubbleLine
	*v = hubbleView{}
	if err := json.Unmarshal(line, &l); err != nil {
		return err
	}
	v.hasFlow = l.Flow != nil
	v.event = l.AgentEvent != nil || l.DebugEvent != nil || l.LostEvents != nil
	if l.Flow != nil {
		v.flow.from(l.Flow)
	}
	v.top.from(&l.hubbleFlow)
	return nil
}

func (v *hubbleFlowView) from(f *hubbleFlow) {
	v.verdict = []byte(f.Verdict)
	if f.IP != nil {
		v.ip, v.src, v.dst = true, []byte(f.IP.Source), []byte(f.IP.Destination)
	}
	if f.L4 != nil {
		v.l4 = true
		v.tcp.from(f.L4.TCP)
		v.udp.from(f.L4.UDP)
		v.sctp.from(f.L4.SCTP)
		v.icmpv4, v.icmpv6 = f.L4.ICMPv4 != nil, f.L4.ICMPv6 != nil
	}
	v.source.from(f.Source)
	v.destination.from(f.Destination)
	if f.IsReply != nil {
		v.isReplySet, v.isReply = true, *f.IsReply
	}
	v.reply = f.Reply
}

func (v *hubblePortsView) from(p *hubblePorts) {
	if p == nil {
		return
	}
	*v = hubblePortsView{present: true, sport: p.SourcePort, dport: p.DestinationPort}
	if p.Flags != nil {
		v.flags, v.syn, v.ack = true, p.Flags.SYN, p.Flags.ACK
	}
}

func (v *hubbleEndpointView) from(e *hubbleEndpoint) {
	if e == nil {
		return
	}
	v.namespace, v.pod = []byte(e.Namespace), []byte(e.PodName)
	if len(e.Workloads) > 0 {
		v.workload, v.wname, v.wkind = true, []byte(e.Workloads[0].Name), []byte(e.Workloads[0].Kind)
	}
}

// scan reads a line in one pass; false means it is not sure encoding/json
// would read the line the same way (or at all), and v is then undefined.
func (v *hubbleView) scan(line []byte) bool {
	s := hubbleScanner{b: line}
	s.ws()
	if !s.peek('{') {
		return false
	}
	var seen uint16
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			break
		}
		var bit uint16
		switch string(key) {
		case "flow":
			bit = 1 << 0
			if !s.null() {
				v.hasFlow = true
				ok = s.flow(&v.flow)
			}
		case "agent_event":
			bit = 1 << 1
			ok = s.event(&v.event)
		case "debug_event":
			bit = 1 << 2
			ok = s.event(&v.event)
		case "lost_events":
			bit = 1 << 3
			ok = s.event(&v.event)
		default:
			var fb uint16
			fb, ok = s.flowMember(key, &v.top)
			bit = fb << 4
			if bit == 0 {
				ok = ok && s.unknown(key, "flow", "agent_event", "debug_event", "lost_events")
			}
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	s.ws()
	return s.i == len(s.b)
}

// hubbleScanner walks one line; every method returns false (refusing the
// line) on anything it does not take.
type hubbleScanner struct {
	b []byte
	i int
	// inAny is set while skipping a value encoding/json decodes into an
	// interface (the events), where it parses numbers as float64 and fails
	// on those out of range.
	inAny bool
}

// hubbleMaxDepth bounds the nesting the scanner follows; deeper lines go to
// encoding/json, which allows 10,000 levels.
const hubbleMaxDepth = 100

// plain marks the bytes a JSON string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *hubbleScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek tells whether the next byte is c.
func (s *hubbleScanner) peek(c byte) bool {
	return s.i < len(s.b) && s.b[s.i] == c
}

// null consumes a null if one comes next.
func (s *hubbleScanner) null() bool {
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// member reads the key of an object's next member (the n-th) and the colon
// after it; at the first member the scanner is at the opening brace. done
// is true at the closing brace, which is consumed.
func (s *hubbleScanner) member(n int) (key []byte, done, ok bool) {
	if n == 0 {
		s.i++ // the brace
		s.ws()
		if s.peek('}') {
			s.i++
			return nil, true, true
		}
	} else {
		s.ws()
		if s.peek('}') {
			s.i++
			return nil, true, true
		}
		if !s.peek(',') {
			return nil, false, false
		}
		s.i++
		s.ws()
	}
	if !s.peek('"') {
		return nil, false, false
	}
	key, esc, ok := s.str()
	if !ok || esc {
		return nil, false, false
	}
	for _, c := range key {
		if c >= utf8.RuneSelf {
			// It might fold to a field's name.
			return nil, false, false
		}
	}
	s.ws()
	if !s.peek(':') {
		return nil, false, false
	}
	s.i++
	s.ws()
	return key, false, true
}

// unknown skips the value of a member ringfence does not read, refusing
// keys that encoding/json would match to one of the names it does.
func (s *hubbleScanner) unknown(key []byte, names ...string) bool {
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return false
		}
	}
	return s.skip(0)
}

// event reads an agent, debug or lost event: any value but null.
func (s *hubbleScanner) event(event *bool) bool {
	if s.null() {
		return true
	}
	*event = true
	s.inAny = true
	ok := s.skip(0)
	s.inAny = false
	return ok
}

// flow reads a flow object.
func (s *hubbleScanner) flow(f *hubbleFlowView) bool {
	if !s.peek('{') {
		return false
	}
	var seen uint16
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		bit, ok := s.flowMember(key, f)
		if bit == 0 && ok {
			ok = s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// flowMember reads the value of a flow's member if ringfence reads it,
// returning its bit (0 for other keys, whose value is left unread).
func (s *hubbleScanner) flowMember(key []byte, f *hubbleFlowView) (uint16, bool) {
	switch string(key) {
	case "verdict":
		return 1 << 0, s.text(&f.verdict)
	case "IP":
		if s.null() {
			return 1 << 1, true
		}
		f.ip = true
		return 1 << 1, s.ip(f)
	case "l4":
		if s.null() {
			return 1 << 2, true
		}
		f.l4 = true
		return 1 << 2, s.l4(f)
	case "source":
		return 1 << 3, s.endpoint(&f.source)
	case "destination":
		return 1 << 4, s.endpoint(&f.destination)
	case "is_reply":
		if s.null() {
			return 1 << 5, true
		}
		f.isReplySet = true
		return 1 << 5, s.boolean(&f.isReply)
	case "reply":
		return 1 << 6, s.boolean(&f.reply)
	}
	for _, n := range [...]string{"verdict", "IP", "l4", "source", "destination", "is_reply", "reply"} {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return 0, false
		}
	}
	return 0, true
}

func (s *hubbleScanner) ip(f *hubbleFlowView) bool {
	if !s.peek('{') {
		return false
	}
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "source":
			bit, ok = 1<<0, s.text(&f.src)
		case "destination":
			bit, ok = 1<<1, s.text(&f.dst)
		default:
			ok = s.unknown(key, "source", "destination")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (s *hubbleScanner) l4(f *hubbleFlowView) bool {
	if !s.peek('{') {
		return false
	}
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "TCP":
			bit, ok = 1<<0, s.ports(&f.tcp)
		case "UDP":
			bit, ok = 1<<1, s.ports(&f.udp)
		case "SCTP":
			bit, ok = 1<<2, s.ports(&f.sctp)
		case "ICMPv4":
			bit, ok = 1<<3, s.present(&f.icmpv4)
		case "ICMPv6":
			bit, ok = 1<<4, s.present(&f.icmpv6)
		default:
			ok = s.unknown(key, "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// present reads an object whose content does not matter, or null.
func (s *hubbleScanner) present(p *bool) bool {
	if s.null() {
		return true
	}
	*p = true
	return s.peek('{') && s.skip(0)
}

func (s *hubbleScanner) ports(p *hubblePortsView) bool {
	if s.null() {
		return true
	}
	if !s.peek('{') {
		return false
	}
	p.present = true
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "source_port":
			bit, ok = 1<<0, s.port(&p.sport)
		case "destination_port":
			bit, ok = 1<<1, s.port(&p.dport)
		case "flags":
			bit, ok = 1<<2, s.flags(p)
		default:
			ok = s.unknown(key, "source_port", "destination_port", "flags")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (s *hubbleScanner) flags(p *hubblePortsView) bool {
	if s.null() {
		return true
	}
	if !s.peek('{') {
		return false
	}
	p.flags = true
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "SYN":
			bit, ok = 1<<0, s.boolean(&p.syn)
		case "ACK":
			bit, ok = 1<<1, s.boolean(&p.ack)
		default:
			ok = s.unknown(key, "SYN", "ACK")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (s *hubbleScanner) endpoint(e *hubbleEndpointView) bool {
	if s.null() {
		return true
	}
	if !s.peek('{') {
		return false
	}
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "namespace":
			bit, ok = 1<<0, s.text(&e.namespace)
		case "pod_name":
			bit, ok = 1<<1, s.text(&e.pod)
		case "workloads":
			bit, ok = 1<<2, s.workloads(e)
		default:
			ok = s.unknown(key, "namespace", "pod_name", "workloads")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// workloads reads an array of workload objects, keeping the first.
func (s *hubbleScanner) workloads(e *hubbleEndpointView) bool {
	if s.null() {
		return true
	}
	if !s.peek('[') {
		return false
	}
	s.i++
	s.ws()
	if s.peek(']') {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		var name, kind []byte
		if !s.workload(&name, &kind) {
			return false
		}
		if n == 0 {
			e.workload, e.wname, e.wkind = true, name, kind
		}
		s.ws()
		switch {
		case s.peek(']'):
			s.i++
			return true
		case !s.peek(','):
			return false
		}
		s.i++
		s.ws()
	}
}

func (s *hubbleScanner) workload(name, kind *[]byte) bool {
	if !s.peek('{') {
		return false
	}
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "name":
			bit, ok = 1<<0, s.text(name)
		case "kind":
			bit, ok = 1<<1, s.text(kind)
		default:
			ok = s.unknown(key, "name", "kind")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// text reads a string ringfence uses, or null. Escapes and invalid UTF-8
// (which encoding/json replaces) are left to encoding/json.
func (s *hubbleScanner) text(v *[]byte) bool {
	if s.null() {
		return true
	}
	if !s.peek('"') {
		return false
	}
	b, esc, ok := s.str()
	*v = b
	return ok && !esc && utf8.Valid(b)
}

// boolean reads true, false or null.
func (s *hubbleScanner) boolean(v *bool) bool {
	switch {
	case s.null():
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		*v = true
		s.i += 4
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		*v = false
		s.i += 5
	default:
		return false
	}
	return true
}

// port reads a number that fits in a uint16 written in plain digits, or
// null; anything else (a fraction, an exponent, a sign) is left to
// encoding/json.
func (s *hubbleScanner) port(v *uint16) bool {
	if s.null() {
		return true
	}
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 6 {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 5 || n > 65535 || (digits > 1 && s.b[start] == '0') {
		return false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return false
		}
	}
	*v = uint16(n)
	return true
}

// str reads the string whose opening quote is at the scanner, returning its bytes between the quotes
// and whether it has escapes.
func (s *hubbleScanner) str() (b []byte, esc, ok bool) {
	start := s.i + 1
	i := start
	for {
		for i < len(s.b) && plain[s.b[i]] {
			i++
		}
		if i >= len(s.b) {
			return nil, false, false
		}
		switch s.b[i] {
		case '"':
			s.i = i + 1
			return s.b[start:i], esc, true
		case '\\':
			esc = true
			if i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.b) {
					return nil, false, false
				}
				for _, c := range s.b[i+2 : i+6] {
					if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
						return nil, false, false
					}
				}
				i += 6
			default:
				return nil, false, false
			}
		default: // a control character
			return nil, false, false
		}
	}
}

// skip validates and skips any value.
func (s *hubbleScanner) skip(depth int) bool {
	if s.i >= len(s.b) || depth > hubbleMaxDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '{':
		for n := 0; ; n++ {
			_, done, ok := s.member(n)
			if !ok {
				return false
			}
			if done {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		s.i++
		s.ws()
		if s.peek(']') {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch {
			case s.peek(']'):
				s.i++
				return true
			case !s.peek(','):
				return false
			}
			s.i++
			s.ws()
		}
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

func (s *hubbleScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// number skips a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *hubbleScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if s.inAny {
			return false
		}
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	if s.inAny && i-s.i > 100 {
		return false
	}
	s.i = i
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
