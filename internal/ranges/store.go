package ranges

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultURL is where AWS publishes its ranges.
const DefaultURL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// Store is the local cache of the newest publication, in the user's cache
// directory ($XDG_CACHE_HOME/ringfence on Linux).
type Store struct{ Dir string }

// DefaultStore returns the store in the user's cache directory.
func DefaultStore() (Store, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return Store{}, fmt.Errorf("no user cache directory: %w", err)
	}
	return Store{Dir: filepath.Join(dir, "ringfence")}, nil
}

// Path is the cached file.
func (s Store) Path() string { return filepath.Join(s.Dir, "ip-ranges.json") }

// Load returns the cached publication, or nil when there is none.
func (s Store) Load() (*Document, error) {
	f, err := os.Open(s.Path())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, s.Path())
}

// Current returns the newest publication at hand: the cache when it is
// valid and newer than the embedded snapshot, else the snapshot. A broken
// cache is reported, never used.
func (s Store) Current() (*Document, error) {
	snap, err := Snapshot()
	if err != nil {
		return nil, err
	}
	cached, err := s.Load()
	if err != nil {
		return nil, fmt.Errorf("the cached ranges are unusable (run `ringfence ranges refresh`, or delete %s): %w", s.Path(), err)
	}
	if cached != nil && cached.Newer(snap) {
		return cached, nil
	}
	return snap, nil
}

// RefreshOptions say where and how to fetch a publication.
type RefreshOptions struct {
	URL string
	// MD5, when set, must match the document (AWS's change notification
	// carries it).
	MD5    string
	Client *http.Client
}

// Refresh fetches a publication over HTTPS (certificates verified by the
// client), verifies it and replaces the cache atomically. A download that
// is not valid, does not match MD5, or is older than the cached or
// embedded publication leaves the cache as it was. changed is false when
// the publication is the one already at hand.
func (s Store) Refresh(ctx context.Context, opts RefreshOptions) (doc *Document, changed bool, err error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme != "https" {
		return nil, false, fmt.Errorf("refusing %q: the ranges are fetched over HTTPS only", opts.URL)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.URL, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("fetching %s: %s", opts.URL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", opts.URL, err)
	}
	sum := md5.Sum(data)
	if got := hex.EncodeToString(sum[:]); opts.MD5 != "" && !strings.EqualFold(got, opts.MD5) {
		return nil, false, fmt.Errorf("%s: md5 %s does not match the expected %s; cache left as it was", opts.URL, got, opts.MD5)
	}
	doc, err = parse(data, opts.URL)
	if err != nil {
		return nil, false, fmt.Errorf("%w; cache left as it was", err)
	}
	current, err := s.Current()
	if err != nil {
		current, _ = Snapshot()
	}
	switch {
	case current.Newer(doc):
		return nil, false, fmt.Errorf("%s: syncToken %s is older than %s from %s: %w; cache left as it was", opts.URL, doc.SyncToken, current.SyncToken, current.Source, ErrOlder)
	case current.SyncToken == doc.SyncToken:
		// The same publication: AWS never reuses a syncToken.
		return current, false, nil
	}
	if err := s.write(data); err != nil {
		return nil, false, err
	}
	doc.Source = s.Path()
	return doc, true, nil
}

// write replaces the cache atomically: a crash leaves the old file or the
// new one, never half of one.
func (s Store) write(data []byte) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, ".ip-ranges-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.Path())
}
