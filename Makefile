# The README's two commands are `go run ./cmd/faultline check --demo` and
# `make test`. Everything else here is a convenience.
GO ?= go
BIN := bin/faultline

.PHONY: test deps unit race purego editors e2e vet build bench fuzz

# Every test: Go unit and integration tests (real Prometheus, real git, real
# crashing programs), the editor extension's tests, and the end-to-end tests
# that drive the built server from headless Neovim and a Node LSP client.
test: deps vet unit race purego editors e2e

deps:
	@./scripts/deps.sh

vet:
	$(GO) vet ./...

# cmd/faultline builds, crashes and reads every scenario several ways (about
# six minutes here): the default ten-minute limit is too close.
unit:
	$(GO) test -count=1 -timeout 25m ./...

# The packages that run goroutines (the parallel file reader and the gate,
# the pipelined reassembler, the language server and its engine, the
# correlator) again under the race detector. cmd/faultline runs -short there:
# TestScenarioFixes builds and tests every scenario's own code, nothing of
# ours that runs concurrently, and took four minutes under -race;
# TestLokiShapedScenarios reads every scenario eleven more ways and passed
# ten minutes under -race.
race:
	$(GO) test -race -count=1 -timeout 25m ./telemetry ./analysis/... ./lsp ./correlator
	$(GO) test -race -short -count=1 -timeout 25m ./cmd/faultline

# The scanning kernels have assembly for amd64; other processors (arm64
# Macs) run their Go versions, which the tag purego selects here too. The
# unit tests check both against the same references; this runs the Go
# versions alone, and builds for arm64.
purego:
	$(GO) vet -tags purego ./telemetry ./analysis/...
	$(GO) test -tags purego -count=1 ./telemetry ./analysis/stack ./analysis/reassemble
	GOARCH=arm64 $(GO) build ./telemetry/... ./analysis/...

build:
	$(GO) build -o $(BIN) ./cmd/faultline

# The extension's unit tests, its type check, and the .vsix a user installs.
editors:
	cd editors/vscode && npm test && npm run typecheck && npm run package -- --out faultline.vsix

e2e: build
	FAULTLINE_BIN=$(CURDIR)/$(BIN) ./editors/run-e2e.sh

bench:
	$(GO) run ./bench

fuzz:
	./scripts/fuzz.sh
