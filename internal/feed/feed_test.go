package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	april1 = filepath.Join("..", "ranges", "testdata", "ip-ranges-2026-04-13-20-07-05.json")
	april2 = filepath.Join("..", "ranges", "testdata", "ip-ranges-2026-04-13-22-07-05.json")
)

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPConditionalGet(t *testing.T) {
	body := read(t, april2)
	sum := md5.Sum(body)
	var conditional, full atomic.Int64
	lastModified := time.Date(2026, 4, 13, 22, 7, 5, 0, time.UTC).Format(http.TimeFormat)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v2"` && r.Header.Get("If-Modified-Since") == lastModified {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", `"v2"`)
		w.Header().Set("Last-Modified", lastModified)
		w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	src, err := NewHTTP(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := src.Fetch(ctx)
	if err != nil || f.NotModified || f.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("first fetch: %v %+v", err, f.MD5)
	}
	// Not committed (as after a rejected publication): fetched in full again.
	if f, err = src.Fetch(ctx); err != nil || f.NotModified {
		t.Fatalf("uncommitted fetch answered %v %v", f.NotModified, err)
	}
	doc, err := Verify(f, "1776110825")
	if err != nil || doc.SyncToken != "1776118025" {
		t.Fatalf("verify: %v", err)
	}
	src.Commit(f)
	if f, err = src.Fetch(ctx); err != nil || !f.NotModified {
		t.Fatalf("conditional fetch: %v %v", f.NotModified, err)
	}
	if conditional.Load() != 1 || full.Load() != 2 {
		t.Errorf("conditional %d, full %d", conditional.Load(), full.Load())
	}
}

func TestHTTPOnly(t *testing.T) {
	for _, u := range []string{"http://ip-ranges.amazonaws.com/ip-ranges.json", "file:///etc/passwd", "ip-ranges.json", "https://"} {
		if _, err := NewHTTP(u, nil); err == nil || !strings.Contains(err.Error(), "https only") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	body := read(t, april2)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			http.Error(w, "down", http.StatusServiceUnavailable)
		case "/badmd5":
			sum := md5.Sum([]byte("something else"))
			w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
			_, _ = w.Write(body)
		}
	}))
	defer srv.Close()
	down, _ := NewHTTP(srv.URL+"/down", srv.Client())
	if _, err := down.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v", err)
	}
	bad, _ := NewHTTP(srv.URL+"/badmd5", srv.Client())
	f, err := bad.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(f, ""); err == nil || !strings.Contains(err.Error(), "does not match the expected") {
		t.Errorf("md5 mismatch: %v", err)
	}
	// An untrusted certificate is refused.
	plain, _ := NewHTTP(srv.URL+"/down", nil)
	if _, err := plain.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestVerify(t *testing.T) {
	one, two := read(t, april1), read(t, april2)
	for _, c := range []struct {
		name, last, want string
		data             []byte
	}{
		{"truncated", "", "not an ip-ranges.json document", two[:len(two)-100]},
		{"garbage", "", "not an ip-ranges.json document", []byte("<html>")},
		{"empty", "", "not an ip-ranges.json document", nil},
		{"older", "1776118025", "older than 1776118025", one},
	} {
		if _, err := Verify(Fetched{Data: c.data, Name: c.name}, c.last); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		} else if c.name == "older" && !IsOlder(err) {
			t.Errorf("older: IsOlder false for %v", err)
		}
	}
	if doc, err := Verify(Fetched{Data: two}, "1776118025"); err != nil || doc.SyncToken != "1776118025" {
		t.Errorf("the same publication again: %v", err)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	two := read(t, april2)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(two)
	_ = zw.Close()
	path := filepath.Join(dir, "ip-ranges.json.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(two)
	if err := os.WriteFile(path+".md5", []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &File{Path: path}
	f, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(f, ""); err != nil {
		t.Fatal(err)
	}
	src.Commit(f)
	if f, err := src.Fetch(context.Background()); err != nil || !f.NotModified {
		t.Errorf("unchanged file: %v %v", f.NotModified, err)
	}
	// A checksum that does not match (the file was replaced half-way).
	if err := os.WriteFile(path+".md5", []byte("00000000000000000000000000000000"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := src.Fetch(context.Background()); err == nil {
		if _, err := Verify(f, ""); err == nil {
			t.Error("a truncated gzip file passed")
		}
	}
}
