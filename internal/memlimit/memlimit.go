// Package memlimit sets the garbage collector up for ringfence's binaries:
// a short-lived batch over one large heap (a cluster's objects).
package memlimit

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// GCPercent is the binaries' GOGC. Collecting twice less often than Go's
// default saves time; four times less (400, before issue 18) saved a
// little more but let a 10,000-namespace inventory peak at 2.6 GiB. With
// loading no longer making a generic copy of every document, 200 costs
// about 5% more CPU than 400 at 3,000 namespaces and keeps 10,000 under
// 2 GiB (docs/performance.md).
const GCPercent = 200

// Configure applies GCPercent and the soft memory limit from Limit, unless
// GOGC or GOMEMLIMIT say otherwise.
func Configure() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(Limit(os.DirFS("/")))
	}
}

// fallbackLimit is the soft memory limit when neither the cgroup nor
// /proc/meminfo says how much memory there is.
const fallbackLimit = 2 << 30

// Limit derives the garbage collector's soft limit from the memory
// the process may use: the smallest of the cgroup v2 limit (memory.max),
// the cgroup v1 limit (memory.limit_in_bytes) and the machine's MemTotal,
// of which it takes three quarters (the rest is the runtime's own overhead,
// the page cache of the inputs and whatever else runs). A fixed limit
// either thrashed the collector on large inputs (1 GiB held a 3,000-
// namespace cluster's heap, so it collected continuously) or would let a
// small container be killed. root is the file system holding /sys and
// /proc (os.DirFS("/") in the binary), so tests can feed it files.
func Limit(root fs.FS) int64 {
	var avail int64
	take := func(n int64) {
		if n > 0 && (avail == 0 || n < avail) {
			avail = n
		}
	}
	for _, p := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := fs.ReadFile(root, p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" { // cgroup v2: no limit
			continue
		}
		// cgroup v1 writes a huge number (a page-rounded MaxInt64) for
		// no limit; MemTotal below caps it anyway.
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			take(n)
		}
	}
	if b, err := fs.ReadFile(root, "proc/meminfo"); err == nil {
		take(memTotal(b))
	}
	if avail == 0 {
		return fallbackLimit
	}
	return avail / 4 * 3
}

// memTotal reads MemTotal (in kB) from /proc/meminfo, or 0.
func memTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil && n > 0 {
				return n << 10
			}
		}
	}
	return 0
}
