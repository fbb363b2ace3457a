#!/usr/bin/env python3
"""Runs checkov on each generated directory and compares the failed checks
with the committed baseline. Exit 0 when every failure is baselined and every
baseline entry still fails; 1 otherwise.

checkov reads Terraform JSON through its `terraform_json` framework. The
`versions.tf.json` files hold only the `terraform` block, which that parser
rejects ("this method receives only dicts"); they have no resources, so they
are skipped.

That parser also fails on `dynamic` blocks, and then silently drops every
graph check (CKV2_*) of the whole directory and the resource that holds the
block. So each directory is scanned from a scratch copy where every
`dynamic` block is expanded to its `content` (the block as if it were on,
e.g. `mutual_tls_authentication` with a truststore): the checks see the
fullest configuration the module can produce.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def expand_dynamic(v):
    """`dynamic: {NAME: {for_each, content}}` -> `NAME: content`, recursively."""
    if isinstance(v, list):
        return [expand_dynamic(x) for x in v]
    if not isinstance(v, dict):
        return v
    out = {}
    for k, x in v.items():
        if k == "dynamic" and isinstance(x, dict):
            for name, spec in x.items():
                content = spec.get("content", {}) if isinstance(spec, dict) else {}
                out[name] = expand_dynamic(content)
        else:
            out[k] = expand_dynamic(x)
    return out


def scratch_copy(d, tmp):
    """A copy of directory d with dynamic blocks expanded (JSON files only)."""
    dst = os.path.join(tmp, d.strip("/").replace("/", "__"))
    os.makedirs(dst)
    for name in sorted(os.listdir(d)):
        src = os.path.join(d, name)
        if not name.endswith(".tf.json"):
            continue
        with open(src, encoding="utf-8") as f:
            doc = json.load(f)
        with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
            json.dump(expand_dynamic(doc), f, indent=1)
    return dst


def scan(checkov, d):
    tmp = tempfile.mkdtemp(prefix="checkov-gate-")
    try:
        return scan_dir(checkov, scratch_copy(d, tmp), d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scan_dir(checkov, d, shown):
    out = subprocess.run(
        [checkov, "-d", d, "--framework", "terraform_json",
         "--skip-path", r"versions\.tf\.json$", "--skip-download", "-o", "json"],
        capture_output=True, text=True, check=False,
    )
    try:
        data = json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"checkov gate: checkov printed no JSON for {shown}:\n{out.stderr[-2000:]}")
    reports = data if isinstance(data, list) else [data]
    passed, failed, errors = 0, [], 0
    for r in reports:
        s = r.get("summary", r)
        passed += s.get("passed", 0)
        errors += s.get("parsing_errors", 0)
        for c in r.get("results", {}).get("failed_checks", []):
            failed.append((c["check_id"], c["resource"], c["check_name"]))
    return passed, sorted(set(failed)), errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkov", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    with open(a.baseline) as f:
        baseline = json.load(f)["entries"]
    for e in baseline:
        if not e.get("reason", "").strip():
            sys.exit(f"checkov gate: baseline entry {e['check_id']} {e['resource']} has no reason")
    used = set()
    total_passed = total_failed = total_baselined = 0
    problems = []
    for d in a.dirs:
        passed, failed, errors = scan(a.checkov, d)
        if errors:
            problems.append(f"{d}: {errors} parsing error(s)")
        base = 0
        for check_id, resource, name in failed:
            hit = [i for i, e in enumerate(baseline)
                   if e["check_id"] == check_id and e["resource"] == resource and d in e["dirs"]]
            if hit:
                base += 1
                used.update((i, d) for i in hit)
            else:
                problems.append(f"{d}: {check_id} {resource}: {name}")
        total_passed += passed
        total_failed += len(failed) - base
        total_baselined += base
        print(f"{d:<24} passed {passed:>4}  failed {len(failed) - base:>3}  baselined {base:>3}")
    for i, e in enumerate(baseline):
        for d in e["dirs"]:
            if d in a.dirs and (i, d) not in used:
                problems.append(f"{d}: baseline entry {e['check_id']} {e['resource']} no longer fails: remove it")
    print(f"{'total':<24} passed {total_passed:>4}  failed {total_failed:>3}  baselined {total_baselined:>3}")
    for p in problems:
        print(f"FAIL {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
