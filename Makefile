# StratumIOps. Two commands set everything up: `make dev` and `make test`.
GO       ?= go
SURREAL  := localstack/surreal
# go test runs two packages at a time: CI has 2 cores.
TESTFLAGS ?= -race -p 2 -timeout 20m

.PHONY: dev test deps vet fmt-check

## dev: start every system locally (NATS, SurrealDB, all functions) and print the endpoints
dev: deps
	$(GO) run ./cmd/stratum dev

## test: install what the tests need, then vet and run every test (unit, integration, e2e)
test: deps vet fmt-check
	$(GO) test $(TESTFLAGS) ./...

## deps: Go modules and the SurrealDB server's npm packages (pinned by package-lock.json)
deps: $(SURREAL)/node_modules/.package-lock.json
	$(GO) mod download

$(SURREAL)/node_modules/.package-lock.json: $(SURREAL)/package.json $(SURREAL)/package-lock.json
	@command -v node >/dev/null || { echo "node is required (Node.js 20+): apt-get install nodejs npm"; exit 1; }
	cd $(SURREAL) && npm ci --legacy-peer-deps --no-audit --no-fund

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
