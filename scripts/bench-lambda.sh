#!/usr/bin/env bash
# Benchmarks the packaged payment Lambda locally (loopback only, bounded):
#   * binary and zip size (builds with scripts/lambda-build.sh);
#   * init time: process spawn -> first GET /2018-06-01/runtime/invocation/next
#     on a local Runtime API stub (functions/payment/bench/runtime_stub.py);
#   * p50 / p99 latency of POST /payments driven through that stub against the
#     local PostgreSQL + moto services (started here if not running).
#
# Knobs: BENCH_INVOCATIONS (default 500), BENCH_WARMUP (20), BENCH_INIT_RUNS (20),
#        BENCH_SKIP_BUILD=1 (reuse dist/), BENCH_SHOW_LOGS=1 (function logs to stderr).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ] || [ ! -x dist/payment-handler/bootstrap ]; then
  scripts/lambda-build.sh
fi
BIN="$ROOT/dist/payment-handler/bootstrap"
ZIP="$ROOT/dist/payment-handler.zip"

started_services=0
cleanup() {
  local rc=$?
  if [ -n "${BENCH_DB:-}" ] && [ -f .services/env ]; then
    (. .services/env; psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true)
  fi
  if [ "$started_services" = 1 ]; then scripts/services.sh stop || true; fi
  exit "$rc"
}
trap cleanup EXIT

if ! scripts/services.sh status >/dev/null 2>&1; then
  scripts/services.sh start
  started_services=1
fi
# shellcheck disable=SC1091
. .services/env

BENCH_DB="bench_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
TABLE="sessions-bench-${BENCH_DB#bench_}"
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $BENCH_DB" >/dev/null
python3 - "$TABLE" <<'EOF'
import os, sys, boto3
ddb = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
ddb.create_table(TableName=sys.argv[1], BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
ddb.update_time_to_live(TableName=sys.argv[1],
                        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
EOF

export DB_NAME="$BENCH_DB" SESSION_TABLE="$TABLE" REGION_ROLE=primary MAX_AMOUNT_MINOR=100000000
unset TOPIC_ARN
# Operators' migration path: `bootstrap migrate` with the function's environment.
"$BIN" migrate >/dev/null

bin_size=$(stat -c %s "$BIN")
zip_size=$(stat -c %s "$ZIP")
echo "binary size: $bin_size bytes ($(awk -v b="$bin_size" 'BEGIN{printf "%.2f", b/1048576}') MiB)"
echo "zip size:    $zip_size bytes ($(awk -v b="$zip_size" 'BEGIN{printf "%.2f", b/1048576}') MiB)"
python3 functions/payment/bench/runtime_stub.py \
  --bootstrap "$BIN" \
  --fixture functions/payment/tests/fixtures/apigw-rest-post-payments.json \
  --init-runs "${BENCH_INIT_RUNS:-20}" \
  --invocations "${BENCH_INVOCATIONS:-500}" \
  --warmup "${BENCH_WARMUP:-20}"
