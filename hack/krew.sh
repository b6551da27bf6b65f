#!/usr/bin/env bash
# Builds the kubectl-ringfence release archives and writes the krew plugin
# manifest for them, with their sha256 checksums:
#
#   hack/krew.sh v0.3.0 [OUTDIR]     # default OUTDIR: dist
#
# OUTDIR gets kubectl-ringfence_<version>_<os>_<arch>.tar.gz (.zip on Windows)
# and ringfence.yaml, the manifest to copy to plugins/ringfence.yaml and submit
# to krew-index once the archives are attached to the GitHub release <version>.
# PLATFORMS narrows the build (default: linux, darwin and windows on amd64 and
# arm64). Archives are reproducible: same sources and Go release, same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: hack/krew.sh vX.Y.Z [outdir]}"
out="${2:-dist}"
platforms="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
repo="https://github.com/ringfence/ringfence"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
entries=""
for p in $platforms; do
	os="${p%/*}" arch="${p#*/}" exe=""
	[[ "$os" == windows ]] && exe=".exe"
	stage="$(mktemp -d)"
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X github.com/ringfence/ringfence/internal/cli.version=$version" \
		-o "$stage/kubectl-ringfence$exe" ./cmd/kubectl-ringfence
	cp README.md "$stage/"
	touch -d 2000-01-01T00:00:00Z "$stage"/*
	name="kubectl-ringfence_${version}_${os}_${arch}"
	if [[ "$os" == windows ]]; then
		archive="$name.zip"
		rm -f "$out/$archive"
		(cd "$stage" && zip -qX "$out/$archive" "kubectl-ringfence$exe" README.md)
	else
		archive="$name.tar.gz"
		tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=2000-01-01T00:00:00Z \
			-cf - "kubectl-ringfence$exe" README.md | gzip -n >"$out/$archive"
	fi
	rm -rf "$stage"
	sum="$(sha256sum "$out/$archive" | cut -d' ' -f1)"
	entries+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $repo/releases/download/$version/$archive
    sha256: $sum
    bin: kubectl-ringfence$exe
"
done
cat >"$out/ringfence.yaml" <<MANIFEST
# krew plugin manifest (https://krew.sigs.k8s.io/docs/developer-guide/plugin-manifest/),
# written by hack/krew.sh $version.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: ringfence
spec:
  version: $version
  homepage: $repo
  shortDescription: Audit who reaches whom across K8s and AWS fences
  description: |
    ringfence reads manifests, the live cluster and AWS security groups, and
    computes who can reach whom across NetworkPolicies and security groups.
    It audits ML workloads and their credentials for exposure, explains any
    verdict rule by rule, generates least-privilege policies, and reviews a
    change before it merges: \`kubectl ringfence diff --base-ref origin/main\`
    says which connections, exposures and findings it opens or closes.
  caveats: |
    Without -f, ringfence reads the cluster of the current kubeconfig context
    and needs list access to pods, workloads, services, ingresses and network
    policies. It never writes to the cluster unless a verb says it does.
  platforms:
$entries
MANIFEST
echo "$out/ringfence.yaml"
