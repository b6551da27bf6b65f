#!/usr/bin/env bash
# Fetches the official SARIF 2.1.0 JSON schema (as shipped in an npm package
# of Microsoft's SARIF tools) into <repo>/.cache/sarif, for the test that
# validates `ringfence audit -o sarif`. Prints the schema's path last.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${repo}/.cache/sarif"
schema="${dir}/sarif-2.1.0-rtm.5.json"
pkg="@microsoft/jest-sarif@1.0.0-beta.0"
if [[ ! -s "${schema}" ]]; then
	# Without npm the schema test is skipped (it says so); the structural
	# SARIF tests still run.
	if ! command -v npm >/dev/null 2>&1; then
		echo "sarif-schema: npm not found; the SARIF schema validation test will be skipped" >&2
		echo ""
		exit 0
	fi
	mkdir -p "${dir}"
	tmp="$(mktemp -d)"
	trap 'rm -rf "${tmp}"' EXIT
	if ! (cd "${tmp}" && npm pack --silent "${pkg}" >/dev/null 2>&1 && tar xzf ./*.tgz); then
		echo "sarif-schema: could not fetch ${pkg}; the SARIF schema validation test will be skipped" >&2
		echo ""
		exit 0
	fi
	cp "${tmp}/package/lib/schemas/sarif-2.1.0-rtm.5.json" "${schema}.tmp"
	mv "${schema}.tmp" "${schema}"
	echo "sarif-schema: fetched ${pkg}" >&2
fi
echo "${schema}"
