package cli

import (
	"fmt"
	"io"

	"github.com/ringfence/ringfence/internal/load"
)

// warnUnread says, for every verb, which kinds could not be read and why:
// what depends on them is unknown, never allowed or denied by default. How
// a live read was narrowed (-A without cluster-wide rights) is said too:
// those are the report's notices about a cluster as a whole.
func warnUnread(w io.Writer, res *load.Result) {
	for _, n := range res.Report.Warnings {
		if n.Source.Cluster != "" && n.Object == "" {
			fmt.Fprintf(w, "ringfence: warning: %s\n", n)
		}
	}
	for _, u := range res.World.Unread {
		where := "in every namespace"
		if u.Namespace != "" {
			where = "in namespace " + u.Namespace
		}
		fmt.Fprintf(w, "ringfence: warning: %s %s could not be read (%s): what depends on them is unknown\n", u.Kind, where, u.Reason)
	}
}
