package flows

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// hubbleRun is everything a reader says about an input.
type hubbleRun struct {
	Records []Record
	Err     string
	Skipped []Skip
}

// readHubble reads data as Hubble lines with the reader's decoder, or with
// the encoding/json oracle.
func readHubble(data []byte, oracle bool) hubbleRun {
	var run hubbleRun
	r, err := Open(bytes.NewReader(data), "flows.json", FormatHubble)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	if oracle {
		r.next = (*Reader).hubbleOracle
	}
	var rec Record
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			run.Err = err.Error()
			break
		}
		if !ok {
			break
		}
		run.Records = append(run.Records, rec)
	}
	run.Skipped = r.Skipped()
	return run
}

// sameAsOracle fails unless the scanner and encoding/json read data alike.
func sameAsOracle(t *testing.T, data []byte) {
	t.Helper()
	got, want := readHubble(data, false), readHubble(data, true)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q\nscanner:       %+v\nencoding/json: %+v", data, got, want)
	}
}

// hubbleSeeds are lines in the shapes the scanner must take, and some it
// must leave to encoding/json.
var hubbleSeeds = append(strings.Split(strings.TrimSpace(hubbleLines), "\n"),
	// The older form: the flow at the top level.
	`{"verdict":"DROPPED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"SCTP":{"source_port":1,"destination_port":2}},"reply":true}`,
	`{"time":"x","verdict":"AUDIT","IP":{"source":"::ffff:10.0.0.1","destination":"10.0.0.2"},"l4":{"ICMPv4":{"type":8}},"source":{"namespace":"a","pod_name":"p"}}`,
	// Events, empty and null ones.
	`{"agent_event":{"type":"ENDPOINT_CREATED","endpoint_regenerate":{"id":1,"labels":["a","b"]}},"node_name":"n"}`,
	`{"debug_event":{"type":"DBG_CT_VERDICT","arg1":1.5e3}}`,
	`{"agent_event":null,"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":53}}}`,
	`{"lost_events":{"num_events_lost":123456789012345678901234567890}}`,
	`{"lost_events":{"num_events_lost":1e999}}`,
	// Wrapped and plain reply flags, flags without SYN, null members.
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":443,"destination_port":40000,"flags":{"ACK":true,"PSH":true}}},"reply":true}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"flags":{"SYN":true,"ACK":false}},"UDP":{"destination_port":9}},"is_reply":null,"reply":false}}`,
	`{"flow":{"verdict":null,"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":null,"UDP":{"source_port":null,"destination_port":0,"flags":null}},"source":null,"destination":{"namespace":"ns","workloads":null}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"ICMPv6":{},"ICMPv4":null,"GRE":{}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{}}}`,
	`{"flow":null,"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":65535}}}`,
	// Workloads: several, empty, kinds with spaces.
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},"source":{"namespace":"ns","pod_name":"p-1","workloads":[{"name":"w","kind":" Deployment "},{"name":"v","kind":"ReplicaSet"}]},"destination":{"namespace":"","pod_name":"q","workloads":[]}}}`,
	// Escapes and non-ASCII in strings ringfence reads and in others.
	`{"flow":{"verdict":"FORWARD\u0045D","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},"source":{"namespace":"n\u00e9","pod_name":"p\/q","workloads":[{"name":"w\ud83d\ude00","kind":"K"}]},"Summary":"\"quoted\" \\ \b\f\n\r\t \u003c"}}`,
	"{\"flow\":{\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"l4\":{\"TCP\":{\"destination_port\":80}},\"source\":{\"namespace\":\"caf\xc3\xa9\",\"pod_name\":\"bad\xff\"}}}",
	// Keys encoding/json matches without regard to case, repeated keys.
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"L4":{"tcp":{"Destination_Port":80}},"Verdict":"DROPPED"}}`,
	`{"FLOW":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":53}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1"},"IP":{"destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":53}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":53}},"source":{"namespace":"a","namespace":"b","pod_name":"p"}}}`,
	`{"flow":{"\u0049P":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":53}}}}`,
	"{\"flow\":{\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"l4\":{\"UDP\":{\"destination_port\":53}},\"source\":{\"namespace\":\"a\",\"pod_name\":\"p\",\"workloads\":[{\"\xe2\x84\xaaind\":\"Job\",\"name\":\"j\"}]}}}",
	// Wrong types, ports out of range, numbers JSON does not allow.
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":65536}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80.0}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":-1}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":"80"}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":080}}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"ICMPv4":[]}},"is_reply":"yes"}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}}},"verdict":7}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},"source":{"namespace":"a","workloads":[null,{"name":"w"}]}}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},"x":[1,-0,0.5,-2E+3,1e-7,true,false,null,{"a":[[]]}]}}`,
	// protojson's camelCase names, alone, mixed and repeated across
	// spellings; node status lines.
	`{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"sourcePort":40000,"destinationPort":50051,"flags":{"SYN":true}}},"source":{"namespace":"a","podName":"p"},"isReply":false}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"source_port":53,"destinationPort":40000}},"isReply":true}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destination_port":0,"destinationPort":53}},"is_reply":null,"isReply":true}}`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"DestinationPort":53}},"source":{"namespace":"a","pod_name":"p","podName":"q"}}}`,
	`{"nodeStatus":{"stateChange":"NODE_CONNECTED","nodeNames":["n"]},"nodeName":"n"}`,
	`{"node_status":{"state_change":"NODE_ERROR","node_names":["n"],"message":"x"},"node_name":"n"}`,
	// Broken lines.
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}}}} trailing`,
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},}}`,
	"{\"flow\":{\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"l4\":{\"TCP\":{\"destination_port\":80}},\"x\":\"tab\there\"}}",
	`{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":80}},"x":"\x"}}`,
	`null`, `[]`, `"flow"`, `{}`, ` { "flow" : { } } `,
)

// TestHubbleScannerMatchesEncodingJSON reads every seed line, and random
// perturbations of them, with the scanner and with encoding/json, and
// wants the same records, errors and skipped lines. It also checks that the
// perturbed lines exercise both the scanner and the fallback.
func TestHubbleScannerMatchesEncodingJSON(t *testing.T) {
	for _, line := range hubbleSeeds {
		sameAsOracle(t, []byte(line+"\n"))
	}
	sameAsOracle(t, []byte(strings.Join(hubbleSeeds[:len(hubbleSeeds)-20], "\n")))

	n := 50000
	if testing.Short() {
		n = 20000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var taken, refused int
	for i := range n {
		line := perturb(rng, []byte(hubbleSeeds[i%len(hubbleSeeds)]))
		if bytes.ContainsAny(line, "\r\n") {
			continue
		}
		var v hubbleView
		if v.scan(line, new([]uint64)) {
			taken++
		} else {
			refused++
		}
		sameAsOracle(t, append(line, '\n'))
	}
	t.Logf("%d perturbed lines: the scanner took %d, encoding/json read %d", taken+refused, taken, refused)
	if taken < n/20 || refused < n/20 {
		t.Errorf("the scanner took %d and refused %d lines: the perturbations do not exercise both", taken, refused)
	}
}

// perturb changes a line a few times in ways that keep it close to JSON.
func perturb(rng *rand.Rand, line []byte) []byte {
	tokens := []string{"null", "true", "false", "0", "65535", "65536", "-1", "1.5", "1e2", "007", `""`, `"x"`, "{}", "[]", `"\u0041"`, `"\\"`, `"10.0.0.1"`, `"fd00::1"`, ",", ":", "{", "}", "[", "]", `"`, `\`, " ", "\t", "\xff", "\xe2\x84\xaa"}
	keys := []string{"flow", "verdict", "IP", "l4", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", "source", "destination", "source_port", "destination_port", "flags", "SYN", "ACK", "namespace", "pod_name", "workloads", "name", "kind", "is_reply", "reply", "agent_event", "debug_event", "lost_events"}
	b := append([]byte(nil), line...)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			b = append(b, '{')
		}
		i := rng.IntN(len(b))
		switch rng.IntN(8) {
		case 0: // delete a span
			j := min(len(b), i+1+rng.IntN(8))
			b = append(b[:i], b[j:]...)
		case 1: // insert a token
			b = append(b[:i], append([]byte(tokens[rng.IntN(len(tokens))]), b[i:]...)...)
		case 2: // replace a value with a token
			if j := bytes.IndexByte(b[i:], ':'); j >= 0 {
				s := i + j + 1
				e := s
				for e < len(b) && b[e] != ',' && b[e] != '}' {
					e++
				}
				b = append(b[:s], append([]byte(tokens[rng.IntN(len(tokens))]), b[e:]...)...)
			}
		case 3: // change the case of a letter
			if c := b[i]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				b[i] ^= 0x20
			}
		case 4: // repeat a member
			if j := bytes.IndexByte(b[i:], ','); j >= 0 {
				s := i + j
				e := s + 1
				for e < len(b) && b[e] != ',' && b[e] != '}' {
					e++
				}
				b = append(b[:e], append(append([]byte(nil), b[s:e]...), b[e:]...)...)
			}
		case 5: // add a member
			if j := bytes.IndexByte(b[i:], '{'); j >= 0 {
				s := i + j + 1
				m := fmt.Sprintf("%q:%s,", keys[rng.IntN(len(keys))], tokens[rng.IntN(14)])
				b = append(b[:s], append([]byte(m), b[s:]...)...)
			}
		case 6: // replace a byte
			b[i] = byte(rng.IntN(256))
		case 7: // cut the line short
			b = b[:i]
		}
	}
	return b
}

// TestHubbleNoAllocation checks that reading a Hubble flow the scanner
// takes allocates nothing once its pods' names are known.
func TestHubbleNoAllocation(t *testing.T) {
	line := strings.SplitN(hubbleLines, "\n", 2)[0] + "\n"
	r, err := Open(strings.NewReader(strings.Repeat(line, 1000)), "generated", FormatHubble)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if n := testing.AllocsPerRun(500, func() {
		if ok, err := r.Next(&rec); !ok || err != nil {
			t.Fatal("input ended early", err)
		}
	}); n != 0 {
		t.Errorf("Next allocates %v times a record", n)
	}
	if rec.SrcPod != "ml-workloads/text-embed-finetune-master-0" || rec.DstWorkload != "features/Deployment/feature-api" {
		t.Errorf("record = %+v", rec)
	}
}

// flatMatchesDescent wants the flat scanner, where it takes a line, to read
// it as the recursive descent does; it reports whether flat took it.
func flatMatchesDescent(t *testing.T, line []byte) bool {
	t.Helper()
	var quotes []uint64
	s := newHubbleScanner(line, &quotes)
	if !s.plain {
		return false
	}
	var flat, desc hubbleView
	if !flat.flat(&s) {
		return false
	}
	s = newHubbleScanner(line, &quotes)
	if !desc.descend(&s) {
		t.Errorf("flat took a line the descent refuses: %q", line)
	} else if !reflect.DeepEqual(flat, desc) {
		t.Errorf("flat read %q as\n%+v\nthe descent as\n%+v", line, flat, desc)
	}
	return true
}

// TestHubbleFlatMatchesDescent: the single-loop scanner of compact lines
// takes the lines hubble prints and reads every line it takes, perturbed
// seeds included, as the recursive descent does (which in turn matches
// encoding/json, TestHubbleScannerMatchesEncodingJSON).
func TestHubbleFlatMatchesDescent(t *testing.T) {
	for i, line := range strings.Split(strings.TrimSpace(hubbleLines), "\n") {
		if !flatMatchesDescent(t, []byte(line)) {
			t.Errorf("flat refused line %d of hubbleLines", i+1)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var taken int
	const n = 20000
	for i := range n {
		if flatMatchesDescent(t, perturb(rng, []byte(hubbleSeeds[i%len(hubbleSeeds)]))) {
			taken++
		}
	}
	t.Logf("flat took %d of %d perturbed lines", taken, n)
	if taken < n/20 {
		t.Errorf("flat took only %d of %d perturbed lines", taken, n)
	}
}
