package memlimit

import (
	"testing"
	"testing/fstest"
)

// TestMemoryLimit checks that the soft limit follows the tightest of the
// cgroup limits and the machine's memory, with a fallback when none is
// readable.
func TestMemoryLimit(t *testing.T) {
	meminfo := &fstest.MapFile{Data: []byte("MemTotal:       24683664 kB\nMemFree:        1000 kB\n")}
	machine := int64(24683664) << 10
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  int64
	}{
		{"machine only", fstest.MapFS{"proc/meminfo": meminfo}, machine / 4 * 3},
		{"cgroup v2 limit below the machine", fstest.MapFS{"proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": {Data: []byte("4294967296\n")}}, 3 << 30},
		{"cgroup v2 without a limit", fstest.MapFS{"proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": {Data: []byte("max\n")}}, machine / 4 * 3},
		{"cgroup v1 without a limit", fstest.MapFS{"proc/meminfo": meminfo, "sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")}}, machine / 4 * 3},
		{"cgroup v1 limit", fstest.MapFS{"proc/meminfo": meminfo, "sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("1073741824\n")}}, 768 << 20},
		{"nothing readable", fstest.MapFS{}, fallbackLimit},
		{"garbage", fstest.MapFS{"proc/meminfo": {Data: []byte("MemTotal: lots\n")}, "sys/fs/cgroup/memory.max": {Data: []byte("-1\n")}}, fallbackLimit},
	} {
		if got := Limit(c.files); got != c.want {
			t.Errorf("%s: Limit = %d, want %d", c.name, got, c.want)
		}
	}
}
