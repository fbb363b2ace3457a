#!/usr/bin/env bash
# terraform init -backend=false + terraform validate for every generated root
# envs/<env>/{primary,dr,global}, on a scratch copy under target/tf/validate
# (no .terraform directory or lock file ever lands in the committed tree).
#
#   scripts/tf-validate.sh [ENV...]      default: every environment
#
# Providers come from the filesystem mirror when there is one (see
# scripts/tf-cli-config.sh) through a shared plugin cache; roots run two at a
# time. Prints one OK/FAIL line per root and a summary; exits 1 on a failure,
# 127 without terraform.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TERRAFORM="${TERRAFORM:-terraform}"
JOBS="${TF_VALIDATE_JOBS:-2}"
mkdir -p "$ROOT/target/tf"
# A private scratch directory per run (concurrent runs do not collide).
WORK="$(mktemp -d "$ROOT/target/tf/validate.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cli="$("$ROOT/scripts/tf-cli-config.sh" "$ROOT/target/tf/cli.tfrc")" || exit $?
export TF_CLI_CONFIG_FILE="$cli"
export TF_PLUGIN_CACHE_DIR="$ROOT/target/tf/plugin-cache"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
mkdir -p "$TF_PLUGIN_CACHE_DIR"

start=$(date +%s)
PYTHONPATH="$ROOT/tests/e2e" python3 -c 'import sys, pathlib, scratch; scratch.make_scratch(pathlib.Path(sys.argv[1]), with_dist=False)' "$WORK"

roots=()
for d in "$WORK"/envs/*/; do
  env="$(basename "$d")"
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$env"; then continue; fi
  for layer in primary dr global; do
    [ -d "$d$layer" ] && roots+=("$env/$layer")
  done
done
[ ${#roots[@]} -gt 0 ] || { echo "tf-validate: no roots under envs/" >&2; exit 2; }

validate_one() {
  local r="$1" dir="$WORK/envs/$1" log="$WORK/envs/$1/validate.log" t0=$(date +%s)
  # One retry of init: a concurrent init filling the shared plugin cache can
  # make Terraform report the provider "still not detected" in the cache.
  if { "$TERRAFORM" -chdir="$dir" init -backend=false -input=false -no-color >"$log" 2>&1 \
       || "$TERRAFORM" -chdir="$dir" init -backend=false -input=false -no-color >"$log" 2>&1; } \
     && "$TERRAFORM" -chdir="$dir" validate -no-color >>"$log" 2>&1; then
    echo "OK   $r ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAIL $r ($(( $(date +%s) - t0 )) s)"
    sed 's/^/     | /' "$log"
    return 1
  fi
}

# The first root fills the plugin cache alone (parallel inits racing on an
# empty cache would each unpack the provider).
fail=0
out="$(validate_one "${roots[0]}")" || fail=$((fail + 1)); echo "$out"
rest=("${roots[@]:1}")
i=0
while [ $i -lt ${#rest[@]} ]; do
  pids=(); outs=()
  for ((j = 0; j < JOBS && i + j < ${#rest[@]}; j++)); do
    o="$WORK/.out.$j"; outs+=("$o")
    validate_one "${rest[$((i + j))]}" >"$o" 2>&1 & pids+=($!)
  done
  for ((j = 0; j < ${#pids[@]}; j++)); do
    wait "${pids[$j]}" || fail=$((fail + 1))
    cat "${outs[$j]}"
  done
  i=$((i + JOBS))
done
rm -f "$WORK"/.out.*

n=${#roots[@]}
echo "tf-validate: $((n - fail)) of $n roots valid ($(( $(date +%s) - start )) s, $("$TERRAFORM" version | head -n 1))"
[ "$fail" -eq 0 ]
