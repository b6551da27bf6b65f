// Package load reads everything a user points ringfence at (files,
// directories, standard input, a live cluster) into one model.World, and
// reports what it could not use.
package load

import (
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
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/model"
)

// Options says what to load.
type Options struct {
	// Files are paths given with -f: files, directories (walked
	// recursively for .yaml, .yml and .json) or "-" for Stdin.
	Files []string
	Stdin io.Reader
	// Namespace is given to namespaced objects from files that have none,
	// and limits a live cluster to one namespace.
	Namespace string
	// Strict turns unknown kinds into an error.
	Strict bool
	// Cluster, when set, loads a live cluster as well.
	Cluster *k8s.ClusterOptions
	// AWS, when set, reads a live AWS account into the same builder as
	// the AWS documents in files (after them).
	AWS func(context.Context, *aws.Builder) error
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
// half-loaded. Unknown kinds are counted in the report (an error when
// Strict).
func Load(ctx context.Context, opts Options) (*Result, error) {
	if len(opts.Files) == 0 && opts.Cluster == nil && opts.AWS == nil {
		return nil, ErrNoInput
	}
	report := &document.Report{}
	b := k8s.NewBuilder(opts.Namespace, report)
	res := &Result{Report: report}
	paths, err := expand(opts.Files)
	if err != nil {
		return nil, err
	}
	cloud := aws.NewBuilder(report)
	for _, in := range readAll(paths, opts.Stdin, opts.Namespace) {
		if in.err != nil {
			return nil, in.err
		}
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

// input is one file's decoded objects, or why it could not be read.
type input struct {
	decoded []*k8s.Decoded
	// aws holds documents told by their shape, read in order afterwards.
	aws []awsDoc
	err error
}

type awsDoc struct {
	obj   *document.Object
	shape aws.Shape
}

// readAll reads and decodes the inputs on every core; the results keep the
// order of paths, so what is built from them does not depend on timing.
func readAll(paths []string, stdin io.Reader, namespace string) []input {
	out := make([]input, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(paths)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = read(paths[i], stdin, namespace)
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// read reads one input and decodes its objects; it runs on every core.
func read(path string, stdin io.Reader, namespace string) input {
	var in io.Reader
	if path == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		in = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return input{err: &document.Error{Source: model.Source{File: path}, Msg: cleanPathError(err)}}
		}
		defer f.Close()
		in = f
	}
	objs, err := document.Read(path, in)
	if err != nil {
		return input{err: err}
	}
	var out input
	for _, o := range objs {
		if o.Kind == "" {
			if shape := aws.Recognize(o); shape != "" {
				out.aws = append(out.aws, awsDoc{obj: o, shape: shape})
				continue
			}
		}
		d, err := k8s.Decode(o, namespace)
		if err != nil {
			return input{err: err}
		}
		out.decoded = append(out.decoded, d)
	}
	return out
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
// recursively in lexical order; files named explicitly are read whatever
// their extension. A path given twice is read once.
func expand(args []string) ([]string, error) {
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
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return &document.Error{Source: model.Source{File: p}, Msg: cleanPathError(err)}
			}
			if !d.IsDir() && manifestExt[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			add(f)
		}
	}
	return out, nil
}
