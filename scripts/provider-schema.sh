#!/usr/bin/env bash
# Vendors the real hashicorp/aws 5.100.0 schema subset into
# schema/providers-5.100.0.json from `terraform providers schema -json`
# (the authoritative schema: it has computed, sensitive, write_only and
# max_items, which the 6.25 subset rebuilt from CDKTF bindings lacks).
#
#   scripts/provider-schema.sh           re-vendor
#   scripts/provider-schema.sh --check   exit 1 if the vendored file differs
#
# Needs terraform and the provider (from the mirror that
# scripts/tf-cli-config.sh finds, or the registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=5.100.0
# aws_wafv2_web_acl nests rule statements 13 blocks deep (7.6 MB of JSON);
# the generated web ACLs use 6 levels (rule, statement, managed rule group,
# rule_action_override, action_to_use, count). Deeper blocks become opaque.
MAX_BLOCK_DEPTH=6
TERRAFORM="${TERRAFORM:-terraform}"
check=()
[ "${1:-}" = "--check" ] && check=(--check)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cfg="$(bash "$ROOT/scripts/tf-cli-config.sh" "$work/cli.tfrc")"
cat >"$work/main.tf.json" <<JSON
{"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "$VERSION"}}}}
JSON
export TF_CLI_CONFIG_FILE="$cfg" TF_IN_AUTOMATION=1
"$TERRAFORM" -chdir="$work" init -input=false -backend=false >/dev/null
# A stable file name: it is recorded in the provenance.
out="$work/terraform-providers-schema-aws-$VERSION.json"
"$TERRAFORM" -chdir="$work" providers schema -json >"$out"
python3 "$ROOT/scripts/vendor-schema.py" "$out" "${check[@]}" \
  --provider-version "registry.terraform.io/hashicorp/aws=$VERSION" \
  --output "schema/providers-$VERSION.json" --max-block-depth "$MAX_BLOCK_DEPTH"
