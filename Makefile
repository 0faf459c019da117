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
# helm for the chart tests, built from the Go module proxy at this version into bin/.
HELM_VERSION ?= v4.3.1
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)/helm
# The CRDs of the optional objects the chart renders (ServiceMonitor, PrometheusRule,
# cert-manager Certificate, Gateway API HTTPRoute), from their projects' Go modules, so
# that the chart test applies them to a real API server with the real schemas.
PROMETHEUS_OPERATOR_VERSION ?= v0.85.0
CERT_MANAGER_VERSION ?= v1.21.2
GATEWAY_API_VERSION ?= v1.6.3
THIRD_PARTY_CRDS ?= $(LOCALBIN)/third-party-crds
CHART ?= charts/scim-operator

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and the manager's RBAC from the API types and markers (config/ and the chart).
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	@rm -f $(CHART)/crds/*.yaml && mkdir -p $(CHART)/crds $(CHART)/files/rbac
	cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/rbac/role.yaml $(CHART)/files/rbac/role.yaml

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
	@if [ -n "$$(git status --porcelain -- api config $(CHART) go.mod go.sum)" ]; then \
		echo "generated files or go.mod are stale; run 'make generate manifests' and 'go mod tidy' and commit:"; \
		git status --porcelain -- api config $(CHART) go.mod go.sum; git --no-pager diff --stat -- api config $(CHART) go.mod go.sum; exit 1; \
	fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

.PHONY: k8s-binaries
k8s-binaries: ## Provide kube-apiserver, etcd and kubectl in bin/k8s (download, else build from source once).
	@mkdir -p $(LOCALBIN)
	@dir=$$(K8S_VERSION=$(K8S_VERSION) hack/k8s-binaries.sh) && ln -sfn "$$dir" $(LOCALBIN)/k8s

.PHONY: test
test: vet k8s-binaries helm third-party-crds $(if $(wildcard $(SHARED)/peers),newman) ## Run unit tests, envtest suites, chart tests and SCIM conformance tests.
	KUBEBUILDER_ASSETS=$(LOCALBIN)/k8s SCIM_OPERATOR_SHARED=$(SHARED) HELM=$(HELM) THIRD_PARTY_CRDS=$(THIRD_PARTY_CRDS) \
		$(if $(wildcard $(SHARED)/peers),SCIM_REQUIRE_PEERS=1) go test $(GO_TEST_FLAGS) ./... -count=1

FUZZTIME ?= 10m
FUZZ_TARGETS = scimserver/filter:FuzzParse scimserver/filter:FuzzParsePath scimserver/patch:FuzzApply scimserver/schema:FuzzNormalize connectors/webhook:FuzzVerify scimserver/clientaddr:FuzzOf scimserver/store:FuzzDocOf scimserver/docjson:FuzzAppend scimserver/queryparam:FuzzGet

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (CI runs them briefly; 10m is the release bar).
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		go test ./$$pkg -timeout 0 -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) || exit 1; done

.PHONY: helm
helm: $(HELM) ## Build helm (pinned) from the Go module proxy into bin/.
$(HELM):
	GOBIN=$(dir $(HELM)) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

.PHONY: third-party-crds
third-party-crds: $(THIRD_PARTY_CRDS)/.$(PROMETHEUS_OPERATOR_VERSION)-$(CERT_MANAGER_VERSION)-$(GATEWAY_API_VERSION) ## Fetch the ServiceMonitor, PrometheusRule, Certificate and HTTPRoute CRDs.
$(THIRD_PARTY_CRDS)/.$(PROMETHEUS_OPERATOR_VERSION)-$(CERT_MANAGER_VERSION)-$(GATEWAY_API_VERSION):
	@rm -rf $(THIRD_PARTY_CRDS) && mkdir -p $(THIRD_PARTY_CRDS)
	@cd $$(mktemp -d) && \
	po=$$(go mod download -json github.com/prometheus-operator/prometheus-operator@$(PROMETHEUS_OPERATOR_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
	cm=$$(go mod download -json github.com/cert-manager/cert-manager@$(CERT_MANAGER_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
	gw=$$(go mod download -json sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
	cp $$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
	   $$po/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml \
	   $$cm/deploy/crds/cert-manager.io_certificates.yaml \
	   $$gw/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml $(THIRD_PARTY_CRDS)/
	@chmod u+w $(THIRD_PARTY_CRDS)/*.yaml && touch $@

BENCHTIME ?= 2s

.PHONY: bench
bench: k8s-binaries ## Run the Go benchmarks of the hot paths (filters, PATCH, rendering, lists, a reconcile's logger); not part of make test.
	KUBEBUILDER_ASSETS=$(LOCALBIN)/k8s go test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) \
		./scimserver/filter ./scimserver/patch ./scimserver/benchmarks ./internal/logging

LOADTEST_USERS ?= 10000
LOADTEST_GROUPS ?= 100
LOADTEST_MEMBERS ?= 1000
# More flags of hack/loadtest, e.g. LOADTEST_ARGS="--skip-incremental --lookups 10000".
LOADTEST_ARGS ?=

.PHONY: loadtest
loadtest: k8s-binaries ## Entra ID-like load against a local control plane and the manager, with the write ceiling and HTTP floor (figures: bin/loadtest-USERS.json).
	KUBEBUILDER_ASSETS=$(LOCALBIN)/k8s go run ./hack/loadtest --embedded --users $(LOADTEST_USERS) --groups $(LOADTEST_GROUPS) \
		--members $(LOADTEST_MEMBERS) --json $(LOCALBIN)/loadtest-$(LOADTEST_USERS).json $(LOADTEST_ARGS)

CHAOS_SEEDS ?= 1,2,3

.PHONY: chaos
chaos: k8s-binaries ## Two replicas behind a proxy under faults (kills, API server outage, app failures, raced creates); fails on anything lost or duplicated.
	KUBEBUILDER_ASSETS=$(LOCALBIN)/k8s go run ./hack/chaos --seeds $(CHAOS_SEEDS)

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
