#!/usr/bin/env bash
# Writes a Terraform CLI configuration file and prints its path on stdout.
#
#   scripts/tf-cli-config.sh [OUT_FILE]
#
# With a provider mirror (TF_PLUGIN_MIRROR, or one found on this machine in
# registry layout: <root>/registry.terraform.io/hashicorp/aws), providers under
# registry.terraform.io/hashicorp/* come from that filesystem mirror and every
# other provider from the registry (direct { exclude = [...] }), so
# `terraform init` needs no network. Without one, the file uses the plain
# registry. The default output is target/tf/cli.tfrc.
#
# Exits 127 with one line when there is no terraform binary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TERRAFORM="${TERRAFORM:-terraform}"
OUT="${1:-$ROOT/target/tf/cli.tfrc}"

if ! command -v "$TERRAFORM" >/dev/null 2>&1; then
  echo "terraform is not installed: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install) and put it on PATH" >&2
  exit 127
fi

mirror="${TF_PLUGIN_MIRROR:-}"
if [ -n "$mirror" ]; then
  [ -d "$mirror/registry.terraform.io/hashicorp" ] || {
    echo "tf-cli-config: TF_PLUGIN_MIRROR=$mirror has no registry.terraform.io/hashicorp/ (registry layout expected)" >&2
    exit 2
  }
else
  # Well-known places first (fast), then the whole filesystem.
  for c in /opt/tf-plugins /usr/share/terraform/plugins /usr/local/share/terraform/plugins \
           "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins"; do
    if [ -d "$c/registry.terraform.io/hashicorp/aws" ]; then mirror="$c"; break; fi
  done
  if [ -z "$mirror" ]; then
    found="$(find / -xdev -type d -path '*registry.terraform.io/hashicorp/aws' \
               -not -path '*/.terraform/*' -not -path '/proc/*' 2>/dev/null | head -n 1 || true)"
    [ -n "$found" ] && mirror="$(dirname "$(dirname "$(dirname "$found")")")"
  fi
fi

mkdir -p "$(dirname "$OUT")"
if [ -n "$mirror" ]; then
  mirror="$(cd "$mirror" && pwd)"
  cat >"$OUT" <<CFG
# Written by scripts/tf-cli-config.sh: hashicorp/* providers from the local mirror.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
CFG
  echo "tf-cli-config: provider mirror $mirror" >&2
else
  cat >"$OUT" <<CFG
# Written by scripts/tf-cli-config.sh: no provider mirror found, plain registry.
provider_installation {
  direct {}
}
CFG
  echo "tf-cli-config: no provider mirror found; providers come from the registry" >&2
fi
echo "$OUT"
