#!/usr/bin/env python3
"""drgen failover drill: the real data plane through a regional failure, on
loopback, time-scaled. See drill/README.md.

  python3 drill/drill.py --env prod --scenario all --time-scale 10
  python3 drill/drill.py --scenario planned --time-scale 20 --format json --ci

Exit: 0 every invariant holds (or, with --expect-finding F, the drill failed
with finding F); 1 an invariant is broken; 2 setup error.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pg  # noqa: E402
import tfparams  # noqa: E402
from client import Traffic  # noqa: E402
from region import Region  # noqa: E402
from route53 import CachingStub, HealthChecker, Resolver  # noqa: E402

REPO = os.path.dirname(HERE)
T0 = time.monotonic()


def clock():
    return time.monotonic() - T0


def log(msg):
    sys.stderr.write("drill [%7.2f] %s\n" % (clock(), msg))
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


# ---------------------------------------------------------------- services
class Moto:
    def __init__(self, workdir):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(workdir, "moto.log"), "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, cwd=workdir)
        import urllib.request
        for _ in range(150):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto exited")
                time.sleep(0.1)
        raise RuntimeError("moto did not answer")

    def client(self, service, region):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=region, aws_access_key_id="testing",
                            aws_secret_access_key="testing", aws_session_token="testing")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def extract_bootstrap(workdir):
    zpath = os.path.join(REPO, "dist", "payment-handler.zip")
    if not os.path.exists(zpath):
        raise RuntimeError("dist/payment-handler.zip is missing: run `make lambda` first")
    with zipfile.ZipFile(zpath) as z:
        if z.namelist() != ["bootstrap"]:
            raise RuntimeError("unexpected zip entries: %s" % z.namelist())
        z.extract("bootstrap", workdir)
    path = os.path.join(workdir, "bootstrap")
    os.chmod(path, 0o755)
    return path


# The "broken function": the read-only probe is made to lie for the
# application role (a shadowing current_setting() found first on its
# search_path), so the shipped binary behaves exactly like a build that
# ignores the probe. Nothing in functions/payment changes.
BROKEN_SQL = """
CREATE FUNCTION public.current_setting(name text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN name = 'transaction_read_only' THEN 'off' ELSE pg_catalog.current_setting(name) END $$;
ALTER ROLE {user} SET search_path = public, pg_catalog;
"""


# ---------------------------------------------------------------- the drill
class Drill:
    def __init__(self, args, params, scenario):
        self.a = args
        self.p = params
        self.scenario = scenario
        self.scale = args.time_scale
        self.events = []  # (t, what)
        self.db_state = {"primary": [], "dr": []}  # layer -> [(t, state)]
        self.failovers = []  # dicts per switch of the active region
        self.phases = []  # (name, t_start, t_end)
        self.cleanup = []
        self.findings = []

    def ev(self, what):
        self.events.append((clock(), what))
        log(what)

    def set_state(self, layer, state):
        self.db_state[layer].append((clock(), state))

    def state_at(self, layer, t):
        s = "down"
        for ts, st in self.db_state[layer]:
            if ts <= t:
                s = st
        return s

    # ------------------------------------------------------------ setup
    def setup(self):
        a, p = self.a, self.p
        self.work = tempfile.mkdtemp(prefix="drgen-drill.")
        self.cleanup.append(lambda: shutil.rmtree(self.work, ignore_errors=True) if not a.keep else None)
        self.bootstrap = extract_bootstrap(self.work)
        self.moto = Moto(self.work)
        self.cleanup.append(self.moto.stop)
        regions = p["regions"]
        home = regions["primary"]["region"]
        env0 = regions["primary"]["env"]
        table = env0["SESSION_TABLE"]
        ddb = self.moto.client("dynamodb", home)
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
        self.table = table
        topics = {}
        self.cluster = pg.Cluster()
        self.cleanup.append(self.cluster.cleanup)
        for layer, info in regions.items():
            topics[layer] = self.moto.client("sns", info["region"]).create_topic(Name="alerts-drill")["TopicArn"]
            secret = info["env"].get("DB_MASTER_SECRET")
            if secret:
                self.moto.client("secretsmanager", info["region"]).create_secret(
                    Name=secret, SecretString=json.dumps({"username": self.cluster.superuser,
                                                          "password": self.cluster.password}))
        self.nodes = {"primary": pg.Node(self.cluster, "us-east-1" if regions["primary"]["region"] == "us-east-1" else "primary", free_port()),
                      "dr": pg.Node(self.cluster, regions["dr"]["region"], free_port())}
        self.cleanup.append(lambda: [n.stop("immediate") for n in self.nodes.values()])
        n1 = self.nodes["primary"]
        n1.initdb()
        n1.start()
        self.set_state("primary", "writable")
        dbname, user = env0["DB_NAME"], env0["DB_USER"]
        self.app_password = os.urandom(12).hex()
        n1.sql("CREATE DATABASE %s" % dbname)
        n1.sql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (user, self.app_password))
        self.dbname, self.user = dbname, user
        self.envs = {}
        for layer, info in regions.items():
            env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ")}
            env.update(info["env"])
            # Overrides: local endpoints and DB settings only.
            env.update({
                "DB_HOST": "127.0.0.1", "DB_PORT": str(self.nodes[layer].port), "DB_PASSWORD": self.app_password,
                "DB_SSLMODE": "disable", "SNS_ENDPOINT_URL": self.moto.url, "SECRETSMANAGER_ENDPOINT_URL": self.moto.url,
                "TOPIC_ARN": topics[layer], "AWS_REGION": info["region"], "AWS_DEFAULT_REGION": info["region"],
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            })
            left = set(info["env_computed"]) - {"DB_HOST", "TOPIC_ARN"}
            if left:
                raise RuntimeError("the function's environment has values only known after apply that the drill "
                                   "cannot provide locally: %s" % sorted(left))
            self.envs[layer] = env
        # Operators' migration path, as on AWS: `bootstrap migrate` in the primary region.
        menv = dict(self.envs["primary"], DYNAMODB_ENDPOINT_URL=self.moto.url)
        r = subprocess.run([self.bootstrap, "migrate"], env=menv, capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise RuntimeError("bootstrap migrate failed: %s %s" % (r.stdout[-500:], r.stderr[-1500:]))
        if self.a.broken:
            n1.sql(BROKEN_SQL.format(user=user), db=dbname)
            self.ev("BROKEN function: the read-only probe lies for role %s" % user)
        n2 = self.nodes["dr"]
        n2.basebackup_from(n1)
        n2.start()
        self.set_state("dr", "read_only")
        n1.wait_replayed(n2)
        # Regions of function.
        self.regions = {}
        for layer, info in regions.items():
            r = Region(layer, info, self.bootstrap, self.envs[layer], self.moto.url, home, self.work,
                       n_envs=self.a.envs_per_region)
            r.start(p["failover"]["PRIMARY"]["name"])
            self.cleanup.append(r.stop)
            self.regions[layer] = r
        # Route 53.
        self.checkers = {}
        for kind in ("PRIMARY", "SECONDARY"):
            hc = p["failover"][kind]["health_check"]
            if hc:
                c = HealthChecker(hc, self.regions[hc["region_layer"]].api_port, self.scale, clock)
                self.checkers[kind] = c
        # The passive region's health, watched like Route 53 would (not routing).
        pri_hc = p["failover"]["PRIMARY"]["health_check"]
        dr_hc = dict(pri_hc, fqdn=regions["dr"]["api_host"], region_layer="dr")
        self.watch = {"primary": self.checkers["PRIMARY"],
                      "dr": self.checkers.get("SECONDARY") or HealthChecker(dr_hc, self.regions["dr"].api_port, self.scale, clock)}
        self.resolver = Resolver(p["failover"], self.checkers, self.regions)
        for c in set(self.watch.values()) | set(self.checkers.values()):
            c.start()
            self.cleanup.append(c.stop)
        self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok1, s1 = self.watch["primary"].probe()
            _, s2 = self.watch["dr"].probe()
            if ok1 and s2 in (200, 503):
                return
            time.sleep(0.1)
        raise RuntimeError("functions did not become ready (see %s/function-*.log)" % self.work)

    # ------------------------------------------------------------ DB moves
    def demote_and_promote(self, old, new):
        """Planned switchover: old read-only, sessions ended, new catches up, new promoted."""
        n_old, n_new = self.nodes[old], self.nodes[new]
        n_old.set_read_only(True)
        self.set_state(old, "read_only")
        n_old.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '%s'" % self.user)
        lsn = n_old.wait_replayed(n_new)
        self.set_state(new, "promoting")  # may take writes from now on
        n_new.promote()
        self.set_state(new, "writable")
        return lsn

    def rebuild(self, layer, upstream):
        self.set_state(layer, "down")
        n = self.nodes[layer]
        n.basebackup_from(self.nodes[upstream])
        n.start()
        self.set_state(layer, "read_only")

    def keys_in(self, layer):
        rows = self.nodes[layer].sql("SELECT idempotency_key FROM payments", db=self.dbname, timeout=30)
        return {r[0] for r in rows}

    # ------------------------------------------------------------ phases
    def phase(self, name, seconds=None, until=None, max_s=None, start=None):
        t0 = clock() if start is None else start
        if until is None:
            time.sleep(seconds)
        else:
            deadline = time.monotonic() + max_s
            while not until() and time.monotonic() < deadline:
                time.sleep(0.02)
        self.phases.append((name, t0, clock()))

    def first_201(self, layer, after, worker=None):
        with self.traffic.lock:
            for at in self.traffic.attempts:
                if at["t"] >= after and at["status"] == 201 and at["region"] == layer and not at["stray"] \
                        and (worker is None or at["worker"] == worker):
                    return at["t_end"]
        return None

    def all_moved(self, layer, after):
        return all(self.first_201(layer, after, w) is not None for w in range(self.traffic.workers))

    def switch(self, kind, target, t_fail, promote_done, bound_real):
        """Waits until traffic reaches `target` and records the RTO parts."""
        budget = bound_real / self.scale * 2 + 10
        self.phase(kind, until=lambda: self.all_moved(target, t_fail), max_s=budget, start=t_fail)
        hc = self.checkers["PRIMARY"]
        want_healthy = target == "primary"
        detect = next((t for t, h in hc.transitions if t >= t_fail and h == want_healthy), None)
        first_req = None
        with self.traffic.lock:
            for at in self.traffic.attempts:
                if at["t"] >= t_fail and at["region"] == target and not at["stray"]:
                    first_req = at["t"]
                    break
        f201 = self.first_201(target, t_fail)
        moved = [self.first_201(target, t_fail, w) for w in range(self.traffic.workers)]
        rec = {"kind": kind, "to": self.p["regions"][target]["region"], "t_event": t_fail,
               "detection_s": None if detect is None else detect - t_fail,
               "dns_ttl_s": None if (detect is None or first_req is None) else max(0.0, first_req - detect),
               "promotion_s": None if promote_done is None else promote_done - t_fail,
               "rto_s": None if f201 is None else f201 - t_fail,
               "all_clients_s": None if None in moved else max(moved) - t_fail,
               "bound_real_s": bound_real}
        self.failovers.append(rec)
        return rec

    # ------------------------------------------------------------ scenario
    def run(self):
        a, sc = self.a, self.scale
        steady = a.steady / sc
        post = self.p["posture"]["rto_s"]
        self.traffic = Traffic(self.p["failover"]["PRIMARY"]["name"],
                               lambda: CachingStub(self.resolver, self.p["failover"]["PRIMARY"]["ttl_s"], sc),
                               self.regions, clock, a.rate, a.workers, stray_share=a.stray_share)
        self.traffic.start()
        self.phase("steady us-east-1", steady)

        # ---- the failure (or the planned switchover)
        t_fail = clock()
        if self.scenario == "planned":
            self.ev("planned switchover: demote us-east-1, wait for us-east-2, promote it")
            self.demote_and_promote("primary", "dr")
            promote_done = clock()
            self.ev("us-east-2 promoted (%.3f s)" % (promote_done - t_fail))
            self.rebuild("primary", "dr")
            self.ev("us-east-1 rebuilt as a replica of us-east-2 (pg_basebackup)")
            bound = post + (promote_done - t_fail) * sc
            self.lag_at_failure = None
            self.keys_before_fail = None
        else:
            self.lag_at_failure = self.nodes["primary"].replication_sample()
            with self.traffic.lock:
                self.acked_before = {p.key for p in self.traffic.payments if p.t_ack is not None}
            self.nodes["primary"].stop("immediate")
            self.set_state("primary", "down")
            if self.scenario == "unplanned-region":
                self.regions["primary"].kill_functions()
                self.ev("us-east-1 database AND function killed")
            else:
                self.ev("us-east-1 database killed (immediate)")
            t_fail_real = clock()
            with self.traffic.lock:
                acked_at_fail = {p.key for p in self.traffic.payments if p.t_ack is not None and p.t_ack <= t_fail_real}
            delay = a.promotion_delay / sc
            time.sleep(delay)
            self.set_state("dr", "promoting")
            self.nodes["dr"].promote()
            self.set_state("dr", "writable")
            promote_done = clock()
            self.ev("us-east-2 promoted after the configured delay (%.1f s real)" % a.promotion_delay)
            present = self.keys_in("dr")
            self.lost_acked = sorted(acked_at_fail - present)
            self.ev("acknowledged before the failure: %d, missing from us-east-2: %d"
                    % (len(acked_at_fail), len(self.lost_acked)))
            bound = post + a.promotion_delay
        self.switch("failover", "dr", t_fail, promote_done, bound)
        if self.scenario == "planned":
            present = self.keys_in("dr")
            with self.traffic.lock:
                acked = {p.key for p in self.traffic.payments if p.t_ack is not None and p.t_ack <= t_fail}
            self.lost_acked = sorted(acked - present)
        self.phase("steady us-east-2", steady)

        # ---- fail-back
        t_fb = clock()
        if self.scenario != "planned":
            self.ev("fail-back: rebuild us-east-1 as a replica of us-east-2 (pg_basebackup)")
            self.rebuild("primary", "dr")
            if self.scenario == "unplanned-region":
                self.regions["primary"].start_functions()
                self.ev("us-east-1 function back")
        t_sw = clock()
        self.ev("fail-back: switchover us-east-2 -> us-east-1")
        self.demote_and_promote("dr", "primary")
        fb_promoted = clock()
        self.rebuild("dr", "primary")
        self.ev("us-east-2 rebuilt as a replica of us-east-1")
        if self.scenario != "planned":
            self.phases.append(("fail-back: rebuild us-east-1", t_fb, t_sw))
        self.switch("failback", "primary", t_sw, fb_promoted, post + (fb_promoted - t_sw) * sc)
        self.fb_total = clock() - t_fb
        self.phase("steady us-east-1 (after fail-back)", steady)
        t_stop = clock()
        self.traffic.stop(drain_s=max(5.0, 3 * self.p["failover"]["PRIMARY"]["ttl_s"] / sc))
        self.phases.append(("drain", t_stop, clock()))
        self.ev("traffic stopped")

    # ------------------------------------------------------------ verification
    def verify(self):
        n1, n2 = self.nodes["primary"], self.nodes["dr"]
        n1.wait_replayed(n2)
        cols = {r[0] for r in n1.sql("SELECT column_name FROM information_schema.columns WHERE table_name='payments'",
                                     db=self.dbname)}
        # Idempotency is scoped per caller since migration 0003.
        scope = "caller_account_id, " if "caller_account_id" in cols else ""
        rows = n1.sql("SELECT idempotency_key, count(*), string_agg(payment_id::text, ','), string_agg(region, ',') "
                      "FROM payments GROUP BY %sidempotency_key" % scope, db=self.dbname, timeout=60)
        ledger = {}
        for key, cnt, ids, regs in rows:
            ledger.setdefault(key, []).append((int(cnt), ids.split(","), regs.split(",")))
        t = self.traffic
        acked = [p for p in t.payments if p.final == 201]
        lost = set(self.lost_acked)
        dup_keys = [k for k, v in ledger.items() if sum(c for c, _, _ in v) > 1]
        missing = [p.key for p in acked if p.key not in ledger and p.key not in lost]
        wrong_id = [p.key for p in acked if p.key in ledger and p.payment_id not in ledger[p.key][0][1]]
        replica_rows = int(n2.sql("SELECT count(*) FROM payments", db=self.dbname)[0][0])
        total_rows = sum(c for v in ledger.values() for c, _, _ in v)
        # Split brain: writes by a region whose database was read-only for
        # the whole grace period before the write.
        grace = self.a.grace
        split = {}
        for layer, r in self.regions.items():
            bad = [w for w in r.ddb_writes if self.state_at(layer, w[0] - T0) == "read_only"
                   and self.state_at(layer, w[0] - T0 - grace) == "read_only"]
            split[layer] = len(bad)
            self.split_detail = getattr(self, "split_detail", []) + [
                (round(w[0] - T0, 3), layer, w[1], w[2]) for w in bad[:20]]
        passive_201 = [at for at in t.attempts if at["status"] == 201 and not at["replayed"]
                       and self.state_at(at["region"], at["t"]) == "read_only"
                       and self.state_at(at["region"], at["t"] - grace) == "read_only"]
        passive_healthy = {}
        for layer, c in self.watch.items():
            passive_healthy[layer] = sum(1 for (tt, ok, st) in c.results if ok
                                         and self.state_at(layer, tt) == "read_only"
                                         and self.state_at(layer, tt - grace) == "read_only")
        region_passive = {}
        for at in t.attempts:
            if at["code"] == "region_passive":
                region_passive[at["region"]] = region_passive.get(at["region"], 0) + 1
        # Orphans: completed idempotency records whose payment is not in the ledger.
        ids = {i for v in ledger.values() for _, il, _ in v for i in il}
        orphans = 0
        ddb = self.moto.client("dynamodb", self.p["regions"]["primary"]["region"])
        kw = {"TableName": self.table}
        while True:
            page = ddb.scan(**kw)
            for it in page["Items"]:
                body = it.get("response_body", {}).get("S")
                if it.get("status", {}).get("S") == "completed" and body:
                    pid = json.loads(body).get("payment_id")
                    if pid and pid not in ids:
                        orphans += 1
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self.check = {
            "acknowledged": len(acked), "ledger_rows": total_rows, "replica_rows": replica_rows,
            "duplicates": len(dup_keys), "acked_missing": len(missing), "acked_wrong_payment_id": len(wrong_id),
            "rpo_lost_acknowledged": len(lost), "unacknowledged": sum(1 for p in t.payments if p.final != 201),
            "split_brain_session_writes": split, "passive_201": len(passive_201),
            "passive_health_200": passive_healthy, "region_passive_answers": region_passive,
            "orphaned_idempotency_records": orphans,
            "replication_lag_at_failure": self.lag_at_failure,
            "split_brain_writes_detail": getattr(self, "split_detail", []),
            "passive_201_detail": [(round(x["t"], 3), x["region"], x["key"]) for x in passive_201[:20]],
            "health_primary": [(round(t, 2), st) for t, ok, st in self.watch["primary"].results],
            "db_states": {k: [(round(t, 3), st) for t, st in v] for k, v in self.db_state.items()},
        }
        f = self.findings
        if dup_keys:
            f.append(("duplicate", "%d Idempotency-Keys have more than one ledger row" % len(dup_keys)))
        if missing:
            f.append(("exactly_once", "%d acknowledged payments have no ledger row (not explained by RPO)" % len(missing)))
        if wrong_id:
            f.append(("exactly_once", "%d acknowledged payment ids differ from the ledger" % len(wrong_id)))
        if sum(split.values()) or passive_201:
            f.append(("split_brain", "passive region wrote: session-table writes while read-only %s, 201 answers "
                      "while read-only %d" % (split, len(passive_201))))
        if sum(passive_healthy.values()):
            f.append(("split_brain", "a read-only region answered the writable health check %s" % passive_healthy))
        if self.scenario == "planned" and lost:
            f.append(("rpo", "planned switchover lost %d acknowledged payments (RPO must be 0)" % len(lost)))
        for fo in self.failovers:
            if fo["rto_s"] is None:
                f.append(("rto", "%s: no 201 from %s" % (fo["kind"], fo["to"])))
            elif fo["rto_s"] * self.scale > fo["bound_real_s"]:
                f.append(("rto", "%s: RTO %.1f s (real-time equivalent) > bound %.1f s"
                          % (fo["kind"], fo["rto_s"] * self.scale, fo["bound_real_s"])))
        if replica_rows != total_rows:
            f.append(("replication", "replica has %d rows, primary %d" % (replica_rows, total_rows)))

    # ------------------------------------------------------------ report
    def phase_stats(self):
        out = []
        t = self.traffic
        for name, a0, a1 in self.phases:
            ats = [x for x in t.attempts if a0 <= x["t"] < a1]
            acks = [p for p in t.payments if p.t_ack is not None and a0 <= p.t_ack < a1]
            lat = [x["latency"] * 1000 for x in ats if x["status"] == 201]
            plat = [(p.t_ack - p.t_first) * 1000 for p in acks]
            codes = {}
            for x in ats:
                if x["status"] == 503:
                    codes[x["code"] or "503"] = codes.get(x["code"] or "503", 0) + 1
            out.append({
                "phase": name, "wall_s": round(a1 - a0, 3), "real_time_s": round((a1 - a0) * self.scale, 1),
                "requests": len(ats), "successes": sum(1 for x in ats if x["status"] == 201),
                "s503": sum(1 for x in ats if x["status"] == 503), "s503_codes": codes,
                "other_5xx": sum(1 for x in ats if x["status"] and x["status"] >= 500 and x["status"] != 503),
                "conn_errors": sum(1 for x in ats if x["status"] is None),
                "s409": sum(1 for x in ats if x["status"] == 409),
                "retries": sum(1 for x in ats if x["retry"]),
                "stray_to_passive": sum(1 for x in ats if x["stray"]),
                "by_region": {r: sum(1 for x in ats if x["region"] == r and x["status"] == 201) for r in ("primary", "dr")},
                "latency_ms": {"p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99), "max": max(lat) if lat else None},
                "payment_latency_ms": {"p50": pct(plat, 50), "p99": pct(plat, 99), "max": max(plat) if plat else None},
            })
        return out

    def result(self):
        hc = self.p["failover"]["PRIMARY"]["health_check"]
        return {
            "scenario": self.scenario, "broken_function": self.a.broken, "time_scale": self.scale,
            "parameters": {
                "from": self.p["sources"], "health_check": {k: hc[k] for k in (
                    "resource", "fqdn", "resource_path", "request_interval_s", "failure_threshold", "enable_sni")},
                "ttl_s": self.p["failover"]["PRIMARY"]["ttl_s"], "ttl_source": self.p["failover"]["PRIMARY"]["ttl_source"],
                "posture_rto_s": self.p["posture"]["rto_s"], "promotion_delay_s": self.a.promotion_delay,
                "function_env_from": self.p["sources"]["primary_module"] + "/main.tf.json aws_lambda_function environment",
                "rate_per_s": self.a.rate, "workers": self.a.workers, "envs_per_region": self.a.envs_per_region,
            },
            "failovers": [dict(fo, **{k + "_real": (None if fo[k] is None else round(fo[k] * self.scale, 2))
                                      for k in ("detection_s", "dns_ttl_s", "promotion_s", "rto_s", "all_clients_s")})
                          for fo in self.failovers],
            "phases": self.phase_stats(),
            "checks": self.check,
            "findings": [{"kind": k, "message": m} for k, m in self.findings],
            "passed": not self.findings,
            "events": [(round(t, 3), w) for t, w in self.events],
        }


def fmt(v, nd=1):
    if v is None:
        return "-"
    return ("%." + str(nd) + "f") % v if isinstance(v, float) else str(v)


def table(res):
    o = []
    p = res["parameters"]
    hc = p["health_check"]
    o.append("== scenario %s%s, time scale x%g" % (res["scenario"], " (BROKEN function)" if res["broken_function"] else "",
                                                    res["time_scale"]))
    o.append("   from %s: %s every %gs, threshold %d, fqdn %s (SNI %s); TTL %gs (%s); posture RTO %gs; promotion delay %gs"
             % (p["from"]["global_root"] + " + " + p["from"]["global_module"], hc["resource_path"], hc["request_interval_s"],
                hc["failure_threshold"], hc["fqdn"], hc["enable_sni"], p["ttl_s"], p["ttl_source"], p["posture_rto_s"],
                p["promotion_delay_s"]))
    o.append("")
    o.append("| phase | wall s | real s | requests | 201 | 503 (codes) | other 5xx | conn err | 409 | retries | p50 ms | p99 ms | max ms |")
    o.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for ph in res["phases"]:
        codes = ", ".join("%s %d" % kv for kv in sorted(ph["s503_codes"].items()))
        o.append("| %s | %.2f | %.0f | %d | %d | %d%s | %d | %d | %d | %d | %s | %s | %s |" % (
            ph["phase"], ph["wall_s"], ph["real_time_s"], ph["requests"], ph["successes"], ph["s503"],
            (" (" + codes + ")") if codes else "", ph["other_5xx"], ph["conn_errors"], ph["s409"], ph["retries"],
            fmt(ph["latency_ms"]["p50"]), fmt(ph["latency_ms"]["p99"]), fmt(ph["latency_ms"]["max"])))
    o.append("")
    o.append("| switch | to | detection s | DNS TTL s | promotion s | RTO s (first 201) | all clients s | bound s | (wall: RTO) |")
    o.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for fo in res["failovers"]:
        o.append("| %s | %s | %s | %s | %s | %s | %s | %.0f | %s |" % (
            fo["kind"], fo["to"], fmt(fo["detection_s_real"]), fmt(fo["dns_ttl_s_real"]), fmt(fo["promotion_s_real"]),
            fmt(fo["rto_s_real"]), fmt(fo["all_clients_s_real"]), fo["bound_real_s"], fmt(fo["rto_s"], 3)))
    c = res["checks"]
    o.append("")
    lag = c["replication_lag_at_failure"]
    o.append("acknowledged %d, ledger rows %d (replica %d), duplicates %d, acknowledged without row %d, "
             "RPO lost acknowledged %d, unacknowledged %d, orphaned idempotency records %d"
             % (c["acknowledged"], c["ledger_rows"], c["replica_rows"], c["duplicates"], c["acked_missing"],
                c["rpo_lost_acknowledged"], c["unacknowledged"], c["orphaned_idempotency_records"]))
    if lag:
        o.append("replication lag at failure: %d bytes not replayed, %d not flushed, replay_lag %.1f ms"
                 % (lag["replay_behind_bytes"], lag["flush_behind_bytes"], lag["replay_lag_ms"]))
    o.append("region_passive answers %s; passive-region session writes %s; passive 201s %d; passive health 200s %s"
             % (c["region_passive_answers"], c["split_brain_session_writes"], c["passive_201"], c["passive_health_200"]))
    for f in res["findings"]:
        o.append("FINDING %s: %s" % (f["kind"], f["message"]))
    o.append("result: %s" % ("PASS" if res["passed"] else "FAIL"))
    return "\n".join(o)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", default="prod")
    ap.add_argument("--scenario", default="all", choices=["planned", "unplanned-db", "unplanned-region", "all"])
    ap.add_argument("--time-scale", type=float, default=10.0)
    ap.add_argument("--format", default="table", choices=["table", "json"])
    ap.add_argument("--promotion-delay", type=float, default=30.0, help="real seconds from failure to promotion (scaled)")
    ap.add_argument("--steady", type=float, default=60.0, help="real seconds of each steady phase (scaled)")
    ap.add_argument("--rate", type=float, default=40.0, help="payments per wall-clock second")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--envs-per-region", type=int, default=4)
    ap.add_argument("--stray-share", type=float, default=0.05)
    ap.add_argument("--grace", type=float, default=0.5, help="wall seconds a region must have been read-only before a write counts as split brain")
    ap.add_argument("--broken", action="store_true", help="make the function's read-only probe lie (must fail)")
    ap.add_argument("--expect-finding", help="exit 0 only if the drill FAILS with this finding kind")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()

    params = tfparams.load(REPO, a.env)
    scenarios = ["planned", "unplanned-db", "unplanned-region"] if a.scenario == "all" else [a.scenario]
    results = []
    rc = 0
    for sc in scenarios:
        d = Drill(a, params, sc)
        try:
            d.setup()
            d.run()
            d.verify()
            results.append(d.result())
        except Exception as e:  # setup or harness failure
            import traceback
            traceback.print_exc()
            log("ERROR: %s" % e)
            rc = 2
        finally:
            for fn in reversed(d.cleanup):
                try:
                    fn()
                except Exception:
                    pass
        if rc:
            break
    if a.format == "json":
        print(json.dumps({"results": results}, indent=1, default=str))
    else:
        print("\n\n".join(table(r) for r in results))
    if rc:
        return rc
    failed = [r for r in results if not r["passed"]]
    if a.expect_finding:
        kinds = {f["kind"] for r in results for f in r["findings"]}
        ok = a.expect_finding in kinds
        print("drill: expected finding %r: %s" % (a.expect_finding, "found" if ok else "NOT found (found %s)" % sorted(kinds)))
        return 0 if ok else 1
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
