package feed

import (
	"testing"
)

// FuzzVerify: whatever a source returns is verified or rejected with an
// error, never a panic; an accepted publication has a syncToken and
// prefixes.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"syncToken":"1776118025","createDate":"2026-04-13-22-07-05","prefixes":[{"ip_prefix":"16.15.156.0/22","region":"us-east-1","service":"S3","network_border_group":"us-east-1"}],"ipv6_prefixes":[]}`), "")
	f.Add([]byte(`{"syncToken":"1","createDate":"2026-04-13-22-07-05","prefixes":[{"ip_prefix":"0.0.0.0/0"}]}`), "00000000000000000000000000000000")
	f.Add([]byte(`<html>`), "")
	f.Add([]byte(`{"syncToken":"-1"}`), "")
	f.Fuzz(func(t *testing.T, data []byte, md5 string) {
		doc, err := Verify(Fetched{Data: data, MD5: md5, Name: "fuzz"}, "1776110825")
		if err != nil {
			return
		}
		if doc.SyncToken == "" || len(doc.Prefixes) == 0 || doc.Token() < 1776110825 {
			t.Fatalf("accepted %+v", doc)
		}
	})
}
