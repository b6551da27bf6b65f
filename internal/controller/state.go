package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ledgerKey is the ConfigMap key that holds the ledger; acceptedKey the
// syncToken of the newest publication accepted, which may be newer than
// every entry's (a publication that touched no service in use).
const (
	ledgerKey   = "ledger.json"
	acceptedKey = "accepted-sync-token"
)

// state is what the leader knows: the last accepted publication, the
// feed's health, and the ledger of what it applies per key. The ledger is
// kept in a ConfigMap of the controller's namespace, written by the leader
// only and before any policy that depends on it, so that a restart or a new
// leader continues grace periods where they were.
type state struct {
	mu sync.Mutex

	client    client.Client
	reader    client.Reader
	namespace string
	name      string
	rules     Rules
	now       func() time.Time
	metrics   *Metrics

	doc     *ranges.Document
	feedErr error
	loaded  bool
	cm      *corev1.ConfigMap
	entries map[Key]*Entry
	// accepted is the newest publication accepted, here or by an earlier
	// leader (acceptedKey); saved is what the ConfigMap holds.
	accepted, savedAccepted string
}

// feed returns the last accepted publication and the last feed error.
func (s *state) feed() (*ranges.Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doc, s.feedErr
}

// accept records a verified publication; it reports whether the feed's
// health or publication changed.
func (s *state) accept(doc *ranges.Document) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.feedErr != nil || s.doc == nil || s.doc.SyncToken != doc.SyncToken
	s.doc, s.feedErr = doc, nil
	if s.accepted == "" || tokenNewer(doc.SyncToken, s.accepted) {
		s.accepted = doc.SyncToken
	}
	return changed
}

// recordAccepted writes the newest accepted syncToken into the ledger
// ConfigMap when it is not there yet: one small write per publication, so
// that after a restart nothing older than it is accepted, even a
// publication newer than every entry (one that changed no service in use).
func (s *state) recordAccepted(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.accepted == "" || s.accepted == s.savedAccepted {
		return nil
	}
	if err := s.save(ctx); err != nil {
		s.loaded = false
		return err
	}
	return nil
}

// approvals reads the ledger ConfigMap's ApproveGrowthAnnotation (an
// operator's edit) and marks the held growths it approves; it reports
// whether one was marked, so that the reconcilers apply it.
func (s *state) approvals(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil || s.cm == nil {
		return false, err
	}
	var cm corev1.ConfigMap
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: s.name}, &cm); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if cm.ResourceVersion != s.cm.ResourceVersion {
		// Only the leader writes the data; the operator's edit is the
		// annotations. Keep the newer object so that the next save does
		// not conflict.
		fresh := cm.DeepCopy()
		fresh.Data = s.cm.Data
		s.cm = fresh
	}
	approved := cm.Annotations[ApproveGrowthAnnotation]
	marked := false
	for _, e := range s.entries {
		if e.Held != nil && !e.Held.Approved && approves(approved, e.Held.SyncToken) {
			e.Held.Approved = true
			e.evaluated = ""
			marked = true
		}
	}
	return marked, nil
}

func approves(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.TrimSpace(t) == token {
			return true
		}
	}
	return false
}

// unchanged records that the source still holds the accepted publication
// (a 304 answer); it reports whether that ends a feed error.
func (s *state) unchanged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doc == nil || s.feedErr == nil {
		return false
	}
	s.feedErr = nil
	return true
}

// fail records a feed error; it reports whether the health changed.
func (s *state) fail(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.feedErr == nil || s.feedErr.Error() != err.Error()
	s.feedErr = err
	return changed
}

// lastToken is the newest publication known: accepted in this process or
// recorded in the ledger by any leader before.
func (s *state) lastToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return "", err
	}
	last := s.accepted
	if s.doc != nil && (last == "" || tokenNewer(s.doc.SyncToken, last)) {
		last = s.doc.SyncToken
	}
	for _, e := range s.entries {
		if last == "" || tokenNewer(e.SyncToken, last) {
			last = e.SyncToken
		}
	}
	return last, nil
}

// load reads the ledger once per leadership. The caller holds mu.
func (s *state) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	var cm corev1.ConfigMap
	err := s.reader.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: s.name}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		s.entries, s.cm = map[Key]*Entry{}, nil
	case err != nil:
		return fmt.Errorf("reading the ledger ConfigMap %s/%s: %w", s.namespace, s.name, err)
	default:
		entries, err := decodeLedger(cm.Data[ledgerKey])
		if err != nil {
			return fmt.Errorf("ConfigMap %s/%s key %s: %w", s.namespace, s.name, ledgerKey, err)
		}
		s.entries, s.cm = entries, &cm
		if a := strings.TrimSpace(cm.Data[acceptedKey]); a != "" && (s.accepted == "" || tokenNewer(a, s.accepted)) {
			s.accepted = a
		}
		s.savedAccepted = strings.TrimSpace(cm.Data[acceptedKey])
	}
	s.loaded = true
	return nil
}

func decodeLedger(data string) (map[Key]*Entry, error) {
	out := map[Key]*Entry{}
	if data == "" {
		return out, nil
	}
	var raw map[string]*Entry
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return nil, err
	}
	for k, e := range raw {
		key, err := ParseKey(k)
		if err != nil {
			return nil, err
		}
		out[key] = e
	}
	return out, nil
}

func encodeLedger(entries map[Key]*Entry) (string, error) {
	raw := map[string]*Entry{}
	for k, e := range entries {
		raw[k.String()] = e
	}
	b, err := json.MarshalIndent(raw, "", " ")
	return string(b), err
}

// Applied is what one key resolves to for a reconcile.
type Applied struct {
	Key      Key
	Prefixes []netip.Prefix
	// Pending are kept in their grace period; Refused is a refused shrink;
	// Held are additions the growth guard holds.
	Pending []netip.Prefix
	Refused *Refusal
	Held    *Growth
	// Dropped are prefixes of the ledger not applied because with them
	// the key would cover more than MaxShare (a ledger an older version
	// wrote, or edited by hand).
	Dropped []netip.Prefix
}

// resolve brings the entries of keys to the current publication and
// returns what to apply for each, writing the ledger first when it
// changed. next is when a grace period of these keys ends.
func (s *state) resolve(ctx context.Context, keys []Key) (out []Applied, next time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doc == nil {
		return nil, time.Time{}, errNoPublication
	}
	if err := s.load(ctx); err != nil {
		return nil, time.Time{}, err
	}
	now := s.now()
	dirty := false
	var problems []string
	for _, k := range keys {
		e, ok := s.entries[k]
		if !ok {
			e, err = newEntry(s.doc, k)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			s.entries[k] = e
			dirty = true
		} else {
			changed, err := e.Advance(s.doc, k, now, s.rules)
			if err != nil {
				problems = append(problems, err.Error())
			}
			if changed {
				dirty = true
				if e.Refused != nil && e.Refused.SyncToken == s.doc.SyncToken {
					s.metrics.shrinkRefused.WithLabelValues(k.String()).Inc()
				}
				if e.Held != nil && e.Held.SyncToken == s.doc.SyncToken && !e.Held.Approved {
					s.metrics.growthHeld.WithLabelValues(k.String()).Inc()
				}
			}
		}
		if t := e.NextExpiry(s.rules.Grace); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
		kept, dropped := fit(e.held())
		a := Applied{Key: k, Prefixes: kept, Dropped: dropped}
		for p := range e.Pending {
			a.Pending = append(a.Pending, p)
		}
		sortPrefixes(a.Pending)
		if e.Refused != nil {
			r := *e.Refused
			a.Refused = &r
		}
		if e.Held != nil {
			h := *e.Held
			a.Held = &h
		}
		out = append(out, a)
		s.metrics.prefixes.WithLabelValues(k.String()).Set(float64(len(kept)))
	}
	if dirty {
		if err := s.save(ctx); err != nil {
			// Forget what was not saved: the next reconcile starts again
			// from the ledger in the cluster.
			s.loaded = false
			return nil, time.Time{}, err
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return out, next, &keyError{problems}
	}
	return out, next, nil
}

// save writes the ledger ConfigMap. The caller holds mu.
func (s *state) save(ctx context.Context) error {
	data, err := encodeLedger(s.entries)
	if err != nil {
		return err
	}
	if s.cm == nil {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name, Labels: map[string]string{"app.kubernetes.io/managed-by": "ringfence"}},
			Data:       map[string]string{ledgerKey: data},
		}
		if s.accepted != "" {
			cm.Data[acceptedKey] = s.accepted
		}
		if err := s.client.Create(ctx, cm); err != nil {
			s.metrics.errors.WithLabelValues("ledger").Inc()
			return fmt.Errorf("creating the ledger ConfigMap %s/%s: %w", s.namespace, s.name, err)
		}
		s.metrics.writes.WithLabelValues("ConfigMap", "create").Inc()
		s.cm, s.savedAccepted = cm, s.accepted
		return nil
	}
	cm := s.cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[ledgerKey] = data
	if s.accepted != "" {
		cm.Data[acceptedKey] = s.accepted
	}
	if err := s.client.Update(ctx, cm); err != nil {
		s.metrics.errors.WithLabelValues("ledger").Inc()
		return fmt.Errorf("updating the ledger ConfigMap %s/%s: %w", s.namespace, s.name, err)
	}
	s.metrics.writes.WithLabelValues("ConfigMap", "update").Inc()
	s.cm, s.savedAccepted = cm, s.accepted
	return nil
}

// keyError lists keys the publication cannot serve.
type keyError struct{ problems []string }

func (e *keyError) Error() string { return fmt.Sprint(e.problems) }

// errNoPublication: nothing is written before a publication was accepted.
var errNoPublication = fmt.Errorf("no AWS ip-ranges publication accepted yet")
