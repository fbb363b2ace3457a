"""End-to-end: the main job for real, against the local AWS emulator.

    python3 -m tests.e2e.run [--env dev --env prod] [--jobs N] [--keep]

For each environment (concurrently with --jobs, one emulator each):
  1. start the emulator (tests/emulator), create the state bucket named in
     envs/<env>/env.toml [state] (versioned, in [state] region);
  2. scratch copy of envs/, modules/, dist/ under target/e2e/<env>/tree; the
     emulator endpoints go only there: AWS_ENDPOINT_URL, a -backend-config
     file and test-only e2e_override.tf.json files (path-style S3 and offline
     skips on every aws provider block; the emulator endpoint in every
     terraform_remote_state config);
  3. per layer, in order primary, dr, global: init, plan -out, show -json,
     `drgen --repo <repo> review --env <env> plan.json` (exit 0), apply, and a
     second plan that must be empty except for tests/e2e/allowlist.json;
  4. destroy global, dr, primary; then prove through the emulator's APIs that
     nothing of the stack is left (in both regions);
  5. stop the emulator.
Finally the committed tree must be unchanged (git status envs modules).
Prints timings per step and `e2e: N passed, M failed` as its last line.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e import scratch  # noqa: E402
from tests.emulator import launcher  # noqa: E402

LAYERS = ["primary", "dr", "global"]
TERRAFORM = os.environ.get("TERRAFORM", "terraform")
ALLOWLIST = ROOT / "tests" / "e2e" / "allowlist.json"
FIXTURE = ROOT / "generator" / "tests" / "fixtures" / "plans" / "real-dev-primary.json"
_print_lock = threading.Lock()
# The trimmed fixture keeps one resource of each type (the bucket with the
# resources the review expects next to it).
FIXTURE_TYPES = ("aws_vpc", "aws_security_group", "aws_rds_cluster", "aws_lambda_function", "aws_kms_key",
                 "aws_s3_bucket", "aws_s3_bucket_versioning", "aws_s3_bucket_server_side_encryption_configuration",
                 "aws_s3_bucket_public_access_block", "aws_api_gateway_rest_api", "aws_api_gateway_resource",
                 "aws_api_gateway_method", "aws_api_gateway_stage", "aws_api_gateway_rest_api_policy",
                 "aws_wafv2_web_acl", "aws_wafv2_web_acl_association")


class StepFailed(Exception):
    pass


def say(env: str, msg: str) -> None:
    with _print_lock:
        print(f"[{env}] {msg}", flush=True)


# --------------------------------------------------------------------------- overrides
def backend_config(endpoint: str) -> str:
    """-backend-config file for the S3 backend of Terraform 1.11 (test only)."""
    return (
        "# e2e only: the S3 backend talks to the local emulator.\n"
        f'endpoints = {{\n  s3  = "{endpoint}"\n  sts = "{endpoint}"\n  iam = "{endpoint}"\n}}\n'
        "use_path_style              = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
        "skip_region_validation      = true\n"
        "skip_s3_checksum            = true\n"
    )


PROVIDER_OVERRIDE = {
    "s3_use_path_style": True,
    "skip_credentials_validation": True,
    "skip_metadata_api_check": True,
    "skip_region_validation": True,
}


def write_overrides(root: Path, endpoint: str) -> None:
    """Test-only override file: provider blocks (merged per alias) and the
    terraform_remote_state configs (the whole `config` argument is replaced,
    so it is rebuilt from the committed one plus the emulator settings)."""
    main = json.loads((root / "main.tf.json").read_text())
    doc: dict[str, Any] = {}
    providers = main.get("provider", {}).get("aws", [])
    if isinstance(providers, dict):
        providers = [providers]
    blocks = []
    for p in providers:
        b = dict(PROVIDER_OVERRIDE)
        if "alias" in p:
            b["alias"] = p["alias"]
        blocks.append(b)
    if blocks:
        doc["provider"] = {"aws": blocks}
    rs = main.get("data", {}).get("terraform_remote_state", {})
    if rs:
        out = {}
        for name, body in rs.items():
            cfg = dict(body["config"])
            cfg.update({
                "endpoints": {"s3": endpoint, "sts": endpoint, "iam": endpoint},
                "use_path_style": True,
                "skip_credentials_validation": True,
                "skip_requesting_account_id": True,
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
            })
            out[name] = {"config": cfg}
        doc["data"] = {"terraform_remote_state": out}
    (root / "e2e_override.tf.json").write_text(json.dumps(doc, indent=2) + "\n")
    (root / "e2e.s3.tfbackend").write_text(backend_config(endpoint))


# --------------------------------------------------------------------------- plan diff
def _leaves(v: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(v, dict) and v:
        for k, x in v.items():
            _leaves(x, f"{path}.{k}" if path else k, out)
    elif isinstance(v, list) and v and any(isinstance(x, (dict, list)) for x in v):
        for i, x in enumerate(v):
            _leaves(x, f"{path}[{i}]", out)
    else:
        out[path] = v


def _strip_idx(p: str) -> str:
    import re
    return re.sub(r"\[\d+\]", "", p)


def changed_paths(change: dict[str, Any]) -> list[str]:
    b: dict[str, Any] = {}
    a: dict[str, Any] = {}
    u: dict[str, Any] = {}
    _leaves(change.get("before") or {}, "", b)
    _leaves(change.get("after") or {}, "", a)
    _leaves(change.get("after_unknown") or {}, "", u)
    paths = set()
    for k in set(a) | set(b):
        norm_b, norm_a = b.get(k), a.get(k)
        # null, "" / [] / {} are the same absent value to the provider.
        if norm_b in (None, "", [], {}) and norm_a in (None, "", [], {}):
            continue
        if norm_b != norm_a:
            paths.add(_strip_idx(k))
    for k, v in u.items():
        if v is True:
            paths.add(_strip_idx(k))
    return sorted(paths)


def load_allowlist() -> list[dict[str, str]]:
    return json.loads(ALLOWLIST.read_text())["entries"]


def allowed(entries: list[dict[str, str]], rtype: str, path: str) -> dict[str, str] | None:
    for e in entries:
        if e["type"] == rtype and (path == e["attribute"] or path.startswith(e["attribute"] + ".")):
            return e
    return None


def check_replan(plan: dict[str, Any], entries: list[dict[str, str]], used: set[tuple[str, str]]) -> list[str]:
    problems = []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        if actions != ["update"]:
            problems.append(f"{rc['address']}: {'/'.join(actions)} (only in-place updates can be allowlisted)")
            continue
        for p in changed_paths(rc["change"]):
            e = allowed(entries, rc["type"], p)
            if e is None:
                before = _get(rc["change"].get("before"), p)
                after = _get(rc["change"].get("after"), p)
                problems.append(f"{rc['address']}: {p}: {json.dumps(before)} -> {json.dumps(after)}")
            else:
                used.add((e["type"], e["attribute"]))
    for name, oc in (plan.get("output_changes") or {}).items():
        if oc.get("actions") not in (["no-op"], None):
            problems.append(f"output.{name}: {'/'.join(oc['actions'])}")
    return problems


def _get(v: Any, path: str) -> Any:
    for part in path.split("."):
        while isinstance(v, list) and v:
            v = v[0]
        if isinstance(v, dict):
            v = v.get(part)
        else:
            return None
    return v


# --------------------------------------------------------------------------- fixture
def trim_plan(plan: dict[str, Any], keep_types: tuple[str, ...]) -> dict[str, Any]:
    """A real plan JSON reduced to one resource of each keep_types type."""
    chosen: set[str] = set()
    seen: set[str] = set()
    for rc in plan.get("resource_changes", []):
        if rc["type"] in keep_types and rc["type"] not in seen and rc.get("mode") == "managed":
            seen.add(rc["type"])
            chosen.add(rc["address"])
    out = {k: v for k, v in plan.items() if k not in ("resource_changes", "planned_values", "prior_state",
                                                     "relevant_attributes", "configuration", "checks")}
    out["resource_changes"] = [rc for rc in plan["resource_changes"] if rc["address"] in chosen]

    def trim_module(m: dict[str, Any]) -> dict[str, Any]:
        m = dict(m)
        m["resources"] = [r for r in m.get("resources", []) if r["address"] in chosen]
        if "child_modules" in m:
            m["child_modules"] = [trim_module(c) for c in m["child_modules"]]
        if not m["resources"]:
            m.pop("resources")
        return m

    pv = dict(plan["planned_values"])
    pv["root_module"] = trim_module(pv["root_module"])
    out["planned_values"] = pv
    cfg = json.loads(json.dumps(plan["configuration"]))
    suffixes = {a.split(".", 2)[2] if a.startswith("module.") else a for a in chosen}
    for call in cfg.get("root_module", {}).get("module_calls", {}).values():
        mod = call.get("module", {})
        mod["resources"] = [r for r in mod.get("resources", []) if r["address"] in suffixes]
    out["configuration"] = cfg
    out["relevant_attributes"] = []
    return out


# --------------------------------------------------------------------------- one environment
class EnvRun:
    def __init__(self, env: str, args: argparse.Namespace, drgen: str) -> None:
        self.env = env
        self.args = args
        self.drgen = drgen
        self.work = ROOT / "target" / "e2e" / env
        self.tree = self.work / "tree"
        self.logs = self.work / "logs"
        self.timings: list[tuple[str, float]] = []
        self.entries = load_allowlist()
        self.used: set[tuple[str, str]] = set()
        self.failures: list[str] = []
        cfg = tomllib.loads((ROOT / "envs" / env / "env.toml").read_text())
        self.state_bucket = cfg["state"]["bucket"]
        self.state_region = cfg["state"]["region"]
        self.regions = [cfg["regions"]["primary"], cfg["regions"]["dr"]]
        self.account_id = cfg.get("account_id")
        self.suffix = cfg["environment_suffix"]
        self.endpoint = ""
        self.resources_applied: dict[str, int] = {}

    # -- helpers
    def step(self, name: str, fn, *a, **kw):  # type: ignore[no-untyped-def]
        t0 = time.time()
        say(self.env, f"{name} ...")
        try:
            r = fn(*a, **kw)
        except Exception:
            dt = time.time() - t0
            self.timings.append((name + " (FAILED)", dt))
            say(self.env, f"{name} FAILED after {dt:.1f} s")
            raise
        dt = time.time() - t0
        self.timings.append((name, dt))
        say(self.env, f"{name}: {dt:.1f} s")
        return r

    def env_vars(self) -> dict[str, str]:
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "TF_CLI_CONFIG_FILE"}
        e.update({
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": self.args.cli_config,
            "TF_PLUGIN_CACHE_DIR": str(ROOT / "target" / "tf" / "plugin-cache"),
        })
        if os.environ.get("AWS_CA_BUNDLE"):
            e["AWS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"]
        return e

    def run(self, log: str, cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,), stdout_to: Path | None = None) -> int:
        lf = self.logs / f"{log}.log"
        with open(lf, "wb") as out:
            out.write((" ".join(cmd) + "\n").encode())
            out.flush()
            if stdout_to is not None:
                with open(stdout_to, "wb") as so:
                    rc = subprocess.call(cmd, cwd=cwd, stdout=so, stderr=out, env=self.env_vars(), stdin=subprocess.DEVNULL)
            else:
                rc = subprocess.call(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=self.env_vars(),
                                     stdin=subprocess.DEVNULL)
        if rc not in ok:
            tail = lf.read_text(errors="replace").splitlines()[-60:]
            raise StepFailed(f"{' '.join(cmd[:3])} exited {rc} (log {lf.relative_to(ROOT)}):\n    " + "\n    ".join(tail))
        return rc

    def boto(self, svc: str, region: str):  # type: ignore[no-untyped-def]
        import boto3
        return boto3.client(svc, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing")

    # -- steps
    def prepare(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        self.logs.mkdir(parents=True)
        scratch.make_scratch(self.tree, with_dist=True, env=self.env)
        if not (self.tree / "dist" / "payment-handler.zip").exists():
            raise StepFailed("dist/payment-handler.zip is missing: run `make lambda` first")

    def start_emulator(self) -> None:
        self.endpoint = launcher.start(self.work / "emulator", None, self.account_id)
        say(self.env, f"emulator at {self.endpoint}")
        s3 = self.boto("s3", self.state_region)
        kw: dict[str, Any] = {"Bucket": self.state_bucket}
        if self.state_region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": self.state_region}
        s3.create_bucket(**kw)
        s3.put_bucket_versioning(Bucket=self.state_bucket, VersioningConfiguration={"Status": "Enabled"})
        for layer in LAYERS:
            write_overrides(self.tree / "envs" / self.env / layer, self.endpoint)

    def layer_up(self, layer: str) -> None:
        d = self.tree / "envs" / self.env / layer
        tf = [TERRAFORM, f"-chdir={d}"]
        par = f"-parallelism={self.args.parallelism}"
        self.step(f"{layer}: init", self.run, f"{layer}-init",
                  tf + ["init", "-input=false", "-no-color", "-backend-config=e2e.s3.tfbackend"], d)
        self.step(f"{layer}: plan", self.run, f"{layer}-plan",
                  tf + ["plan", "-input=false", "-no-color", par, "-out=tfplan"], d)
        self.step(f"{layer}: show -json", self.run, f"{layer}-show",
                  tf + ["show", "-json", "tfplan"], d, stdout_to=d / "plan.json")
        plan = json.loads((d / "plan.json").read_text())
        n = sum(1 for rc in plan.get("resource_changes", []) if "create" in rc["change"]["actions"])
        self.resources_applied[layer] = n
        if self.env == "dev" and layer == "primary":
            FIXTURE.parent.mkdir(parents=True, exist_ok=True)
            trimmed = trim_plan(plan, FIXTURE_TYPES)
            tp = self.work / "plan-dev-primary.trimmed.json"
            tp.write_text(json.dumps(trimmed, indent=2) + "\n")
            self.step("fixture: drgen review of the trimmed plan", self.run, "fixture-review",
                      [self.drgen, "--repo", str(ROOT), "review", "--env", self.env, str(tp)], ROOT)
        self.step(f"{layer}: drgen review", self.run, f"{layer}-review",
                  [self.drgen, "--repo", str(ROOT), "review", "--env", self.env, str(d / "plan.json")], ROOT)
        self.step(f"{layer}: apply ({n} to create)", self.run, f"{layer}-apply",
                  tf + ["apply", "-input=false", "-no-color", par, "-auto-approve", "tfplan"], d)
        self.step(f"{layer}: re-plan", self.run, f"{layer}-replan",
                  tf + ["plan", "-input=false", "-no-color", par, "-detailed-exitcode", "-out=tfplan2"], d, ok=(0, 2))
        self.run(f"{layer}-replan-show", tf + ["show", "-json", "tfplan2"], d, stdout_to=d / "replan.json")
        problems = check_replan(json.loads((d / "replan.json").read_text()), self.entries, self.used)
        if problems:
            raise StepFailed(f"{layer}: the re-plan after apply is not empty (allowlist aside):\n    "
                             + "\n    ".join(problems))
        say(self.env, f"{layer}: re-plan clean (allowlist aside)")

    def layer_down(self, layer: str) -> None:
        d = self.tree / "envs" / self.env / layer
        self.step(f"{layer}: destroy", self.run, f"{layer}-destroy",
                  [TERRAFORM, f"-chdir={d}", "destroy", "-input=false", "-no-color",
                   f"-parallelism={self.args.parallelism}", "-auto-approve"], d)

    def verify_empty(self) -> None:
        left: list[str] = []
        for region in self.regions:
            ec2 = self.boto("ec2", region)
            left += [f"{region} vpc {v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
            left += [f"{region} vpc endpoint {v['VpcEndpointId']}" for v in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                     if v.get("State", "").lower() not in ("deleted", "deleting")]
            left += [f"{region} flow log {v['FlowLogId']}" for v in ec2.describe_flow_logs()["FlowLogs"]]
            rds = self.boto("rds", region)
            left += [f"{region} rds cluster {c['DBClusterIdentifier']}" for c in rds.describe_db_clusters()["DBClusters"]]
            left += [f"{region} rds instance {i['DBInstanceIdentifier']}" for i in rds.describe_db_instances()["DBInstances"]]
            left += [f"{region} rds global cluster {g['GlobalClusterIdentifier']}"
                     for g in rds.describe_global_clusters()["GlobalClusters"]]
            left += [f"{region} db subnet group {g['DBSubnetGroupName']}"
                     for g in rds.describe_db_subnet_groups()["DBSubnetGroups"] if g["DBSubnetGroupName"] != "default"]
            left += [f"{region} lambda {f['FunctionName']}" for f in self.boto("lambda", region).list_functions()["Functions"]]
            apigw = self.boto("apigateway", region)
            left += [f"{region} rest api {a['name']}" for a in apigw.get_rest_apis()["items"]]
            left += [f"{region} api domain {a['domainName']}" for a in apigw.get_domain_names().get("items", [])]
            left += [f"{region} dynamodb table {t}" for t in self.boto("dynamodb", region).list_tables()["TableNames"]]
            left += [f"{region} sns topic {t['TopicArn']}" for t in self.boto("sns", region).list_topics()["Topics"]]
            kms = self.boto("kms", region)
            for k in kms.list_keys()["Keys"]:
                md = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
                if md.get("KeyManager") != "AWS" and md["KeyState"] != "PendingDeletion":
                    left.append(f"{region} kms key {k['KeyId']} ({md['KeyState']})")
            left += [f"{region} kms alias {a['AliasName']}" for a in kms.list_aliases()["Aliases"]
                     if not a["AliasName"].startswith("alias/aws/")]
            cw = self.boto("cloudwatch", region)
            left += [f"{region} dashboard {d['DashboardName']}" for d in cw.list_dashboards()["DashboardEntries"]]
            left += [f"{region} alarm {a['AlarmName']}" for a in cw.describe_alarms()["MetricAlarms"]]
            left += [f"{region} log group {g['logGroupName']}"
                     for g in self.boto("logs", region).describe_log_groups()["logGroups"]]
            left += [f"{region} secret {s['Name']}" for s in self.boto("secretsmanager", region).list_secrets()["SecretList"]
                     if not s.get("DeletedDate")]
            left += [f"{region} certificate {c['DomainName']}"
                     for c in self.boto("acm", region).list_certificates()["CertificateSummaryList"]]
        r53 = self.boto("route53", "us-east-1")
        left += [f"hosted zone {z['Name']}" for z in r53.list_hosted_zones()["HostedZones"]]
        left += [f"health check {h['Id']}" for h in r53.list_health_checks()["HealthChecks"]]
        buckets = [b["Name"] for b in self.boto("s3", self.state_region).list_buckets()["Buckets"]]
        left += [f"s3 bucket {b}" for b in buckets if b != self.state_bucket]
        if self.state_bucket not in buckets:
            left.append(f"the state bucket {self.state_bucket} is gone")
        iam = self.boto("iam", "us-east-1")
        left += [f"iam role {r['RoleName']}" for r in iam.list_roles()["Roles"]
                 if not r.get("Path", "/").startswith("/aws-service-role/")]
        left += [f"iam policy {p['PolicyName']}" for p in iam.list_policies(Scope="Local")["Policies"]]
        if left:
            raise StepFailed("left after destroy:\n    " + "\n    ".join(left))
        say(self.env, f"nothing of the stack is left in {', '.join(self.regions)} and global services "
                      f"(state bucket {self.state_bucket} kept)")

    def main(self) -> bool:
        t0 = time.time()
        applied: list[str] = []
        try:
            self.step("scratch copy", self.prepare)
            self.step("emulator + state bucket", self.start_emulator)
            for layer in LAYERS:
                applied.append(layer)
                self.layer_up(layer)
        except Exception as e:  # noqa: BLE001
            self.failures.append(f"{e}")
        # Destroy whatever was applied, even after a failure.
        try:
            if applied:
                for layer in reversed(applied):
                    self.layer_down(layer)
                if not self.failures:
                    self.step("verify nothing left", self.verify_empty)
        except Exception as e:  # noqa: BLE001
            self.failures.append(f"{e}")
        finally:
            if not self.args.keep:
                launcher.stop(self.work / "emulator", quiet=True)
        self.timings.append(("total", time.time() - t0))
        return not self.failures


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "envs", "modules"],
                          cwd=ROOT, capture_output=True, text=True).stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", action="append", help="environment (default: every envs/*/env.toml)")
    ap.add_argument("--jobs", type=int, default=2, help="environments run concurrently (one emulator each)")
    ap.add_argument("--parallelism", type=int, default=20, help="terraform -parallelism")
    ap.add_argument("--keep", action="store_true", help="leave the emulators running")
    ap.add_argument("--update-fixture", action="store_true",
                    help=f"replace {FIXTURE.relative_to(ROOT)} with this run's trimmed dev/primary plan")
    args = ap.parse_args()
    envs = args.env or sorted(p.parent.name for p in (ROOT / "envs").glob("*/env.toml"))
    t0 = time.time()

    if shutil.which(TERRAFORM) is None:
        print("e2e: terraform is not installed: install Terraform >= 1.11 "
              "(https://developer.hashicorp.com/terraform/install)", file=sys.stderr)
        return 127
    launcher.ensure_moto()
    try:
        import boto3  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "boto3"])
    args.cli_config = subprocess.check_output([str(ROOT / "scripts" / "tf-cli-config.sh"),
                                               str(ROOT / "target" / "tf" / "cli.tfrc")], text=True).strip()
    # Warm the shared plugin cache once (parallel inits on an empty cache race).
    warm = ROOT / "target" / "tf" / "warm"
    warm.mkdir(parents=True, exist_ok=True)
    (warm / "main.tf.json").write_text(json.dumps(
        {"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": ">= 5.100.0"}}}}))
    cache = ROOT / "target" / "tf" / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.check_call([TERRAFORM, f"-chdir={warm}", "init", "-backend=false", "-input=false", "-no-color"],
                          stdout=subprocess.DEVNULL,
                          env=dict(os.environ, TF_CLI_CONFIG_FILE=args.cli_config, TF_PLUGIN_CACHE_DIR=str(cache)))
    if os.environ.get("E2E_DRGEN"):
        # A prebuilt drgen (e.g. `cargo build -p drgen` done once in CI).
        drgen = os.environ["E2E_DRGEN"]
        print(f"e2e: drgen from E2E_DRGEN={drgen}", flush=True)
    else:
        print("e2e: building drgen (cargo build -q -p drgen)", flush=True)
        if subprocess.call(["cargo", "build", "-q", "-p", "drgen"], cwd=ROOT) != 0:
            print("e2e: drgen does not build; nothing was run", file=sys.stderr)
            print("e2e: 0 passed, 1 failed")
            return 1
        drgen = str(ROOT / "target" / "debug" / "drgen")
    print(f"e2e: setup {time.time() - t0:.1f} s; environments: {', '.join(envs)} ({args.jobs} at a time)", flush=True)

    porcelain_before = git_status()
    runs = [EnvRun(e, args, drgen) for e in envs]
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(lambda r: r.main(), runs))

    # The committed tree is byte-identical: `git status --porcelain envs modules`
    # is what it was before the run (empty on a clean clone) and no test file
    # landed in it.
    porcelain = git_status()
    leftovers = [str(p) for p in list((ROOT / "envs").rglob(".terraform*")) + list((ROOT / "envs").rglob("*override.tf.json"))]

    print("\n== e2e timings (s)")
    for r in runs:
        for name, dt in r.timings:
            print(f"  {r.env:6} {name:40} {dt:8.1f}")
    print("\n== allowlist")
    entries = load_allowlist()
    used = set().union(*(r.used for r in runs)) if runs else set()
    for e in entries:
        mark = "used" if (e["type"], e["attribute"]) in used else "UNUSED"
        print(f"  {mark:6} {e['type']}.{e['attribute']}: {e['emulator_behaviour']}")
    trimmed = ROOT / "target" / "e2e" / "dev" / "plan-dev-primary.trimmed.json"
    if trimmed.exists() and (args.update_fixture or not FIXTURE.exists()):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(trimmed, FIXTURE)
        print(f"\nfixture written: {FIXTURE.relative_to(ROOT)}")
    elif trimmed.exists():
        print(f"\nfixture: {FIXTURE.relative_to(ROOT)} kept (this run's trimmed plan: "
              f"{trimmed.relative_to(ROOT)}; --update-fixture replaces it)")
    passed = failed = 0
    for r, ok in zip(runs, results):
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"\nFAILED {r.env}:")
            for f in r.failures:
                print("  " + f)
    if porcelain != porcelain_before or leftovers:
        failed += 1
        print("\nFAILED: the committed tree changed during the run:\n" + porcelain + "\n".join(leftovers))
    elif porcelain:
        print("\nnote: envs/ or modules/ had uncommitted changes before the run (unchanged by it):\n" + porcelain)
    print(f"\ne2e: total {time.time() - t0:.1f} s")
    print(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
