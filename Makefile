# ringfence: `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/ringfence/ringfence/internal/cli.version=$(VERSION)
GO ?= go
FUZZTIME ?= 30s
BENCHTIME ?= 1x
# Namespace counts of BenchmarkScale (the first two give the ratios it prints).
SCALE ?= 1000,3000
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/ringfence
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ringfence ./cmd/ringfence

.PHONY: testbin
testbin: ## Build the kube-apiserver and etcd the live-cluster tests run (cached in .cache/testbin)
	@hack/testbin.sh >/dev/null

.PHONY: tools
tools: ## Build the pinned Helm and controller-gen the chart and CRD tests run (Go build cache)
	@hack/helm.sh version --short >/dev/null
	@GOWORK=off $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 --version >/dev/null

.PHONY: generate
generate: ## Regenerate the Fence CRD (deploy/) and deep copies from api/v1alpha1
	hack/generate.sh

.PHONY: test
test: testbin tools ## Run every test, the live-cluster ones against a real kube-apiserver and etcd
	KUBEBUILDER_ASSETS="$$(hack/testbin.sh)" RINGFENCE_SARIF_SCHEMA="$$(hack/sarif-schema.sh)" RINGFENCE_CHROMIUM="$$(hack/chromium.sh)" RINGFENCE_MOTO_SERVER="$$(hack/moto.sh)" RINGFENCE_LIVE_TESTS=required $(GO) test -count=1 -timeout 30m ./...

.PHONY: bench
bench: ## Run the benchmarks and print their figures (BENCHTIME=1x by default)
	RINGFENCE_SCALE_NAMESPACES=$(SCALE) RINGFENCE_LOAD_NAMESPACES=$(SCALE) $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...
	hack/bench-reach.sh
	hack/bench-scale.sh 100 300 1000 3000 10000

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s); new finds land in testdata/fuzz
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: golden
golden: ## Rewrite the golden files (review the diff before committing)
	$(GO) test ./internal/cli -update

.PHONY: clean
clean: ## Remove build outputs (keeps the testbin cache)
	rm -rf bin
