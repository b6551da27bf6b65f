package k8s

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterError is a live cluster that could not be read. Its message says,
// in kubectl's words, what went wrong with which context and server, and
// what to do about it; the client-go error it explains is kept for errors.Is
// and errors.As but not printed (it repeats request URLs the user never
// typed).
type ClusterError struct {
	Context string
	Server  string
	// What happened, and what to do.
	Msg, Hint string
	Err       error
}

func (e *ClusterError) Error() string {
	var b strings.Builder
	b.WriteString("cluster")
	switch {
	case e.Context != "" && e.Server != "":
		fmt.Fprintf(&b, " (context %q, server %s)", e.Context, e.Server)
	case e.Context != "":
		fmt.Fprintf(&b, " (context %q)", e.Context)
	case e.Server != "":
		fmt.Fprintf(&b, " (server %s)", e.Server)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("\n  ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *ClusterError) Unwrap() error { return e.Err }

// conn is a resolved kubeconfig context: what the messages name.
type conn struct {
	cfg       *rest.Config
	context   string
	server    string
	user      string
	namespace string // the context's namespace, "default" when it has none
	timeout   time.Duration
}

func (c *conn) fail(err error, msg, hint string) *ClusterError {
	return &ClusterError{Context: c.context, Server: c.server, Msg: msg, Hint: hint, Err: err}
}

// kubectlCmd is a kubectl command line for the same context, for hints.
func (c *conn) kubectlCmd(args string) string {
	if c.context == "" {
		return "kubectl " + args
	}
	return fmt.Sprintf("kubectl --context %s %s", c.context, args)
}

// RESTConfig resolves kubeconfig and context the way kubectl does, and
// returns the context's name and default namespace with the config.
func RESTConfig(opts ClusterOptions) (*rest.Config, string, string, error) {
	c, err := connect(opts)
	if err != nil {
		return nil, "", "", err
	}
	return c.cfg, c.context, c.namespace, nil
}

// connect resolves the kubeconfig like kubectl: --kubeconfig, else
// $KUBECONFIG (a list of files, merged), else ~/.kube/config; --context,
// else the current context. Every way this fails gets a message that says
// which file or context and what to do.
func connect(opts ClusterOptions) (*conn, error) {
	if opts.Kubeconfig != "" {
		if _, err := os.Stat(opts.Kubeconfig); err != nil {
			msg := err.Error()
			var pe *os.PathError
			if errors.As(err, &pe) {
				msg = pe.Err.Error()
			}
			return nil, &ClusterError{Msg: fmt.Sprintf("--kubeconfig %s: %s", opts.Kubeconfig, msg),
				Hint: "give the path of an existing kubeconfig file (kubectl config view --kubeconfig <file> checks one)", Err: err}
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, &ClusterError{Context: opts.Context, Msg: "reading the kubeconfig: " + err.Error(),
			Hint: "check the file with: kubectl config view", Err: err}
	}
	c := &conn{context: opts.Context, timeout: opts.Timeout}
	if c.context == "" {
		c.context = raw.CurrentContext
	}
	if c.timeout == 0 {
		c.timeout = 30 * time.Second
	}
	if kctx := raw.Contexts[c.context]; kctx != nil {
		c.user = kctx.AuthInfo
		if cl := raw.Clusters[kctx.Cluster]; cl != nil {
			c.server = cl.Server
		}
	}
	cfg, err := cc.ClientConfig()
	switch {
	case err == nil:
	case clientcmd.IsEmptyConfig(err) || (len(raw.Contexts) == 0 && opts.Context == ""):
		where := "$KUBECONFIG is not set and " + clientcmd.RecommendedHomeFile + " does not exist"
		if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
			where = "$KUBECONFIG (" + env + ") holds no context"
		}
		if opts.Kubeconfig != "" {
			where = opts.Kubeconfig + " holds no context"
		}
		return nil, &ClusterError{Msg: "no kubeconfig: " + where,
			Hint: "give a cluster with --kubeconfig <file> and --context <name> (e.g. after aws eks update-kubeconfig), or manifests with -f", Err: err}
	case raw.Contexts[c.context] == nil && c.context != "":
		return nil, &ClusterError{Context: c.context, Msg: fmt.Sprintf("context %q does not exist in the kubeconfig", c.context),
			Hint: "list the contexts with: kubectl config get-contexts", Err: err}
	default:
		return nil, c.fail(err, "invalid kubeconfig: "+err.Error(), "check it with: "+c.kubectlCmd("config view --minify"))
	}
	c.cfg = cfg
	if c.server == "" {
		c.server = cfg.Host
	}
	if c.namespace, _, err = cc.Namespace(); err != nil {
		return nil, c.fail(err, "reading the context's namespace: "+err.Error(), "")
	}
	return c, nil
}

// explain turns an error of a request into what a kubectl user recognizes:
// the cause (refused, timed out, rejected credentials, RBAC), never a raw
// request URL. what says which request failed ("listing pods").
func (c *conn) explain(err error, what string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ce *ClusterError
	if errors.As(err, &ce) {
		return err
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case apierrors.IsUnauthorized(err):
		user := "the kubeconfig's user"
		if c.user != "" {
			user = fmt.Sprintf("user %q", c.user)
		}
		return c.fail(err, fmt.Sprintf("the API server rejected the credentials of %s (401 Unauthorized) while %s", user, what),
			"the token or certificate is expired or wrong: log in again or refresh the kubeconfig (e.g. aws eks update-kubeconfig --name <cluster>), then check with: "+c.kubectlCmd("auth whoami"))
	case apierrors.IsForbidden(err):
		return c.fail(err, fmt.Sprintf("%s: %s", what, forbiddenReason(err)),
			"grant the read-only role of docs/rbac.md, or check your rights with: "+c.kubectlCmd("auth can-i --list"))
	case errors.Is(err, syscall.ECONNREFUSED):
		return c.fail(err, fmt.Sprintf("the connection to the server was refused while %s", what),
			"is the cluster running, and is the server address in the kubeconfig right? Check with: "+c.kubectlCmd("cluster-info"))
	case errors.As(err, &dns):
		return c.fail(err, fmt.Sprintf("cannot resolve the server's host name %q while %s", dns.Name, what),
			"check the server address in the kubeconfig, your DNS and VPN; check with: "+c.kubectlCmd("cluster-info"))
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return c.fail(err, fmt.Sprintf("the server's TLS certificate is not trusted while %s: %s", what, tlsReason(err)),
			"the kubeconfig's certificate-authority-data does not match this server; fetch a fresh kubeconfig for it")
	case strings.Contains(err.Error(), "getting credentials: "):
		// The kubeconfig's exec plugin (aws eks get-token, gke-gcloud-auth-plugin...) failed.
		return c.fail(err, fmt.Sprintf("the kubeconfig's credential plugin for user %q failed while %s: %s", c.user, what, stripURL(err)),
			"run the plugin's command from the kubeconfig by hand (kubectl config view --minify shows it), or log in again")
	case isTimeout(err):
		return c.fail(err, fmt.Sprintf("the server did not answer within %s while %s", c.timeout, what),
			"is the server reachable from here (VPN, private endpoint, security group)? Raise the limit with --request-timeout; check with: "+c.kubectlCmd("cluster-info"))
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return c.fail(err, fmt.Sprintf("%s: %s", what, se.ErrStatus.Message), "")
	}
	return c.fail(err, fmt.Sprintf("%s: %s", what, stripURL(err)), "check the cluster with: "+c.kubectlCmd("cluster-info"))
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tlsReason(err error) string {
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return "signed by an unknown authority"
	}
	var hostname x509.HostnameError
	if errors.As(err, &hostname) {
		return hostname.Error()
	}
	return stripURL(err)
}

// stripURL drops the `Get "https://...": ` prefix of a transport error: the
// request URL (with its ?limit=500&timeout=30s) says nothing the message
// does not.
func stripURL(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, `": `); strings.HasPrefix(msg, "Get \"") && i > 0 {
		msg = msg[i+3:]
	}
	return msg
}

// forbiddenReason is the API server's own RBAC message, which names the
// user, the verb and the resource ("User "x" cannot list resource
// "networkpolicies" in API group "networking.k8s.io" in the namespace
// "ml""), without the repeated resource name in front.
func forbiddenReason(err error) string {
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		return "forbidden"
	}
	msg := se.ErrStatus.Message
	if i := strings.Index(msg, " is forbidden: "); i >= 0 {
		msg = msg[i+len(" is forbidden: "):]
	}
	return "forbidden: " + msg
}
