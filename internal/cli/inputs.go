package cli

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/helm"
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
	allowPartial  bool
	timeout       time.Duration
	nodeSG        []string
	podCIDRs      []string
	// applyFences analyses the inputs as generate's output for their
	// Fences would leave them; rangesFile is the publication it uses.
	applyFences bool
	rangesFile  string
	// ignore are --ignore patterns; verbose lists every warning of the
	// load (and, in audit, suppressed findings).
	ignore  []string
	verbose bool
	// kustomize are -k directories; chart, values and set the Helm chart
	// to render.
	kustomize   []string
	chart       string
	values, set []string
	// report is the last load's, for the verb's JSON "warnings".
	report *document.Report
	aws    awsFlags
	tiers  tierFlags
	// cache shares the decoding of identical files between loads (a
	// diff's two sides).
	cache *load.Cache
}

func (f *inputFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "filename", "f", nil, "file, directory (recursive: .yaml, .yml, .json) or - for stdin; repeatable; paths may also be given as arguments")
	fl.StringArrayVar(&f.ignore, "ignore", nil, "skip files and directories matching this gitignore-like pattern when walking a directory (repeatable; see also .ringfenceignore)")
	fl.StringArrayVarP(&f.kustomize, "kustomize", "k", nil, "render this kustomization directory as kubectl -k does and read the result (repeatable; local files only)")
	fl.StringVar(&f.chart, "chart", "", "render this local Helm chart (directory or .tgz) as helm template does and read the result")
	fl.StringArrayVar(&f.values, "values", nil, "values file for --chart (repeatable; later files win)")
	fl.StringArrayVar(&f.set, "set", nil, "value for --chart, as helm --set: key=value[,key=value] (repeatable)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list every input ringfence could not use (skipped files, unknown kinds, duplicates...), not just their count")
	// Paths as arguments are -f paths, as in kube-linter and kubescape.
	cmd.Args = func(_ *cobra.Command, args []string) error {
		f.files = append(f.files, args...)
		return nil
	}
	if !strings.Contains(cmd.Use, "[PATH]") {
		cmd.Use += " [PATH]..."
	}
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace for objects without one (files), or the namespace to read (cluster)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "read every namespace of the cluster")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fl.BoolVar(&f.strict, "strict", false, "fail on objects of kinds ringfence does not read")
	fl.BoolVar(&f.allowPartial, "allow-partial", false, "go on when the cluster lets no NetworkPolicy be read: they are then unknown, and every verdict that depends on them says so")
	fl.DurationVar(&f.timeout, "request-timeout", 30*time.Second, "timeout of each request to the cluster or, with --aws, to AWS")
	fl.StringArrayVar(&f.nodeSG, "node-sg", nil, "security groups of nodes whose instances are not given: <node-label-selector>=sg-a,sg-b (repeatable); a group only in a Terraform plan is named by its address (aws_security_group.nodes)")
	fl.StringSliceVar(&f.podCIDRs, "pod-cidr", nil, "where pods take their addresses (comma-separated or repeatable CIDRs): decides ipBlocks against pods whose addresses are not in the inputs (default: the Nodes' spec.podCIDRs, else the VPC on the VPC CNI)")
	f.aws.add(cmd)
	f.tiers.add(cmd)
}

// podRanges parses --pod-cidr.
func (f *inputFlags) podRanges() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range f.podCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, usagef("--pod-cidr %q: not a CIDR (for example 10.0.0.0/16)", c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
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
	opts := load.Options{Files: f.files, Stdin: cmd.InOrStdin(), Ignore: f.ignore, Kustomize: f.kustomize, Namespace: f.namespace, Strict: f.strict, Cache: f.cache}
	if f.chart != "" {
		opts.Charts = []helm.Options{{Chart: f.chart, Values: f.values, Set: f.set}}
	} else if len(f.values) > 0 || len(f.set) > 0 {
		return opts, usagef("--values and --set go with --chart")
	}
	if f.allNamespaces && f.namespace != "" {
		return opts, usagef("-n/--namespace and -A/--all-namespaces cannot be used together")
	}
	if f.fileless() || f.context != "" || f.kubeconfig != "" {
		opts.Cluster = &k8s.ClusterOptions{
			Kubeconfig:    f.kubeconfig,
			Context:       f.context,
			Namespace:     f.namespace,
			AllNamespaces: f.allNamespaces,
			Timeout:       f.timeout,
			AllowPartial:  f.allowPartial,
		}
		if isTerminal(cmd.ErrOrStderr()) {
			// One line redrawn on a terminal; nothing in a pipe or log.
			opts.Cluster.Progress = cmd.ErrOrStderr()
		}
		if !f.fileless() {
			// -n names the cluster's namespace; file objects keep their own.
			opts.Namespace = f.namespace
		}
	} else if f.allNamespaces {
		return opts, usagef("-A/--all-namespaces applies to a live cluster; with -f every namespace in the files is read")
	}
	return opts, f.aws.apply(cmd, &opts, f.timeout)
}

// fileless reports whether no files, kustomization or chart are given: the
// cluster is then read.
func (f *inputFlags) fileless() bool {
	return len(f.files) == 0 && len(f.kustomize) == 0 && f.chart == ""
}

// load reads every input the flags name.
func (f *inputFlags) load(cmd *cobra.Command) (*load.Result, error) {
	opts, err := f.options(cmd)
	if err != nil {
		return nil, err
	}
	// Check --node-sg and --pod-cidr before the (possibly slow) load.
	if _, err := f.nodeGroups(); err != nil {
		return nil, err
	}
	if _, err := f.podRanges(); err != nil {
		return nil, err
	}
	res, err := load.Load(cmd.Context(), opts)
	if err != nil {
		return nil, err
	}
	f.report = res.Report
	if !f.verbose {
		// What RBAC hid is named even without -v: an unread kind changes
		// verdicts, it is not a detail.
		warnUnread(cmd.ErrOrStderr(), res)
	}
	f.summarize(cmd.ErrOrStderr(), res.Report)
	return res, nil
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
	groups, _ := f.nodeGroups()
	if f.applyFences {
		if err := f.apply(cmd, res, groups); err != nil {
			return nil, nil, err
		}
	}
	pods, _ := f.podRanges()
	opts, err := f.engineOptions(cmd.Context(), groups)
	if err != nil {
		return nil, nil, err
	}
	opts.Level, opts.PodCIDRs = lvl, pods
	a, err := engine.Analyse(res.World, opts)
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
	out, problems, err := generatedWith(stderr, w, doc, generate.Options{NodeGroups: groups})
	if err == nil {
		for _, n := range out.Cut() {
			fmt.Fprintf(stderr, "ringfence: warning: the generated output cuts a need: %s\n", n)
		}
	}
	return out, problems, err
}

// generatedWith is generated with every option of generate.
func generatedWith(stderr io.Writer, w *model.World, doc *ranges.Document, opts generate.Options) (*generate.Output, []string, error) {
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
