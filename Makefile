# The README's two commands are `go run ./cmd/faultline check --demo` and
# `make test`. Everything else here is a convenience.
GO ?= go
BIN := bin/faultline

.PHONY: test deps unit race editors e2e vet build bench fuzz

# Every test: Go unit and integration tests (real Prometheus, real git, real
# crashing programs), the editor extension's tests, and the end-to-end tests
# that drive the built server from headless Neovim and a Node LSP client.
test: deps vet unit race editors e2e

deps:
	@./scripts/deps.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

# The packages that run goroutines (the parallel file reader and the gate,
# the language server and its engine, the correlator) again under the race
# detector.
race:
	$(GO) test -race -count=1 ./telemetry ./analysis/... ./lsp ./correlator ./cmd/faultline

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
