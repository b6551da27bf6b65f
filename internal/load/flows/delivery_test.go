package flows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
)

// Records as the AWS VPC Flow Logs user guide prints them (default format).
const (
	docAccept = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	docReject = "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
	docNoData = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
)

func TestCloudWatchSubscriptionPayload(t *testing.T) {
	// What a subscriber receives once base64-decoded and gunzipped.
	in := `{"messageType":"DATA_MESSAGE","owner":"123456789010","logGroup":"vpc-flow-logs","logStream":"eni-1235b8ca123456789-all","subscriptionFilters":["to-lambda"],"logEvents":[` +
		`{"id":"31953106606966983378809025079804211143289615424298221568","timestamp":1418530010000,"message":"` + docAccept + `"},` +
		`{"id":"31953106606966983378809025079804211143289615424298221569","timestamp":1418530010000,"message":"` + docReject + `"},` +
		`{"id":"31953106606966983378809025079804211143289615424298221570","timestamp":1431280876000,"message":"` + docNoData + `"}]}`
	recs, r, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatCloudWatch || len(recs) != 2 || recs[0].DstPort != 22 || recs[1].Action != ActionReject || len(r.Skipped()) != 1 {
		t.Errorf("format %s, records %+v, skipped %+v", r.Format(), recs, r.Skipped())
	}
	_, _, err = readAll(t, `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`)
	if err == nil {
		t.Errorf("a control message read as flows")
	}
}

func TestCloudWatchFilterLogEvents(t *testing.T) {
	// aws logs filter-log-events --log-group-name vpc-flow-logs (pretty JSON).
	in := `{
    "events": [
        {
            "logStreamName": "eni-1235b8ca123456789-all",
            "timestamp": 1418530010000,
            "message": "` + docAccept + `",
            "ingestionTime": 1418530100000,
            "eventId": "31953106606966983378809025079804211143289615424298221568"
        },
        {
            "logStreamName": "eni-1235b8ca123456789-all",
            "timestamp": 1418530010000,
            "message": "2 123456789010 eni-1235b8ca123456789 172.31.16.139 not-an-address 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            "ingestionTime": 1418530100000,
            "eventId": "31953106606966983378809025079804211143289615424298221569"
        }
    ],
    "searchedLogStreams": [{"logStreamName": "eni-1235b8ca123456789-all", "searchedCompletely": true}]
}
`
	recs, _, err := readAll(t, in)
	var de *document.Error
	if len(recs) != 1 || !errors.As(err, &de) || de.Source.Line != 10 || !strings.Contains(de.Msg, `dstaddr "not-an-address"`) {
		t.Errorf("records %+v, error %v; want one record, then an error at line 10 (where the event starts)", recs, err)
	}
}

func TestCloudWatchExportLines(t *testing.T) {
	// A CloudWatch Logs export to S3 puts each event's time before it.
	in := "2014-12-14T04:06:50.000Z " + docAccept + "\n2014-12-14T04:06:50.000Z " + docReject + "\n"
	recs, r, err := readAll(t, in)
	if err != nil || r.Format() != FormatVPC || len(recs) != 2 || recs[0].Src.String() != "172.31.16.139" {
		t.Errorf("records %+v, err %v", recs, err)
	}
}

func TestAthenaCSV(t *testing.T) {
	// An Athena query's result over the flow-log table AWS documents:
	// every value quoted, a row per direction.
	in := `"version","account_id","interface_id","srcaddr","dstaddr","srcport","dstport","protocol","packets","bytes","start","end","action","log_status"
"2","123456789010","eni-1235b8ca123456789","172.31.16.139","172.31.16.21","20641","22","6","20","4249","1418530010","1418530070","ACCEPT","OK"
"2","123456789010","eni-1235b8ca123456789","172.31.16.21","172.31.16.139","22","20641","6","20","4249","1418530010","1418530070","ACCEPT","OK"
"2","123456789010","eni-1235b8ca123456789","","","","","","","","1431280876","1431280934","","NODATA"
`
	recs, r, err := readAll(t, in)
	if err != nil || len(recs) != 2 || len(r.Skipped()) != 1 {
		t.Fatalf("records %+v, skipped %+v, err %v", recs, r.Skipped(), err)
	}
	for _, rec := range recs {
		if rec.Orientation != Unoriented {
			t.Errorf("a flow-log row read as a connection's opener: %+v", rec)
		}
	}
	if _, _, err := readAll(t, "\"srcaddr\",\"total\"\n\"172.31.16.139\",\"3\"\n"); err == nil {
		t.Errorf("an Athena result without flow columns was read")
	}
}

func TestParquetRefused(t *testing.T) {
	_, _, err := readAll(t, "PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00")
	if err == nil || !strings.Contains(err.Error(), "Parquet") || !strings.Contains(err.Error(), "CSV") {
		t.Errorf("err = %v", err)
	}
}

func TestRepeatedHeader(t *testing.T) {
	// zcat of two files delivered to S3: each starts with its header.
	header := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	in := header + "\n" + docAccept + "\n" + header + "\n" + docReject + "\n"
	recs, r, err := readAll(t, in)
	if err != nil || len(recs) != 2 || r.Skipped()[0].Count != 1 {
		t.Errorf("records %+v, skipped %+v, err %v", recs, r.Skipped(), err)
	}
}

func TestWindow(t *testing.T) {
	in := docAccept + "\n" + strings.Replace(docReject, "1418530010 1418530070", "1418540010 1418540070", 1) + "\n"
	r, err := Open(strings.NewReader(in), "w", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetWindow(time.Unix(1418540000, 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	var rec Record
	var n int
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		n++
		if rec.Action != ActionReject {
			t.Errorf("kept %+v", rec)
		}
	}
	if n != 1 || r.Skipped()[0].Reason != "records outside --since/--until" {
		t.Errorf("kept %d, skipped %+v", n, r.Skipped())
	}
	h, _ := Open(strings.NewReader(`{"flow":{}}`), "h", FormatAuto)
	if err := h.SetWindow(time.Unix(1, 0), time.Time{}); err == nil {
		t.Errorf("a window on Hubble flows was accepted")
	}
}

// TestHubbleCamelCase: the same flow in the proto names `hubble observe -o
// json` prints and in the camelCase protojson writes by default (-o
// jsonpb, other protojson encoders) reads the same, ports included; node
// status lines are events, not flows.
func TestHubbleCamelCase(t *testing.T) {
	snake := `{"flow":{"time":"2026-08-22T15:40:11.123Z","verdict":"FORWARDED","IP":{"source":"10.0.34.112","destination":"10.0.33.40","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":50930,"destination_port":8080,"flags":{"SYN":true}}},"source":{"namespace":"ml-workloads","pod_name":"text-embed-finetune-worker-0","workloads":[{"name":"text-embed-finetune","kind":"PyTorchJob"}]},"destination":{"namespace":"features","pod_name":"feature-api-7c9d5b6f48-t5n9c"},"traffic_direction":"EGRESS","is_reply":false},"node_name":"ip-10-0-34-201.ec2.internal"}`
	camel := `{"flow":{"time":"2026-08-22T15:40:11.123Z","verdict":"FORWARDED","IP":{"source":"10.0.34.112","destination":"10.0.33.40","ipVersion":"IPv4"},"l4":{"TCP":{"sourcePort":50930,"destinationPort":8080,"flags":{"SYN":true}}},"source":{"namespace":"ml-workloads","podName":"text-embed-finetune-worker-0","workloads":[{"name":"text-embed-finetune","kind":"PyTorchJob"}]},"destination":{"namespace":"features","podName":"feature-api-7c9d5b6f48-t5n9c"},"trafficDirection":"EGRESS","isReply":false},"nodeName":"ip-10-0-34-201.ec2.internal"}`
	node := `{"nodeStatus":{"stateChange":"NODE_CONNECTED","nodeNames":["ip-10-0-34-201.ec2.internal"],"message":"Connected"},"nodeName":"ip-10-0-34-201.ec2.internal","time":"2026-08-22T15:40:11Z"}`
	a, _, err := readAll(t, snake+"\n")
	if err != nil {
		t.Fatal(err)
	}
	b, r, err := readAll(t, camel+"\n"+node+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("records %+v and %+v", a, b)
	}
	a[0].Line, b[0].Line = 0, 0
	if a[0] != b[0] || b[0].DstPort != 8080 || b[0].SrcPort != 50930 || b[0].SrcPod != "ml-workloads/text-embed-finetune-worker-0" || b[0].Orientation != Request {
		t.Errorf("camelCase read as %+v, proto names as %+v", b[0], a[0])
	}
	if sk := r.Skipped(); len(sk) != 1 || !strings.Contains(sk[0].Reason, "not flows") {
		t.Errorf("node status line: skipped %+v", sk)
	}
}

// The tcp-flags example of the AWS VPC guide ("Flow log record examples"):
// a custom format with tcp-flags, the SYN of a connection from the internet
// and its SYN-ACK, as a subscriber and `filter-log-events` see them: the
// records alone, without the header line a delivery to S3 has.
const (
	docCustomFormat = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}"
	docCustomSYN    = "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK"
	docCustomSYNACK = "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK"
)

func TestCloudWatchCustomFormat(t *testing.T) {
	payload := `{"messageType":"DATA_MESSAGE","owner":"123456789010","logGroup":"vpc-flow-logs","logStream":"eni-1235b8ca123456789-all","subscriptionFilters":["to-lambda"],"logEvents":[` +
		`{"id":"1","timestamp":1566848875000,"message":"` + docCustomSYN + `"},` +
		`{"id":"2","timestamp":1566848875000,"message":"` + docCustomSYNACK + `"}]}`
	events := `{"events": [{"logStreamName": "eni-1235b8ca123456789-all", "timestamp": 1566848875000, "message": "` + docCustomSYN + `", "ingestionTime": 1566848900000, "eventId": "1"},
{"logStreamName": "eni-1235b8ca123456789-all", "timestamp": 1566848875000, "message": "` + docCustomSYNACK + `", "ingestionTime": 1566848900000, "eventId": "2"}]}`
	export := "2019-08-26T19:47:55.000Z " + docCustomSYN + "\n2019-08-26T19:47:55.000Z " + docCustomSYNACK + "\n"
	for name, in := range map[string]string{"subscription": payload, "filter-log-events": events, "export": export} {
		t.Run(name, func(t *testing.T) {
			// Without the format, the records do not fit the default one:
			// an error that says how to give it.
			if _, _, err := readAll(t, in); err == nil || (name != "export" && !strings.Contains(err.Error(), "--flow-log-format")) {
				t.Errorf("without the format: %v", err)
			}
			for _, format := range []string{docCustomFormat, strings.NewReplacer("${", "", "}", "").Replace(docCustomFormat)} {
				r, err := OpenLogFormat(strings.NewReader(in), "flows.json", FormatAuto, format)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.SetWindow(time.Unix(1566848000, 0), time.Time{}); err != nil {
					t.Fatal(err)
				}
				var recs []Record
				var rec Record
				for {
					ok, err := r.Next(&rec)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					recs = append(recs, rec)
				}
				if len(recs) != 2 {
					t.Fatalf("%d records", len(recs))
				}
				syn, ack := recs[0], recs[1]
				if syn.Src.String() != "52.213.180.42" || syn.Dst.String() != "10.0.0.62" || syn.SrcPort != 43416 || syn.DstPort != 5001 || syn.Start != 1566848875 || syn.End != 1566848933 {
					t.Errorf("SYN record %+v", syn)
				}
				if ack.Src.String() != "10.0.0.62" || ack.SrcPort != 5001 || ack.DstPort != 43416 {
					t.Errorf("SYN-ACK record %+v", ack)
				}
				if syn.Orientation != Request || ack.Orientation != Reply {
					t.Errorf("orientations %d and %d: tcp-flags 2 (SYN) is a request, 18 (SYN-ACK) a reply", syn.Orientation, ack.Orientation)
				}
			}
		})
	}
	if err := CheckLogFormat("${version} ${account-id} ${interface-id}"); err == nil || !strings.Contains(err.Error(), "srcaddr") {
		t.Errorf("a format without addresses: %v", err)
	}
}
