#!/usr/bin/env bash
# checkov gate: installs checkov (PyPI) into a throwaway venv if needed, scans
# modules/ and every generated root, and fails on any failed check that is not
# in checkov/baseline.json (with its written reason), or on a baseline entry
# that no longer fails (the baseline stays honest).
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=3.3.30
VENV=${CHECKOV_VENV:-target/checkov-venv}
if ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "checkov: installing $CHECKOV_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
dirs=()
for d in modules/* envs/*/*/; do
  d=${d%/}
  ls "$d"/*.tf.json >/dev/null 2>&1 && dirs+=("$d")
done
exec python3 scripts/checkov_gate.py --checkov "$VENV/bin/checkov" --baseline checkov/baseline.json "${dirs[@]}"
