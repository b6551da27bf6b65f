#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that controller-runtime's envtest
# needs, from source via the Go module proxy, into <repo>/.cache/testbin.
#
# Why build instead of download: the envtest release tarballs are not
# reachable from CI/dev sandboxes, the Go module proxy is. The versions are
# pinned in hack/testbin/go.mod (a separate module, so kubernetes' dependency
# graph never touches the root module).
#
# Usage:  export KUBEBUILDER_ASSETS="$(hack/testbin.sh)"
# The last stdout line is the assets directory; all logging goes to stderr.
# Re-runs are no-ops unless the pinned inputs or the Go toolchain changed.
# Env: TESTBIN_DIR overrides the output directory (default <repo>/.cache/testbin).
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"
mod_dir="${script_dir}/testbin"
out_dir="${TESTBIN_DIR:-${repo_root}/.cache/testbin}"
stamp="${out_dir}/.stamp"
binaries=(kube-apiserver etcd)

log() { printf 'testbin: %s\n' "$*" >&2; }

# A go.work at the repo root (present or future) would otherwise hijack the
# nested tools module and fail with "not one of the workspace modules".
export GOWORK=off
# Official kube/etcd server binaries are static; it also means no C toolchain
# is needed and the result does not depend on the host libc.
export CGO_ENABLED=0

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum | cut -d' ' -f1
	else
		shasum -a 256 | cut -d' ' -f1
	fi
}

# Versions are read straight from go.mod (tidy keeps one "path version" per
# line) rather than via `go list -m`, so that a cache-hit check never needs
# the module cache, e.g. in CI where only .cache/ was restored.
modver() { awk -v p="$1" '$1 == p { print $2; exit }' "${mod_dir}/go.mod"; }
kube_version="$(modver k8s.io/kubernetes)"
etcd_version="$(modver go.etcd.io/etcd/server/v3)"
if [[ -z "${kube_version}" || -z "${etcd_version}" ]]; then
	log "cannot find kubernetes/etcd versions in ${mod_dir}/go.mod"
	exit 1
fi

# Everything that can change the produced binaries: pinned versions, go.sum,
# the etcd main package, this script (build flags) and the toolchain/target.
want_stamp="$(
	printf 'kubernetes %s\netcd %s\n' "${kube_version}" "${etcd_version}"
	(cd "${mod_dir}" && go env GOVERSION GOOS GOARCH)
	printf 'inputs %s\n' "$(cat "${mod_dir}/go.mod" "${mod_dir}/go.sum" \
		"${mod_dir}/etcd/main.go" "${BASH_SOURCE[0]}" | sha256)"
)"

up_to_date() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x "${out_dir}/${b}" ]] || return 1
	done
	[[ -f "${stamp}" && "$(cat "${stamp}")" == "${want_stamp}" ]]
}

mkdir -p "${out_dir}"

if ! up_to_date; then
	# Serialise concurrent callers (e.g. several test packages bootstrapping
	# at once) so only one pays for the multi-minute build; flock is
	# optional (absent on macOS), the atomic renames below keep things
	# consistent without it.
	if command -v flock >/dev/null 2>&1; then
		exec 9>"${out_dir}/.lock"
		flock 9
	fi
fi

if up_to_date; then
	log "kube-apiserver ${kube_version} and etcd ${etcd_version} are up to date"
else
	log "building kube-apiserver ${kube_version} and etcd ${etcd_version} (first build takes several minutes)"
	start=${SECONDS}

	# Without these the apiserver reports v0.0.0-master from /version; the
	# variable list mirrors kubernetes' hack/lib/version.sh. The module's
	# commit time stands in for a build date so the link stays reproducible.
	build_date="$(cd "${mod_dir}" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
	minor="${kube_version#v*.}"
	minor="${minor%%.*}"
	major="${kube_version#v}"
	major="${major%%.*}"
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X ${pkg}.gitVersion=${kube_version}"
		ldflags+=" -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
		ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
	done

	tmp="$(mktemp -d "${out_dir}/.build.XXXXXX")"
	trap 'rm -rf "${tmp}"' EXIT
	# One invocation for both so shared dependencies (grpc, etcd client,
	# otel, ...) are compiled once; -o <dir>/ names binaries after their
	# packages, which is exactly what envtest looks for.
	(cd "${mod_dir}" && go build -trimpath -ldflags="${ldflags}" -o "${tmp}/" \
		k8s.io/kubernetes/cmd/kube-apiserver ./etcd)

	# Rename into place (atomic on one filesystem) and write the stamp last,
	# so an interrupted build is never mistaken for a complete one.
	rm -f "${stamp}"
	for b in "${binaries[@]}"; do
		mv -f "${tmp}/${b}" "${out_dir}/${b}"
	done
	printf '%s\n' "${want_stamp}" >"${stamp}"
	log "built in $((SECONDS - start))s"
fi

echo "${out_dir}"
