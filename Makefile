# drgen: generate, check and test the payment DR stack.
#   make generate check      main job: generate and check the sample environments
#   make test                every test (starts and stops the local services)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
DRGEN := $(CARGO) run -q -p drgen --
ENV ?=
TERRAFORM ?= terraform
LAYERS := primary dr global
REVERSE_LAYERS := global dr primary

.PHONY: all generate check test test-generator bench coverage checkov schema provider-schema plan apply destroy lambda-zip require-env require-terraform

all: generate check

## Write modules/ and envs/<env>/<layer> from envs/*/env.toml.
generate:
	$(DRGEN) generate

## Drift, invariants, provider schema and references of the generated tree.
check:
	$(DRGEN) generate --check
	$(DRGEN) check

## Every test: generator (unit, golden, CLI), schema vendoring (6.25 subset
## and the real 5.100.0 schema), terraform validate of every root, the
## payment function against real local PostgreSQL and DynamoDB (moto), the
## emulator apply of every layer (e2e) and the short failover drill.
## Needs terraform >= 1.11 (and the provider, from a local mirror or the registry).
test: require-terraform test-generator tf-validate test-lambda test-emulator e2e drill-ci

test-generator:
	python3 scripts/vendor-schema.py --check
	bash scripts/provider-schema.sh --check
	$(CARGO) test -p drgen
	$(DRGEN) generate --check
	$(DRGEN) check

## Median time and peak memory of generate + check.
bench:
	$(CARGO) bench -q -p drgen --bench generate

## Line coverage of the generator crate (fails under 90%).
coverage:
	@command -v cargo-llvm-cov >/dev/null 2>&1 || $(CARGO) install cargo-llvm-cov --locked
	@rustup component list --installed 2>/dev/null | grep -q llvm-tools || rustup component add llvm-tools-preview
	$(CARGO) llvm-cov -p drgen --summary-only --fail-under-lines 90

## Re-vendor the 6.25 schema subset schema/providers.json (from ../shared,
## developers' machines only, or SCHEMA=path).
schema:
	python3 scripts/vendor-schema.py $(SCHEMA)

## Re-vendor schema/providers-5.100.0.json from the real provider
## (`terraform providers schema -json`).
provider-schema: require-terraform
	bash scripts/provider-schema.sh

require-env:
	@if [ -z "$(ENV)" ]; then echo "usage: make $(MAKECMDGOALS) ENV=<env> (one of: $$(ls envs))" >&2; exit 2; fi
	@if [ ! -f "envs/$(ENV)/env.toml" ]; then echo "unknown environment '$(ENV)' (one of: $$(ls envs))" >&2; exit 2; fi

require-terraform:
	@command -v $(TERRAFORM) >/dev/null 2>&1 || { echo "terraform is not installed: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install) and put it on PATH; make test, plan, apply and destroy need it (generate and check do not)" >&2; exit 127; }

lambda-zip:
	@test -f dist/payment-handler.zip || { echo "dist/payment-handler.zip is missing: build the payment function first (make lambda, functions/payment)" >&2; exit 2; }

## Terraform per layer, in order: primary, dr, global (destroy in reverse).
plan: require-env require-terraform lambda-zip check
	@for l in $(LAYERS); do echo "== $(ENV)/$$l: plan"; \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l init -input=false && \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l plan -input=false -out=tfplan || exit 1; done

apply: require-env require-terraform lambda-zip check
	@for l in $(LAYERS); do echo "== $(ENV)/$$l: apply"; \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l init -input=false && \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l apply -input=false || exit 1; done

destroy: require-env require-terraform lambda-zip
	@for l in $(REVERSE_LAYERS); do echo "== $(ENV)/$$l: destroy"; \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l init -input=false && \
	  $(TERRAFORM) -chdir=envs/$(ENV)/$$l destroy -input=false || exit 1; done

-include mk/lambda.mk
-include mk/drill.mk
-include mk/e2e.mk

## checkov on modules/ and every root; fails on failures not in checkov/baseline.json.
checkov:
	bash scripts/checkov.sh
