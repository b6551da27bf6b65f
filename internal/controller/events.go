package controller

import (
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
)

// conflictRetry is how soon a reconcile that met a newer object than its
// cache held runs again: the cache is usually a moment behind.
const conflictRetry = 200 * time.Millisecond

// maxNote is the events.k8s.io/v1 limit on an Event's note, in bytes; the
// API server rejects a longer one and the Event is lost.
const maxNote = 1024

// event records an Event whose note fits the API's limit. Lists in notes
// are already short ("… and N more"); a note that still had to be cut is
// logged in full, so that nothing is lost.
func (c *Controller) event(regarding, related runtime.Object, typ, reason, action, note string) {
	if len(note) > maxNote {
		c.log.Info("Event note cut to the API's limit; the full note follows", "reason", reason, "note", note)
		note = cut(note, maxNote)
	}
	c.recorder.Eventf(regarding, related, typ, reason, action, "%s", note)
}

// cut shortens s to at most n bytes on a rune boundary, ending with "…".
func cut(s string, n int) string {
	const ellipsis = " …"
	if len(s) <= n {
		return s
	}
	i := n - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

// warning is a Warning Event a reconcile wants recorded once. action
// names what was done and to which publication ("RefusePublication
// 1776121525"): the events library merges Events on an unchanged object
// with the same reason and action into a series that keeps the first
// note, so two refused publications need two actions to be two Events.
type warning struct{ reason, action, note string }

// warn records the warnings of a reconcile of obj (named by who), each
// once until its note changes: a reconcile runs often, the Event should
// not.
func (c *Controller) warn(who string, obj runtime.Object, ws []warning) {
	for _, w := range ws {
		if c.firstReport(who+" "+w.reason, w.note) {
			action := w.action
			if action == "" {
				action = "Reconcile"
			}
			c.event(obj, nil, "Warning", w.reason, action, w.note)
		}
	}
}
