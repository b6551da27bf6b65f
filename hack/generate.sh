#!/usr/bin/env bash
# Regenerates what controller-gen derives from api/v1alpha1: the deep copies
# (api/v1alpha1/zz_generated.deepcopy.go) and the Fence CRD of the Helm chart
# (deploy/ringfence-controller/crds/). The version is pinned here; `go run`
# fetches it through the Go module proxy, outside the root module's graph.
#
# Usage: hack/generate.sh [output-dir-for-crds]
# The CRD test (internal/controller) runs it into a temporary directory and
# fails when the committed CRD differs.
set -euo pipefail
CONTROLLER_GEN=sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crd_dir="${1:-${repo_root}/deploy/ringfence-controller/crds}"
cd "${repo_root}"
export GOWORK=off
if [[ $# -eq 0 ]]; then
	go run "${CONTROLLER_GEN}" object paths=./api/...
fi
go run "${CONTROLLER_GEN}" crd paths=./api/... output:crd:dir="${crd_dir}"
