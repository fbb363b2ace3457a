#!/usr/bin/env bash
# Builds the payment Lambda for provided.al2023 / x86_64 and packs
# dist/payment-handler.zip deterministically (single entry `bootstrap`, mode
# 0755, mtime 1980-01-01), so the same source gives the same zip bytes.
#
# Checks that the binary needs at most GLIBC 2.34 (Amazon Linux 2023).
# Prints the binary and zip sizes and the zip's base64 SHA-256, which is what
# Terraform's filebase64sha256("dist/payment-handler.zip") returns.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=x86_64-unknown-linux-gnu
MAX_GLIBC=2.34
MAX_ZIP_BYTES=$((8 * 1024 * 1024))
DIST="$ROOT/dist"
STAGE="$DIST/payment-handler"
ZIP="$DIST/payment-handler.zip"

die() { echo "lambda-build: ERROR: $*" >&2; exit 1; }

[ "$(uname -m)" = "x86_64" ] || die "build host must be x86_64 (no cross linker configured)"
command -v objdump >/dev/null || die "objdump (binutils) is required"

cd "$ROOT"
# Remap local paths out of panic locations so the binary does not depend on
# where the checkout or the cargo home lives.
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$ROOT=/src --remap-path-prefix=$CARGO_HOME_DIR=/cargo"
start=$(date +%s)
cargo build --release -p payment-handler --bin bootstrap --target "$TARGET"
echo "lambda-build: cargo build took $(( $(date +%s) - start )) s"

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$TARGET/release/bootstrap"
[ -x "$BIN" ] || die "missing $BIN"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp "$BIN" "$STAGE/bootstrap"
strip --strip-all "$STAGE/bootstrap"
chmod 0755 "$STAGE/bootstrap"

# Highest GLIBC symbol version the dynamic symbols require.
glibc_max="$(objdump -T "$STAGE/bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
[ -n "$glibc_max" ] || die "could not read GLIBC symbol versions"
if [ "$(printf '%s\n%s\n' "$glibc_max" "$MAX_GLIBC" | sort -V | tail -n 1)" != "$MAX_GLIBC" ]; then
  objdump -T "$STAGE/bootstrap" | grep -E "GLIBC_$glibc_max" >&2 || true
  die "bootstrap requires GLIBC_$glibc_max > $MAX_GLIBC (Amazon Linux 2023)"
fi
interp="$(readelf -l "$STAGE/bootstrap" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"

rm -f "$ZIP"
python3 - "$STAGE/bootstrap" "$ZIP" <<'EOF'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3                      # Unix, so the mode bits count
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f:
    data = f.read()
with zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
EOF

bin_size=$(stat -c %s "$STAGE/bootstrap")
zip_size=$(stat -c %s "$ZIP")
sha_b64="$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$ZIP")"

echo "lambda-build: binary      $STAGE/bootstrap  ${bin_size} bytes ($(awk -v b="$bin_size" 'BEGIN{printf "%.2f", b/1048576}') MiB)"
echo "lambda-build: interpreter $interp"
echo "lambda-build: max GLIBC   $glibc_max (limit $MAX_GLIBC)"
echo "lambda-build: zip         $ZIP  ${zip_size} bytes ($(awk -v b="$zip_size" 'BEGIN{printf "%.2f", b/1048576}') MiB)"
echo "lambda-build: zip sha256 (base64, = filebase64sha256) $sha_b64"
[ "$zip_size" -le "$MAX_ZIP_BYTES" ] || die "zip is larger than 8 MiB"
