package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// IgnoreFile is read from the root of every directory given with -f.
const IgnoreFile = ".ringfenceignore"

// ignoreRule is one line of a .ringfenceignore file or one --ignore value,
// with gitignore's syntax (the subset documented in docs/inventory.md):
//
//   - a pattern without a slash matches a file or directory name at any
//     depth ("values*.yaml", "templates");
//   - a pattern with a slash matches the path from the root ("charts/*/templates",
//     "/kustomization.yaml"); "**" matches any number of directories;
//   - a trailing slash matches directories only;
//   - "!" re-includes what an earlier pattern excluded (but not a file in an
//     excluded directory, which is never walked);
//   - blank lines and lines starting with "#" are ignored.
type ignoreRule struct {
	segments []string
	anchored bool
	dirOnly  bool
	negate   bool
}

// parseIgnore parses one pattern; ok is false for blank lines and comments.
func parseIgnore(line string) (ignoreRule, bool, error) {
	line = strings.TrimRight(line, " \t\r")
	if line == "" || strings.HasPrefix(line, "#") {
		return ignoreRule{}, false, nil
	}
	var r ignoreRule
	if strings.HasPrefix(line, "!") {
		r.negate, line = true, line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly, line = true, strings.TrimRight(line, "/")
	}
	line = filepath.ToSlash(line)
	if strings.Contains(line, "/") {
		r.anchored = true
		line = strings.TrimPrefix(line, "/")
	}
	if line == "" {
		return ignoreRule{}, false, fmt.Errorf("empty pattern")
	}
	r.segments = strings.Split(line, "/")
	for _, s := range r.segments {
		if _, err := path.Match(s, ""); err != nil {
			return ignoreRule{}, false, fmt.Errorf("bad pattern %q: %v", line, err)
		}
	}
	return r, true, nil
}

// matches reports whether the rule matches rel, a slash-separated path
// relative to the walked root.
func (r ignoreRule) matches(rel string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	parts := strings.Split(rel, "/")
	if !r.anchored {
		ok, _ := path.Match(r.segments[0], parts[len(parts)-1])
		return ok
	}
	return matchSegments(r.segments, parts)
}

// matchSegments matches path segments against pattern segments, "**"
// standing for any number of segments.
func matchSegments(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchSegments(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// ignorer holds the rules that apply under one walked root.
type ignorer []ignoreRule

// ignored reports whether rel is excluded: the last matching rule decides.
func (ig ignorer) ignored(rel string, isDir bool) bool {
	out := false
	for _, r := range ig {
		if r.matches(rel, isDir) {
			out = !r.negate
		}
	}
	return out
}

// parseIgnores parses --ignore values.
func parseIgnores(patterns []string) (ignorer, error) {
	var ig ignorer
	for _, p := range patterns {
		r, ok, err := parseIgnore(p)
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: "--ignore"}, Msg: err.Error()}
		}
		if ok {
			ig = append(ig, r)
		}
	}
	return ig, nil
}

// readIgnoreFile returns the rules of root's .ringfenceignore followed by
// ig, the --ignore ones: the last matching rule decides, so the command
// line wins, as in git. It returns ig itself when there is no such file.
func readIgnoreFile(root string, ig ignorer) (ignorer, error) {
	name := filepath.Join(root, IgnoreFile)
	data, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return ig, nil
	}
	if err != nil {
		return nil, &document.Error{Source: model.Source{File: name}, Msg: cleanPathError(err)}
	}
	var out ignorer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		r, ok, err := parseIgnore(sc.Text())
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: name, Line: line}, Msg: err.Error()}
		}
		if ok {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &document.Error{Source: model.Source{File: name}, Msg: err.Error()}
	}
	return append(out, ig...), nil
}
