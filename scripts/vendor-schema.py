#!/usr/bin/env python3
"""Vendor a small subset of Terraform provider schemas into schema/providers.json.

Usage (from anywhere; the default INPUT, schema/types.txt, schema/supplement.json
and schema/providers.json are resolved against the repo root; an explicit
relative INPUT against the current directory, falling back to the repo root):

    python3 scripts/vendor-schema.py [INPUT] [--check]
        [--provider-version ADDR=VERSION ...]

INPUT   either the rebuilt AWS schema `aws-provider-schema.json.gz`
        (default: ../shared/aws-provider-schema/aws-provider-schema.json.gz,
        relative to the repo root) or the plain JSON printed by a real
        `terraform providers schema -json` (it may hold other providers too,
        e.g. registry.terraform.io/hashicorp/random with
        `ephemeral_resource_schemas`). Gzip is detected by content.
--check exit 1 (and write nothing) if the output would change. When INPUT
        is the default ../shared file and it does not exist (a user's clone
        never has ../shared), the comparison is skipped with exit 0: the
        vendored file in the repo is the source of truth.
--output PATH
        where to write (repo-relative; default schema/providers.json). The
        real 5.100.0 schema goes to schema/providers-5.100.0.json through
        scripts/provider-schema.sh.
--provider-version ADDR=VERSION
        record VERSION for provider ADDR in the provenance. Without it the
        version comes from a sibling `<name>.meta.json`
        (`aws_provider_version`, as shipped with the .json.gz) or a sibling
        `.terraform.lock.hcl`; otherwise it is recorded as "unknown".

What it does:
  * reads schema/types.txt: one `KIND NAME` a line, KIND one of
    `provider`, `resource`, `data`, `ephemeral`; `#` starts a comment;
  * maps every type to its provider by the prefix before the first `_`
    (`terraform_*` -> terraform.io/builtin/terraform), and a provider short
    name to the provider address in the input whose last path segment matches;
  * takes each listed entry from INPUT, or else from schema/supplement.json
    (hand-written, same format) and fails with exit 1 if it is in neither;
  * writes schema/providers.json in the input format (`format_version`,
    `provider_schemas`), deterministically (sorted keys, indent=1, trailing
    newline), with provenance (source file names, provider versions, a
    sha256 of the input JSON) under the top-level key `x_drgen_provenance`.

Python 3 standard library only.
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_INPUT = "../shared/aws-provider-schema/aws-provider-schema.json.gz"
TYPES_FILE = "schema/types.txt"
SUPPLEMENT_FILE = "schema/supplement.json"
OUTPUT_FILE = "schema/providers.json"

KIND_KEYS = {
    "resource": "resource_schemas",
    "data": "data_source_schemas",
    "ephemeral": "ephemeral_resource_schemas",
}
BUILTIN_TERRAFORM = "terraform.io/builtin/terraform"


class VendorError(Exception):
    pass


def repo_path(p):
    return p if os.path.isabs(p) else os.path.join(REPO_ROOT, p)


def read_json_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise VendorError(f"cannot read {path}: {e.strerror}")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise VendorError(f"{path}: bad gzip data: {e}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VendorError(f"{path}: not valid JSON: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("provider_schemas"), dict):
        raise VendorError(
            f"{path}: not a `terraform providers schema -json` document "
            "(no `provider_schemas` object)"
        )
    return doc, hashlib.sha256(raw).hexdigest()


def read_types(path):
    entries = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as e:
        raise VendorError(f"cannot read {path}: {e.strerror}")
    for lineno, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[0] not in ("provider", *KIND_KEYS):
            raise VendorError(
                f"{path}:{lineno}: expected `provider|resource|data|ephemeral NAME`, "
                f"got {line.strip()!r}"
            )
        entry = (words[0], words[1])
        if entry not in entries:
            entries.append(entry)
    return entries


def provider_short_name(kind, name):
    if kind == "provider":
        return name
    return name.split("_", 1)[0]


def find_provider_addr(doc, short):
    """Provider address in doc whose last segment is `short` (None if absent)."""
    matches = sorted(a for a in doc["provider_schemas"] if a.rsplit("/", 1)[-1] == short)
    if not matches:
        return None
    # Prefer the public registry / builtin over odd mirrors when ambiguous.
    for pref in ("registry.terraform.io/hashicorp/", "terraform.io/builtin/"):
        for a in matches:
            if a == pref + short:
                return a
    return matches[0]


def lookup(doc, kind, name):
    """Return (provider_addr, schema) from doc, or None."""
    addr = find_provider_addr(doc, provider_short_name(kind, name))
    if addr is None:
        return None
    prov = doc["provider_schemas"][addr]
    if not isinstance(prov, dict):
        return None
    if kind == "provider":
        schema = prov.get("provider")
    else:
        schema = (prov.get(KIND_KEYS[kind]) or {}).get(name)
    if not isinstance(schema, dict):
        return None
    return addr, schema


def lock_file_versions(directory):
    path = os.path.join(directory, ".terraform.lock.hcl")
    versions = {}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return versions
    for m in re.finditer(r'provider\s+"([^"]+)"\s*\{[^}]*?\bversion\s*=\s*"([^"]+)"', text, re.S):
        versions[m.group(1)] = m.group(2)
    return versions


def input_versions(input_path, doc, overrides):
    """Best-effort provider versions for the input file."""
    versions = {}
    directory = os.path.dirname(os.path.abspath(input_path))
    versions.update(lock_file_versions(directory))
    base = os.path.basename(input_path)
    for suffix in (".json.gz", ".json", ".gz"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    meta_path = os.path.join(directory, base + ".meta.json")
    if os.path.exists(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, json.JSONDecodeError):
            meta = {}
        if isinstance(meta, dict) and isinstance(meta.get("aws_provider_version"), str):
            versions["registry.terraform.io/hashicorp/aws"] = meta["aws_provider_version"]
    prov = doc.get("x_drgen_provenance")
    if isinstance(prov, dict) and isinstance(prov.get("provider_versions"), dict):
        versions.update(prov["provider_versions"])
    versions.update(overrides)
    return versions


def build(input_path, overrides):
    doc, digest = read_json_file(input_path)
    supplement, _ = read_json_file(repo_path(SUPPLEMENT_FILE))
    entries = read_types(repo_path(TYPES_FILE))
    in_versions = input_versions(input_path, doc, overrides)
    sup_prov = supplement.get("x_drgen_provenance") or {}
    sup_versions = sup_prov.get("provider_versions") or {}

    out = {}
    sources = {}  # provider addr -> {file name -> set of entries}
    missing = []
    for kind, name in entries:
        found = lookup(doc, kind, name)
        origin = "input"
        if found is None:
            found = lookup(supplement, kind, name)
            origin = "supplement"
        if found is None:
            missing.append(f"{kind} {name}")
            continue
        addr, schema = found
        prov = out.setdefault(addr, {})
        if kind == "provider":
            prov["provider"] = schema
        else:
            prov.setdefault(KIND_KEYS[kind], {})[name] = schema
        sources.setdefault(addr, {}).setdefault(origin, []).append(f"{kind} {name}")

    if missing:
        raise VendorError(
            "these types from "
            + TYPES_FILE
            + " are neither in "
            + input_path
            + " nor in "
            + SUPPLEMENT_FILE
            + ":\n  "
            + "\n  ".join(missing)
        )

    # Every provider needs a provider block for the output to be a valid
    # schema document; take it from wherever it is known.
    for addr, prov in out.items():
        if "provider" not in prov:
            short = addr.rsplit("/", 1)[-1]
            found = lookup(doc, "provider", short) or lookup(supplement, "provider", short)
            prov["provider"] = found[1] if found else {"version": 0, "block": {}}

    provenance = {
        "generated_by": "scripts/vendor-schema.py (do not edit by hand; edit "
        + TYPES_FILE
        + " or "
        + SUPPLEMENT_FILE
        + " and re-run)",
        "types_file": TYPES_FILE,
        "sources": {},
    }
    for addr in sorted(sources):
        items = []
        for origin in ("input", "supplement"):
            if origin not in sources[addr]:
                continue
            if origin == "input":
                item = {
                    "file": os.path.basename(input_path),
                    "sha256": digest,
                    "provider_version": in_versions.get(addr, "unknown"),
                }
            else:
                item = {
                    "file": SUPPLEMENT_FILE,
                    "hand_written": True,
                    "provider_version": sup_versions.get(addr, "unknown"),
                }
            item["entries"] = len(sources[addr][origin])
            items.append(item)
        provenance["sources"][addr] = items

    return {
        "format_version": doc.get("format_version", "1.0"),
        "provider_schemas": out,
        "x_drgen_provenance": provenance,
    }


def prune_blocks(block, depth, max_depth):
    """Replace nested blocks deeper than max_depth by opaque blocks
    (`x_opaque`: the checker accepts any content there). Returns the count."""
    pruned = 0
    for bt in (block.get("block_types") or {}).values():
        inner = bt.get("block")
        if not isinstance(inner, dict):
            continue
        if depth + 1 > max_depth:
            bt["block"] = {"x_opaque": True}
            pruned += 1
        else:
            pruned += prune_blocks(inner, depth + 1, max_depth)
    return pruned


def prune(doc, max_depth):
    """Prune every resource, data source and ephemeral schema of doc."""
    pruned = {}
    for addr, prov in doc["provider_schemas"].items():
        for key in KIND_KEYS.values():
            for name, schema in (prov.get(key) or {}).items():
                n = prune_blocks(schema.get("block") or {}, 0, max_depth)
                if n:
                    pruned[name] = n
    return pruned


def render(doc):
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Vendor the provider schema subset listed in schema/types.txt "
        "into schema/providers.json."
    )
    ap.add_argument("input", nargs="?", default=DEFAULT_INPUT,
                    help="schema JSON (.json or .json.gz); default: %(default)s (repo-relative)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if schema/providers.json would change; write nothing")
    ap.add_argument("--provider-version", action="append", default=[], metavar="ADDR=VERSION",
                    help="provider version to record in the provenance")
    ap.add_argument("--output", default=OUTPUT_FILE,
                    help="output file, repo-relative (default: %(default)s)")
    ap.add_argument("--max-block-depth", type=int, default=None, metavar="N",
                    help="nested blocks below depth N become opaque (x_opaque); "
                    "keeps recursive schemas such as aws_wafv2_web_acl's statements small")
    args = ap.parse_args(argv)

    overrides = {}
    for pv in args.provider_version:
        addr, sep, ver = pv.partition("=")
        if not sep or not addr or not ver:
            print(f"vendor-schema: bad --provider-version {pv!r} (want ADDR=VERSION)",
                  file=sys.stderr)
            return 2
        overrides[addr] = ver

    input_path = os.path.normpath(args.input if os.path.isabs(args.input) else (
        args.input if os.path.exists(args.input) and args.input != DEFAULT_INPUT
        else repo_path(args.input)))
    if args.check and args.input == DEFAULT_INPUT and not os.path.exists(input_path):
        print(f"vendor-schema: {args.output}: comparison skipped, {DEFAULT_INPUT} is absent "
              "(only the developers' machines have it; the vendored file is the source of truth)")
        return 0
    try:
        doc = build(input_path, overrides)
        if args.max_block_depth is not None:
            pruned = prune(doc, args.max_block_depth)
            doc["x_drgen_provenance"]["pruned"] = {
                "max_block_depth": args.max_block_depth,
                "opaque_blocks": pruned,
            }
        text = render(doc)
    except VendorError as e:
        print(f"vendor-schema: error: {e}", file=sys.stderr)
        return 1

    out_name = args.output
    out_path = repo_path(out_name)
    try:
        with open(out_path, encoding="utf-8") as f:
            current = f.read()
    except OSError:
        current = None

    if args.check:
        if current != text:
            print(f"vendor-schema: {out_name} is out of date; "
                  "run `python3 scripts/vendor-schema.py`", file=sys.stderr)
            return 1
        print(f"vendor-schema: {out_name} is up to date")
        return 0

    if current == text:
        print(f"vendor-schema: {out_name} unchanged")
        return 0
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out_path)
    print(f"vendor-schema: wrote {out_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
