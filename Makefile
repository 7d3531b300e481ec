SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO ?= go
NPM ?= npm
# Pinned here, not in go.mod: the linter's dependencies stay out of the module.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
# oasdiff compares the spec with its base in make breaking and make changelog,
# installed at this version into TOOLS_BIN (set below).
OASDIFF_VERSION := v1.38.0
# Redocly CLI is pinned in package.json / package-lock.json.
REDOCLY := npx --no-install redocly
# The Node tools run on the Node.js LTS that package.json pins, which npm ci
# installs as node_modules/.bin/node (Linux x64 and arm64); elsewhere on the
# machine's own.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# No usage reports or update checks from the OpenAPI linter.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

SPEC := api/openapi.yaml
ARGS ?=
# Budget of each fuzz target: a duration (30s) or a count of inputs (5000x).
FUZZTIME ?= 30s
# make test fuzzes each target briefly, by count: with a duration, Go 1.26's
# fuzz coordinator can fail a run that found nothing (golang/go#75804).
TEST_FUZZTIME ?= 500x
FUZZFLAGS ?=
# Where the docs page test leaves its screenshot.
DOCS_SCREENSHOT ?= screenshots/docs-page.png
# The development tools are a module of their own (tools/go.mod), so that
# nothing of them is in the product's go.mod: built into TOOLS_BIN, run from here.
TOOLS_BIN := .tools/bin
TOOLS_BUILD = $(GO) build -C tools -o $(CURDIR)/$(TOOLS_BIN)/
# Every module of the repository: lint and test go through each.
MODULES := . tools
# Tracked files that may be over 2 MiB (make lint, tools/treecheck): the docs
# page's Redoc bundle, built from the pinned npm package.
LARGE_FILES := server/internal/docs/redoc/redoc.standalone.js
# The commands users run, which make build builds.
COMMANDS := ./server/cmd/refserver ./client/cmd/sendmsg ./conformance/cmd/conform

.PHONY: help generate check-generated breaking changelog docs-bundle check-docs-bundle browser lint test fuzz run build clean bench bench-smoke bench-tools hostile container-engine image test-image

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## regenerate gen/*.gen.go from api/openapi.yaml
	$(GO) generate ./...

check-generated: ## fail when gen/ is stale against api/openapi.yaml (work tree untouched)
	@tmp=$$(mktemp -d)
	trap 'rm -rf "$$tmp"' EXIT
	# Copy the work tree as git sees it (tracked and untracked, not ignored).
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do if [[ -e $$f ]]; then printf '%s\0' "$$f"; fi; done |
		tar --null -T - -cf - | tar -xf - -C "$$tmp"
	# Generated files that the spec no longer produces must show up as stale too.
	find "$$tmp"/gen -name '*.gen.go' -delete
	echo "go generate ./... in a copy of the tree"
	(cd "$$tmp" && $(GO) generate ./...)
	if ! diff -ru gen "$$tmp/gen" > "$$tmp/gen.diff"; then
		diff -rq gen "$$tmp/gen" | sed "s|$$tmp/gen/|regenerated/|g" || true
		head -n 40 "$$tmp/gen.diff" | sed "s|$$tmp/gen/|regenerated/|g"
		echo "..."
		echo "check-generated: gen/ is stale against $(SPEC): run 'make generate' and commit gen/." >&2
		exit 1
	fi
	echo "check-generated: gen/ matches $(SPEC)"

# The breaking-change gate (docs/contract.md): oasdiff, with the contract's
# configuration (api/oasdiff.yaml) and the acknowledged breaking changes of the
# spec's version (api/breaking-changes/<version>.md), run by tools/specgate.
# BASE=<git revision> compares with the spec there instead of the default base:
# the newest tag spec/vX.Y.Z that HEAD contains; else, with F = git merge-base
# HEAD main, F's spec when the work tree's spec differs from it; else the
# previous version: the newest spec up to F with another info.version.
BASE ?=
SPECGATE = GOBIN=$(CURDIR)/$(TOOLS_BIN) $(GO) install github.com/oasdiff/oasdiff@$(OASDIFF_VERSION) && \
	$(TOOLS_BUILD) ./specgate && \
	$(TOOLS_BIN)/specgate -oasdiff $(TOOLS_BIN)/oasdiff -spec $(SPEC) $(if $(BASE),-base '$(BASE)')

breaking: ## compare api/openapi.yaml with its base using oasdiff; fail on an unacknowledged breaking change or an info.version the changes do not allow
	@$(SPECGATE)

changelog: ## write the comparison of make breaking into api/CHANGELOG.md, as the section of the spec's info.version
	@$(SPECGATE) -changelog api/CHANGELOG.md

# The docs page's script: redoc's standalone bundle from the npm package that
# package.json pins, built by tools/docsbundle and committed.
DOCS_BUNDLE := server/internal/docs/redoc

docs-bundle: node_modules/.package-lock.json ## rebuild the docs page's script from the pinned redoc npm package
	$(TOOLS_BUILD) ./docsbundle
	$(TOOLS_BIN)/docsbundle -from node_modules/redoc -out $(DOCS_BUNDLE)

check-docs-bundle: node_modules/.package-lock.json ## fail when the committed docs page script is not the build of the pinned redoc
	@$(TOOLS_BUILD) ./docsbundle
	$(TOOLS_BIN)/docsbundle -from node_modules/redoc -out $(DOCS_BUNDLE) -check

# The docs page test (TestDocsPageInChromium) drives Debian's chromium; without
# one it skips. As root with apt-get, this installs it where it is missing.
CHROMIUM_PACKAGE := chromium

browser: ## install Debian's chromium for the docs page test, where it is missing and root can
	@if command -v chromium >/dev/null || [[ -n $${CHROMIUM:-} ]]; then
		echo "browser: $${CHROMIUM:-$$(command -v chromium)}"
		exit 0
	fi
	if [[ $$(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		echo "browser: no chromium, and it cannot be installed here (needs root and apt-get): TestDocsPageInChromium will skip"
		exit 0
	fi
	echo "browser: installing Debian's $(CHROMIUM_PACKAGE)"
	export DEBIAN_FRONTEND=noninteractive
	if apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(CHROMIUM_PACKAGE) >/dev/null; then
		echo "browser: $$(command -v chromium)"
	else
		echo "browser: apt-get could not install $(CHROMIUM_PACKAGE): TestDocsPageInChromium will skip"
	fi

# npm ci only when the lock file changed since the last install.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $@

# Every check runs, so that one report shows all findings.
lint: node_modules/.package-lock.json ## go mod tidy -diff, gofmt, go vet and golangci-lint in every module, Redocly lint of the spec, and no built file tracked
	@failed=()
	echo "treecheck: no tracked executable or file over 2 MiB (but $(LARGE_FILES)), every built binary ignored"
	($(TOOLS_BUILD) ./treecheck && $(TOOLS_BIN)/treecheck -modules '$(MODULES)' -allow '$(LARGE_FILES)') || failed+=(treecheck)
	for mod in $(MODULES); do
		echo "go mod tidy -diff ($$mod)"
		$(GO) mod tidy -C $$mod -diff || failed+=("go mod tidy ($$mod)")
	done
	echo "gofmt -l"
	if ! unformatted=$$(find . \( -name .git -o -name node_modules -o -name bin \) -prune -o -name '*.go' -print0 | xargs -0 -r gofmt -l); then
		failed+=(gofmt)
	elif [[ -n $$unformatted ]]; then
		echo "$$unformatted"
		echo "gofmt: the files above need 'gofmt -w'"
		failed+=(gofmt)
	fi
	for mod in $(MODULES); do
		echo "go vet ./... ($$mod)"
		$(GO) vet -C $$mod ./... || failed+=("go vet ($$mod)")
		echo "golangci-lint $(GOLANGCI_LINT_VERSION) run ./... ($$mod)"
		# Serial: other runs on this machine are waited for, not a failure.
		(cd $$mod && $(GOLANGCI_LINT) run --allow-serial-runners --config $(CURDIR)/.golangci.yml ./...) || failed+=("golangci-lint ($$mod)")
	done
	echo "redocly lint $(SPEC)"
	$(REDOCLY) lint --lint-config error $(SPEC) || failed+=(redocly)
	if (($${#failed[@]})); then
		echo "lint: failed: $${failed[*]}" >&2
		exit 1
	fi
	echo "lint: ok"

test: ## check-generated, check-docs-bundle, breaking, lint, go test -race of every module (the docs page in Chromium too), the container image, each fuzz target briefly, a smoke run of the load benchmark, the hostile clients
	@$(MAKE) check-generated
	$(MAKE) check-docs-bundle
	$(MAKE) breaking
	$(MAKE) lint
	$(MAKE) browser
	rm -f $(DOCS_SCREENSHOT)
	for mod in $(MODULES); do
		echo "go test -race -count=1 ./... ($$mod)"
		DOCS_SCREENSHOT=$(abspath $(DOCS_SCREENSHOT)) $(GO) test -C $$mod -race -count=1 ./...
	done
	if [[ -f $(DOCS_SCREENSHOT) ]]; then
		echo "docs page, as Chromium showed it: $(DOCS_SCREENSHOT)"
	else
		echo "docs page: no screenshot (no Chromium: TestDocsPageInChromium skipped)"
	fi
	$(MAKE) test-image
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME) FUZZFLAGS=-race
	$(MAKE) bench-smoke
	$(MAKE) hostile

# Targets are found in the sources: every func FuzzXxx in a _test.go file. A
# failing input is written to the package's testdata/fuzz/FuzzXxx/; commit it,
# and plain go test replays it from then on.
fuzz: ## run each fuzz target for FUZZTIME (default 30s; a count like 5000x works too)
	@failed=()
	inputs() { if [[ -d $$1 ]]; then find "$$1" -type f | wc -l; else echo 0; fi; }
	while IFS= read -r file; do
		# The module of the file: tools/ is one of its own.
		mod=.
		if [[ $$file == tools/* ]]; then mod=tools file=$${file#tools/}; fi
		pkg=./$$(dirname "$$file")
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$mod/$$file"); do
			echo "go test -C $$mod $(FUZZFLAGS) -run '^$$' -fuzz '^$$target\$$' -fuzztime $(FUZZTIME) $$pkg"
			corpus=$$mod/$$pkg/testdata/fuzz/$$target
			before=$$(inputs "$$corpus")
			log=$$(mktemp)
			if $(GO) test -C $$mod $(FUZZFLAGS) -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg" 2>&1 | tee "$$log"; then
				:
			elif [[ $$(tail -n 5 "$$log") == *"context deadline exceeded"* ]] &&
				(( $$(inputs "$$corpus") == before )); then
				# golang/go#75804: the run found nothing and wrote no input.
				echo "fuzz: $$target: the fuzz coordinator reported its own deadline, no failing input; not a failure"
			else
				failed+=("$$target")
			fi
			rm -f "$$log"
		done
	done < <(grep -rl --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' . | sed 's|^\./||' | sort)
	if (($${#failed[@]})); then
		echo "fuzz: failed: $${failed[*]}" >&2
		exit 1
	fi
	echo "fuzz: ok"

run: ## run the reference server with demo data on 127.0.0.1:8080 (ARGS=... passes flags)
	$(GO) run ./server/cmd/refserver $(ARGS)

build: ## build the commands users run (refserver, sendmsg, conform) into bin/
	@mkdir -p bin
	echo "go build -o bin/ $(COMMANDS)"
	$(GO) build -o bin/ $(COMMANDS)

# The container image (Containerfile, docs/deploy.md): refserver compiled here,
# static, copied into a scratch image; no base image is pulled. The tag is the
# contract's version, as refserver -version prints it.
IMAGE_NAME ?= hzkit/refserver
IMAGE_CONTEXT := bin/image
# podman, docker or buildah; empty: the first of them here that works (docker
# only when its engine answers; buildah builds but runs nothing).
CONTAINER_ENGINE ?=
# podman's OCI runtime: runc where it is installed (crun refuses some cgroup
# layouts); empty leaves podman's own choice.
PODMAN_RUNTIME ?= $(if $(shell command -v runc),runc)
# The contract's version, as refserver -version says it: the image's tag.
CONTRACT_VERSION = $(GO) run ./server/cmd/refserver -version | sed -n 's/^refserver: contract \([^ ]*\) .*/\1/p'
# For podman, a containers.conf without default ulimits (some machines cannot
# raise them to podman's defaults); one of your own in CONTAINERS_CONF wins.
PODMAN_CONF := bin/podman/containers.conf
# The engine of CONTAINER_ENGINE, else the first that works here; $$1 = run
# skips buildah, which runs no servers.
define FIND_ENGINE
find_engine() {
	if [[ -n "$(CONTAINER_ENGINE)" ]]; then echo "$(CONTAINER_ENGINE)"; return; fi
	if command -v podman >/dev/null; then echo podman; return; fi
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
	if [[ $${1:-} != run ]] && command -v buildah >/dev/null; then echo buildah; fi
}
endef

container-engine: ## install Debian's podman and runc for make image and test-image, where no engine works and root can
	@$(FIND_ENGINE)
	if engine=$$(find_engine) && [[ -n $$engine ]]; then
		echo "container-engine: $$engine"
		exit 0
	fi
	if [[ $$(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		echo "container-engine: no podman, docker (with a running engine) or buildah, and none can be installed here (needs root and apt-get)"
		exit 0
	fi
	echo "container-engine: installing Debian's podman and runc"
	export DEBIAN_FRONTEND=noninteractive
	if apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends podman runc >/dev/null; then
		echo "container-engine: $$(podman --version)"
	else
		echo "container-engine: apt-get could not install podman and runc"
	fi

image: ## build the container image hzkit/refserver:<contract version> (and :latest; IMAGE_NAME=... for another name) from Containerfile with podman, docker or buildah
	@$(FIND_ENGINE)
	engine=$$(find_engine)
	if [[ -z $$engine ]]; then
		echo "image: no container engine: install podman (Debian: apt-get install podman runc; or make container-engine as root), docker or buildah" >&2
		exit 1
	fi
	rm -rf $(IMAGE_CONTEXT)
	mkdir -p $(IMAGE_CONTEXT)
	echo "CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o $(IMAGE_CONTEXT)/refserver ./server/cmd/refserver"
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(IMAGE_CONTEXT)/refserver ./server/cmd/refserver
	version=$$($(CONTRACT_VERSION))
	if [[ -z $$version ]]; then
		echo "image: refserver -version printed no contract version" >&2
		exit 1
	fi
	revision=$$(git rev-parse HEAD 2>/dev/null || echo unknown)
	if [[ $$revision != unknown && -n $$(git status --porcelain 2>/dev/null) ]]; then
		revision+=-dirty
	fi
	# Docker's image format: OCI's has no HEALTHCHECK. No cache: buildah's
	# would keep the labels of an earlier build.
	build=(build --format docker --layers=false --no-cache)
	case $$engine in
	docker) build=(build --no-cache) ;;
	buildah) build=(bud --format docker --no-cache) ;;
	esac
	set -x
	$$engine "$${build[@]}" -f Containerfile -t $(IMAGE_NAME):$$version -t $(IMAGE_NAME):latest \
		--build-arg VERSION=$$version --build-arg REVISION=$$revision $(IMAGE_CONTEXT)
	{ set +x; } 2>/dev/null
	if [[ $$engine == buildah ]]; then
		size=$$(buildah images --noheading --format '{{.Size}}' $(IMAGE_NAME):$$version | head -n 1)
	else
		size="$$($$engine image inspect --format '{{.Size}}' $(IMAGE_NAME):$$version) bytes"
	fi
	echo "image: $(IMAGE_NAME):$$version, $$size"

test-image: ## build the image and run it: health over HTTP and HTTPS, the README walkthrough, non-root, read-only, SIGTERM drains (skips where no podman or docker can run it)
	@$(MAKE) container-engine
	$(FIND_ENGINE)
	engine=$$(find_engine run)
	if [[ -z $$engine ]]; then
		echo "test-image: skipped: no podman, and no docker with a running engine, to run the image here"
		exit 0
	fi
	$(MAKE) image CONTAINER_ENGINE=$$engine
	cli=$$engine
	if [[ $$engine == podman ]]; then
		if [[ -n "$(PODMAN_RUNTIME)" ]]; then cli+=" --runtime $(PODMAN_RUNTIME)"; fi
		if [[ -z $${CONTAINERS_CONF:-} ]]; then
			mkdir -p $(dir $(PODMAN_CONF))
			printf '[containers]\ndefault_ulimits = []\n' > $(PODMAN_CONF)
			export CONTAINERS_CONF=$(abspath $(PODMAN_CONF))
		fi
	fi
	export REFSERVER_TEST_IMAGE=$(IMAGE_NAME):$$($(CONTRACT_VERSION)) REFSERVER_TEST_ENGINE="$$cli"
	echo "REFSERVER_TEST_IMAGE=$$REFSERVER_TEST_IMAGE REFSERVER_TEST_ENGINE='$$cli' go test -count=1 -v -run '^TestContainerImage$$' ./deploy"
	$(GO) test -count=1 -v -run '^TestContainerImage$$' ./deploy

# The load benchmark: binaries in .bench/bin, wrk from Debian's packages.
BENCH_BIN := .bench/bin
BENCH_ARGS ?=
LOADBENCH = $(BENCH_BIN)/loadbench -refserver $(BENCH_BIN)/refserver -baseline $(BENCH_BIN)/benchbaseline

bench-tools:
	@if ! command -v wrk >/dev/null; then
		echo "wrk not found: installing Debian's package"
		if [[ $$(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
			echo "bench: install wrk (Debian: apt-get install wrk)" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends wrk >/dev/null
	fi
	mkdir -p $(BENCH_BIN)
	$(GO) build -o $(BENCH_BIN)/ ./server/cmd/refserver
	$(GO) build -C tools -o $(CURDIR)/$(BENCH_BIN)/ ./benchbaseline ./loadbench

bench: bench-tools ## load benchmark: refserver vs two echo baselines, with its headers and timeouts and bare (and Prism when Node is here), 3 interleaved rounds
	@prism=()
	if command -v node >/dev/null; then
		$(MAKE) node_modules/.package-lock.json
		prism=(-prism node_modules/.bin/prism)
	else
		echo "node not found: no Prism in this run"
	fi
	$(LOADBENCH) "$${prism[@]}" $(BENCH_ARGS)

bench-smoke: bench-tools ## a seconds-long run of the load benchmark: checks that it works, not speed
	@out=$$($(LOADBENCH) -smoke $(BENCH_ARGS))
	echo "$$out"
	grep -q 'refserver / baseline' <<<"$$out"
	grep -q 'refserver / bare' <<<"$$out"
	echo "bench-smoke: ok"

HOSTILE_ARGS ?=

hostile: ## hostile clients against refserver on loopback, bounded (a few minutes): prints each figure against its budget, fails past it (HOSTILE_ARGS=-check=false only measures)
	@mkdir -p $(BENCH_BIN)
	$(GO) build -o $(BENCH_BIN)/ ./server/cmd/refserver
	$(GO) build -C tools -o $(CURDIR)/$(BENCH_BIN)/ ./hostile
	$(BENCH_BIN)/hostile -refserver $(BENCH_BIN)/refserver $(HOSTILE_ARGS)

clean: ## remove bin/, .bench/, .tools/, screenshots/ and node_modules/
	rm -rf bin .bench .tools screenshots node_modules
