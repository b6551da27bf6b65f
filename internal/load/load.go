// Package load reads everything a user points ringfence at (files,
// directories, standard input, a live cluster) into one model.World, and
// reports what it could not use.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/ringfence/ringfence/internal/load/aws"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/helm"
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/load/kustomize"
	"github.com/ringfence/ringfence/internal/model"
)

// Options says what to load.
type Options struct {
	// Files are paths given with -f or as arguments: files, directories
	// (walked recursively for .yaml, .yml and .json) or "-" for Stdin.
	Files []string
	Stdin io.Reader
	// Ignore are gitignore-like patterns (--ignore) excluding files found
	// by walking a directory; a directory's own .ringfenceignore adds to
	// them.
	Ignore []string
	// Kustomize are kustomization directories (-k), rendered as kubectl -k
	// does; Charts are local Helm charts (--chart), rendered as helm
	// template does. Neither ever goes to the network.
	Kustomize []string
	Charts    []helm.Options
	// Namespace is given to namespaced objects from files that have none,
	// and limits a live cluster to one namespace.
	Namespace string
	// Strict turns unknown kinds and documents that are not Kubernetes
	// objects into errors.
	Strict bool
	// Cluster, when set, loads a live cluster as well.
	Cluster *k8s.ClusterOptions
	// AWS, when set, reads a live AWS account into the same builder as
	// the AWS documents in files (after them).
	AWS func(context.Context, *aws.Builder) error
	// Cache, when set, shares the decoding of files with the same
	// content with other loads given the same cache.
	Cache *Cache
}

// Result is the loaded world and the report of what was not used.
type Result struct {
	World  *model.World
	Report *document.Report
	// Recognized lists documents identified by shape that the model does
	// not hold (ip-ranges.json, which `ringfence ranges` reads).
	Recognized []Recognized
}

// ErrNoInput is returned when neither files nor a cluster were given.
var ErrNoInput = errors.New("nothing to load: give files with -f (or - for stdin), or a cluster with --context/--kubeconfig")

// Load reads all inputs. Any malformed input is an error: nothing is ever
// half-loaded. Unknown kinds are counted in the report, documents that are
// not Kubernetes objects skipped with a warning (both errors when Strict).
// Inputs that hold no object at all are an error: a wrong path must not
// pass as a clean run. Load returns ctx's error as soon as ctx is done,
// even while a read is blocked (a FIFO without a writer, a silent stdin).
func Load(ctx context.Context, opts Options) (*Result, error) {
	if len(opts.Files) == 0 && len(opts.Kustomize) == 0 && len(opts.Charts) == 0 && opts.Cluster == nil && opts.AWS == nil {
		return nil, ErrNoInput
	}
	report := &document.Report{}
	b := k8s.NewBuilder(opts.Namespace, report)
	res := &Result{Report: report}
	ig, err := parseIgnores(opts.Ignore)
	if err != nil {
		return nil, err
	}
	paths, err := expand(opts.Files, ig, report)
	if err != nil {
		return nil, err
	}
	srcs := make([]source, 0, len(paths))
	for _, p := range paths {
		srcs = append(srcs, source{path: p})
	}
	rendered, err := render(opts)
	if err != nil {
		return nil, err
	}
	srcs = append(srcs, rendered...)
	inputs, err := readAll(ctx, srcs, opts.Stdin, opts.Namespace, opts.Cache)
	if err != nil {
		return nil, err
	}
	cloud := aws.NewBuilder(report)
	found := 0
	objects := 0
	for _, in := range inputs {
		objects += len(in.decoded)
	}
	b.Grow(objects)
	for _, in := range inputs {
		if in.err != nil {
			return nil, in.err
		}
		if in.skipped != nil {
			if opts.Strict {
				return nil, &document.Error{Source: in.skipped.Source, Msg: in.skipped.Msg + " (--strict)"}
			}
			report.Warnings = append(report.Warnings, *in.skipped)
		}
		found += len(in.decoded) + len(in.aws)
		for _, d := range in.decoded {
			b.Register(d)
		}
		for _, doc := range in.aws {
			modelled, err := cloud.Add(doc.obj, doc.shape)
			if err != nil {
				return nil, err
			}
			if !modelled {
				res.Recognized = append(res.Recognized, Recognized{Shape: string(doc.shape), Source: doc.obj.Source})
			}
		}
	}
	if found == 0 && opts.Cluster == nil {
		return nil, noObjects(append(append(opts.Files, opts.Kustomize...), chartDirs(opts.Charts)...), report)
	}
	if opts.Cluster != nil {
		if err := k8s.LoadCluster(ctx, *opts.Cluster, b); err != nil {
			return nil, err
		}
	}
	if opts.AWS != nil {
		if err := opts.AWS(ctx, cloud); err != nil {
			return nil, err
		}
	}
	report.Finish()
	if opts.Strict && len(report.Unknown) > 0 {
		u := report.Unknown[0]
		return nil, &document.Error{Source: u.First, Msg: fmt.Sprintf("unknown kind %s %s (%d objects of %d unknown kinds; --strict)", u.APIVersion, u.Kind, report.UnknownCount(), len(report.Unknown))}
	}
	res.World = b.Finish()
	cloud.Finish(res.World)
	return res, nil
}

// noObjects is the error for inputs without a single object, saying what
// was skipped so the user sees why.
func noObjects(files []string, report *document.Report) error {
	msg := "no Kubernetes objects found in " + strings.Join(files, ", ")
	if n := len(report.Warnings); n > 0 {
		msg += fmt.Sprintf("; skipped: %s", report.Warnings[0])
		if n > 1 {
			msg += fmt.Sprintf(" (and %d more)", n-1)
		}
	}
	return &document.Error{Source: model.Source{File: files[0]}, Msg: msg}
}

// input is one file's decoded objects, or why it could not be read.
type input struct {
	decoded []*k8s.Decoded
	// aws holds documents told by their shape, read in order afterwards.
	aws []awsDoc
	// skipped tells of the file's documents that are not Kubernetes
	// objects, when it has some.
	skipped *document.Notice
	err     error
}

type awsDoc struct {
	obj   *document.Object
	shape aws.Shape
}

// source is one input: a file (or "-"), or rendered output under a name.
type source struct {
	path string
	data []byte
	// origins are the files the rendered objects come from, in order ("" for
	// generated ones): a kustomization's objects are reported there.
	origins []string
}

// render renders the kustomizations and charts, in the order given.
func render(opts Options) ([]source, error) {
	var out []source
	for _, dir := range opts.Kustomize {
		k, err := kustomize.Render(dir)
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: dir}, Msg: err.Error()}
		}
		out = append(out, source{path: k.Name, data: k.Data, origins: k.Origins})
	}
	for _, c := range opts.Charts {
		if c.Namespace == "" {
			c.Namespace = opts.Namespace
		}
		ms, err := helm.Render(c)
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: c.Chart}, Msg: err.Error()}
		}
		for _, m := range ms {
			out = append(out, source{path: m.Name, data: m.Data})
		}
	}
	return out, nil
}

func chartDirs(charts []helm.Options) []string {
	out := make([]string, len(charts))
	for i, c := range charts {
		out[i] = c.Chart
	}
	return out
}

// readAll reads and decodes the inputs on every core; the results keep the
// order of paths, so what is built from them does not depend on timing.
// It returns ctx's error once ctx is done; a read blocked in the kernel is
// left behind (the process is ending).
func readAll(ctx context.Context, paths []source, stdin io.Reader, namespace string, cache *Cache) ([]input, error) {
	out := make([]input, len(paths))
	next := make(chan int)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(paths)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = read(paths[i], stdin, namespace, cache)
			}
		}()
	}
	go func() {
		defer close(done)
		defer wg.Wait()
		defer close(next)
		for i := range paths {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case <-done:
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// read reads one input and decodes its objects; it runs on every core.
func read(src source, stdin io.Reader, namespace string, cache *Cache) input {
	path := src.path
	var in io.Reader
	switch {
	case src.data != nil:
		in = bytes.NewReader(src.data)
	case path == "-":
		if stdin == nil {
			stdin = os.Stdin
		}
		in = stdin
	default:
		f, err := os.Open(path)
		if err != nil {
			return input{err: &document.Error{Source: model.Source{File: path}, Msg: cleanPathError(err)}}
		}
		defer f.Close()
		in = f
	}
	var objs []*document.Object
	var err error
	if cache != nil && path != "-" && src.data == nil {
		var data []byte
		if data, err = readFile(in); err == nil {
			objs, err = cache.read(path, data)
		} else {
			err = &document.Error{Source: model.Source{File: path}, Msg: err.Error()}
		}
	} else {
		objs, err = document.Read(path, in)
	}
	if err != nil {
		var de *document.Error
		if path != "-" && src.data == nil && errors.As(err, &de) {
			de.Msg += fmt.Sprintf(" (if this file is not a manifest, exclude it: --ignore '%s' or that line in %s)", ignoreHint(path), IgnoreFile)
		}
		return input{err: err}
	}
	if src.origins != nil {
		relocate(objs, src.origins)
	}
	var out input
	skipped := 0
	for _, o := range objs {
		if o.Kind == "" && !o.NotObject {
			if shape := aws.Recognize(o); shape != "" {
				out.aws = append(out.aws, awsDoc{obj: o, shape: shape})
				continue
			}
		}
		// kustomize's own files carry an apiVersion and kind, but are
		// build instructions, not objects.
		if o.NotObject || o.Kind == "" || o.APIVersion == "" || strings.HasPrefix(o.APIVersion, "kustomize.config.k8s.io/") {
			if skipped == 0 {
				out.skipped = &document.Notice{Category: document.SkippedFile, Source: o.Source}
			}
			skipped++
			continue
		}
		d, err := k8s.Decode(o, namespace)
		if err != nil {
			return input{err: err}
		}
		out.decoded = append(out.decoded, d)
	}
	if out.skipped != nil {
		out.skipped.Msg = notObjectMessage(path, skipped, len(objs))
	}
	return out
}

// ignoreHint is a pattern that excludes path: its Helm templates
// directory, or its name.
func ignoreHint(path string) string {
	dir := filepath.Base(filepath.Dir(path))
	if dir == "templates" {
		return "templates/"
	}
	return filepath.Base(path)
}

// notObjectMessage says why documents were skipped, naming what the file
// probably is when its name tells.
func notObjectMessage(path string, skipped, total int) string {
	what := "not a Kubernetes object (no apiVersion and kind, or a kustomize file) nor a known AWS document: skipped"
	if skipped > 1 || total > 1 {
		what = fmt.Sprintf("%d of %d documents are not Kubernetes objects (no apiVersion and kind, or kustomize files) nor known AWS documents: skipped", skipped, total)
	}
	base := strings.ToLower(filepath.Base(path))
	switch {
	case base == "kustomization.yaml" || base == "kustomization.yml" || base == "kustomization":
		what += " (a kustomization: render it with -k " + filepath.ToSlash(filepath.Dir(path)) + ")"
	case base == "chart.yaml" || strings.HasPrefix(base, "values") && manifestExt[filepath.Ext(base)]:
		what += " (Helm chart metadata or values: render the chart with --chart)"
	}
	return what
}

func cleanPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// manifestExt are the extensions read from directories, as kubectl does.
var manifestExt = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// expand turns -f arguments into files: directories are walked
// recursively in lexical order, less what --ignore and the directory's
// .ringfenceignore exclude, and less special files (a FIFO would block
// the run), which are reported; files named explicitly are read whatever
// their extension or type (a process substitution is a FIFO). A path
// given twice is read once.
func expand(args []string, ig ignorer, report *document.Report) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	stdin := false
	for _, a := range args {
		if a == "-" {
			if stdin {
				return nil, &document.Error{Source: model.Source{File: "-"}, Msg: "standard input given twice"}
			}
			stdin = true
			add(a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: a}, Msg: cleanPathError(err)}
		}
		if !st.IsDir() {
			add(a)
			continue
		}
		files, err := walk(a, ig, report)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			add(f)
		}
	}
	return out, nil
}

// walk returns the manifest files under root, sorted.
func walk(root string, ig ignorer, report *document.Report) ([]string, error) {
	ig, err := readIgnoreFile(root, ig)
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &document.Error{Source: model.Source{File: p}, Msg: cleanPathError(err)}
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if len(ig) > 0 && ig.ignored(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !manifestExt[strings.ToLower(filepath.Ext(p))] {
			return nil
		}
		if !d.Type().IsRegular() {
			mode := d.Type()
			if mode&fs.ModeSymlink != 0 {
				// Symbolic links are followed to what they name, as
				// kubectl does; only that must be a regular file.
				st, err := os.Stat(p)
				if err != nil {
					return &document.Error{Source: model.Source{File: p}, Msg: cleanPathError(err)}
				}
				mode = st.Mode().Type()
			}
			if !mode.IsRegular() && !mode.IsDir() {
				report.Note(document.SkippedFile, model.Source{File: p}, "", "%s, not a regular file: skipped (name it with -f to read it)", special(mode))
				return nil
			}
			if mode.IsDir() {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return skipPatches(files, report), nil
}

// kustomizationNames are the file names kustomize reads in a directory.
var kustomizationNames = map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true}

// skipPatches drops the files a kustomization in the tree lists as
// patches, with a warning: a strategic-merge patch has an apiVersion and
// kind but is a fragment, and read as an object it would replace the
// object it patches. JSON patches are not objects and are skipped anyway.
func skipPatches(files []string, report *document.Report) []string {
	patches := map[string]string{}
	for _, f := range files {
		if kustomizationNames[filepath.Base(f)] {
			for _, p := range kustomize.Patches(f) {
				patches[filepath.Clean(p)] = f
			}
		}
	}
	if len(patches) == 0 {
		return files
	}
	out := files[:0]
	for _, f := range files {
		if k, ok := patches[filepath.Clean(f)]; ok {
			report.Note(document.SkippedFile, model.Source{File: f}, "", "a kustomize patch (listed in %s): skipped; render the kustomization with -k %s", k, filepath.Dir(k))
			continue
		}
		out = append(out, f)
	}
	return out
}

// special names the type of a file that is not regular.
func special(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
