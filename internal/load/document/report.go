package document

import (
	"fmt"
	"sort"

	"github.com/ringfence/ringfence/internal/model"
)

// Report tells what loading did not turn into the model, so that nothing is
// dropped silently: kinds ringfence does not know, objects it skipped,
// fields the API server would reject, resources a cluster refused to list.
type Report struct {
	Unknown   []Unknown `json:"unknown,omitempty"`
	Warnings  []Notice  `json:"warnings,omitempty"`
	Forbidden []string  `json:"forbidden,omitempty"`
	unknown   map[string]*Unknown
}

// Unknown counts the objects of one kind ringfence does not read.
type Unknown struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Count      int          `json:"count"`
	First      model.Source `json:"first"`
}

// Notice is a warning tied to a place in the input.
type Notice struct {
	Source model.Source `json:"source"`
	Object string       `json:"object,omitempty"`
	Msg    string       `json:"message"`
}

func (n Notice) String() string {
	if n.Object != "" {
		return fmt.Sprintf("%s: %s: %s", n.Source, n.Object, n.Msg)
	}
	return fmt.Sprintf("%s: %s", n.Source, n.Msg)
}

// AddUnknown counts an object of a kind that is not read.
func (r *Report) AddUnknown(o *Object) {
	key := o.APIVersion + "/" + o.Kind
	if r.unknown == nil {
		r.unknown = map[string]*Unknown{}
	}
	u := r.unknown[key]
	if u == nil {
		u = &Unknown{APIVersion: o.APIVersion, Kind: o.Kind, First: o.Source}
		r.unknown[key] = u
		r.Unknown = append(r.Unknown, Unknown{})
	}
	u.Count++
}

// Warn records a warning.
func (r *Report) Warn(src model.Source, object, format string, args ...any) {
	r.Warnings = append(r.Warnings, Notice{Source: src, Object: object, Msg: fmt.Sprintf(format, args...)})
}

// Finish sorts the report; call it once loading is done.
func (r *Report) Finish() {
	r.Unknown = r.Unknown[:0]
	for _, u := range r.unknown {
		r.Unknown = append(r.Unknown, *u)
	}
	sort.Slice(r.Unknown, func(i, j int) bool {
		a, b := r.Unknown[i], r.Unknown[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.APIVersion < b.APIVersion
	})
	sort.Strings(r.Forbidden)
}

// UnknownCount is the number of objects of unknown kinds.
func (r *Report) UnknownCount() int {
	n := 0
	for _, u := range r.unknown {
		n += u.Count
	}
	return n
}
