#!/usr/bin/env bash
# Short failover drill for CI (time-scaled): asserts the invariants of every
# scenario, then that a broken function (read-only probe ignored) FAILS with
# a split-brain finding. Prints one final line: drill: N passed, M failed.
#   DRILL_SCALE (default 20), DRILL_STEADY (real s per steady phase, default 30)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCALE="${DRILL_SCALE:-20}"
STEADY="${DRILL_STEADY:-30}"
OUT="${DRILL_OUT:-$ROOT/target/drill}"
mkdir -p "$OUT"
passed=0; failed=0
if python3 drill/test_tfparams.py >"$OUT/test_tfparams.log" 2>&1; then
  passed=$((passed + 1)); echo "drill: PASS tfparams unit tests"
else
  failed=$((failed + 1)); echo "drill: FAIL tfparams unit tests"; tail -n 30 "$OUT/test_tfparams.log"
fi
run() {  # name, args...
  local name="$1"; shift
  local t0=$SECONDS
  if python3 drill/drill.py --env "${DRILL_ENV:-prod}" --time-scale "$SCALE" --steady "$STEADY" \
       --format json "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"; then
    passed=$((passed + 1)); echo "drill: PASS $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); echo "drill: FAIL $name ($((SECONDS - t0)) s)"; tail -n 30 "$OUT/$name.log"
  fi
  python3 drill/report.py "$OUT/$name.json" || true
}
run planned --scenario planned
run unplanned-db --scenario unplanned-db
run unplanned-region --scenario unplanned-region
run broken-function --scenario planned --broken --expect-finding split_brain
echo "drill: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
