#!/usr/bin/env bash
# The scaling curve of docs/performance.md: the built binary, as users run
# it, on generated clusters (8 workloads and 5 policies a namespace), for
# inventory, reach and audit with -o json and report -o html: wall time,
# CPU time (user+system: steadier than wall on a shared machine) and peak
# RSS, one line each. Sizes are the arguments (default 100 300 1000 3000).
#   hack/bench-scale.sh 100 300 1000 3000 10000
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/time ]]; then
	echo "bench-scale: needs GNU time (/usr/bin/time, Debian package \"time\") for CPU time and peak memory" >&2
	exit 2
fi
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100 300 1000 3000)
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ringfence" ./cmd/ringfence
printf '%-10s %6s %9s %8s %8s %9s %10s\n' command ns yaml-MB wall-s cpu-s rss-MiB output-MB
for n in "${sizes[@]}"; do
	dir="$bin/cluster-$n"
	"$bin/ringfence" gencluster --namespaces "$n" --out "$dir" 2>/dev/null
	mb="$(du -sm "$dir" | cut -f1)"
	for c in "inventory -o json" "reach -o json" "audit -o json" "report -o html"; do
		# audit exits 1 when it finds something: that is a result, not a failure.
		line="$( { /usr/bin/time -f '%e %U %S %M' "$bin/ringfence" $c -f "$dir" >"$bin/out" || true; } 2>&1 | tail -1)"
		read -r wall user sys rss <<<"$line"
		printf '%-10s %6d %9s %8s %8.2f %9d %10.1f\n' "${c%% *}" "$n" "$mb" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" $((rss / 1024)) \
			"$(awk -v b="$(stat -c %s "$bin/out")" 'BEGIN{print b/1048576}')"
	done
	rm -rf "$dir"
done
