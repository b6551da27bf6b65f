// Package feed fetches AWS's ip-ranges.json for the controller, from its URL
// (conditional GET), a mounted file, or a ConfigMap (air-gapped clusters),
// and verifies every publication before anything uses it: valid JSON of the
// right shape, an md5 that matches when one is given, and a syncToken not
// older than the last one accepted.
package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxDocument bounds one publication (AWS's is about 2.5 MB).
const maxDocument = 64 << 20

// Fetched is what a source returned: the bytes of a publication, or
// NotModified when the source says nothing changed since the last fetch.
type Fetched struct {
	Data        []byte
	NotModified bool
	// MD5 is the checksum the source gives for Data (hex), if any.
	MD5 string
	// Name says where the publication came from, for messages.
	Name string

	// What the source remembers once the publication is accepted.
	etag, lastModified string
	raw                []byte
}

// Source is where publications come from. Commit tells it a fetched
// publication was verified and used, so that it may answer NotModified
// until the publication changes; a rejected one is read again next time.
type Source interface {
	Fetch(ctx context.Context) (Fetched, error)
	Commit(Fetched)
	String() string
}

// HTTP polls a URL with conditional GETs: AWS's server answers 304 Not
// Modified while the publication is the one in hand, so polling costs
// almost nothing. Only https URLs are accepted; the client verifies the
// server's certificate.
type HTTP struct {
	URL    string
	Client *http.Client

	etag, lastModified string
}

// NewHTTP returns a poller of url, refusing anything but https.
func NewHTTP(rawURL string, c *http.Client) (*HTTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("feed URL %q: the ranges are fetched over https only", rawURL)
	}
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	return &HTTP{URL: rawURL, Client: c}, nil
}

func (h *HTTP) String() string { return h.URL }

// Commit keeps the validators of an accepted answer for the next request.
func (h *HTTP) Commit(f Fetched) {
	if !f.NotModified {
		h.etag, h.lastModified = f.etag, f.lastModified
	}
}

// Fetch GETs the URL with If-None-Match and If-Modified-Since from the
// last successful answer.
func (h *HTTP) Fetch(ctx context.Context) (Fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return Fetched{}, err
	}
	if h.etag != "" {
		req.Header.Set("If-None-Match", h.etag)
	}
	if h.lastModified != "" {
		req.Header.Set("If-Modified-Since", h.lastModified)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return Fetched{}, fmt.Errorf("fetching %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return Fetched{NotModified: true, Name: h.URL}, nil
	case http.StatusOK:
	default:
		return Fetched{}, fmt.Errorf("fetching %s: %s", h.URL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return Fetched{}, fmt.Errorf("reading %s: %w", h.URL, err)
	}
	f := Fetched{Data: data, Name: h.URL}
	// Content-MD5 (RFC 1864) is the base64 of the digest.
	if c := resp.Header.Get("Content-MD5"); c != "" {
		sum, err := base64.StdEncoding.DecodeString(c)
		if err != nil || len(sum) != md5.Size {
			return Fetched{}, fmt.Errorf("%s: Content-MD5 %q is not a base64 MD5 digest", h.URL, c)
		}
		f.MD5 = hex.EncodeToString(sum)
	}
	f.etag, f.lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return f, nil
}

// File reads a mounted file (a ConfigMap or Secret volume, or a path on the
// node): ip-ranges.json, or ip-ranges.json.gz, since a ConfigMap holds at
// most 1 MiB and the publication is 2.5 MB. A file named like the
// publication plus ".md5" beside it gives the expected checksum.
type File struct {
	Path    string
	last    []byte
	lastMD5 string
}

func (f *File) String() string { return f.Path }

// Commit remembers the bytes of an accepted publication.
func (f *File) Commit(x Fetched) {
	if !x.NotModified {
		f.last, f.lastMD5 = x.raw, x.MD5
	}
}

// Fetch reads the file; NotModified when its bytes are the ones read last.
func (f *File) Fetch(context.Context) (Fetched, error) {
	raw, err := os.ReadFile(f.Path)
	if err != nil {
		return Fetched{}, err
	}
	out := Fetched{Name: f.Path}
	if sum, err := os.ReadFile(f.Path + ".md5"); err == nil {
		out.MD5 = strings.TrimSpace(string(sum))
	}
	return f.decoded(raw, out)
}

func (f *File) decoded(raw []byte, out Fetched) (Fetched, error) {
	if f.last != nil && bytes.Equal(raw, f.last) && out.MD5 == f.lastMD5 {
		out.NotModified = true
		return out, nil
	}
	data := raw
	if strings.HasSuffix(out.Name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return Fetched{}, fmt.Errorf("%s: %w", out.Name, err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxDocument))
		if err != nil {
			return Fetched{}, fmt.Errorf("%s: %w", out.Name, err)
		}
	}
	out.Data = data
	out.raw = raw
	return out, nil
}

// ConfigMap reads the publication from a ConfigMap through the API: key
// ip-ranges.json (data) or ip-ranges.json.gz (binaryData), and optionally
// md5. Use it when a mounted volume is not wanted (the kubelet refreshes a
// mounted ConfigMap only every minute or so).
type ConfigMap struct {
	Reader          client.Reader
	Namespace, Name string
	file            File
}

func (c *ConfigMap) String() string { return "ConfigMap " + c.Namespace + "/" + c.Name }

// Commit remembers the bytes of an accepted publication.
func (c *ConfigMap) Commit(x Fetched) { c.file.Commit(x) }

// Fetch gets the ConfigMap.
func (c *ConfigMap) Fetch(ctx context.Context) (Fetched, error) {
	var cm corev1.ConfigMap
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Name}, &cm); err != nil {
		return Fetched{}, fmt.Errorf("%s: %w", c, err)
	}
	out := Fetched{Name: c.String() + " key ip-ranges.json", MD5: strings.TrimSpace(cm.Data["md5"])}
	if gz, ok := cm.BinaryData["ip-ranges.json.gz"]; ok {
		out.Name = c.String() + " key ip-ranges.json.gz"
		return c.file.decoded(gz, out)
	}
	data, ok := cm.Data["ip-ranges.json"]
	if !ok {
		return Fetched{}, fmt.Errorf("%s has neither data key ip-ranges.json nor binaryData key ip-ranges.json.gz", c)
	}
	return c.file.decoded([]byte(data), out)
}

// ErrOlder is a publication older than the one accepted last.
var ErrOlder = ranges.ErrOlder

// Verify parses a fetched publication and checks its md5 (when given) and
// that its syncToken is not older than lastToken (when given).
func Verify(f Fetched, lastToken string) (*ranges.Document, error) {
	if f.MD5 != "" {
		sum := md5.Sum(f.Data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, f.MD5) {
			return nil, fmt.Errorf("%s: md5 %s does not match the expected %s (truncated or altered)", f.Name, got, f.MD5)
		}
	}
	doc, err := ranges.Parse(bytes.NewReader(f.Data), f.Name)
	if err != nil {
		return nil, err
	}
	if lastToken != "" {
		last, err := strconv.ParseInt(lastToken, 10, 64)
		if err == nil && doc.Token() < last {
			return nil, fmt.Errorf("%s: syncToken %s is older than %s, accepted before: %w", f.Name, doc.SyncToken, lastToken, ErrOlder)
		}
	}
	return doc, nil
}

// IsOlder reports whether err is a publication older than the last one.
func IsOlder(err error) bool { return errors.Is(err, ErrOlder) }
