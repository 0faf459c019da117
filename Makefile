# scim-operator. `make help` lists the targets.

# Tools run from the Go module proxy at pinned versions; nothing is installed machine-wide.
CONTROLLER_GEN ?= go tool controller-gen
# The Kubernetes release whose kube-apiserver, etcd and kubectl envtest and `make run` use;
# it pairs with the k8s.io modules in go.mod.
K8S_VERSION ?= 1.37.2
GO_TEST_FLAGS ?= -race
LOCALBIN ?= $(CURDIR)/bin
# Third-party SCIM conformance suites live beside the repository in CI (never in it);
# a user's clone has none and their tests skip.
SHARED ?= $(abspath $(CURDIR)/../shared)
# newman runs Microsoft's Postman collection; npm installs it into bin/newman from the
# lock file in hack/newman (newman 6.2.2 and every dependency pinned).
NEWMAN ?= $(LOCALBIN)/newman/node_modules/.bin/newman

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and the manager's RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: verify
verify: generate manifests ## Fail when generated files or go.mod are not current.
	go mod tidy
	@if [ -n "$$(git status --porcelain -- api config go.mod go.sum)" ]; then \
		echo "generated files or go.mod are stale; run 'make generate manifests' and 'go mod tidy' and commit:"; \
		git status --porcelain -- api config go.mod go.sum; git --no-pager diff --stat -- api config go.mod go.sum; exit 1; \
	fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

.PHONY: k8s-binaries
k8s-binaries: ## Provide kube-apiserver, etcd and kubectl in bin/k8s (download, else build from source once).
	@mkdir -p $(LOCALBIN)
	@dir=$$(K8S_VERSION=$(K8S_VERSION) hack/k8s-binaries.sh) && ln -sfn "$$dir" $(LOCALBIN)/k8s

.PHONY: test
test: vet k8s-binaries $(if $(wildcard $(SHARED)/peers),newman) ## Run unit tests, envtest suites and SCIM conformance tests.
	KUBEBUILDER_ASSETS=$(LOCALBIN)/k8s SCIM_OPERATOR_SHARED=$(SHARED) \
		$(if $(wildcard $(SHARED)/peers),SCIM_REQUIRE_PEERS=1) go test $(GO_TEST_FLAGS) ./... -count=1

FUZZTIME ?= 10m
FUZZ_TARGETS = scimserver/filter:FuzzParse scimserver/filter:FuzzParsePath scimserver/patch:FuzzApply scimserver/schema:FuzzNormalize

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (CI runs them briefly; 10m is the release bar).
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		go test ./$$pkg -timeout 0 -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) || exit 1; done

.PHONY: newman
newman: $(NEWMAN) ## Install newman (npm, project-local) for Microsoft's Postman collection.
$(NEWMAN): hack/newman/package.json hack/newman/package-lock.json
	@mkdir -p $(LOCALBIN)/newman
	cp hack/newman/package.json hack/newman/package-lock.json $(LOCALBIN)/newman/
	npm ci --prefix $(LOCALBIN)/newman --no-audit --no-fund --loglevel=error
	@touch $@

##@ Build

.PHONY: build
build: ## Build the manager binary as the container image does.
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/scim-operator ./cmd/scim-operator

.PHONY: run
run: k8s-binaries ## Run the operator locally: against $KUBECONFIG, or an embedded control plane.
	go build -o $(LOCALBIN)/scim-operator-local ./cmd/scim-operator-local
	$(LOCALBIN)/scim-operator-local --k8s-binaries $(LOCALBIN)/k8s --data-dir $(LOCALBIN)/local

.PHONY: clean-local
clean-local: ## Delete the embedded control plane's data, so that the next `make run` starts clean.
	rm -rf $(LOCALBIN)/local
