# Real Terraform in the loop (issue 9). Included from the top-level Makefile
# with `-include mk/e2e.mk`.
#
#   make tf-validate   terraform init -backend=false + validate of every root,
#                      on a scratch copy (target/tf/validate); provider from the
#                      local filesystem mirror when there is one
#   make e2e           plan, drgen review, apply, empty re-plan and destroy of
#                      every layer of every environment against a local AWS
#                      emulator (moto + tests/emulator extensions), on a
#                      scratch copy (target/e2e); E2E_ARGS="--env dev" etc.;
#                      E2E_DRGEN=path uses a prebuilt drgen instead of
#                      `cargo build -p drgen`
#   make emulator-start / emulator-stop   the emulator alone (target/emulator)
#   make test-emulator unit tests of the emulator extensions and the e2e driver

PYTHON ?= python3
E2E_ARGS ?=

.PHONY: tf-validate e2e emulator-start emulator-stop test-emulator

tf-validate:
	scripts/tf-validate.sh

e2e:
	@test -f dist/payment-handler.zip || $(MAKE) lambda
	$(PYTHON) -m tests.e2e.run $(E2E_ARGS)

emulator-start:
	$(PYTHON) -m tests.emulator.launcher start

emulator-stop:
	$(PYTHON) -m tests.emulator.launcher stop

test-emulator:
	$(PYTHON) -m unittest -v tests.emulator.test_extensions tests.e2e.test_run
