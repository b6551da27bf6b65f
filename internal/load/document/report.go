package document

import (
	"fmt"
	"sort"
	"strings"

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
	// Category groups notices in the summary every verb prints; one of
	// the Category constants, empty for other warnings.
	Category string       `json:"category,omitempty"`
	Source   model.Source `json:"source,omitzero"`
	Object   string       `json:"object,omitempty"`
	Msg      string       `json:"message"`
}

// Categories of notices: what a run could not use, and why. Every verb
// counts them on stderr and lists them in its JSON "warnings".
const (
	// SkippedFile: a file or document that is not a Kubernetes object (Helm
	// values, a kustomization, a JSON patch), a special file, or an
	// ignored one the user should know about.
	SkippedFile = "skipped-file"
	// UnknownKind: objects of a kind ringfence does not read (counted).
	UnknownKind = "unknown-kind"
	// Duplicate: an object defined twice; the later definition is used.
	Duplicate = "duplicate"
	// Deprecated is the category of an apiVersion the API server no longer
	// serves: read as its current version, or skipped (and counted with
	// the unknown kinds) when the kind has no replacement.
	Deprecated = "deprecated-api"
	// ForeignPolicy: a policy kind ringfence does not evaluate.
	ForeignPolicy = "unmodelled-policy"
	// Forbidden: a resource the cluster did not let ringfence list.
	Forbidden = "forbidden"
	// GeneratedName: an object named from metadata.generateName.
	GeneratedName = "generated-name"
)

// categoryNames say what a category counts, for the stderr summary.
var categoryNames = map[string]string{
	SkippedFile:   "files or documents skipped (not Kubernetes objects, or special files)",
	UnknownKind:   "objects of kinds not read",
	Duplicate:     "objects defined twice",
	Deprecated:    "objects in removed apiVersions (read as the current version, or skipped where there is none)",
	ForeignPolicy: "policies of kinds not evaluated",
	Forbidden:     "resources the cluster refused to list",
	GeneratedName: "names derived from metadata.generateName",
	"":            "other warnings",
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

// Note records a warning of a category.
func (r *Report) Note(category string, src model.Source, object, format string, args ...any) {
	r.Warnings = append(r.Warnings, Notice{Category: category, Source: src, Object: object, Msg: fmt.Sprintf(format, args...)})
}

// All returns every notice of the report: the warnings, one per unknown
// kind (with its count) and one per forbidden resource, in that order.
// It is the "warnings" array of every verb's JSON output.
func (r *Report) All() []Notice {
	out := make([]Notice, 0, len(r.Warnings)+len(r.Unknown)+len(r.Forbidden))
	out = append(out, r.Warnings...)
	for _, u := range r.Unknown {
		out = append(out, Notice{Category: UnknownKind, Source: u.First, Object: u.APIVersion + "/" + u.Kind,
			Msg: fmt.Sprintf("%d objects of kind %s (%s) not read", u.Count, u.Kind, u.APIVersion)})
	}
	for _, f := range r.Forbidden {
		out = append(out, Notice{Category: Forbidden, Msg: f})
	}
	return out
}

// Summary is one line counting what the run could not use, by category
// ("2 skipped (...), 5 objects of kinds not read (3 kinds)"), or "" when
// everything was used.
func (r *Report) Summary() string {
	counts := map[string]int{}
	for _, n := range r.Warnings {
		counts[n.Category]++
	}
	if n := r.UnknownCount(); n > 0 {
		counts[UnknownKind] = n
	}
	if len(r.Forbidden) > 0 {
		counts[Forbidden] = len(r.Forbidden)
	}
	cats := make([]string, 0, len(counts))
	for c := range counts {
		cats = append(cats, c)
	}
	sort.Slice(cats, func(i, j int) bool {
		// Other warnings last; the rest by name, for stable output.
		if (cats[i] == "") != (cats[j] == "") {
			return cats[j] == ""
		}
		return cats[i] < cats[j]
	})
	parts := make([]string, 0, len(cats))
	for _, c := range cats {
		name := categoryNames[c]
		if name == "" {
			name = c
		}
		part := fmt.Sprintf("%d %s", counts[c], name)
		if c == UnknownKind {
			part += fmt.Sprintf(" (%d kinds)", len(r.Unknown))
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
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
