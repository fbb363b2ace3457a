#!/usr/bin/env bash
# Fuzzes the env.toml front end of drgen (parse, validate, and for valid
# files build + render) with cargo-fuzz / libFuzzer for a short session.
#
#   scripts/fuzz.sh [SECONDS]     default 60
#
# Installs cargo-fuzz if it is missing. Builds with the default (stable)
# toolchain and RUSTC_BOOTSTRAP=1, or with FUZZ_TOOLCHAIN (e.g. nightly).
# The first build takes long (release + AddressSanitizer). The corpus
# (fuzz/corpus/env_toml) is seeded with envs/*/env.toml; crashes land in
# fuzz/artifacts/env_toml/ and make the script exit non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${1:-60}"
TARGET=env_toml
FUZZ="$ROOT/fuzz"
CORPUS="$FUZZ/corpus/$TARGET"

die() { echo "fuzz: ERROR: $*" >&2; exit 1; }

[[ "$DURATION" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, got '$DURATION'"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, ...); the
# stable compiler accepts them with RUSTC_BOOTSTRAP=1, so the default
# toolchain is used as it is. FUZZ_TOOLCHAIN=nightly picks a nightly one.
toolchain="${FUZZ_TOOLCHAIN:-}"
cargo_cmd=(cargo)
if [ -n "$toolchain" ]; then
    cargo_cmd=(cargo "+$toolchain")
fi
export RUSTC_BOOTSTRAP=1
toolchain_name="$("${cargo_cmd[@]}" --version)"

mkdir -p "$CORPUS"
for f in "$ROOT"/envs/*/env.toml; do
    env_name="$(basename "$(dirname "$f")")"
    cp "$f" "$CORPUS/seed-$env_name.toml"
done

cd "$FUZZ"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "fuzz: ${cargo_cmd[*]} fuzz run $TARGET for ${DURATION}s ($toolchain_name)" >&2
set +e
"${cargo_cmd[@]}" fuzz run "$TARGET" "$CORPUS" -- \
    -max_total_time="$DURATION" \
    -max_len=65536 \
    -timeout=10 \
    -dict="$FUZZ/env_toml.dict" \
    -print_final_stats=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

runs="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)"
echo "fuzz: ${runs:-no summary} (exit $status)" >&2
if [ "$status" -ne 0 ]; then
    echo "fuzz: crash or error; artifacts in $FUZZ/artifacts/$TARGET/" >&2
fi
exit "$status"
