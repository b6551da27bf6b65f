package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"strconv"
	"strings"
)

// fallbackLimit is the soft memory limit when neither the cgroup nor
// /proc/meminfo says how much memory there is.
const fallbackLimit = 2 << 30

// memoryLimit derives the garbage collector's soft limit from the memory
// the process may use: the smallest of the cgroup v2 limit (memory.max),
// the cgroup v1 limit (memory.limit_in_bytes) and the machine's MemTotal,
// of which it takes three quarters (the rest is the runtime's own overhead,
// the page cache of the inputs and whatever else runs). A fixed limit
// either thrashed the collector on large inputs (1 GiB held a 3,000-
// namespace cluster's heap, so it collected continuously) or would let a
// small container be killed. root is the file system holding /sys and
// /proc (os.DirFS("/") in the binary), so tests can feed it files.
func memoryLimit(root fs.FS) int64 {
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
