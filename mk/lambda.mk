# Payment Lambda targets (functions/payment). Included from the top-level
# Makefile with `-include mk/lambda.mk`.
#
#   make lambda          release build + deterministic dist/payment-handler.zip
#   make bench-lambda    sizes, init time, POST/GET latency against local services
#   make services-start  local PostgreSQL + moto on loopback (writes .services/env)
#   make services-stop   stop them and delete their data
#   make test-lambda     unit + integration tests against fresh local services;
#                        the services are stopped whatever happens and the
#                        test exit code is kept (safe under `set -e` shells)

CARGO ?= cargo

.PHONY: lambda bench-lambda services-start services-stop test-lambda

lambda:
	scripts/lambda-build.sh

bench-lambda:
	scripts/bench-lambda.sh

services-start:
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

test-lambda:
	@rc=0; scripts/services.sh start </dev/null || rc=$$?; \
	if [ "$$rc" -eq 0 ]; then \
	  $(CARGO) test -p payment-handler --features integration || rc=$$?; \
	fi; \
	scripts/services.sh stop </dev/null || true; \
	exit "$$rc"
