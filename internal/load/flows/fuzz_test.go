package flows

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
)

// fuzzRead reads every record of data in a format and checks what any
// input must give: records with valid addresses, lines that grow, and
// errors positioned in the input, never a panic.
func fuzzRead(t *testing.T, data []byte, format Format) {
	r, err := Open(bytes.NewReader(data), "fuzz", format)
	if err != nil {
		var de *document.Error
		if !errors.As(err, &de) && format != "" {
			t.Fatalf("error without a position: %v", err)
		}
		return
	}
	var rec Record
	last := 0
	for i := 0; i < 100000; i++ {
		ok, err := r.Next(&rec)
		if err != nil {
			var de *document.Error
			if !errors.As(err, &de) || de.Source.File != "fuzz" || de.Source.Line == 0 {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		if !ok {
			return
		}
		if !rec.Src.IsValid() || !rec.Dst.IsValid() || rec.Src.Is4In6() || rec.Dst.Is4In6() {
			t.Fatalf("record with invalid or mapped addresses: %+v", rec)
		}
		if rec.Line <= last {
			t.Fatalf("record line %d after %d", rec.Line, last)
		}
		last = rec.Line
	}
}

func FuzzVPC(f *testing.F) {
	f.Add([]byte("2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 ACCEPT OK\n"))
	f.Add([]byte("version srcaddr dstaddr pkt-srcaddr pkt-dstaddr dstport protocol tcp-flags\n5 10.0.0.1 10.0.0.2 - 1.2.3.4 443 6 18\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatVPC) })
}

// FuzzHubble also wants the scanner to read every input as encoding/json
// (the decoder kept as the oracle) does, and the flat scanner every line it
// takes as the recursive descent does.
func FuzzHubble(f *testing.F) {
	f.Add([]byte(hubbleLines))
	for _, line := range hubbleSeeds {
		f.Add([]byte(line + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, FormatHubble)
		sameAsOracle(t, data)
		for _, line := range bytes.Split(data, []byte("\n")) {
			flatMatchesDescent(t, line)
		}
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("src,dst,protocol,port,count\n10.0.0.1,10.0.0.2,TCP,443,3\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatCSV) })
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 ACCEPT OK\n"))
	f.Add([]byte("src,dst,protocol,port\n::1,::2,UDP,53\n"))
	f.Add([]byte("2014-12-14T04:06:50.000Z 2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 ACCEPT OK\n"))
	f.Add([]byte("\"version\",\"interface_id\",\"srcaddr\",\"dstaddr\",\"srcport\",\"dstport\",\"protocol\",\"log_status\"\n\"2\",\"eni-1\",\"10.0.0.1\",\"10.0.0.2\",\"1\",\"443\",\"6\",\"OK\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatAuto) })
}

func FuzzCloudWatch(f *testing.F) {
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1418530010000,"message":"2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 ACCEPT OK"}]}`))
	f.Add([]byte("{\n  \"events\": [\n    {\"timestamp\": 1, \"message\": \"2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 REJECT OK\"}\n  ]\n}\n"))
	f.Add([]byte(`[{"message":"2 1 eni-1 - - - - - - - 1 1 - NODATA"}]`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatCloudWatch) })
}
