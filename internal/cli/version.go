package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
)

// version is set at link time by the Makefile (-X); `go install ...@vX`
// builds carry their module version in the build info instead.
var version = ""

// Version returns ringfence's version: the linked one, else the module's.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionInfo is `version -o json`: what a script needs to decide whether
// this build will do (the commit when the build recorded it).
type versionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	Commit    string `json:"commit,omitempty"`
	// Modified is true when the commit's work tree had changes.
	Modified bool `json:"modified,omitempty"`
}

func newVersion(s Streams) *cobra.Command {
	var out outputFlag
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print ringfence's version",
		Example: "  ringfence version\n  ringfence version -o json | jq -r .version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := out.check(); err != nil {
				return err
			}
			v := versionInfo{Version: Version(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, st := range bi.Settings {
					switch st.Key {
					case "vcs.revision":
						v.Commit = st.Value
					case "vcs.modified":
						v.Modified = st.Value == "true"
					}
				}
			}
			if out.value == "json" {
				return render.JSON(s.Out, v)
			}
			_, err := fmt.Fprintf(s.Out, "ringfence %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
			return err
		},
	}
	out.add(cmd, "text", "json")
	return cmd
}
