#!/usr/bin/env bash
# Regenerates what controller-gen derives from api/v1alpha1: the deep copies
# (api/v1alpha1/zz_generated.deepcopy.go) and the Fence CRD of the Helm chart
# (deploy/ringfence-controller/crds/). The version is pinned here; `go run`
# fetches it through the Go module proxy, outside the root module's graph.
#
# Usage: hack/generate.sh [crd-dir object-dir]
# With directories, writes there instead (the staleness test in deploy/
# compares them with the committed files).
set -euo pipefail
CONTROLLER_GEN=sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crd_dir="${1:-${repo_root}/deploy/ringfence-controller/crds}"
object_dir="${2:-}"
cd "${repo_root}"
export GOWORK=off
if [[ -n "${object_dir}" ]]; then
	go run "${CONTROLLER_GEN}" object paths=./api/... output:object:dir="${object_dir}"
else
	go run "${CONTROLLER_GEN}" object paths=./api/...
fi
go run "${CONTROLLER_GEN}" crd paths=./api/... output:crd:dir="${crd_dir}"
