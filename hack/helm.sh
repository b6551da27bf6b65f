#!/usr/bin/env bash
# Runs Helm at a pinned version, built from source through the Go module
# proxy (the helm binary is not assumed on the machine; the first run
# compiles it, about a minute and a half, then Go's build cache serves it).
# Usage: hack/helm.sh template ringfence deploy/ringfence-controller ...
set -euo pipefail
export GOWORK=off
exec go run helm.sh/helm/v3/cmd/helm@v3.22.0 "$@"
