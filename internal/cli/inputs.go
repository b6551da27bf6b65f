package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// inputFlags are the kubectl-like flags every analysing verb shares.
type inputFlags struct {
	files         []string
	namespace     string
	allNamespaces bool
	kubeconfig    string
	context       string
	strict        bool
	timeout       time.Duration
	nodeSG        []string
	// applyFences analyses the inputs as generate's output for their
	// Fences would leave them; rangesFile is the publication it uses.
	applyFences bool
	rangesFile  string
	aws         awsFlags
}

func (f *inputFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "filename", "f", nil, "file, directory (recursive: .yaml, .yml, .json) or - for stdin; repeatable")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace for objects without one (files), or the namespace to read (cluster)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "read every namespace of the cluster")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fl.BoolVar(&f.strict, "strict", false, "fail on objects of kinds ringfence does not read")
	fl.DurationVar(&f.timeout, "request-timeout", 30*time.Second, "timeout of each request to the cluster or, with --aws, to AWS")
	fl.StringArrayVar(&f.nodeSG, "node-sg", nil, "security groups of nodes whose instances are not given: <node-label-selector>=sg-a,sg-b (repeatable); a group only in a Terraform plan is named by its address (aws_security_group.nodes)")
	f.aws.add(cmd)
}

// addApply adds --apply-fences to a verb that analyses.
func (f *inputFlags) addApply(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.applyFences, "apply-fences", false, "analyse the inputs as they would be with `ringfence generate`'s output for their Fences applied: replaced policies deleted, generated ones added, Ingress and Service patches, security-group plan and instance metadata options in effect")
}

// nodeGroups parses --node-sg: a label selector, "=", and group ids.
func (f *inputFlags) nodeGroups() ([]engine.NodeGroups, error) {
	var out []engine.NodeGroups
	for _, v := range f.nodeSG {
		selector, groups, ok := splitNodeSG(v)
		if !ok {
			return nil, usagef("--node-sg %q: want <node-label-selector>=sg-...,sg-... (or Terraform addresses such as aws_security_group.nodes)", v)
		}
		sel, err := metav1.ParseToLabelSelector(selector)
		if err != nil {
			return nil, usagef("--node-sg %q: %v", v, err)
		}
		out = append(out, engine.NodeGroups{Selector: *sel, Groups: groups})
	}
	return out, nil
}

// options turns the flags into load options. Without -f the live cluster is
// read, as kubectl would; with -f, the cluster only when --context or
// --kubeconfig asks for it.
func (f *inputFlags) options(cmd *cobra.Command) (load.Options, error) {
	opts := load.Options{Files: f.files, Stdin: cmd.InOrStdin(), Namespace: f.namespace, Strict: f.strict}
	if f.allNamespaces && f.namespace != "" {
		return opts, usagef("-n/--namespace and -A/--all-namespaces cannot be used together")
	}
	if len(f.files) == 0 || f.context != "" || f.kubeconfig != "" {
		opts.Cluster = &k8s.ClusterOptions{
			Kubeconfig:    f.kubeconfig,
			Context:       f.context,
			Namespace:     f.namespace,
			AllNamespaces: f.allNamespaces,
			Timeout:       f.timeout,
		}
		if len(f.files) > 0 {
			// -n names the cluster's namespace; file objects keep their own.
			opts.Namespace = f.namespace
		}
	} else if f.allNamespaces {
		return opts, usagef("-A/--all-namespaces applies to a live cluster; with -f every namespace in the files is read")
	}
	return opts, f.aws.apply(cmd, &opts, f.timeout)
}

// load reads every input the flags name.
func (f *inputFlags) load(cmd *cobra.Command) (*load.Result, error) {
	opts, err := f.options(cmd)
	if err != nil {
		return nil, err
	}
	// Check --node-sg before the (possibly slow) load.
	if _, err := f.nodeGroups(); err != nil {
		return nil, err
	}
	return load.Load(cmd.Context(), opts)
}

// analyse loads the inputs and compiles them for reachability questions at
// a level ("workload" or "pod").
func (f *inputFlags) analyse(cmd *cobra.Command, level string) (*load.Result, *engine.Analysis, error) {
	lvl := engine.Level(level)
	if lvl != engine.LevelWorkload && lvl != engine.LevelPod {
		return nil, nil, usagef("unknown level %q: use workload or pod", level)
	}
	res, err := f.load(cmd)
	if err != nil {
		return nil, nil, err
	}
	networkNote(cmd, res)
	groups, _ := f.nodeGroups()
	if f.applyFences {
		if err := f.apply(cmd, res, groups); err != nil {
			return nil, nil, err
		}
	}
	a, err := engine.Analyse(res.World, engine.Options{Level: lvl, NodeGroups: groups})
	return res, a, err
}

// apply replaces the loaded world by the one generate's output for its
// Fences would leave. Generation problems are input errors: the Fences
// must generate before their result can be judged.
func (f *inputFlags) apply(cmd *cobra.Command, res *load.Result, groups []engine.NodeGroups) error {
	if len(res.World.Fences) == 0 {
		return usagef("--apply-fences: no Fence (ringfence.dev/v1alpha1) in the inputs")
	}
	doc, err := rangesSource(f.rangesFile)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	out, problems, err := generated(stderr, res.World, doc, groups)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "ringfence: warning: the generated output does not do what the Fences say: %s\n", p)
	}
	res.World = generate.Apply(res.World, out)
	return nil
}

// generated writes the output for the Fences of a world and checks it with
// the engine; generate's warnings go to stderr, the problems the check
// finds are returned.
func generated(stderr io.Writer, w *model.World, doc *ranges.Document, groups []engine.NodeGroups) (*generate.Output, []string, error) {
	opts := generate.Options{NodeGroups: groups}
	out, err := generate.Generate(w, doc, opts)
	if err != nil {
		return nil, nil, err
	}
	problems, err := generate.Verify(w, out, doc, opts)
	if err != nil {
		return nil, nil, err
	}
	for _, warning := range out.Warnings {
		fmt.Fprintf(stderr, "ringfence: warning: %s\n", warning)
	}
	return out, problems, nil
}
