# StratumIOps. Two commands set everything up: `make dev` and `make test`.
GO       ?= go
SURREAL  := localstack/surreal
# Independent post-quantum checks of the e2e suite (@noble/post-quantum, hpke-js), pinned by package-lock.json.
PQCHECK  := localstack/e2e/testdata/pqcheck
# Vapora's page vendors SortableJS and Chart.js, pinned by package-lock.json and copied into its static files.
UIWEB    := shared/vapora/ui/web
# go test runs two packages at a time: CI has 2 cores. The race detector runs
# everywhere but the CDK app (synth-only code, and a heavy compile under -race).
TESTFLAGS ?= -p 2 -timeout 20m
RACE_PKGS  = $(shell $(GO) list ./... | grep -v /infra)
# The CDK CLI, pinned in infra/cdk-cli, installed under .tools (outside the Go module tree).
CDK      := .tools/cdk/node_modules/.bin/cdk
CDKLOCAL := .tools/cdk/node_modules/.bin/cdklocal
COMPOSE  := docker compose -f localstack/docker-compose.yml
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: ui-vendor dev test deps vet fmt-check bench compat openapi build synth bootstrap deploy restart cdk-cli localstack-up localstack-down deploy-local e2e-local

## dev: start every system locally (NATS, SurrealDB, all functions) and print the endpoints
dev: deps
	$(GO) run ./cmd/stratum dev

## test: install what the tests need, then vet and run every test: unit, integration, the e2e
## suite twice (functions in-process, then the real bootstraps under aws-lambda-rie), CDK
test: deps vet fmt-check
	$(GO) test -race $(TESTFLAGS) $(RACE_PKGS)
	STRATUM_E2E_LAMBDA_RUNTIME=1 $(GO) test $(TESTFLAGS) ./localstack/e2e
	$(GO) test $(TESTFLAGS) ./infra/...

## bench: throughput and latency through the real clients, on persistent storage (not part of test)
bench: deps
	$(GO) run ./localstack/bench

## compat: OpenBao's own CLI (bao v2.6.2, built from source into .tools/bin/bao the first time: ~9 min, ~3.3 GB)
## driven through kv, status/unseal, patch, secrets tune, policies, token capabilities, auth list, host-info and
## periodic tokens against a throw-away devstack, exit codes included, then compares the exit codes and JSON keys of
## 26 commands with an OpenBao dev server's (not part of test; BAO=<path> uses an existing bao binary)
compat:
	GO=$(GO) sh scripts/compat-bao.sh

## openapi: rewrite schemas/openapi/<system>.json from the HTTP functions' registrations (make test fails while one is stale)
openapi:
	$(GO) run ./cmd/stratum openapi

## deps: PostgreSQL (for the database engine tests), chromium and tmux (the browser and terminal tests), Go modules, the
## npm packages of the SurrealDB server, of the e2e suite's post-quantum checks and of Vapora's page (pinned by
## package-lock.json) and the local AWS stand-ins (aws-lambda-rie, local-kms; pinned, via the Go proxy)
deps: $(SURREAL)/node_modules/.package-lock.json $(PQCHECK)/node_modules/.package-lock.json $(UIWEB)/node_modules/.package-lock.json
	sh scripts/install-postgres.sh
	sh scripts/install-debian.sh chromium chromium chromium-browser
	sh scripts/install-debian.sh tmux
	$(GO) mod download
	$(GO) run ./cmd/stratum tools

$(SURREAL)/node_modules/.package-lock.json: $(SURREAL)/package.json $(SURREAL)/package-lock.json
	@command -v node >/dev/null || { echo "node is required (Node.js 20+): apt-get install nodejs npm"; exit 1; }
	cd $(SURREAL) && npm ci --legacy-peer-deps --no-audit --no-fund

$(PQCHECK)/node_modules/.package-lock.json: $(PQCHECK)/package.json $(PQCHECK)/package-lock.json
	@command -v node >/dev/null || { echo "node is required (Node.js 20.19+): apt-get install nodejs npm"; exit 1; }
	cd $(PQCHECK) && npm ci --no-audit --no-fund

$(UIWEB)/node_modules/.package-lock.json: $(UIWEB)/package.json $(UIWEB)/package-lock.json
	@command -v node >/dev/null || { echo "node is required (Node.js 20+): apt-get install nodejs npm"; exit 1; }
	cd $(UIWEB) && npm ci --no-audit --no-fund

## ui-vendor: copy the pinned browser libraries into Vapora's page after changing $(UIWEB)/package.json
## (the ui package's tests check the copies against the npm packages)
ui-vendor: $(UIWEB)/node_modules/.package-lock.json
	cp $(UIWEB)/node_modules/sortablejs/Sortable.min.js $(UIWEB)/node_modules/chart.js/dist/chart.umd.min.js shared/vapora/ui/static/vendor/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## build: cross-compile every function to dist/<function>/bootstrap (linux/arm64) and the dispatcher image
build:
	$(GO) run ./cmd/stratum build --out dist

cdk-cli: .tools/cdk/node_modules/.package-lock.json

.tools/cdk/node_modules/.package-lock.json: infra/cdk-cli/package.json infra/cdk-cli/package-lock.json
	mkdir -p .tools/cdk && cp infra/cdk-cli/package.json infra/cdk-cli/package-lock.json .tools/cdk/
	cd .tools/cdk && npm ci --no-audit --no-fund

# CDK_ARGS passes context to bootstrap, synth and deploy (see infra/main.go), e.g.
#   make deploy CDK_ARGS="-c surrealUrl=wss://… -c natsUrl=tls://… -c alarmEmail=ops@example.com"
#   make deploy CDK_ARGS="-c selfHosted=true"
# APPROVAL is cdk's --require-approval: broadening asks before widening IAM or security groups; CI sets never.
CDK_ARGS ?=
APPROVAL ?= broadening

## synth: write cdk.out/ offline (no AWS account needed); refuses placeholder URLs and unsuppressed cdk-nag findings
synth: build cdk-cli
	$(CDK) synth --no-notices -q $(CDK_ARGS)

## bootstrap: once per account and region, before the first deploy
bootstrap: cdk-cli
	$(CDK) bootstrap --no-notices $(CDK_ARGS)

## deploy: deploy every stack to the AWS account of your credentials; outputs go to .stratum/cdk-outputs-aws.json
deploy: build cdk-cli
	mkdir -p .stratum
	$(CDK) deploy --all --no-notices --require-approval $(APPROVAL) --outputs-file .stratum/cdk-outputs-aws.json $(CDK_ARGS)

## restart: after filling or rotating secrets, retire every function's warm instances and redeploy the dispatcher
restart:
	sh scripts/aws-restart.sh $(STAGE)

## localstack-up / localstack-down: LocalStack, SurrealDB and NATS in docker
localstack-up:
	$(COMPOSE) up -d --wait

localstack-down:
	$(COMPOSE) down

## deploy-local: deploy the real CDK app to LocalStack; outputs go to .stratum/cdk-outputs.json
deploy-local: build cdk-cli
	mkdir -p .stratum
	$(CDKLOCAL) bootstrap --no-notices -c localstack=true
	$(CDKLOCAL) deploy --all --no-notices --require-approval never -c localstack=true --outputs-file .stratum/cdk-outputs.json

## e2e-local: the e2e suite against LocalStack (the dispatcher runs on the host: LocalStack has no ECS)
e2e-local:
	$(GO) build -o .tools/bin/stratum ./cmd/stratum
	.tools/bin/stratum dispatch --nats-url nats://localhost:4222 --lambda-endpoint http://localhost:4566 \
		--function-prefix stratum- & pid=$$!; \
	STRATUM_CDK_OUTPUTS=.stratum/cdk-outputs.json $(GO) test -count=1 ./localstack/e2e; rc=$$?; kill $$pid; exit $$rc
