# Failover drill (drill/): the shipped payment function through a regional
# failure on loopback, parameters read from the generated Terraform.
# Included from the top-level Makefile with `-include mk/drill.mk`.
#
#   make drill             full drill: planned switchover, unplanned DB failure,
#                          unplanned region failure, each with fail-back (x10)
#   make drill-ci          short time-scaled drill asserting the invariants, plus
#                          the broken-function test; last line "drill: N passed, M failed"
#   make drill-broken-test only the broken-function test (must find split brain)
#
# Knobs: DRILL_SCALE, DRILL_STEADY (real seconds per steady phase), DRILL_ARGS.

DRILL_SCALE ?= 10
DRILL_STEADY ?= 60
DRILL_ARGS ?=

.PHONY: drill drill-ci drill-broken-test drill-deps

drill-deps:
	@test -f dist/payment-handler.zip || $(MAKE) lambda
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && python3 -c 'import moto.server, boto3' 2>/dev/null \
	  || { scripts/services.sh start </dev/null && scripts/services.sh stop </dev/null; }

drill: drill-deps
	python3 drill/drill.py --env prod --scenario all --time-scale $(DRILL_SCALE) --steady $(DRILL_STEADY) $(DRILL_ARGS)

drill-ci: drill-deps
	DRILL_SCALE=$${DRILL_CI_SCALE:-20} DRILL_STEADY=$${DRILL_CI_STEADY:-30} drill/ci.sh

drill-broken-test: drill-deps
	python3 drill/drill.py --env prod --scenario planned --broken --expect-finding split_brain \
	  --time-scale 20 --steady 30
