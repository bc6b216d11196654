# The one entry point: CI calls these same targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NPM ?= npm
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: help install start generate check lint-spec typecheck lint boundaries generated-fresh api-gate proto-gate diff diff-evidence versioning-evidence test test-postgres test-embedded console-screenshots sdk-build bench bench-pagination bench-webhooks bench-grpc bench-cli bench-api-diff storm

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's|$$(PG_TEST_URL)|$(PG_TEST_URL)|g' | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

install: ## Install dependencies exactly as locked
	$(NPM) ci

start: ## Run the API (embedded database unless DATABASE_URL is set)
	$(NPM) start

generate: ## Regenerate generated/ from the specs and the console's source, and docs/configuration.md from the config schema (deterministic)
	$(NPM) run -s generate
	npx tsx scripts/config-docs.ts
	npx tsx scripts/console-build.ts

# The break gates run first: a breaking edit of the spec or of the processor protocol is reported as
# such before the stale generated code and the type errors it also causes.
check: api-gate proto-gate lint-spec typecheck lint boundaries generated-fresh ## Break gates (spec, processor protocol), spec lint, type check, code lint, import rules, generated-code freshness

lint-spec: ## Lint the specs: Redocly (rules in redocly.yaml), then bounds and shapes of every request (scripts/spec-rules.ts); the processor protocol by buf lint (rules in buf.yaml)
	npx redocly lint spec/openapi.yaml --format=stylish
	npx tsx scripts/spec-rules.ts
	npx buf lint

typecheck: ## Type-check src, tests, scripts and generated code
	$(NPM) run -s typecheck

lint: ## ESLint
	$(NPM) run -s lint

boundaries: ## The import rules of docs/architecture.md (layers, components, platform, SDK, CLI, tools, console), by dependency-cruiser
	npx depcruise src sdk/src tools/api-diff/src console/src cli/src --config .dependency-cruiser.cjs --output-type err

generated-fresh: ## Fail if generated/ does not match the specs and the console's source, or docs/configuration.md the config schema
	npx tsx scripts/generate.ts --check
	npx tsx scripts/config-docs.ts --check
	npx tsx scripts/console-build.ts --check

api-gate: ## Break gate: the spec against the base (merge base with main, or the previous commit); fails on a break
	bash scripts/api-gate.sh

proto-gate: ## Break gate for the processor protocol: buf breaking (WIRE_JSON) of spec/processor.proto against the api-gate's base; fails on a break
	bash scripts/proto-gate.sh

diff: ## Breaking-change report: the spec at BASE=<git ref> against the working spec (FORMAT=text|json|markdown); fails on a break
	@test -n "$(BASE)" || { echo "usage: make diff BASE=<git ref> [FORMAT=text|json|markdown]" >&2; exit 2; }
	@bash scripts/api-diff-fresh.sh
	$(NPM) run -s api:diff -- "$(BASE):spec/openapi.yaml" spec/openapi.yaml --format $(or $(FORMAT),text)

diff-evidence: ## The gate both ways: an additive and a breaking change to copies of the spec, outputs in docs/evidence/
	$(NPM) run -s api:diff:evidence

versioning-evidence: ## The versioning policy through the gate: an additive v1 change, adding v2, removing v1 before and after its sunset; outputs in docs/evidence/
	npx tsx scripts/versioning-evidence.ts

test: ## The whole suite (DATABASE_URL when set, embedded PGlite otherwise)
	$(NPM) test

test-postgres: ## The whole suite against local PostgreSQL ($(PG_TEST_URL))
	DATABASE_URL=$(PG_TEST_URL) $(NPM) test

test-embedded: ## The whole suite against embedded PGlite
	env -u DATABASE_URL $(NPM) test

console-screenshots: ## Screenshots of the console's two views for the docs (docs/images/), taken in Chromium after a storm run from its runner
	npx tsx scripts/console-screenshots.ts

sdk-build: ## Build the SDK package (sdk/dist: JavaScript and declarations)
	$(NPM) run -s sdk:build

bench: ## HTTP benchmarks: reads (full stack vs bare Express 5 vs node:http), the hot path as deployed, metrics on vs off and /metrics render time, API key vs OAuth access token, rate-limit cost, a validation attack, idempotent writes
	$(NPM) run -s bench

bench-pagination: ## Deep-page benchmark: page 1 vs the page after row 900,000 (keyset and OFFSET)
	$(NPM) run -s bench:pagination

bench-webhooks: ## Webhook latency: commit to first delivery attempt (p50, p99) at a steady event rate, relay polling every 200 ms (default) vs 50 ms vs 1 s
	$(NPM) run -s bench:webhooks

bench-grpc: ## Processor adapter over HTTP/JSON vs gRPC (1 and N connections): calls/s, p50/p99, CPU per call each side, bytes per call; then POST /v1/payments end to end with each
	$(NPM) run -s bench:grpc

bench-cli: ## CLI start-up: remit --version, --help and an operation's help against node's own start-up (median of 20 runs each)
	npx tsx bench/cli-startup.bench.ts

bench-api-diff: ## The break gate's whole command (node tools/api-diff/dist/cli.js, start to exit) on this repo's spec and on GitHub's 12 MB one, against node's own start-up (RUNS=9)
	$(NPM) run -s api:diff:bench-command -- --runs $(or $(RUNS),9)

storm: ## Retry storm run three times (naive clients, with rate limits off then on; SDK clients): one report, plots in docs/evidence/
	$(NPM) run -s storm
