package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
)

// The hand-written reach JSON must say exactly what encoding/json would.
func TestReachJSONMatchesEncodingJSON(t *testing.T) {
	sg := netset.PortRange(netset.TCP, 443, 443)
	r := &engine.Result{
		Peers: []*engine.Peer{{ID: "a/b", Kind: "Deployment", Namespace: "a", Name: "b"}, {ID: "10.0.0.0/8", Kind: engine.KindExternal, Name: "10.0.0.0/8", CIDRs: []string{"10.0.0.0/8"}}},
		Connections: []engine.Connection{
			{Src: "a/b", Dst: "10.0.0.0/8", Allow: sg, Layers: &engine.Layers{NetworkPolicy: netset.AllPorts(), SecurityGroups: &sg}},
			{Src: "10.0.0.0/8", Dst: "a/b", Allow: netset.AllOf(netset.UDP).Union(netset.PortRange(netset.SCTP, 1, 9)), Layers: &engine.Layers{NetworkPolicy: netset.AllPorts()}},
			{Src: "a/\"b\"", Dst: "a/b", Allow: netset.AllPorts()},
		},
		Self:  []engine.Connection{{Src: "a/b", Dst: "a/b", Allow: netset.AllPorts()}},
		Notes: []string{`a <note> & "quoted"`},
	}
	var fast, std bytes.Buffer
	if err := ReachJSON(&fast, r); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&std, r); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(fast.Bytes(), &a); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, fast.String())
	}
	if err := json.Unmarshal(std.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("ReachJSON:\n%s\nencoding/json:\n%s", fast.String(), std.String())
	}
}

func TestAuditTableColour(t *testing.T) {
	r := NewAuditReport([]check.Finding{{Rule: "RF009", Severity: check.Critical, Message: "m"}}, "1")
	var plain, coloured bytes.Buffer
	AuditTable(&plain, r)
	r.Color = true
	AuditTable(&coloured, r)
	if bytes.Contains(plain.Bytes(), []byte("\033[")) || !bytes.Contains(coloured.Bytes(), []byte("\033[1;31mCRITICAL\033[0m")) {
		t.Errorf("plain %q, coloured %q", plain.String(), coloured.String())
	}
}

// appendQuote is strconv.AppendQuote with a shortcut for printable ASCII:
// the same bytes for any string.
func FuzzAppendQuote(f *testing.F) {
	for _, s := range []string{"", "ns/app", `a/"b"`, `back\slash`, "tab\there", "del\x7f", "ünïcode/ß", "\xff\xfe", "~ !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendQuote([]byte("x"), s), strconv.AppendQuote([]byte("x"), s); !bytes.Equal(got, want) {
			t.Errorf("appendQuote(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendQuoteEveryByte(t *testing.T) {
	for c := range 256 {
		s := "a" + string([]byte{byte(c)}) + "z"
		if got, want := appendQuote(nil, s), strconv.AppendQuote(nil, s); !bytes.Equal(got, want) {
			t.Errorf("byte %#x: appendQuote %s, strconv %s", c, got, want)
		}
	}
}
