#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the tests that open
# `ringfence report -o html` in a real headless browser, and prints its path
# last. It installs the package when missing (apt-get, as root); when it
# cannot, it prints an empty line: the browser tests then skip locally and
# fail under CI=true.
set -euo pipefail
find_chromium() {
	for c in "${RINGFENCE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
		if [[ -n "${c}" && -x "${c}" ]]; then
			echo "${c}"
			return 0
		fi
	done
	return 1
}
if path="$(find_chromium)"; then
	echo "${path}"
	exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	echo "chromium: not installed and cannot install it here (needs root and apt-get); the browser tests will skip (and fail under CI=true)" >&2
	echo ""
	exit 0
fi
echo "chromium: installing Debian's chromium package (apt-get install -y --no-install-recommends chromium)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium >&2; }; then
	echo "chromium: apt-get install failed; the browser tests will skip (and fail under CI=true)" >&2
	echo ""
	exit 0
fi
if path="$(find_chromium)"; then
	echo "${path}"
	exit 0
fi
echo "chromium: installed, but no chromium binary found" >&2
echo ""
