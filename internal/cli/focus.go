package cli

import (
	"github.com/ringfence/ringfence/internal/focus"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/spf13/cobra"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
)

// focusFlags are --from, --to, --port and --protocol of reach and diff.
type focusFlags struct {
	from, to, protocol string
	port               int32
}

func (f *focusFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "only traffic from: a namespace, namespace/name, a label selector (app=x,tier in (a,b)), an IP or CIDR, or internet, imds, aws:<SERVICE>:<region>")
	fl.StringVar(&f.to, "to", "", "only traffic to: the same forms as --from")
	fl.Int32Var(&f.port, "port", 0, "only this destination port (with --protocol)")
	fl.StringVar(&f.protocol, "protocol", "TCP", "protocol of --port: TCP, UDP or SCTP")
}

// parse builds the focus; named destinations resolve through the ranges
// publication (rangesFile, else the cached or embedded one).
func (f *focusFlags) parse(rangesFile string) (*focus.Focus, error) {
	return parseFocus(f.from, f.to, f.protocol, f.port, rangesFile)
}

func parseFocus(from, to, protocol string, port int32, rangesFile string) (*focus.Focus, error) {
	named := func(name string) (*netipx.IPSet, error) {
		doc, err := rangesSource(rangesFile)
		if err != nil {
			return nil, err
		}
		set, _, err := ranges.Named(doc, name)
		return set, err
	}
	var fc focus.Focus
	var err error
	if fc.From, err = focus.ParseEnd(from, ranges.IsNamed, named); err != nil {
		return nil, usagef("--from: %v", err)
	}
	if fc.To, err = focus.ParseEnd(to, ranges.IsNamed, named); err != nil {
		return nil, usagef("--to: %v", err)
	}
	if port != 0 {
		proto, ok := netset.ParseProtocol(corev1.Protocol(protocol))
		if !ok {
			return nil, usagef("unknown protocol %q: use TCP, UDP or SCTP", protocol)
		}
		if port < 1 || port > 65535 {
			return nil, usagef("--port %d is out of range 1-65535", port)
		}
		p := netset.PortRange(proto, port, port)
		fc.Ports = &p
	}
	return &fc, nil
}

// fromInternet reports whether --from names the internet, so that
// exposures (ways in from outside) stay in the focus.
func (f *focusFlags) fromInternet() bool { return f.from == "internet" }
