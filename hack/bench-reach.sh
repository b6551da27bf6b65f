#!/usr/bin/env bash
# Times `ringfence reach -o json` end to end (the built binary, as users run
# it) on synthetic clusters of 100, 300 and 1,000 namespaces, with peak
# memory. Prints one line per size.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ringfence" ./cmd/ringfence
for n in 100 300 1000; do
	dir="$bin/cluster-$n"
	"$bin/ringfence" gencluster --namespaces "$n" --out "$dir" 2>/dev/null
	best=""
	for _ in 1 2 3; do
		if [[ -x /usr/bin/time ]]; then
			line="$( { /usr/bin/time -f '%e %M' "$bin/ringfence" reach -f "$dir" -o json >/dev/null; } 2>&1 | tail -1)"
		else
			# Without GNU time (Debian package "time") there is no peak memory.
			TIMEFORMAT='%R 0'
			line="$( { time "$bin/ringfence" reach -f "$dir" -o json >/dev/null; } 2>&1 | tail -1)"
		fi
		secs="${line% *}"
		if [[ -z "$best" ]] || awk -v a="$secs" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then best="$line"; fi
	done
	printf 'reach -o json, %4d namespaces (%d workloads, %d policies): %ss wall (best of 3), %d MiB peak RSS\n' \
		"$n" $((n * 8)) $((n * 5)) "${best% *}" $(( ${best#* } / 1024 ))
done
