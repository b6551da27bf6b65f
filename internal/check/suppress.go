package check

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/model"
	"sigs.k8s.io/yaml"
)

// IgnoreAnnotation suppresses rules on the object that carries it:
// "RF007=reason" entries separated by ";" or new lines.
const IgnoreAnnotation = "ringfence.dev/ignore"

// Suppression says why a finding is accepted.
type Suppression struct {
	Reason string `json:"reason"`
	// By is where the suppression is written: the object's annotation or
	// the config file.
	By      string `json:"by"`
	Expires string `json:"expires,omitempty"`
}

// Config is .ringfence.yaml.
type Config struct {
	Suppressions []ConfigSuppression `json:"suppressions"`
}

// ConfigSuppression accepts one rule on matching objects.
type ConfigSuppression struct {
	Rule string `json:"rule"`
	// Object is Kind/namespace/name or Kind/name; "*" matches a part
	// (path.Match syntax).
	Object  string `json:"object"`
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"` // YYYY-MM-DD; after it the suppression lapses
}

// LoadConfig reads a config file. Every suppression needs a rule, an
// object and a reason; a malformed file is an error with its position.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	for i, s := range c.Suppressions {
		where := fmt.Sprintf("%s: suppressions[%d]", file, i)
		if line := lineOf(data, "suppressions", i); line > 0 {
			where = fmt.Sprintf("%s:%d: suppressions[%d]", file, line, i)
		}
		switch {
		case s.Rule == "" || s.Object == "":
			return nil, fmt.Errorf("%s: rule and object are required", where)
		case strings.TrimSpace(s.Reason) == "":
			return nil, fmt.Errorf("%s: a reason is required (suppressing %s on %s)", where, s.Rule, s.Object)
		}
		if s.Expires != "" {
			if _, err := time.Parse(time.DateOnly, s.Expires); err != nil {
				return nil, fmt.Errorf("%s: expires %q is not a date (YYYY-MM-DD)", where, s.Expires)
			}
		}
		if _, err := path.Match(s.Object, ""); err != nil {
			return nil, fmt.Errorf("%s: object pattern %q: %v", where, s.Object, err)
		}
	}
	return &c, nil
}

// lineOf finds the line of the i-th item of a top-level list, roughly: the
// i-th "- " line after the key. Good enough to point at an entry.
func lineOf(data []byte, key string, i int) int {
	lines := bytes.Split(data, []byte("\n"))
	in, n := false, -1
	for l, text := range lines {
		t := strings.TrimSpace(string(text))
		if strings.HasPrefix(string(text), key+":") {
			in = true
			continue
		}
		if in && strings.HasPrefix(t, "- ") {
			n++
			if n == i {
				return l + 1
			}
		}
	}
	return 0
}

// Suppress marks the findings that an annotation or the config accepts,
// as of now. Expired config entries are reported in expired.
func Suppress(findings []Finding, w *model.World, cfg *Config, configFile string, now time.Time) (out []Finding, expired []string) {
	annotations := objectAnnotations(w)
	for _, f := range findings {
		if reason, ok := annotated(annotations[f.Object], f.Rule); ok {
			f.Suppressed = &Suppression{Reason: reason, By: "annotation " + IgnoreAnnotation + " on " + f.Object.String()}
		} else if cfg != nil {
			for _, s := range cfg.Suppressions {
				if !strings.EqualFold(s.Rule, f.Rule) {
					continue
				}
				if ok, _ := path.Match(s.Object, f.Object.String()); !ok {
					continue
				}
				if s.Expires != "" {
					if day, _ := time.Parse(time.DateOnly, s.Expires); now.After(day.Add(24 * time.Hour)) {
						expired = append(expired, fmt.Sprintf("%s: the suppression of %s on %s expired on %s", configFile, s.Rule, s.Object, s.Expires))
						continue
					}
				}
				f.Suppressed = &Suppression{Reason: s.Reason, By: configFile, Expires: s.Expires}
				break
			}
		}
		out = append(out, f)
	}
	return out, dedupe(expired)
}

func annotated(value, rule string) (string, bool) {
	for _, entry := range strings.FieldsFunc(value, func(r rune) bool { return r == ';' || r == '\n' }) {
		id, reason, _ := strings.Cut(strings.TrimSpace(entry), "=")
		if strings.EqualFold(strings.TrimSpace(id), rule) && strings.TrimSpace(reason) != "" {
			return strings.TrimSpace(reason), true
		}
	}
	return "", false
}

func objectAnnotations(w *model.World) map[model.Ref]string {
	out := map[model.Ref]string{}
	add := func(m *model.Meta) {
		if v := m.Annotations[IgnoreAnnotation]; v != "" {
			out[m.Ref()] = v
		}
	}
	for _, o := range w.Namespaces {
		add(&o.Meta)
	}
	for _, o := range w.Workloads {
		add(&o.Meta)
	}
	for _, o := range w.Services {
		add(&o.Meta)
	}
	for _, o := range w.Ingresses {
		add(&o.Meta)
	}
	for _, o := range w.Policies {
		add(&o.Meta)
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
